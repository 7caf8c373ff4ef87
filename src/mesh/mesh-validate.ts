// Checks the control plane's input before any of it is applied, so that a bad update is
// rejected whole with an error naming the field, and the data plane never sees half of it.
import { MeshConfigError } from './mesh-errors';
import {
  DEFAULT_DRAIN_MS,
  DEFAULT_LB,
  type LoadBalancing,
  type MeshBackend,
  type MeshBackendPort,
  type MeshPort,
  type MeshServiceSpec,
  portKey,
} from './mesh-types';

const LB_VALUES: readonly LoadBalancing[] = ['round-robin', 'least-connections'];

/** A spec with defaults filled in and ports copied (the caller may mutate its own objects). */
export interface NormalizedServiceSpec {
  name: string;
  ports: MeshPort[];
  lb: LoadBalancing;
  drainMs: number;
}

function isPort(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 65535;
}

export function normalizeServiceSpec(serviceId: string, spec: MeshServiceSpec): NormalizedServiceSpec {
  if (typeof serviceId !== 'string' || serviceId === '') {
    throw new MeshConfigError(String(serviceId), 'serviceId', 'must be a non-empty string');
  }
  if (typeof spec?.name !== 'string' || spec.name === '') {
    throw new MeshConfigError(serviceId, 'name', 'must be a non-empty string');
  }
  if (!Array.isArray(spec.ports)) throw new MeshConfigError(serviceId, 'ports', 'must be an array');
  const seen = new Set<string>();
  const ports = spec.ports.map((p, i): MeshPort => {
    const field = `ports[${i}]`;
    if (p?.protocol !== 'tcp' && p?.protocol !== 'udp') {
      throw new MeshConfigError(
        serviceId,
        `${field}.protocol`,
        `must be 'tcp' or 'udp', got ${JSON.stringify(p?.protocol)}`,
      );
    }
    if (!isPort(p.publishedPort)) {
      throw new MeshConfigError(
        serviceId,
        `${field}.publishedPort`,
        `must be an integer 1-65535, got ${p.publishedPort}`,
      );
    }
    if (!isPort(p.targetPort)) {
      throw new MeshConfigError(
        serviceId,
        `${field}.targetPort`,
        `must be an integer 1-65535, got ${p.targetPort}`,
      );
    }
    if (p.mode !== 'ingress') {
      throw new MeshConfigError(
        serviceId,
        `${field}.mode`,
        `only 'ingress' ports go through the mesh, got ${JSON.stringify(p.mode)}`,
      );
    }
    const key = portKey(p.protocol, p.publishedPort);
    if (seen.has(key)) throw new MeshConfigError(serviceId, field, `published port ${key} is listed twice`);
    seen.add(key);
    return {
      protocol: p.protocol,
      publishedPort: p.publishedPort,
      targetPort: p.targetPort,
      mode: 'ingress',
    };
  });
  const lb = spec.lb ?? DEFAULT_LB;
  if (!LB_VALUES.includes(lb)) {
    throw new MeshConfigError(
      serviceId,
      'lb',
      `must be one of ${LB_VALUES.join(', ')}, got ${JSON.stringify(lb)}`,
    );
  }
  const drainMs = spec.drainMs ?? DEFAULT_DRAIN_MS;
  if (typeof drainMs !== 'number' || !Number.isFinite(drainMs) || drainMs < 0) {
    throw new MeshConfigError(serviceId, 'drainMs', `must be a number >= 0, got ${drainMs}`);
  }
  return { name: spec.name, ports, lb, drainMs };
}

export function normalizeBackends(serviceId: string, backends: readonly MeshBackend[]): MeshBackend[] {
  if (!Array.isArray(backends)) throw new MeshConfigError(serviceId, 'backends', 'must be an array');
  const seen = new Set<string>();
  return backends.map((b, i): MeshBackend => {
    const field = `backends[${i}]`;
    if (typeof b?.taskId !== 'string' || b.taskId === '') {
      throw new MeshConfigError(serviceId, `${field}.taskId`, 'must be a non-empty string');
    }
    if (seen.has(b.taskId))
      throw new MeshConfigError(serviceId, `${field}.taskId`, `task ${b.taskId} is listed twice`);
    seen.add(b.taskId);
    if (typeof b.address !== 'string' || b.address === '') {
      throw new MeshConfigError(serviceId, `${field}.address`, 'must be a non-empty string');
    }
    if (b.port !== undefined && !isPort(b.port)) {
      throw new MeshConfigError(serviceId, `${field}.port`, `must be an integer 1-65535, got ${b.port}`);
    }
    if (typeof b.healthy !== 'boolean')
      throw new MeshConfigError(serviceId, `${field}.healthy`, 'must be a boolean');
    const ports = b.ports?.map((p: MeshBackendPort, j: number) => {
      if ((p.protocol !== 'tcp' && p.protocol !== 'udp') || !isPort(p.targetPort) || !isPort(p.port)) {
        throw new MeshConfigError(
          serviceId,
          `${field}.ports[${j}]`,
          'needs protocol tcp|udp, targetPort and port 1-65535',
        );
      }
      return { protocol: p.protocol, targetPort: p.targetPort, port: p.port };
    });
    return {
      taskId: b.taskId,
      address: b.address,
      healthy: b.healthy,
      ...(b.port !== undefined ? { port: b.port } : {}),
      ...(ports ? { ports } : {}),
    };
  });
}
