// The leader's book of service virtual IPs (swarmkit's network allocator, VIP part). A service
// attached to networks gets one VIP per network, drawn from that network's VIP subnet (chosen at
// `network create`, see network-subnets.ts); the VIP stays with the service across updates and is
// freed when the service leaves the network or is removed. Tasks get one attachment per network
// (network ID and the spec's aliases) and no address of their own: the node's engine gives the
// container its address on the node's bridge, and other services reach it through the VIP.
// In memory only: rebuilt from the services' endpoints when the leader starts (restore).

import type { NetworkAttachment__Output } from '../../api/gen/types/orch/objects/NetworkAttachment';
import type { VirtualIP__Output } from '../../api/gen/types/orch/objects/VirtualIP';
import { addressOfCidr, cidrContains, formatIpv4, type Ipv4Cidr, parseIpv4 } from '../../network/ipv4';
import type { Network, ReadTx, Service, Task } from '../../store';
import { SpecError } from '../spec';
import { NetworkNotFoundError, VipRangeExhaustedError } from './allocator-errors';
import type { NetworkAllocator } from './network-hooks';
import { networkSubnet } from './network-subnets';

/** A network referenced by `target` (ID, name or unique ID prefix), if exactly one matches. */
export function resolveNetworkTarget(tx: ReadTx, target: string): Network | undefined {
  const ref = target.trim();
  if (!ref) return undefined;
  const found = tx.networks.get(ref) ?? tx.networks.getByName(ref);
  if (found) return found;
  const byPrefix = tx.networks.findByIdPrefix(ref);
  return byPrefix.length === 1 ? byPrefix[0] : undefined;
}

/**
 * The networks a service spec attaches to, resolved and de-duplicated in spec order, with the
 * aliases asked for on each. Throws NetworkNotFoundError naming the first unknown target.
 */
export function resolveServiceNetworks(
  tx: ReadTx,
  spec: Pick<NonNullable<Service['spec']>, 'networks'> | null,
): Array<{ network: Network; aliases: string[] }> {
  const result: Array<{ network: Network; aliases: string[] }> = [];
  (spec?.networks ?? []).forEach((attachment, index) => {
    const network = resolveNetworkTarget(tx, attachment.target);
    if (!network) throw new NetworkNotFoundError(index, attachment.target);
    const same = result.find((r) => r.network.meta?.id === network.meta?.id);
    if (same) same.aliases.push(...attachment.aliases.filter((a) => !same.aliases.includes(a)));
    else result.push({ network, aliases: [...attachment.aliases] });
  });
  return result;
}

/** Checks, inside a create or update transaction, that every network a spec names exists. */
export function checkServiceNetworks(spec: Pick<NonNullable<Service['spec']>, 'networks'>, tx: ReadTx): void {
  try {
    resolveServiceNetworks(tx, spec);
  } catch (err) {
    // A spec error at the API edge (INVALID_ARGUMENT naming the field), as docker refuses it.
    if (err instanceof NetworkNotFoundError)
      throw new SpecError(err.field, `network ${err.target} not found`);
    throw err;
  }
}

export class VipAllocator implements NetworkAllocator {
  /** Network ID → VIP (as a number) → service ID. */
  private readonly byNetwork = new Map<string, Map<number, string>>();
  /** Service ID → network ID → VIP. Invariant: the inverse of byNetwork. */
  private readonly byService = new Map<string, Map<string, number>>();
  /** Network ID → where the next search starts, so freed VIPs are not reused at once. */
  private readonly cursors = new Map<string, number>();

  /** The VIPs a service holds, as `networkId → 10.200.0.2` (for status and tests). */
  vipsOf(serviceId: string): Map<string, string> {
    return new Map([...(this.byService.get(serviceId) ?? [])].map(([net, ip]) => [net, formatIpv4(ip)]));
  }

  restore(tx: ReadTx): string[] {
    this.byNetwork.clear();
    this.byService.clear();
    this.cursors.clear();
    const stale: string[] = [];
    for (const service of tx.services.list().sort(byCreation)) {
      const id = service.meta?.id ?? '';
      let complete = true;
      for (const vip of service.endpoint?.virtualIps ?? []) {
        const network = tx.networks.get(vip.networkId);
        const subnet = network && networkSubnet(network);
        const ip = parseIpv4(addressOfCidr(vip.addr));
        const holder = ip === undefined ? undefined : this.byNetwork.get(vip.networkId)?.get(ip);
        if (
          !subnet ||
          ip === undefined ||
          !cidrContains(subnet, ip) ||
          (holder !== undefined && holder !== id)
        ) {
          complete = false;
          continue;
        }
        this.claim(id, vip.networkId, ip);
      }
      let wanted: string[] = [];
      try {
        wanted = resolveServiceNetworks(tx, service.spec).map((r) => r.network.meta?.id ?? '');
      } catch {
        complete = false;
      }
      const held = this.byService.get(id);
      if (wanted.length !== (held?.size ?? 0) || wanted.some((n) => !held?.has(n))) complete = false;
      if (!complete) stale.push(id);
    }
    return stale;
  }

  allocateService(service: Service, tx: ReadTx): VirtualIP__Output[] {
    const id = service.meta?.id ?? '';
    const attached = resolveServiceNetworks(tx, service.spec);
    const held = this.byService.get(id) ?? new Map<string, number>();
    // Decide everything first: a network with no VIP left changes nothing.
    const chosen = new Map<string, number>();
    for (const { network } of attached) {
      const networkId = network.meta?.id ?? '';
      const subnet = networkSubnet(network);
      if (!subnet) throw new VipRangeExhaustedError(network.spec?.name ?? networkId, 'no VIP subnet');
      const previous = held.get(networkId);
      chosen.set(networkId, previous ?? this.pickFree(networkId, network.spec?.name ?? networkId, subnet));
    }
    for (const [networkId, ip] of [...held]) if (chosen.get(networkId) !== ip) this.unclaim(id, networkId);
    for (const [networkId, ip] of chosen) this.claim(id, networkId, ip);
    return attached.map(({ network }) => {
      const networkId = network.meta?.id ?? '';
      return { networkId, addr: `${formatIpv4(chosen.get(networkId)!)}/${networkSubnet(network)!.prefix}` };
    });
  }

  allocateTask(_task: Task, service: Service, tx: ReadTx): NetworkAttachment__Output[] {
    const attached = resolveServiceNetworks(tx, service.spec);
    const vips = service.endpoint?.virtualIps ?? [];
    return attached.map(({ network, aliases }) => {
      const networkId = network.meta?.id ?? '';
      if (!vips.some((v) => v.networkId === networkId))
        throw new VipRangeExhaustedError(network.spec?.name ?? networkId, 'the service has no VIP on it yet');
      return { networkId, addresses: [], aliases };
    });
  }

  releaseService(serviceId: string): void {
    for (const networkId of [...(this.byService.get(serviceId)?.keys() ?? [])])
      this.unclaim(serviceId, networkId);
  }

  releaseTask(): void {
    // Tasks hold no address of their own.
  }

  /** The network was removed: forget its VIPs (its services were gone before, or lose them). */
  releaseNetwork(networkId: string): void {
    for (const serviceId of [...(this.byNetwork.get(networkId)?.values() ?? [])])
      this.unclaim(serviceId, networkId);
    this.byNetwork.delete(networkId);
    this.cursors.delete(networkId);
  }

  /** A free VIP of the subnet, neither its network nor its broadcast address. */
  private pickFree(networkId: string, name: string, subnet: Ipv4Cidr): number {
    const used = this.byNetwork.get(networkId);
    const size = 2 ** (32 - subnet.prefix);
    const first = subnet.prefix >= 31 ? 0 : 1;
    const usable = subnet.prefix >= 31 ? size : size - 2;
    const start = this.cursors.get(networkId) ?? 0;
    for (let i = 0; i < usable; i++) {
      const offset = (start + i) % usable;
      const ip = subnet.network + first + offset;
      if (!used?.has(ip)) {
        this.cursors.set(networkId, (offset + 1) % usable);
        return ip;
      }
    }
    throw new VipRangeExhaustedError(name, `every address of its subnet is taken`);
  }

  private claim(serviceId: string, networkId: string, ip: number): void {
    const ips = this.byNetwork.get(networkId) ?? new Map<number, string>();
    this.byNetwork.set(networkId, ips);
    ips.set(ip, serviceId);
    const nets = this.byService.get(serviceId) ?? new Map<string, number>();
    this.byService.set(serviceId, nets);
    nets.set(networkId, ip);
  }

  private unclaim(serviceId: string, networkId: string): void {
    const nets = this.byService.get(serviceId);
    const ip = nets?.get(networkId);
    if (ip === undefined) return;
    nets!.delete(networkId);
    if (nets!.size === 0) this.byService.delete(serviceId);
    const ips = this.byNetwork.get(networkId);
    if (ips?.get(ip) === serviceId) ips.delete(ip);
  }
}

function byCreation(a: Service, b: Service): number {
  const byTime = (a.meta?.createdAtMs ?? 0) - (b.meta?.createdAtMs ?? 0);
  if (byTime !== 0) return byTime;
  return (a.meta?.id ?? '') < (b.meta?.id ?? '') ? -1 : 1;
}
