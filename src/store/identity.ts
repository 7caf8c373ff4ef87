// Object IDs: 25 characters of [0-9a-z] (about 129 random bits), like Swarm's, so IDs look familiar
// and any prefix a user types is as selective as Docker's.
//
// IDs are made by the thousand (an orchestrator pass creating 50,000 tasks), so random bytes are
// drawn from the system CSPRNG in 4 KiB blocks, as crypto.randomUUID caches them, rather than one
// randomBytes call per ID. Each character takes one byte; bytes of 252 and above are skipped so
// that `byte % 36` stays uniform. IDs are unique, not secret.
import { randomBytes } from 'node:crypto';

const ID_LENGTH = 25; // 36^25 > 2^129
const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';
/** The largest multiple of 36 that fits a byte: bytes below it map uniformly onto the alphabet. */
const UNBIASED_LIMIT = 252;
const POOL_BYTES = 4096;

let pool: Buffer = Buffer.alloc(0);
let offset = 0;

function randomByte(): number {
  if (offset >= pool.length) {
    pool = randomBytes(POOL_BYTES);
    offset = 0;
  }
  return pool[offset++]!;
}

export function generateId(): string {
  let id = '';
  while (id.length < ID_LENGTH) {
    const byte = randomByte();
    if (byte < UNBIASED_LIMIT) id += ALPHABET[byte % 36];
  }
  return id;
}
