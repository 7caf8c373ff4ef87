// The cluster's root certificate authority: its self-signed certificate and the key that signs
// node certificates. It decides every field of a node certificate itself (node ID, role, cluster,
// SANs, usages, validity); from a joiner's CSR it takes only the public key, after checking the
// CSR's signature proves the joiner holds the private key.

import { parseAdvertiseHost } from './advertise-address';
import { InvalidCertificateError, InvalidCertificateRequestError } from './ca-errors';
import { caDigestOfDer } from './join-token';
import { type NodeIdentity, type NodeRole, roleToOrganizationalUnit } from './node-identity';
import { identityFromSubject } from './peer-identity';
import {
  type CryptoKey,
  crypto,
  exportPrivateKeyPem,
  generateKeyPair,
  importPrivateKeyPem,
  publicKeyDerOfPrivateKeyPem,
  randomSerialNumber,
  SIGNING_ALGORITHM,
} from './x509-crypto';
import { x509 } from './x509-lib';

const DAY_MS = 24 * 60 * 60 * 1000;
export const DEFAULT_ROOT_CA_VALIDITY_MS = 20 * 365 * DAY_MS;
/** Swarm's default --cert-expiry. */
export const DEFAULT_NODE_CERT_VALIDITY_MS = 90 * DAY_MS;
/** Node certificates start a little in the past so a peer whose clock lags still accepts them. */
export const CLOCK_SKEW_ALLOWANCE_MS = 5 * 60 * 1000;
/** Below this a certificate would be renewing constantly; Swarm's minimum --cert-expiry is one hour. */
export const MIN_NODE_CERT_VALIDITY_MS = 60 * 60 * 1000;

const ROOT_CA_COMMON_NAME = 'orch-root-ca';
const ACCEPTED_CURVES = new Set(['P-256', 'P-384']);

export interface IssueNodeCertificateOptions {
  csrPem: string;
  nodeId: string;
  role: NodeRole;
  /** host:port other nodes reach the node at; its host becomes a SAN. Optional. */
  advertiseAddr?: string;
  validityMs?: number;
  now?: Date;
}

export interface IssuedNodeCertificate {
  certificatePem: string;
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
}

export class RootCA {
  /** sha256 of the certificate's DER in base36: the digest join tokens carry. */
  readonly digest: string;

  private constructor(
    readonly certificate: x509.X509Certificate,
    readonly certificatePem: string,
    readonly keyPem: string,
    private readonly signingKey: CryptoKey,
    readonly clusterId: string,
  ) {
    this.digest = caDigestOfDer(certificate.rawData);
  }

  /** A new root CA: ECDSA P-256 key and a self-signed certificate (CN=orch-root-ca, O=<clusterId>). */
  static async create(options: { clusterId: string; validityMs?: number; now?: Date }): Promise<RootCA> {
    const now = options.now ?? new Date();
    const keys = await generateKeyPair();
    const certificate = await x509.X509CertificateGenerator.createSelfSigned(
      {
        serialNumber: randomSerialNumber(),
        name: [{ CN: [ROOT_CA_COMMON_NAME] }, { O: [options.clusterId] }],
        notBefore: new Date(now.getTime() - CLOCK_SKEW_ALLOWANCE_MS),
        notAfter: new Date(now.getTime() + (options.validityMs ?? DEFAULT_ROOT_CA_VALIDITY_MS)),
        signingAlgorithm: SIGNING_ALGORITHM,
        keys,
        extensions: [
          new x509.BasicConstraintsExtension(true, 0, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
          await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
        ],
      },
      crypto,
    );
    const keyPem = await exportPrivateKeyPem(keys.privateKey);
    return RootCA.load(certificate.toString('pem'), keyPem);
  }

  /** The CA from its stored certificate and PKCS#8 key; refuses a pair that does not belong together. */
  static async load(certificatePem: string, keyPem: string): Promise<RootCA> {
    let certificate: x509.X509Certificate;
    try {
      certificate = new x509.X509Certificate(certificatePem);
    } catch (err) {
      throw new InvalidCertificateError('root CA certificate is not a PEM X.509 certificate', { cause: err });
    }
    const constraints = certificate.getExtension(x509.BasicConstraintsExtension);
    if (!constraints?.ca) throw new InvalidCertificateError('root CA certificate is not a CA certificate');
    const clusterId = certificate.subjectName.getField('O')[0];
    if (!clusterId) throw new InvalidCertificateError('root CA certificate names no cluster (O)');
    let signingKey: CryptoKey;
    let publicKeyDer: Buffer;
    try {
      signingKey = await importPrivateKeyPem(keyPem);
      publicKeyDer = publicKeyDerOfPrivateKeyPem(keyPem);
    } catch (err) {
      throw new InvalidCertificateError('root CA key is not a PKCS#8 ECDSA P-256 key', { cause: err });
    }
    if (!publicKeyDer.equals(Buffer.from(certificate.publicKey.rawData))) {
      throw new InvalidCertificateError('root CA key does not match its certificate');
    }
    return new RootCA(certificate, certificate.toString('pem'), keyPem, signingKey, clusterId);
  }

  /**
   * Signs a node certificate for the CSR's public key: CN=<nodeId>, OU=orch-<role>, O=<clusterId>,
   * SANs for the node ID, the role and the advertise host, EKU serverAuth + clientAuth.
   */
  async issueNodeCertificate(options: IssueNodeCertificateOptions): Promise<IssuedNodeCertificate> {
    const now = options.now ?? new Date();
    const validityMs = options.validityMs ?? DEFAULT_NODE_CERT_VALIDITY_MS;
    if (!Number.isFinite(validityMs) || validityMs < MIN_NODE_CERT_VALIDITY_MS) {
      throw new InvalidCertificateRequestError(`certificate validity must be at least one hour`);
    }
    const publicKey = await verifiedPublicKey(options.csrPem);
    const advertiseHost = parseAdvertiseHost(options.advertiseAddr ?? '');

    const caNotBefore = this.certificate.notBefore.getTime();
    const caNotAfter = this.certificate.notAfter.getTime();
    if (now.getTime() >= caNotAfter) throw new InvalidCertificateError('the root CA certificate has expired');
    const notBefore = new Date(Math.max(now.getTime() - CLOCK_SKEW_ALLOWANCE_MS, caNotBefore));
    const notAfter = new Date(Math.min(now.getTime() + validityMs, caNotAfter));
    const roleName = roleToOrganizationalUnit(options.role);
    const names: x509.JsonGeneralNames = [
      { type: 'dns', value: options.nodeId },
      { type: 'dns', value: roleName },
    ];
    if (advertiseHost) names.push({ type: advertiseHost.kind, value: advertiseHost.value });
    const serialNumber = randomSerialNumber();
    const certificate = await x509.X509CertificateGenerator.create(
      {
        serialNumber,
        subject: [{ CN: [options.nodeId] }, { OU: [roleName] }, { O: [this.clusterId] }],
        issuer: this.certificate.subjectName,
        notBefore,
        notAfter,
        signingAlgorithm: SIGNING_ALGORITHM,
        publicKey,
        signingKey: this.signingKey,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
          new x509.ExtendedKeyUsageExtension([
            x509.ExtendedKeyUsage.serverAuth,
            x509.ExtendedKeyUsage.clientAuth,
          ]),
          new x509.SubjectAlternativeNameExtension(names),
          await x509.SubjectKeyIdentifierExtension.create(publicKey, false, crypto),
          await x509.AuthorityKeyIdentifierExtension.create(this.certificate, false, crypto),
        ],
      },
      crypto,
    );
    return { certificatePem: certificate.toString('pem'), serialNumber, notBefore, notAfter };
  }

  /**
   * Checks that a node certificate was signed by this CA and is valid at `now`, and returns the
   * identity it carries. Throws InvalidCertificateError saying what is wrong.
   */
  async verifyNodeCertificate(certificatePem: string, now: Date = new Date()): Promise<NodeIdentity> {
    return verifyNodeCertificate(this.certificate, certificatePem, now);
  }
}

/** The public key of a CSR whose signature checks out and whose key orch accepts. */
async function verifiedPublicKey(csrPem: string): Promise<x509.PublicKey> {
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem);
  } catch (err) {
    throw new InvalidCertificateRequestError('the CSR is not a PEM PKCS#10 request', { cause: err });
  }
  const algorithm = csr.publicKey.algorithm as { name?: string; namedCurve?: string };
  if (algorithm.name !== 'ECDSA' || !ACCEPTED_CURVES.has(algorithm.namedCurve ?? '')) {
    throw new InvalidCertificateRequestError('the CSR key must be ECDSA P-256 or P-384');
  }
  let signed = false;
  try {
    signed = await csr.verify(crypto);
  } catch (err) {
    throw new InvalidCertificateRequestError('the CSR signature cannot be checked', { cause: err });
  }
  if (!signed) throw new InvalidCertificateRequestError('the CSR signature does not match its key');
  return csr.publicKey;
}

/** See RootCA.verifyNodeCertificate; usable by a node that holds only the CA certificate. */
export async function verifyNodeCertificate(
  caCertificate: x509.X509Certificate,
  certificatePem: string,
  /** null: check signature and identity only, not the validity period. */
  now: Date | null = new Date(),
): Promise<NodeIdentity> {
  let certificate: x509.X509Certificate;
  try {
    certificate = new x509.X509Certificate(certificatePem);
  } catch (err) {
    throw new InvalidCertificateError('not a PEM X.509 certificate', { cause: err });
  }
  const signedByCA =
    certificate.issuer === caCertificate.subject &&
    (await certificate.verify({ publicKey: caCertificate.publicKey, signatureOnly: true }, crypto));
  if (!signedByCA) throw new InvalidCertificateError('not signed by the cluster root CA');
  if (now && now < certificate.notBefore) throw new InvalidCertificateError('not valid yet');
  if (now && now > certificate.notAfter) throw new InvalidCertificateError('expired');
  const identity = identityFromSubject({
    CN: certificate.subjectName.getField('CN'),
    OU: certificate.subjectName.getField('OU'),
    O: certificate.subjectName.getField('O'),
  });
  if (!identity) throw new InvalidCertificateError('the subject carries no orch node identity');
  return identity;
}
