import { formatInfo } from '../../../src/cli/info';
import type { NodeInfoReport } from '../../../src/node/node-admin';

const worker: NodeInfoReport = {
  nodeId: 'n1',
  clusterId: 'c1',
  role: 'worker',
  state: 'ready',
  isLeader: false,
  leaderId: '',
  raftMembership: 'none',
  pid: 42,
  listenAddr: '127.0.0.3:4242',
  advertiseAddr: '127.0.0.3:4242',
  dataDir: '/var/lib/orch',
  executor: 'docker',
  meshAddr: '127.0.0.3',
  meshLb: 'round-robin',
  metricsAddr: '',
  meshServices: 2,
  meshWorkers: 2,
  meshFastPath: 'on',
};

describe('orch info', () => {
  it('says how the daemon runs: executor, routing mesh and metrics endpoint', () => {
    const text = formatInfo({ ...worker, metricsAddr: '127.0.0.3:9323' });
    expect(text).toContain('Executor: docker\n');
    expect(text).toContain('Routing Mesh: 127.0.0.3 (round-robin, 2 mesh workers, 2 published services)\n');
    expect(text).toContain('Kernel Fast Path: on\n');
    expect(text).toContain('Metrics: http://127.0.0.3:9323/metrics\n');
  });

  it('says when metrics are not served, and leaves out the cluster lines on a worker', () => {
    const text = formatInfo(worker);
    expect(text).toContain('Metrics: (off)\n');
    expect(text).not.toContain('Managers:');
  });
});
