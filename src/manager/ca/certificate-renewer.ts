// Keeps a node's certificate fresh: renews at a random point when 30–50% of its lifetime is left
// (so a cluster's nodes do not all renew at once), retries with back-off when a manager cannot be
// reached, and renews at once when the node's role changes. Time comes from an injected Clock.
import type { Logger } from 'pino';
import { CertificateRevokedError, UnknownNodeError } from './ca-errors';
import { type Clock, type ClockTimer, systemClock } from './clock';
import type { NodeCertificateProvider, NodeTLSMaterial } from './node-certificate-provider';
import type { NodeRole } from './node-identity';
import { x509 } from './x509-lib';

/** Renewal falls between these fractions of the lifetime having passed. */
const RENEW_FROM = 0.5;
const RENEW_UNTIL = 0.7;

export interface Validity {
  notBefore: Date;
  notAfter: Date;
}

export function certificateValidity(certificatePem: string): Validity {
  const certificate = new x509.X509Certificate(certificatePem);
  return { notBefore: certificate.notBefore, notAfter: certificate.notAfter };
}

/**
 * When to renew a certificate: a point drawn uniformly from the window where 50% to 30% of its
 * lifetime remains. `random` returns a number in [0, 1).
 */
export function renewalTimeMs(validity: Validity, random: () => number = Math.random): number {
  const start = validity.notBefore.getTime();
  const lifetime = validity.notAfter.getTime() - start;
  const from = start + lifetime * RENEW_FROM;
  const until = start + lifetime * RENEW_UNTIL;
  return Math.floor(from + (until - from) * random());
}

export interface CertificateRenewerOptions {
  certificates: NodeCertificateProvider;
  /** Gets a renewed certificate from a manager (e.g. renewNodeCertificate from ca-client.ts). */
  renew: (signal: AbortSignal) => Promise<NodeTLSMaterial>;
  /** Runs before the new material is installed, e.g. to write it to disk; a failure is a failed renewal. */
  persist?: (material: NodeTLSMaterial) => Promise<void>;
  logger: Logger;
  clock?: Clock;
  random?: () => number;
  /** Back-off after a failed renewal: starts here and doubles. Default 1 s. */
  retryMinDelayMs?: number;
  /** Default 5 min. */
  retryMaxDelayMs?: number;
}

export class CertificateRenewer {
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly logger: Logger;
  private timer?: ClockTimer;
  private dueAtMs?: number;
  private inFlight?: Promise<void>;
  private readonly abort = new AbortController();
  private failures = 0;
  private started = false;
  private closed = false;

  constructor(private readonly options: CertificateRenewerOptions) {
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.logger = options.logger.child({ module: 'certificate-renewer' });
  }

  /** When the next renewal is scheduled (ms since the epoch), if one is. */
  get nextRenewalAtMs(): number | undefined {
    return this.dueAtMs;
  }

  /** Schedules renewal of the current certificate. */
  start(): void {
    if (this.closed || this.started) return;
    this.started = true;
    this.scheduleFromCertificate();
  }

  /** The cluster changed this node's role: renew now unless the certificate already carries it. */
  desiredRoleChanged(role: NodeRole): Promise<void> {
    if (this.options.certificates.current.role === role) return Promise.resolve();
    return this.renewNow(`role changed to ${role}`);
  }

  /** Renews at once; concurrent calls share one renewal. Resolves when it succeeded or was retried. */
  renewNow(reason = 'requested'): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.inFlight ??= this.runRenewal(reason).finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  /** Stops the schedule and aborts a renewal in progress. */
  close(): void {
    this.closed = true;
    this.cancelTimer();
    this.abort.abort(new Error('certificate renewer closed'));
  }

  private cancelTimer(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.dueAtMs = undefined;
  }

  private scheduleAt(atMs: number): void {
    this.cancelTimer();
    if (this.closed) return;
    this.dueAtMs = atMs;
    this.timer = this.clock.setTimer(
      () => {
        this.timer = undefined;
        void this.renewNow('scheduled');
      },
      Math.max(0, atMs - this.clock.now()),
    );
  }

  private scheduleFromCertificate(): void {
    const validity = certificateValidity(this.options.certificates.current.certificatePem);
    const atMs = renewalTimeMs(validity, this.random);
    this.scheduleAt(atMs);
    this.logger.debug({ renewAt: new Date(atMs).toISOString() }, 'certificate renewal scheduled');
  }

  private async runRenewal(reason: string): Promise<void> {
    this.cancelTimer();
    const previous = this.options.certificates.current;
    try {
      const material = await this.options.renew(this.abort.signal);
      if (this.closed) return;
      await this.options.persist?.(material);
      if (this.closed) return;
      this.options.certificates.update(material);
      this.failures = 0;
      this.logger.info(
        { reason, nodeId: material.nodeId, role: material.role, previousRole: previous.role },
        'node certificate renewed',
      );
      this.scheduleFromCertificate();
    } catch (err) {
      if (this.closed) return;
      if (err instanceof CertificateRevokedError || err instanceof UnknownNodeError) {
        // The cluster no longer knows this node: retrying cannot help; it must join again.
        this.logger.error({ err, reason }, 'certificate renewal refused for good; the node must join again');
        return;
      }
      this.failures += 1;
      const min = this.options.retryMinDelayMs ?? 1000;
      const max = this.options.retryMaxDelayMs ?? 5 * 60 * 1000;
      const delayMs = Math.min(max, min * 2 ** Math.min(this.failures - 1, 30));
      this.logger.warn(
        { err, reason, retryInMs: delayMs, failures: this.failures },
        'certificate renewal failed',
      );
      this.scheduleAt(this.clock.now() + delayMs);
    }
  }
}
