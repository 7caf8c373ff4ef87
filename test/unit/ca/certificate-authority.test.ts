import { X509Certificate } from 'node:crypto';
import { silentLogger } from '../../../src/common/logger';
import {
  CertificateRevokedError,
  InvalidJoinTokenError,
  UnknownNodeError,
  WrongClusterError,
} from '../../../src/manager/ca/ca-errors';
import { MemoryCAStore } from '../../../src/manager/ca/ca-store-memory';
import { CertificateAuthority } from '../../../src/manager/ca/certificate-authority';
import { createKeyAndCertificateRequest } from '../../../src/manager/ca/certificate-request';
import { initializeCluster } from '../../../src/manager/ca/cluster-init';
import { formatJoinToken, parseJoinToken } from '../../../src/manager/ca/join-token';
import { RootCA } from '../../../src/manager/ca/root-ca';
import { FakeClock } from './fake-clock';

const DAY_MS = 24 * 60 * 60 * 1000;
const START = Date.parse('2026-05-01T00:00:00Z');

async function setUp() {
  const init = await initializeCluster({ advertiseAddr: '10.0.0.1:4242', now: new Date(START) });
  const store = new MemoryCAStore(init.state);
  await store.recordIssuedCertificate(init.firstManagerRecord);
  const clock = new FakeClock(START);
  const ca = new CertificateAuthority({ store, logger: silentLogger(), clock });
  return { init, store, clock, ca };
}

describe('CertificateAuthority', () => {
  describe('initializeCluster', () => {
    it('creates a cluster ID, a root CA, both join tokens and the first manager certificate', async () => {
      const { init, store } = await setUp();
      expect(init.state.clusterId).toMatch(/^[0-9a-z]{25}$/);
      expect(init.firstManager).toMatchObject({ role: 'manager', clusterId: init.state.clusterId });
      const root = await RootCA.load(init.state.rootCACertificatePem, init.state.rootCAKeyPem);
      await expect(
        root.verifyNodeCertificate(init.firstManager.certificatePem, new Date(START)),
      ).resolves.toEqual({
        nodeId: init.firstManager.nodeId,
        role: 'manager',
        clusterId: init.state.clusterId,
      });
      expect(parseJoinToken(init.joinTokens.worker).caDigest).toBe(root.digest);
      expect(init.joinTokens.worker).not.toBe(init.joinTokens.manager);
      await expect(store.getNode(init.firstManager.nodeId)).resolves.toMatchObject({
        desiredRole: 'manager',
      });
      expect(init.state.nodeCertificateValidityMs).toBe(90 * DAY_MS);
    });
  });

  describe('issueNodeCertificate', () => {
    it("issues a certificate of the token's role to a new node, valid for the cluster's cert expiry", async () => {
      const { init, store, ca } = await setUp();
      store.setNodeCertificateValidity(10 * DAY_MS);
      const { csrPem } = await createKeyAndCertificateRequest();
      const issued = await ca.issueNodeCertificate({
        csrPem,
        token: init.joinTokens.worker,
        advertiseAddr: '10.0.0.2:4242',
      });
      expect(issued).toMatchObject({ role: 'worker', clusterId: init.state.clusterId });
      expect(issued.notAfter.getTime()).toBe(START + 10 * DAY_MS);
      expect(new X509Certificate(issued.certificatePem).subjectAltName).toContain('IP Address:10.0.0.2');
      expect(store.issued.at(-1)).toMatchObject({ nodeId: issued.nodeId, role: 'worker', joined: true });
    });

    it('assigns a different node ID to every join', async () => {
      const { init, ca } = await setUp();
      const { csrPem } = await createKeyAndCertificateRequest();
      const a = await ca.issueNodeCertificate({ csrPem, token: init.joinTokens.manager, advertiseAddr: '' });
      const b = await ca.issueNodeCertificate({ csrPem, token: init.joinTokens.manager, advertiseAddr: '' });
      expect(a.role).toBe('manager');
      expect(a.nodeId).not.toBe(b.nodeId);
    });

    it("refuses a token made for another cluster's CA even if its secret is right", async () => {
      const { init, ca } = await setUp();
      const { secret } = parseJoinToken(init.joinTokens.worker);
      const { csrPem } = await createKeyAndCertificateRequest();
      await expect(
        ca.issueNodeCertificate({
          csrPem,
          token: formatJoinToken('1'.repeat(50), secret),
          advertiseAddr: '',
        }),
      ).rejects.toThrow(new InvalidJoinTokenError("it was made for another cluster's CA"));
    });

    it('refuses a rotated-out token', async () => {
      const { init, ca, store } = await setUp();
      const fresh = await ca.rotateJoinToken('manager');
      const { csrPem } = await createKeyAndCertificateRequest();
      await expect(
        ca.issueNodeCertificate({ csrPem, token: init.joinTokens.manager, advertiseAddr: '' }),
      ).rejects.toThrow('invalid join token: wrong secret');
      await expect(
        ca.issueNodeCertificate({ csrPem, token: fresh, advertiseAddr: '' }),
      ).resolves.toMatchObject({
        role: 'manager',
      });
      expect((await store.getClusterCA()).joinSecrets.manager).toBe(parseJoinToken(fresh).secret);
    });
  });

  describe('renewNodeCertificate', () => {
    it('keeps the node ID, takes the desired role from the store and starts a fresh lifetime', async () => {
      const { init, store, clock, ca } = await setUp();
      const { csrPem } = await createKeyAndCertificateRequest();
      const joined = await ca.issueNodeCertificate({
        csrPem,
        token: init.joinTokens.worker,
        advertiseAddr: '',
      });
      clock.advance(50 * DAY_MS);
      store.setDesiredRole(joined.nodeId, 'manager');
      const peer = { nodeId: joined.nodeId, role: 'worker' as const, clusterId: joined.clusterId };
      const renewed = await ca.renewNodeCertificate(peer, { csrPem, advertiseAddr: '10.0.0.9:1' });
      expect(renewed).toMatchObject({ nodeId: joined.nodeId, role: 'manager', clusterId: joined.clusterId });
      expect(renewed.notAfter.getTime()).toBe(START + 50 * DAY_MS + 90 * DAY_MS);
      expect(store.issued.at(-1)).toMatchObject({ nodeId: joined.nodeId, role: 'manager', joined: false });
    });

    it('refuses removed nodes, unknown nodes and other clusters', async () => {
      const { init, store, ca } = await setUp();
      const { csrPem } = await createKeyAndCertificateRequest();
      const joined = await ca.issueNodeCertificate({
        csrPem,
        token: init.joinTokens.worker,
        advertiseAddr: '',
      });
      const peer = { nodeId: joined.nodeId, role: 'worker' as const, clusterId: joined.clusterId };
      await expect(
        ca.renewNodeCertificate({ ...peer, clusterId: 'x'.repeat(25) }, { csrPem, advertiseAddr: '' }),
      ).rejects.toBeInstanceOf(WrongClusterError);
      await expect(
        ca.renewNodeCertificate({ ...peer, nodeId: '0'.repeat(25) }, { csrPem, advertiseAddr: '' }),
      ).rejects.toThrow(new UnknownNodeError('0'.repeat(25)));
      store.removeNode(joined.nodeId);
      await expect(ca.renewNodeCertificate(peer, { csrPem, advertiseAddr: '' })).rejects.toThrow(
        new CertificateRevokedError(joined.nodeId),
      );
    });
  });
});
