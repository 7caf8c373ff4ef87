// A cluster of raft/examples/kv processes on loopback (dist/raft/examples/kv/main.js, so build first):
// ports, data directories, start/kill/restart/stop of members, and a client for their HTTP API.
import { join } from 'node:path';
import { HttpClient, type HttpResponse } from './http-client';
import { freePorts } from './ports';
import type { ProcessGroup, TrackedProcess } from './processes';
import type { TempDirs } from './temp-dirs';
import { waitUntil } from './wait';

export const KV_MAIN = join(__dirname, '../../../dist/raft/examples/kv/main.js');

export interface KvClusterOptions {
  size: number;
  processes: ProcessGroup;
  dirs: TempDirs;
  tickMs?: number;
  electionTicks?: number;
  snapshotEvery?: number;
  compactionTail?: number;
  logLevel?: string;
}

export interface KvMember {
  id: string;
  raft: string;
  http: string;
  dataDir: string;
  process: TrackedProcess | undefined;
}

export interface KvStatus {
  id: string;
  term: number;
  leader: string;
  commitIndex: number;
  appliedIndex: number;
  role: string;
  voters: string[];
  learners: string[];
}

export class KvCluster {
  readonly client = new HttpClient();
  private readonly byId = new Map<string, KvMember>();

  private constructor(private readonly options: KvClusterOptions) {}

  /** Allocates ports and data directories and starts `size` members (ids m1..mN). */
  static async start(options: KvClusterOptions): Promise<KvCluster> {
    const cluster = new KvCluster(options);
    const ports = await freePorts(options.size * 2);
    for (let i = 0; i < options.size; i++) {
      const id = `m${i + 1}`;
      cluster.byId.set(id, {
        id,
        raft: `127.0.0.1:${ports[2 * i]}`,
        http: `127.0.0.1:${ports[2 * i + 1]}`,
        dataDir: options.dirs.make(`kv-${id}`),
        process: undefined,
      });
    }
    await Promise.all(cluster.ids.map((id) => cluster.startMember(id)));
    return cluster;
  }

  get ids(): string[] {
    return [...this.byId.keys()];
  }

  member(id: string): KvMember {
    const m = this.byId.get(id);
    if (!m) throw new Error(`no member ${id}`);
    return m;
  }

  /** Members whose process runs (stopped ones included). */
  get runningIds(): string[] {
    return this.ids.filter((id) => this.byId.get(id)!.process?.running);
  }

  peersFlag(): string {
    return this.ids
      .filter((id) => !this.byId.get(id)!.dataDir.includes('joiner'))
      .map((id) => `${id}=${this.byId.get(id)!.raft}`)
      .join(',');
  }

  /** (Re)starts a member's process from its data directory and waits until it prints "ready". */
  async startMember(id: string, extraArgs: string[] = []): Promise<void> {
    const m = this.member(id);
    const o = this.options;
    const args = [
      KV_MAIN,
      '--id',
      id,
      '--http',
      m.http,
      '--raft',
      m.raft,
      '--data-dir',
      m.dataDir,
      '--tick-ms',
      String(o.tickMs ?? 50),
      '--election-ticks',
      String(o.electionTicks ?? 10),
      '--snapshot-every',
      String(o.snapshotEvery ?? 10_000),
      '--compaction-tail',
      String(o.compactionTail ?? 5_000),
      '--log-level',
      o.logLevel ?? 'info',
      ...(extraArgs.includes('--join') ? [] : ['--peers', this.peersFlag()]),
      ...extraArgs,
    ];
    m.process = o.processes.spawn(process.execPath, args, { name: `kv-${id}` });
    await m.process.waitForLine((line) => line.includes('"event":"ready"'));
  }

  /** Adds a member that joins the running cluster through `via`'s HTTP API. */
  async join(id: string, via: string): Promise<void> {
    const [raftPort, httpPort] = await freePorts(2);
    this.byId.set(id, {
      id,
      raft: `127.0.0.1:${raftPort}`,
      http: `127.0.0.1:${httpPort}`,
      dataDir: this.options.dirs.make(`kv-joiner-${id}`),
      process: undefined,
    });
    await this.startMember(id, ['--join', this.member(via).http]);
  }

  async kill(id: string): Promise<void> {
    await this.member(id).process?.kill();
  }

  pause(id: string): void {
    this.member(id).process?.signal('SIGSTOP');
  }

  resume(id: string): void {
    this.member(id).process?.signal('SIGCONT');
  }

  status(id: string, timeoutMs = 2000): Promise<KvStatus> {
    return this.client
      .request(this.member(id).http, 'GET', '/status', { timeoutMs })
      .then((r) => JSON.parse(r.body) as KvStatus);
  }

  put(id: string, key: string, value: string, timeoutMs = 10_000): Promise<HttpResponse> {
    return this.client.request(this.member(id).http, 'PUT', `/kv/${encodeURIComponent(key)}`, {
      body: value,
      timeoutMs,
    });
  }

  get(id: string, key: string, timeoutMs = 10_000): Promise<HttpResponse> {
    return this.client.request(this.member(id).http, 'GET', `/kv/${encodeURIComponent(key)}`, { timeoutMs });
  }

  /** Waits until every member in `among` reports the same leader (one of `among`), and returns it. */
  waitForLeader(among: string[] = this.runningIds, timeoutMs = 15_000): Promise<string> {
    return waitUntil(
      async () => {
        const statuses = await Promise.all(among.map((id) => this.status(id)));
        const leader = statuses[0]!.leader;
        if (!leader || !among.includes(leader)) return undefined;
        if (!statuses.every((s) => s.leader === leader)) return undefined;
        const leaderStatus = statuses.find((s) => s.id === leader)!;
        return leaderStatus.role === 'leader' ? leader : undefined;
      },
      { what: `a leader agreed on by ${among.join(', ')}`, timeoutMs },
    );
  }

  close(): void {
    this.client.close();
  }
}
