// The DNS wire format (RFC 1035) as far as the embedded DNS needs it: parse a query (header and
// question; the rest is kept as bytes so a forwarded query goes out unchanged), and build answers:
// A records, NXDOMAIN, SERVFAIL, NOTIMP, FORMERR. Names are compared lower-case without the trailing
// dot. Compression pointers are followed when reading and never written. Pure.

export const DNS_TYPE_A = 1;
export const DNS_TYPE_AAAA = 28;
export const DNS_CLASS_IN = 1;

export const RCODE_NOERROR = 0;
export const RCODE_FORMERR = 1;
export const RCODE_SERVFAIL = 2;
export const RCODE_NXDOMAIN = 3;
export const RCODE_NOTIMP = 4;

const HEADER_BYTES = 12;
const FLAG_QR = 0x8000;
const FLAG_AA = 0x0400;
const FLAG_RD = 0x0100;
const FLAG_RA = 0x0080;
const MAX_LABEL_BYTES = 63;
const MAX_POINTER_HOPS = 32;

export class DnsFormatError extends Error {
  override name = 'DnsFormatError';
}

export interface DnsQuestion {
  /** Lower-case, no trailing dot (`web`, `tasks.web.appnet`). */
  name: string;
  type: number;
  klass: number;
}

export interface DnsQuery {
  id: number;
  /** The opcode (0: a standard query). */
  opcode: number;
  recursionDesired: boolean;
  questions: DnsQuestion[];
}

/** Reads the header and questions of a query. Throws DnsFormatError on anything malformed. */
export function parseDnsQuery(packet: Buffer): DnsQuery {
  if (packet.length < HEADER_BYTES) throw new DnsFormatError('message shorter than a DNS header');
  const flags = packet.readUInt16BE(2);
  if (flags & FLAG_QR) throw new DnsFormatError('not a query');
  const count = packet.readUInt16BE(4);
  let offset = HEADER_BYTES;
  const questions: DnsQuestion[] = [];
  for (let i = 0; i < count; i++) {
    const { name, next } = readName(packet, offset);
    if (next + 4 > packet.length) throw new DnsFormatError('question cut short');
    questions.push({ name, type: packet.readUInt16BE(next), klass: packet.readUInt16BE(next + 2) });
    offset = next + 4;
  }
  return {
    id: packet.readUInt16BE(0),
    opcode: (flags >> 11) & 0xf,
    recursionDesired: (flags & FLAG_RD) !== 0,
    questions,
  };
}

function readName(packet: Buffer, start: number): { name: string; next: number } {
  const labels: string[] = [];
  let offset = start;
  let next = -1;
  for (let hops = 0; ; ) {
    if (offset >= packet.length) throw new DnsFormatError('name runs past the message');
    const length = packet[offset]!;
    if ((length & 0xc0) === 0xc0) {
      if (offset + 1 >= packet.length) throw new DnsFormatError('compression pointer cut short');
      if (++hops > MAX_POINTER_HOPS) throw new DnsFormatError('compression loop');
      if (next < 0) next = offset + 2;
      offset = ((length & 0x3f) << 8) | packet[offset + 1]!;
      continue;
    }
    if (length & 0xc0) throw new DnsFormatError('unknown label type');
    if (length === 0) {
      if (next < 0) next = offset + 1;
      break;
    }
    if (offset + 1 + length > packet.length) throw new DnsFormatError('label runs past the message');
    labels.push(packet.toString('latin1', offset + 1, offset + 1 + length).toLowerCase());
    offset += 1 + length;
  }
  return { name: labels.join('.'), next };
}

function writeName(name: string): Buffer {
  const parts: Buffer[] = [];
  for (const label of name.split('.').filter((l) => l.length > 0)) {
    const bytes = Buffer.from(label, 'latin1');
    if (bytes.length > MAX_LABEL_BYTES) throw new DnsFormatError(`label longer than 63 bytes in ${name}`);
    parts.push(Buffer.from([bytes.length]), bytes);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

export interface DnsAnswerOptions {
  rcode: number;
  /** IPv4 addresses answering the first question (type A). */
  addresses?: readonly string[];
  ttlSeconds?: number;
  /** We are the authority for the name (service names); false for relayed failures. */
  authoritative?: boolean;
}

/** A response to `query` echoing its first question, with A records when given. */
export function buildDnsResponse(query: DnsQuery, options: DnsAnswerOptions): Buffer {
  const question = query.questions[0];
  let flags = FLAG_QR | FLAG_RA | (query.opcode << 11) | (options.rcode & 0xf);
  if (query.recursionDesired) flags |= FLAG_RD;
  if (options.authoritative) flags |= FLAG_AA;
  const addresses = question ? (options.addresses ?? []) : [];
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt16BE(query.id, 0);
  header.writeUInt16BE(flags, 2);
  header.writeUInt16BE(question ? 1 : 0, 4);
  header.writeUInt16BE(addresses.length, 6);
  const parts: Buffer[] = [header];
  if (question) {
    const fixed = Buffer.alloc(4);
    fixed.writeUInt16BE(question.type, 0);
    fixed.writeUInt16BE(question.klass, 2);
    parts.push(writeName(question.name), fixed);
    for (const address of addresses) {
      const record = Buffer.alloc(16);
      record.writeUInt16BE(0xc000 | HEADER_BYTES, 0); // pointer to the question's name
      record.writeUInt16BE(DNS_TYPE_A, 2);
      record.writeUInt16BE(DNS_CLASS_IN, 4);
      record.writeUInt32BE(options.ttlSeconds ?? 0, 6);
      record.writeUInt16BE(4, 10);
      const octets = address.split('.');
      for (let i = 0; i < 4; i++) record.writeUInt8(Number(octets[i] ?? 0) & 255, 12 + i);
      parts.push(record);
    }
  }
  return Buffer.concat(parts);
}

/** A minimal FORMERR answer for a packet we could not parse (only its ID is echoed). */
export function buildFormatError(packet: Buffer): Buffer | undefined {
  if (packet.length < 2) return undefined;
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt16BE(packet.readUInt16BE(0), 0);
  header.writeUInt16BE(FLAG_QR | RCODE_FORMERR, 2);
  return header;
}

/** A query for `name` (tests and the forwarder's health checks). */
export function buildDnsQuery(id: number, name: string, type = DNS_TYPE_A): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(FLAG_RD, 2);
  header.writeUInt16BE(1, 4);
  const fixed = Buffer.alloc(4);
  fixed.writeUInt16BE(type, 0);
  fixed.writeUInt16BE(DNS_CLASS_IN, 2);
  return Buffer.concat([header, writeName(name), fixed]);
}

export interface DnsResponseSummary {
  id: number;
  rcode: number;
  authoritative: boolean;
  /** The A records of the answer section, in order. */
  addresses: string[];
}

/** Reads a response's rcode and A records (tests, and checking forwarded answers). */
export function parseDnsResponse(packet: Buffer): DnsResponseSummary {
  if (packet.length < HEADER_BYTES) throw new DnsFormatError('message shorter than a DNS header');
  const flags = packet.readUInt16BE(2);
  const questions = packet.readUInt16BE(4);
  const answers = packet.readUInt16BE(6);
  let offset = HEADER_BYTES;
  for (let i = 0; i < questions; i++) offset = readName(packet, offset).next + 4;
  const addresses: string[] = [];
  for (let i = 0; i < answers; i++) {
    offset = readName(packet, offset).next;
    if (offset + 10 > packet.length) throw new DnsFormatError('record cut short');
    const type = packet.readUInt16BE(offset);
    const length = packet.readUInt16BE(offset + 8);
    offset += 10;
    if (offset + length > packet.length) throw new DnsFormatError('record data cut short');
    if (type === DNS_TYPE_A && length === 4)
      addresses.push([...packet.subarray(offset, offset + 4)].join('.'));
    offset += length;
  }
  return {
    id: packet.readUInt16BE(0),
    rcode: flags & 0xf,
    authoritative: (flags & FLAG_AA) !== 0,
    addresses,
  };
}
