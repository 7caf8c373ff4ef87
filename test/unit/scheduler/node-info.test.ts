import { NodeInfo, taskFootprint } from '../../../src/manager/scheduler';
import { CPU, GiB, node, serviceSpec, task } from './cluster-fixtures';

describe('node info', () => {
  const spec = serviceSpec({ reserveCpus: 1, reserveMemoryBytes: GiB, hostPorts: [8080] });

  it('subtracts the reservations of the tasks it holds from the node resources', () => {
    const info = new NodeInfo('a', node('a', { cpus: 4, memoryBytes: 8 * GiB }));
    info.addTask(taskFootprint(task({ id: 't1', nodeId: 'a', spec }))!);
    info.addTask(taskFootprint(task({ id: 't2', nodeId: 'a', spec }))!);
    expect(info.availableNanoCpus).toBe(2 * CPU);
    expect(info.availableMemoryBytes).toBe(6 * GiB);
    expect(info.activeTasksOf('svc')).toBe(2);
    expect(info.activeTaskCount).toBe(2);
  });

  it('replaces a task added twice instead of counting it twice', () => {
    const info = new NodeInfo('a', node('a'));
    info.addTask(taskFootprint(task({ id: 't1', nodeId: 'a', spec }))!);
    info.addTask(taskFootprint(task({ id: 't1', nodeId: 'a', spec, desired: 'TASK_STATE_SHUTDOWN' }))!);
    expect(info.taskCount).toBe(1);
    expect(info.activeTaskCount).toBe(0);
    expect(info.availableNanoCpus).toBe(3 * CPU);
  });

  it('keeps a host port in use until the last task publishing it leaves', () => {
    const info = new NodeInfo('a', node('a'));
    info.addTask(taskFootprint(task({ id: 't1', nodeId: 'a', spec }))!);
    info.addTask(taskFootprint(task({ id: 't2', nodeId: 'a', spec, serviceId: 'other' }))!);
    info.removeTask('t1');
    expect(info.isHostPortInUse('tcp/8080')).toBe(true);
    info.removeTask('t2');
    expect(info.isHostPortInUse('tcp/8080')).toBe(false);
    expect(info.removeTask('t2')).toBeUndefined();
    expect(info.activeTasksOf('other')).toBe(0);
  });

  it('takes nothing from tasks that are not assigned yet or have finished', () => {
    expect(taskFootprint(task({ id: 'p', spec }))).toBeUndefined();
    expect(taskFootprint(task({ id: 'g', nodeId: 'a', spec, state: 'TASK_STATE_PENDING' }))).toBeUndefined();
    expect(taskFootprint(task({ id: 'f', nodeId: 'a', spec, state: 'TASK_STATE_FAILED' }))).toBeUndefined();
    expect(taskFootprint(task({ id: 'r', nodeId: 'a', spec, state: 'TASK_STATE_ASSIGNED' }))).toMatchObject({
      nanoCpus: CPU,
      memoryBytes: GiB,
      hostPorts: ['tcp/8080'],
      active: true,
    });
  });
});
