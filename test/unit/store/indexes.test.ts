import type { MemoryStore, Task } from '../../../src/store';
import { localStore, service, task } from './helpers';

const ids = (tasks: Task[]): string[] => tasks.map((t) => t.meta!.id).sort();

async function seed(store: MemoryStore): Promise<void> {
  await store.update((tx) => {
    tx.services.create(service('web', { meta: { id: 'web' } }));
    tx.services.create(service('db', { meta: { id: 'db' } }));
    tx.tasks.create(task('web', 1, { meta: { id: 'w1' }, nodeId: 'n1' }));
    tx.tasks.create(task('web', 2, { meta: { id: 'w2' }, nodeId: 'n2' }));
    tx.tasks.create(
      task('web', 1, { meta: { id: 'w1-old' }, nodeId: 'n2', desiredState: 'TASK_STATE_SHUTDOWN' }),
    );
    tx.tasks.create(task('db', 1, { meta: { id: 'd1' }, nodeId: 'n1' }));
  });
}

describe('store indexes', () => {
  it('finds tasks by service, node, slot and desired state', async () => {
    const { store } = localStore();
    await seed(store);
    store.view((tx) => {
      expect(ids(tx.tasks.findByService('web'))).toEqual(['w1', 'w1-old', 'w2']);
      expect(ids(tx.tasks.findByNode('n1'))).toEqual(['d1', 'w1']);
      expect(ids(tx.tasks.findBySlot('web', 1))).toEqual(['w1', 'w1-old']);
      expect(ids(tx.tasks.findByDesiredState('TASK_STATE_SHUTDOWN'))).toEqual(['w1-old']);
      expect(ids(tx.tasks.find({ serviceId: 'web', desiredState: 'TASK_STATE_RUNNING' }))).toEqual([
        'w1',
        'w2',
      ]);
      expect(ids(tx.tasks.find({ serviceId: 'web', slot: 1, nodeId: 'n2' }))).toEqual(['w1-old']);
      expect(tx.tasks.findByService('nope')).toEqual([]);
    });
  });

  it('moves objects between index keys on update and drops them on delete', async () => {
    const { store } = localStore();
    await seed(store);
    await store.update((tx) => {
      const w2 = tx.tasks.get('w2')!;
      tx.tasks.update({ ...w2, nodeId: 'n3', desiredState: 'TASK_STATE_SHUTDOWN' });
      tx.tasks.delete('w1-old');
    });
    store.view((tx) => {
      expect(ids(tx.tasks.findByNode('n2'))).toEqual([]);
      expect(ids(tx.tasks.findByNode('n3'))).toEqual(['w2']);
      expect(ids(tx.tasks.findBySlot('web', 1))).toEqual(['w1']);
      expect(ids(tx.tasks.findByDesiredState('TASK_STATE_SHUTDOWN'))).toEqual(['w2']);
      expect(ids(tx.tasks.findByDesiredState('TASK_STATE_RUNNING'))).toEqual(['d1', 'w1']);
    });
  });

  it('finds nodes by role and services by the secrets, configs and networks they use', async () => {
    const { store } = localStore();
    await store.update((tx) => {
      tx.nodes.create({ meta: { id: 'm1' }, role: 'NODE_ROLE_MANAGER' });
      tx.nodes.create({ meta: { id: 'w1' }, role: 'NODE_ROLE_WORKER' });
      tx.nodes.create({ meta: { id: 'w2' } });
      tx.services.create({
        meta: { id: 'api' },
        spec: {
          name: 'api',
          container: {
            image: 'x',
            secrets: [{ secretId: 's1', secretName: 'db_pass' }],
            configs: [{ configId: 'c1', configName: 'conf' }],
          },
          networks: [{ target: 'backend' }],
        },
      });
    });
    store.view((tx) => {
      expect(
        tx.nodes
          .findByRole('NODE_ROLE_WORKER')
          .map((n) => n.meta!.id)
          .sort(),
      ).toEqual(['w1', 'w2']);
      expect(tx.nodes.findByRole('NODE_ROLE_MANAGER').map((n) => n.meta!.id)).toEqual(['m1']);
      expect(tx.services.findBySecret('s1').map((s) => s.meta!.id)).toEqual(['api']);
      expect(tx.services.findByConfig('c1').map((s) => s.meta!.id)).toEqual(['api']);
      expect(tx.services.findByNetwork('backend').map((s) => s.meta!.id)).toEqual(['api']);
      expect(tx.services.findBySecret('s2')).toEqual([]);
    });
    await store.update((tx) => {
      const m1 = tx.nodes.get('m1')!;
      tx.nodes.update({ ...m1, role: 'NODE_ROLE_WORKER' });
      const api = tx.services.get('api')!;
      tx.services.update({
        ...api,
        spec: { ...api.spec!, container: { ...api.spec!.container!, secrets: [] } },
      });
    });
    store.view((tx) => {
      expect(tx.nodes.findByRole('NODE_ROLE_MANAGER')).toEqual([]);
      expect(tx.services.findBySecret('s1')).toEqual([]);
      expect(tx.services.findByConfig('c1')).toHaveLength(1);
    });
  });

  it('answers index queries inside a write transaction from its own pending changes', async () => {
    const { store } = localStore();
    await seed(store);
    await store.update((tx) => {
      const w1 = tx.tasks.get('w1')!;
      tx.tasks.update({ ...w1, nodeId: 'n9' });
      tx.tasks.create(task('web', 3, { meta: { id: 'w3' }, nodeId: 'n1' }));
      tx.tasks.delete('d1');
      expect(ids(tx.tasks.findByNode('n1'))).toEqual(['w3']);
      expect(ids(tx.tasks.findByNode('n9'))).toEqual(['w1']);
      expect(ids(tx.tasks.find({ serviceId: 'web', nodeId: 'n1' }))).toEqual(['w3']);
      // The committed state is untouched until the entry applies.
      expect(store.view((view) => ids(view.tasks.findByNode('n1')))).toEqual(['d1', 'w1']);
    });
    store.view((tx) => expect(ids(tx.tasks.findByNode('n1'))).toEqual(['w3']));
  });
});
