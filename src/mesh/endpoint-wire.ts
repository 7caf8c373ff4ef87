// The endpoint table on the wire (orch.dispatcher.ServiceEndpoints): how the leader's dispatcher
// hands a worker the same entries a manager computes from its own store. Both directions, total:
// what comes off the wire is normalized as mesh-endpoints.ts makes it (sorted, no empty ports).

import type {
  ServiceEndpoints as WireServiceEndpoints,
  ServiceEndpoints__Output as WireServiceEndpointsOutput,
} from '../api/gen/types/orch/dispatcher/ServiceEndpoints';
import type { PortConfig } from '../api/gen/types/orch/objects/PortConfig';
import { type EndpointBackend, protocolOf, type ServiceEndpoints } from './mesh-endpoints';
import { DEFAULT_DRAIN_MS, type MeshProtocol } from './mesh-types';

function wireProtocol(protocol: MeshProtocol): 'PORT_PROTOCOL_TCP' | 'PORT_PROTOCOL_UDP' {
  return protocol === 'udp' ? 'PORT_PROTOCOL_UDP' : 'PORT_PROTOCOL_TCP';
}

export function serviceEndpointsToWire(entry: ServiceEndpoints): WireServiceEndpoints {
  return {
    serviceId: entry.serviceId,
    name: entry.name,
    ports: entry.ports.map(
      (p): PortConfig => ({
        protocol: wireProtocol(p.protocol),
        targetPort: p.targetPort,
        publishedPort: p.publishedPort,
        publishMode: 'PUBLISH_MODE_INGRESS',
      }),
    ),
    drainMs: entry.drainMs,
    backends: entry.backends.map((b) => ({
      taskId: b.taskId,
      nodeId: b.nodeId,
      address: b.address,
      healthy: b.healthy,
      ports: b.ports.map((p) => ({
        protocol: wireProtocol(p.protocol),
        targetPort: p.targetPort,
        port: p.port,
      })),
    })),
  };
}

export function serviceEndpointsFromWire(wire: WireServiceEndpointsOutput): ServiceEndpoints {
  const backends: EndpointBackend[] = wire.backends
    .map((b) => ({
      taskId: b.taskId,
      nodeId: b.nodeId,
      address: b.address,
      healthy: b.healthy,
      ports: b.ports
        .filter((p) => p.port > 0)
        .map((p) => ({ protocol: protocolOf(p.protocol), targetPort: p.targetPort, port: p.port }))
        .sort((x, y) => x.protocol.localeCompare(y.protocol) || x.targetPort - y.targetPort),
    }))
    .filter((b) => b.address !== '' && b.ports.length > 0)
    .sort((a, b) => (a.taskId < b.taskId ? -1 : a.taskId > b.taskId ? 1 : 0));
  return {
    serviceId: wire.serviceId,
    name: wire.name,
    ports: wire.ports
      .filter((p) => p.publishedPort > 0)
      .map((p) => ({
        protocol: protocolOf(p.protocol),
        publishedPort: p.publishedPort,
        targetPort: p.targetPort,
        mode: 'ingress' as const,
      })),
    drainMs: wire.drainMs > 0 ? wire.drainMs : DEFAULT_DRAIN_MS,
    backends,
  };
}
