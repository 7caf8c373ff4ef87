// The kernel fast path: nf_tables DNAT that load-balances new connections to a published port
// straight to a backend (`numgen inc mod N map {...}`), so established traffic never crosses
// userspace. Everything lives in one table per mesh address (`ip orch_mesh_127_0_0_2`), replaced
// atomically in a single `nft -f` transaction on every change and deleted on close (or when no
// port is left to route). It needs root and the `nft` binary (Debian package `nftables`); it
// installs nothing and changes no sysctl.
// Draining holds as in userspace: a removed backend leaves the map at once (no new connections),
// its established connections keep their conntrack NAT binding, and when the drain period ends
// its endpoint enters a `cut` set whose filter rules reset those connections on their next packet.
// A refused TCP connect is retried too, through userspace: the backend's reset to the bare SYN is
// dropped before the client sees it, the client's SYN retransmit (1 s later) reopens the
// connection, and a `retry_tcp` entry for its address and port sends it to the userspace listener,
// which tries the other backends. Named counters on the rules count connections and refusals per
// port for the metrics. What it cannot do (services needing it stay on the userspace proxy, see
// docs/mesh.md): retry without the client's 1 s retransmit, retry UDP, count bytes, or pick by
// least connections.
import { execFile, spawn } from 'node:child_process';
import { isIPv4 } from 'node:net';
import type { Logger } from 'pino';
import { MeshFastPathError } from './mesh-errors';
import type { MeshService } from './mesh-service';
import type { MeshProtocol } from './mesh-types';

/** One published port the kernel balances, over healthy IPv4 endpoints in round-robin order. */
export interface FastPathRoute {
  protocol: MeshProtocol;
  address: string;
  port: number;
  backends: { address: string; port: number }[];
}

/** A backend endpoint for one protocol. */
export interface FastPathEndpoint {
  protocol: MeshProtocol;
  address: string;
  port: number;
}

/** A drained endpoint whose kernel-routed connections are reset, for `timeoutS` more seconds. */
export interface FastPathCut extends FastPathEndpoint {
  timeoutS: number;
}

/** What the kernel counted for one published port (`tcp/8080`) since the fast path started. */
export interface FastPathCounts {
  /** New connections (TCP) or flows (UDP) it routed, refused ones included. */
  connections: number;
  /** TCP connects a backend refused (each retried through userspace). */
  refused: number;
}

/** What RoutingMesh needs from a fast path; NftablesFastPath is the implementation. */
export interface MeshFastPath {
  /** Per published port (`tcp/8080`), for the metrics. */
  counts?(): Promise<Map<string, FastPathCounts>>;
  /** Makes the kernel balance exactly `routes` (others are left to userspace). */
  apply(routes: readonly FastPathRoute[]): Promise<void>;
  /**
   * `endpoints` were removed from a service: their established kernel-routed connections may
   * run for `drainMs` more, then they are cut.
   */
  drain(endpoints: readonly FastPathEndpoint[], drainMs: number): void;
  /** Removes everything the fast path added and clears its timers. */
  close(): Promise<void>;
}

/** How long a drained endpoint stays in the cut set: connections idle longer than this survive. */
const CUT_TTL_S = 600;

/**
 * Conntrack marks of kernel-routed TCP connections: DNATed and not yet answered by the backend
 * (a reset now is a refused connect), and answered (a reset now is the backend's own business).
 */
const CT_MARK_CONNECTING = '0x0f5a0001';
const CT_MARK_ANSWERED = '0x0f5a0002';
/** A refused client connection is sent to userspace when its SYN comes again within this time. */
const RETRY_TTL_S = 10;

/**
 * The routes the kernel can serve with every behaviour it has: round-robin services on an IPv4
 * mesh address with at least one healthy IPv4 backend. A port without a route (no healthy
 * backend, least-connections, IPv6 or a host name) stays with the userspace listener, which
 * is always bound; with no backend at all it resets the client, as without a fast path.
 */
export function fastPathRoutes(meshAddress: string, services: Iterable<MeshService>): FastPathRoute[] {
  if (!isIPv4(meshAddress)) return [];
  const routes: FastPathRoute[] = [];
  for (const service of services) {
    if (service.spec.lb !== 'round-robin') continue;
    const selectable = service.pool.selectable();
    if (selectable.length === 0) continue;
    for (const port of service.spec.ports) {
      const backends = selectable.map((b) => service.endpointFor(b, port));
      if (!backends.every((b) => isIPv4(b.address))) continue;
      routes.push({ protocol: port.protocol, address: meshAddress, port: port.publishedPort, backends });
    }
  }
  return routes.sort((a, b) => a.port - b.port || a.protocol.localeCompare(b.protocol));
}

/**
 * `orch_mesh_127_0_0_2`: named after the mesh address, which one node at a time listens on, so
 * nodes sharing a host never touch each other's table, and a node that restarts on the address
 * replaces whatever its killed predecessor left there.
 */
export function nftTableName(meshAddress: string): string {
  return `orch_mesh_${meshAddress.replace(/[^A-Za-z0-9]/g, '_')}`;
}

/** The script that removes `table` if it exists (and does nothing otherwise). */
function deleteTableScript(table: string): string {
  return `table ip ${table} {}\ndelete table ip ${table}\n`;
}

/**
 * The whole table as one `nft -f` script. Deleting and re-creating the table in the same
 * transaction swaps the rules atomically; established connections keep their NAT binding
 * (it lives in conntrack, not in the rules), so they are not disturbed by an update.
 */
export function renderNftRuleset(
  table: string,
  meshAddress: string,
  routes: readonly FastPathRoute[],
  cuts: readonly FastPathCut[] = [],
): string {
  const dnatRules = routes.map((r) => {
    const targets = r.backends.map((b, i) => `${i} : ${b.address} . ${b.port}`).join(', ');
    const mark = r.protocol === 'tcp' ? `ct mark set ${CT_MARK_CONNECTING} ` : '';
    const counter = `counter name "${connectionsCounter(r.protocol, r.port)}" `;
    return `ip daddr ${r.address} ${r.protocol} dport ${r.port} ${mark}${counter}dnat ip to numgen inc mod ${r.backends.length} map { ${targets} }`;
  });
  const tcpRoutes = routes.filter((r) => r.protocol === 'tcp');
  const counters = [
    ...routes.map((r) => connectionsCounter(r.protocol, r.port)),
    ...tcpRoutes.map((r) => refusedCounter(r.port)),
  ];
  // A connection a backend refused comes back (the client's SYN retransmit) without NAT: to the
  // userspace listener on the same port, which retries the other backends.
  const rules = isIPv4(meshAddress)
    ? [`ip daddr ${meshAddress} ip saddr . tcp sport . ip daddr . tcp dport @retry_tcp accept`, ...dnatRules]
    : dnatRules;
  const lines = [
    `table ip ${table} {}`,
    `delete table ip ${table}`,
    `table ip ${table} {`,
    `  set retry_tcp { type ipv4_addr . inet_service . ipv4_addr . inet_service; flags timeout; }`,
    // Read at scrape time (counts()); a table swap starts them at 0, so the totals are carried.
    ...counters.map((name) => `  counter ${name} {}`),
    // Connections from this host (local clients, tests, the demo).
    '  chain mesh_output {',
    '    type nat hook output priority -100; policy accept;',
    ...rules.map((r) => `    ${r}`),
    '  }',
    // Connections arriving from other hosts on the mesh address.
    '  chain mesh_prerouting {',
    '    type nat hook prerouting priority -100; policy accept;',
    ...rules.map((r) => `    ${r}`),
    '  }',
  ];
  if (isIPv4(meshAddress)) {
    // A connection sent on to a backend on another host must come back through this node. One
    // to a backend on this host leaves from the mesh address too: the backend then sees the
    // routed connections on their own 4-tuples, never on one that a direct connection from the
    // same client port left in TIME_WAIT (the client's TCP timestamps differ per destination,
    // so the backend would refuse the SYN as old, PAWS, and the client would retry after 1 s).
    lines.push(
      '  chain mesh_postrouting {',
      '    type nat hook postrouting priority 100; policy accept;',
      `    ct status dnat ct original ip daddr ${meshAddress} oifname != "lo" masquerade`,
      `    ct status dnat ct original ip daddr ${meshAddress} oifname "lo" snat ip to ${meshAddress}`,
      '  }',
    );
    // Drained backends: connections this table routed to them are reset (TCP) or dropped (UDP),
    // both directions, on their next packet. Only connections made to the mesh address match.
    for (const protocol of ['tcp', 'udp'] as const) {
      const elements = cuts
        .filter((c) => c.protocol === protocol)
        .map((c) => `${c.address} . ${c.port} timeout ${c.timeoutS}s`);
      const content = elements.length > 0 ? ` elements = { ${elements.join(', ')} }` : '';
      lines.push(`  set cut_${protocol} { type ipv4_addr . inet_service; flags timeout;${content} }`);
    }
    // `established` keeps the resets these rules generate (state related) from being dropped in turn.
    const mine = `ct state established ct status dnat ct original ip daddr ${meshAddress}`;
    const cutRules = [
      `${mine} ip daddr . tcp dport @cut_tcp reject with tcp reset`,
      `${mine} ip saddr . tcp sport @cut_tcp reject with tcp reset`,
      `${mine} ip daddr . udp dport @cut_udp drop`,
      `${mine} ip saddr . udp sport @cut_udp drop`,
      // Retry on a refused connect: the backend's SYN-ACK marks the connection answered; its reset
      // to a bare SYN is dropped (the client keeps waiting, then sends its SYN again) and the
      // client's address and port go into retry_tcp for the nat chains above.
      `ct mark ${CT_MARK_CONNECTING} ct direction reply tcp flags & (syn | ack) == syn | ack ct mark set ${CT_MARK_ANSWERED}`,
      ...tcpRoutes.map(
        (r) =>
          `ct mark ${CT_MARK_CONNECTING} ct direction reply meta l4proto tcp ct original proto-dst ${r.port} tcp flags & rst == rst counter name "${refusedCounter(r.port)}"`,
      ),
      `ct mark ${CT_MARK_CONNECTING} ct direction reply tcp flags & rst == rst add @retry_tcp { ct original ip saddr . ct original proto-src . ct original ip daddr . ct original proto-dst timeout ${RETRY_TTL_S}s } drop`,
    ];
    for (const hook of ['output', 'forward']) {
      lines.push(
        `  chain mesh_filter_${hook} {`,
        `    type filter hook ${hook} priority 0; policy accept;`,
        ...cutRules.map((r) => `    ${r}`),
        '  }',
      );
    }
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

function connectionsCounter(protocol: MeshProtocol, port: number): string {
  return `conn_${protocol}_${port}`;
}

function refusedCounter(port: number): string {
  return `refused_tcp_${port}`;
}

/** `conn_tcp_8080` / `refused_tcp_8080` from `nft -j list counters`, as counts per `tcp/8080`. */
export function parseNftCounters(json: string): Map<string, FastPathCounts> {
  const counts = new Map<string, FastPathCounts>();
  const items = (JSON.parse(json) as { nftables?: { counter?: { name: string; packets: number } }[] })
    .nftables;
  for (const item of items ?? []) {
    const m = /^(conn|refused)_(tcp|udp)_(\d+)$/.exec(item.counter?.name ?? '');
    if (!m) continue;
    const key = `${m[2]}/${m[3]}`;
    const entry = counts.get(key) ?? { connections: 0, refused: 0 };
    if (m[1] === 'conn') entry.connections += item.counter!.packets;
    else entry.refused += item.counter!.packets;
    counts.set(key, entry);
  }
  return counts;
}

function addCounts(into: Map<string, FastPathCounts>, from: Map<string, FastPathCounts>): void {
  for (const [key, c] of from) {
    const entry = into.get(key) ?? { connections: 0, refused: 0 };
    entry.connections += c.connections;
    entry.refused += c.refused;
    into.set(key, entry);
  }
}

function runNft(nftPath: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(nftPath, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', (err) =>
      reject(new MeshFastPathError(`cannot run ${nftPath}: ${err.message}`, { cause: err })),
    );
    child.on('close', (code) => {
      if (code === 0) resolve(stdout);
      else reject(new MeshFastPathError(`nft ${args.join(' ')} failed (exit ${code}): ${stderr.trim()}`));
    });
    if (input !== undefined) {
      // nft reports its own failure through the exit code; a closed pipe adds nothing.
      child.stdin!.on('error', () => {});
      child.stdin!.end(input);
    }
  });
}

export type NftablesDetection = { available: true; nftPath: string } | { available: false; reason: string };

/** Whether the kernel fast path can work here: root, an `nft` binary, and nf_tables that answers. */
export async function detectNftables(nftPath = 'nft'): Promise<NftablesDetection> {
  if (process.platform !== 'linux') return { available: false, reason: 'not Linux' };
  if (process.getuid?.() !== 0) return { available: false, reason: 'not running as root' };
  const version = await new Promise<string | undefined>((resolve) => {
    execFile(nftPath, ['--version'], { timeout: 5_000 }, (err, stdout) => resolve(err ? undefined : stdout));
  });
  if (version === undefined) {
    return { available: false, reason: `'${nftPath}' not found (Debian package nftables)` };
  }
  try {
    await runNft(nftPath, ['list', 'tables']);
  } catch (err) {
    return { available: false, reason: `nf_tables does not answer: ${(err as Error).message}` };
  }
  return { available: true, nftPath };
}

export interface NftablesFastPathOptions {
  /** Also names the table (see nftTableName). */
  meshAddress: string;
  logger: Logger;
  nftPath?: string;
}

/** `--mesh-fast-path`: when root and nft allow (`auto`), required (`on`), or never (`off`). */
export type FastPathMode = 'auto' | 'on' | 'off';

/**
 * The fast path `mode` asks for, and what became of it (`on`, `off` or `unavailable: <why>`, as
 * `orch info` shows it). `auto` falls back to the userspace proxy alone (logged, with the reason);
 * `on` throws MeshFastPathError when the kernel path cannot work here.
 */
export async function startFastPath(
  mode: FastPathMode,
  options: NftablesFastPathOptions,
): Promise<{ fastPath: NftablesFastPath | undefined; state: string }> {
  if (mode === 'off') return { fastPath: undefined, state: 'off' };
  try {
    return { fastPath: await NftablesFastPath.create(options), state: 'on' };
  } catch (err) {
    if (!(err instanceof MeshFastPathError)) throw err;
    if (mode === 'on') {
      throw new MeshFastPathError(
        `--mesh-fast-path on: the kernel fast path cannot work here: ${err.message}`,
      );
    }
    options.logger.info(
      { reason: err.message },
      'kernel fast path unavailable; the userspace proxy serves every published port',
    );
    return { fastPath: undefined, state: `unavailable: ${err.message}` };
  }
}

export class NftablesFastPath implements MeshFastPath {
  readonly table: string;
  private readonly nftPath: string;
  private readonly logger: Logger;
  private installed = false;
  private closed = false;
  private routes: readonly FastPathRoute[] = [];
  /** Drained endpoints (`tcp|address|port`) and when they leave the cut set (epoch ms). */
  private readonly cuts = new Map<string, FastPathEndpoint & { untilMs: number }>();
  private readonly drainTimers = new Set<NodeJS.Timeout>();
  /** nft runs one at a time, in call order. */
  private queue: Promise<unknown> = Promise.resolve();
  /** What the counters of replaced tables had counted. */
  private readonly carried = new Map<string, FastPathCounts>();

  private constructor(
    private readonly options: NftablesFastPathOptions,
    nftPath: string,
  ) {
    this.table = nftTableName(options.meshAddress);
    this.nftPath = nftPath;
    this.logger = options.logger.child({ module: 'mesh-nft', table: this.table });
  }

  /**
   * A fast path when nftables works here. Removes what a killed daemon on the same mesh address
   * left in the kernel. Throws MeshFastPathError, saying why, when it cannot work here: callers
   * fall back to the userspace proxy alone, or refuse to start when the fast path was required.
   */
  static async create(options: NftablesFastPathOptions): Promise<NftablesFastPath> {
    const detected = await detectNftables(options.nftPath);
    if (!detected.available) throw new MeshFastPathError(detected.reason);
    const fastPath = new NftablesFastPath(options, detected.nftPath);
    await runNft(detected.nftPath, ['-f', '-'], deleteTableScript(fastPath.table));
    return fastPath;
  }

  apply(routes: readonly FastPathRoute[]): Promise<void> {
    this.routes = routes;
    return this.serialize(() => this.install());
  }

  drain(endpoints: readonly FastPathEndpoint[], drainMs: number): void {
    if (endpoints.length === 0 || this.closed) return;
    const timer = setTimeout(() => {
      this.drainTimers.delete(timer);
      const untilMs = Date.now() + CUT_TTL_S * 1000;
      for (const e of endpoints) this.cuts.set(`${e.protocol}|${e.address}|${e.port}`, { ...e, untilMs });
      this.serialize(() => this.install()).catch((err) =>
        this.logger.error({ err }, 'cannot cut drained connections in the kernel fast path'),
      );
    }, drainMs);
    timer.unref();
    this.drainTimers.add(timer);
  }

  private async install(): Promise<void> {
    if (this.closed) return;
    const now = Date.now();
    const routed = new Set(
      this.routes.flatMap((r) => r.backends.map((b) => `${r.protocol}|${b.address}|${b.port}`)),
    );
    const cuts: FastPathCut[] = [];
    for (const [key, cut] of this.cuts) {
      // An expired entry, or an endpoint that serves again (a new task on the same host port).
      if (cut.untilMs <= now || routed.has(key)) this.cuts.delete(key);
      else
        cuts.push({
          protocol: cut.protocol,
          address: cut.address,
          port: cut.port,
          timeoutS: Math.ceil((cut.untilMs - now) / 1000),
        });
    }
    // The swap restarts every counter at 0: keep what they counted (packets counted between this
    // read and the swap are lost; there are few, and updates are rare).
    if (this.installed) addCounts(this.carried, await this.readCounters());
    if (this.routes.length === 0 && cuts.length === 0) {
      // Nothing to route and no connection to cut: no table at all.
      if (this.installed) await runNft(this.nftPath, ['-f', '-'], deleteTableScript(this.table));
      this.installed = false;
    } else {
      const script = renderNftRuleset(this.table, this.options.meshAddress, this.routes, cuts);
      await runNft(this.nftPath, ['-f', '-'], script);
      this.installed = true;
    }
    this.logger.debug({ routes: this.routes.length, cuts: cuts.length }, 'kernel fast path updated');
  }

  /** The kernel's counts per published port since this fast path started. */
  counts(): Promise<Map<string, FastPathCounts>> {
    return this.serialize(async () => {
      const counts = new Map<string, FastPathCounts>();
      addCounts(counts, this.carried);
      if (this.installed && !this.closed) addCounts(counts, await this.readCounters());
      return counts;
    });
  }

  private async readCounters(): Promise<Map<string, FastPathCounts>> {
    return parseNftCounters(
      await runNft(this.nftPath, ['-j', 'list', 'counters', 'table', 'ip', this.table]),
    );
  }

  private serialize<T>(op: () => Promise<T>): Promise<T> {
    const run = this.queue.then(op);
    this.queue = run.catch(() => {});
    return run;
  }

  /** The table as nft prints it, '' when there is none (for diagnostics and tests). */
  list(): Promise<string> {
    return this.serialize(async () =>
      this.installed ? runNft(this.nftPath, ['list', 'table', 'ip', this.table]) : '',
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.drainTimers) clearTimeout(timer);
    this.drainTimers.clear();
    await this.queue;
    if (!this.installed) return;
    this.installed = false;
    await runNft(this.nftPath, ['-f', '-'], deleteTableScript(this.table));
  }
}
