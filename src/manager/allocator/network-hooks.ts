// Where network attachments plug into the allocator. The allocator owns published ports; virtual IPs
// and per-task network addresses belong to the networks/mesh work, which provides a NetworkAllocator.
// The allocator calls it for every service it allocates and every task it moves to pending, and
// writes what it returns into the service's endpoint (virtualIps) and the task (networks).

import type { NetworkAttachment__Output } from '../../api/gen/types/orch/objects/NetworkAttachment';
import type { VirtualIP__Output } from '../../api/gen/types/orch/objects/VirtualIP';
import type { ReadTx, Service, Task } from '../../store';

export interface NetworkAllocator {
  /** Rebuilds what is in use from the store (leader start-up). */
  restore(tx: ReadTx): void;
  /** Virtual IPs of the service on each network it attaches to. Throws when none can be given. */
  allocateService(service: Service): VirtualIP__Output[];
  /** Addresses of a task on each network of its service. Throws when none can be given. */
  allocateTask(task: Task, service: Service): NetworkAttachment__Output[];
  /** The service was removed. */
  releaseService(serviceId: string): void;
  /** The task was deleted. */
  releaseTask(taskId: string): void;
}

/** No networks: services get no virtual IP and tasks no attachment (what orch has until overlays). */
export const noNetworks: NetworkAllocator = {
  restore: () => {},
  allocateService: (service) => [...(service.endpoint?.virtualIps ?? [])],
  allocateTask: (task) => [...task.networks],
  releaseService: () => {},
  releaseTask: () => {},
};
