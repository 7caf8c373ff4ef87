// What one node has been told it runs: the tasks assigned to it and the secrets and configs those
// tasks reference. The dispatcher feeds it store events for the node's tasks; it turns them into the
// changes the agent must hear about (a task newly assigned, a desired-state change, a removal, a
// secret first needed or no longer needed) and leaves out what the agent does not need back — above
// all the status updates the agent itself reported, which are most of the traffic.

import { taskStateRank } from '../../common/task-state';
import type { ReadTx } from '../../store';
import type { Config, Secret, Task } from '../../store/objects';
import type { Assignment, AssignmentsMessage } from './dispatcher-grpc';

const ASSIGNED = taskStateRank('TASK_STATE_ASSIGNED');

/** Whether `task` is one `nodeId` must know about: placed there and at least assigned. */
export function isAssignedTo(task: Task, nodeId: string): boolean {
  return task.nodeId === nodeId && taskStateRank(task.status?.state ?? 'TASK_STATE_NEW') >= ASSIGNED;
}

/** Whether the agent must hear about the change from `sent` to `next` (both assigned to it). */
function agentNeedsUpdate(sent: Task, next: Task): boolean {
  // Specs are shared structurally by the store: an unchanged spec is the same object.
  return (
    sent.desiredState !== next.desiredState ||
    sent.spec !== next.spec ||
    sent.endpoint !== next.endpoint ||
    sent.networks !== next.networks
  );
}

function secretIdsOf(task: Task): string[] {
  return (task.spec?.container?.secrets ?? []).map((s) => s.secretId).filter((id) => id !== '');
}

function configIdsOf(task: Task): string[] {
  return (task.spec?.container?.configs ?? []).map((c) => c.configId).filter((id) => id !== '');
}

/** Budget of one assignments message: about 1 unit per task, more for large secrets and configs. */
export const MESSAGE_BUDGET = 256;
const BYTES_PER_UNIT = 16 * 1024;

function weightOf(change: Assignment): number {
  const data = change.secret?.spec?.data ?? change.config?.spec?.data;
  return 1 + (data ? Math.floor(data.length / BYTES_PER_UNIT) : 0);
}

/**
 * Splits one set of changes into messages that each stay well under gRPC's 4 MiB limit; every
 * message but the last says `more`, so the agent applies a COMPLETE set only once it has all of it.
 */
export function splitAssignments(message: AssignmentsMessage, budget = MESSAGE_BUDGET): AssignmentsMessage[] {
  const changes = message.changes ?? [];
  const parts: AssignmentsMessage[] = [];
  let current: Assignment[] = [];
  let used = 0;
  for (const change of changes) {
    const weight = weightOf(change);
    if (current.length > 0 && used + weight > budget) {
      parts.push({ ...message, changes: current, more: true });
      current = [];
      used = 0;
    }
    current.push(change);
    used += weight;
  }
  parts.push({ ...message, changes: current, more: false });
  return parts;
}

export class NodeAssignments {
  /** Tasks as last sent to the agent. */
  private readonly tasks = new Map<string, Task>();
  /** Secret and config IDs the agent holds, with the number of sent tasks referencing each. */
  private readonly secretRefs = new Map<string, number>();
  private readonly configRefs = new Map<string, number>();
  /** Task changes not yet sent, by task ID (a later change of the same task replaces an earlier one). */
  private readonly pending = new Map<string, Assignment>();
  /** Secrets and configs to add (fetched at flush time) or remove. */
  private readonly secretsToAdd = new Set<string>();
  private readonly configsToAdd = new Set<string>();
  private readonly secretsToRemove = new Set<string>();
  private readonly configsToRemove = new Set<string>();

  constructor(readonly nodeId: string) {}

  get taskCount(): number {
    return this.tasks.size;
  }

  get hasPending(): boolean {
    return (
      this.pending.size > 0 ||
      this.secretsToAdd.size > 0 ||
      this.configsToAdd.size > 0 ||
      this.secretsToRemove.size > 0 ||
      this.configsToRemove.size > 0
    );
  }

  /** Forgets everything and returns the COMPLETE set as of `tx`. */
  complete(tx: ReadTx): AssignmentsMessage {
    this.tasks.clear();
    this.secretRefs.clear();
    this.configRefs.clear();
    this.clearPending();
    const changes: Assignment[] = [];
    for (const task of tx.tasks.findByNode(this.nodeId)) {
      if (!isAssignedTo(task, this.nodeId)) continue;
      this.tasks.set(task.meta!.id, task);
      this.reference(task, +1);
      changes.push({ action: 'ASSIGNMENT_ACTION_UPDATE', task });
    }
    this.secretsToAdd.clear();
    this.configsToAdd.clear();
    for (const id of this.secretRefs.keys()) {
      const secret = tx.secrets.get(id);
      if (secret) changes.push({ action: 'ASSIGNMENT_ACTION_UPDATE', secret });
    }
    for (const id of this.configRefs.keys()) {
      const config = tx.configs.get(id);
      if (config) changes.push({ action: 'ASSIGNMENT_ACTION_UPDATE', config });
    }
    return { type: 'ASSIGNMENTS_TYPE_COMPLETE', changes, appliedIndex: tx.appliedIndex };
  }

  /** A task of (or formerly of) this node changed; `task` is undefined when it was deleted. */
  taskChanged(id: string, task: Task | undefined): void {
    const sent = this.tasks.get(id);
    const assigned = task !== undefined && isAssignedTo(task, this.nodeId);
    if (!assigned) {
      if (sent === undefined) return;
      this.tasks.delete(id);
      this.reference(sent, -1);
      this.pending.set(id, { action: 'ASSIGNMENT_ACTION_REMOVE', task: { meta: { id } } });
      return;
    }
    if (sent !== undefined && !agentNeedsUpdate(sent, task)) {
      this.tasks.set(id, task);
      return;
    }
    if (sent !== undefined) this.reference(sent, -1);
    this.tasks.set(id, task);
    this.reference(task, +1);
    this.pending.set(id, { action: 'ASSIGNMENT_ACTION_UPDATE', task });
  }

  /** A secret's data changed: resend it if the agent holds it. */
  secretChanged(secret: Secret): void {
    if (this.secretRefs.has(secret.meta!.id)) this.secretsToAdd.add(secret.meta!.id);
  }

  configChanged(config: Config): void {
    if (this.configRefs.has(config.meta!.id)) this.configsToAdd.add(config.meta!.id);
  }

  /** The INCREMENTAL message for everything changed since the last call, or undefined if nothing did. */
  takeChanges(tx: ReadTx): AssignmentsMessage | undefined {
    if (!this.hasPending) return undefined;
    const changes: Assignment[] = [];
    // Secrets first, so a task never arrives before what it needs; removals after the tasks.
    for (const id of this.secretsToAdd) {
      const secret = tx.secrets.get(id);
      if (secret) changes.push({ action: 'ASSIGNMENT_ACTION_UPDATE', secret });
    }
    for (const id of this.configsToAdd) {
      const config = tx.configs.get(id);
      if (config) changes.push({ action: 'ASSIGNMENT_ACTION_UPDATE', config });
    }
    for (const change of this.pending.values()) changes.push(change);
    for (const id of this.secretsToRemove)
      changes.push({ action: 'ASSIGNMENT_ACTION_REMOVE', secret: { meta: { id } } });
    for (const id of this.configsToRemove)
      changes.push({ action: 'ASSIGNMENT_ACTION_REMOVE', config: { meta: { id } } });
    this.clearPending();
    return { type: 'ASSIGNMENTS_TYPE_INCREMENTAL', changes, appliedIndex: tx.appliedIndex };
  }

  private clearPending(): void {
    this.pending.clear();
    this.secretsToAdd.clear();
    this.configsToAdd.clear();
    this.secretsToRemove.clear();
    this.configsToRemove.clear();
  }

  private reference(task: Task, delta: 1 | -1): void {
    for (const id of secretIdsOf(task))
      adjust(this.secretRefs, id, delta, this.secretsToAdd, this.secretsToRemove);
    for (const id of configIdsOf(task))
      adjust(this.configRefs, id, delta, this.configsToAdd, this.configsToRemove);
  }
}

/** Counts a reference; the first one schedules the object's sending, the last one its removal. */
function adjust(
  refs: Map<string, number>,
  id: string,
  delta: 1 | -1,
  toAdd: Set<string>,
  toRemove: Set<string>,
): void {
  const count = (refs.get(id) ?? 0) + delta;
  if (count > 0) {
    refs.set(id, count);
    if (delta > 0 && count === 1) {
      if (toRemove.has(id)) toRemove.delete(id);
      else toAdd.add(id);
    }
    return;
  }
  refs.delete(id);
  if (toAdd.has(id)) toAdd.delete(id);
  else toRemove.add(id);
}
