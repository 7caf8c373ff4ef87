// Runs many seeds, on every core: the seed range is split into interleaved shares, one per
// worker thread (this same file, run as a worker). Results are reported in seed order, so the
// output of a run does not depend on which worker finished first.

import { availableParallelism } from 'node:os';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { runSimulation, type SimulationOptions, type SimulationResult } from './simulation';

export interface SeedRange {
  from: number;
  count: number;
  nodes?: number;
  steps?: number;
  bug?: SimulationOptions['bug'];
  /** Stop after the first seed that violates something (results for later seeds are omitted). */
  stopOnFirstViolation?: boolean;
}

/** Results with the trace left out (it never crosses threads). */
export type SeedSummary = Omit<SimulationResult, 'trace'>;

function optionsFor(range: SeedRange, seed: number): SimulationOptions {
  return { seed, nodes: range.nodes, steps: range.steps, bug: range.bug, stopOnViolation: true };
}

/** Runs the seeds in this thread, in order. */
export function runSeeds(range: SeedRange, onResult?: (r: SeedSummary) => void): SeedSummary[] {
  const results: SeedSummary[] = [];
  for (let seed = range.from; seed < range.from + range.count; seed++) {
    const { trace: _trace, ...summary } = runSimulation(optionsFor(range, seed));
    results.push(summary);
    onResult?.(summary);
    if (range.stopOnFirstViolation && summary.violations.length > 0) break;
  }
  return results;
}

interface WorkerJob {
  range: SeedRange;
  share: number;
  shares: number;
}

/**
 * Runs the seeds on up to `threads` worker threads (default: the machine's parallelism) and calls
 * onResult in seed order. Falls back to this thread for a single thread or a single seed.
 */
export async function runSeedsParallel(
  range: SeedRange,
  options: { threads?: number; onResult?: (r: SeedSummary) => void } = {},
): Promise<SeedSummary[]> {
  const threads = Math.max(1, Math.min(options.threads ?? availableParallelism(), range.count));
  if (threads === 1 || range.stopOnFirstViolation) return runSeeds(range, options.onResult);
  const pending = new Map<number, SeedSummary>();
  const results: SeedSummary[] = [];
  let nextSeed = range.from;
  const flush = () => {
    for (let r = pending.get(nextSeed); r !== undefined; r = pending.get(nextSeed)) {
      pending.delete(nextSeed);
      results.push(r);
      options.onResult?.(r);
      nextSeed++;
    }
  };
  const workers: Promise<void>[] = [];
  for (let share = 0; share < threads; share++) {
    const job: WorkerJob = { range, share, shares: threads };
    workers.push(
      new Promise<void>((resolve, reject) => {
        const worker = new Worker(__filename, { workerData: job });
        worker.on('message', (r: SeedSummary) => {
          pending.set(r.seed, r);
          flush();
        });
        worker.once('error', reject);
        worker.once('exit', (code) =>
          code === 0 ? resolve() : reject(new Error(`simulation worker ${share} exited with code ${code}`)),
        );
      }),
    );
  }
  await Promise.all(workers);
  flush();
  return results;
}

if (!isMainThread && parentPort !== null && (workerData as WorkerJob | undefined)?.range !== undefined) {
  const { range, share, shares } = workerData as WorkerJob;
  for (let seed = range.from + share; seed < range.from + range.count; seed += shares) {
    const { trace: _trace, ...summary } = runSimulation(optionsFor(range, seed));
    parentPort.postMessage(summary);
  }
}
