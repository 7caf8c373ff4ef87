// Shared fixtures for the store tests: a store on a LocalProposer and small object builders.
import {
  LocalProposer,
  MemoryStore,
  type Proposer,
  type ServiceInput,
  type TaskInput,
} from '../../../src/store';

export function localStore(options: { clock?: () => number } = {}): {
  store: MemoryStore;
  proposer: LocalProposer;
} {
  const proposer = new LocalProposer();
  const store = new MemoryStore({ proposer, clock: options.clock ?? (() => 1_700_000_000_000) });
  proposer.attach(store);
  return { store, proposer };
}

/** A proposer that holds entries until the test commits them, to model Raft's delay and races. */
export class QueuedProposer implements Proposer {
  readonly entries: Uint8Array[] = [];
  private readonly waiting: Array<(index: number) => void> = [];
  private nextIndex = 1;

  /** The index the next committed entry gets (when other entries were committed before). */
  startAt(index: number): void {
    this.nextIndex = index;
  }

  propose(data: Uint8Array): Promise<{ index: number }> {
    this.entries.push(data);
    return new Promise((resolve) => this.waiting.push((index) => resolve({ index })));
  }

  /** Commits every queued entry in order: applies it to each store, then resolves its proposal. */
  commitAll(stores: Array<{ applyCommitted(data: Uint8Array, index: number): void }>): number[] {
    const indexes: number[] = [];
    while (this.entries.length > 0) {
      const data = this.entries.shift()!;
      const resolve = this.waiting.shift()!;
      const index = this.nextIndex++;
      for (const store of stores) store.applyCommitted(data, index);
      resolve(index);
      indexes.push(index);
    }
    return indexes;
  }
}

export function service(name: string, extra: Partial<ServiceInput> = {}): ServiceInput {
  return {
    spec: {
      name,
      labels: { 'com.example.tier': 'front' },
      container: { image: 'orch/busybox:latest', command: ['httpd', '-f', '-p', '80'], env: ['MODE=prod'] },
      resources: { reservations: { nanoCpus: 100_000_000, memoryBytes: 64 * 1024 * 1024 } },
      placement: { constraints: ['node.role==worker'] },
      restartPolicy: { condition: 'RESTART_CONDITION_ANY', delayMs: 5000 },
      endpoint: { ports: [{ targetPort: 80, publishedPort: 8080 }] },
      replicated: { replicas: 1 },
    },
    ...extra,
  };
}

export function task(serviceId: string, slot: number, extra: Partial<TaskInput> = {}): TaskInput {
  return {
    serviceId,
    slot,
    desiredState: 'TASK_STATE_RUNNING',
    status: { state: 'TASK_STATE_NEW' },
    ...extra,
  };
}

/** Lets pending promise callbacks run. */
export function flushPromises(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
