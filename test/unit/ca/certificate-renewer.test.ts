import { silentLogger } from '../../../src/common/logger';
import { CARequestError, CertificateRevokedError } from '../../../src/manager/ca/ca-errors';
import {
  CertificateRenewer,
  certificateValidity,
  renewalTimeMs,
} from '../../../src/manager/ca/certificate-renewer';
import { createKeyAndCertificateRequest } from '../../../src/manager/ca/certificate-request';
import { initializeCluster } from '../../../src/manager/ca/cluster-init';
import {
  NodeCertificateProvider,
  type NodeTLSMaterial,
} from '../../../src/manager/ca/node-certificate-provider';
import type { NodeRole } from '../../../src/manager/ca/node-identity';
import { RootCA } from '../../../src/manager/ca/root-ca';
import { FakeClock } from './fake-clock';

const DAY_MS = 24 * 60 * 60 * 1000;
const START = Date.parse('2026-06-01T00:00:00Z');

describe('renewalTimeMs', () => {
  const validity = { notBefore: new Date(START), notAfter: new Date(START + 100 * DAY_MS) };

  it('falls where 50% to 30% of the lifetime is left', () => {
    expect(renewalTimeMs(validity, () => 0)).toBe(START + 50 * DAY_MS);
    expect(renewalTimeMs(validity, () => 0.5)).toBe(START + 60 * DAY_MS);
    expect(renewalTimeMs(validity, () => 0.999999)).toBeLessThan(START + 70 * DAY_MS);
    expect(renewalTimeMs(validity, () => 0.999999)).toBeGreaterThan(START + 69 * DAY_MS);
  });

  it('spreads renewals of equal certificates over the window', () => {
    const times = new Set(Array.from({ length: 20 }, () => renewalTimeMs(validity)));
    expect(times.size).toBeGreaterThan(1);
    for (const t of times) {
      expect(t).toBeGreaterThanOrEqual(START + 50 * DAY_MS);
      expect(t).toBeLessThan(START + 70 * DAY_MS);
    }
  });
});

describe('CertificateRenewer', () => {
  let root: RootCA;
  let first: NodeTLSMaterial;
  let clock: FakeClock;

  /** What a manager would answer: a new certificate for the same node, issued at the clock's time. */
  async function reissue(current: NodeTLSMaterial, role: NodeRole = current.role): Promise<NodeTLSMaterial> {
    const { csrPem, keyPem } = await createKeyAndCertificateRequest();
    const issued = await root.issueNodeCertificate({
      csrPem,
      nodeId: current.nodeId,
      role,
      now: new Date(clock.now()),
    });
    return { ...current, role, certificatePem: issued.certificatePem, keyPem };
  }

  beforeAll(async () => {
    const init = await initializeCluster({ advertiseAddr: '127.0.0.1:1', now: new Date(START) });
    root = await RootCA.load(init.state.rootCACertificatePem, init.state.rootCAKeyPem);
    first = init.firstManager;
  });

  beforeEach(() => {
    clock = new FakeClock(START);
  });

  function renewerWith(renew: (signal: AbortSignal) => Promise<NodeTLSMaterial>, extra = {}) {
    const certificates = new NodeCertificateProvider(first);
    const renewer = new CertificateRenewer({
      certificates,
      renew,
      logger: silentLogger(),
      clock,
      random: () => 0.5,
      ...extra,
    });
    return { certificates, renewer };
  }

  it('persists and installs the renewed certificate, then schedules the next renewal from it', async () => {
    const persisted: NodeTLSMaterial[] = [];
    const { certificates, renewer } = renewerWith(() => reissue(certificates.current), {
      persist: async (material: NodeTLSMaterial) => {
        persisted.push(material);
      },
    });
    renewer.start();
    const due = renewalTimeMs(certificateValidity(first.certificatePem), () => 0.5);
    expect(renewer.nextRenewalAtMs).toBe(due);
    clock.advanceTo(due - 1);
    expect(persisted).toHaveLength(0);
    clock.advanceTo(due);
    await renewer.renewNow(); // joins the renewal the timer started
    expect(persisted).toHaveLength(1);
    const renewed = certificates.current;
    expect(renewed).toBe(persisted[0]);
    expect(renewed.nodeId).toBe(first.nodeId);
    expect(renewed.certificatePem).not.toBe(first.certificatePem);
    expect(renewer.nextRenewalAtMs).toBe(
      renewalTimeMs(certificateValidity(renewed.certificatePem), () => 0.5),
    );
    expect(renewer.nextRenewalAtMs).toBeGreaterThan(due);
    renewer.close();
    expect(clock.pending).toBe(0);
  });

  it('fires from the clock alone, without anyone calling renewNow', async () => {
    let calls = 0;
    const { certificates, renewer } = renewerWith(async () => {
      calls += 1;
      return reissue(certificates.current);
    });
    renewer.start();
    const due = renewer.nextRenewalAtMs!;
    clock.advanceTo(due - 1);
    expect(calls).toBe(0);
    clock.advanceTo(due);
    expect(calls).toBe(1);
    await renewer.renewNow(); // shares the renewal in flight
    expect(calls).toBe(1);
    renewer.close();
  });

  it('retries with doubling back-off when a manager cannot be reached, keeping the old certificate', async () => {
    let failuresLeft = 3;
    const { certificates, renewer } = renewerWith(
      async () => {
        if (failuresLeft > 0) {
          failuresLeft -= 1;
          throw new CARequestError('cannot reach manager 127.0.0.1:1: connection refused', 14);
        }
        return reissue(certificates.current);
      },
      { retryMinDelayMs: 1000, retryMaxDelayMs: 3000 },
    );
    await renewer.renewNow();
    expect(certificates.current).toBe(first);
    expect(renewer.nextRenewalAtMs).toBe(START + 1000);
    clock.advance(1000);
    await renewer.renewNow(); // second failure: 2 s
    expect(renewer.nextRenewalAtMs).toBe(START + 1000 + 2000);
    clock.advance(2000);
    await renewer.renewNow(); // third failure: capped at 3 s
    expect(renewer.nextRenewalAtMs).toBe(START + 1000 + 2000 + 3000);
    expect(certificates.current).toBe(first);
    await renewer.renewNow();
    expect(certificates.current).not.toBe(first);
    renewer.close();
  });

  it('does not install a certificate it could not persist', async () => {
    const { certificates, renewer } = renewerWith(() => reissue(certificates.current), {
      persist: async () => {
        throw new Error('disk full');
      },
    });
    await renewer.renewNow();
    expect(certificates.current).toBe(first);
    expect(renewer.nextRenewalAtMs).toBe(START + 1000);
    renewer.close();
  });

  it('stops for good when the cluster revoked the node', async () => {
    const { renewer } = renewerWith(async () => {
      throw new CertificateRevokedError(first.nodeId);
    });
    renewer.start();
    await renewer.renewNow();
    expect(renewer.nextRenewalAtMs).toBeUndefined();
    expect(clock.pending).toBe(0);
    renewer.close();
  });

  it('renews at once when the desired role differs from the certificate, and not otherwise', async () => {
    let calls = 0;
    const { certificates, renewer } = renewerWith(async () => {
      calls += 1;
      return reissue(certificates.current, 'worker');
    });
    await renewer.desiredRoleChanged('manager');
    expect(calls).toBe(0);
    await renewer.desiredRoleChanged('worker');
    expect(calls).toBe(1);
    expect(certificates.current.role).toBe('worker');
    renewer.close();
  });

  it('aborts a renewal in progress on close and installs nothing', async () => {
    let seen: AbortSignal | undefined;
    const { certificates, renewer } = renewerWith(
      (signal) =>
        new Promise<NodeTLSMaterial>((_resolve, reject) => {
          seen = signal;
          signal.addEventListener('abort', () => reject(signal.reason));
        }),
    );
    const pending = renewer.renewNow();
    renewer.close();
    await pending;
    expect(seen?.aborted).toBe(true);
    expect(certificates.current).toBe(first);
    expect(clock.pending).toBe(0);
  });
});
