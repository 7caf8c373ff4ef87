// One node's networking against the real Docker engine and kernel, without a cluster: NodeNetworks
// brings up the node's engine network for a task, its embedded DNS answers service names and
// aliases with the VIP, and a container on that network reaches the service's backends through the
// VIP (nftables DNAT to the VIP listener on the bridge gateway), balanced over them; once no task
// uses the network any more it goes away. Everything made is labelled with this test's node ID and
// removed in afterAll.
import { execFile } from 'node:child_process';
import Docker from 'dockerode';
import { silentLogger } from '../../src/common/logger';
import { StaticNetworkDirectory } from '../../src/network/network-directory';
import { NodeNetworks } from '../../src/network/node-networks';
import { vipTableName } from '../../src/network/vip-nftables';
import { describeDocker, TEST_IMAGE, uniqueId } from '../support/docker';

function run(
  file: string,
  args: readonly string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

async function dockerOk(args: readonly string[]): Promise<string> {
  const result = await run('docker', args);
  if (result.code !== 0) throw new Error(`docker ${args.join(' ')} failed: ${result.stderr.trim()}`);
  return result.stdout.trim();
}

/**
 * The embedded DNS binds port 53 and the VIP rules need nftables: both need root. Without it the
 * suite is skipped loudly, except under CI=true, where it must run.
 */
function describeNetworking(name: string, fn: () => void): void {
  if (process.getuid?.() === 0 || process.env.CI === 'true') describeDocker(name, fn);
  else describe.skip(`${name} [SKIPPED: needs root for port 53 and nftables]`, fn);
}

describeNetworking('node networks on the real engine', () => {
  const nodeId = uniqueId('netnode')
    .replace(/[^a-z0-9]/g, '')
    .slice(0, 24);
  const networkId = uniqueId('net')
    .replace(/[^a-z0-9]/g, '')
    .slice(0, 24);
  const docker = new Docker();
  const directory = new StaticNetworkDirectory();
  let networks: NodeNetworks | undefined;
  const webs: Array<{ name: string; hostPort: number; hostname: string }> = [];

  beforeAll(async () => {
    for (const i of [1, 2]) {
      const name = `${nodeId}-web${i}`;
      await dockerOk([
        'run',
        '-d',
        '--name',
        name,
        '--hostname',
        name,
        '--label',
        `orch.node.id=${nodeId}`,
        '-p',
        '127.0.0.1::80',
        TEST_IMAGE,
        'sh',
        '-c',
        'hostname > /www/index.html; httpd -f -p 80 -h /www',
      ]);
      const port = await dockerOk(['port', name, '80/tcp']);
      webs.push({ name, hostPort: Number(port.split('\n')[0]!.split(':').pop()), hostname: name });
    }
    directory.set(
      [
        {
          serviceId: 'svc-web',
          name: 'web',
          drainMs: 1000,
          attachments: [{ networkId, networkName: 'appnet', vip: '10.239.0.2', aliases: ['www'] }],
          ports: [{ protocol: 'tcp', targetPort: 80 }],
          backends: webs.map((w, i) => ({
            taskId: `task-web${i}`,
            nodeId,
            address: '127.0.0.1',
            ports: [{ protocol: 'tcp' as const, targetPort: 80, port: w.hostPort }],
            healthy: true,
          })),
        },
      ],
      [networkId],
    );
    networks = await NodeNetworks.start({
      nodeId,
      docker,
      directory,
      logger: silentLogger(),
      gcIntervalMs: 60_000,
    });
  }, 60_000);

  afterAll(async () => {
    await networks?.close();
    const containers = await run('docker', ['ps', '-aq', '--filter', `label=orch.node.id=${nodeId}`]);
    const ids = containers.stdout.split('\n').filter(Boolean);
    if (ids.length > 0) await run('docker', ['rm', '-f', ...ids]);
    const nets = await run('docker', ['network', 'ls', '-q', '--filter', `label=orch.node.id=${nodeId}`]);
    for (const id of nets.stdout.split('\n').filter(Boolean)) await run('docker', ['network', 'rm', id]);
    await run('nft', ['delete', 'table', 'ip', vipTableName(nodeId)]);
  }, 60_000);

  it('brings the network up for a task, and a container on it reaches every backend by service name through the VIP', async () => {
    const setup = await networks!.ensureForTask('task-client', [networkId]);
    expect(setup.engineNetworks).toEqual([`orch-${networkId.slice(0, 12)}-${nodeId.slice(0, 12)}`]);
    const engine = networks!.networks.get(networkId)!;
    expect(setup.dns).toEqual([engine.gateway]);
    expect(networks!.recordsOf(networkId).get('web.appnet')).toEqual(['10.239.0.2']);

    const script =
      'for i in 1 2 3 4 5 6; do wget -qO- http://web/; done; wget -qO- http://www/; wget -qO- http://web.appnet/';
    const client = await run('docker', [
      'run',
      '--rm',
      '--label',
      `orch.node.id=${nodeId}`,
      '--network',
      setup.engineNetworks[0]!,
      '--dns',
      setup.dns[0]!,
      TEST_IMAGE,
      'sh',
      '-c',
      script,
    ]);
    expect(client.stderr).toBe('');
    const answers = client.stdout.trim().split('\n');
    expect(answers).toHaveLength(8);
    for (const answer of answers) expect(webs.map((w) => w.hostname)).toContain(answer);
    // Round robin over the two backends.
    expect(new Set(answers.slice(0, 6)).size).toBe(2);
  }, 60_000);

  it('answers names it does not know through the host resolvers, and says NXDOMAIN for nothing', async () => {
    const engine = networks!.networks.get(networkId)!;
    const lookup = await run('docker', [
      'run',
      '--rm',
      '--label',
      `orch.node.id=${nodeId}`,
      '--network',
      engine.engineName,
      '--dns',
      engine.gateway,
      TEST_IMAGE,
      'sh',
      '-c',
      'nslookup web; nslookup no-such-name.invalid',
    ]);
    expect(lookup.stdout).toMatch(/Name:\s+web\s+Address:\s+10\.239\.0\.2/);
    expect(lookup.stdout + lookup.stderr).toMatch(/no-such-name\.invalid: (NXDOMAIN|SERVFAIL)/);
  }, 60_000);

  it('brings the networks of a previous run back up at start, for the containers still on them', async () => {
    const engine = networks!.networks.get(networkId)!;
    const sleeper = await dockerOk([
      'run',
      '-d',
      '--label',
      `orch.node.id=${nodeId}`,
      '--network',
      engine.engineName,
      '--dns',
      engine.gateway,
      TEST_IMAGE,
      'sleep',
      '600',
    ]);
    await networks!.close();
    networks = await NodeNetworks.start({
      nodeId,
      docker,
      directory,
      logger: silentLogger(),
      gcIntervalMs: 60_000,
    });
    expect(networks.networks.get(networkId)?.engineId).toBe(engine.engineId);
    const answer = await run('docker', ['exec', sleeper, 'wget', '-qO-', 'http://www/']);
    expect(webs.map((w) => w.hostname)).toContain(answer.stdout.trim());
    // The engine refuses to remove a network with a container on it: it stays up.
    networks.retainTasks(new Set());
    await networks.settled();
    expect(networks.networks.has(networkId)).toBe(true);
    await dockerOk(['rm', '-f', sleeper]);
  }, 60_000);

  it('takes the network down once no task uses it', async () => {
    const engine = networks!.networks.get(networkId)!;
    networks!.release('task-client');
    networks!.retainTasks(new Set());
    for (let i = 0; i < 100 && networks!.networks.has(networkId); i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(networks!.networks.has(networkId)).toBe(false);
    expect((await run('docker', ['network', 'inspect', engine.engineId])).code).not.toBe(0);
  }, 30_000);
});
