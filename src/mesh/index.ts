// Entry of the routing mesh data plane (see docs/mesh.md).
export type { BackendState } from './backend-pool';
export {
  type EndpointChange,
  type EndpointListener,
  type EndpointSubscription,
  EndpointTable,
} from './endpoint-table';
export { serviceEndpointsFromWire, serviceEndpointsToWire } from './endpoint-wire';
export {
  type EndpointBackend,
  type EndpointSourceTx,
  type EndpointTableMap,
  endpointTableFromStore,
  hostOf,
  ingressPortsOf,
  meshBackendsOf,
  meshServiceSpecOf,
  nodeMeshAddress,
  type ServiceEndpoints,
  sameServiceEndpoints,
  serviceEndpoints,
  serviceEndpointsFromStore,
  taskBackend,
} from './mesh-endpoints';
export {
  MeshClosedError,
  MeshConfigError,
  MeshFastPathError,
  MeshListenError,
  MeshPortConflictError,
} from './mesh-errors';
export { createMeshMetrics, MeshMetrics } from './mesh-metrics';
export type { MeshListenerStatus } from './mesh-service';
export {
  DEFAULT_DRAIN_MS,
  DEFAULT_LB,
  type LoadBalancing,
  type MeshBackend,
  type MeshBackendPort,
  type MeshPort,
  type MeshProtocol,
  type MeshServiceSpec,
} from './mesh-types';
export {
  detectNftables,
  type FastPathCut,
  type FastPathEndpoint,
  type FastPathRoute,
  type MeshFastPath,
  NftablesFastPath,
  type NftablesFastPathOptions,
  nftTableName,
  renderNftRuleset,
} from './nft-fast-path';
export { type MeshServiceStatus, RoutingMesh, type RoutingMeshOptions } from './routing-mesh';
export { StoreEndpointSource, type StoreEndpointSourceOptions } from './store-endpoint-source';
