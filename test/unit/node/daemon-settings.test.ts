import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  daemonSettingsFrom,
  parseExecutorFlag,
  parseHostnameFlag,
  parseMeshAddrFlag,
  parseMeshFastPathFlag,
  parseMeshLbFlag,
  parseMeshWorkersFlag,
  parseMetricsAddrFlag,
} from '../../../src/cli/cluster/flags';
import { runCli } from '../../../src/cli/program';
import { autoMeshWorkers } from '../../../src/mesh/mesh-workers';
import { dataDirLayout } from '../../../src/node/data-dir';
import { type DaemonSettings, readNodeState, writeNodeState } from '../../../src/node/node-state';

/** A worker's node.json with the given kept settings. */
function writeWorkerState(file: string, settings: DaemonSettings): Promise<void> {
  return writeNodeState(file, {
    version: 1,
    nodeId: 'n1',
    clusterId: 'c1',
    role: 'worker',
    listenAddr: '127.0.0.9:4242',
    advertiseAddr: '127.0.0.9:4242',
    managers: ['127.0.0.2:4242'],
    initializedCluster: false,
    availability: 'active',
    raft: { tickMs: 100, electionTicks: 10, heartbeatTicks: 1 },
    settings,
  });
}

describe('daemon settings flags (init, join, daemon)', () => {
  it('keeps only what the flags give, over what the node kept', () => {
    const kept = { executor: 'docker' as const, meshAddr: '127.0.0.2', metricsAddr: '127.0.0.2:9323' };
    expect(daemonSettingsFrom({ meshLb: 'least-connections' }, kept, undefined)).toEqual({
      ...kept,
      meshLb: 'least-connections',
    });
    expect(daemonSettingsFrom({ metricsAddr: 'off', meshFastPath: 'off' }, kept, undefined)).toEqual({
      executor: 'docker',
      meshAddr: '127.0.0.2',
      meshFastPath: 'off',
    });
  });

  it('takes --mesh-fast-path as auto, on or off', () => {
    expect(
      daemonSettingsFrom({ meshFastPath: ' on ' }, { meshFastPath: 'off' }, undefined).meshFastPath,
    ).toBe('on');
    expect(daemonSettingsFrom({}, { meshFastPath: 'off' }, undefined).meshFastPath).toBe('off');
    expect(() => parseMeshFastPathFlag('yes')).toThrow('--mesh-fast-path: "yes" is not one of auto, on, off');
  });

  it('takes --mesh-workers as auto or a count, and auto is one worker per core', () => {
    expect(daemonSettingsFrom({ meshWorkers: 'auto' }, { meshWorkers: 0 }, undefined).meshWorkers).toBe(
      'auto',
    );
    expect(daemonSettingsFrom({ meshWorkers: ' 3 ' }, {}, undefined).meshWorkers).toBe(3);
    expect(daemonSettingsFrom({}, { meshWorkers: 0 }, undefined).meshWorkers).toBe(0);
    expect(() => parseMeshWorkersFlag('two')).toThrow(
      '--mesh-workers: "two" is not auto or a whole number 0-64',
    );
    expect(() => parseMeshWorkersFlag('-1')).toThrow('--mesh-workers');
    expect(() => parseMeshWorkersFlag('65')).toThrow('--mesh-workers');
    expect([1, 2, 4, 32].map((cores) => autoMeshWorkers(cores))).toEqual([0, 2, 4, 8]);
  });

  it('chooses the executor from --executor, else the kept choice, else ORCH_EXECUTOR', () => {
    expect(daemonSettingsFrom({ executor: 'hollow' }, { executor: 'docker' }, 'docker').executor).toBe(
      'hollow',
    );
    expect(daemonSettingsFrom({}, { executor: 'docker' }, 'hollow').executor).toBe('docker');
    expect(daemonSettingsFrom({}, {}, 'hollow').executor).toBe('hollow');
    expect(daemonSettingsFrom({}, {}, undefined).executor).toBeUndefined();
  });

  it('names the flag and the accepted form when a value is wrong', () => {
    expect(() => parseExecutorFlag('podman')).toThrow(
      '--executor: "podman" is not an executor: expected docker or hollow',
    );
    expect(() => parseExecutorFlag(undefined, 'lxc')).toThrow('ORCH_EXECUTOR=lxc is not an executor');
    expect(() => parseMeshLbFlag('random')).toThrow(
      '--mesh-lb: "random" is not one of round-robin, least-connections',
    );
    expect(() => parseMeshAddrFlag('127.0.0.2:80')).toThrow(/--mesh-addr: .* without a port/);
    expect(() => parseMeshAddrFlag('0.0.0.0')).toThrow('--mesh-addr: 0.0.0.0 is every interface');
    expect(() => parseMeshAddrFlag('300.1.1.1')).toThrow(/--mesh-addr/);
    expect(() => parseMetricsAddrFlag('127.0.0.1')).toThrow('--metrics-addr: "127.0.0.1" needs a port');
    expect(() => parseMetricsAddrFlag('127.0.0.1:70000')).toThrow(
      '--metrics-addr: port 70000 is out of range',
    );
  });

  it('keeps a node hostname, and goes back to the machine name when it is given empty', () => {
    expect(daemonSettingsFrom({ hostname: 'worker-1' }, { executor: 'docker' }, undefined)).toEqual({
      executor: 'docker',
      hostname: 'worker-1',
    });
    expect(daemonSettingsFrom({}, { hostname: 'worker-1' }, undefined).hostname).toBe('worker-1');
    expect(daemonSettingsFrom({ hostname: '' }, { hostname: 'worker-1' }, undefined)).toEqual({});
    expect(parseHostnameFlag('node-3.rack_a.example')).toBe('node-3.rack_a.example');
    for (const bad of ['-node', 'node-', 'a..b', 'two words', 'node:1', 'x'.repeat(64)])
      expect(() => parseHostnameFlag(bad)).toThrow(
        `--hostname: ${JSON.stringify(bad)} is not a host name: expected letters, digits, '-', '_' and dots, e.g. worker-1`,
      );
  });

  it('accepts addresses as users write them', () => {
    expect(parseMeshAddrFlag('127.0.0.3')).toBe('127.0.0.3');
    expect(parseMeshAddrFlag('[::1]')).toBe('::1');
    expect(parseMeshAddrFlag('node-1.example')).toBe('node-1.example');
    expect(parseMetricsAddrFlag('127.0.0.2:9323')).toBe('127.0.0.2:9323');
    expect(parseMetricsAddrFlag('[::1]:0')).toBe('[::1]:0');
  });
});

describe('orch daemon settings flags', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('keeps the flags it is given in node.json, for the next plain start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'orch-settings-'));
    dirs.push(dir);
    const layout = dataDirLayout(dir);
    await writeWorkerState(layout.nodeStateFile, { executor: 'docker', metricsAddr: '127.0.0.9:9323' });
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    let code: number;
    try {
      // The data dir has no certificate, so the daemon itself refuses to start after the flags are kept.
      code = await runCli([
        'node',
        'orch',
        'daemon',
        '--data-dir',
        dir,
        '--mesh-lb',
        'least-connections',
        '--mesh-addr',
        '127.0.0.10',
        '--hostname',
        'worker-9',
      ]);
    } finally {
      stderr.mockRestore();
    }
    expect(code).toBe(1);
    expect((await readNodeState(layout.nodeStateFile))?.settings).toEqual({
      executor: 'docker',
      metricsAddr: '127.0.0.9:9323',
      meshLb: 'least-connections',
      meshAddr: '127.0.0.10',
      hostname: 'worker-9',
    });
  });

  it('changes nothing when a daemon already runs on the data dir', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'orch-settings-'));
    dirs.push(dir);
    const layout = dataDirLayout(dir);
    const settings = { executor: 'docker' as const, meshAddr: '127.0.0.9' };
    await writeWorkerState(layout.nodeStateFile, settings);
    // The parent of this test process stands for the running daemon: alive, and not this process.
    writeFileSync(layout.pidFile, `${process.ppid}\n`);
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    let code: number;
    try {
      code = await runCli(['node', 'orch', 'daemon', '--data-dir', dir, '--mesh-addr', '127.0.0.10']);
    } finally {
      stderr.mockRestore();
    }
    expect(code).toBe(1);
    expect((await readNodeState(layout.nodeStateFile))?.settings).toEqual(settings);
  });
});
