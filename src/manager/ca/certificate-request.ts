// What a node sends the CA: a fresh ECDSA P-256 key (kept) and a PKCS#10 request proving it holds it.
// The subject is a placeholder; the CA assigns the node ID, role and cluster itself.

import { crypto, exportPrivateKeyPem, generateKeyPair, SIGNING_ALGORITHM } from './x509-crypto';
import { x509 } from './x509-lib';

export interface KeyAndCertificateRequest {
  /** PKCS#8 PEM: stays on the node (node.key, mode 0600). */
  keyPem: string;
  csrPem: string;
}

export async function createKeyAndCertificateRequest(): Promise<KeyAndCertificateRequest> {
  const keys = await generateKeyPair();
  const csr = await x509.Pkcs10CertificateRequestGenerator.create(
    { name: [{ CN: ['orch-node'] }], keys, signingAlgorithm: SIGNING_ALGORITHM },
    crypto,
  );
  return { keyPem: await exportPrivateKeyPem(keys.privateKey), csrPem: csr.toString('pem') };
}
