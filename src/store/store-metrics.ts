// Prometheus metrics of the replicated store, attached to a registry the node daemon serves on
// `/metrics`. Values are read from the store's plain counters (MemoryStore.stats) when the
// registry is scraped, so applying entries never touches prom-client.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { MemoryStore } from './memory-store';

export function registerStoreMetrics(registry: Registry, store: MemoryStore, prefix = 'orch_store_'): void {
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({
      name: prefix + name,
      help,
      registers: [registry],
      collect() {
        this.set(read());
      },
    });
  const counter = (name: string, help: string, read: () => number) =>
    new Counter({
      name: prefix + name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(read());
      },
    });

  gauge('applied_index', 'Raft index of the last entry applied to the store', () => store.appliedIndex);
  gauge('subscribers', 'Watchers and listeners subscribed to store changes', () => store.stats().subscribers);
  new Gauge({
    name: `${prefix}objects`,
    help: 'Objects in each table of the store',
    labelNames: ['table'],
    registers: [registry],
    collect() {
      for (const [table, count] of Object.entries(store.stats().objects)) this.set({ table }, count);
    },
  });
  counter(
    'transactions_applied_total',
    'Committed store transactions applied',
    () => store.stats().transactionsApplied,
  );
  new Counter({
    name: `${prefix}transactions_refused_total`,
    help: 'Committed store transactions refused at apply time, by error',
    labelNames: ['error'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [error, count] of Object.entries(store.stats().transactionsRefused))
        this.inc({ error }, count);
    },
  });
  counter(
    'entries_skipped_total',
    'Committed entries that were not store transactions',
    () => store.stats().entriesSkipped,
  );
  counter(
    'updates_failed_total',
    'Updates through this manager whose changes did not apply',
    () => store.stats().updatesFailed,
  );
  counter(
    'watchers_overflowed_total',
    'Watchers closed because they fell too far behind',
    () => store.stats().watchersOverflowed,
  );
}
