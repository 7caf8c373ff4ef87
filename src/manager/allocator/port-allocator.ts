// The allocator's book of ingress published ports: which service holds each `port/protocol`, and the
// choice of a port from the dynamic range (30000–32767) for ports published without one. Allocation
// of a service is all or nothing: a conflict changes nothing. A port picked for `--publish 80` stays
// with the service across updates as long as the spec still publishes that target without a port.
// In memory only: the leader rebuilds it from the services' endpoints when it starts (restore).

import type { Endpoint__Output } from '../../api/gen/types/orch/objects/Endpoint';
import type { PortConfig__Output } from '../../api/gen/types/orch/objects/PortConfig';
import type { Service__Output } from '../../api/gen/types/orch/objects/Service';
import { PortRangeExhaustedError, PublishedPortConflictError } from './allocator-errors';
import { DYNAMIC_PORT_RANGE, isIngressPort, portKey } from './published-ports';

export interface PortRange {
  readonly first: number;
  readonly last: number;
}

export class PortAllocator {
  /** `8080/tcp` → ID of the service holding it. */
  private readonly holders = new Map<string, string>();
  /** Service ID → the keys it holds. Invariant: the inverse of `holders`. */
  private readonly byService = new Map<string, Set<string>>();
  /** Where the next dynamic search starts, per protocol, so freed ports are not reused at once. */
  private readonly cursor = { tcp: 0, udp: 0 };

  constructor(
    private readonly range: PortRange = DYNAMIC_PORT_RANGE,
    private readonly serviceName: (serviceId: string) => string = (id) => id,
  ) {}

  /** Which service holds `8080/tcp`, if any. */
  holderOf(key: string): string | undefined {
    return this.holders.get(key);
  }

  /** Ports held by a service (`8080/tcp`, ...). */
  portsOf(serviceId: string): ReadonlySet<string> {
    return this.byService.get(serviceId) ?? new Set();
  }

  /**
   * Records what a service's endpoint already holds (at start-up). Ports held by an earlier service
   * are not taken over: they are returned as conflicts and the service must be allocated again.
   */
  restore(service: Service__Output): string[] {
    const id = service.meta?.id ?? '';
    const conflicts: string[] = [];
    for (const port of service.endpoint?.ports ?? []) {
      if (!isIngressPort(port) || port.publishedPort <= 0) continue;
      const key = portKey(port);
      const holder = this.holders.get(key);
      if (holder !== undefined && holder !== id) conflicts.push(key);
      else this.claim(id, key);
    }
    return conflicts;
  }

  /**
   * The endpoint `service` should have for its current spec, claiming its ports and freeing the ones
   * it no longer publishes. Throws PublishedPortConflictError or PortRangeExhaustedError, changing
   * nothing, when that is impossible. `virtualIps` is carried over from the caller's network hook.
   */
  allocate(service: Service__Output, virtualIps: Endpoint__Output['virtualIps'] = []): Endpoint__Output {
    const id = service.meta?.id ?? '';
    const specPorts = service.spec?.endpoint?.ports ?? [];
    const previous = previousDynamicPorts(service);
    const taken = new Set<string>();
    const ports: PortConfig__Output[] = [];
    const free = (key: string) => {
      const holder = this.holders.get(key);
      return (holder === undefined || holder === id) && !taken.has(key);
    };
    specPorts.forEach((port, index) => {
      if (!isIngressPort(port)) {
        ports.push({ ...port });
        return;
      }
      if (port.publishedPort > 0) {
        const key = portKey(port);
        if (!free(key)) {
          const holder = this.holders.get(key) ?? id;
          throw new PublishedPortConflictError({
            port: key,
            index,
            serviceId: holder,
            serviceName: this.serviceName(holder),
          });
        }
        taken.add(key);
        ports.push({ ...port });
        return;
      }
      const reused = previous.get(dynamicKey(port));
      const published =
        reused !== undefined && free(portKey({ ...port, publishedPort: reused }))
          ? reused
          : this.pickDynamic(port.protocol, free);
      taken.add(portKey({ ...port, publishedPort: published }));
      ports.push({ ...port, publishedPort: published });
    });
    for (const key of [...this.portsOf(id)]) if (!taken.has(key)) this.unclaim(id, key);
    for (const key of taken) this.claim(id, key);
    return {
      spec: service.spec?.endpoint ?? null,
      ports,
      virtualIps: [...virtualIps],
    };
  }

  /** Frees everything a service holds (it was removed). */
  release(serviceId: string): void {
    for (const key of [...this.portsOf(serviceId)]) this.unclaim(serviceId, key);
  }

  private pickDynamic(protocol: PortConfig__Output['protocol'], free: (key: string) => boolean): number {
    const name = protocol === 'PORT_PROTOCOL_UDP' ? 'udp' : 'tcp';
    const size = this.range.last - this.range.first + 1;
    for (let i = 0; i < size; i++) {
      const offset = (this.cursor[name] + i) % size;
      const candidate = this.range.first + offset;
      if (free(`${candidate}/${name}`)) {
        this.cursor[name] = (offset + 1) % size;
        return candidate;
      }
    }
    throw new PortRangeExhaustedError(name, this.range.first, this.range.last);
  }

  private claim(serviceId: string, key: string): void {
    this.holders.set(key, serviceId);
    let keys = this.byService.get(serviceId);
    if (!keys) {
      keys = new Set();
      this.byService.set(serviceId, keys);
    }
    keys.add(key);
  }

  private unclaim(serviceId: string, key: string): void {
    if (this.holders.get(key) === serviceId) this.holders.delete(key);
    const keys = this.byService.get(serviceId);
    keys?.delete(key);
    if (keys?.size === 0) this.byService.delete(serviceId);
  }
}

/** `tcp/80`: a port published without a host port, identified by its protocol and target. */
function dynamicKey(port: Pick<PortConfig__Output, 'protocol' | 'targetPort'>): string {
  return `${port.protocol === 'PORT_PROTOCOL_UDP' ? 'udp' : 'tcp'}/${port.targetPort}`;
}

/** Ports the allocator picked for the service before, by dynamicKey, so an update keeps them. */
function previousDynamicPorts(service: Service__Output): Map<string, number> {
  const result = new Map<string, number>();
  const endpoint = service.endpoint;
  if (!endpoint) return result;
  const specPorts = endpoint.spec?.ports ?? [];
  endpoint.ports.forEach((port, index) => {
    const asked = specPorts[index];
    if (!asked || !isIngressPort(asked) || asked.publishedPort !== 0 || port.publishedPort <= 0) return;
    if (!result.has(dynamicKey(port))) result.set(dynamicKey(port), port.publishedPort);
  });
  return result;
}

/** Whether the service's endpoint matches its spec and every ingress port has a published port. */
export function isEndpointAllocated(service: Service__Output): boolean {
  const specEndpoint = service.spec?.endpoint ?? null;
  const specPorts = specEndpoint?.ports ?? [];
  const endpoint = service.endpoint;
  if (!endpoint) return specPorts.length === 0;
  if (!sameEndpointSpec(endpoint.spec, specEndpoint)) return false;
  if (endpoint.ports.length !== specPorts.length) return false;
  return endpoint.ports.every((port) => !isIngressPort(port) || port.publishedPort > 0);
}

function sameEndpointSpec(a: Endpoint__Output['spec'], b: Endpoint__Output['spec']): boolean {
  const portsA = a?.ports ?? [];
  const portsB = b?.ports ?? [];
  if ((a?.mode ?? 'RESOLUTION_MODE_VIP') !== (b?.mode ?? 'RESOLUTION_MODE_VIP')) return false;
  if (portsA.length !== portsB.length) return false;
  return portsA.every((p, i) => {
    const q = portsB[i]!;
    return (
      p.name === q.name &&
      p.protocol === q.protocol &&
      p.targetPort === q.targetPort &&
      p.publishedPort === q.publishedPort &&
      p.publishMode === q.publishMode
    );
  });
}
