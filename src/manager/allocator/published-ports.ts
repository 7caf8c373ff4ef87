// Published ports are a cluster-wide resource in ingress mode: the routing mesh listens on every node,
// so one `8080/tcp` can belong to one service only. This module owns the rules, as pure functions over
// specs and services: which ports a service holds, and whether a spec may publish what it asks for.
// The Control API calls checkPublishedPorts before it proposes a create or an update; the allocator
// enforces the same rule again, since two requests validated at the same time can still collide.
// Host-mode ports are a per-node resource the scheduler enforces; they never appear here.

import type { PortConfig__Output } from '../../api/gen/types/orch/objects/PortConfig';
import type { Service__Output } from '../../api/gen/types/orch/objects/Service';
import type { ServiceSpec__Output } from '../../api/gen/types/orch/objects/ServiceSpec';
import { PublishedPortConflictError } from './allocator-errors';

/** Swarm's range for published ports the cluster picks itself (`--publish 80` with no host port). */
export const DYNAMIC_PORT_RANGE = Object.freeze({ first: 30000, last: 32767 });

type PortLike = Pick<PortConfig__Output, 'protocol' | 'publishedPort' | 'publishMode'>;

/** `8080/tcp`: the key under which an ingress port is held cluster-wide. */
export function portKey(port: Pick<PortLike, 'protocol' | 'publishedPort'>): string {
  return `${port.publishedPort}/${port.protocol === 'PORT_PROTOCOL_UDP' ? 'udp' : 'tcp'}`;
}

export function isIngressPort(port: PortLike): boolean {
  return (port.publishMode ?? 'PUBLISH_MODE_INGRESS') !== 'PUBLISH_MODE_HOST';
}

/**
 * The ingress ports a service holds or is about to hold: those the allocator recorded in its
 * endpoint (including ports it picked from the dynamic range) and those its spec names explicitly.
 */
export function heldIngressPorts(service: Service__Output): Set<string> {
  const held = new Set<string>();
  for (const port of service.endpoint?.ports ?? [])
    if (isIngressPort(port) && port.publishedPort > 0) held.add(portKey(port));
  for (const port of service.spec?.endpoint?.ports ?? [])
    if (isIngressPort(port) && port.publishedPort > 0) held.add(portKey(port));
  return held;
}

export interface PortConflict {
  /** `8080/tcp`. */
  readonly port: string;
  /** Index of the port in `spec.endpoint.ports`. */
  readonly index: number;
  readonly serviceId: string;
  readonly serviceName: string;
}

export interface CheckPortsOptions {
  /** The service being updated: its own ports are not a conflict. */
  readonly serviceId?: string;
}

/** Every explicitly published ingress port of `spec` that another service already holds. */
export function findPortConflicts(
  spec: Pick<ServiceSpec__Output, 'endpoint'>,
  services: Iterable<Service__Output>,
  options: CheckPortsOptions = {},
): PortConflict[] {
  const wanted = new Map<string, number>();
  (spec.endpoint?.ports ?? []).forEach((port, index) => {
    if (isIngressPort(port) && port.publishedPort > 0 && !wanted.has(portKey(port)))
      wanted.set(portKey(port), index);
  });
  if (wanted.size === 0) return [];
  const conflicts: PortConflict[] = [];
  for (const service of services) {
    const id = service.meta?.id ?? '';
    if (id === options.serviceId) continue;
    for (const key of heldIngressPorts(service)) {
      const index = wanted.get(key);
      if (index === undefined) continue;
      conflicts.push({ port: key, index, serviceId: id, serviceName: service.spec?.name ?? id });
    }
  }
  return conflicts.sort((a, b) => a.index - b.index || (a.serviceId < b.serviceId ? -1 : 1));
}

/**
 * Refuses a spec that publishes, in ingress mode, a port another service holds: throws
 * PublishedPortConflictError naming the field, the port and the service holding it.
 */
export function checkPublishedPorts(
  spec: Pick<ServiceSpec__Output, 'endpoint'>,
  services: Iterable<Service__Output>,
  options: CheckPortsOptions = {},
): void {
  const [first] = findPortConflicts(spec, services, options);
  if (first !== undefined) throw new PublishedPortConflictError(first);
}
