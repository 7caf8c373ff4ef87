// The routing mesh's input model: what the control plane tells the data plane. Plain data, no
// behaviour; validated by mesh-validate.ts before anything is applied.

export type MeshProtocol = 'tcp' | 'udp';

/**
 * How new connections (TCP) and new flows (UDP) pick a backend.
 * - `round-robin` (default, as Docker Swarm's IPVS ingress): even spread, no state to consult.
 * - `least-connections`: the healthy backend with the fewest open connections/flows of this
 *   service on this node; better when requests differ a lot in duration.
 */
export type LoadBalancing = 'round-robin' | 'least-connections';

export interface MeshPort {
  protocol: MeshProtocol;
  /** The port that answers on every node's mesh address. */
  publishedPort: number;
  /** The port inside the task (used to find the backend's endpoint, see MeshBackend). */
  targetPort: number;
  /** Only ingress publishing goes through the mesh (host-mode ports bypass it). */
  mode: 'ingress';
}

export interface MeshServiceSpec {
  name: string;
  ports: MeshPort[];
  /** Default 'round-robin'. */
  lb?: LoadBalancing;
  /**
   * How long a removed backend's open connections and flows may keep running before they are
   * closed (the service's stop grace period). Default 10 000 ms, as Swarm's stop grace period.
   */
  drainMs?: number;
}

/** Where one published port of a task is reachable, when it differs per port. */
export interface MeshBackendPort {
  protocol: MeshProtocol;
  targetPort: number;
  /** host port on `address` that reaches the task's targetPort. */
  port: number;
}

export interface MeshBackend {
  taskId: string;
  /** IP address (or host name) where the task is reachable from this node. */
  address: string;
  /**
   * The port on `address` where the task's target port is reachable. For a service with several
   * ports, give `ports` instead; without either the target port itself is used (task IPs).
   */
  port?: number;
  ports?: MeshBackendPort[];
  /** Only healthy backends get new connections. */
  healthy: boolean;
}

export const DEFAULT_DRAIN_MS = 10_000;
export const DEFAULT_LB: LoadBalancing = 'round-robin';

/** `tcp/8080`: the identity of a published port on a node. */
export function portKey(protocol: MeshProtocol, publishedPort: number): string {
  return `${protocol}/${publishedPort}`;
}

/**
 * The endpoint of `backend` for `port`: an explicit per-port mapping wins; a single `port` serves
 * a service with one target port; else the target port itself on the backend's address.
 */
export function backendEndpoint(
  backend: MeshBackend,
  port: Pick<MeshPort, 'protocol' | 'targetPort'>,
  serviceTargetPorts: number,
): { address: string; port: number } {
  const mapped = backend.ports?.find((p) => p.protocol === port.protocol && p.targetPort === port.targetPort);
  if (mapped) return { address: backend.address, port: mapped.port };
  if (backend.port !== undefined && serviceTargetPorts <= 1)
    return { address: backend.address, port: backend.port };
  return { address: backend.address, port: port.targetPort };
}
