// What the convergence cases need from a system under test (Docker Swarm mode or an orch cluster):
// create, scale and remove a replicated service of the local busybox image, and say which container
// label carries the service ID. Both systems are driven through their APIs from this process (the
// Docker Engine API for Swarm, orch's Control API for orch), so no CLI process start is counted for
// either side.
import type { ServiceSelector } from './convergence-engine';

export const SERVICE_ARGS = ['httpd', '-f', '-p', '80', '-h', '/www'];

/**
 * Stop grace period of every benchmark service, on both systems. busybox httpd as PID 1 ignores
 * SIGTERM, so the 10 s default would make every removal between cases last 10 s; no measured case
 * stops a container, so this changes no measurement.
 */
export const STOP_GRACE_PERIOD_MS = 1_000;

export interface ServiceRequest {
  name: string;
  replicas: number;
  /** Restart delay in ms; undefined leaves the system's default (5 s on both). */
  restartDelayMs?: number;
}

export interface ConvergenceTarget {
  /** `swarm`, `orch` or `engine`: the table's column. */
  readonly name: string;
  /** False for a target that cannot replace a failed task (recovery cases skip it). */
  readonly restarts?: boolean;
  /** Creates the service and resolves with its ID once the system acknowledged the request. */
  createService(request: ServiceRequest, options?: { signal?: AbortSignal }): Promise<string>;
  scaleService(serviceId: string, replicas: number, options?: { signal?: AbortSignal }): Promise<void>;
  removeService(serviceId: string, options?: { signal?: AbortSignal }): Promise<void>;
  /** Called once the service and all its containers are gone: cleanup need not look for them. */
  forget(serviceId: string): void;
  /** The engine label that selects this service's containers. */
  selector(serviceId: string): ServiceSelector;
}
