// The cases of issue #6, each run the same way against any ConvergenceTarget. A case creates its own
// service, measures one thing, and always removes the service and waits until the engine has none of
// its containers left (force-removing stragglers after a bound), so no case starts with another's
// containers still around. The clock starts just before the request that triggers the convergence
// (create, scale, `docker rm -f` of a task container) and stops when the engine lists the wanted
// number of running containers of the service (Engine.waitRunning: same definition for every system).
import type { Engine } from './convergence-engine';
import type { ConvergenceTarget } from './convergence-target';

export interface CaseContext {
  engine: Engine;
  /** Unique service name for this run of the case. */
  serviceName: string;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Progress and warnings, one line each. */
  say: (line: string) => void;
}

export interface ConvergenceCase {
  id: string;
  /** The table's first column. */
  title: string;
  /** Measures a replacement of a failed task: only for targets that restart tasks. */
  needsRestarts?: boolean;
  /** Milliseconds from the request to convergence. */
  measure(target: ConvergenceTarget, context: CaseContext): Promise<number>;
}

/** How long both systems get to settle (status reports, restart bookkeeping) before a container is killed. */
const SETTLE_BEFORE_KILL_MS = 1_000;
/** How long a removed service's containers get to go before the case removes them itself. */
const REMOVAL_TIMEOUT_MS = 60_000;

export const CASES: readonly ConvergenceCase[] = [
  createCase(1),
  createCase(10),
  createCase(50),
  {
    id: 'scale',
    title: 'scale 10 → 50',
    measure: (target, context) =>
      withService(target, context, { replicas: 10 }, async (serviceId) => {
        const selector = target.selector(serviceId);
        await context.engine.waitRunning(selector, 10, context);
        const started = performance.now();
        await target.scaleService(serviceId, 50, context);
        return (await context.engine.waitRunning(selector, 50, context)) - started;
      }),
  },
  recoveryCase('recover', 'recovery, default restart delay', undefined),
  recoveryCase('recover-0', 'recovery, --restart-delay 0s', 0),
];

function createCase(replicas: number): ConvergenceCase {
  return {
    id: `create-${replicas}`,
    title: `create, N=${replicas}`,
    measure: async (target, context) => {
      let elapsedMs = 0;
      await withService(target, context, { replicas }, async (serviceId, started) => {
        elapsedMs =
          (await context.engine.waitRunning(target.selector(serviceId), replicas, context)) - started;
      });
      return elapsedMs;
    },
  };
}

/** A 10-replica service; one of its task containers is removed with `docker rm -f`. */
function recoveryCase(id: string, title: string, restartDelayMs: number | undefined): ConvergenceCase {
  return {
    id,
    title,
    needsRestarts: true,
    measure: (target, context) =>
      withService(target, context, { replicas: 10, restartDelayMs }, async (serviceId) => {
        const selector = target.selector(serviceId);
        await context.engine.waitRunning(selector, 10, context);
        await new Promise((resolve) => setTimeout(resolve, SETTLE_BEFORE_KILL_MS));
        const [victim] = await context.engine.runningContainers(selector, context);
        if (!victim) throw new Error(`${target.name}: no running container to kill`);
        const started = performance.now();
        await context.engine.removeContainer(victim);
        const converged = await context.engine.waitRunning(selector, 10, {
          ...context,
          excluded: new Set([victim]),
        });
        return converged - started;
      }),
  };
}

/**
 * Creates the service (the clock for a create case starts just before), runs `body` with its ID and
 * that start time, then removes the service and waits for its containers to go, even when `body` failed.
 */
async function withService<T>(
  target: ConvergenceTarget,
  context: CaseContext,
  spec: { replicas: number; restartDelayMs?: number },
  body: (serviceId: string, startedMs: number) => Promise<T>,
): Promise<T> {
  const started = performance.now();
  const serviceId = await target.createService({ name: context.serviceName, ...spec }, context);
  try {
    return await body(serviceId, started);
  } finally {
    await removeService(target, context, serviceId);
  }
}

async function removeService(
  target: ConvergenceTarget,
  context: CaseContext,
  serviceId: string,
): Promise<void> {
  const selector = target.selector(serviceId);
  try {
    await target.removeService(serviceId);
    await context.engine.waitGone(selector, { timeoutMs: REMOVAL_TIMEOUT_MS });
  } catch (err) {
    const removed = await context.engine.forceRemoveAll(selector);
    context.say(
      `${target.name}: removing ${context.serviceName}: ${(err as Error).message}; force-removed ${removed}`,
    );
  }
  target.forget(serviceId);
}
