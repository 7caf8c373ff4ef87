// Entry of the allocator: cluster-wide published ports (the rules, the port book and the loop that
// applies them) and the hook through which network attachments plug in.

export { AllocatorError, PortRangeExhaustedError, PublishedPortConflictError } from './allocator-errors';
export { AllocatorLoop, type AllocatorLoopOptions } from './allocator-loop';
export { type NetworkAllocator, noNetworks } from './network-hooks';
export { isEndpointAllocated, PortAllocator, type PortRange } from './port-allocator';
export {
  type CheckPortsOptions,
  checkPublishedPorts,
  DYNAMIC_PORT_RANGE,
  findPortConflicts,
  heldIngressPorts,
  isIngressPort,
  type PortConflict,
  portKey,
} from './published-ports';
