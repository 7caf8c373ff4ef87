// Small non-cryptographic digests for the simulator: trace digests (to prove a seed replays
// exactly) and entry/state fingerprints (to compare what different nodes applied).

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** A 64-bit running digest kept as two independent 32-bit FNV-1a lanes. */
export class Digest {
  private hi = FNV_OFFSET;
  private lo = 0x2545f491;

  /** Mixes the UTF-16 code units of `text` into the digest. */
  addString(text: string): this {
    for (let i = 0; i < text.length; i++) this.addByte(text.charCodeAt(i));
    this.addByte(0xff); // separator, so "ab"+"c" differs from "a"+"bc"
    return this;
  }

  addBytes(bytes: Uint8Array): this {
    for (let i = 0; i < bytes.length; i++) this.addByte(bytes[i]!);
    this.addByte(0xfe);
    return this;
  }

  addNumber(n: number): this {
    return this.addString(String(n));
  }

  /** The digest as 16 hex digits. */
  hex(): string {
    return (this.hi >>> 0).toString(16).padStart(8, '0') + (this.lo >>> 0).toString(16).padStart(8, '0');
  }

  private addByte(byte: number): void {
    this.hi = Math.imul(this.hi ^ byte, FNV_PRIME);
    this.lo = Math.imul(this.lo ^ ((byte * 0x9d) & 0xffff), 0x5bd1e995);
    this.lo ^= this.lo >>> 15;
  }
}

/** The digest of one byte string, as hex. */
export function digestBytes(bytes: Uint8Array): string {
  return new Digest().addBytes(bytes).hex();
}
