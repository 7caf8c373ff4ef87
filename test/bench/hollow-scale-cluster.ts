// The scale benchmark's cluster: real manager processes (`orch init` / `orch join` from dist/, each
// on its own loopback address and temp data dir, `--executor hollow`, drained so no task lands on a
// manager) and one forked process of hollow workers that join through the cluster CA with a worker
// token (hollow-scale-workers.ts). Everything the benchmark measures goes through the leader's
// Control API socket, as `orch service ...` would. Used by test/bench/hollow-scale.ts (the full run)
// and test/integration/hollow-scale-smoke.test.ts (a small run of the same path).
//
// close() always releases what was started: the workers' process, every manager daemon (by the PID
// in its pid file: SIGTERM, then SIGKILL), and the temp dirs.
import { type ChildProcess, execFile, fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Node__Output } from '../../src/api/gen/types/orch/objects/Node';
import type { ServiceSpec } from '../../src/api/gen/types/orch/objects/ServiceSpec';
import type { Task__Output } from '../../src/api/gen/types/orch/objects/Task';
import { ControlApiClient } from '../../src/cli/control-client';
import { processAlive } from '../../src/node/node-pid-file';
import { type ProcessMemory, processMemory } from './hollow-scale-memory';
import type {
  DriverRequest,
  HollowWorkersConfig,
  WorkersMemory,
  WorkersMessage,
} from './hollow-scale-protocol';

/** The orch binary: dist/ of this checkout, or BENCH_ORCH_BIN (e.g. an experimental build elsewhere). */
export const ORCH_BIN = process.env.BENCH_ORCH_BIN ?? join(__dirname, '../../dist/cmd/orch.js');
const WORKERS_SCRIPT = join(__dirname, 'hollow-scale-workers.ts');
const TS_HOOK = join(__dirname, '..', 'support', 'ts-hook.cjs');
const RUNNING = 'TASK_STATE_RUNNING';

export interface HollowScaleClusterOptions {
  managers?: number;
  /** `orch init --heartbeat-period` (default: the cluster default, 5s). */
  heartbeatPeriod?: string;
  /** `orch init --election-timeout` (default: the cluster default, 1s). */
  electionTimeout?: string;
  /** ORCH_LOG_LEVEL of the managers (default warn: 1,000 nodes at info level is mostly logging). */
  managerLogLevel?: string;
  /**
   * Extra node arguments of the manager daemons (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`, which
   * NODE_OPTIONS refuses): given to `orch init` / `orch join`, whose detached daemon inherits them.
   */
  managerNodeArgs?: readonly string[];
  /** Deadline of every wait (ms). */
  timeoutMs?: number;
  /** Progress lines (default: none). */
  progress?: (line: string) => void;
}

export interface StartWorkersOptions {
  count: number;
  /** Extra node arguments of the workers' process (e.g. `--cpu-prof`). */
  nodeArgs?: readonly string[];
  joinConcurrency?: number;
  statusBatchDelayMs?: number;
  logLevel?: string;
}

interface ManagerProcess {
  n: number;
  addr: string;
  dataDir: string;
  nodeId: string;
  pid: number;
}

export class HollowScaleCluster {
  private readonly options: Required<
    Omit<HollowScaleClusterOptions, 'heartbeatPeriod' | 'electionTimeout' | 'managerNodeArgs'>
  > &
    HollowScaleClusterOptions;
  /** A random 127.X.Y.0/24 so runs side by side never share an address. */
  private readonly prefix =
    `127.${10 + Math.floor(Math.random() * 200)}.${1 + Math.floor(Math.random() * 250)}`;
  readonly root = mkdtempSync(join(tmpdir(), 'orch-hollow-scale-'));
  readonly managers: ManagerProcess[] = [];
  private readonly env: NodeJS.ProcessEnv;
  private workers: ChildProcess | undefined;
  private workersExit: Promise<void> | undefined;
  private readonly inbox: WorkersMessage[] = [];
  private inboxWaiter: (() => void) | undefined;
  private workersError: Error | undefined;
  private leaderClient: ControlApiClient | undefined;

  constructor(options: HollowScaleClusterOptions = {}) {
    this.options = {
      managers: 3,
      managerLogLevel: 'warn',
      timeoutMs: 600_000,
      progress: () => {},
      ...options,
    };
    // `--executor hollow` on init and join decides; the variable covers a build without the flag.
    this.env = {
      ...process.env,
      ORCH_EXECUTOR: 'hollow',
      ORCH_LOG_LEVEL: this.options.managerLogLevel,
    };
  }

  addr(n: number): string {
    return `${this.prefix}.${n}:4242`;
  }

  /** Runs `orch ARGS`; `daemon` adds the managers' node arguments (init and join start the daemon). */
  private orch(args: readonly string[], daemon = false, timeoutMs = 120_000): Promise<string> {
    const nodeArgs = daemon ? (this.options.managerNodeArgs ?? []) : [];
    return new Promise((resolve, reject) => {
      execFile(
        process.execPath,
        [...nodeArgs, ORCH_BIN, ...args],
        { timeout: timeoutMs, env: this.env },
        (err, stdout, stderr) =>
          err
            ? reject(new Error(`orch ${args.join(' ')} failed: ${stderr.trim() || err.message}`))
            : resolve(stdout),
      );
    });
  }

  private async registerManager(n: number, dataDir: string): Promise<void> {
    const pid = Number(readFileSync(join(dataDir, 'orch.pid'), 'utf8').trim());
    const info = JSON.parse(await this.orch(['info', '--format', 'json', '--data-dir', dataDir])) as {
      nodeId: string;
    };
    this.managers.push({ n, addr: this.addr(n), dataDir, nodeId: info.nodeId, pid });
  }

  /**
   * Starts the managers: node 1 inits the cluster, the others join with the manager token through
   * node 1, drained; then node 1 drains itself. Resolves once every manager is a reachable voter.
   */
  async startManagers(): Promise<void> {
    const first = join(this.root, 'm1');
    const settings = [
      '--executor',
      'hollow',
      ...(this.options.heartbeatPeriod ? ['--heartbeat-period', this.options.heartbeatPeriod] : []),
      ...(this.options.electionTimeout ? ['--election-timeout', this.options.electionTimeout] : []),
    ];
    await this.orch(['init', '--advertise-addr', this.addr(1), '--data-dir', first, ...settings], true);
    await this.registerManager(1, first);
    const token = (await this.orch(['join-token', 'manager', '-q', '--data-dir', first])).trim();
    for (let n = 2; n <= this.options.managers; n++) {
      const dataDir = join(this.root, `m${n}`);
      await this.orch(
        [
          'join',
          '--token',
          token,
          this.addr(1),
          '--listen-addr',
          this.addr(n),
          '--availability',
          'drain',
          '--executor',
          'hollow',
          '--data-dir',
          dataDir,
        ],
        true,
      );
      await this.registerManager(n, dataDir);
    }
    await this.orch([
      'node',
      'update',
      '--availability',
      'drain',
      this.managers[0]!.nodeId,
      '--data-dir',
      first,
    ]);
    await this.until('every manager reachable and drained', async () => {
      const nodes = await this.leader().listNodes();
      const managers = nodes.filter((node) => node.managerStatus !== null);
      return (
        managers.length === this.options.managers &&
        managers.every(
          (node) => node.managerStatus!.reachable && node.spec?.availability === 'NODE_AVAILABILITY_DRAIN',
        )
      );
    });
  }

  /** The Control API client on the current leader's socket. */
  leader(): ControlApiClient {
    this.leaderClient ??= new ControlApiClient({ dataDir: this.managers[0]!.dataDir, timeoutMs: 60_000 });
    return this.leaderClient;
  }

  /** Finds the leader among the managers and points leader() at it. */
  async findLeader(): Promise<ManagerProcess> {
    const leaderId = (await this.leader().getInfo()).leaderNodeId;
    const leader = this.managers.find((m) => m.nodeId === leaderId);
    if (leader === undefined)
      throw new Error(`the leader ${leaderId || '(none)'} is not one of the managers`);
    if (this.leaderClient?.dataDir !== leader.dataDir) {
      this.leaderClient?.close();
      this.leaderClient = new ControlApiClient({ dataDir: leader.dataDir, timeoutMs: 60_000 });
    }
    return leader;
  }

  async workerToken(): Promise<string> {
    return (await this.leader().getJoinTokens()).worker;
  }

  /** Forks the hollow workers' process; resolves once every node joined and its agent started. */
  async startWorkers(
    options: StartWorkersOptions,
  ): Promise<{ nodeIds: string[]; joinMs: number; joinRetries: number }> {
    const config: HollowWorkersConfig = {
      count: options.count,
      managers: this.managers.map((m) => m.addr),
      joinToken: await this.workerToken(),
      joinConcurrency: options.joinConcurrency ?? 16,
      statusBatchDelayMs: options.statusBatchDelayMs ?? 100,
      logLevel: options.logLevel,
    };
    const child = fork(WORKERS_SCRIPT, [], {
      execArgv: [...(options.nodeArgs ?? []), '-r', TS_HOOK],
      env: { ...process.env, NODE_OPTIONS: '', HOLLOW_SCALE_WORKERS: JSON.stringify(config) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.workers = child;
    this.workersExit = new Promise((resolve) => child.once('exit', () => resolve()));
    child.on('message', (message: WorkersMessage) => {
      if (message.type === 'error')
        this.workersError = new Error(`hollow workers failed: ${message.message}`);
      else this.inbox.push(message);
      this.inboxWaiter?.();
    });
    child.once('exit', (code, signal) => {
      this.workersError ??= new Error(`hollow workers exited (${signal ?? code})`);
      this.inboxWaiter?.();
    });
    const started = await this.nextMessage('started');
    return { nodeIds: started.nodeIds, joinMs: started.joinMs, joinRetries: started.joinRetries };
  }

  private async nextMessage<K extends WorkersMessage['type']>(
    type: K,
  ): Promise<Extract<WorkersMessage, { type: K }>> {
    for (;;) {
      const index = this.inbox.findIndex((m) => m.type === type);
      if (index >= 0) return this.inbox.splice(index, 1)[0] as Extract<WorkersMessage, { type: K }>;
      if (this.workersError) throw this.workersError;
      await new Promise<void>((resolve) => {
        this.inboxWaiter = resolve;
      });
      this.inboxWaiter = undefined;
    }
  }

  private request(request: DriverRequest): void {
    if (!this.workers?.connected) throw this.workersError ?? new Error('the hollow workers are not running');
    this.workers.send(request);
  }

  /** Stops `count` hollow agents abruptly (no goodbye); returns their node IDs. */
  async killWorkers(count: number): Promise<string[]> {
    this.request({ type: 'kill', count });
    return (await this.nextMessage('killed')).nodeIds;
  }

  async workersMemory(): Promise<WorkersMemory> {
    this.request({ type: 'stats' });
    const { type: _type, ...memory } = await this.nextMessage('stats');
    return memory;
  }

  /** Memory of every manager process; throws naming a manager that is gone. */
  managersMemory(): ProcessMemory[] {
    return this.managers.map((m) => {
      try {
        return processMemory(m.pid);
      } catch (err) {
        throw new Error(`manager ${m.n} (pid ${m.pid}) is not running`, { cause: err });
      }
    });
  }

  /** Polls `check` until it returns true; rejects after the cluster's deadline. */
  async until(what: string, check: () => Promise<boolean>, intervalMs = 200): Promise<void> {
    const deadline = Date.now() + this.options.timeoutMs;
    let lastError: unknown;
    for (;;) {
      if (this.workersError) throw this.workersError;
      try {
        if (await check()) return;
        lastError = undefined;
      } catch (err) {
        lastError = err;
      }
      if (Date.now() > deadline) {
        const detail = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
        throw new Error(`timed out waiting for ${what}${detail}`);
      }
      await sleep(intervalMs);
    }
  }

  /** Nodes in the store with these IDs and this state (one ListNodes). */
  async countNodes(nodeIds: ReadonlySet<string>, state: string): Promise<number> {
    const nodes: Node__Output[] = await this.leader().listNodes();
    return nodes.filter((n) => nodeIds.has(n.meta!.id) && n.status?.state === state).length;
  }

  /** Creates `services` replicated services of `replicas` hollow tasks each; returns their IDs. */
  async createServices(services: number, replicas: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < services; i++) {
      const service = await this.leader().createService(benchServiceSpec(i, replicas));
      ids.push(service.meta!.id);
    }
    return ids;
  }

  /**
   * Waits until every service has `replicas` tasks RUNNING in the leader's store. Cheap on the
   * leader: one ListTasks of one service at a time, moving to the next only once it is complete;
   * a final pass re-checks every service.
   */
  async waitAllRunning(
    serviceIds: readonly string[],
    replicas: number,
    onProgress?: (done: number) => void,
  ): Promise<void> {
    const runningOf = async (serviceId: string) =>
      (
        await this.leader().listTasks({ filters: { serviceIds: [serviceId], desiredStates: [RUNNING] } })
      ).filter((t) => t.status?.state === RUNNING).length;
    let done = 0;
    await this.until('every task running', async () => {
      while (done < serviceIds.length && (await runningOf(serviceIds[done]!)) === replicas) {
        done++;
        onProgress?.(done);
      }
      if (done < serviceIds.length) return false;
      for (const id of serviceIds) if ((await runningOf(id)) !== replicas) return false;
      return true;
    });
  }

  /** The (service, slot) pairs whose running tasks are on these nodes. */
  async slotsOn(nodeIds: readonly string[]): Promise<Map<string, Set<number>>> {
    const tasks = await this.leader().listTasks({
      filters: { nodeIds: [...nodeIds], desiredStates: [RUNNING] },
    });
    const slots = new Map<string, Set<number>>();
    for (const task of tasks) {
      const set = slots.get(task.serviceId) ?? new Set<number>();
      set.add(task.slot);
      slots.set(task.serviceId, set);
    }
    return slots;
  }

  /**
   * Waits until every given slot has a RUNNING task on a node outside `deadNodes`; one ListTasks per
   * service (its affected slots only), services checked in turn as in waitAllRunning.
   */
  async waitReplaced(slots: Map<string, Set<number>>, deadNodes: ReadonlySet<string>): Promise<void> {
    const pending = [...slots.entries()];
    const replaced = async ([serviceId, wanted]: [string, Set<number>]) => {
      const tasks: Task__Output[] = await this.leader().listTasks({
        filters: { serviceIds: [serviceId], slots: [...wanted], desiredStates: [RUNNING] },
      });
      const ok = new Set(
        tasks.filter((t) => t.status?.state === RUNNING && !deadNodes.has(t.nodeId)).map((t) => t.slot),
      );
      return [...wanted].every((slot) => ok.has(slot));
    };
    await this.until('replacements running', async () => {
      while (pending.length > 0 && (await replaced(pending[0]!))) pending.shift();
      return pending.length === 0;
    });
  }

  /** Releases everything: the workers' process, the manager daemons, the temp dirs. */
  async close(): Promise<void> {
    this.leaderClient?.close();
    this.leaderClient = undefined;
    if (this.workers !== undefined && this.workers.exitCode === null && this.workers.signalCode === null) {
      if (this.workers.connected) this.workers.send({ type: 'close' } satisfies DriverRequest);
      const exited = await Promise.race([
        this.workersExit!.then(() => true),
        sleep(15_000).then(() => false),
      ]);
      if (!exited && this.workers.pid !== undefined) this.signal(this.workers.pid, 'SIGKILL');
      await this.workersExit;
    }
    // SIGTERM lets a profiled daemon write its --cpu-prof; SIGKILL whatever is left.
    for (const m of this.managers) this.signal(m.pid, 'SIGTERM');
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && this.managers.some((m) => processAlive(m.pid))) await sleep(100);
    for (const m of this.managers) this.signal(m.pid, 'SIGKILL');
    rmSync(this.root, { recursive: true, force: true });
  }

  private signal(pid: number, signal: NodeJS.Signals): void {
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }
}

/** Service i of the benchmark: orch/busybox httpd with a small reservation, `replicas` replicas. */
export function benchServiceSpec(index: number, replicas: number): ServiceSpec {
  return {
    name: `bench-${index}`,
    container: { image: 'orch/busybox:latest', args: ['httpd', '-f', '-p', '80'], env: [`SERVICE=${index}`] },
    resources: { reservations: { nanoCpus: 1_000_000, memoryBytes: 4 * 1024 * 1024 } },
    replicated: { replicas },
  };
}
