// Command-line flags of the example key-value server.
import { parseArgs } from 'node:util';

export interface KvFlags {
  id: string;
  /** Raft transport addresses of the initial members, this one included (id → host:port). */
  peers: Record<string, string>;
  /** host:port of this member's Raft transport (default: its entry in --peers). */
  raft: string;
  http: string;
  dataDir: string;
  /** HTTP host:port of any member of the cluster to join (start empty, become a learner, then a voter). */
  join: string | undefined;
  tickMs: number;
  electionTicks: number;
  snapshotEvery: number;
  compactionTailEntries: number;
  logLevel: string;
}

export class FlagError extends Error {
  override readonly name = 'FlagError';
}

export const USAGE = `usage: node dist/raft/examples/kv/main.js --id ID --http HOST:PORT --data-dir DIR
       (--peers ID=HOST:PORT,... | --join HTTP_HOST:PORT --raft HOST:PORT)
       [--tick-ms 50] [--election-ticks 10] [--snapshot-every 10000] [--compaction-tail 5000] [--log-level info]`;

function parsePeers(text: string): Record<string, string> {
  const peers: Record<string, string> = {};
  for (const part of text.split(',').filter((p) => p.length > 0)) {
    const eq = part.indexOf('=');
    if (eq <= 0 || !part.slice(eq + 1).includes(':'))
      throw new FlagError(`--peers: "${part}" is not ID=HOST:PORT`);
    peers[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return peers;
}

function positiveInt(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new FlagError(`--${name}: "${text}" is not a positive integer`);
  return n;
}

export function parseFlags(argv: string[]): KvFlags {
  const { values } = parseArgs({
    args: argv,
    options: {
      id: { type: 'string' },
      peers: { type: 'string' },
      raft: { type: 'string' },
      http: { type: 'string' },
      'data-dir': { type: 'string' },
      join: { type: 'string' },
      'tick-ms': { type: 'string' },
      'election-ticks': { type: 'string' },
      'snapshot-every': { type: 'string' },
      'compaction-tail': { type: 'string' },
      'log-level': { type: 'string' },
    },
    strict: true,
  });
  if (!values.id) throw new FlagError('--id is required');
  if (!values.http) throw new FlagError('--http is required');
  if (!values['data-dir']) throw new FlagError('--data-dir is required');
  const peers = values.peers ? parsePeers(values.peers) : {};
  const raft = values.raft ?? peers[values.id];
  if (!raft) throw new FlagError('--raft is required when --peers does not list this --id');
  if (!values.join && Object.keys(peers).length === 0)
    throw new FlagError('either --peers or --join is required');
  return {
    id: values.id,
    peers,
    raft,
    http: values.http,
    dataDir: values['data-dir'],
    join: values.join,
    tickMs: positiveInt('tick-ms', values['tick-ms'], 50),
    electionTicks: positiveInt('election-ticks', values['election-ticks'], 10),
    snapshotEvery: positiveInt('snapshot-every', values['snapshot-every'], 10_000),
    compactionTailEntries: positiveInt('compaction-tail', values['compaction-tail'], 5_000),
    logLevel: values['log-level'] ?? 'info',
  };
}
