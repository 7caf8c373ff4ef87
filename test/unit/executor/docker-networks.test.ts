// The Docker executor on several networks: the container is created on the first and connected to
// the others, with the service name as an engine alias only where the engine's DNS is the discovery
// (no embedded DNS in the run spec).
import Docker from 'dockerode';
import { DockerEngine } from '../../../src/agent/executor/docker';
import { DockerExecutor } from '../../../src/agent/executor/docker-executor';
import {
  defaultTaskRunSpec,
  initialTaskStatus,
  type TaskRunSpec,
} from '../../../src/agent/executor/task-spec';

/** An engine with the image present that records network connections; it never reaches Docker. */
class RecordingEngine extends DockerEngine {
  readonly connections: Array<{ network: string; aliases: string[] }> = [];
  createdOn: string[] = [];

  constructor() {
    super(new Docker({ socketPath: '/nonexistent/docker.sock' }));
  }

  override async hasImage(): Promise<boolean> {
    return true;
  }

  override async findTaskContainer(): Promise<string | undefined> {
    return undefined;
  }

  override async createContainer(options: Docker.ContainerCreateOptions): Promise<string> {
    const endpoints = options.NetworkingConfig?.EndpointsConfig ?? {};
    this.createdOn = Object.entries(endpoints).map(([name, e]) => `${name}:${(e.Aliases ?? []).join(',')}`);
    return 'c1';
  }

  override async connectNetwork(network: string, _containerId: string, aliases: string[]): Promise<void> {
    this.connections.push({ network, aliases });
  }
}

async function prepare(engine: RecordingEngine, spec: Partial<TaskRunSpec>): Promise<void> {
  const executor = new DockerExecutor({ nodeId: 'n1', engine });
  await executor
    .controller({
      id: 't1',
      serviceId: 's1',
      serviceName: 'web',
      slot: 1,
      nodeId: 'n1',
      desiredState: 'TASK_STATE_RUNNING',
      status: initialTaskStatus(),
      spec: defaultTaskRunSpec('img:1', spec),
    })
    .prepare();
}

describe('docker executor networks', () => {
  it('joins secondary orch networks without a service-name alias when the embedded DNS serves the task', async () => {
    const engine = new RecordingEngine();
    await prepare(engine, { networks: ['orch-a', 'orch-b', 'orch-c'], dns: ['172.30.0.1'] });
    expect(engine.createdOn).toEqual(['orch-a:']);
    expect(engine.connections).toEqual([
      { network: 'orch-b', aliases: [] },
      { network: 'orch-c', aliases: [] },
    ]);
  });

  it('gives the service name as the alias on plain engine networks (no embedded DNS)', async () => {
    const engine = new RecordingEngine();
    await prepare(engine, { networks: ['front', 'back'] });
    expect(engine.createdOn).toEqual(['front:web']);
    expect(engine.connections).toEqual([{ network: 'back', aliases: ['web'] }]);
  });
});
