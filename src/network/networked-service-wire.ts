// Networked services on the wire (orch.dispatcher.NetworkedService): how the leader's dispatcher
// hands a worker the entries network-directory.ts computes from the store. Both directions, total;
// what comes off the wire is normalized as the translation makes it (sorted ports and backends), so
// an unchanged service compares equal. Backends travel exactly as the routing mesh's do
// (src/mesh/endpoint-wire.ts encodes them).
import type {
  NetworkedService as WireNetworkedService,
  NetworkedService__Output as WireNetworkedServiceOutput,
} from '../api/gen/types/orch/dispatcher/NetworkedService';
import { serviceEndpointsFromWire, serviceEndpointsToWire } from '../mesh/endpoint-wire';
import { protocolOf } from '../mesh/mesh-endpoints';
import { DEFAULT_DRAIN_MS } from '../mesh/mesh-types';
import type { NetworkedService } from './network-directory';

export function networkedServiceToWire(entry: NetworkedService): WireNetworkedService {
  return {
    serviceId: entry.serviceId,
    name: entry.name,
    drainMs: entry.drainMs,
    vips: entry.attachments.map((a) => ({
      networkId: a.networkId,
      networkName: a.networkName,
      address: a.vip,
      aliases: [...a.aliases],
    })),
    ports: entry.ports.map((p) => ({
      protocol: p.protocol === 'udp' ? 'PORT_PROTOCOL_UDP' : 'PORT_PROTOCOL_TCP',
      targetPort: p.targetPort,
    })),
    backends: serviceEndpointsToWire({ ...meshEntryOf(entry), backends: entry.backends }).backends,
  };
}

export function networkedServiceFromWire(wire: WireNetworkedServiceOutput): NetworkedService {
  const ports = new Map<string, NetworkedService['ports'][number]>();
  for (const port of wire.ports) {
    if (port.targetPort <= 0) continue;
    const protocol = protocolOf(port.protocol);
    ports.set(`${protocol}/${port.targetPort}`, { protocol, targetPort: port.targetPort });
  }
  const drainMs = Number(wire.drainMs);
  return {
    serviceId: wire.serviceId,
    name: wire.name,
    drainMs: drainMs > 0 ? drainMs : DEFAULT_DRAIN_MS,
    attachments: wire.vips
      .filter((v) => v.networkId !== '' && v.address !== '')
      .map((v) => ({
        networkId: v.networkId,
        networkName: v.networkName,
        vip: v.address,
        aliases: [...v.aliases],
      })),
    ports: [...ports.values()].sort(
      (a, b) => a.protocol.localeCompare(b.protocol) || a.targetPort - b.targetPort,
    ),
    backends: serviceEndpointsFromWire({
      serviceId: wire.serviceId,
      name: wire.name,
      ports: [],
      drainMs: wire.drainMs,
      backends: wire.backends,
    }).backends,
  };
}

/** The mesh entry whose backend encoding a networked service shares. */
function meshEntryOf(entry: NetworkedService) {
  return { serviceId: entry.serviceId, name: entry.name, ports: [], drainMs: entry.drainMs };
}
