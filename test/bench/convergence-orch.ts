// orch's side of the convergence benchmark: a real cluster of `dist/cmd/orch.js` daemons, one
// manager and one worker, each on its own loopback address (127.X.Y.1 and .2, port 4242, X.Y random
// so the run never meets another cluster on this machine) and its own temp data dir, running tasks
// on the local Docker engine. The cluster is started the way a user starts one (`orch init`,
// `orch join-token`, `orch join`); services are created and scaled through the manager's Control API
// from this process. Every PID, data dir and node ID goes into the state file before it is needed
// for cleanup (convergence-cleanup.ts), which stops exactly these daemons and their containers.
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { status as grpcStatus } from '@grpc/grpc-js';
import type { ServiceSpec } from '../../src/api/gen/types/orch/objects/ServiceSpec';
import { ControlApiClient } from '../../src/cli/control-client';
import type { BenchState } from './convergence-cleanup';
import type { ServiceSelector } from './convergence-engine';
import {
  type ConvergenceTarget,
  SERVICE_ARGS,
  type ServiceRequest,
  STOP_GRACE_PERIOD_MS,
} from './convergence-target';

const run = promisify(execFile);
/** The orch build under test; BENCH_ORCH_BIN measures another one (e.g. a build with a proposed fix). */
export const ORCH_BIN = process.env.BENCH_ORCH_BIN ?? resolve(__dirname, '../../dist/cmd/orch.js');
const ORCH_SERVICE_LABEL = 'orch.service.id';
const NODES_READY_TIMEOUT_MS = 60_000;
const REMOVE_ATTEMPTS = 5;

export interface OrchClusterOptions {
  image: string;
  /** pino level of the daemons (ORCH_LOG_LEVEL); `debug` for profiling. */
  logLevel: string;
}

export class OrchTarget implements ConvergenceTarget {
  readonly name = 'orch';

  private constructor(
    private readonly control: ControlApiClient,
    private readonly image: string,
    readonly dataDirs: readonly string[],
  ) {}

  /** Starts the manager and the worker and waits until both nodes are ready. */
  static async start(state: BenchState, options: OrchClusterOptions): Promise<OrchTarget> {
    const root = mkdtempSync('/tmp/orch-bench-convergence-');
    const prefix = `127.${10 + Math.floor(Math.random() * 200)}.${1 + Math.floor(Math.random() * 250)}`;
    const nodes = [1, 2].map((n) => ({ dataDir: join(root, `node-${n}`), addr: `${prefix}.${n}:4242` }));
    state.update((data) => {
      data.orch = { root, nodes: nodes.map((n) => ({ dataDir: n.dataDir })) };
    });
    const env = { ...process.env, ORCH_EXECUTOR: 'docker', ORCH_LOG_LEVEL: options.logLevel };
    const orch = (...args: string[]) => run(process.execPath, [ORCH_BIN, ...args], { env, timeout: 60_000 });
    const recordNode = async (index: number) => {
      const dataDir = nodes[index]!.dataDir;
      const pid = Number(readFileSync(join(dataDir, 'orch.pid'), 'utf8').trim());
      state.update((data) => {
        data.orch!.nodes[index]!.pid = pid;
      });
      const info = JSON.parse((await orch('info', '--format', 'json', '--data-dir', dataDir)).stdout) as {
        nodeId: string;
      };
      state.update((data) => {
        data.orch!.nodes[index]!.nodeId = info.nodeId;
      });
    };

    // --executor where this build has it; ORCH_EXECUTOR (set above) is its fallback in older builds.
    const executorFlag = (await orch('init', '--help')).stdout.includes('--executor')
      ? ['--executor', 'docker']
      : [];
    const [manager, worker] = nodes as [(typeof nodes)[0], (typeof nodes)[0]];
    await orch('init', '--advertise-addr', manager.addr, '--data-dir', manager.dataDir, ...executorFlag);
    await recordNode(0);
    const control = new ControlApiClient({ dataDir: manager.dataDir, timeoutMs: 30_000 });
    const token = (await control.getJoinTokens()).worker;
    await orch(
      'join',
      '--token',
      token,
      manager.addr,
      '--listen-addr',
      worker.addr,
      '--data-dir',
      worker.dataDir,
      ...executorFlag,
    );
    await recordNode(1);

    const deadline = Date.now() + NODES_READY_TIMEOUT_MS;
    for (;;) {
      const ready = (await control.listNodes()).filter((n) => n.status?.state === 'NODE_STATE_READY');
      if (ready.length === nodes.length) break;
      if (Date.now() > deadline) throw new Error(`orch: only ${ready.length} of ${nodes.length} nodes ready`);
      await sleep(100);
    }
    return new OrchTarget(
      control,
      options.image,
      nodes.map((n) => n.dataDir),
    );
  }

  async createService(request: ServiceRequest, options: { signal?: AbortSignal } = {}): Promise<string> {
    const spec: ServiceSpec = {
      name: request.name,
      container: {
        image: this.image,
        args: SERVICE_ARGS,
        pullPolicy: 'PULL_POLICY_NEVER',
        stopGracePeriodMs: STOP_GRACE_PERIOD_MS,
      },
      replicated: { replicas: request.replicas },
    };
    if (request.restartDelayMs !== undefined) {
      spec.restartPolicy = {
        condition: 'RESTART_CONDITION_ANY',
        delayMs: request.restartDelayMs,
        maxAttempts: 0,
        windowMs: 0,
      };
    }
    const service = await this.control.createService(spec, options);
    return service.meta!.id;
  }

  async scaleService(
    serviceId: string,
    replicas: number,
    options: { signal?: AbortSignal } = {},
  ): Promise<void> {
    await this.control.scaleService(serviceId, replicas, options);
  }

  /**
   * RemoveService, retried while the service still exists. A failure after the service is gone
   * (its tasks may be left behind: the removal is several transactions) is reported as such, and the
   * case then removes the containers itself.
   */
  async removeService(serviceId: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.control.removeService(serviceId, options);
        return;
      } catch (err) {
        if (!(await this.serviceExists(serviceId))) {
          throw new Error(`RemoveService failed after deleting the service: ${(err as Error).message}`);
        }
        if (attempt >= REMOVE_ATTEMPTS) throw err;
        await sleep(200, undefined, options);
      }
    }
  }

  private async serviceExists(serviceId: string): Promise<boolean> {
    try {
      await this.control.getService(serviceId, { linearizable: true });
      return true;
    } catch (err) {
      if ((err as { code?: number }).code === grpcStatus.NOT_FOUND) return false;
      throw err;
    }
  }

  forget(): void {
    // Cleanup finds orch's containers by node ID: nothing per service to forget.
  }

  selector(serviceId: string): ServiceSelector {
    return { label: ORCH_SERVICE_LABEL, value: serviceId };
  }

  /** The manager's Control API, for the profile of a run. */
  get client(): ControlApiClient {
    return this.control;
  }

  /** Copies each node's daemon log to `dir` as node-N.log. */
  copyLogs(dir: string): void {
    mkdirSync(dir, { recursive: true });
    for (const [index, dataDir] of this.dataDirs.entries()) {
      copyFileSync(join(dataDir, 'orch.log'), join(dir, `node-${index + 1}.log`));
    }
  }

  close(): void {
    this.control.close();
  }
}
