import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  addNodes,
  type ControlFixture,
  NOW_MS,
  nodeInput,
  startControl,
  taskInput,
  webSpec,
} from '../controlapi/control-fixture';
import { cliRunner, type RunCli } from './cli-harness';

describe('orch service', () => {
  let f: ControlFixture;
  let orch: RunCli;

  beforeEach(async () => {
    f = await startControl();
    await addNodes(f.store, [nodeInput('node1', 'alpha'), nodeInput('node2', 'beta')]);
    orch = cliRunner(f);
  });

  afterEach(async () => {
    await f?.close();
  });

  const stored = (name: string) => f.store.view((tx) => tx.services.getByName(name));

  it('create -d turns every flag into the spec and prints the service ID', async () => {
    const envFile = join(f.dir, 'web.env');
    writeFileSync(envFile, '# settings\nMODE=prod\n\n');
    const { code, stdout, stderr } = await orch(
      'service',
      'create',
      '-d',
      '--name',
      'web',
      '--replicas',
      '3',
      '--constraint',
      'node.labels.zone==east',
      '--placement-pref',
      'spread=node.labels.rack',
      '--max-replicas',
      '2',
      '--reserve-cpu',
      '0.5',
      '--reserve-memory',
      '64M',
      '--limit-cpu',
      '1',
      '--limit-memory',
      '128M',
      '--restart-condition',
      'on-failure',
      '--restart-delay',
      '2s',
      '--restart-max-attempts',
      '4',
      '--restart-window',
      '1m',
      '-e',
      'A=1',
      '--env-file',
      envFile,
      '--label',
      'team=web',
      '--container-label',
      'c=1',
      '--mount',
      'type=bind,source=/srv,target=/data,readonly',
      '--mount',
      'type=tmpfs,target=/tmp,tmpfs-size=16M',
      '-w',
      '/www',
      '-u',
      'nobody',
      '--hostname',
      'h1',
      '--stop-signal',
      'SIGINT',
      '--stop-grace-period',
      '30s',
      '--pull',
      'never',
      '-p',
      '8080:80',
      '-p',
      'published=5353,target=53,protocol=udp,mode=host',
      'orch/busybox',
      'httpd',
      '-f',
      '-p',
      '80',
    );
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const web = stored('web')!;
    expect(stdout).toBe(`${web.meta!.id}\n`);
    expect(web.spec).toMatchObject({
      labels: { team: 'web' },
      mode: 'replicated',
      replicated: { replicas: 3 },
      placement: {
        constraints: ['node.labels.zone==east'],
        spreadPreferences: ['node.labels.rack'],
        maxReplicasPerNode: 2,
      },
      resources: {
        reservations: { nanoCpus: 500_000_000, memoryBytes: 64 * 2 ** 20 },
        limits: { nanoCpus: 1_000_000_000, memoryBytes: 128 * 2 ** 20 },
      },
      restartPolicy: {
        condition: 'RESTART_CONDITION_ON_FAILURE',
        delayMs: 2_000,
        maxAttempts: 4,
        windowMs: 60_000,
      },
      container: {
        image: 'orch/busybox',
        args: ['httpd', '-f', '-p', '80'],
        env: ['MODE=prod', 'A=1'],
        labels: { c: '1' },
        workdir: '/www',
        user: 'nobody',
        hostname: 'h1',
        stopSignal: 'SIGINT',
        stopGracePeriodMs: 30_000,
        pullPolicy: 'PULL_POLICY_NEVER',
        mounts: [
          { type: 'MOUNT_TYPE_BIND', source: '/srv', target: '/data', readOnly: true },
          { type: 'MOUNT_TYPE_TMPFS', target: '/tmp', tmpfsSizeBytes: 16 * 2 ** 20 },
        ],
      },
      endpoint: {
        ports: [
          {
            publishedPort: 8080,
            targetPort: 80,
            protocol: 'PORT_PROTOCOL_TCP',
            publishMode: 'PUBLISH_MODE_INGRESS',
          },
          {
            publishedPort: 5353,
            targetPort: 53,
            protocol: 'PORT_PROTOCOL_UDP',
            publishMode: 'PUBLISH_MODE_HOST',
          },
        ],
      },
    });
  });

  it.each([
    [['--replicas', 'three'], '--replicas: invalid number "three": expected a whole number of at least 0'],
    [
      ['--reserve-memory', 'lots'],
      '--reserve-memory: invalid size "lots": expected a size such as 512M, 1.5G, 100k or a number of bytes',
    ],
    [
      ['--restart-condition', 'sometimes'],
      '--restart-condition: invalid restart condition "sometimes": expected none, on-failure or any',
    ],
    [['--pull', 'maybe'], '--pull: invalid value "maybe": expected missing, always, never'],
    [
      ['--mode', 'global', '--replicas', '2'],
      '--replicas: replicas can only be used with replicated or replicated-job mode, not global',
    ],
    [
      ['-p', '80:http'],
      '--publish: invalid port "80:http": "http" is not a port between 1 and 65535; expected PUBLISHED:TARGET[/PROTOCOL] (e.g. 8080:80) or published=8080,target=80[,protocol=tcp|udp][,mode=ingress|host]',
    ],
    [
      ['--mount', 'type=nfs,target=/x'],
      '--mount: invalid mount "type=nfs,target=/x": type "nfs" is not bind, volume or tmpfs; expected type=bind|volume|tmpfs,source=SRC,target=DST[,readonly] (e.g. type=bind,source=/data,target=/data)',
    ],
  ])('create %j is refused naming the flag, and nothing is written', async (flags, message) => {
    const before = f.store.appliedIndex;
    const { code, stderr } = await orch('service', 'create', '-d', '--name', 'web', ...flags, 'orch/busybox');
    expect(code).toBe(1);
    expect(stderr).toBe(`orch: ${message}\n`);
    expect(f.store.appliedIndex).toBe(before);
  });

  it("create shows the server's one-line refusal of an invalid spec", async () => {
    const { code, stderr } = await orch('service', 'create', '-d', '--name', 'bad.name', 'orch/busybox');
    expect(code).toBe(1);
    expect(stderr).toMatch(/^orch: name: invalid service name "bad\.name": /);
  });

  it("ls prints docker's columns: running/desired replicas and published ports", async () => {
    const web = await f.client.createService(
      webSpec({ endpoint: { ports: [{ publishedPort: 8080, targetPort: 80 }] } }),
    );
    await f.client.createService({
      name: 'agent',
      container: { image: 'orch/agent:1' },
      mode: 'global',
      global: {},
    });
    await f.store.update((tx) =>
      tx.tasks.create(taskInput('t1', web.meta!.id, 1, { nodeId: 'node1', spec: web.spec })),
    );
    const { stdout } = await orch('service', 'ls');
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+NAME\s+MODE\s+REPLICAS\s+IMAGE\s+PORTS$/);
    expect(lines[1]).toMatch(/^\w{12}\s+agent\s+global\s+0\/0\s+orch\/agent:1$/);
    expect(lines[2]).toMatch(/^\w{12}\s+web\s+replicated\s+1\/3\s+orch\/busybox:latest\s+\*:8080->80\/tcp$/);
    expect((await orch('service', 'ls', '-q', '-f', 'name=we')).stdout).toBe(`${web.meta!.id}\n`);
  });

  it('ps shows the current task of each slot, its history under it, and why a task is pending', async () => {
    const web = await f.client.createService(webSpec({ replicated: { replicas: 2 } }));
    const id = web.meta!.id;
    await f.store.update((tx) => {
      tx.tasks.create({
        ...taskInput('newtask1aaaaaaaaa', id, 1, { nodeId: 'node1', spec: web.spec }),
        meta: { id: 'newtask1aaaaaaaaa' },
      });
      tx.tasks.create(
        taskInput('oldtask1aaaaaaaaa', id, 1, {
          nodeId: 'node1',
          spec: web.spec,
          state: 'TASK_STATE_FAILED',
          desired: 'TASK_STATE_SHUTDOWN',
          err: 'task: non-zero exit (1): the container exited on its own',
          createdAtMs: NOW_MS - 60_000,
        }),
      );
      tx.tasks.create(
        taskInput('pending2aaaaaaaaa', id, 2, {
          spec: web.spec,
          state: 'TASK_STATE_PENDING',
          err: 'no suitable node (insufficient resources on 2 nodes)',
        }),
      );
    });
    // Same creation time from the store: the history row is the one whose desired state is shutdown.
    const { stdout } = await orch('service', 'ps', '--no-trunc', 'web');
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+NAME\s+IMAGE\s+NODE\s+DESIRED STATE\s+CURRENT STATE\s+ERROR\s+PORTS$/);
    expect(lines).toHaveLength(4);
    expect(lines[1]).toMatch(
      /^newtask1aaaaaaaaa\s+web\.1\s+orch\/busybox:latest\s+alpha\s+Running\s+Running 5 seconds ago$/,
    );
    expect(lines[2]).toMatch(
      /^oldtask1aaaaaaaaa\s+ \\_ web\.1\s+orch\/busybox:latest\s+alpha\s+Shutdown\s+Failed About a minute ago\s+"task: non-zero exit \(1\): the container exited on its own"$/,
    );
    expect(lines[3]).toMatch(
      /^pending2aaaaaaaaa\s+web\.2\s+orch\/busybox:latest\s+Running\s+Pending 5 seconds ago\s+"no suitable node \(insufficient resources on 2 nodes\)"$/,
    );
    const running = await orch('service', 'ps', '-q', '-f', 'desired-state=running', 'web');
    expect(running.stdout.trim().split('\n').sort()).toEqual(['newtask1aaaaaaaaa', 'pending2aaaaaaaaa']);
    const truncated = (await orch('service', 'ps', 'web')).stdout;
    expect(truncated).toContain('"task: non-zero exit (1): the …"');
  });

  it("ps heads a replicated slot with its current task when the slot's history ran on another node", async () => {
    const web = await f.client.createService(webSpec({ replicated: { replicas: 1 } }));
    const id = web.meta!.id;
    // The replacement runs on node2 (beta), the failed task ran on node1 (alpha): node IDs sort
    // the other way round, and must not decide the order within a replicated slot.
    await f.store.update((tx) => {
      tx.tasks.create(
        taskInput('oldtask1aaaaaaaaa', id, 1, {
          nodeId: 'node1',
          spec: web.spec,
          state: 'TASK_STATE_RUNNING',
          desired: 'TASK_STATE_SHUTDOWN',
          createdAtMs: NOW_MS - 60_000,
        }),
      );
      tx.tasks.create(taskInput('newtask1aaaaaaaaa', id, 1, { nodeId: 'node2', spec: web.spec }));
    });
    const lines = (await orch('service', 'ps', '--no-trunc', 'web')).stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(/^newtask1aaaaaaaaa\s+web\.1\s+orch\/busybox:latest\s+beta\s+Running\s+Running/);
    expect(lines[2]).toMatch(
      /^oldtask1aaaaaaaaa\s+ \\_ web\.1\s+orch\/busybox:latest\s+alpha\s+Shutdown\s+Running/,
    );
    const listed = await f.client.listTasks({ serviceId: id });
    expect(listed.map((t) => t.meta!.id)).toEqual(['newtask1aaaaaaaaa', 'oldtask1aaaaaaaaa']);
  });

  it('inspect prints JSON and a --pretty summary', async () => {
    await f.client.createService(webSpec());
    expect(JSON.parse((await orch('service', 'inspect', 'web')).stdout)[0].spec.name).toBe('web');
    const pretty = (await orch('service', 'inspect', '--pretty', 'web')).stdout;
    expect(pretty).toContain('Service Mode:\tReplicated\n Replicas:\t3\n');
    expect(pretty).toContain(' Image:\t\torch/busybox:latest\n');
  });

  it('update -d edits the spec from the flags at the version it read', async () => {
    await f.client.createService(
      webSpec({
        container: { image: 'orch/busybox:1', env: ['A=1', 'B=2'] },
        placement: { constraints: ['node.role==worker'] },
      }),
    );
    const { code, stdout } = await orch(
      'service',
      'update',
      '-d',
      '--image',
      'orch/busybox:2',
      '--env-add',
      'B=3',
      '--env-rm',
      'A',
      '--label-add',
      'tier=front',
      '--constraint-rm',
      'node.role == worker',
      '--constraint-add',
      'node.labels.zone==east',
      '--publish-add',
      '8080:80',
      '--replicas',
      '4',
      '--force',
      'web',
    );
    expect(code).toBe(0);
    expect(stdout).toBe('web\n');
    const web = stored('web')!;
    expect(web.spec).toMatchObject({
      labels: { tier: 'front' },
      replicated: { replicas: 4 },
      container: { image: 'orch/busybox:2', env: ['B=3'] },
      placement: { constraints: ['node.labels.zone==east'] },
      endpoint: { ports: [{ publishedPort: 8080, targetPort: 80 }] },
      forceUpdate: 1,
    });
    expect(web.previousSpec?.container?.image).toBe('orch/busybox:1');
    await orch('service', 'update', '-d', '--publish-rm', '80', 'web');
    expect(stored('web')!.spec?.endpoint?.ports).toEqual([]);
  });

  it('create -d sets the health check, networks and endpoint mode like docker', async () => {
    await f.store.update((tx) => tx.networks.create({ spec: { name: 'backend', driver: 'bridge' } }));
    const { code, stderr } = await orch(
      'service',
      'create',
      '-d',
      '--name',
      'web',
      '--health-cmd',
      'wget -q -O- localhost',
      '--health-interval',
      '10s',
      '--health-retries',
      '3',
      '--network',
      'backend',
      '--endpoint-mode',
      'dnsrr',
      'orch/busybox',
    );
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stored('web')!.spec).toMatchObject({
      container: {
        healthcheck: { test: ['CMD-SHELL', 'wget -q -O- localhost'], intervalMs: 10_000, retries: 3 },
      },
      networks: [{ target: 'backend' }],
      endpoint: { mode: 'RESOLUTION_MODE_DNSRR' },
    });
    await orch('service', 'update', '-d', '--no-healthcheck', 'web');
    expect(stored('web')!.spec?.container?.healthcheck?.test).toEqual(['NONE']);
    expect(
      (await orch('service', 'update', '-d', '--no-healthcheck', '--health-retries', '2', 'web')).stderr,
    ).toBe('orch: --no-healthcheck: conflicts with the --health-* options\n');
  });

  it('rollback -d restores the previous spec, and says when there is none', async () => {
    await f.client.createService(webSpec());
    expect((await orch('service', 'rollback', '-d', 'web')).stderr).toBe(
      'orch: service web has no previous spec to roll back to\n',
    );
    await orch('service', 'update', '-d', '--image', 'orch/busybox:2', 'web');
    const { code, stdout } = await orch('service', 'rollback', '-d', 'web');
    expect(code).toBe(0);
    expect(stdout).toBe('web\nrollback: manually requested rollback\n');
    expect(stored('web')!.spec?.container?.image).toBe('orch/busybox:latest');
  });

  it('scale -d sets replicas for each NAME=N, and checks every argument before scaling any', async () => {
    await f.client.createService(webSpec());
    await f.client.createService(webSpec({ name: 'api' }));
    const bad = await orch('service', 'scale', '-d', 'web=5', 'api=lots');
    expect(bad.stderr).toBe(
      'orch: api replicas: invalid number "lots": expected a whole number of at least 0\n',
    );
    expect(stored('web')!.spec?.replicated?.replicas).toBe(3);
    const { stdout } = await orch('service', 'scale', '-d', 'web=5', 'api=0');
    expect(stdout).toBe('web scaled to 5\napi scaled to 0\n');
    expect(stored('api')!.spec?.replicated?.replicas).toBe(0);
  });

  it('rm removes each service and reports the ones that do not exist', async () => {
    await f.client.createService(webSpec());
    const { code, stdout, stderr } = await orch('service', 'rm', 'web', 'db');
    expect(code).toBe(1);
    expect(stdout).toBe('web\n');
    expect(stderr).toBe('orch: no such service: db\n');
    expect(stored('web')).toBeUndefined();
  });

  it('logs prefixes each line with name.slot.task@node like docker, and sends stderr lines to stderr', async () => {
    const web = await f.client.createService(webSpec());
    const id = web.meta!.id;
    await f.store.update((tx) =>
      tx.tasks.create(taskInput('logtask1aaaaaaaaa', id, 1, { nodeId: 'node1', spec: web.spec })),
    );
    f.logs.lines.set('logtask1aaaaaaaaa', [
      {
        serviceId: id,
        taskId: 'logtask1aaaaaaaaa',
        nodeId: 'node1',
        slot: 1,
        timestampMs: NOW_MS,
        data: Buffer.from('hello'),
      },
      {
        serviceId: id,
        taskId: 'logtask1aaaaaaaaa',
        nodeId: 'node1',
        slot: 1,
        timestampMs: NOW_MS,
        stream: 'LOG_STREAM_STDERR',
        data: Buffer.from('oops'),
      },
    ]);
    const { stdout, stderr } = await orch('service', 'logs', 'web');
    expect(stdout).toBe('web.1.logtask1aaaa@alpha    | hello\n');
    expect(stderr).toBe('web.1.logtask1aaaa@alpha    | oops\n');
    const byTask = await orch('service', 'logs', '--tail', '1', '-t', 'logtask1');
    expect(byTask.stderr).toBe(`${new Date(NOW_MS).toISOString()} web.1.logtask1aaaa@alpha    | oops\n`);
    expect(f.logs.selections.at(-1)).toMatchObject({ taskIds: ['logtask1aaaaaaaaa'], tail: 1 });
    expect((await orch('service', 'logs', 'nothing')).stderr).toBe(
      'orch: no such service or task: nothing\n',
    );
    expect((await orch('service', 'logs', '--since', 'yesterday', 'web')).stderr).toBe(
      'orch: --since: invalid time "yesterday": expected a duration such as 10m or a time such as 2024-01-02T15:04:05Z\n',
    );
  });
});
