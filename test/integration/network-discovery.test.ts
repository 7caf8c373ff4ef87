// Service discovery end to end (issue #7's discovery "Done when"), with real `orch` processes and
// real containers on one shared engine: one manager and two workers. Two services on one network:
// from a task of `client`, `wget -qO- http://web/` answers a `web` task's hostname (through the
// node's embedded DNS and the web VIP, balanced over web's tasks on every node); scaling web changes
// the set of responders; an alias resolves too; `orch network rm` is refused while services use the
// network and works once they are gone, and then no node keeps an engine network for it.
//
// The client runs on a worker: a worker's directory of networked services (names, VIPs, backends,
// networks) comes from the leader's dispatcher over the Endpoints stream (docs/networking.md), so
// every step here (resolution, scaling, the alias, the network's removal) goes through that feed.
import { execFile } from 'node:child_process';
import { vipTableName } from '../../src/network';
import { describeDocker, TEST_IMAGE } from '../support/docker';
import { OrchCluster } from './cluster-harness';
import { waitUntil } from './support/wait';

// Generous bounds: the machine is shared and container starts slow down under load. Not timings.
jest.setTimeout(120_000);

function docker(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('docker', args, { timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

async function lines(args: readonly string[]): Promise<string[]> {
  return (await docker(args)).stdout.split('\n').filter((l) => l.trim() !== '');
}

const HTTPD = 'hostname > /www/index.html; exec httpd -f -p 80 -h /www';

/**
 * The embedded DNS binds port 53 and the VIP rules need nftables: both need root. Without it the
 * suite is skipped loudly, except under CI=true, where it must run.
 */
function describeNetworking(name: string, fn: () => void): void {
  if (process.getuid?.() === 0 || process.env.CI === 'true') describeDocker(name, fn);
  else describe.skip(`${name} [SKIPPED: needs root for port 53 and nftables]`, fn);
}

describeNetworking('service discovery on a network (1 manager + 2 workers, Docker)', () => {
  const cluster = new OrchCluster({ executor: 'docker' });
  const nodeIds: string[] = [];

  async function orchOk(...args: string[]): Promise<string> {
    const result = await cluster.orch(1, ...args);
    if (result.code !== 0)
      throw new Error(`orch ${args.join(' ')} failed (${result.code}): ${result.stderr}\n${result.stdout}`);
    return result.stdout;
  }

  /** Running container IDs of a service's tasks on this cluster's nodes (other suites may run a `web` too). */
  async function containersOf(service: string): Promise<string[]> {
    const ids: string[] = [];
    for (const nodeId of nodeIds)
      ids.push(
        ...(await lines([
          'ps',
          '-q',
          '--filter',
          `label=orch.service.name=${service}`,
          '--filter',
          `label=orch.node.id=${nodeId}`,
        ])),
      );
    return ids;
  }

  /** Nodes running a task of the service. */
  async function nodesOf(service: string): Promise<Set<string>> {
    const nodes = new Set<string>();
    for (const nodeId of nodeIds)
      if (
        (
          await lines([
            'ps',
            '-q',
            '--filter',
            `label=orch.service.name=${service}`,
            '--filter',
            `label=orch.node.id=${nodeId}`,
          ])
        ).length > 0
      )
        nodes.add(nodeId);
    return nodes;
  }

  /** The hostnames (container IDs, 12 hex) of the running web tasks. */
  async function webHostnames(): Promise<Set<string>> {
    return new Set((await containersOf('web')).map((id) => id.slice(0, 12)));
  }

  /** `count` requests from the client task to `url`; the answers. */
  async function fromClient(url: string, count: number): Promise<string[]> {
    const [client] = await containersOf('client');
    if (!client) throw new Error('no client container');
    const script = `for i in $(seq ${count}); do wget -qO- ${url} || echo FAILED; done`;
    const result = await docker(['exec', client, 'sh', '-c', script]);
    return result.stdout.split('\n').filter((l) => l !== '');
  }

  beforeAll(async () => {
    const init = await cluster.init(1, '--heartbeat-period', '1s');
    if (init.code !== 0) throw new Error(`init failed: ${init.stderr}`);
    const token = await cluster.token('worker', 1);
    for (const n of [2, 3]) {
      const joined = await cluster.join(n, token, 1, '--executor', 'docker');
      if (joined.code !== 0) throw new Error(`join of node ${n} failed: ${joined.stderr}\n${cluster.log(n)}`);
    }
    for (const n of [1, 2, 3]) nodeIds.push(cluster.nodeId(n));
    await waitUntil(async () => (await orchOk('node', 'ls')).match(/\bReady\b/g)?.length === 3, {
      what: 'three Ready nodes',
    });
  });

  afterAll(async () => {
    try {
      await cluster.close();
    } finally {
      // Containers, engine networks and kernel rules of this cluster's nodes, even when a step failed.
      for (const nodeId of nodeIds) {
        const containers = await lines(['ps', '-aq', '--filter', `label=orch.node.id=${nodeId}`]);
        if (containers.length > 0) await docker(['rm', '-f', ...containers]);
        for (const id of await lines(['network', 'ls', '-q', '--filter', `label=orch.node.id=${nodeId}`]))
          await docker(['network', 'rm', id]);
        // SIGKILLed daemons cannot delete their VIP rules.
        await new Promise((resolve) =>
          execFile('nft', ['delete', 'table', 'ip', vipTableName(nodeId)], () => resolve(undefined)),
        );
      }
    }
  });

  it('creates the network and lists it', async () => {
    await orchOk('network', 'create', 'appnet');
    expect(await orchOk('network', 'ls')).toMatch(/^\S{12}\s+appnet\s+bridge\s+swarm$/m);
  });

  it('resolves web from a client task on a worker and reaches every web task, on any node', async () => {
    await orchOk(
      'service',
      'create',
      '-d',
      '--name',
      'web',
      '--replicas',
      '3',
      '--network',
      'appnet',
      '--stop-grace-period',
      '1s',
      TEST_IMAGE,
      'sh',
      '-c',
      HTTPD,
    );
    await orchOk(
      'service',
      'create',
      '-d',
      '--name',
      'client',
      '--network',
      'name=appnet,alias=frontend',
      '--constraint',
      'node.role==worker',
      '--stop-grace-period',
      '1s',
      TEST_IMAGE,
      'sleep',
      '3600',
    );
    await waitUntil(
      async () => (await webHostnames()).size === 3 && (await containersOf('client')).length === 1,
      {
        what: '3 web tasks and 1 client task running',
        timeoutMs: 60_000,
      },
    );
    const webs = await webHostnames();
    // The client is on a worker, and web tasks run on other nodes: the VIP reaches those too.
    const clientNodes = await nodesOf('client');
    expect(clientNodes.size).toBe(1);
    expect(clientNodes.has(cluster.nodeId(1))).toBe(false);
    expect([...(await nodesOf('web'))].some((n) => !clientNodes.has(n))).toBe(true);
    const startedAt = Date.now();
    const answers = await waitUntil(
      async () => {
        const got = await fromClient('http://web/', 12);
        return got.every((a) => webs.has(a)) && new Set(got).size === 3 ? got : false;
      },
      { what: 'the client reaching all 3 web tasks by name', timeoutMs: 40_000, intervalMs: 250 },
    );
    expect(answers).toHaveLength(12);
    process.stdout.write(
      `network-discovery: all 3 web tasks answered by name ${Date.now() - startedAt} ms after they ran\n`,
    );
  });

  it('changes the responders when web is scaled', async () => {
    const before = await webHostnames();
    await orchOk('service', 'scale', '-d', 'web=1');
    await waitUntil(async () => (await webHostnames()).size === 1, {
      what: 'web scaled to 1',
      timeoutMs: 60_000,
    });
    const [only] = [...(await webHostnames())];
    expect(before.has(only!)).toBe(true);
    await waitUntil(
      async () => {
        const got = await fromClient('http://web/', 6);
        return got.length === 6 && got.every((a) => a === only);
      },
      { what: 'only the remaining web task answering', timeoutMs: 40_000, intervalMs: 250 },
    );
  });

  it('resolves an alias and NAME.NETWORK to the same service', async () => {
    // The client's own alias, answered by its own httpd started for the check.
    const [client] = await containersOf('client');
    await docker([
      'exec',
      '-d',
      client!,
      'sh',
      '-c',
      'echo client-here > /www/index.html; httpd -p 80 -h /www',
    ]);
    // The client image exposes 80, but its task started before httpd ran: the VIP reaches it now.
    await waitUntil(async () => (await fromClient('http://frontend/', 1))[0] === 'client-here', {
      what: 'the alias frontend answering',
      timeoutMs: 40_000,
      intervalMs: 250,
    });
    const [web] = [...(await webHostnames())];
    expect(await fromClient('http://web.appnet/', 2)).toEqual([web, web]);
  });

  it('refuses to remove a network in use, and removes it once its services are gone, on every node', async () => {
    const refused = await cluster.orch(1, 'network', 'rm', 'appnet');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      'orch: network appnet is in use by services client, web: remove them or detach them first\n',
    );
    await orchOk('service', 'rm', 'web', 'client');
    await waitUntil(
      async () => (await containersOf('web')).length + (await containersOf('client')).length === 0,
      {
        what: 'the tasks gone',
        timeoutMs: 60_000,
      },
    );
    expect(await orchOk('network', 'rm', 'appnet')).toBe('appnet\n');
    await waitUntil(
      async () => {
        for (const nodeId of nodeIds)
          if ((await lines(['network', 'ls', '-q', '--filter', `label=orch.node.id=${nodeId}`])).length > 0)
            return false;
        return true;
      },
      { what: 'no engine network left on any node', timeoutMs: 60_000, intervalMs: 250 },
    );
  });
});
