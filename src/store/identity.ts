// Object IDs: 128 random bits written as 25 base-36 characters, like Swarm's, so IDs look familiar
// and any prefix a user types is as selective as Docker's.
import { randomBytes } from 'node:crypto';

const ID_LENGTH = 25; // 36^25 > 2^128

export function generateId(): string {
  const value = BigInt(`0x${randomBytes(16).toString('hex')}`);
  return value.toString(36).padStart(ID_LENGTH, '0');
}
