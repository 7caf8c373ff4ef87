// `npm run sim -- --seeds N --from S [--nodes K] [--steps M] [--bug NAME] [--trace]`
//
// Runs seeds S … S+N-1 of the deterministic Raft simulation, prints one line per failing seed
// with the exact command that replays it and what was violated, and ends with
// `seeds: N, violations: V`. Exit status 0 only when V = 0 and no --bug was switched on.
// `--bug list` prints the bug names. `--trace` prints the event trace of each seed (use with one seed).

import { Command, InvalidArgumentError, Option } from 'commander';
import { isRaftBug, RAFT_BUGS } from './bugs';
import { runSeedsParallel, type SeedSummary } from './runner';
import { runSimulation } from './simulation';

function integer(min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer >= ${min}`);
    return n;
  };
}

interface CliOptions {
  seeds: number;
  from: number;
  nodes?: number;
  steps?: number;
  bug?: string;
  threads?: number;
  trace?: boolean;
}

function replayCommand(seed: number, o: CliOptions): string {
  const parts = ['npm run sim --', '--seeds 1', `--from ${seed}`];
  if (o.nodes !== undefined) parts.push(`--nodes ${o.nodes}`);
  if (o.steps !== undefined) parts.push(`--steps ${o.steps}`);
  if (o.bug !== undefined) parts.push(`--bug ${o.bug}`);
  return parts.join(' ');
}

function failureLine(r: SeedSummary, o: CliOptions): string {
  const what = r.violations.map((v) => `${v.kind} at ${v.atMs}ms: ${v.message}`).join(' | ');
  return `seed ${r.seed} (${r.scenario.profile}, ${r.scenario.initialVoters} nodes) FAILED: ${what}\n  replay: ${replayCommand(r.seed, o)}`;
}

async function main(argv: string[]): Promise<number> {
  const program = new Command('sim')
    .description(
      'Deterministic simulation of the Raft core under faults, with safety and linearizability checks',
    )
    .option('--seeds <n>', 'how many seeds to run', integer(1), 1)
    .option('--from <s>', 'first seed', integer(0), 1)
    .option('--nodes <k>', 'initial voters (default: 3 or 5, chosen by the seed)', integer(1))
    .option('--steps <m>', 'Raft ticks of virtual time under faults (10 ms each)', integer(1))
    .option('--bug <name>', "switch on a deliberate Raft bug ('list' prints them)")
    .addOption(new Option('--threads <t>', 'worker threads (default: every core)').argParser(integer(1)))
    .option('--trace', 'print the event trace of each seed')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  program.parse(argv, { from: 'user' });
  const o = program.opts<CliOptions>();

  if (o.bug === 'list') {
    for (const bug of RAFT_BUGS) console.log(bug);
    return 0;
  }
  if (o.bug !== undefined && !isRaftBug(o.bug)) {
    console.error(`unknown bug '${o.bug}' (known: ${RAFT_BUGS.join(', ')})`);
    return 2;
  }
  const bug = o.bug;

  let failing = 0;
  const report = (r: SeedSummary) => {
    if (r.violations.length === 0) return;
    failing++;
    console.log(failureLine(r, o));
  };

  if (o.trace) {
    for (let seed = o.from; seed < o.from + o.seeds; seed++) {
      const result = runSimulation({
        seed,
        nodes: o.nodes,
        steps: o.steps,
        bug,
        trace: true,
        stopOnViolation: true,
      });
      for (const line of result.trace ?? []) console.log(line);
      console.log(`digest ${result.digest} ${JSON.stringify(result.stats)}`);
      report(result);
    }
  } else {
    await runSeedsParallel(
      { from: o.from, count: o.seeds, nodes: o.nodes, steps: o.steps, bug },
      { threads: o.threads, onResult: report },
    );
  }
  console.log(`seeds: ${o.seeds}, violations: ${failing}`);
  return failing === 0 && bug === undefined ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (
      err instanceof Error &&
      'code' in err &&
      String((err as { code: unknown }).code).startsWith('commander.')
    ) {
      process.exitCode = (err as { exitCode?: number }).exitCode ?? 2;
      return;
    }
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exitCode = 2;
  },
);
