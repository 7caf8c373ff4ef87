// Benchmark of issue #6: service convergence, orch (1 manager + 1 worker, Docker executor) against
// Docker Engine's own swarm mode (one node), one run, same machine, same engine, same local image.
// For each case — create N=1, 10, 50; scale 10 → 50; recovery after `docker rm -f` of one of 10
// task containers with the default restart delay and with 0 s — the time from the request to all
// containers running per the engine. A third column, the engine alone, creates and starts the same
// containers straight through the Engine API, all at once: what the engine itself takes for them.
// Every case runs on each system in turn (which system goes first rotates from case to case and
// round to round) and repeats; the table shows the medians and the orch/swarm ratio.
//
// Run: test/bench/convergence.sh [--repeat 3] [--cases create-1,...] [--systems swarm,orch,engine]
//                                [--log-level info] [--timeout 180] [--keep-logs DIR]
// (the script builds dist/ when stale, makes sure the engine and the image exist, and cleans up;
// see docs/benchmarks.md).
import { randomUUID } from 'node:crypto';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CASES, type ConvergenceCase } from './convergence-cases';
import { BenchState, cleanUp } from './convergence-cleanup';
import { DirectTarget } from './convergence-direct';
import { Engine } from './convergence-engine';
import { OrchTarget } from './convergence-orch';
import { SwarmTarget } from './convergence-swarm';
import type { ConvergenceTarget } from './convergence-target';

const IMAGE = 'orch/busybox:latest';
const SYSTEMS = ['swarm', 'orch', 'engine'] as const;
type SystemName = (typeof SYSTEMS)[number];

interface Options {
  repeat: number;
  cases: ConvergenceCase[];
  systems: SystemName[];
  logLevel: string;
  timeoutMs: number;
  stateFile: string;
  /** Copy the orch daemons' logs here before cleanup (for profiling with --log-level debug). */
  keepLogs?: string;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      repeat: { type: 'string', default: '3' },
      cases: { type: 'string', default: CASES.map((c) => c.id).join(',') },
      systems: { type: 'string', default: SYSTEMS.join(',') },
      'log-level': { type: 'string', default: 'info' },
      timeout: { type: 'string', default: '180' },
      state: { type: 'string', default: join(tmpdir(), `orch-bench-convergence-${process.pid}.json`) },
      'keep-logs': { type: 'string' },
    },
  });
  const repeat = Number(values.repeat);
  if (!Number.isInteger(repeat) || repeat < 1)
    throw new Error(`--repeat ${values.repeat}: expected a whole number ≥ 1`);
  const cases = values.cases.split(',').map((id) => {
    const found = CASES.find((c) => c.id === id.trim());
    if (!found) throw new Error(`--cases: unknown case ${id}; known: ${CASES.map((c) => c.id).join(', ')}`);
    return found;
  });
  const systems = values.systems.split(',').map((s) => {
    if (!(SYSTEMS as readonly string[]).includes(s.trim())) throw new Error(`--systems: unknown system ${s}`);
    return s.trim() as SystemName;
  });
  const timeoutSeconds = Number(values.timeout);
  if (!(timeoutSeconds > 0)) throw new Error(`--timeout ${values.timeout}: expected seconds > 0`);
  return {
    repeat,
    cases,
    systems,
    logLevel: values['log-level'],
    timeoutMs: timeoutSeconds * 1000,
    stateFile: values.state,
    keepLogs: values['keep-logs'],
  };
}

const say = (line: string) => console.error(`convergence: ${line}`);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const seconds = (ms: number) => (ms / 1000).toFixed(2);

function printTable(options: Options, results: Map<string, Map<SystemName, number[]>>): void {
  const m = (v: number[]) => (v.length ? median(v) : Number.NaN);
  const cell = (v: number[]) => (v.length ? seconds(m(v)) : '');
  const rows = options.cases.map((c) => {
    const bySystem = results.get(c.id)!;
    const [swarm, orch, engine] = SYSTEMS.map((system) => bySystem.get(system) ?? []);
    const ratio = swarm!.length && orch!.length ? (m(orch!) / m(swarm!)).toFixed(2) : '';
    const runs = SYSTEMS.filter((system) => bySystem.get(system)?.length)
      .map((system) => `${system} ${bySystem.get(system)!.map(seconds).join(' ')}`)
      .join('; ');
    return [c.title, cell(swarm!), cell(orch!), ratio, cell(engine!), runs];
  });
  const header = ['case', 'swarm s', 'orch s', 'orch/swarm', 'engine alone s', 'runs (s)'];
  const left = (i: number) => i === 0 || i === header.length - 1;
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    `| ${cells.map((text, i) => (left(i) ? text.padEnd(widths[i]!) : text.padStart(widths[i]!))).join(' | ')} |`;
  console.log(line(header));
  console.log(`| ${widths.map((w, i) => (left(i) ? '-'.repeat(w) : `${'-'.repeat(w - 1)}:`)).join(' | ')} |`);
  for (const row of rows) console.log(line(row));
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const state = new BenchState(options.stateFile);
  const abort = new AbortController();
  let interrupted = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    interrupted++;
    if (interrupted > 1) process.exit(130); // convergence.sh's trap still cleans up from the state file
    say(`${sig}: stopping and cleaning up (again to exit at once)`);
    abort.abort(new Error(`interrupted by ${sig}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const engine = new Engine();
  const targets = new Map<SystemName, ConvergenceTarget>();
  const results = new Map(options.cases.map((c) => [c.id, new Map<SystemName, number[]>()]));
  const load = [loadavg()[0]!];
  let orch: OrchTarget | undefined;
  try {
    if (options.systems.includes('swarm')) {
      const swarm = await SwarmTarget.start(state, IMAGE);
      say(
        `swarm: initialized on 127.0.0.1 (engine ${await swarm.version()}, image ${swarm.imageId.slice(7, 19)})`,
      );
      targets.set('swarm', swarm);
    }
    if (options.systems.includes('engine')) {
      const runId = randomUUID();
      state.update((data) => {
        data.directRunId = runId;
      });
      targets.set('engine', new DirectTarget(IMAGE, runId));
    }
    if (options.systems.includes('orch')) {
      orch = await OrchTarget.start(state, { image: IMAGE, logLevel: options.logLevel });
      say(`orch: 1 manager + 1 worker ready (${orch.dataDirs.join(', ')})`);
      targets.set('orch', orch);
    }
    for (let round = 0; round < options.repeat; round++) {
      for (const [index, benchCase] of options.cases.entries()) {
        const first = (round + index) % options.systems.length;
        const order = [...options.systems.slice(first), ...options.systems.slice(0, first)];
        for (const system of order) {
          const target = targets.get(system)!;
          if (benchCase.needsRestarts && target.restarts === false) continue;
          const wallClock = new Date().toISOString().slice(11, 23);
          const elapsedMs = await benchCase.measure(target, {
            engine,
            serviceName: `bench-${benchCase.id}-${round + 1}`,
            timeoutMs: options.timeoutMs,
            signal: abort.signal,
            say,
          });
          const samples = results.get(benchCase.id)!;
          samples.set(system, [...(samples.get(system) ?? []), elapsedMs]);
          say(
            `round ${round + 1}/${options.repeat} ${benchCase.title}: ${system} ${seconds(elapsedMs)} s (from ${wallClock})`,
          );
        }
      }
    }
    load.push(loadavg()[0]!);
    console.log();
    printTable(options, results);
    console.log();
    console.log(
      `median of ${options.repeat} run(s) per cell; load average ${load.map((l) => l.toFixed(1)).join(' → ')}`,
    );
  } finally {
    orch?.close();
    if (orch && options.keepLogs) {
      orch.copyLogs(options.keepLogs);
      say(`orch: daemon logs copied to ${options.keepLogs}`);
    }
    say('cleaning up');
    await cleanUp(state, say);
    state.remove();
  }
}

main().catch((err) => {
  // An interrupted wait rejects with a generic AbortError whose cause is the reason given to abort().
  const cause = (err as Error).name === 'AbortError' ? (err as Error).cause : undefined;
  say(((cause ?? err) as Error).message);
  process.exitCode = 1;
});
