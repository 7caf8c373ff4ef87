// The routing mesh end to end (issue #7's ingress "Done when"), with real `orch` processes and real
// containers: one manager and two workers, each on its own loopback address, each running the mesh
// on it. A published port answers on every node and reaches the service's tasks wherever they run;
// killing a task container or a whole worker during a stream of requests is absorbed once the change
// converged (the failed requests meanwhile are printed, to be quoted); a taken port is refused; UDP is
// published too; --publish-add/--publish-rm reach every node's mesh; host mode binds on the task's
// node only, once per node; /metrics counts connections per service. All of it twice: on the
// default path (the kernel fast path where root and nft allow, as in CI) and with --mesh-fast-path off
// (the userspace proxy alone).
import { execFile, execFileSync } from 'node:child_process';
import * as dgram from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describeDocker, TEST_IMAGE } from '../support/docker';
import { OrchCluster } from './cluster-harness';
import { containersWithLabels, docker } from './support/docker-cli';
import { freePort } from './support/ports';
import { waitUntil } from './support/wait';

jest.setTimeout(60_000);

const HEARTBEAT_MS = 1000;
/** busybox httpd as PID 1 ignores SIGTERM: every stop lasts the grace period. */
const STOP_GRACE = '1s';
/** Answers its container's hostname on port 80 (and 8080, for a second target port). */
const HTTPD = ['sh', '-c', 'hostname > /www/index.html; httpd -p 8080 -h /www; exec httpd -f -p 80 -h /www'];

/**
 * A UDP echo server for the task (busybox has no UDP server applet): compiled static here and
 * bind-mounted into the container, so the image stays the stock one.
 */
const UDP_ECHO_C = `
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
int main(int argc, char **argv) {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET; a.sin_port = htons(atoi(argv[1])); a.sin_addr.s_addr = htonl(INADDR_ANY);
  if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) < 0) return 1;
  char buf[2048];
  for (;;) {
    struct sockaddr_in from; socklen_t len = sizeof from;
    ssize_t n = recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&from, &len);
    if (n >= 0) sendto(s, buf, (size_t)n, 0, (struct sockaddr *)&from, len);
  }
}
`;

/** One HTTP GET on a new connection (busybox httpd closes after each answer anyway). */
function get(host: string, port: number, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path: '/', agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () =>
        res.statusCode === 200 ? resolve(body.trim()) : reject(new Error(`HTTP ${res.statusCode}`)),
      );
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** `count` requests one after another; every answer (a task's hostname), failures as thrown errors. */
async function requests(host: string, port: number, count: number): Promise<string[]> {
  const answers: string[] = [];
  for (let i = 0; i < count; i++) answers.push(await get(host, port));
  return answers;
}

/** Whether a TCP connect to host:port is refused (nothing listens). */
function refused(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

function udpEcho(host: string, port: number, payload: string, timeoutMs = 1000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error('no UDP answer'));
    }, timeoutMs);
    socket.once('message', (message) => {
      clearTimeout(timer);
      socket.close();
      resolve(message.toString());
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      socket.close();
      reject(err);
    });
    socket.send(payload, port, host);
  });
}

/** Requests in a loop through some nodes' meshes until stopped: how many succeeded and failed. */
class RequestStream {
  ok = 0;
  failed = 0;
  /** Failures by kind (`ECONNRESET`, `socket hang up`, `timeout`…), for the printed report. */
  readonly failures = new Map<string, number>();
  /** Requests slower than 900 ms (a refused connect retried after the client's SYN retransmit). */
  slow = 0;
  private stopped = false;
  private readonly loop: Promise<void>;

  constructor(targets: ReadonlyArray<{ host: string; port: number }>) {
    this.loop = (async () => {
      for (let i = 0; !this.stopped; i++) {
        const target = targets[i % targets.length]!;
        const started = Date.now();
        try {
          await get(target.host, target.port);
          this.ok++;
          if (Date.now() - started > 900) this.slow++;
        } catch (err) {
          this.failed++;
          const kind = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
          this.failures.set(kind, (this.failures.get(kind) ?? 0) + 1);
        }
      }
    })();
  }

  /** Stops the stream; its counts as one line for the test output. */
  async stop(): Promise<{ ok: number; failed: number; report: string }> {
    this.stopped = true;
    await this.loop;
    const kinds = [...this.failures].map(([kind, n]) => `${kind} ${n}`).join(', ');
    const report = `${this.failed} failed${kinds ? ` (${kinds})` : ''} of ${this.ok + this.failed} requests, ${this.slow} answered after more than 900 ms`;
    return { ok: this.ok, failed: this.failed, report };
  }
}

/** Whether this machine gives the kernel fast path what it needs (root and a working nft). */
function kernelFastPathPossible(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('nft', ['list', 'tables'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function meshSuite(fastPath: 'auto' | 'off'): void {
  /** The daemon flag that picks the path under test (none: the default, auto). */
  const fastPathFlags = fastPath === 'off' ? ['--mesh-fast-path', 'off'] : [];
  const cluster = new OrchCluster({ executor: 'docker' });
  const scratch = mkdtempSync(join(tmpdir(), 'orch-mesh-test-'));
  let metricsAddr = '';
  let webPort = 0;
  let udpPort = 0;
  let hostPort = 0;

  const host = (n: number): string => cluster.addr(n).replace(/:\d+$/, '');

  async function orchOk(n: number, ...args: string[]): Promise<string> {
    const result = await cluster.orch(n, ...args);
    if (result.code !== 0) {
      throw new Error(`orch ${args.join(' ')} failed (${result.code}): ${result.stderr}\n${result.stdout}`);
    }
    return result.stdout;
  }

  /** Waits until the service's rolling update (if any) has completed: the next update reads a settled version. */
  async function updateCompleted(name: string): Promise<void> {
    await waitUntil(
      async () => {
        const [service] = JSON.parse(await orchOk(1, 'service', 'inspect', name)) as Array<{
          updateStatus: { state: string } | null;
        }>;
        return (service!.updateStatus?.state ?? 'UPDATE_STATE_COMPLETED') === 'UPDATE_STATE_COMPLETED';
      },
      { what: `the update of ${name} to complete`, timeoutMs: 20_000, intervalMs: 100 },
    );
  }

  async function serviceId(name: string): Promise<string> {
    const [service] = JSON.parse(await orchOk(1, 'service', 'inspect', name)) as Array<{
      meta: { id: string };
    }>;
    return service!.meta.id;
  }

  function runningContainers(service: string, onNode?: number): Promise<string[]> {
    const labels = [`orch.service.id=${service}`];
    if (onNode !== undefined) labels.push(`orch.node.id=${cluster.nodeId(onNode)}`);
    return containersWithLabels(labels, false);
  }

  /** Waits until every node's mesh answers on `port` with `count` distinct tasks among 3×count requests. */
  async function everyNodeReaches(port: number, count: number, nodes = [1, 2, 3]): Promise<void> {
    await waitUntil(
      async () => {
        for (const n of nodes) {
          const seen = new Set(await requests(host(n), port, count * 3));
          if (seen.size !== count) return false;
        }
        return true;
      },
      {
        what: `every node's mesh reaching ${count} tasks on port ${port}`,
        timeoutMs: 20_000,
        intervalMs: 100,
      },
    );
  }

  /**
   * The services of the tests below, created up front (detached) so that their containers start
   * side by side: echo (UDP, published), web (3 replicas, published), pinned (host mode, node 2).
   */
  async function createServices(): Promise<void> {
    hostPort = await freePort();
    writeFileSync(join(scratch, 'udp-echo.c'), UDP_ECHO_C);
    const gcc = ['-static', '-O1', '-o', join(scratch, 'udp-echo'), join(scratch, 'udp-echo.c')];
    await promisify(execFile)('gcc', gcc).catch((err: Error) => {
      throw new Error(
        `compiling the UDP echo server needs gcc and a static libc (build-essential): ${err.message}`,
      );
    });
    await orchOk(
      1,
      'service',
      'create',
      '--detach',
      '--name',
      'echo',
      '-p',
      `${udpPort}:53/udp`,
      '--mount',
      `type=bind,source=${scratch},target=/opt/echo,readonly`,
      '--stop-grace-period',
      STOP_GRACE,
      TEST_IMAGE,
      '/opt/echo/udp-echo',
      '53',
    );
    await orchOk(
      1,
      'service',
      'create',
      '--detach',
      '--name',
      'web',
      '--replicas',
      '3',
      '-p',
      `${webPort}:80`,
      '--stop-grace-period',
      STOP_GRACE,
      '--restart-delay',
      '200ms',
      // A port change replaces every task (as in Swarm); start the new ones first, all at once.
      '--update-parallelism',
      '0',
      '--update-order',
      'start-first',
      // Swarm's 5 s watch after each batch would only lengthen the test.
      '--update-monitor',
      '200ms',
      TEST_IMAGE,
      ...HTTPD,
    );
    await orchOk(
      1,
      'service',
      'create',
      '--detach',
      '--name',
      'pinned',
      '--replicas',
      '1',
      '--constraint',
      `node.id==${cluster.nodeId(2)}`,
      '-p',
      `published=${hostPort},target=80,mode=host`,
      '--stop-grace-period',
      STOP_GRACE,
      TEST_IMAGE,
      ...HTTPD,
    );
  }

  beforeAll(async () => {
    const metricsPort = await freePort();
    const init = await cluster.init(
      1,
      '--heartbeat-period',
      `${HEARTBEAT_MS / 1000}s`,
      '--metrics-addr',
      `${host(1)}:${metricsPort}`,
      ...fastPathFlags,
    );
    if (init.code !== 0) throw new Error(`init failed: ${init.stderr}`);
    metricsAddr = `${host(1)}:${metricsPort}`;
    const token = await cluster.token('worker', 1);
    for (const n of [2, 3]) {
      const joined = await cluster.join(n, token, 1, '--executor', 'docker', ...fastPathFlags);
      if (joined.code !== 0) throw new Error(`join of node ${n} failed: ${joined.stderr}\n${cluster.log(n)}`);
    }
    await waitUntil(async () => (await orchOk(1, 'node', 'ls')).match(/\bReady\b/g)?.length === 3, {
      what: 'three Ready nodes',
    });
    webPort = 18000 + Math.floor(Math.random() * 2000);
    udpPort = webPort + 1000;
    await createServices();
    // Forming a cluster of real daemons is the slow part on a loaded machine.
  }, 120_000);

  afterAll(async () => {
    try {
      await cluster.close();
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  it(`routes on ${fastPath === 'off' ? 'the userspace proxy alone' : 'the kernel fast path where root and nft allow'} on every node`, async () => {
    const expected = fastPath === 'off' ? 'off' : kernelFastPathPossible() ? 'on' : 'unavailable';
    for (const n of [1, 2, 3]) {
      expect(await orchOk(n, 'info')).toMatch(new RegExp(`^Kernel Fast Path: ${expected}`, 'm'));
    }
  });

  it('answers a published port on every node, each reaching all 3 tasks (30 requests per node)', async () => {
    const id = await serviceId('web');
    await waitUntil(async () => (await runningContainers(id)).length === 3, {
      what: 'three web containers running',
      timeoutMs: 20_000,
    });
    await everyNodeReaches(webPort, 3);
    for (const n of [1, 2, 3]) {
      const answers = await requests(host(n), webPort, 30);
      expect(answers).toHaveLength(30);
      expect(new Set(answers).size).toBe(3);
    }
    expect(await orchOk(1, 'service', 'ls')).toContain(`*:${webPort}->80/tcp`);
  });

  it('shows per-service connection counts on /metrics', async () => {
    const text = await (await fetch(`http://${metricsAddr}/metrics`)).text();
    const line = text
      .split('\n')
      .find(
        (l) =>
          l.startsWith('orch_mesh_connections_total{service="web"') &&
          l.includes(`published_port="${webPort}"`),
      );
    expect(line).toBeDefined();
    expect(Number(line!.split(' ').pop())).toBeGreaterThanOrEqual(30);
    expect(text).toMatch(/orch_mesh_backends\{service="web",service_id="[a-z0-9]+",state="healthy"\} 3/);
    expect(text).toContain('process_cpu_seconds_total');
  });

  it('refuses a second service asking for a published port, creating nothing', async () => {
    const taken = await cluster.orch(
      1,
      'service',
      'create',
      '--detach',
      '--name',
      'thief',
      '-p',
      `${webPort}:8080`,
      TEST_IMAGE,
      'sleep',
      '1000',
    );
    expect(taken.code).not.toBe(0);
    expect(taken.stderr).toContain(String(webPort));
    expect(await orchOk(1, 'service', 'ls')).not.toContain('thief');
  });

  it('applies --publish-add and --publish-rm on every node mesh', async () => {
    const extra = webPort + 3000;
    // --publish-rm removes by target port, as docker's does: the new port has its own target.
    await orchOk(1, 'service', 'update', '--detach', '--publish-add', `${extra}:8080`, 'web');
    await everyNodeReaches(extra, 3);
    await updateCompleted('web');
    await orchOk(1, 'service', 'update', '--detach', '--publish-rm', `${webPort}:80`, 'web');
    await waitUntil(
      async () => (await Promise.all([1, 2, 3].map((n) => refused(host(n), webPort)))).every(Boolean),
      { what: `port ${webPort} closed on every node`, timeoutMs: 20_000 },
    );
    await everyNodeReaches(extra, 3);
    await updateCompleted('web');
    webPort = extra;
  });

  it('publishes UDP: datagrams through any node reach the task and its answers come back', async () => {
    for (const n of [1, 2, 3]) {
      const answer = await waitUntil(() => udpEcho(host(n), udpPort, `ping via node ${n}`), {
        what: `a UDP echo through node ${n}`,
        timeoutMs: 20_000,
        intervalMs: 100,
      });
      expect(answer).toBe(`ping via node ${n}`);
    }
  });

  it('binds a host-mode port on the task node only, and never twice on one node', async () => {
    const id = await serviceId('pinned');
    const [container] = await waitUntil(
      async () => {
        const found = await runningContainers(id, 2);
        return found.length === 1 ? found : undefined;
      },
      { what: 'the pinned task running on node 2', timeoutMs: 20_000 },
    );
    // The engine binds the published port itself for the task (no dynamic port, no mesh), on the
    // node's own mesh address.
    const bound = (await docker(['port', container!, '80/tcp'])).stdout.trim();
    expect(bound).toBe(`${host(2)}:${hostPort}`);
    await waitUntil(() => get(host(2), hostPort), { what: 'the host-mode port answering on node 2' });

    // A second task for the same port on the same node is not scheduled.
    await orchOk(1, 'service', 'scale', '--detach', 'pinned=2');
    const ps = await waitUntil(
      async () => {
        const out = await orchOk(1, 'service', 'ps', '--no-trunc', 'pinned');
        return /Pending/.test(out) ? out : undefined;
      },
      { what: 'the second pinned task pending' },
    );
    expect(ps).toMatch(/host-mode port already in use/);
    expect(await runningContainers(id)).toHaveLength(1);
  });

  it('absorbs a killed task container once the change converged (failed requests printed)', async () => {
    const id = await serviceId('web');
    const targets = [1, 2, 3].map((n) => ({ host: host(n), port: webPort }));
    const stream = new RequestStream(targets);
    const [victim] = await runningContainers(id);
    await docker(['kill', victim!]);
    await waitUntil(
      async () => {
        const now = await runningContainers(id);
        return now.length === 3 && !now.includes(victim!);
      },
      { what: 'a replacement web container', timeoutMs: 20_000 },
    );
    await new Promise((resolve) => setTimeout(resolve, HEARTBEAT_MS));
    const during = await stream.stop();
    process.stdout.write(
      `mesh-service (fast path ${fastPath}): task container killed: ${during.report} during the change\n`,
    );
    await everyNodeReaches(webPort, 3);
    for (const n of [1, 2, 3]) expect(await requests(host(n), webPort, 30)).toHaveLength(30);
  });

  it('absorbs a lost worker (daemon and containers killed) once the change converged (failed requests printed)', async () => {
    const id = await serviceId('web');
    const targets = [1, 2].map((n) => ({ host: host(n), port: webPort }));
    const stream = new RequestStream(targets);
    // The whole machine goes: the daemon and the containers it ran.
    cluster.kill9(3);
    const lost = await runningContainers(id, 3);
    if (lost.length > 0) await docker(['kill', ...lost]);
    await waitUntil(
      async () => (await runningContainers(id, 1)).length + (await runningContainers(id, 2)).length === 3,
      { what: 'web rescheduled onto nodes 1 and 2', timeoutMs: 30_000 },
    );
    await new Promise((resolve) => setTimeout(resolve, HEARTBEAT_MS));
    const during = await stream.stop();
    process.stdout.write(
      `mesh-service (fast path ${fastPath}): worker lost: ${during.report} during the change\n`,
    );
    await everyNodeReaches(webPort, 3, [1, 2]);
    for (const n of [1, 2]) expect(await requests(host(n), webPort, 30)).toHaveLength(30);
  });
}

describeDocker('routing mesh across nodes (1 manager + 2 workers, Docker), default path', () =>
  meshSuite('auto'),
);
describeDocker('routing mesh across nodes (1 manager + 2 workers, Docker), --mesh-fast-path off', () =>
  meshSuite('off'),
);
