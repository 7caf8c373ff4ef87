import { ContainerNotFoundError, DockerEngine, ImageNotFoundError } from '../../src/agent/executor/docker';
import { LABEL_NODE_ID, LABEL_SERVICE_ID, LABEL_TASK_ID } from '../../src/agent/executor/docker-labels';
import { describeDocker, TEST_IMAGE, uniqueId } from '../support/docker';

describeDocker('docker executor against the real engine', () => {
  const engine = new DockerEngine();
  const nodeId = uniqueId('e2e-node');
  const task = { nodeId, serviceId: 'svc-e2e', taskId: uniqueId('task') };

  afterAll(async () => {
    for (const id of await engine.listNodeContainers(nodeId)) await engine.remove(id, { force: true });
  });

  it('creates, starts, inspects, stops and removes a labelled container', async () => {
    const id = await engine.create({
      image: TEST_IMAGE,
      cmd: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done'],
      env: ['GREETING=hello'],
      task,
    });
    let state = await engine.inspect(id);
    expect(state.running).toBe(false);
    expect(state.status).toBe('created');
    expect(state.labels).toMatchObject({
      [LABEL_NODE_ID]: nodeId,
      [LABEL_SERVICE_ID]: 'svc-e2e',
      [LABEL_TASK_ID]: task.taskId,
    });
    expect(await engine.listByLabels({ [LABEL_TASK_ID]: task.taskId })).toEqual([id]);

    await engine.start(id);
    state = await engine.inspect(id);
    expect(state.running).toBe(true);
    expect(state.startedAt).toBeInstanceOf(Date);

    await engine.stop(id, 5000);
    state = await engine.inspect(id);
    expect(state.running).toBe(false);
    expect(state.status).toBe('exited');
    expect(state.exitCode).toBe(0); // the trap ran: SIGTERM was delivered, not SIGKILL

    await engine.stop(id, 1000); // stopping a stopped container is not an error
    await engine.remove(id);
    await expect(engine.inspect(id)).rejects.toBeInstanceOf(ContainerNotFoundError);
    expect(await engine.listNodeContainers(nodeId)).toEqual([]);
  });

  it('refuses an image that is not present locally instead of pulling it', async () => {
    await expect(engine.create({ image: 'orch/not-built-here:never', task })).rejects.toThrow(
      new ImageNotFoundError('orch/not-built-here:never'),
    );
  });
});
