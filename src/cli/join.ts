// `orch join --token T ADDR`: the token decides the role. The joiner pins the cluster's root CA by
// the token's digest, gets its certificate from the manager at ADDR, stores it with its node state
// and starts the daemon (detached unless --foreground). A joining manager starts Raft empty; the
// leader adds it as a learner and promotes it once it caught up, which is what `join` waits for.
import type { Command } from 'commander';
import { joinCluster, parseJoinToken, writeNodeTLSMaterial } from '../manager/ca';
import { dataDirLayout } from '../node/data-dir';
import { type Availability, readNodeState, writeNodeState } from '../node/node-state';
import { withUserErrors } from './cluster/cluster-errors';
import { spawnDetachedDaemon, waitForDaemonReady } from './cluster/daemon-launcher';
import {
  addDaemonSettingsOptions,
  addDataDirOption,
  type DaemonSettingsOptions,
  daemonSettingsFrom,
  dataDirFrom,
  parseAddressFlag,
  resolveNodeAddresses,
} from './cluster/flags';
import { runDaemonInForeground } from './daemon';
import { UserError } from './errors';
import { eraseNode, raftTimingFor } from './init';

interface JoinOptions extends DaemonSettingsOptions {
  token?: string;
  advertiseAddr?: string;
  listenAddr?: string;
  dataDir?: string;
  availability: string;
  foreground?: boolean;
}

const AVAILABILITIES: readonly Availability[] = ['active', 'pause', 'drain'];

async function join(managerAddrArg: string, options: JoinOptions): Promise<void> {
  if (!options.token)
    throw new UserError('--token is required (print one with orch join-token worker|manager)');
  parseJoinToken(options.token);
  const availability = options.availability as Availability;
  if (!AVAILABILITIES.includes(availability)) {
    throw new UserError(
      `--availability: ${JSON.stringify(options.availability)} is not one of active, pause, drain`,
    );
  }
  const managerAddr = parseAddressFlag(managerAddrArg, 'manager address');
  const { listenAddr, advertiseAddr } = resolveNodeAddresses(options);
  const settings = daemonSettingsFrom(options);
  const dataDir = dataDirFrom(options);
  const layout = dataDirLayout(dataDir);
  if (await readNodeState(layout.nodeStateFile)) {
    throw new UserError(
      `this node is already part of a cluster (data dir ${dataDir}); run 'orch leave' first or use another --data-dir`,
    );
  }

  const material = await joinCluster({
    managerAddr,
    token: options.token,
    advertiseAddr,
    availability,
    timeoutMs: 15_000,
  });
  try {
    await writeNodeTLSMaterial(layout.certificatesDir, material);
    await writeNodeState(layout.nodeStateFile, {
      version: 1,
      nodeId: material.nodeId,
      clusterId: material.clusterId,
      role: material.role,
      listenAddr,
      advertiseAddr,
      managers: [managerAddr],
      initializedCluster: false,
      availability,
      raft: raftTimingFor(1000),
      settings,
    });
  } catch (err) {
    await eraseNode(layout);
    throw err;
  }
  const message = `This node joined a swarm as a ${material.role}.\n`;
  const untilVoter = material.role === 'manager';
  if (options.foreground) {
    await runDaemonInForeground(dataDir, {
      onStarted: async () => {
        await waitForDaemonReady(dataDir, { untilVoter });
        process.stdout.write(message);
      },
    });
    return;
  }
  const daemon = spawnDetachedDaemon(dataDir);
  try {
    await waitForDaemonReady(dataDir, { untilVoter, exited: daemon.exited });
  } catch (err) {
    // The certificate was issued: keep the node's state so 'orch daemon' can retry the start.
    throw new UserError(
      `${(err as Error).message}; the node holds its certificate: fix the cause and run 'orch daemon --data-dir ${dataDir}'`,
      1,
      { cause: err },
    );
  }
  process.stdout.write(message);
}

export function registerJoinCommand(program: Command): void {
  const command = addDataDirOption(
    program
      .command('join')
      .description('Join this node to a cluster as a worker or manager (the token decides)')
      .argument('<host:port>', 'address of a manager of the cluster')
      .option('--token <token>', 'join token (orch join-token worker|manager prints one)')
      .option(
        '--advertise-addr <host:port>',
        'address other nodes reach this node at (default: the listen address)',
      )
      .option(
        '--listen-addr <host:port>',
        'address to listen on (default: the advertise address, else 127.0.0.1:4242)',
      )
      .option('--availability <state>', 'availability of the node: active, pause or drain', 'active')
      .option('--foreground', 'run the daemon in this process instead of detaching it'),
  );
  addDaemonSettingsOptions(command).action((addr: string, options: JoinOptions) =>
    withUserErrors(() => join(addr, options)),
  );
}
