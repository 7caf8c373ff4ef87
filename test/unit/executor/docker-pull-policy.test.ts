import { Readable } from 'node:stream';
import Docker from 'dockerode';
import { DockerEngine } from '../../../src/agent/executor/docker';
import { DockerExecutor } from '../../../src/agent/executor/docker-executor';
import { ImageNotFoundError, TemporaryExecutorError } from '../../../src/agent/executor/errors';
import {
  defaultTaskRunSpec,
  initialTaskStatus,
  type PullPolicy,
} from '../../../src/agent/executor/task-spec';

/** An engine that has (or lacks) one image and records what it was asked; it never reaches Docker. */
class RecordingEngine extends DockerEngine {
  readonly calls: string[] = [];
  pullFailure?: Error;

  constructor(private present: boolean) {
    super(new Docker({ socketPath: '/nonexistent/docker.sock' }));
  }

  override async hasImage(image: string): Promise<boolean> {
    this.calls.push(`has ${image}`);
    return this.present;
  }

  override async pullImage(image: string): Promise<void> {
    this.calls.push(`pull ${image}`);
    if (this.pullFailure) throw this.pullFailure;
    this.present = true;
  }

  override async findTaskContainer(): Promise<string | undefined> {
    return undefined;
  }

  override async createContainer(): Promise<string> {
    this.calls.push('create');
    return 'c1';
  }
}

async function prepare(engine: RecordingEngine, pullPolicy: PullPolicy): Promise<void> {
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
      spec: defaultTaskRunSpec('img:1', { pullPolicy }),
    })
    .prepare();
}

describe('docker executor pull policy', () => {
  it.each<PullPolicy>(['missing', 'never'])('uses a local image under %s without pulling', async (policy) => {
    const engine = new RecordingEngine(true);
    await prepare(engine, policy);
    expect(engine.calls).toEqual(['has img:1', 'create']);
  });

  it('pulls a missing image under missing', async () => {
    const engine = new RecordingEngine(false);
    await prepare(engine, 'missing');
    expect(engine.calls).toEqual(['has img:1', 'pull img:1', 'create']);
  });

  it('refuses a missing image under never with exactly "image not found: NAME"', async () => {
    const engine = new RecordingEngine(false);
    await expect(prepare(engine, 'never')).rejects.toThrow(new ImageNotFoundError('img:1'));
    expect(engine.calls).toEqual(['has img:1']);
  });

  it('pulls under always, and falls back to the local image when the registry cannot be reached', async () => {
    const engine = new RecordingEngine(true);
    await prepare(engine, 'always');
    expect(engine.calls).toEqual(['pull img:1', 'create']);

    const offline = new RecordingEngine(true);
    offline.pullFailure = new TemporaryExecutorError('pulling image img:1: registry unreachable');
    await prepare(offline, 'always');
    expect(offline.calls).toEqual(['pull img:1', 'has img:1', 'create']);

    const nowhere = new RecordingEngine(false);
    nowhere.pullFailure = new ImageNotFoundError('img:1');
    await expect(prepare(nowhere, 'always')).rejects.toBeInstanceOf(ImageNotFoundError);
  });
});

describe('docker engine pull', () => {
  function engineWithPull(lines: string[]): DockerEngine {
    const docker = new Docker({ socketPath: '/nonexistent/docker.sock' });
    docker.pull = (async () =>
      Readable.from(lines.map((l) => Buffer.from(`${l}\n`)))) as unknown as Docker['pull'];
    return new DockerEngine(docker);
  }

  it('follows the progress stream to its end', async () => {
    const events: object[] = [];
    const engine = engineWithPull([
      '{"status":"Pulling from library/img"}',
      '{"status":"Download complete"}',
    ]);
    await engine.pullImage('img:1', { onProgress: (e) => events.push(e) });
    expect(events).toEqual([{ status: 'Pulling from library/img' }, { status: 'Download complete' }]);
  });

  it('turns an unknown manifest into "image not found" and other failures into temporary errors', async () => {
    const missing = engineWithPull(['{"error":"manifest unknown"}']).pullImage('img:1');
    await expect(missing).rejects.toBeInstanceOf(ImageNotFoundError);
    await expect(missing).rejects.toThrow('image not found: img:1');
    await expect(
      engineWithPull(['{"error":"net/http: TLS handshake timeout"}']).pullImage('img:1'),
    ).rejects.toThrow(TemporaryExecutorError);
  });
});
