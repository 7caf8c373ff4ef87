// Join tokens: ORCH-1-<digest of the root CA certificate>-<secret>.
// The digest lets a joiner pin the CA before trusting anything a manager says; the secret decides
// the role (workers and managers have separate secrets) and is what rotation replaces.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { InvalidJoinTokenError } from './ca-errors';
import type { NodeRole } from './node-identity';

const PREFIX = 'ORCH';
const VERSION = '1';
/** sha256 (256 bits) in base36 needs at most 50 characters. */
const DIGEST_LENGTH = 50;
/** 128 random bits in base36 need at most 25 characters. */
const SECRET_LENGTH = 25;
const BASE36 = /^[0-9a-z]+$/;

export interface ParsedJoinToken {
  /** sha256 of the root CA certificate's DER, base36, zero-padded to 50 characters. */
  caDigest: string;
  secret: string;
}

/** The current secrets, one per role. Stored with the cluster; rotation replaces one of them. */
export interface JoinSecrets {
  worker: string;
  manager: string;
}

function toBase36(bytes: Buffer, length: number): string {
  return BigInt(`0x${bytes.toString('hex')}`)
    .toString(36)
    .padStart(length, '0');
}

/** The digest a join token carries for a root CA certificate given as DER. */
export function caDigestOfDer(der: Uint8Array | ArrayBuffer): string {
  const bytes = der instanceof ArrayBuffer ? new Uint8Array(der) : der;
  return toBase36(createHash('sha256').update(bytes).digest(), DIGEST_LENGTH);
}

/** A fresh 128-bit join secret. */
export function generateJoinSecret(): string {
  return toBase36(randomBytes(16), SECRET_LENGTH);
}

export function generateJoinSecrets(): JoinSecrets {
  return { worker: generateJoinSecret(), manager: generateJoinSecret() };
}

export function formatJoinToken(caDigest: string, secret: string): string {
  return `${PREFIX}-${VERSION}-${caDigest}-${secret}`;
}

/** Parses a token's shape; says nothing about whether its secret is current. */
export function parseJoinToken(token: string): ParsedJoinToken {
  const parts = token.trim().split('-');
  if (parts.length !== 4 || parts[0] !== PREFIX) {
    throw new InvalidJoinTokenError(`expected ${PREFIX}-${VERSION}-<ca digest>-<secret>`);
  }
  const [, version, caDigest, secret] = parts as [string, string, string, string];
  if (version !== VERSION) throw new InvalidJoinTokenError(`unsupported token version ${version}`);
  if (caDigest.length !== DIGEST_LENGTH || !BASE36.test(caDigest)) {
    throw new InvalidJoinTokenError('malformed CA digest');
  }
  if (secret.length !== SECRET_LENGTH || !BASE36.test(secret)) {
    throw new InvalidJoinTokenError('malformed secret');
  }
  return { caDigest, secret };
}

function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** The role a secret grants under the current secrets, compared in constant time; undefined if none. */
export function roleForSecret(secrets: JoinSecrets, secret: string): NodeRole | undefined {
  // Compare against both so the time taken does not reveal which role matched.
  const manager = sameSecret(secrets.manager, secret);
  const worker = sameSecret(secrets.worker, secret);
  if (manager) return 'manager';
  if (worker) return 'worker';
  return undefined;
}

/** The two tokens a user is shown (`orch join-token worker|manager`). */
export function joinTokensFor(caDigest: string, secrets: JoinSecrets): Record<NodeRole, string> {
  return {
    worker: formatJoinToken(caDigest, secrets.worker),
    manager: formatJoinToken(caDigest, secrets.manager),
  };
}

/** Secrets with the given role's secret replaced: tokens holding the old one are refused from now on. */
export function rotateJoinSecret(secrets: JoinSecrets, role: NodeRole): JoinSecrets {
  return { ...secrets, [role]: generateJoinSecret() };
}
