// What a listener needs to know about the service behind it: its pool of backends and how to
// reach a backend for this particular published port. Implemented by mesh-service.ts.
import type { BackendPool, PooledBackend } from './backend-pool';

export interface IngressRoute {
  readonly serviceId: string;
  readonly serviceName: string;
  readonly pool: BackendPool;
  /** host and port of `backend` for this listener's target port. */
  endpointOf(backend: PooledBackend): { address: string; port: number };
}
