// Routing mesh benchmark: requests/s and latency through the orch mesh (as a node runs it by
// default: the nftables kernel fast path when root, and its userspace proxy alone) next to a
// direct connection and HAProxy in TCP mode,
// all over the same 3 Node HTTP backends, measured with wrk on this machine in one run.
// Run through test/bench/mesh.sh (installs wrk and haproxy when missing, compiles, cleans up).
// Options: --duration SECONDS per run (default 4), --rounds N (default 3; the median run is reported,
// targets take turns in every round so that load from elsewhere hits them alike),
// --connections 1,16,64, --targets direct,naive,orch,orch-userspace,orch-1,haproxy (naive: a plain
// socket.pipe proxy in its own process, mesh-naive.ts, the floor a userspace proxy has to beat;
// orch: the daemon's defaults, kernel fast path when root over mesh worker processes, one per
// core; orch-userspace: the same with --mesh-fast-path off; orch-1: that in one process)
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';

interface Result {
  target: string;
  mode: 'keep-alive' | 'close';
  connections: number;
  rps: number;
  p50Us: number;
  p99Us: number;
  errors: number;
}

const children: ChildProcess[] = [];
let workDir: string | undefined;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

function cleanup(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null && child.pid) {
      try {
        process.kill(child.pid, 'SIGTERM');
      } catch {}
    }
  }
  if (workDir) rmSync(workDir, { recursive: true, force: true });
  workDir = undefined;
}

function start(
  command: string,
  args: string[],
  waitFor: RegExp,
): Promise<{ child: ChildProcess; line: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`${command} did not start: ${err || out}`)), 15_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = waitFor.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, line: m[0] });
      }
    });
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${command} exited (${code}): ${err.trim()}`));
    });
  });
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen({ host, port: 0 }, () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function waitListening(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + 10_000;
    const attempt = (): void => {
      const s = net.connect({ host, port }, () => {
        s.destroy();
        resolve();
      });
      s.on('error', () => {
        s.destroy();
        if (Date.now() > deadline) reject(new Error(`${host}:${port} never answered`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

function toMicros(value: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(value.trim());
  if (!m) return Number.NaN;
  const n = Number(m[1]);
  return m[2] === 'us' ? n : m[2] === 'ms' ? n * 1000 : n * 1_000_000;
}

function wrk(
  url: string,
  connections: number,
  seconds: number,
  close: boolean,
): Omit<Result, 'target' | 'mode'> {
  const args = [`-t${Math.min(2, connections)}`, `-c${connections}`, `-d${seconds}s`, '--latency'];
  if (close) args.push('-H', 'Connection: close');
  const out = execFileSync('wrk', [...args, url], { encoding: 'utf8' });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const p50Us = toMicros(/\s50%\s+(\S+)/.exec(out)?.[1] ?? '');
  const p99Us = toMicros(/\s99%\s+(\S+)/.exec(out)?.[1] ?? '');
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const errors = (socketErrors ? socketErrors.slice(1).reduce((a, b) => a + Number(b), 0) : 0) + non2xx;
  return { connections, rps, p50Us, p99Us, errors };
}

async function main(): Promise<void> {
  const seconds = Number(arg('duration', '4'));
  const rounds = Number(arg('rounds', '3'));
  const connectionLevels = arg('connections', '1,16,64').split(',').map(Number);
  const wanted = new Set(arg('targets', 'direct,naive,orch,orch-userspace,orch-1,haproxy').split(','));
  const here = __dirname;
  workDir = mkdtempSync(join(tmpdir(), 'orch-bench-mesh-'));

  const backendPorts: number[] = [];
  for (let i = 0; i < 3; i++) {
    const { line } = await start(
      process.execPath,
      [join(here, 'mesh-backend.js'), '127.0.0.1', `b${i}`],
      /^\d+\n/,
    );
    backendPorts.push(Number(line.trim()));
  }
  const backendList = backendPorts.map((p) => `127.0.0.1:${p}`);
  const targets: { name: string; url: string }[] = [];
  if (wanted.has('direct')) targets.push({ name: 'direct', url: `http://127.0.0.1:${backendPorts[0]}/` });

  if (wanted.has('naive')) {
    const address = '127.66.0.4';
    const port = await freePort(address);
    await start(
      process.execPath,
      [join(here, 'mesh-naive.js'), address, String(port), ...backendList],
      /ready/,
    );
    targets.push({ name: 'naive pipe proxy', url: `http://${address}:${port}/` });
  }
  const orchTargets = [
    { key: 'orch', name: 'orch mesh', address: '127.66.0.1', fastPath: 'auto', workers: 'auto' },
    {
      key: 'orch-userspace',
      name: 'orch userspace',
      address: '127.66.0.2',
      fastPath: 'off',
      workers: 'auto',
    },
    { key: 'orch-1', name: 'orch userspace 1 proc', address: '127.66.0.5', fastPath: 'off', workers: '0' },
  ];
  for (const t of orchTargets) {
    if (!wanted.has(t.key)) continue;
    const port = await freePort(t.address);
    const { line } = await start(
      process.execPath,
      [join(here, 'mesh-proxy.js'), t.fastPath, t.address, String(port), t.workers, ...backendList],
      /ready (kernel|userspace)/,
    );
    // The default names the path it took: the kernel's when root and nft allow.
    const name = t.key === 'orch' ? `${t.name} (${line.split(' ')[1]})` : t.name;
    targets.push({ name, url: `http://${t.address}:${port}/` });
  }
  if (wanted.has('haproxy')) {
    const address = '127.66.0.3';
    const port = await freePort(address);
    const config = join(workDir, 'haproxy.cfg');
    writeFileSync(
      config,
      [
        'global',
        '  maxconn 4096',
        'defaults',
        '  mode tcp',
        '  timeout connect 1s',
        '  timeout client 30s',
        '  timeout server 30s',
        'frontend mesh',
        `  bind ${address}:${port}`,
        '  default_backend tasks',
        'backend tasks',
        '  balance roundrobin',
        ...backendList.map((b, i) => `  server t${i} ${b}`),
        '',
      ].join('\n'),
    );
    const child = spawn('haproxy', ['-db', '-f', config], { stdio: 'ignore' });
    children.push(child);
    await waitListening(address, port);
    targets.push({ name: 'HAProxy (tcp)', url: `http://${address}:${port}/` });
  }

  const results: Result[] = [];
  const load = () => loadavg()[0]!.toFixed(1);
  process.stderr.write(`load average before: ${load()}\n`);
  for (const mode of ['keep-alive', 'close'] as const) {
    for (const connections of connectionLevels) {
      const runs = new Map<string, Omit<Result, 'target' | 'mode'>[]>();
      for (const target of targets) wrk(target.url, connections, 1, mode === 'close'); // warm-up (JIT, pools)
      for (let round = 0; round < rounds; round++) {
        // Rotate the order so that no target always runs first or last in a round.
        const order = targets.map((_, i) => targets[(i + round) % targets.length]!);
        for (const target of order) {
          const r = wrk(target.url, connections, seconds, mode === 'close');
          runs.set(target.name, [...(runs.get(target.name) ?? []), r]);
        }
      }
      for (const target of targets) {
        const all = runs.get(target.name)!;
        const median = [...all].sort((a, b) => a.rps - b.rps)[Math.floor(all.length / 2)]!;
        const r = { ...median, errors: all.reduce((sum, x) => sum + x.errors, 0) };
        results.push({ target: target.name, mode, ...r });
        process.stderr.write(
          `${mode.padEnd(10)} c=${String(connections).padEnd(3)} ${target.name.padEnd(22)} ${r.rps.toFixed(0).padStart(7)} req/s  p50 ${r.p50Us.toFixed(0)} us  p99 ${r.p99Us.toFixed(0)} us  (runs: ${all.map((x) => x.rps.toFixed(0)).join(', ')})${r.errors ? `  errors ${r.errors}` : ''}\n`,
        );
      }
    }
  }
  process.stderr.write(`load average after: ${load()}\n`);

  const find = (target: string, mode: string, c: number) =>
    results.find((r) => r.target === target && r.mode === mode && r.connections === c);
  const lines = [
    '| mode | conns | target | req/s | p50 | p99 | req/s vs HAProxy | p50 added vs direct | errors |',
    '| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of results) {
    const haproxy = find('HAProxy (tcp)', r.mode, r.connections);
    const direct = find('direct', r.mode, r.connections);
    const vsHaproxy = haproxy ? `${((r.rps / haproxy.rps) * 100).toFixed(0)}%` : '';
    const added = direct && r.target !== 'direct' ? `${(r.p50Us - direct.p50Us).toFixed(0)} µs` : '';
    lines.push(
      `| ${r.mode} | ${r.connections} | ${r.target} | ${r.rps.toFixed(0)} | ${r.p50Us.toFixed(0)} µs | ${r.p99Us.toFixed(0)} µs | ${vsHaproxy} | ${added} | ${r.errors} |`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

process.on('SIGINT', () => {
  cleanup();
  process.exit(130);
});
main()
  .catch((err) => {
    process.stderr.write(`bench: ${(err as Error).message}\n`);
    process.exitCode = 1;
  })
  .finally(cleanup);
