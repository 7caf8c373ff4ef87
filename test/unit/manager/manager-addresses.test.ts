import { parseHostPort } from '../../../src/manager/manager-addresses';

describe('manager addresses', () => {
  it('parses host:port, a bare host (default port 4242) and bracketed IPv6', () => {
    expect(parseHostPort('127.0.0.2:4243', '--listen-addr')).toEqual({ host: '127.0.0.2', port: 4243 });
    expect(parseHostPort('127.0.0.2', '--listen-addr')).toEqual({ host: '127.0.0.2', port: 4242 });
    expect(parseHostPort('[::1]:5000', '--listen-addr')).toEqual({ host: '::1', port: 5000 });
    expect(parseHostPort('::1', '--listen-addr')).toEqual({ host: '::1', port: 4242 });
  });

  it('names the flag and the problem in its errors', () => {
    expect(() => parseHostPort('', '--advertise-addr')).toThrow(
      '--advertise-addr: an address is required (host:port)',
    );
    expect(() => parseHostPort('host:http', '--listen-addr')).toThrow(
      '--listen-addr: "host:http" has an invalid port',
    );
    expect(() => parseHostPort('host:70000', '--listen-addr')).toThrow(
      '--listen-addr: port 70000 is out of range (1-65535)',
    );
    expect(() => parseHostPort(':4242', '--listen-addr')).toThrow('--listen-addr: ":4242" has no host');
  });
});
