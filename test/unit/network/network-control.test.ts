// `orch network create|ls|inspect|rm` against a real Control API on a Unix socket (store in memory):
// validation with one-line errors naming the field, unique names, VIP subnets, removal refused while
// a service is attached, and services refused when they name an unknown network.

import { Command, CommanderError } from 'commander';
import { ControlApiClient } from '../../../src/cli/control-client';
import { UserError } from '../../../src/cli/errors';
import type { CliContext } from '../../../src/cli/flags';
import { registerNetworkCommands } from '../../../src/cli/network';
import { checkServiceNetworks } from '../../../src/manager/allocator';
import { type ControlFixture, startControl } from '../controlapi/control-fixture';

function runner(fixture: ControlFixture) {
  return async (...args: string[]) => {
    let stdout = '';
    let stderr = '';
    const ctx = {
      out: (text: string) => {
        stdout += text;
      },
      err: (text: string) => {
        stderr += text;
      },
      isTTY: false,
      now: () => fixture.nowMs(),
      connect: (dataDir: string | undefined) =>
        new ControlApiClient({ dataDir: dataDir ?? fixture.dir, timeoutMs: 10_000 }),
      progressPollMs: 5,
      progressVerifyMs: 0,
      progressPendingLimitMs: 50,
    } satisfies CliContext;
    const program = new Command('orch').exitOverride();
    program.configureOutput({
      writeOut: (s) => {
        stdout += s;
      },
      writeErr: (s) => {
        stderr += s;
      },
    });
    registerNetworkCommands(program, ctx);
    try {
      await program.parseAsync(['node', 'orch', ...args]);
      return { code: 0, stdout, stderr };
    } catch (err) {
      if (err instanceof CommanderError) return { code: err.exitCode || 2, stdout, stderr };
      if (err instanceof UserError)
        return { code: err.exitCode, stdout, stderr: `${stderr}orch: ${err.message}\n` };
      throw err;
    }
  };
}

describe('orch network', () => {
  let f: ControlFixture;
  let orch: ReturnType<typeof runner>;
  beforeEach(async () => {
    f = await startControl();
    orch = runner(f);
  });
  afterEach(async () => {
    await f.close();
  });

  it('creates networks with a VIP subnet each and lists them like docker network ls', async () => {
    const created = await orch('network', 'create', 'appnet', '--label', 'team=web');
    expect(created.code).toBe(0);
    const id = created.stdout.trim();
    expect(id).toMatch(/^[a-z0-9]{10,}$/);
    expect(
      (await orch('network', 'create', '-d', 'overlay', '--subnet', '10.50.0.0/16', 'backend')).code,
    ).toBe(0);

    const ls = await orch('network', 'ls');
    const lines = ls.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^NETWORK ID\s+NAME\s+DRIVER\s+SCOPE$/);
    expect(lines[1]).toMatch(new RegExp(`^${id.slice(0, 12)}\\s+appnet\\s+bridge\\s+swarm$`));
    expect(lines[2]).toMatch(/^\S{12}\s+backend\s+overlay\s+swarm$/);
    expect((await orch('network', 'ls', '-q', '-f', 'label=team=web')).stdout).toBe(`${id.slice(0, 12)}\n`);

    const inspect = JSON.parse((await orch('network', 'inspect', 'appnet', 'backend')).stdout);
    expect(inspect.map((n: { ipam: Array<{ subnet: string }> }) => n.ipam[0]!.subnet)).toEqual([
      '10.200.0.0/24',
      '10.50.0.0/16',
    ]);
    expect(inspect[0].spec.labels).toEqual({ team: 'web' });
  });

  it('refuses bad input with one line naming the field, and a name in use', async () => {
    expect((await orch('network', 'create', 'bad name')).stderr).toMatch(
      /^orch: name: invalid network name "bad name"/,
    );
    expect((await orch('network', 'create', '-d', 'macvlan', 'x')).stderr).toBe(
      'orch: driver: unsupported driver "macvlan": expected bridge or overlay\n',
    );
    expect((await orch('network', 'create', '--subnet', '300.1.0.0/16', 'x')).stderr).toMatch(
      /^orch: spec.ipam\[0\].subnet: "300.1.0.0\/16" is not a CIDR block/,
    );
    await orch('network', 'create', '--subnet', '10.60.0.0/24', 'one');
    expect((await orch('network', 'create', '--subnet', '10.60.0.0/16', 'two')).stderr).toBe(
      'orch: spec.ipam[0].subnet: 10.60.0.0/16 overlaps 10.60.0.0/24 of network one\n',
    );
    const again = await orch('network', 'create', 'one');
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^orch: network name "one" is already in use/);
    expect(await f.client.listServices()).toBeDefined();
    expect((await orch('network', 'inspect', 'nope')).stderr).toBe('orch: no such network: nope\n');
  });

  it('refuses to remove a network a service uses, and removes it once the service is gone', async () => {
    await orch('network', 'create', 'appnet');
    const spec = {
      name: 'web',
      mode: 'replicated' as const,
      replicated: { replicas: 1 },
      container: { image: 'orch/busybox:latest' },
      networks: [{ target: 'appnet', aliases: [] }],
    };
    await f.client.createService(spec);
    const refused = await orch('network', 'rm', 'appnet');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      'orch: network appnet is in use by service web: remove it or detach it first\n',
    );
    await f.client.removeService('web');
    expect(await orch('network', 'rm', 'appnet')).toMatchObject({ code: 0, stdout: 'appnet\n' });
    expect((await orch('network', 'ls', '-q')).stdout).toBe('');
  });

  it('checks inside a transaction that a service spec names existing networks (by name, ID or prefix)', async () => {
    const id = (await orch('network', 'create', 'appnet')).stdout.trim();
    const spec = (target: string) => ({ networks: [{ target, aliases: [] }] });
    f.store.view((tx) => {
      for (const ok of ['appnet', id, id.slice(0, 6)])
        expect(() => checkServiceNetworks(spec(ok), tx)).not.toThrow();
      expect(() => checkServiceNetworks(spec('nowhere'), tx)).toThrow(
        'networks[0].target: network nowhere not found',
      );
    });
  });
});
