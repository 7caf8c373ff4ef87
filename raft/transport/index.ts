// Entry of the Raft gRPC transport.
export { Backoff, type BackoffOptions, DEFAULT_BACKOFF } from './backoff';
export { messageFromWire, messageToWire, WireDecodeError } from './codec';
export { SnapshotSendError, TransportListenError } from './errors';
export { GrpcTransport, type GrpcTransportOptions } from './grpc-transport';
