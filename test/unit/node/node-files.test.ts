import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  acquirePidFile,
  DaemonAlreadyRunningError,
  readPid,
  releasePidFile,
} from '../../../src/node/node-pid-file';
import { type NodeState, readNodeState, writeNodeState } from '../../../src/node/node-state';

const STATE: NodeState = {
  version: 1,
  nodeId: 'n1',
  clusterId: 'c1',
  role: 'manager',
  listenAddr: '127.0.0.2:4242',
  advertiseAddr: '127.0.0.2:4242',
  managers: ['127.0.0.2:4242'],
  initializedCluster: true,
  availability: 'active',
  raft: { tickMs: 100, electionTicks: 10, heartbeatTicks: 1 },
};

describe('node files', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'orch-node-files-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the node state owner-only and reads it back', async () => {
    const file = join(dir, 'node.json');
    await writeNodeState(file, STATE);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(await readNodeState(file)).toEqual(STATE);
  });

  it('reads a missing state as no node, and a damaged one as a clear error', async () => {
    expect(await readNodeState(join(dir, 'none.json'))).toBeUndefined();
    writeFileSync(join(dir, 'bad.json'), '{"version":');
    await expect(readNodeState(join(dir, 'bad.json'))).rejects.toThrow(
      /is not valid JSON; the data dir is damaged/,
    );
    writeFileSync(join(dir, 'other.json'), '{"version":9}');
    await expect(readNodeState(join(dir, 'other.json'))).rejects.toThrow(/is not an orch node state file/);
  });

  it('takes over the pid file of a dead daemon and refuses a live one', async () => {
    const pidFile = join(dir, 'orch.pid');
    writeFileSync(pidFile, '999999999\n');
    await acquirePidFile(pidFile, dir);
    expect(await readPid(pidFile)).toBe(process.pid);
    // Our parent is alive and is not us.
    writeFileSync(pidFile, `${process.ppid}\n`);
    await expect(acquirePidFile(pidFile, dir)).rejects.toThrow(DaemonAlreadyRunningError);
    await expect(acquirePidFile(pidFile, dir)).rejects.toThrow(
      `an orch daemon (pid ${process.ppid}) is already running with data dir ${dir}`,
    );
    // Releasing leaves someone else's pid file alone.
    await releasePidFile(pidFile);
    expect(await readPid(pidFile)).toBe(process.ppid);
  });
});
