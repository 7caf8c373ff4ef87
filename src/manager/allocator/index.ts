// Entry of the allocator: cluster-wide published ports (the rules, the port book and the loop that
// applies them), network VIP subnets and service VIPs, and the hook through which they plug in.

export {
  AllocatorError,
  NetworkNotFoundError,
  PortRangeExhaustedError,
  PublishedPortConflictError,
  VipRangeExhaustedError,
} from './allocator-errors';
export { AllocatorLoop, type AllocatorLoopOptions } from './allocator-loop';
export { type NetworkAllocator, noNetworks } from './network-hooks';
export {
  chooseNetworkIpam,
  DEFAULT_VIP_POOL,
  DEFAULT_VIP_PREFIX,
  networkSubnet,
} from './network-subnets';
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
export {
  checkServiceNetworks,
  resolveNetworkTarget,
  resolveServiceNetworks,
  VipAllocator,
} from './vip-allocator';
