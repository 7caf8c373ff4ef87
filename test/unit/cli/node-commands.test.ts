import {
  addNodes,
  type ControlFixture,
  nodeInput,
  startControl,
  taskInput,
  webSpec,
} from '../controlapi/control-fixture';
import { cliRunner, type RunCli } from './cli-harness';

describe('orch node', () => {
  let f: ControlFixture;
  let orch: RunCli;

  beforeEach(async () => {
    f = await startControl();
    f.ops.localNodeId = 'manager1aaaa';
    await addNodes(f.store, [
      nodeInput('manager1aaaa', 'alpha', { role: 'manager', leader: true }),
      nodeInput('manager2bbbb', 'beta', { role: 'manager', reachable: false }),
      nodeInput('worker1cccc', 'gamma', { state: 'NODE_STATE_DOWN' }),
    ]);
    orch = cliRunner(f);
  });

  afterEach(async () => {
    await f?.close();
  });

  it("ls prints docker's columns with * after the current node and the managers' raft status", async () => {
    const { code, stdout } = await orch('node', 'ls');
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+HOSTNAME\s+STATUS\s+AVAILABILITY\s+MANAGER STATUS\s+ENGINE VERSION$/);
    expect(lines[1]).toMatch(/^manager1aaaa \*\s+alpha\s+Ready\s+Active\s+Leader\s+24\.0\.7$/);
    expect(lines[2]).toMatch(/^manager2bbbb\s+beta\s+Ready\s+Active\s+Unreachable\s+24\.0\.7$/);
    expect(lines[3]).toMatch(/^worker1cccc\s+gamma\s+Down\s+Active\s+24\.0\.7$/);
  });

  it('ls -q prints IDs only and --format json one object per line', async () => {
    expect((await orch('node', 'ls', '-q')).stdout).toBe('manager1aaaa\nmanager2bbbb\nworker1cccc\n');
    const json = (await orch('node', 'ls', '--format', 'json', '-f', 'role=worker')).stdout;
    expect(JSON.parse(json)).toEqual({
      ID: 'worker1cccc',
      Hostname: 'gamma',
      Status: 'Down',
      Availability: 'Active',
      ManagerStatus: '',
      EngineVersion: '24.0.7',
      Self: false,
    });
  });

  it('names the flag and the accepted values when a value is wrong', async () => {
    expect((await orch('node', 'ls', '--format', 'yaml')).stderr).toBe(
      'orch: --format: invalid value "yaml": expected table, json\n',
    );
    const bad = await orch('node', 'update', '--availability', 'sleep', 'gamma');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe('orch: --availability: invalid value "sleep": expected active, pause, drain\n');
    expect((await orch('node', 'ls', '-f', 'colour=red')).stderr).toBe(
      'orch: --filter: invalid filter "colour": expected one of id, name, role, node.label\n',
    );
  });

  it('inspect prints a JSON array by default and a readable summary with --pretty; self is the current node', async () => {
    const json = JSON.parse((await orch('node', 'inspect', 'gamma')).stdout);
    expect(json).toHaveLength(1);
    expect(json[0].meta.id).toBe('worker1cccc');
    const pretty = (await orch('node', 'inspect', '--pretty', 'self')).stdout;
    expect(pretty).toContain('ID:\t\t\tmanager1aaaa\n');
    expect(pretty).toContain(' Leader:\t\tYes\n');
  });

  it('update drains a node and edits its labels', async () => {
    const { stdout } = await orch(
      'node',
      'update',
      '--availability',
      'drain',
      '--label-add',
      'zone=east',
      'gamma',
    );
    expect(stdout).toBe('gamma\n');
    let node = f.store.view((tx) => tx.nodes.get('worker1cccc'))!;
    expect(node.spec).toMatchObject({ availability: 'NODE_AVAILABILITY_DRAIN', labels: { zone: 'east' } });
    await orch('node', 'update', '--label-rm', 'zone', 'gamma');
    node = f.store.view((tx) => tx.nodes.get('worker1cccc'))!;
    expect(node.spec?.labels).toEqual({});
    expect((await orch('node', 'update', '--label-rm', 'zone', 'gamma')).stderr).toBe(
      'orch: --label-rm: node gamma has no label "zone"\n',
    );
  });

  it('promote and demote print what docker prints', async () => {
    expect((await orch('node', 'promote', 'gamma')).stdout).toBe(
      'Node gamma promoted to a manager in the cluster.\n',
    );
    expect((await orch('node', 'promote', 'alpha')).stdout).toBe('Node alpha is already a manager.\n');
    const demote = await orch('node', 'demote', 'alpha');
    expect(demote.code).toBe(1);
    expect(demote.stderr).toBe(
      "orch: can't demote node manager1aaaa: the other managers would lose their quorum (0 of 1 reachable, 1 needed)\n",
    );
  });

  it('rm refuses a node that is up without --force, and goes on with the other arguments', async () => {
    await addNodes(f.store, [nodeInput('worker2dddd', 'delta')]);
    const { code, stdout, stderr } = await orch('node', 'rm', 'delta', 'gamma');
    expect(code).toBe(1);
    expect(stdout).toBe('gamma\n');
    expect(stderr).toBe("orch: node worker2dddd is not down and can't be removed; use --force\n");
    expect((await orch('node', 'rm', '--force', 'delta')).stdout).toBe('delta\n');
    expect((await orch('node', 'rm', 'self')).stderr).toBe(
      "orch: node manager1aaaa is a cluster manager and a member of the Raft cluster: demote it first ('orch node demote manager1aaaa') or use --force\n",
    );
  });

  it('ps lists the tasks on a node', async () => {
    const web = await f.client.createService(webSpec());
    await f.store.update((tx) => {
      tx.tasks.create(
        taskInput('task1xxxxxxxxxxxx', web.meta!.id, 1, { nodeId: 'worker1cccc', spec: web.spec }),
      );
      tx.tasks.create(taskInput('task2xxxxxxxxxxxx', web.meta!.id, 2, { nodeId: 'manager1aaaa' }));
    });
    const { stdout } = await orch('node', 'ps', 'gamma');
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+NAME\s+IMAGE\s+NODE\s+DESIRED STATE\s+CURRENT STATE\s+ERROR\s+PORTS$/);
    expect(lines.slice(1)).toHaveLength(1);
    expect(lines[1]).toMatch(
      /^task1xxxxxxx\s+web\.1\s+orch\/busybox:latest\s+gamma\s+Running\s+Running 5 seconds ago$/,
    );
  });

  it('explains in one line that no node runs on the data dir', async () => {
    const { code, stderr } = await orch('node', 'ls', '--data-dir', `${f.dir}/nowhere`);
    expect(code).toBe(1);
    expect(stderr).toBe(
      `orch: no node is running with data dir ${f.dir}/nowhere: start one with 'orch init' or 'orch daemon'\n`,
    );
  });
});
