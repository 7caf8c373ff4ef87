// Live convergence progress for `service create`, `scale` and `update` (without -d), like docker's:
//   overall progress: 2 out of 3 tasks
//   1/3: running   [==================================================>]
// redrawn in place on a terminal, one line per change otherwise. It polls the Control API until
// every wanted task runs the current spec and stays so for the verify period, and fails with the
// reason when the service cannot converge: a task pending with a scheduler reason for too long, or
// a slot whose tasks keep failing (or fail with nothing left to replace them).
import { setTimeout as sleep } from 'node:timers/promises';
import type { Node__Output } from '../api/gen/types/orch/objects/Node';
import type { Service__Output } from '../api/gen/types/orch/objects/Service';
import type { ServiceSpec__Output } from '../api/gen/types/orch/objects/ServiceSpec';
import type { Task__Output } from '../api/gen/types/orch/objects/Task';
import { formatTaskState, globalNodeFilter, taskStateRank } from '../manager/orchestrator';
import type { ControlApiClient } from './control-client';
import { UserError } from './errors';
import { type CliContext, interruptibleWait } from './flags';

const BAR_WIDTH = 50;
const MAX_SLOT_LINES = 50;
/** Failed tasks in one slot, since the command started, after which convergence is given up. */
const MAX_FAILURES_PER_SLOT = 3;

/** One line of the display: a replicated slot or a global task's node. */
interface SlotView {
  label: string;
  text: string;
}

interface Assessment {
  done: number;
  total: number;
  slots: SlotView[];
  /** Set when the service can't converge. */
  failure?: string;
}

/**
 * Waits for `serviceId` to converge, showing progress; throws a UserError when it can't. `before` is
 * the service as read before the change that is being waited for: a rolling update that pauses or
 * rolls back after it counts as a failure (none, for a new service).
 */
export async function showConvergence(
  ctx: CliContext,
  client: ControlApiClient,
  serviceId: string,
  before?: Service__Output,
): Promise<void> {
  const display = new ProgressDisplay(ctx);
  const initialTaskIds = new Set((await client.listTasks({ serviceId })).map((t) => t.meta?.id ?? ''));
  const initialUpdate = before ? updateKey(before) : '';
  const pendingSince = new Map<string, number>();
  const wait = interruptibleWait(ctx);
  try {
    await watch(ctx, client, serviceId, display, wait.signal, {
      initialTaskIds,
      initialUpdate,
      pendingSince,
    });
  } finally {
    wait.done();
  }
}

/** The polling loop of showConvergence: one frame per poll until converged, failed or interrupted. */
async function watch(
  ctx: CliContext,
  client: ControlApiClient,
  serviceId: string,
  display: ProgressDisplay,
  signal: AbortSignal,
  state: { initialTaskIds: ReadonlySet<string>; initialUpdate: string; pendingSince: Map<string, number> },
): Promise<void> {
  const { initialTaskIds, initialUpdate, pendingSince } = state;
  let convergedSince: number | undefined;
  while (!signal.aborted) {
    const service = await client.getService(serviceId);
    const tasks = await client.listTasks({ serviceId: service.meta!.id });
    const isGlobal = service.spec?.mode === 'global' || service.spec?.mode === 'globalJob';
    const nodes = isGlobal ? await client.listNodes() : [];
    const now = ctx.now();
    const a = assess(service, tasks, nodes, initialTaskIds, pendingSince, now, ctx.progressPendingLimitMs);
    const frame = [`overall progress: ${a.done} out of ${a.total} tasks`, ...slotLines(a.slots)];
    const failure = a.failure ?? updateFailure(service, initialUpdate);
    if (failure) {
      display.show(frame, '');
      display.finish();
      throw new UserError(`service ${service.spec?.name} can't converge: ${failure}`);
    }
    const converged =
      a.done === a.total &&
      a.slots.every((s) => s.text.startsWith('running') || s.text.startsWith('complete'));
    if (!converged) {
      convergedSince = undefined;
      display.show(frame, '');
    } else {
      convergedSince ??= now;
      const left = ctx.progressVerifyMs - (now - convergedSince);
      if (left <= 0) {
        display.show(frame, 'verify: Service converged');
        display.finish();
        return;
      }
      display.show(
        frame,
        `verify: Waiting ${Math.ceil(left / 1000)} seconds to verify that tasks are stable...`,
      );
    }
    try {
      await sleep(ctx.progressPollMs, undefined, { signal });
    } catch {
      break;
    }
  }
  display.finish();
  ctx.out(`Operation continuing in background.\nUse \`orch service ps ${serviceId}\` to check progress.\n`);
}

function updateKey(service: Service__Output): string {
  return service.updateStatus ? `${service.updateStatus.state}@${service.updateStatus.startedAtMs}` : '';
}

/** A rolling update that paused or rolled back since the command started (docker stops waiting too). */
function updateFailure(service: Service__Output, initialKey: string): string | undefined {
  const status = service.updateStatus;
  if (!status || updateKey(service) === initialKey) return undefined;
  const why = status.message ? `: ${status.message}` : '';
  if (status.state === 'UPDATE_STATE_PAUSED') return `the update was paused${why}`;
  if (status.state === 'UPDATE_STATE_ROLLBACK_PAUSED') return `the rollback was paused${why}`;
  if (status.state === 'UPDATE_STATE_ROLLBACK_COMPLETED') return `the update was rolled back${why}`;
  return undefined;
}

/** Where the service stands: tasks done out of wanted, a line per slot, and why it can't converge. */
export function assess(
  service: Service__Output,
  tasks: readonly Task__Output[],
  nodes: readonly Node__Output[],
  initialTaskIds: ReadonlySet<string>,
  pendingSince: Map<string, number>,
  nowMs: number,
  pendingLimitMs: number,
): Assessment {
  const spec = service.spec!;
  const isJob = spec.mode === 'replicatedJob' || spec.mode === 'globalJob';
  const doneState = isJob ? 'TASK_STATE_COMPLETE' : 'TASK_STATE_RUNNING';
  const groups = new Map<string, Task__Output[]>();
  for (const task of tasks) {
    const key = task.slot > 0 ? String(task.slot) : task.nodeId;
    groups.set(key, [...(groups.get(key) ?? []), task]);
  }
  let keys: string[];
  let total: number;
  if (spec.mode === 'replicated') {
    total = spec.replicated?.replicas ?? 0;
    keys = Array.from({ length: total }, (_, i) => String(i + 1));
  } else if (spec.mode === 'replicatedJob') {
    total = spec.replicatedJob?.totalCompletions ?? 0;
    keys = [...groups.keys()].sort((a, b) => Number(a) - Number(b));
  } else {
    // Global: one task per eligible node (a paused node only counts when it already has a task).
    const eligible = globalNodeFilter(service);
    keys = nodes
      .filter((n) => eligible(n))
      .map((n) => n.meta?.id ?? '')
      .filter((id) => {
        const node = nodes.find((n) => n.meta?.id === id);
        const live = (groups.get(id) ?? []).some((t) => t.desiredState !== 'TASK_STATE_SHUTDOWN');
        return node?.spec?.availability !== 'NODE_AVAILABILITY_PAUSE' || live;
      })
      .sort();
    total = keys.length;
  }
  const slots: SlotView[] = [];
  let done = 0;
  let failure: string | undefined;
  const wanted = specForComparison(spec);
  for (const key of keys) {
    const history = (groups.get(key) ?? []).sort(
      (a, b) => (b.meta?.createdAtMs ?? 0) - (a.meta?.createdAtMs ?? 0),
    );
    const current = history.find((t) => t.desiredState !== 'TASK_STATE_SHUTDOWN') ?? history[0];
    const label =
      spec.mode === 'replicated' || spec.mode === 'replicatedJob' ? `${key}/${total}` : key.slice(0, 12);
    if (!current) {
      slots.push({ label, text: '' });
      continue;
    }
    const state = current.status?.state ?? 'TASK_STATE_NEW';
    const upToDate = isJob || specForComparison(current.spec) === wanted;
    if (state === doneState && upToDate) done++;
    const err = current.status?.err ?? '';
    if (state === 'TASK_STATE_PENDING' && err) {
      const id = current.meta?.id ?? '';
      const since = pendingSince.get(id) ?? nowMs;
      pendingSince.set(id, since);
      if (nowMs - since >= pendingLimitMs) failure ??= `task ${spec.name}.${key} is pending: ${err}`;
      slots.push({ label, text: err });
      continue;
    }
    slots.push({ label, text: `${formatTaskState(state).padEnd(9)} ${bar(state)}` });
    failure ??= failedSlot(spec, key, history, initialTaskIds);
  }
  return { done: Math.min(done, total), total, slots, ...(failure ? { failure } : {}) };
}

function failedSlot(
  spec: ServiceSpec__Output,
  key: string,
  history: readonly Task__Output[],
  initialTaskIds: ReadonlySet<string>,
): string | undefined {
  const failed = history.filter(
    (t) =>
      !initialTaskIds.has(t.meta?.id ?? '') &&
      (t.status?.state === 'TASK_STATE_FAILED' || t.status?.state === 'TASK_STATE_REJECTED'),
  );
  if (failed.length === 0) return undefined;
  const last = failed[0]!;
  const reason = last.status?.err || last.status?.message || formatTaskState(last.status!.state);
  const policy = spec.restartPolicy;
  const replaced = history.some((t) => t.desiredState === 'TASK_STATE_RUNNING' && !isDone(t));
  const noRestart =
    policy?.condition === 'RESTART_CONDITION_NONE' ||
    ((policy?.maxAttempts ?? 0) > 0 && failed.length > (policy?.maxAttempts ?? 0));
  if (noRestart && !replaced) return `task ${spec.name}.${key} failed and will not be restarted: ${reason}`;
  if (failed.length >= MAX_FAILURES_PER_SLOT)
    return `task ${spec.name}.${key} failed ${failed.length} times: ${reason}`;
  return undefined;
}

function isDone(task: Task__Output): boolean {
  return taskStateRank(task.status?.state ?? 'TASK_STATE_NEW') >= taskStateRank('TASK_STATE_COMPLETE');
}

/**
 * The parts of a spec a task runs with, as the rolling update compares them: scaling, labels,
 * placement (a task may stay where the new constraints still hold) or update settings alone do not
 * make a task outdated.
 */
function specForComparison(spec: ServiceSpec__Output | null | undefined): string {
  if (!spec) return '';
  return JSON.stringify([
    spec.container,
    spec.resources,
    spec.restartPolicy,
    spec.networks,
    spec.endpoint,
    spec.forceUpdate,
  ]);
}

function bar(state: Task__Output['desiredState']): string {
  const steps = taskStateRank('TASK_STATE_RUNNING') + 1;
  const filled = Math.min(BAR_WIDTH, Math.round(((taskStateRank(state) + 1) / steps) * BAR_WIDTH));
  return `[${'='.repeat(Math.max(0, filled - 1))}>${' '.repeat(BAR_WIDTH - filled)}]`;
}

function slotLines(slots: readonly SlotView[]): string[] {
  const lines = slots.slice(0, MAX_SLOT_LINES).map((s) => `${s.label}: ${s.text}`.trimEnd());
  if (slots.length > MAX_SLOT_LINES) lines.push(`… and ${slots.length - MAX_SLOT_LINES} more`);
  return lines;
}

/** Draws frames: in place on a terminal, changed lines only otherwise. */
class ProgressDisplay {
  private drawn = 0;
  private readonly printed = new Map<number, string>();
  /** The first word after `verify:` last printed (non-TTY prints each verify phase once). */
  private lastPhase = '';
  /** The frame on screen (terminal): an identical one is not redrawn. */
  private lastFrame = '';

  constructor(private readonly ctx: CliContext) {}

  /** One frame: the progress lines and a status line under them (empty: none). */
  show(lines: readonly string[], status: string): void {
    if (this.ctx.isTTY) {
      const all = status ? [...lines, status] : lines;
      const text = all.join('\n');
      if (this.drawn > 0 && text === this.lastFrame) return;
      this.lastFrame = text;
      const up = this.drawn > 0 ? `\x1b[${this.drawn}A\x1b[J` : '';
      this.ctx.out(up + all.map((l) => `${l}\n`).join(''));
      this.drawn = all.length;
      return;
    }
    lines.forEach((line, i) => {
      if (this.printed.get(i) === line) return;
      this.printed.set(i, line);
      this.ctx.out(`${line}\n`);
    });
    const phase = status.split(' ')[1] ?? '';
    if (phase !== this.lastPhase && status) this.ctx.out(`${status}\n`);
    this.lastPhase = phase;
  }

  finish(): void {
    this.drawn = 0;
  }
}
