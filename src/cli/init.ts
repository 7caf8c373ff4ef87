// `orch init`: creates a cluster with this node as its first manager (cluster ID, root CA, the
// manager's certificate, join tokens), starts the node daemon (detached unless --foreground),
// waits until it leads, and prints how to add nodes, as `docker swarm init` does.
import { rm } from 'node:fs/promises';
import type { Command } from 'commander';
import { initializeCluster, writeNodeTLSMaterial } from '../manager/ca';
import { DEFAULT_HEARTBEAT_TICKS, DEFAULT_TICK_MS } from '../manager/manager';
import { newClusterObject, nodeFromIssuedCertificate } from '../manager/manager-ca-store';
import { dataDirLayout } from '../node/data-dir';
import { writeBootstrap } from '../node/node-bootstrap';
import { readNodeState, writeNodeState } from '../node/node-state';
import { withUserErrors } from './cluster/cluster-errors';
import { spawnDetachedDaemon, waitForDaemonReady } from './cluster/daemon-launcher';
import {
  addDaemonSettingsOptions,
  addDataDirOption,
  type DaemonSettingsOptions,
  daemonSettingsFrom,
  dataDirFrom,
  parsePositiveDurationFlag,
  resolveNodeAddresses,
} from './cluster/flags';
import { runDaemonInForeground } from './daemon';
import { UserError } from './errors';

interface InitOptions extends DaemonSettingsOptions {
  advertiseAddr?: string;
  listenAddr?: string;
  dataDir?: string;
  foreground?: boolean;
  certExpiry: string;
  heartbeatPeriod: string;
  electionTimeout: string;
}

/** The message `docker swarm init` prints, with orch's command. */
export function initMessage(nodeId: string, workerToken: string, managerAddr: string): string {
  return (
    `Swarm initialized: current node (${nodeId}) is now a manager.\n\n` +
    'To add a worker to this swarm, run the following command:\n\n' +
    `    orch join --token ${workerToken} ${managerAddr}\n\n` +
    "To add a manager to this swarm, run 'orch join-token manager' and follow the instructions.\n"
  );
}

/** Raft ticks from --election-timeout: 100 ms ticks, at least 3 ticks, heartbeats every tick. */
export function raftTimingFor(electionTimeoutMs: number): {
  tickMs: number;
  electionTicks: number;
  heartbeatTicks: number;
} {
  const tickMs = DEFAULT_TICK_MS;
  const electionTicks = Math.max(3, Math.round(electionTimeoutMs / tickMs));
  return { tickMs, electionTicks, heartbeatTicks: DEFAULT_HEARTBEAT_TICKS };
}

async function init(options: InitOptions): Promise<void> {
  const dataDir = dataDirFrom(options);
  const layout = dataDirLayout(dataDir);
  const certExpiryMs = parsePositiveDurationFlag(options.certExpiry, '--cert-expiry');
  const heartbeatPeriodMs = parsePositiveDurationFlag(options.heartbeatPeriod, '--heartbeat-period');
  const electionTimeoutMs = parsePositiveDurationFlag(options.electionTimeout, '--election-timeout');
  const { listenAddr, advertiseAddr } = resolveNodeAddresses(options);
  const settings = daemonSettingsFrom(options);
  if (await readNodeState(layout.nodeStateFile)) {
    throw new UserError(
      `this node is already part of a cluster (data dir ${dataDir}); run 'orch leave' first or use another --data-dir`,
    );
  }

  const cluster = await initializeCluster({ advertiseAddr, nodeCertificateValidityMs: certExpiryMs });
  const raft = raftTimingFor(electionTimeoutMs);
  const nodeId = cluster.firstManager.nodeId;
  try {
    await writeNodeTLSMaterial(layout.certificatesDir, cluster.firstManager);
    await writeBootstrap(layout.bootstrapFile, {
      cluster: newClusterObject(cluster.state, {
        heartbeatPeriodMs,
        electionTick: raft.electionTicks,
        heartbeatTick: raft.heartbeatTicks,
      }),
      node: nodeFromIssuedCertificate(cluster.firstManagerRecord),
    });
    await writeNodeState(layout.nodeStateFile, {
      version: 1,
      nodeId,
      clusterId: cluster.state.clusterId,
      role: 'manager',
      listenAddr,
      advertiseAddr,
      managers: [advertiseAddr],
      initializedCluster: true,
      availability: 'active',
      raft,
      settings,
    });
  } catch (err) {
    await eraseNode(layout);
    throw err;
  }

  const message = initMessage(nodeId, cluster.joinTokens.worker, advertiseAddr);
  if (options.foreground) {
    await runDaemonInForeground(dataDir, {
      onStarted: async () => {
        await waitForDaemonReady(dataDir);
        process.stdout.write(message);
      },
    });
    return;
  }
  const daemon = spawnDetachedDaemon(dataDir);
  try {
    await waitForDaemonReady(dataDir, { exited: daemon.exited });
  } catch (err) {
    try {
      process.kill(daemon.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
    await eraseNode(layout);
    throw err;
  }
  process.stdout.write(message);
}

/** Removes what a failed init or join wrote, so the command can simply be run again. */
export async function eraseNode(layout: ReturnType<typeof dataDirLayout>): Promise<void> {
  for (const path of [
    layout.nodeStateFile,
    layout.certificatesDir,
    layout.raftDir,
    layout.bootstrapFile,
    layout.managerListFile,
  ]) {
    await rm(path, { recursive: true, force: true });
  }
}

export function registerInitCommand(program: Command): void {
  const command = addDataDirOption(
    program
      .command('init')
      .description('Create a new cluster with this node as its first manager')
      .option(
        '--advertise-addr <host:port>',
        'address other nodes reach this node at (default: the listen address)',
      )
      .option(
        '--listen-addr <host:port>',
        'address to listen on (default: the advertise address, else 127.0.0.1:4242)',
      )
      .option('--foreground', 'run the daemon in this process instead of detaching it (for systemd)')
      .option('--cert-expiry <duration>', 'validity of node certificates', '90d')
      .option('--heartbeat-period <duration>', 'how often workers report to managers', '5s')
      .option('--election-timeout <duration>', 'time without a leader before managers elect a new one', '1s'),
  );
  addDaemonSettingsOptions(command).action((options: InitOptions) => withUserErrors(() => init(options)));
}
