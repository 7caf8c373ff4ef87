// Entry of orch's networks on a node (docs/networking.md): the executor wrapper the node daemon
// runs tasks through (NetworkedExecutor, owning NodeNetworks), the directory of networked services
// it follows (a worker's from the dispatcher's Endpoints stream: NetworkedServiceTable and its wire
// form), and the pieces it is made of (engine networks, embedded DNS, VIP rules).
export { type DnsForwarder, parseResolvConf, UpstreamDnsForwarder } from './dns-forwarder';
export { type DnsResolver, EmbeddedDns, type EmbeddedDnsOptions } from './embedded-dns';
export {
  type EngineNetwork,
  EngineNetworkError,
  EngineNetworks,
  engineNetworkName,
  LABEL_NETWORK_ID,
  LABEL_NETWORK_NAME,
} from './engine-networks';
export {
  type NetworkDirectory,
  type NetworkedService,
  networkDirectoryFromStore,
  networkedService,
  networkedServiceFromStore,
  type ServiceNetworkAttachment,
  StaticNetworkDirectory,
  StoreNetworkDirectory,
  SwitchingNetworkDirectory,
} from './network-directory';
export { NetworkedExecutor, type NetworkedExecutorOptions, withExposedPorts } from './networked-executor';
export { NetworkedServiceTable } from './networked-service-table';
export { networkedServiceFromWire, networkedServiceToWire } from './networked-service-wire';
export {
  NodeNetworks,
  NodeNetworksError,
  type NodeNetworksOptions,
  type TaskNetworking,
} from './node-networks';
export { renderVipRuleset, VipNftables, type VipRoute, VipRulesError, vipTableName } from './vip-nftables';
