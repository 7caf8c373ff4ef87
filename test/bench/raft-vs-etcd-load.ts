// The load generator the raft-vs-etcd benchmark drives both systems with: puts over keep-alive HTTP
// from N concurrent clients, recording each put's latency.
import { HttpClient } from '../integration/support/http-client';

/** One put against a system: resolves when acknowledged, rejects otherwise. */
export type PutFn = (client: HttpClient, key: string, value: string) => Promise<void>;

export interface LoadResult {
  puts: number;
  errors: number;
  seconds: number;
  putsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Runs `total` puts spread over `clients` concurrent loops; keys are unique per run. */
export async function runLoad(
  put: PutFn,
  options: { clients: number; total: number; label: string; valueBytes?: number },
): Promise<LoadResult> {
  const client = new HttpClient(options.clients * 2);
  const value = 'v'.repeat(options.valueBytes ?? 64);
  const latencies: number[] = [];
  let next = 0;
  let errors = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: options.clients }, async () => {
      for (;;) {
        const i = next++;
        if (i >= options.total) return;
        const t0 = process.hrtime.bigint();
        try {
          await put(client, `${options.label}-${i.toString().padStart(8, '0')}`, value);
          latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
        } catch {
          errors++;
        }
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  client.close();
  latencies.sort((a, b) => a - b);
  return {
    puts: latencies.length,
    errors,
    seconds,
    putsPerSecond: latencies.length / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
  };
}
