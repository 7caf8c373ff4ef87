import { MeshConfigError } from '../../../src/mesh';
import { backendEndpoint } from '../../../src/mesh/mesh-types';
import { normalizeBackends, normalizeServiceSpec } from '../../../src/mesh/mesh-validate';

describe('mesh input validation', () => {
  const port = { protocol: 'tcp' as const, publishedPort: 8080, targetPort: 80, mode: 'ingress' as const };

  it('fills in round-robin and a 10 s drain period by default', () => {
    expect(normalizeServiceSpec('s1', { name: 'web', ports: [port] })).toEqual({
      name: 'web',
      ports: [port],
      lb: 'round-robin',
      drainMs: 10_000,
    });
  });

  it.each([
    [{ name: '', ports: [] }, 'service s1: name: must be a non-empty string'],
    [
      { name: 'w', ports: [{ ...port, protocol: 'sctp' }] },
      `ports[0].protocol: must be 'tcp' or 'udp', got "sctp"`,
    ],
    [
      { name: 'w', ports: [{ ...port, publishedPort: 0 }] },
      'ports[0].publishedPort: must be an integer 1-65535, got 0',
    ],
    [{ name: 'w', ports: [{ ...port, targetPort: 1.5 }] }, 'ports[0].targetPort: must be an integer 1-65535'],
    [
      { name: 'w', ports: [{ ...port, mode: 'host' }] },
      `ports[0].mode: only 'ingress' ports go through the mesh`,
    ],
    [{ name: 'w', ports: [port, port] }, 'ports[1]: published port tcp/8080 is listed twice'],
    [
      { name: 'w', ports: [], lb: 'random' },
      'lb: must be one of round-robin, least-connections, got "random"',
    ],
    [{ name: 'w', ports: [], drainMs: -1 }, 'drainMs: must be a number >= 0, got -1'],
  ])('rejects %j naming the field', (spec, message) => {
    // biome-ignore lint/suspicious/noExplicitAny: deliberately invalid input
    const run = () => normalizeServiceSpec('s1', spec as any);
    expect(run).toThrow(MeshConfigError);
    expect(run).toThrow(message);
  });

  it('accepts the same published port number once per protocol', () => {
    const spec = normalizeServiceSpec('s1', { name: 'dns', ports: [port, { ...port, protocol: 'udp' }] });
    expect(spec.ports).toHaveLength(2);
  });

  it('rejects duplicate tasks and malformed backends', () => {
    const b = { taskId: 't1', address: '10.0.0.2', port: 80, healthy: true };
    expect(() => normalizeBackends('s1', [b, b])).toThrow('backends[1].taskId: task t1 is listed twice');
    expect(() => normalizeBackends('s1', [{ ...b, port: 0 }])).toThrow('backends[0].port');
    // biome-ignore lint/suspicious/noExplicitAny: deliberately invalid input
    expect(() => normalizeBackends('s1', [{ ...b, healthy: 'yes' as any }])).toThrow('backends[0].healthy');
  });

  it('finds a backend endpoint per port: explicit mapping, single port, else the target port', () => {
    const tcp80 = { protocol: 'tcp' as const, targetPort: 80 };
    expect(backendEndpoint({ taskId: 't', address: 'h', port: 30001, healthy: true }, tcp80, 1)).toEqual({
      address: 'h',
      port: 30001,
    });
    const multi = {
      taskId: 't',
      address: 'h',
      port: 30001,
      ports: [{ protocol: 'tcp' as const, targetPort: 443, port: 30443 }],
      healthy: true,
    };
    expect(backendEndpoint(multi, { protocol: 'tcp', targetPort: 443 }, 2)).toEqual({
      address: 'h',
      port: 30443,
    });
    expect(backendEndpoint(multi, tcp80, 2)).toEqual({ address: 'h', port: 80 });
  });
});
