// A node's TLS material and the grpc-js certificate provider that hands it to credentials.
// Updating the provider (after a renewal) reaches every server and channel built on it.
import type * as grpc from '@grpc/grpc-js';
import type { NodeIdentity } from './node-identity';

/** Everything a node needs for mutual TLS. Its files are ca.crt, node.crt and node.key. */
export interface NodeTLSMaterial extends NodeIdentity {
  rootCACertificatePem: string;
  certificatePem: string;
  /** PKCS#8 PEM. */
  keyPem: string;
}

type CertificateProvider = grpc.experimental.CertificateProvider;
type CaListener = grpc.experimental.CaCertificateUpdateListener;
type IdentityListener = grpc.experimental.IdentityCertificateUpdateListener;

/**
 * Holds a node's current TLS material and pushes every update to the grpc-js credentials built
 * on it (servers swap their secure context; channels use it for their next connection).
 */
export class NodeCertificateProvider implements CertificateProvider {
  private material: NodeTLSMaterial;
  private readonly caListeners = new Set<CaListener>();
  private readonly identityListeners = new Set<IdentityListener>();

  constructor(material: NodeTLSMaterial) {
    this.material = material;
  }

  get current(): NodeTLSMaterial {
    return this.material;
  }

  /** Installs renewed material (same cluster); every listener sees it at once. */
  update(material: NodeTLSMaterial): void {
    this.material = material;
    for (const listener of this.caListeners) listener(this.caUpdate());
    for (const listener of this.identityListeners) listener(this.identityUpdate());
  }

  private caUpdate(): grpc.experimental.CaCertificateUpdate {
    return { caCertificate: Buffer.from(this.material.rootCACertificatePem) };
  }

  private identityUpdate(): grpc.experimental.IdentityCertificateUpdate {
    // The chain: our certificate, then the root, so a peer sees the whole path.
    const chain = `${this.material.certificatePem.trim()}\n${this.material.rootCACertificatePem.trim()}\n`;
    return { certificate: Buffer.from(chain), privateKey: Buffer.from(this.material.keyPem) };
  }

  // grpc-js registers its own watcher only after adding these listeners, so the current material
  // is delivered on the next microtask, not synchronously (it would be lost).
  addCaCertificateListener(listener: CaListener): void {
    this.caListeners.add(listener);
    queueMicrotask(() => {
      if (this.caListeners.has(listener)) listener(this.caUpdate());
    });
  }

  removeCaCertificateListener(listener: CaListener): void {
    this.caListeners.delete(listener);
  }

  addIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.add(listener);
    queueMicrotask(() => {
      if (this.identityListeners.has(listener)) listener(this.identityUpdate());
    });
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.delete(listener);
  }
}
