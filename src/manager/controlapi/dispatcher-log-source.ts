// The Control API's LogSource over the dispatcher's log broker (src/manager/dispatcher), which
// reaches the agents running the tasks. It turns the broker's per-line messages into the Control
// API's LogMessage (with the task's slot, which the broker does not carry) and asks for timestamps
// always, so the CLI can show them on request and `--since` has something to compare.

import type { Logger } from 'pino';
import type { LogMessage } from '../../api/gen/types/orch/control/LogMessage';
import type { MemoryStore } from '../../store';
import type { LogSource as DispatcherLogSource, LogSelector } from '../dispatcher';
import type { LogSelection, LogSource } from './cluster-ops';

export function dispatcherLogSource(
  source: DispatcherLogSource,
  options: { store: MemoryStore; logger?: Logger },
): LogSource {
  return {
    async *logs(
      selection: LogSelection,
      { signal }: { signal: AbortSignal },
    ): AsyncGenerator<readonly LogMessage[]> {
      const slots = new Map(selection.tasks.map((t) => [t.meta?.id ?? '', t.slot]));
      const slotOf = (taskId: string): number => {
        let slot = slots.get(taskId);
        if (slot === undefined) {
          slot = options.store.view((tx) => tx.tasks.get(taskId)?.slot ?? 0);
          slots.set(taskId, slot);
        }
        return slot;
      };
      // The broker narrows by every list it is given: services alone, or else the tasks themselves.
      const selector: LogSelector =
        selection.taskIds.length === 0
          ? { serviceIds: selection.serviceIds }
          : {
              taskIds:
                selection.serviceIds.length === 0
                  ? selection.taskIds
                  : selection.tasks.map((t) => t.meta!.id),
            };
      const lines = source.logs(selector, {
        follow: selection.follow,
        ...(selection.tail >= 0 ? { tail: selection.tail } : {}),
        sinceMs: selection.sinceMs,
        timestamps: true,
        signal,
        onNodeError: (nodeId, message) =>
          options.logger?.warn({ nodeId, reason: message }, "logs: a node could not deliver its tasks' logs"),
      });
      for await (const m of lines) {
        yield [
          {
            serviceId: m.serviceId,
            taskId: m.taskId,
            nodeId: m.nodeId,
            slot: slotOf(m.taskId),
            timestampMs: m.timeMs,
            stream: m.stream === 'stderr' ? 'LOG_STREAM_STDERR' : 'LOG_STREAM_STDOUT',
            data: Buffer.from(m.line, 'utf8'),
          },
        ];
      }
    },
  };
}
