// IPv4 addresses and CIDR blocks as plain numbers: parsing with errors that say what is wrong,
// formatting, containment and overlap. Shared by the manager's network allocator (VIP subnets and
// VIPs) and the node's networking (DNS answers, nftables rules). Pure; IPv6 is not supported.

export interface Ipv4Cidr {
  /** The network address (host bits cleared), as an unsigned 32-bit number. */
  readonly network: number;
  readonly prefix: number;
}

/** The 32-bit value of a dotted quad, or undefined when `text` is not one. */
export function parseIpv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

export function formatIpv4(value: number): string {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
}

/** `10.200.3.0/24`; throws a one-line problem description (no field name) when malformed. */
export function parseCidr(text: string): Ipv4Cidr {
  const slash = text.indexOf('/');
  if (slash < 0)
    throw new Error(`"${text}" is not a CIDR block: expected ADDRESS/PREFIX, e.g. 10.200.0.0/24`);
  const address = parseIpv4(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  const prefix = /^\d{1,2}$/.test(prefixText) ? Number(prefixText) : -1;
  if (address === undefined) throw new Error(`"${text}" is not a CIDR block: the address is not IPv4`);
  if (prefix < 0 || prefix > 32) throw new Error(`"${text}" is not a CIDR block: the prefix must be 0-32`);
  return { network: (address & prefixMask(prefix)) >>> 0, prefix };
}

export function formatCidr(cidr: Ipv4Cidr): string {
  return `${formatIpv4(cidr.network)}/${cidr.prefix}`;
}

export function prefixMask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** Number of addresses in the block. */
export function cidrSize(cidr: Ipv4Cidr): number {
  return 2 ** (32 - cidr.prefix);
}

export function cidrContains(cidr: Ipv4Cidr, address: number): boolean {
  return (address & prefixMask(cidr.prefix)) >>> 0 === cidr.network;
}

export function cidrsOverlap(a: Ipv4Cidr, b: Ipv4Cidr): boolean {
  const prefix = Math.min(a.prefix, b.prefix);
  const mask = prefixMask(prefix);
  return (a.network & mask) >>> 0 === (b.network & mask) >>> 0;
}

/** The address part of `10.200.0.5/24` (or of a bare address). */
export function addressOfCidr(text: string): string {
  const slash = text.indexOf('/');
  return slash < 0 ? text : text.slice(0, slash);
}
