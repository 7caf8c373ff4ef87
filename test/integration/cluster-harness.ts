// Real orch clusters on loopback for the cluster-*.test.ts suites: every node is an `orch` process
// (dist/cmd/orch.js) with its own data dir and its own loopback address (127.X.Y.N:4242, Raft served
// there too), started the way a user starts one (`orch init`, `orch join`, `orch daemon`). Daemons are
// detached by the CLI, so the harness records each PID from the node's pid file and kills exactly
// those (SIGKILL, by PID) in close(); temp dirs are always removed. A cluster on the Docker executor
// also force-removes, in close(), every container labelled with one of its node IDs.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ControlApiClient } from '../../src/cli/control-client';
import { removeMeshTables, removeNodeContainers, removeNodeNetworking } from './support/docker-cli';
import { ProcessGroup, type TrackedProcess } from './support/processes';
import { TempDirs } from './support/temp-dirs';
import { waitUntil } from './support/wait';

export const ORCH_BIN = join(__dirname, '../../dist/cmd/orch.js');

/** By default daemons run tasks on the hollow executor: the cluster tests need no Docker engine. */
export const DAEMON_ENV: NodeJS.ProcessEnv = {
  ...process.env,
  ORCH_LOG_LEVEL: 'info',
  ORCH_EXECUTOR: 'hollow',
};

export interface OrchClusterOptions {
  /** `docker` runs tasks as real containers on the local engine; default `hollow`. */
  executor?: 'hollow' | 'docker';
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `orch ARGS` to completion (never throws on a non-zero exit). */
export function runOrch(
  args: readonly string[],
  timeoutMs = 60_000,
  env: NodeJS.ProcessEnv = DAEMON_ENV,
): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [ORCH_BIN, ...args], { timeout: timeoutMs, env }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

export interface NodeInfoJson {
  nodeId: string;
  clusterId: string;
  role: string;
  isLeader: boolean;
  leaderId: string;
  state: string;
  raftMembership: string;
  pid: number;
  cluster?: { managers: number; reachableManagers: number; nodes: number; tasks: number; leaderAddr: string };
}

export class OrchCluster {
  private readonly dirs = new TempDirs();
  private readonly group = new ProcessGroup();
  private readonly pids = new Set<number>();
  /** A random 127.X.Y.0/24 so that suites running side by side never share an address. */
  private readonly prefix =
    `127.${10 + Math.floor(Math.random() * 200)}.${1 + Math.floor(Math.random() * 250)}`;
  private readonly root = this.dirs.make('cluster');
  private readonly restarted = new Map<number, TrackedProcess>();
  /** Node IDs by node number, recorded when a node is created (they outlive `orch leave`). */
  private readonly nodeIds = new Map<number, string>();
  /** The environment of every orch command and daemon of this cluster. */
  readonly env: NodeJS.ProcessEnv;
  readonly executor: 'hollow' | 'docker';

  constructor(options: OrchClusterOptions = {}) {
    this.executor = options.executor ?? 'hollow';
    this.env = { ...DAEMON_ENV, ORCH_EXECUTOR: this.executor };
  }

  /** Node n's address (n from 1). */
  addr(n: number): string {
    return `${this.host(n)}:4242`;
  }

  /** Node n's host: its advertise address and so its routing mesh address. */
  host(n: number): string {
    return `${this.prefix}.${n}`;
  }

  dataDir(n: number): string {
    return join(this.root, `node-${n}`);
  }

  /**
   * Runs an orch command against node n's data dir, chosen through ORCH_DATA_DIR as a user's shell
   * would: a trailing `--data-dir` would become part of `service create IMAGE COMMAND...`.
   */
  orch(n: number, ...args: string[]): Promise<RunResult> {
    return runOrch(args, 60_000, this.nodeEnv(n));
  }

  /** Starts a long-running orch command (`service logs -f`) on node n; close() kills it if still running. */
  spawnOrch(n: number, ...args: string[]): TrackedProcess {
    return this.group.spawn(process.execPath, [ORCH_BIN, ...args], {
      name: `orch ${args.join(' ')} (node ${n})`,
      env: this.nodeEnv(n),
    });
  }

  private nodeEnv(n: number): NodeJS.ProcessEnv {
    return { ...this.env, ORCH_DATA_DIR: this.dataDir(n) };
  }

  /** Node n's ID (known once it was initialised or joined). */
  nodeId(n: number): string {
    const id = this.nodeIds.get(n);
    if (id === undefined) throw new Error(`node ${n} has not joined this cluster`);
    return id;
  }

  private recordPid(n: number): number {
    const pid = Number(readFileSync(join(this.dataDir(n), 'orch.pid'), 'utf8').trim());
    this.pids.add(pid);
    const state = JSON.parse(readFileSync(join(this.dataDir(n), 'node.json'), 'utf8')) as { nodeId: string };
    this.nodeIds.set(n, state.nodeId);
    return pid;
  }

  pidOf(n: number): number {
    return Number(readFileSync(join(this.dataDir(n), 'orch.pid'), 'utf8').trim());
  }

  async init(n: number, ...flags: string[]): Promise<RunResult> {
    const result = await runOrch(
      // Each node its own name (node-<n>), as on separate machines; a flag given later wins.
      [
        'init',
        '--advertise-addr',
        this.addr(n),
        '--data-dir',
        this.dataDir(n),
        '--hostname',
        `node-${n}`,
        ...flags,
      ],
      60_000,
      this.env,
    );
    if (result.code === 0) this.recordPid(n);
    return result;
  }

  async join(n: number, token: string, via: number, ...flags: string[]): Promise<RunResult> {
    const result = await runOrch(
      [
        'join',
        '--token',
        token,
        this.addr(via),
        '--listen-addr',
        this.addr(n),
        '--data-dir',
        this.dataDir(n),
        '--hostname',
        `node-${n}`,
        ...flags,
      ],
      60_000,
      this.env,
    );
    if (result.code === 0) this.recordPid(n);
    return result;
  }

  async token(role: 'worker' | 'manager', via: number): Promise<string> {
    const result = await this.orch(via, 'join-token', role, '-q');
    if (result.code !== 0) throw new Error(`join-token failed: ${result.stderr}`);
    return result.stdout.trim();
  }

  async info(n: number): Promise<NodeInfoJson> {
    const result = await this.orch(n, 'info', '--format', 'json');
    if (result.code !== 0) throw new Error(`info on node ${n} failed: ${result.stderr}`);
    return JSON.parse(result.stdout) as NodeInfoJson;
  }

  /** A Control API client on node n's local socket (close it). */
  control(n: number): ControlApiClient {
    return new ControlApiClient({ dataDir: this.dataDir(n), timeoutMs: 15_000 });
  }

  /** SIGKILL of node n's daemon. */
  kill9(n: number): void {
    const pid = this.pidOf(n);
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }

  /** Restarts node n from its data dir with `orch daemon` (a child of the test) and waits until it answers. */
  async restart(n: number): Promise<void> {
    const child = this.group.spawn(process.execPath, [ORCH_BIN, 'daemon', '--data-dir', this.dataDir(n)], {
      name: `node-${n}`,
      env: this.env,
    });
    this.restarted.set(n, child);
    this.pids.add(child.pid);
    await waitUntil(async () => (await this.info(n)).state === 'ready', {
      what: `node ${n} to be ready after a restart`,
      timeoutMs: 20_000,
    });
  }

  /** The last log lines of node n (for failure messages). */
  log(n: number): string {
    try {
      return readFileSync(join(this.dataDir(n), 'orch.log'), 'utf8')
        .split('\n')
        .slice(-30)
        .join('\n');
    } catch {
      return this.restarted.get(n)?.log ?? '';
    }
  }

  /**
   * Force-removes every container labelled with one of this cluster's node IDs (running or not) and
   * returns how many there were. Call it with the daemons stopped, or they recreate what they own.
   */
  removeContainers(): Promise<number> {
    return removeNodeContainers(this.nodeIds.values());
  }

  /**
   * Kills every daemon this cluster started (by PID), removes the nftables tables of its nodes'
   * routing meshes (kernel fast path), the containers, engine networks and nftables VIP tables of
   * its nodes (Docker executor) and its directories.
   */
  async close(): Promise<void> {
    for (const pid of this.pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    await this.group.killAll();
    await removeMeshTables([...this.nodeIds.keys()].map((n) => this.host(n)));
    if (this.executor === 'docker') {
      try {
        await this.removeContainers();
        await removeNodeNetworking(this.nodeIds.values());
      } catch (err) {
        process.stderr.write(
          `cluster harness: removing containers or networks failed: ${(err as Error).message}\n`,
        );
      }
    }
    // Give the kernel a moment to release the daemons' files before removing the directories.
    await new Promise((resolve) => setTimeout(resolve, 100));
    this.dirs.removeAll();
  }
}
