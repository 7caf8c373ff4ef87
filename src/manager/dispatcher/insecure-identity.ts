// FOR TESTS AND IN-PROCESS SCALE RUNS ONLY. Reads the caller's node identity from call metadata
// ("orch-test-node-id", "orch-test-node-role") instead of a verified certificate, so a dispatcher
// can be exercised over insecure loopback and a thousand hollow nodes can share one channel without
// a thousand certificates. Anyone can claim any identity this way: a real server uses peerIdentity.
import * as grpc from '@grpc/grpc-js';
import type { NodeIdentity } from '../ca/node-identity';

export const TEST_NODE_ID_METADATA_KEY = 'orch-test-node-id';
export const TEST_NODE_ROLE_METADATA_KEY = 'orch-test-node-role';

/** The identity claimed in the call's metadata, in cluster `clusterId`. */
export function metadataIdentity(clusterId = 'test-cluster') {
  return (call: { metadata: grpc.Metadata }): NodeIdentity | undefined => {
    const nodeId = call.metadata.get(TEST_NODE_ID_METADATA_KEY)[0];
    if (typeof nodeId !== 'string' || nodeId === '') return undefined;
    const role = call.metadata.get(TEST_NODE_ROLE_METADATA_KEY)[0] === 'manager' ? 'manager' : 'worker';
    return { nodeId, role, clusterId };
  };
}

/**
 * Client options whose interceptor claims `nodeId` on every call (insecure channels cannot carry
 * call credentials). Pair with grpc.credentials.createInsecure() and a metadataIdentity dispatcher.
 */
export function insecureNodeClientOptions(
  nodeId: string,
  role: 'worker' | 'manager' = 'worker',
): grpc.ClientOptions {
  const interceptor: grpc.Interceptor = (options, nextCall) =>
    new grpc.InterceptingCall(nextCall(options), {
      start: (metadata, listener, next) => {
        metadata.set(TEST_NODE_ID_METADATA_KEY, nodeId);
        metadata.set(TEST_NODE_ROLE_METADATA_KEY, role);
        next(metadata, listener);
      },
    });
  return { interceptors: [interceptor] };
}
