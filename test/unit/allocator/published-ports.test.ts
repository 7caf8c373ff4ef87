// The rules for cluster-wide (ingress) published ports and the allocator's port book.

import type { Service__Output } from '../../../src/api/gen/types/orch/objects/Service';
import type { ServiceSpec__Output } from '../../../src/api/gen/types/orch/objects/ServiceSpec';
import {
  checkPublishedPorts,
  findPortConflicts,
  PortAllocator,
  PortRangeExhaustedError,
  PublishedPortConflictError,
} from '../../../src/manager/allocator';

type Port = { published: number; target?: number; udp?: boolean; host?: boolean };

function spec(name: string, ports: Port[]): ServiceSpec__Output {
  return {
    name,
    endpoint: {
      mode: 'RESOLUTION_MODE_VIP',
      ports: ports.map((p) => ({
        name: '',
        protocol: p.udp ? 'PORT_PROTOCOL_UDP' : 'PORT_PROTOCOL_TCP',
        targetPort: p.target ?? 80,
        publishedPort: p.published,
        publishMode: p.host ? 'PUBLISH_MODE_HOST' : 'PUBLISH_MODE_INGRESS',
      })),
    },
  } as ServiceSpec__Output;
}

function service(id: string, ports: Port[], endpoint?: Service__Output['endpoint']): Service__Output {
  return {
    meta: { id, version: 1, createdAtMs: 0, updatedAtMs: 0 },
    spec: spec(id, ports),
    endpoint,
  } as Service__Output;
}

describe('checkPublishedPorts', () => {
  it('refuses an ingress port another service publishes, naming the field and the service', () => {
    const services = [service('web', [{ published: 8080 }])];
    expect(() =>
      checkPublishedPorts(spec('api', [{ published: 9000 }, { published: 8080 }]), services),
    ).toThrow(
      new PublishedPortConflictError({ port: '8080/tcp', index: 1, serviceId: 'web', serviceName: 'web' }),
    );
    try {
      checkPublishedPorts(spec('api', [{ published: 8080 }]), services);
    } catch (err) {
      expect(err).toBeInstanceOf(PublishedPortConflictError);
      expect((err as Error).message).toBe(
        'endpoint.ports[0].publishedPort: port 8080/tcp is already published by service web',
      );
    }
  });

  it('refuses a port the allocator picked for another service', () => {
    const allocated = new PortAllocator().allocate(service('web', [{ published: 0 }]));
    const web = service('web', [{ published: 0 }], allocated);
    const taken = allocated.ports[0]!.publishedPort;
    expect(findPortConflicts(spec('api', [{ published: taken }]), [web])).toEqual([
      { port: `${taken}/tcp`, index: 0, serviceId: 'web', serviceName: 'web' },
    ]);
  });

  it('accepts the same number on another protocol, host-mode ports and the service itself', () => {
    const services = [service('web', [{ published: 8080 }])];
    expect(() => checkPublishedPorts(spec('dns', [{ published: 8080, udp: true }]), services)).not.toThrow();
    expect(() => checkPublishedPorts(spec('api', [{ published: 8080, host: true }]), services)).not.toThrow();
    expect(() =>
      checkPublishedPorts(spec('web', [{ published: 8080 }]), services, { serviceId: 'web' }),
    ).not.toThrow();
    expect(() => checkPublishedPorts(spec('api', [{ published: 0 }]), services)).not.toThrow();
  });
});

describe('PortAllocator', () => {
  it('assigns ports published without a number from 30000-32767 and keeps them across updates', () => {
    const ports = new PortAllocator();
    const first = ports.allocate(
      service('web', [
        { published: 0, target: 80 },
        { published: 0, target: 443 },
      ]),
    );
    expect(first.ports.map((p) => p.publishedPort)).toEqual([30000, 30001]);
    // An update adding a port keeps the two already given.
    const again = ports.allocate(
      service(
        'web',
        [
          { published: 0, target: 80 },
          { published: 0, target: 443 },
          { published: 0, target: 22 },
        ],
        first,
      ),
    );
    expect(again.ports.map((p) => p.publishedPort)).toEqual([30000, 30001, 30002]);
    expect([...ports.portsOf('web')].sort()).toEqual(['30000/tcp', '30001/tcp', '30002/tcp']);
  });

  it('frees ports a service stops publishing and everything when it is released', () => {
    const ports = new PortAllocator();
    const first = ports.allocate(service('web', [{ published: 8080 }, { published: 0 }]));
    ports.allocate(service('web', [{ published: 8080 }], first));
    expect([...ports.portsOf('web')]).toEqual(['8080/tcp']);
    expect(ports.holderOf(`${first.ports[1]!.publishedPort}/tcp`)).toBeUndefined();
    ports.release('web');
    expect(ports.holderOf('8080/tcp')).toBeUndefined();
    expect(() => ports.allocate(service('api', [{ published: 8080 }]))).not.toThrow();
  });

  it('changes nothing when a service cannot be allocated', () => {
    const ports = new PortAllocator();
    ports.allocate(service('web', [{ published: 8080 }]));
    expect(() => ports.allocate(service('api', [{ published: 9090 }, { published: 8080 }]))).toThrow(
      PublishedPortConflictError,
    );
    expect(ports.holderOf('9090/tcp')).toBeUndefined();
    expect(ports.portsOf('api').size).toBe(0);
  });

  it('does not hand out a dynamic port twice and reports when the range is exhausted', () => {
    const ports = new PortAllocator({ first: 30000, last: 30002 });
    ports.allocate(service('a', [{ published: 30001 }]));
    const b = ports.allocate(service('b', [{ published: 0 }, { published: 0, target: 81 }]));
    expect(b.ports.map((p) => p.publishedPort)).toEqual([30000, 30002]);
    expect(() => ports.allocate(service('c', [{ published: 0 }]))).toThrow(PortRangeExhaustedError);
    expect(() => ports.allocate(service('c', [{ published: 0 }]))).toThrow(
      'no free tcp port left to publish in 30000-30002',
    );
    // UDP is a separate space.
    expect(ports.allocate(service('d', [{ published: 0, udp: true }])).ports[0]!.publishedPort).toBe(30000);
  });

  it('restores what endpoints hold and reports a port held twice', () => {
    const ports = new PortAllocator();
    const endpoint = (port: number) => ({
      spec: null,
      ports: [
        {
          name: '',
          protocol: 'PORT_PROTOCOL_TCP' as const,
          targetPort: 80,
          publishedPort: port,
          publishMode: 'PUBLISH_MODE_INGRESS' as const,
        },
      ],
      virtualIps: [],
    });
    expect(ports.restore(service('web', [{ published: 8080 }], endpoint(8080)))).toEqual([]);
    expect(ports.restore(service('api', [{ published: 8080 }], endpoint(8080)))).toEqual(['8080/tcp']);
    expect(ports.holderOf('8080/tcp')).toBe('web');
  });
});
