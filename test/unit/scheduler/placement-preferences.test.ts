import { scheduleTasks } from '../../../src/manager/scheduler';
import { countByNode, node, pendingTasks, serviceSpec, task } from './cluster-fixtures';

function perZone(assignments: Map<string, string>, zoneOf: Record<string, string>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const nodeId of assignments.values()) counts[zoneOf[nodeId]!] = (counts[zoneOf[nodeId]!] ?? 0) + 1;
  return counts;
}

describe('scheduler placement preferences', () => {
  // Zone a has 1 node, b has 2, c has 3: plain spread would give zone c half the replicas.
  const zoneOf: Record<string, string> = { a1: 'a', b1: 'b', b2: 'b', c1: 'c', c2: 'c', c3: 'c' };
  const nodes = Object.entries(zoneOf).map(([id, zone]) => node(id, { labels: { zone } }));
  const spec = serviceSpec({ preferences: ['spread=node.labels.zone'] });

  it('splits 9 replicas evenly across 3 zones whatever their sizes (3/3/3)', () => {
    const { assignments } = scheduleTasks(nodes, [], pendingTasks(9, spec));
    expect(perZone(assignments, zoneOf)).toEqual({ a: 3, b: 3, c: 3 });
    expect(countByNode(assignments)).toEqual({ a1: 3, b1: 2, b2: 1, c1: 1, c2: 1, c3: 1 });
  });

  it('fills the zones that hold fewer tasks of the service first', () => {
    const existing = [
      task({ id: 'e1', nodeId: 'a1', spec }),
      task({ id: 'e2', nodeId: 'a1', spec }),
      task({ id: 'e3', nodeId: 'b1', spec }),
    ];
    const { assignments } = scheduleTasks(nodes, existing, pendingTasks(6, spec));
    // Totals become 3/3/3: zone c gets 3, zone b 2, zone a 1.
    expect(perZone(assignments, zoneOf)).toEqual({ a: 1, b: 2, c: 3 });
  });

  it('puts nodes without the label in a branch of their own', () => {
    const mixed = [
      node('east', { labels: { zone: 'east' } }),
      node('west', { labels: { zone: 'west' } }),
      node('x1'),
      node('x2'),
    ];
    const { assignments } = scheduleTasks(mixed, [], pendingTasks(6, spec));
    const counts = countByNode(assignments);
    expect(counts.east).toBe(2);
    expect(counts.west).toBe(2);
    expect((counts.x1 ?? 0) + (counts.x2 ?? 0)).toBe(2);
  });

  it('applies nested preferences level by level', () => {
    const racks = [
      node('e-r1-a', { labels: { zone: 'east', rack: 'r1' } }),
      node('e-r1-b', { labels: { zone: 'east', rack: 'r1' } }),
      node('e-r2-a', { labels: { zone: 'east', rack: 'r2' } }),
      node('w-r1-a', { labels: { zone: 'west', rack: 'r1' } }),
    ];
    const nested = serviceSpec({ preferences: ['spread=node.labels.zone', 'spread=node.labels.rack'] });
    const { assignments } = scheduleTasks(racks, [], pendingTasks(8, nested));
    expect(countByNode(assignments)).toEqual({ 'e-r1-a': 1, 'e-r1-b': 1, 'e-r2-a': 2, 'w-r1-a': 4 });
  });

  it('gives the tasks a full zone cannot take to the other zones', () => {
    const limited = serviceSpec({ preferences: ['spread=node.labels.zone'], maxReplicasPerNode: 1 });
    const { assignments, unschedulable } = scheduleTasks(nodes, [], pendingTasks(6, limited));
    expect(perZone(assignments, zoneOf)).toEqual({ a: 1, b: 2, c: 3 });
    expect(unschedulable.size).toBe(0);
  });

  it('respects constraints inside the tree', () => {
    const constrained = serviceSpec({
      preferences: ['spread=node.labels.zone'],
      constraints: ['node.labels.zone!=a'],
    });
    const { assignments } = scheduleTasks(nodes, [], pendingTasks(4, constrained));
    expect(perZone(assignments, zoneOf)).toEqual({ b: 2, c: 2 });
  });
});
