import { parseDurationFlag, resolveNodeAddresses } from '../../../src/cli/cluster/flags';

describe('cluster command flags', () => {
  it('parses durations with days as well as Go units', () => {
    expect(parseDurationFlag('90d', '--cert-expiry')).toBe(90 * 24 * 3600 * 1000);
    expect(parseDurationFlag('1d12h', '--cert-expiry')).toBe(36 * 3600 * 1000);
    expect(parseDurationFlag('5s', '--heartbeat-period')).toBe(5000);
    expect(parseDurationFlag('1m30s', '--election-timeout')).toBe(90_000);
  });

  it('names the flag when a duration is wrong', () => {
    expect(() => parseDurationFlag('soon', '--cert-expiry')).toThrow(
      '--cert-expiry: invalid duration "soon": expected e.g. 90d, 12h, 5s or 500ms',
    );
  });

  it('listens on exactly the address given and advertises it unless told otherwise', () => {
    expect(resolveNodeAddresses({})).toEqual({
      listenAddr: '127.0.0.1:4242',
      advertiseAddr: '127.0.0.1:4242',
    });
    expect(resolveNodeAddresses({ advertiseAddr: '127.0.0.3' })).toEqual({
      listenAddr: '127.0.0.3:4242',
      advertiseAddr: '127.0.0.3:4242',
    });
    expect(resolveNodeAddresses({ listenAddr: '0.0.0.0:4300', advertiseAddr: '10.0.0.5:4300' })).toEqual({
      listenAddr: '0.0.0.0:4300',
      advertiseAddr: '10.0.0.5:4300',
    });
  });

  it('needs an advertise address when listening on every interface', () => {
    expect(() => resolveNodeAddresses({ listenAddr: '0.0.0.0' })).toThrow(
      '--advertise-addr is required when listening on all interfaces (--listen-addr 0.0.0.0:4242)',
    );
  });
});
