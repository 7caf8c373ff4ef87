import {
  AlreadyExistsError,
  InvalidObjectError,
  LocalProposer,
  MemoryStore,
  NameConflictError,
  NotFoundError,
  type TableName,
  TransactionTooLargeError,
  VersionConflictError,
} from '../../../src/store';
import { localStore, service, task } from './helpers';

const NOW = 1_700_000_000_000;

/** A minimal valid object for each table, named where the table has unique names. */
const samples: Record<TableName, (name: string) => Record<string, unknown>> = {
  clusters: (name) => ({ spec: { name, orchestration: { taskHistoryRetentionLimit: 5 } } }),
  nodes: (name) => ({ role: 'NODE_ROLE_WORKER', description: { hostname: name } }),
  services: (name) => service(name) as Record<string, unknown>,
  tasks: () => task('svc', 1) as Record<string, unknown>,
  networks: (name) => ({ spec: { name, driver: 'overlay', attachable: true } }),
  secrets: (name) => ({ spec: { name, data: Buffer.from('s3cret') } }),
  configs: (name) => ({ spec: { name, data: Buffer.from('conf') } }),
};

describe('store tables', () => {
  describe.each(Object.keys(samples) as TableName[])('%s', (table) => {
    it('creates, updates and deletes an object, stamping version = apply index and entry times', async () => {
      let now = NOW;
      const { store } = localStore({ clock: () => now });
      // biome-ignore lint/suspicious/noExplicitAny: the same steps for every table
      const rw = (tx: any) => tx[table];
      const created = await store.update((tx) => rw(tx).create(samples[table]('first')));
      const id = created.meta.id as string;
      expect(id).toHaveLength(25);

      const stored = store.view((tx) => rw(tx).get(id));
      expect(stored.meta).toEqual({ id, version: 1, createdAtMs: NOW, updatedAtMs: NOW });
      expect(store.appliedIndex).toBe(1);

      now += 1000;
      await store.update((tx) => rw(tx).update({ ...stored, meta: { ...stored.meta } }));
      const updated = store.view((tx) => rw(tx).get(id));
      expect(updated.meta).toEqual({ id, version: 2, createdAtMs: NOW, updatedAtMs: NOW + 1000 });

      const deleted = await store.update((tx) => rw(tx).delete(id));
      expect(deleted.meta.version).toBe(2);
      expect(store.view((tx) => rw(tx).get(id))).toBeUndefined();
      expect(store.view((tx) => rw(tx).count())).toBe(0);
      expect(store.appliedIndex).toBe(3);
    });
  });

  it('refuses an update carrying a stale meta.version and writes nothing', async () => {
    const { store } = localStore();
    const v1 = await store.update((tx) => tx.services.create(service('web')));
    const read = store.view((tx) => tx.services.get(v1.meta!.id)!);
    await store.update((tx) => tx.services.update({ ...read, spec: { ...read.spec!, labels: { a: '1' } } }));

    const attempt = store.update((tx) => {
      tx.tasks.create(task(read.meta!.id, 1));
      tx.services.update({ ...read, spec: { ...read.spec!, labels: { a: 'stale' } } });
    });
    await expect(attempt).rejects.toThrow(VersionConflictError);
    await expect(attempt).rejects.toThrow(
      /service .*: update out of sequence \(meta.version 1, current version 2\)/,
    );
    expect(store.view((tx) => [tx.tasks.count(), tx.services.get(read.meta!.id)!.spec!.labels])).toEqual([
      0,
      { a: '1' },
    ]);
    expect(store.appliedIndex).toBe(2);
  });

  it('keeps service, network, secret and config names unique, case-insensitively', async () => {
    const { store } = localStore();
    const web = await store.update((tx) => tx.services.create(service('web')));
    await expect(store.update((tx) => tx.services.create(service('WEB')))).rejects.toThrow(NameConflictError);
    await expect(store.update((tx) => tx.services.create(service('WEB')))).rejects.toThrow(
      `service name "WEB" is already in use by ${web.meta!.id} (spec.name)`,
    );
    await store.update((tx) => tx.networks.create({ spec: { name: 'web' } })); // other tables are separate
    await store.update((tx) => tx.secrets.create({ spec: { name: 'db', data: Buffer.from('x') } }));
    await expect(store.update((tx) => tx.secrets.create({ spec: { name: 'Db' } }))).rejects.toThrow(
      NameConflictError,
    );
    expect(store.view((tx) => tx.services.getByName('Web')?.meta?.id)).toBe(web.meta!.id);
  });

  it('frees a name when its holder is renamed or deleted, even within one transaction', async () => {
    const { store } = localStore();
    const web = await store.update((tx) => tx.services.create(service('web')));
    await store.update((tx) => {
      const current = tx.services.get(web.meta!.id)!;
      tx.services.update({ ...current, spec: { ...current.spec!, name: 'web-old' } });
      tx.services.create(service('web'));
    });
    expect(
      store.view((tx) =>
        tx.services
          .list()
          .map((s) => s.spec!.name)
          .sort(),
      ),
    ).toEqual(['web', 'web-old']);
    await store.update((tx) => {
      tx.services.delete(tx.services.getByName('web-old')!.meta!.id);
      tx.services.create(service('web-old'));
    });
    expect(store.view((tx) => tx.services.count())).toBe(2);
  });

  it('refuses to create an existing ID and to update or delete a missing one', async () => {
    const { store } = localStore();
    const created = await store.update((tx) => tx.tasks.create(task('svc', 1, { meta: { id: 'task1' } })));
    expect(created.meta!.id).toBe('task1');
    await expect(
      store.update((tx) => tx.tasks.create(task('svc', 2, { meta: { id: 'task1' } }))),
    ).rejects.toThrow(new AlreadyExistsError('tasks', 'task1'));
    await expect(
      store.update((tx) => tx.tasks.update(task('svc', 2, { meta: { id: 'nope', version: 1 } }))),
    ).rejects.toThrow(NotFoundError);
    await expect(store.update((tx) => tx.nodes.delete('nope'))).rejects.toThrow('node nope not found');
    await expect(store.update((tx) => tx.tasks.delete('task1', 99))).rejects.toThrow(VersionConflictError);
  });

  it('rejects invalid objects with the offending field named', async () => {
    const { store } = localStore();
    await expect(store.update((tx) => tx.services.create({ spec: { name: '' } }))).rejects.toThrow(
      /service \w+: spec.name is required/,
    );
    await expect(
      // biome-ignore lint/suspicious/noExplicitAny: a deliberately wrong enum name
      store.update((tx) => tx.tasks.create(task('svc', 1, { desiredState: 'TASK_STATE_RUNIN' as any }))),
    ).rejects.toThrow(
      new InvalidObjectError(
        'tasks',
        'desiredState',
        'must be one of TASK_STATE_NEW, TASK_STATE_PENDING, TASK_STATE_ASSIGNED, TASK_STATE_ACCEPTED, TASK_STATE_PREPARING, TASK_STATE_STARTING, TASK_STATE_RUNNING, TASK_STATE_COMPLETE, TASK_STATE_SHUTDOWN, TASK_STATE_FAILED, TASK_STATE_REJECTED, TASK_STATE_ORPHANED',
      ),
    );
    // biome-ignore lint/suspicious/noExplicitAny: a deliberately unknown field
    await expect(store.update((tx) => tx.nodes.create({ hostname: 'x' } as any))).rejects.toThrow(
      'node: hostname is not a field of Node',
    );
    await expect(store.update((tx) => tx.nodes.create({ meta: { id: 'bad id' } }))).rejects.toThrow(
      /meta.id "bad id"/,
    );
    await expect(
      store.update((tx) =>
        tx.services.create(service('x', { spec: { name: 'x', replicated: { replicas: -1 } } })),
      ),
    ).rejects.toThrow('service: spec.replicated.replicas must not be negative');
    expect(store.appliedIndex).toBe(0);
  });

  it('hands out frozen objects that callers cannot change', async () => {
    const { store } = localStore();
    const created = await store.update((tx) =>
      tx.services.create(service('web', { spec: { name: 'web', labels: { a: '1' } } })),
    );
    const stored = store.view((tx) => tx.services.get(created.meta!.id)!);
    expect(Object.isFrozen(stored)).toBe(true);
    expect(() => {
      stored.spec!.labels.a = '2';
    }).toThrow(TypeError);
    expect(() => {
      (stored.meta as { version: number }).version = 7;
    }).toThrow(TypeError);
    expect(created).not.toBe(stored); // the writer's copy is not what the store holds
  });

  it('copies byte fields so a caller mutating its buffer does not change the store', async () => {
    const { store } = localStore();
    const data = Buffer.from('password');
    const secret = await store.update((tx) => tx.secrets.create({ spec: { name: 'pw', data } }));
    data.fill(0);
    expect(store.view((tx) => tx.secrets.get(secret.meta!.id)!.spec!.data.toString())).toBe('password');
  });

  it('lets a transaction read its own writes, with deletes and creates merged', async () => {
    const { store } = localStore();
    const svc = await store.update((tx) => tx.services.create(service('web')));
    const existing = await store.update((tx) => tx.tasks.create(task(svc.meta!.id, 1)));
    await store.update((tx) => {
      const created = tx.tasks.create(task(svc.meta!.id, 2));
      expect(tx.tasks.get(created.meta!.id)).toBe(created);
      const again = tx.tasks.update({ ...created, nodeId: 'n1' });
      expect(tx.tasks.findByNode('n1')).toEqual([again]);
      tx.tasks.delete(existing.meta!.id);
      expect(tx.tasks.findByService(svc.meta!.id)).toEqual([again]);
      expect(tx.tasks.count()).toBe(1);
      const temp = tx.tasks.create(task(svc.meta!.id, 3));
      tx.tasks.delete(temp.meta!.id);
      expect(tx.tasks.list()).toEqual([again]);
    });
    const tasks = store.view((tx) => tx.tasks.list());
    expect(tasks.map((t) => [t.slot, t.nodeId, t.meta!.version])).toEqual([[2, 'n1', 3]]);
  });

  it('writes nothing when the transaction callback throws', async () => {
    const { store } = localStore();
    await expect(
      store.update((tx) => {
        tx.services.create(service('web'));
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    expect(store.view((tx) => tx.services.count())).toBe(0);
    expect(store.appliedIndex).toBe(0);
  });

  it('proposes nothing for a transaction without changes', async () => {
    const { store, proposer } = localStore();
    expect(await store.update((tx) => tx.services.count())).toBe(0);
    expect(proposer.index).toBe(0);
  });

  it('refuses writes in a read-only view and async view callbacks', () => {
    const { store } = localStore();
    // biome-ignore lint/suspicious/noExplicitAny: calling a writer method on a reader on purpose
    expect(() => store.view((tx) => (tx.services as any).create(service('x')))).toThrow(/read-only view/);
    expect(() => store.view(async () => 1)).toThrow(/synchronous/);
  });

  it('finds objects by ID prefix and name prefix like the CLI resolves them', async () => {
    const { store } = localStore();
    await store.update((tx) => {
      tx.services.create(service('web-front', { meta: { id: 'abc123' } }));
      tx.services.create(service('web-back', { meta: { id: 'abd456' } }));
    });
    expect(store.view((tx) => tx.services.findByIdPrefix('ab').length)).toBe(2);
    expect(store.view((tx) => tx.services.findByIdPrefix('abc').map((s) => s.spec!.name))).toEqual([
      'web-front',
    ]);
    expect(store.view((tx) => tx.services.findByNamePrefix('WEB-B').map((s) => s.meta!.id))).toEqual([
      'abd456',
    ]);
  });

  it('refuses a transaction whose entry would exceed the size limit, pointing to batch', async () => {
    const proposer = new LocalProposer();
    const store = new MemoryStore({ proposer, maxTransactionBytes: 10_000 });
    proposer.attach(store);
    const attempt = store.update((tx) => {
      for (let i = 0; i < 200; i++) tx.tasks.create(task('svc', i));
    });
    await expect(attempt).rejects.toThrow(TransactionTooLargeError);
    await expect(attempt).rejects.toThrow(/exceeds the limit of 10000 bytes: use store.batch/);
    expect(proposer.index).toBe(0);
  });
});
