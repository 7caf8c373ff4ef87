// The convergence benchmark's cleanup must remove exactly what the run recorded and nothing else,
// also when it runs from a state file left by a driver that died. These tests need no Docker engine:
// the recorded nodes carry no node ID, so no container is looked up.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processAlive } from '../../../src/node/node-pid-file';
import { BenchState, cleanUp } from '../../bench/convergence-cleanup';

/** A long-running process whose command line names `marker`, like an orch daemon names its data dir. */
function spawnSleeper(marker: string): ChildProcess {
  return spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', marker], { stdio: 'ignore' });
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

describe('convergence benchmark cleanup', () => {
  let dir: string;
  const children: ChildProcess[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'orch-convergence-cleanup-test-'));
  });

  afterEach(() => {
    for (const child of children.splice(0)) if (child.pid && processAlive(child.pid)) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps every change in the state file, so a later process can clean up after a crash', () => {
    const file = join(dir, 'state.json');
    const state = new BenchState(file);
    state.update((data) => {
      data.orch = { root: join(dir, 'cluster'), nodes: [{ dataDir: join(dir, 'cluster', 'node-1') }] };
    });
    state.update((data) => {
      data.orch!.nodes[0]!.pid = 4242;
    });

    expect(new BenchState(file).current).toEqual({
      orch: { root: join(dir, 'cluster'), nodes: [{ dataDir: join(dir, 'cluster', 'node-1'), pid: 4242 }] },
    });
  });

  it('stops the recorded daemon, removes its directory and empties the state', async () => {
    const root = join(dir, 'cluster');
    const dataDir = join(root, 'node-1');
    mkdirSync(dataDir, { recursive: true });
    const daemon = spawnSleeper(dataDir);
    children.push(daemon);
    const state = new BenchState(join(dir, 'state.json'));
    state.update((data) => {
      data.orch = { root, nodes: [{ dataDir, pid: daemon.pid! }] };
    });

    await cleanUp(state, () => undefined);
    await exited(daemon);

    expect(daemon.signalCode).toBe('SIGTERM');
    expect(existsSync(root)).toBe(false);
    expect(new BenchState(state.file).current).toEqual({});
  });

  it('leaves alone a recorded PID that now runs something else (a recycled PID)', async () => {
    const root = join(dir, 'cluster');
    const other = spawnSleeper(join(dir, 'somebody-else'));
    children.push(other);
    const state = new BenchState(join(dir, 'state.json'));
    state.update((data) => {
      data.orch = { root, nodes: [{ dataDir: join(root, 'node-1'), pid: other.pid! }] };
    });

    await cleanUp(state, () => undefined);

    expect(processAlive(other.pid!)).toBe(true);
  });

  it('does nothing on a second run', async () => {
    const state = new BenchState(join(dir, 'state.json'));
    state.update((data) => {
      data.orch = { root: join(dir, 'cluster'), nodes: [] };
    });
    const said: string[] = [];

    await cleanUp(state, (line) => said.push(line));
    await cleanUp(state, (line) => said.push(line));

    expect(said).toEqual([]);
    expect(state.current).toEqual({});
  });
});
