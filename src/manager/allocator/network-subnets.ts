// Cluster-wide VIP subnets of networks. Every network gets one IPv4 block from which its attached
// services' virtual IPs are drawn: the one its spec asks for (`orch network create --subnet`), or
// the next free /24 of the default pool 10.200.0.0/16. Blocks never overlap, so a VIP names exactly
// one service on one network. Chosen once, inside the create transaction, and kept in Network.ipam.

import type { IPAMConfig__Output } from '../../api/gen/types/orch/objects/IPAMConfig';
import { cidrSize, cidrsOverlap, formatCidr, type Ipv4Cidr, parseCidr } from '../../network/ipv4';
import type { Network } from '../../store';
import { FailedPreconditionError } from '../controlapi/control-errors';
import { SpecError } from '../spec';

/** Where networks created without --subnet get their VIP block. */
export const DEFAULT_VIP_POOL = '10.200.0.0/16';
/** Size of a block taken from the default pool. */
export const DEFAULT_VIP_PREFIX = 24;
/** Smallest block a network may ask for: a /30 holds two usable VIPs. */
export const MAX_SUBNET_PREFIX = 30;

/** The VIP block a network holds (its ipam, else its spec's), if any. */
export function networkSubnet(network: Pick<Network, 'ipam' | 'spec'>): Ipv4Cidr | undefined {
  const text = network.ipam[0]?.subnet || network.spec?.ipam[0]?.subnet;
  if (!text) return undefined;
  try {
    return parseCidr(text);
  } catch {
    return undefined;
  }
}

/**
 * The ipam to record for a new network: its requested subnet when valid and free, else the first
 * free block of the default pool. Throws SpecError (bad or overlapping subnet, field named) or
 * FailedPreconditionError (the pool is full).
 */
export function chooseNetworkIpam(
  requested: readonly IPAMConfig__Output[],
  existing: readonly Network[],
  pool = DEFAULT_VIP_POOL,
): IPAMConfig__Output[] {
  const taken = existing.flatMap((n) => {
    const subnet = networkSubnet(n);
    return subnet ? [{ subnet, name: n.spec?.name ?? n.meta?.id ?? '' }] : [];
  });
  if (requested.length > 1) throw new SpecError('spec.ipam', 'only one IPAM configuration is supported');
  const asked = requested[0];
  if (asked?.subnet) {
    let subnet: Ipv4Cidr;
    try {
      subnet = parseCidr(asked.subnet);
    } catch (err) {
      throw new SpecError('spec.ipam[0].subnet', (err as Error).message);
    }
    if (subnet.prefix > MAX_SUBNET_PREFIX || subnet.prefix < 8)
      throw new SpecError(
        'spec.ipam[0].subnet',
        `"${asked.subnet}": the prefix must be /8 to /${MAX_SUBNET_PREFIX}`,
      );
    const clash = taken.find((t) => cidrsOverlap(t.subnet, subnet));
    if (clash)
      throw new SpecError(
        'spec.ipam[0].subnet',
        `${formatCidr(subnet)} overlaps ${formatCidr(clash.subnet)} of network ${clash.name}`,
      );
    return [{ subnet: formatCidr(subnet), ipRange: '', gateway: '' }];
  }
  if (asked && (asked.ipRange || asked.gateway))
    throw new SpecError('spec.ipam[0]', 'ip range and gateway need a subnet');
  const block = parseCidr(pool);
  const step = 2 ** (32 - DEFAULT_VIP_PREFIX);
  for (let offset = 0; offset < cidrSize(block); offset += step) {
    const candidate = { network: block.network + offset, prefix: DEFAULT_VIP_PREFIX };
    if (!taken.some((t) => cidrsOverlap(t.subnet, candidate)))
      return [{ subnet: formatCidr(candidate), ipRange: '', gateway: '' }];
  }
  throw new FailedPreconditionError(
    `no free /${DEFAULT_VIP_PREFIX} left in the default VIP pool ${pool}: create the network with --subnet`,
  );
}
