// The node side of the CA: joining a cluster with a token, and renewing a certificate.
// Join pins the root CA by the digest in the token before anything secret is sent: the root is
// fetched over TLS that verifies nothing, compared with the token, and only then is the token
// sent, over a channel that trusts that root alone.
import * as grpc from '@grpc/grpc-js';
import { CAMismatchError, CARequestError, InvalidCertificateError } from './ca-errors';
import { type CAClient, caProtos } from './ca-grpc';
import { errorFromStatus } from './ca-status';
import { createKeyAndCertificateRequest } from './certificate-request';
import { caDigestOfDer, parseJoinToken } from './join-token';
import type { NodeCertificateProvider, NodeTLSMaterial } from './node-certificate-provider';
import { availabilityToWire, type NodeAvailability, type NodeRole, roleFromWire } from './node-identity';
import { verifyNodeCertificate } from './root-ca';
import {
  createNodeChannelCredentials,
  createPinnedRootChannelCredentials,
  createUnverifiedChannelCredentials,
  NODE_CHANNEL_OPTIONS,
} from './tls-credentials';
import { publicKeyDerOfPrivateKeyPem } from './x509-crypto';
import { x509 } from './x509-lib';

const DEFAULT_TIMEOUT_MS = 20_000;

export interface CACallOptions {
  signal?: AbortSignal;
  /** Per call; default 20 s. */
  timeoutMs?: number;
}

export interface JoinClusterOptions extends CACallOptions {
  /** host:port of any manager. */
  managerAddr: string;
  token: string;
  /** host:port other nodes will reach this node at (a SAN of its certificate). */
  advertiseAddr: string;
  /** The availability the cluster gives the new node (`orch join --availability`); default active. */
  availability?: NodeAvailability;
}

type Callback<T> = (err: grpc.ServiceError | null, value?: T) => void;

/** One unary call as a promise, with a deadline, cancellation and typed errors. */
function unary<T>(
  managerAddr: string,
  start: (options: grpc.CallOptions, callback: Callback<T>) => grpc.ClientUnaryCall,
  options: CACallOptions,
): Promise<T> {
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const deadline = new Date(Date.now() + (options.timeoutMs ?? DEFAULT_TIMEOUT_MS));
    const onAbort = () => {
      call.cancel();
      reject(signal?.reason);
    };
    const call = start({ deadline }, (err, value) => {
      signal?.removeEventListener('abort', onAbort);
      if (signal?.aborted) return;
      if (err) {
        const typed = errorFromStatus(err);
        if (typed instanceof CARequestError && typed.code === grpc.status.UNAVAILABLE) {
          reject(
            new CARequestError(`cannot reach manager ${managerAddr}: ${typed.message}`, typed.code, {
              cause: err,
            }),
          );
        } else {
          reject(typed);
        }
        return;
      }
      resolve(value as T);
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function caClient(managerAddr: string, credentials: grpc.ChannelCredentials): CAClient {
  return new (caProtos().CA)(managerAddr, credentials, NODE_CHANNEL_OPTIONS);
}

async function withClient<T>(
  managerAddr: string,
  credentials: grpc.ChannelCredentials,
  use: (client: CAClient) => Promise<T>,
): Promise<T> {
  const client = caClient(managerAddr, credentials);
  try {
    return await use(client);
  } finally {
    client.close();
  }
}

/** Fetches a manager's root CA certificate over unverified TLS: its digest must be checked by the caller. */
export async function fetchRootCACertificate(
  managerAddr: string,
  options: CACallOptions = {},
): Promise<string> {
  const response = await withClient(managerAddr, createUnverifiedChannelCredentials(), (client) =>
    unary<{ certificatePem: string }>(
      managerAddr,
      (callOptions, callback) => client.getRootCaCertificate({}, callOptions, callback),
      options,
    ),
  );
  return response.certificatePem;
}

interface WireNodeCertificate {
  nodeId: string;
  role: string;
  clusterId: string;
  certificatePem: string;
  rootCaPem: string;
}

/**
 * Checks what the CA sent back: signed by the root we trust, for our key, and naming the identity
 * the response claims. Returns the node's TLS material.
 */
async function materialFromResponse(
  rootCACertificatePem: string,
  keyPem: string,
  response: WireNodeCertificate,
): Promise<NodeTLSMaterial> {
  const root = new x509.X509Certificate(rootCACertificatePem);
  if (response.rootCaPem.trim() !== rootCACertificatePem.trim()) {
    throw new InvalidCertificateError('the CA answered with a different root certificate');
  }
  const identity = await verifyNodeCertificate(root, response.certificatePem);
  const role: NodeRole = roleFromWire(response.role);
  if (
    identity.nodeId !== response.nodeId ||
    identity.role !== role ||
    identity.clusterId !== response.clusterId
  ) {
    throw new InvalidCertificateError('the issued certificate does not name the identity the CA reported');
  }
  const certificateKey = Buffer.from(new x509.X509Certificate(response.certificatePem).publicKey.rawData);
  if (!certificateKey.equals(publicKeyDerOfPrivateKeyPem(keyPem))) {
    throw new InvalidCertificateError('the issued certificate is not for our key');
  }
  return {
    ...identity,
    rootCACertificatePem,
    certificatePem: response.certificatePem,
    keyPem,
  };
}

/**
 * `orch join`: pins the root CA named by the token, then asks for a certificate. The role is the
 * token's; the node ID is the CA's choice. Throws InvalidJoinTokenError, CAMismatchError
 * ("the manager's CA does not match the join token"), or CARequestError.
 */
export async function joinCluster(options: JoinClusterOptions): Promise<NodeTLSMaterial> {
  const token = parseJoinToken(options.token);
  const rootCACertificatePem = await fetchRootCACertificate(options.managerAddr, options);
  let root: x509.X509Certificate;
  try {
    root = new x509.X509Certificate(rootCACertificatePem);
  } catch (err) {
    throw new CAMismatchError(token.caDigest, '', { cause: err });
  }
  const digest = caDigestOfDer(root.rawData);
  if (digest !== token.caDigest) throw new CAMismatchError(token.caDigest, digest);
  const clusterId = root.subjectName.getField('O')[0] ?? '';

  const { keyPem, csrPem } = await createKeyAndCertificateRequest();
  const response = await withClient(
    options.managerAddr,
    createPinnedRootChannelCredentials(rootCACertificatePem, clusterId),
    (client) =>
      unary<WireNodeCertificate>(
        options.managerAddr,
        (callOptions, callback) =>
          client.issueNodeCertificate(
            {
              csrPem,
              token: options.token.trim(),
              advertiseAddr: options.advertiseAddr,
              availability: availabilityToWire(options.availability ?? 'active'),
            },
            callOptions,
            callback,
          ),
        options,
      ),
  );
  return materialFromResponse(rootCACertificatePem, keyPem, response);
}

export interface RenewCertificateOptions extends CACallOptions {
  managerAddr: string;
  /** The node's current material; its certificate authenticates the request. */
  certificates: NodeCertificateProvider;
  advertiseAddr: string;
}

/**
 * Asks a manager for a fresh certificate with a new key. Same node ID; the role is whatever the
 * cluster now wants for this node. Returns the material; installing it is the caller's choice.
 */
export async function renewNodeCertificate(options: RenewCertificateOptions): Promise<NodeTLSMaterial> {
  const { keyPem, csrPem } = await createKeyAndCertificateRequest();
  const current = options.certificates.current;
  const response = await withClient(
    options.managerAddr,
    createNodeChannelCredentials(options.certificates),
    (client) =>
      unary<WireNodeCertificate>(
        options.managerAddr,
        (callOptions, callback) =>
          client.renewNodeCertificate(
            { csrPem, advertiseAddr: options.advertiseAddr },
            callOptions,
            callback,
          ),
        options,
      ),
  );
  const material = await materialFromResponse(current.rootCACertificatePem, keyPem, response);
  if (material.nodeId !== current.nodeId) {
    throw new InvalidCertificateError(
      `the renewed certificate is for node ${material.nodeId}, not ${current.nodeId}`,
    );
  }
  return material;
}
