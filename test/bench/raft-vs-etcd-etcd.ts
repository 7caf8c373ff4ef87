// A three-member etcd cluster on loopback for the raft-vs-etcd benchmark: Debian's etcd-server
// (installed with apt-get when missing), temp data dirs, v3 JSON gateway for puts.
import { execFileSync } from 'node:child_process';
import type { HttpClient } from '../integration/support/http-client';
import { freePorts } from '../integration/support/ports';
import type { ProcessGroup, TrackedProcess } from '../integration/support/processes';
import type { TempDirs } from '../integration/support/temp-dirs';
import { waitUntil } from '../integration/support/wait';

function hasEtcd(): boolean {
  try {
    execFileSync('etcd', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Installs Debian's etcd-server and etcd-client when etcd is not on PATH. */
export function ensureEtcd(): void {
  if (hasEtcd()) return;
  console.error('installing etcd-server and etcd-client with apt-get ...');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-q'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-q', 'etcd-server', 'etcd-client'], { stdio: 'inherit', env });
}

export function etcdVersion(): string {
  return execFileSync('etcd', ['--version']).toString().split('\n')[0]!.replace('etcd Version: ', '');
}

export interface EtcdMember {
  name: string;
  client: string;
  peer: string;
  dataDir: string;
  process: TrackedProcess;
}

export class EtcdCluster {
  private constructor(readonly members: EtcdMember[]) {}

  static async start(processes: ProcessGroup, dirs: TempDirs, http: HttpClient): Promise<EtcdCluster> {
    const ports = await freePorts(6);
    const specs = [0, 1, 2].map((i) => ({
      name: `e${i + 1}`,
      client: `127.0.0.1:${ports[2 * i]}`,
      peer: `127.0.0.1:${ports[2 * i + 1]}`,
      dataDir: dirs.make(`etcd-e${i + 1}`),
    }));
    const initialCluster = specs.map((s) => `${s.name}=http://${s.peer}`).join(',');
    const members = specs.map((s) => ({
      ...s,
      process: processes.spawn(
        'etcd',
        [
          '--name',
          s.name,
          '--data-dir',
          s.dataDir,
          '--listen-client-urls',
          `http://${s.client}`,
          '--advertise-client-urls',
          `http://${s.client}`,
          '--listen-peer-urls',
          `http://${s.peer}`,
          '--initial-advertise-peer-urls',
          `http://${s.peer}`,
          '--initial-cluster',
          initialCluster,
          '--initial-cluster-state',
          'new',
          '--initial-cluster-token',
          'orch-bench',
          '--logger',
          'zap',
          '--log-level',
          'error',
        ],
        { name: `etcd-${s.name}` },
      ),
    }));
    const cluster = new EtcdCluster(members);
    await waitUntil(
      async () => {
        for (const m of members) {
          const res = await http.request(m.client, 'GET', '/health', { timeoutMs: 1000 });
          if (res.status !== 200 || !res.body.includes('true')) return false;
        }
        return true;
      },
      { what: 'etcd members to report healthy', timeoutMs: 30_000 },
    );
    return cluster;
  }

  /** The member currently leading (asks each member's maintenance status). */
  async leader(http: HttpClient, among: EtcdMember[] = this.members): Promise<EtcdMember> {
    return waitUntil(
      async () => {
        for (const m of among) {
          const res = await http.request(m.client, 'POST', '/v3/maintenance/status', {
            body: '{}',
            timeoutMs: 1000,
          });
          if (res.status !== 200) continue;
          const status = JSON.parse(res.body) as { leader?: string; header?: { member_id?: string } };
          if (status.leader && status.leader === status.header?.member_id) return m;
        }
        return undefined;
      },
      { what: 'an etcd leader', timeoutMs: 15_000 },
    );
  }
}

/** One etcd put through the v3 JSON gateway; throws unless it succeeded. */
export async function etcdPut(
  http: HttpClient,
  member: string,
  key: string,
  value: string,
  timeoutMs = 10_000,
) {
  const body = JSON.stringify({
    key: Buffer.from(key).toString('base64'),
    value: Buffer.from(value).toString('base64'),
  });
  const res = await http.request(member, 'POST', '/v3/kv/put', { body, timeoutMs });
  if (res.status !== 200 || res.body.includes('"error"'))
    throw new Error(`etcd put: ${res.status} ${res.body}`);
}
