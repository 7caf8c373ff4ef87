// Where network attachments plug into the allocator loop. The loop owns published ports; virtual IPs
// and task network attachments come from a NetworkAllocator (VipAllocator by default, noNetworks for
// tests that want none). The loop calls it for every service it allocates and every task it moves to
// pending, and writes what it returns into the service's endpoint (virtualIps) and the task (networks).

import type { NetworkAttachment__Output } from '../../api/gen/types/orch/objects/NetworkAttachment';
import type { VirtualIP__Output } from '../../api/gen/types/orch/objects/VirtualIP';
import type { ReadTx, Service, Task } from '../../store';

export interface NetworkAllocator {
  /**
   * Rebuilds what is in use from the store (leader start-up). Returns the IDs of services whose
   * stored VIPs do not match their spec (or clash): they must be allocated again.
   */
  restore(tx: ReadTx): Iterable<string>;
  /** Virtual IPs of the service on each network it attaches to. Throws an AllocatorError when none can be given. */
  allocateService(service: Service, tx: ReadTx): VirtualIP__Output[];
  /** Attachments of a task on each network of its service. Throws when none can be given. */
  allocateTask(task: Task, service: Service, tx: ReadTx): NetworkAttachment__Output[];
  /** The service was removed. */
  releaseService(serviceId: string): void;
  /** The task was deleted. */
  releaseTask(taskId: string): void;
  /** The network was removed. */
  releaseNetwork(networkId: string): void;
}

/** No networks: services keep whatever VIPs they have and tasks get no new attachment (tests). */
export const noNetworks: NetworkAllocator = {
  restore: () => [],
  allocateService: (service) => [...(service.endpoint?.virtualIps ?? [])],
  allocateTask: (task) => [...task.networks],
  releaseService: () => {},
  releaseTask: () => {},
  releaseNetwork: () => {},
};
