// The replicated key-value example (raft/examples/kv) as real processes on loopback: leader crashes
// under load, restart from the data directory with catch-up by snapshot, and a minority partition.
// Needs `npm run build` (it runs dist/raft/examples/kv/main.js).
import { existsSync } from 'node:fs';
import { KV_MAIN, KvCluster } from './support/kv-cluster';
import { ProcessGroup } from './support/processes';
import { TempDirs } from './support/temp-dirs';
import { waitUntil } from './support/wait';

jest.setTimeout(60_000);

interface WriteLog {
  acked: Map<string, string>;
  attempted: Map<string, string>;
}

/** `clients` loops writing unique keys to random running members until stop() is called. */
function startWriters(cluster: KvCluster, clients: number, prefix: string, log: WriteLog) {
  let stopped = false;
  const loops = Array.from({ length: clients }, async (_, client) => {
    for (let seq = 0; !stopped; seq++) {
      const key = `${prefix}-${client}-${seq}`;
      const value = `value-of-${key}`;
      log.attempted.set(key, value);
      const targets = cluster.runningIds;
      const target = targets[(client + seq) % targets.length]!;
      try {
        const res = await cluster.put(target, key, value, 6000);
        if (res.status === 204) log.acked.set(key, value);
        else await new Promise((r) => setTimeout(r, 20));
      } catch {
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  });
  return {
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
    },
  };
}

/** Every acknowledged write is readable with its value on `id`; unacknowledged ones are absent or exact. */
async function expectReadable(cluster: KvCluster, id: string, log: WriteLog): Promise<void> {
  const keys = [...log.attempted.keys()];
  const results: { key: string; status: number; body: string }[] = [];
  for (let i = 0; i < keys.length; i += 32) {
    const slice = keys.slice(i, i + 32);
    results.push(
      ...(await Promise.all(
        slice.map(async (key) => {
          const res = await cluster.get(id, key);
          return { key, status: res.status, body: res.body };
        }),
      )),
    );
  }
  for (const { key, status, body } of results) {
    if (log.acked.has(key)) {
      expect({ key, status, body }).toEqual({ key, status: 200, body: log.acked.get(key) });
    } else {
      // Not acknowledged (the leader died first): it may or may not have been committed, but a value
      // that is there must be the one written.
      expect([200, 404]).toContain(status);
      if (status === 200) expect(body).toBe(log.attempted.get(key));
    }
  }
  for (const never of ['never-written', `${[...log.attempted.keys()][0]}-x`]) {
    expect((await cluster.get(id, never)).status).toBe(404);
  }
}

/** Writes until acknowledged: a 503 (no leader known yet, or still electing) is retried. */
async function putAcked(cluster: KvCluster, id: string, key: string, log: WriteLog): Promise<void> {
  const value = `value-of-${key}`;
  log.attempted.set(key, value);
  const res = await waitUntil(
    async () => {
      const r = await cluster.put(id, key, value, 3000);
      return r.status === 204 ? r : undefined;
    },
    { what: `write ${key} through ${id}`, timeoutMs: 10_000 },
  );
  expect(res.status).toBe(204);
  log.acked.set(key, value);
}

async function waitCaughtUp(cluster: KvCluster, ids: string[], leader: string): Promise<void> {
  const target = (await cluster.status(leader)).commitIndex;
  await waitUntil(
    async () => {
      const statuses = await Promise.all(ids.map((id) => cluster.status(id)));
      return statuses.every((s) => s.appliedIndex >= target);
    },
    { what: `${ids.join(', ')} to apply up to ${target}`, timeoutMs: 20_000 },
  );
}

describe('raft kv example on real processes', () => {
  const processes = new ProcessGroup();
  const dirs = new TempDirs();
  let cluster: KvCluster | undefined;

  beforeAll(() => {
    if (!existsSync(KV_MAIN)) throw new Error(`${KV_MAIN} is missing: run \`npm run build\` first`);
  });

  afterEach(async () => {
    cluster?.close();
    cluster = undefined;
    await processes.killAll();
    dirs.removeAll();
  });

  it('keeps every acknowledged write through a kill -9 of the leader, and the restarted member catches up by snapshot', async () => {
    cluster = await KvCluster.start({
      size: 3,
      processes,
      dirs,
      snapshotEvery: 100,
      compactionTail: 20,
      logLevel: 'info',
    });
    const firstLeader = await cluster.waitForLeader();
    const log: WriteLog = { acked: new Map(), attempted: new Map() };

    const writers = startWriters(cluster, 8, 'burst', log);
    await waitUntil(() => log.acked.size >= 100, { what: '100 acknowledged writes', timeoutMs: 20_000 });
    await cluster.kill(firstLeader);
    const ackedAtKill = log.acked.size;
    const survivors = cluster.ids.filter((id) => id !== firstLeader);
    const newLeader = await cluster.waitForLeader(survivors);
    expect(newLeader).not.toBe(firstLeader);
    await waitUntil(() => log.acked.size >= ackedAtKill + 200, {
      what: '200 more acknowledged writes after the failover',
      timeoutMs: 25_000,
    });
    await writers.stop();

    for (const id of survivors) await expectReadable(cluster, id, log);

    // The killed member is now far behind a log compacted every 100 entries: it restarts from its
    // data directory and is caught up with a snapshot.
    await cluster.startMember(firstLeader);
    await waitCaughtUp(cluster, cluster.ids, newLeader);
    await expectReadable(cluster, firstLeader, log);
    expect(cluster.member(firstLeader).process!.log).toContain('installed snapshot from leader');
  });

  it('lets a new member join through any member: it becomes a learner, gets a snapshot, then votes', async () => {
    cluster = await KvCluster.start({
      size: 3,
      processes,
      dirs,
      snapshotEvery: 100,
      compactionTail: 20,
      logLevel: 'info',
    });
    const leader = await cluster.waitForLeader();
    const follower = cluster.ids.find((id) => id !== leader)!;
    const log: WriteLog = { acked: new Map(), attempted: new Map() };
    const writers = startWriters(cluster, 8, 'pre-join', log);
    await waitUntil(() => log.acked.size >= 150, { what: '150 acknowledged writes', timeoutMs: 20_000 });
    await writers.stop();

    await cluster.join('m4', follower);
    await waitUntil(
      async () => {
        const status = await cluster!.status('m4');
        return status.voters.includes('m4') && status.voters.length === 4;
      },
      { what: 'm4 to be promoted to voter', timeoutMs: 20_000 },
    );
    await waitCaughtUp(cluster, cluster.ids, leader);
    expect(cluster.member('m4').process!.log).toContain('installed snapshot from leader');
    await expectReadable(cluster, 'm4', log);
    await putAcked(cluster, 'm4', 'written-through-m4', log);
    for (const id of cluster.ids)
      expect((await cluster.get(id, 'written-through-m4')).body).toBe('value-of-written-through-m4');
  });

  it('keeps accepting writes in a five-member cluster while two members, the leader among them, are stopped', async () => {
    cluster = await KvCluster.start({ size: 5, processes, dirs, logLevel: 'warn' });
    const leader = await cluster.waitForLeader();
    const follower = cluster.ids.find((id) => id !== leader)!;
    const log: WriteLog = { acked: new Map(), attempted: new Map() };
    for (let i = 0; i < 20; i++) await putAcked(cluster, follower, `before-${i}`, log);

    const stopped = [leader, follower];
    for (const id of stopped) cluster.pause(id);
    const majority = cluster.ids.filter((id) => !stopped.includes(id));
    const newLeader = await cluster.waitForLeader(majority);
    for (let i = 0; i < 50; i++) await putAcked(cluster, majority[i % majority.length]!, `during-${i}`, log);
    for (const id of majority) await expectReadable(cluster, id, log);

    for (const id of stopped) cluster.resume(id);
    await waitCaughtUp(cluster, cluster.ids, newLeader);
    expect(await cluster.waitForLeader(cluster.ids)).toBe(newLeader);
    for (const id of stopped) await expectReadable(cluster, id, log);
  });
});
