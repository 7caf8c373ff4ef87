import { createHash } from 'node:crypto';
import { InvalidJoinTokenError } from '../../../src/manager/ca/ca-errors';
import {
  caDigestOfDer,
  formatJoinToken,
  generateJoinSecret,
  generateJoinSecrets,
  joinTokensFor,
  parseJoinToken,
  roleForSecret,
  rotateJoinSecret,
} from '../../../src/manager/ca/join-token';

describe('join tokens', () => {
  const der = Buffer.from('a root CA certificate, DER encoded');
  const digest = caDigestOfDer(der);

  it('carry the sha256 of the CA certificate DER in base36, padded to 50 characters', () => {
    expect(digest).toMatch(/^[0-9a-z]{50}$/);
    const sha = createHash('sha256').update(der).digest('hex');
    expect(BigInt(`0x${sha}`).toString(36).padStart(50, '0')).toBe(digest);
    expect(caDigestOfDer(new Uint8Array(der).buffer)).toBe(digest);
  });

  it('have 128-bit secrets in 25 base36 characters, different every time', () => {
    const secrets = new Set(Array.from({ length: 50 }, generateJoinSecret));
    expect(secrets.size).toBe(50);
    for (const secret of secrets) expect(secret).toMatch(/^[0-9a-z]{25}$/);
  });

  it('format as ORCH-1-<digest>-<secret> and parse back', () => {
    const secret = generateJoinSecret();
    const token = formatJoinToken(digest, secret);
    expect(token).toBe(`ORCH-1-${digest}-${secret}`);
    expect(parseJoinToken(token)).toEqual({ caDigest: digest, secret });
    expect(parseJoinToken(`  ${token}\n`)).toEqual({ caDigest: digest, secret });
  });

  it.each([
    ['', 'expected ORCH-1-<ca digest>-<secret>'],
    ['SWMTKN-1-abc-def', 'expected ORCH-1-<ca digest>-<secret>'],
    [`ORCH-2-${'0'.repeat(50)}-${'0'.repeat(25)}`, 'unsupported token version 2'],
    [`ORCH-1-${'0'.repeat(49)}-${'0'.repeat(25)}`, 'malformed CA digest'],
    [`ORCH-1-${'Z'.repeat(50)}-${'0'.repeat(25)}`, 'malformed CA digest'],
    [`ORCH-1-${'0'.repeat(50)}-${'0'.repeat(24)}`, 'malformed secret'],
    [`ORCH-1-${'0'.repeat(50)}-${'0'.repeat(25)}-extra`, 'expected ORCH-1-<ca digest>-<secret>'],
  ])('refuses %j: %s', (token, reason) => {
    expect(() => parseJoinToken(token)).toThrow(new InvalidJoinTokenError(reason));
    expect(() => parseJoinToken(token)).toThrow(`invalid join token: ${reason}`);
  });

  it('grant the role whose secret they carry, and nothing for another secret', () => {
    const secrets = generateJoinSecrets();
    expect(secrets.worker).not.toBe(secrets.manager);
    expect(roleForSecret(secrets, secrets.worker)).toBe('worker');
    expect(roleForSecret(secrets, secrets.manager)).toBe('manager');
    expect(roleForSecret(secrets, generateJoinSecret())).toBeUndefined();
    expect(roleForSecret(secrets, '')).toBeUndefined();
  });

  it('rotate one role at a time: the old secret stops working, the other role keeps its token', () => {
    const secrets = generateJoinSecrets();
    const rotated = rotateJoinSecret(secrets, 'worker');
    expect(rotated.manager).toBe(secrets.manager);
    expect(rotated.worker).not.toBe(secrets.worker);
    expect(roleForSecret(rotated, secrets.worker)).toBeUndefined();
    expect(roleForSecret(rotated, rotated.worker)).toBe('worker');
    const tokens = joinTokensFor(digest, rotated);
    expect(tokens.worker).toBe(formatJoinToken(digest, rotated.worker));
    expect(tokens.manager).toBe(formatJoinToken(digest, secrets.manager));
  });
});
