import { nftTableName, renderNftRuleset } from '../../../src/mesh';
import { parseNftCounters } from '../../../src/mesh/nft-fast-path';

describe('nftables fast path rendering', () => {
  it('names the table after the mesh address, with only characters nft accepts', () => {
    expect(nftTableName('127.0.0.2')).toBe('orch_mesh_127_0_0_2');
    expect(nftTableName('fd00::1')).toBe('orch_mesh_fd00__1');
  });

  it('replaces the whole table in one transaction with a numgen DNAT map per published port', () => {
    const script = renderNftRuleset('orch_mesh_n1', '127.0.0.2', [
      {
        protocol: 'tcp',
        address: '127.0.0.2',
        port: 8080,
        backends: [
          { address: '127.0.0.1', port: 9001 },
          { address: '10.0.0.7', port: 9002 },
        ],
      },
      { protocol: 'udp', address: '127.0.0.2', port: 53, backends: [{ address: '127.0.0.1', port: 5353 }] },
    ]);
    const lines = script.split('\n');
    expect(lines.slice(0, 3)).toEqual([
      'table ip orch_mesh_n1 {}',
      'delete table ip orch_mesh_n1',
      'table ip orch_mesh_n1 {',
    ]);
    const dnat =
      'ip daddr 127.0.0.2 tcp dport 8080 ct mark set 0x0f5a0001 counter name "conn_tcp_8080" dnat ip to numgen inc mod 2 map { 0 : 127.0.0.1 . 9001, 1 : 10.0.0.7 . 9002 }';
    expect(lines.filter((l) => l.trim() === dnat)).toHaveLength(2); // output and prerouting
    expect(script).toContain(
      'ip daddr 127.0.0.2 udp dport 53 counter name "conn_udp_53" dnat ip to numgen inc mod 1 map { 0 : 127.0.0.1 . 5353 }',
    );
    expect(script).toContain('type nat hook output priority -100;');
    expect(script).toContain('type nat hook prerouting priority -100;');
    expect(script).toContain('ct status dnat ct original ip daddr 127.0.0.2 oifname != "lo" masquerade');
    expect(script).toContain(
      'ct status dnat ct original ip daddr 127.0.0.2 oifname "lo" snat ip to 127.0.0.2',
    );
  });

  it('sends a client whose connect a backend refused back through userspace when its SYN comes again', () => {
    const script = renderNftRuleset('orch_mesh_n1', '127.0.0.2', [
      { protocol: 'tcp', address: '127.0.0.2', port: 8080, backends: [{ address: '127.0.0.1', port: 9001 }] },
    ]);
    const lines = script.split('\n').map((l) => l.trim());
    const retry = 'ip daddr 127.0.0.2 ip saddr . tcp sport . ip daddr . tcp dport @retry_tcp accept';
    // In both nat chains, before the DNAT rule.
    expect(lines.filter((l) => l === retry)).toHaveLength(2);
    expect(lines.indexOf(retry)).toBeLessThan(
      lines.findIndex((l) => l.includes('tcp dport 8080 ct mark set')),
    );
    expect(lines).toContain(
      'ct mark 0x0f5a0001 ct direction reply tcp flags & rst == rst add @retry_tcp { ct original ip saddr . ct original proto-src . ct original ip daddr . ct original proto-dst timeout 10s } drop',
    );
    expect(lines).toContain(
      'ct mark 0x0f5a0001 ct direction reply tcp flags & (syn | ack) == syn | ack ct mark set 0x0f5a0002',
    );
  });

  it('resets the connections of drained endpoints in both directions, for as long as they are cut', () => {
    const script = renderNftRuleset(
      'orch_mesh_n1',
      '127.0.0.2',
      [],
      [
        { protocol: 'tcp', address: '127.0.0.1', port: 9001, timeoutS: 600 },
        { protocol: 'udp', address: '127.0.0.1', port: 5353, timeoutS: 30 },
      ],
    );
    expect(script).toContain(
      'set cut_tcp { type ipv4_addr . inet_service; flags timeout; elements = { 127.0.0.1 . 9001 timeout 600s } }',
    );
    expect(script).toContain('elements = { 127.0.0.1 . 5353 timeout 30s }');
    expect(script).toContain(
      'ct state established ct status dnat ct original ip daddr 127.0.0.2 ip daddr . tcp dport @cut_tcp reject with tcp reset',
    );
    expect(script).toContain(
      'ct state established ct status dnat ct original ip daddr 127.0.0.2 ip saddr . tcp sport @cut_tcp reject with tcp reset',
    );
    expect(script).toContain('type filter hook forward priority 0;');
  });

  it('counts connections per port and refusals per TCP port, and reads them back from nft -j', () => {
    const script = renderNftRuleset('orch_mesh_n1', '127.0.0.2', [
      { protocol: 'tcp', address: '127.0.0.2', port: 8080, backends: [{ address: '127.0.0.1', port: 9001 }] },
      { protocol: 'udp', address: '127.0.0.2', port: 53, backends: [{ address: '127.0.0.1', port: 5353 }] },
    ]);
    expect(script).toContain(
      '  counter conn_tcp_8080 {}\n  counter conn_udp_53 {}\n  counter refused_tcp_8080 {}',
    );
    expect(script).toContain('tcp dport 8080 ct mark set 0x0f5a0001 counter name "conn_tcp_8080" dnat');
    expect(script).toContain('udp dport 53 counter name "conn_udp_53" dnat');
    expect(script).toContain(
      'meta l4proto tcp ct original proto-dst 8080 tcp flags & rst == rst counter name "refused_tcp_8080"',
    );
    const json = JSON.stringify({
      nftables: [
        { metainfo: { version: '1.0.6' } },
        { counter: { family: 'ip', name: 'conn_tcp_8080', table: 't', handle: 1, packets: 7, bytes: 420 } },
        { counter: { family: 'ip', name: 'refused_tcp_8080', table: 't', handle: 2, packets: 2, bytes: 80 } },
        { counter: { family: 'ip', name: 'conn_udp_53', table: 't', handle: 3, packets: 3, bytes: 90 } },
      ],
    });
    expect(parseNftCounters(json)).toEqual(
      new Map([
        ['tcp/8080', { connections: 7, refused: 2 }],
        ['udp/53', { connections: 3, refused: 0 }],
      ]),
    );
  });

  it('renders an empty table when no port can be served by the kernel', () => {
    const script = renderNftRuleset('orch_mesh_n1', '127.0.0.2', []);
    expect(script).not.toContain('dnat ip to');
    expect(script).toContain('chain mesh_output');
  });
});
