// The cluster CA, join tokens and node-to-node mutual TLS. See docs/security.md.
//  Manager side: initializeCluster (orch init), CertificateAuthority + createCAServiceHandlers
//  (the orch.ca.CA service), Authorizer (who may call what), createNodeServerCredentials.
//  Node side: joinCluster (orch join), renewNodeCertificate + CertificateRenewer,
//  createNodeChannelCredentials, read/writeNodeTLSMaterial.
export { type AdvertiseHost, parseAdvertiseHost } from './advertise-address';
export {
  type AccessRules,
  type AuthorizationOptions,
  Authorizer,
  type Caller,
  DEFAULT_ACCESS_RULES,
  DISPATCHER_SERVICE_NAME,
} from './authorization';
export {
  type CACallOptions,
  fetchRootCACertificate,
  type JoinClusterOptions,
  joinCluster,
  type RenewCertificateOptions,
  renewNodeCertificate,
} from './ca-client';
export {
  CAMismatchError,
  CARequestError,
  CertificateRevokedError,
  InvalidCertificateError,
  InvalidCertificateRequestError,
  InvalidJoinTokenError,
  PermissionDeniedError,
  UnauthenticatedError,
  UnknownNodeError,
  WrongClusterError,
} from './ca-errors';
export { CA_SERVICE_NAME, type CAClient, type CAHandlers, caProtos } from './ca-grpc';
export { createCAServiceHandlers } from './ca-service';
export { ERROR_METADATA_KEY, errorFromStatus, serviceErrorFromError, statusFromError } from './ca-status';
export type {
  CANodeRecord,
  CAStore,
  ClusterCAState,
  IssuedCertificateRecord,
  RevocationList,
} from './ca-store';
export { MemoryCAStore, NodeExistsError } from './ca-store-memory';
export {
  CertificateAuthority,
  type CertificateAuthorityOptions,
  type IssuedNode,
  type IssueRequest,
  type RenewRequest,
} from './certificate-authority';
export {
  NODE_CERTIFICATE_FILE,
  NODE_KEY_FILE,
  ROOT_CA_CERTIFICATE_FILE,
  readNodeTLSMaterial,
  writeNodeTLSMaterial,
} from './certificate-files';
export {
  CertificateRenewer,
  type CertificateRenewerOptions,
  certificateValidity,
  renewalTimeMs,
  type Validity,
} from './certificate-renewer';
export { createKeyAndCertificateRequest, type KeyAndCertificateRequest } from './certificate-request';
export { type Clock, type ClockTimer, systemClock } from './clock';
export { type InitializeClusterOptions, type InitializedCluster, initializeCluster } from './cluster-init';
export {
  caDigestOfDer,
  formatJoinToken,
  generateJoinSecrets,
  type JoinSecrets,
  joinTokensFor,
  type ParsedJoinToken,
  parseJoinToken,
  roleForSecret,
  rotateJoinSecret,
} from './join-token';
export { NodeCertificateProvider, type NodeTLSMaterial } from './node-certificate-provider';
export {
  availabilityFromWire,
  availabilityToWire,
  isValidNodeId,
  NODE_ROLES,
  type NodeAvailability,
  type NodeIdentity,
  type NodeRole,
  newRandomId,
  roleFromWire,
  roleToWire,
  type WireNodeAvailability,
} from './node-identity';
export { type AuthenticatedCall, identityFromPeerCertificate, peerIdentity } from './peer-identity';
export {
  DEFAULT_NODE_CERT_VALIDITY_MS,
  DEFAULT_ROOT_CA_VALIDITY_MS,
  type IssuedNodeCertificate,
  RootCA,
  verifyNodeCertificate,
} from './root-ca';
export {
  createNodeChannelCredentials,
  createNodeServerCredentials,
  MANAGER_SERVER_NAME,
  NODE_CHANNEL_OPTIONS,
  type NodeChannelCredentialsOptions,
  type NodeServerCredentialsOptions,
  ServerIdentityError,
} from './tls-credentials';
