// The embedded DNS on loopback: service names answered from its table with authority, other names
// relayed to an upstream resolver, NXDOMAIN / SERVFAIL when nothing answers, UDP and TCP alike; and
// the wire codec on its own.

import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { connect } from 'node:net';
import { silentLogger } from '../../../src/common/logger';
import { parseResolvConf, UpstreamDnsForwarder } from '../../../src/network/dns-forwarder';
import {
  buildDnsQuery,
  buildDnsResponse,
  DNS_TYPE_AAAA,
  parseDnsQuery,
  parseDnsResponse,
  RCODE_FORMERR,
  RCODE_NOERROR,
  RCODE_NXDOMAIN,
  RCODE_SERVFAIL,
} from '../../../src/network/dns-message';
import { EmbeddedDns } from '../../../src/network/embedded-dns';

const logger = silentLogger();

async function udpAsk(port: number, packet: Buffer, address = '127.0.0.1'): Promise<Buffer> {
  const socket = createSocket('udp4');
  try {
    socket.send(packet, port, address);
    const [message] = (await once(socket, 'message')) as [Buffer];
    return message;
  } finally {
    socket.close();
  }
}

async function tcpAsk(port: number, packets: Buffer[]): Promise<Buffer[]> {
  const socket = connect({ host: '127.0.0.1', port });
  await once(socket, 'connect');
  const framed = packets.map((p) => {
    const prefix = Buffer.alloc(2);
    prefix.writeUInt16BE(p.length);
    return Buffer.concat([prefix, p]);
  });
  // Split the messages across writes at an odd place: framing must not depend on chunking.
  const all = Buffer.concat(framed);
  socket.write(all.subarray(0, 5));
  socket.write(all.subarray(5));
  const answers: Buffer[] = [];
  let buffered = Buffer.alloc(0);
  for await (const chunk of socket) {
    buffered = Buffer.concat([buffered, chunk as Buffer]);
    while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
      answers.push(buffered.subarray(2, 2 + buffered.readUInt16BE(0)));
      buffered = buffered.subarray(2 + buffered.readUInt16BE(0));
    }
    if (answers.length === packets.length) break;
  }
  socket.destroy();
  return answers;
}

describe('DNS messages', () => {
  it('round-trips a query and builds an answer with A records that points at the question name', () => {
    const query = parseDnsQuery(buildDnsQuery(0x1234, 'Web.AppNet.'));
    expect(query).toMatchObject({ id: 0x1234, opcode: 0, recursionDesired: true });
    expect(query.questions).toEqual([{ name: 'web.appnet', type: 1, klass: 1 }]);
    const answer = buildDnsResponse(query, {
      rcode: RCODE_NOERROR,
      addresses: ['10.200.0.2', '10.200.0.3'],
      authoritative: true,
    });
    expect(parseDnsResponse(answer)).toEqual({
      id: 0x1234,
      rcode: RCODE_NOERROR,
      authoritative: true,
      addresses: ['10.200.0.2', '10.200.0.3'],
    });
  });

  it('refuses malformed messages: short, a response, a name running past the end, a pointer loop', () => {
    expect(() => parseDnsQuery(Buffer.alloc(5))).toThrow('shorter than a DNS header');
    const response = buildDnsResponse(parseDnsQuery(buildDnsQuery(1, 'a')), { rcode: 0 });
    expect(() => parseDnsQuery(response)).toThrow('not a query');
    const cut = buildDnsQuery(1, 'abcdef').subarray(0, 15);
    expect(() => parseDnsQuery(cut)).toThrow(/runs past/);
    const loop = Buffer.concat([buildDnsQuery(1, 'a').subarray(0, 12), Buffer.from([0xc0, 12, 0, 1, 0, 1])]);
    expect(() => parseDnsQuery(loop)).toThrow('compression loop');
  });

  it('reads the nameservers of resolv.conf', () => {
    expect(
      parseResolvConf(
        '# comment\nsearch example.org\nnameserver 10.0.0.2\nnameserver fe80::1%eth0\nnameserver bogus\n',
      ),
    ).toEqual(['10.0.0.2', 'fe80::1']);
  });
});

describe('embedded DNS', () => {
  let upstream: Socket;
  let upstreamPort: number;
  const upstreamAsked: string[] = [];
  let dns: EmbeddedDns;
  const table = new Map<string, string[]>([
    ['web', ['10.200.0.2']],
    ['web.appnet', ['10.200.0.2']],
    ['nohost', []],
  ]);

  beforeAll(async () => {
    // A fake host resolver: answers example.test, says NXDOMAIN to everything else.
    upstream = createSocket('udp4');
    upstream.on('message', (packet, peer) => {
      const query = parseDnsQuery(packet);
      upstreamAsked.push(query.questions[0]!.name);
      const known = query.questions[0]!.name === 'example.test';
      upstream.send(
        buildDnsResponse(query, {
          rcode: known ? RCODE_NOERROR : RCODE_NXDOMAIN,
          addresses: known ? ['192.0.2.7'] : [],
        }),
        peer.port,
        peer.address,
      );
    });
    upstream.bind(0, '127.0.0.1');
    await once(upstream, 'listening');
    upstreamPort = upstream.address().port;
    dns = await EmbeddedDns.start({
      address: '127.0.0.1',
      port: 0,
      resolve: (name) => table.get(name),
      forwarder: new UpstreamDnsForwarder({
        servers: ['127.0.0.1'],
        port: upstreamPort,
        logger,
        timeoutMs: 1_000,
      }),
      logger,
    });
  });

  afterAll(async () => {
    await dns.close();
    upstream.close();
  });

  it('answers a service name with its VIP, with authority and TTL 0, over UDP', async () => {
    const answer = parseDnsResponse(await udpAsk(dns.port, buildDnsQuery(7, 'WEB')));
    expect(answer).toEqual({ id: 7, rcode: RCODE_NOERROR, authoritative: true, addresses: ['10.200.0.2'] });
    expect(upstreamAsked).toEqual([]);
  });

  it('answers AAAA for a known name with no records rather than an error', async () => {
    const answer = parseDnsResponse(await udpAsk(dns.port, buildDnsQuery(8, 'web', DNS_TYPE_AAAA)));
    expect(answer).toMatchObject({ rcode: RCODE_NOERROR, addresses: [] });
  });

  it('relays other names to the host resolver and passes its NXDOMAIN on', async () => {
    expect(parseDnsResponse(await udpAsk(dns.port, buildDnsQuery(9, 'example.test')))).toMatchObject({
      id: 9,
      rcode: RCODE_NOERROR,
      authoritative: false,
      addresses: ['192.0.2.7'],
    });
    expect(parseDnsResponse(await udpAsk(dns.port, buildDnsQuery(10, 'nothing.test'))).rcode).toBe(
      RCODE_NXDOMAIN,
    );
    expect(upstreamAsked).toEqual(['example.test', 'nothing.test']);
  });

  it('answers several queries on one TCP connection, whatever the chunking', async () => {
    const answers = await tcpAsk(dns.port, [
      buildDnsQuery(11, 'web.appnet'),
      buildDnsQuery(12, 'example.test'),
    ]);
    expect(answers.map(parseDnsResponse)).toEqual([
      { id: 11, rcode: RCODE_NOERROR, authoritative: true, addresses: ['10.200.0.2'] },
      { id: 12, rcode: RCODE_NOERROR, authoritative: false, addresses: ['192.0.2.7'] },
    ]);
  });

  it('answers FORMERR to garbage and SERVFAIL when no resolver answers', async () => {
    expect(parseDnsResponse(await udpAsk(dns.port, Buffer.from([0, 42, 0, 0, 0, 1]))).rcode).toBe(
      RCODE_FORMERR,
    );
    const silent = await EmbeddedDns.start({
      address: '127.0.0.1',
      port: 0,
      resolve: () => undefined,
      // Nobody listens on this port of 127.0.0.1: the resolver refuses.
      forwarder: new UpstreamDnsForwarder({ servers: ['127.0.0.1'], port: 9, logger, timeoutMs: 300 }),
      logger,
    });
    try {
      expect(parseDnsResponse(await udpAsk(silent.port, buildDnsQuery(13, 'example.test'))).rcode).toBe(
        RCODE_SERVFAIL,
      );
    } finally {
      await silent.close();
    }
  });

  it('releases its port on close', async () => {
    const server = await EmbeddedDns.start({
      address: '127.0.0.1',
      port: 0,
      resolve: () => undefined,
      logger,
    });
    const port = server.port;
    await server.close();
    const again = await EmbeddedDns.start({
      address: '127.0.0.1',
      port,
      resolve: () => ['10.0.0.1'],
      logger,
    });
    await again.close();
  });
});
