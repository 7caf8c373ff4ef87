// The allocator loop over the store: published ports in service endpoints, tasks moving to pending.

import type { ServiceSpec__Output } from '../../../src/api/gen/types/orch/objects/ServiceSpec';
import { TaskState } from '../../../src/manager/orchestrator';
import { stateOf, TestLeader } from '../loops/loop-harness';

function publish(...ports: Array<{ published: number; target?: number; host?: boolean }>) {
  return (spec: ServiceSpec__Output): ServiceSpec__Output => ({
    ...spec,
    endpoint: {
      mode: 'RESOLUTION_MODE_VIP',
      ports: ports.map((p) => ({
        name: '',
        protocol: 'PORT_PROTOCOL_TCP',
        targetPort: p.target ?? 80,
        publishedPort: p.published,
        publishMode: p.host ? 'PUBLISH_MODE_HOST' : 'PUBLISH_MODE_INGRESS',
      })),
    },
  });
}

describe('allocator loop', () => {
  let leader: TestLeader;
  beforeEach(async () => {
    leader = new TestLeader();
    await leader.addNode('n1');
  });
  afterEach(async () => {
    await leader.close();
  });

  async function createPublishing(name: string, ...ports: Parameters<typeof publish>) {
    const base = await leader.createService({ name, replicas: 1 });
    await leader.updateService(base.meta!.id, publish(...ports));
    return base.meta!.id;
  }

  it('assigns a port from 30000-32767 to a port published without one and shows it in the endpoint', async () => {
    const id = await createPublishing('web', { published: 0, target: 80 }, { published: 8443, target: 443 });
    await leader.settle();
    const endpoint = leader.service(id)!.endpoint!;
    expect(endpoint.ports.map((p) => [p.targetPort, p.publishedPort])).toEqual([
      [80, 30000],
      [443, 8443],
    ]);
    expect(endpoint.spec!.ports.map((p) => p.publishedPort)).toEqual([0, 8443]);
    // The task went on to pending and was scheduled, carrying the service's endpoint.
    const [task] = leader.tasksOf(id);
    expect(stateOf(task!)).toBe(TaskState.Assigned);
    expect(task!.endpoint!.ports.map((p) => p.publishedPort)).toEqual([30000, 8443]);
    expect(leader.loops.allocator.portsOf(id)).toEqual(['30000/tcp', '8443/tcp']);
  });

  it('keeps the assigned port across updates and frees it when unpublished or the service is removed', async () => {
    const id = await createPublishing('web', { published: 0 });
    await leader.settle();
    await leader.updateService(id, (spec) => ({ ...spec, labels: { rev: '2' } }));
    await leader.settle();
    expect(leader.service(id)!.endpoint!.ports[0]!.publishedPort).toBe(30000);

    await leader.updateService(id, publish());
    await leader.settle();
    expect(leader.service(id)!.endpoint!.ports).toEqual([]);
    expect(leader.loops.allocator.portsOf(id)).toEqual([]);

    await leader.updateService(id, publish({ published: 8080 }));
    await leader.settle();
    await leader.removeService(id);
    await leader.settle();
    const other = await createPublishing('api', { published: 8080 });
    await leader.settle();
    expect(leader.service(other)!.endpoint!.ports[0]!.publishedPort).toBe(8080);
  });

  it('does not allocate a service whose port another service holds: its tasks stay new with the reason', async () => {
    const web = await createPublishing('web', { published: 8080 });
    await leader.settle();
    // Both passed the Control API's check at the same time; the allocator refuses the second.
    const api = await createPublishing('api', { published: 8080 });
    await leader.settle();
    const [task] = leader.tasksOf(api);
    expect(stateOf(task!)).toBe(TaskState.New);
    expect(task!.status!.err).toBe(
      'endpoint.ports[0].publishedPort: port 8080/tcp is already published by service web',
    );
    expect(leader.loops.allocator.portsOf(api)).toEqual([]);

    // Once the holder is gone, the waiting service gets the port and its task runs.
    await leader.removeService(web);
    await leader.settle();
    expect(leader.service(api)!.endpoint!.ports[0]!.publishedPort).toBe(8080);
    expect(leader.tasksOf(api).map(stateOf)).toEqual([TaskState.Assigned]);
  });

  it('allocates a waiting service as soon as the holder stops publishing the port', async () => {
    const web = await createPublishing('web', { published: 8080 });
    await leader.settle();
    const api = await createPublishing('api', { published: 8080 });
    await leader.settle();
    expect(leader.tasksOf(api).map(stateOf)).toEqual([TaskState.New]);
    await leader.updateService(web, publish({ published: 9090 }));
    await leader.settle();
    expect(leader.loops.allocator.portsOf(web)).toEqual(['9090/tcp']);
    expect(leader.loops.allocator.portsOf(api)).toEqual(['8080/tcp']);
    expect(leader.tasksOf(api).map(stateOf)).toEqual([TaskState.Assigned]);
  });

  it('leaves host-mode ports to the scheduler: one task per node', async () => {
    await leader.addNode('n2');
    const id = await createPublishing('web', { published: 8080, host: true });
    await leader.scale(id, 3);
    await leader.settle();
    expect(leader.loops.allocator.portsOf(id)).toEqual([]);
    expect(leader.liveByNode(id)).toEqual({ n1: 1, n2: 1, '(none)': 1 });
    const pending = leader.tasksOf(id).find((t) => !t.nodeId)!;
    expect(pending.status!.err).toBe('no suitable node (host-mode port already in use on 2 nodes)');
  });

  it('restores the port book from the store when a new leader starts', async () => {
    const id = await createPublishing('web', { published: 0 });
    await leader.settle();
    await leader.loops.stop();
    leader.start();
    await leader.settle();
    expect(leader.loops.allocator.portsOf(id)).toEqual(['30000/tcp']);
    const api = await createPublishing('api', { published: 0 });
    await leader.settle();
    expect(leader.service(api)!.endpoint!.ports[0]!.publishedPort).toBe(30001);
  });
});
