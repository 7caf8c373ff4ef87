// Kernel rules that make service VIPs answer inside this node's containers. One nftables table per
// node (`ip orch_net_<nodeId>`, so nodes sharing a kernel never touch each other's rules), replaced
// whole in one `nft -f` transaction on every change and deleted on close. For each network bridge
// of this node, each VIP on it and each forwarded port:
//
//   iifname "br-1a2b3c4d5e6f" ip daddr 10.200.0.2 tcp dport 80 dnat ip to 172.18.0.1:20001
//
// i.e. a connection from a container of that bridge to a VIP goes to this node's VIP listener on the
// bridge gateway, which balances it over the service's tasks on every node. Matching the input
// bridge keeps the rule to this node's own containers: another node's bridge has its own rules.
import { spawn } from 'node:child_process';
import type { Logger } from 'pino';
import { detectNftables } from '../mesh';

export interface VipRoute {
  /** The Linux bridge of this node's engine network (`br-<12 hex>`). */
  bridge: string;
  vip: string;
  protocol: 'tcp' | 'udp';
  port: number;
  /** Where this node's listener for that VIP port is: the bridge gateway and a local port. */
  toAddress: string;
  toPort: number;
}

export class VipRulesError extends Error {
  override name = 'VipRulesError';
}

/** `orch_net_<node>`, with the node id reduced to characters nft accepts. */
export function vipTableName(nodeId: string): string {
  const safe = nodeId.replace(/[^A-Za-z0-9_]/g, '_').slice(0, 48);
  return `orch_net_${safe || 'node'}`;
}

const INTERFACE_PATTERN = /^[A-Za-z0-9_.-]{1,15}$/;
const IPV4_PATTERN = /^\d{1,3}(\.\d{1,3}){3}$/;

/** The whole table as one `nft -f` script: create-if-missing, delete, define (atomic swap). */
export function renderVipRuleset(table: string, routes: readonly VipRoute[]): string {
  const rules = [...routes]
    .sort((a, b) => key(a).localeCompare(key(b)))
    .map((r) => {
      if (!INTERFACE_PATTERN.test(r.bridge))
        throw new VipRulesError(`invalid bridge name ${JSON.stringify(r.bridge)}`);
      if (!IPV4_PATTERN.test(r.vip) || !IPV4_PATTERN.test(r.toAddress))
        throw new VipRulesError(`VIP routes are IPv4 only: ${r.vip} -> ${r.toAddress}`);
      return `    iifname "${r.bridge}" ip daddr ${r.vip} ${r.protocol} dport ${r.port} dnat ip to ${r.toAddress}:${r.toPort}`;
    });
  return [
    `table ip ${table} {}`,
    `delete table ip ${table}`,
    `table ip ${table} {`,
    '  chain vip_prerouting {',
    '    type nat hook prerouting priority dstnat; policy accept;',
    ...rules,
    '  }',
    '}',
    '',
  ].join('\n');
}

/** Marks "no table": what apply([]) leaves before any route existed. */
const EMPTY = '';

/** Deletes the table if it exists (creating it first makes the delete safe when it does not). */
function deleteScript(table: string): string {
  return `table ip ${table} {}\ndelete table ip ${table}\n`;
}

function key(r: VipRoute): string {
  return `${r.bridge} ${r.vip} ${r.protocol} ${String(r.port).padStart(5, '0')}`;
}

function runNft(nftPath: string, args: string[], input?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(nftPath, args, {
      stdio: [input === undefined ? 'ignore' : 'pipe', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', (err) =>
      reject(new VipRulesError(`cannot run ${nftPath}: ${err.message}`, { cause: err })),
    );
    child.on('close', (code) =>
      code === 0
        ? resolve()
        : reject(new VipRulesError(`nft ${args.join(' ')} failed (exit ${code}): ${stderr.trim()}`)),
    );
    if (input !== undefined) {
      child.stdin!.on('error', () => {});
      child.stdin!.end(input);
    }
  });
}

/** Owns this node's VIP table. Updates are serialized; an identical ruleset is not applied again. */
export class VipNftables {
  private applied: string | undefined;
  private queue: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(
    private readonly nftPath: string,
    private readonly table: string,
    private readonly logger: Logger,
  ) {}

  /** Undefined (logged once, with the reason) when nftables cannot be used here: not root, no nft. */
  static async create(options: {
    nodeId: string;
    logger: Logger;
    nftPath?: string;
  }): Promise<VipNftables | undefined> {
    const detection = await detectNftables(options.nftPath);
    if (!detection.available) {
      options.logger.warn(
        { reason: detection.reason },
        'nftables unavailable: service VIPs will not answer inside containers (DNS still does)',
      );
      return undefined;
    }
    return new VipNftables(detection.nftPath, vipTableName(options.nodeId), options.logger);
  }

  get tableName(): string {
    return this.table;
  }

  /**
   * Replaces the table with exactly these routes. The first call also clears what a previous run
   * of this node left (a SIGKILLed daemon cannot delete its table); with no route, no table, so a
   * node whose last VIP went away leaves nothing in the kernel even if it is killed later.
   */
  apply(routes: readonly VipRoute[]): Promise<void> {
    const script = routes.length === 0 ? EMPTY : renderVipRuleset(this.table, routes);
    const next = this.queue.then(async () => {
      if (this.closed || script === this.applied) return;
      if (script === EMPTY) {
        await runNft(this.nftPath, ['-f', '-'], deleteScript(this.table));
        this.applied = EMPTY;
        return;
      }
      await runNft(this.nftPath, ['-f', '-'], script);
      this.applied = script;
      this.logger.debug({ table: this.table, routes: routes.length }, 'VIP rules applied');
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Deletes the table. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue;
    if (this.applied === undefined || this.applied === EMPTY) return;
    await runNft(this.nftPath, ['-f', '-'], deleteScript(this.table)).catch((err: unknown) =>
      this.logger.warn({ err }, 'removing the VIP rules failed'),
    );
  }
}
