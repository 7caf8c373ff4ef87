import { webcrypto, X509Certificate } from 'node:crypto';
import { InvalidCertificateError, InvalidCertificateRequestError } from '../../../src/manager/ca/ca-errors';
import { createKeyAndCertificateRequest } from '../../../src/manager/ca/certificate-request';
import { caDigestOfDer } from '../../../src/manager/ca/join-token';
import { newRandomId } from '../../../src/manager/ca/node-identity';
import { RootCA } from '../../../src/manager/ca/root-ca';
import { x509 } from '../../../src/manager/ca/x509-lib';

const DAY_MS = 24 * 60 * 60 * 1000;
const NOW = new Date('2026-03-01T12:00:00Z');

describe('RootCA', () => {
  const clusterId = newRandomId();
  let ca: RootCA;

  beforeAll(async () => {
    ca = await RootCA.create({ clusterId, now: NOW });
  });

  describe('create', () => {
    it('makes a self-signed P-256 CA certificate naming the cluster, valid for 20 years', () => {
      const certificate = new X509Certificate(ca.certificatePem);
      expect(certificate.ca).toBe(true);
      expect(certificate.subject).toBe(`CN=orch-root-ca\nO=${clusterId}`);
      expect(certificate.issuer).toBe(certificate.subject);
      expect(certificate.verify(certificate.publicKey)).toBe(true);
      expect(certificate.publicKey.asymmetricKeyDetails).toMatchObject({ namedCurve: 'prime256v1' });
      const years = (new Date(certificate.validTo).getTime() - NOW.getTime()) / (365 * DAY_MS);
      expect(Math.round(years)).toBe(20);
      const constraints = ca.certificate.getExtension(x509.BasicConstraintsExtension)!;
      expect(constraints).toMatchObject({ ca: true, pathLength: 0, critical: true });
      const usages = ca.certificate.getExtension(x509.KeyUsagesExtension)!.usages;
      expect(usages).toBe(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
    });

    it('stores its key as PKCS#8 PEM and exposes the digest join tokens pin', () => {
      expect(ca.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
      expect(ca.clusterId).toBe(clusterId);
      expect(ca.digest).toBe(caDigestOfDer(ca.certificate.rawData));
    });
  });

  describe('load', () => {
    it('reloads the same CA from its certificate and key', async () => {
      const loaded = await RootCA.load(ca.certificatePem, ca.keyPem);
      expect(loaded.digest).toBe(ca.digest);
      expect(loaded.clusterId).toBe(clusterId);
    });

    it('refuses a key that does not belong to the certificate', async () => {
      const other = await RootCA.create({ clusterId: newRandomId() });
      await expect(RootCA.load(ca.certificatePem, other.keyPem)).rejects.toThrow(
        new InvalidCertificateError('root CA key does not match its certificate'),
      );
    });

    it('refuses a certificate that is not a CA', async () => {
      const { csrPem } = await createKeyAndCertificateRequest();
      const leaf = await ca.issueNodeCertificate({ csrPem, nodeId: newRandomId(), role: 'worker', now: NOW });
      await expect(RootCA.load(leaf.certificatePem, ca.keyPem)).rejects.toThrow(
        'invalid certificate: root CA certificate is not a CA certificate',
      );
    });
  });

  describe('issueNodeCertificate', () => {
    const nodeId = newRandomId();

    it('puts node ID, role and cluster in the subject, SANs for the node and its address, and both EKUs', async () => {
      const { csrPem } = await createKeyAndCertificateRequest();
      const issued = await ca.issueNodeCertificate({
        csrPem,
        nodeId,
        role: 'manager',
        advertiseAddr: '127.0.0.1:4242',
        now: NOW,
      });
      const certificate = new X509Certificate(issued.certificatePem);
      expect(certificate.subject).toBe(`CN=${nodeId}\nOU=orch-manager\nO=${clusterId}`);
      expect(certificate.subjectAltName).toBe(`DNS:${nodeId}, DNS:orch-manager, IP Address:127.0.0.1`);
      expect(certificate.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
      expect(certificate.ca).toBe(false);
      expect(BigInt(`0x${certificate.serialNumber}`)).toBe(BigInt(`0x${issued.serialNumber}`));
    });

    it('signs with the root, so the chain verifies', async () => {
      const { csrPem } = await createKeyAndCertificateRequest();
      const issued = await ca.issueNodeCertificate({ csrPem, nodeId, role: 'worker', now: NOW });
      const root = new X509Certificate(ca.certificatePem);
      const leaf = new X509Certificate(issued.certificatePem);
      expect(leaf.checkIssued(root)).toBe(true);
      expect(leaf.verify(root.publicKey)).toBe(true);
      await expect(ca.verifyNodeCertificate(issued.certificatePem, NOW)).resolves.toEqual({
        nodeId,
        role: 'worker',
        clusterId,
      });
    });

    it('is valid for 90 days by default, starting a few minutes early for clock skew', async () => {
      const { csrPem } = await createKeyAndCertificateRequest();
      const issued = await ca.issueNodeCertificate({ csrPem, nodeId, role: 'worker', now: NOW });
      expect(issued.notAfter.getTime()).toBe(NOW.getTime() + 90 * DAY_MS);
      expect(issued.notBefore.getTime()).toBe(NOW.getTime() - 5 * 60 * 1000);
    });

    it('honours a chosen validity but never outlives the root', async () => {
      const { csrPem } = await createKeyAndCertificateRequest();
      const week = await ca.issueNodeCertificate({
        csrPem,
        nodeId,
        role: 'worker',
        now: NOW,
        validityMs: 7 * DAY_MS,
      });
      expect(week.notAfter.getTime()).toBe(NOW.getTime() + 7 * DAY_MS);
      const forever = await ca.issueNodeCertificate({
        csrPem,
        nodeId,
        role: 'worker',
        now: NOW,
        validityMs: 100 * 365 * DAY_MS,
      });
      expect(forever.notAfter.getTime()).toBe(ca.certificate.notAfter.getTime());
    });

    it('names a host-name advertise address as a DNS SAN and an IPv6 one as an IP SAN', async () => {
      const { csrPem } = await createKeyAndCertificateRequest();
      const byName = await ca.issueNodeCertificate({
        csrPem,
        nodeId,
        role: 'worker',
        advertiseAddr: 'Node-1.example:2377',
      });
      expect(new X509Certificate(byName.certificatePem).subjectAltName).toContain('DNS:node-1.example');
      const v6 = await ca.issueNodeCertificate({
        csrPem,
        nodeId,
        role: 'worker',
        advertiseAddr: '[::1]:2377',
      });
      expect(new X509Certificate(v6.certificatePem).subjectAltName).toContain('IP Address:0:0:0:0:0:0:0:1');
    });

    it('refuses an advertise address that is neither a host name nor an IP', async () => {
      const { csrPem } = await createKeyAndCertificateRequest();
      await expect(
        ca.issueNodeCertificate({ csrPem, nodeId, role: 'worker', advertiseAddr: 'bad host:80' }),
      ).rejects.toThrow(
        'invalid certificate request: advertise address bad host:80: not a host name or IP address',
      );
      await expect(
        ca.issueNodeCertificate({ csrPem, nodeId, role: 'worker', advertiseAddr: '10.0.0.1:99999' }),
      ).rejects.toThrow(InvalidCertificateRequestError);
    });

    it('refuses a CSR whose signature does not match its key', async () => {
      const { csrPem } = await createKeyAndCertificateRequest();
      const csr = new x509.Pkcs10CertificateRequest(csrPem);
      const raw = new Uint8Array(csr.rawData);
      raw[raw.length - 2] = raw[raw.length - 2]! ^ 0xff; // corrupt the signature
      const tampered = x509.PemConverter.encode(raw.buffer, 'CERTIFICATE REQUEST');
      await expect(
        ca.issueNodeCertificate({ csrPem: tampered, nodeId, role: 'worker' }),
      ).rejects.toBeInstanceOf(InvalidCertificateRequestError);
    });

    it('refuses a CSR that is not PEM, and one with an RSA key', async () => {
      await expect(ca.issueNodeCertificate({ csrPem: 'hello', nodeId, role: 'worker' })).rejects.toThrow(
        'invalid certificate request: the CSR is not a PEM PKCS#10 request',
      );
      const alg = {
        name: 'RSASSA-PKCS1-v1_5',
        hash: 'SHA-256',
        publicExponent: new Uint8Array([1, 0, 1]),
        modulusLength: 2048,
      };
      const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
      const rsa = await x509.Pkcs10CertificateRequestGenerator.create(
        { name: 'CN=x', keys, signingAlgorithm: alg },
        webcrypto,
      );
      await expect(
        ca.issueNodeCertificate({ csrPem: rsa.toString('pem'), nodeId, role: 'worker' }),
      ).rejects.toThrow('invalid certificate request: the CSR key must be ECDSA P-256 or P-384');
    });

    it('refuses a validity under one hour', async () => {
      const { csrPem } = await createKeyAndCertificateRequest();
      await expect(
        ca.issueNodeCertificate({ csrPem, nodeId, role: 'worker', validityMs: 60_000 }),
      ).rejects.toThrow('invalid certificate request: certificate validity must be at least one hour');
    });
  });

  describe('verifyNodeCertificate', () => {
    it("refuses another CA's certificate and an expired one", async () => {
      const other = await RootCA.create({ clusterId: newRandomId() });
      const { csrPem } = await createKeyAndCertificateRequest();
      const foreign = await other.issueNodeCertificate({
        csrPem,
        nodeId: newRandomId(),
        role: 'worker',
        now: NOW,
      });
      await expect(ca.verifyNodeCertificate(foreign.certificatePem, NOW)).rejects.toThrow(
        'invalid certificate: not signed by the cluster root CA',
      );
      const mine = await ca.issueNodeCertificate({ csrPem, nodeId: newRandomId(), role: 'worker', now: NOW });
      await expect(
        ca.verifyNodeCertificate(mine.certificatePem, new Date(NOW.getTime() + 91 * DAY_MS)),
      ).rejects.toThrow('invalid certificate: expired');
    });
  });
});
