// Small non-cryptographic digests for the simulator: trace digests (to prove a seed replays
// exactly) and entry/state fingerprints (to compare what different nodes applied).

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
// Looked up once: inside Jest's sandbox every `Math.imul` goes through the context's global object.
const imul = Math.imul;

/** A 64-bit running digest kept as two independent 32-bit lanes (FNV-1a and a murmur-style mix). */
export class Digest {
  // Both lanes always hold int32 values (note the `| 0`), so the engine keeps them unboxed.
  private hi = FNV_OFFSET | 0;
  private lo = 0x2545f491 | 0;

  /** Mixes the UTF-16 code units of `text` into the digest. */
  addString(text: string): this {
    let hi = this.hi;
    let lo = this.lo;
    for (let i = 0; i < text.length; i++) {
      const byte = text.charCodeAt(i);
      hi = imul(hi ^ byte, FNV_PRIME);
      lo = imul(lo ^ ((byte * 0x9d) & 0xffff), 0x5bd1e995);
      lo ^= lo >>> 15;
    }
    this.hi = hi;
    this.lo = lo;
    return this.separator(0xff); // so that "ab"+"c" differs from "a"+"bc"
  }

  addBytes(bytes: Uint8Array): this {
    let hi = this.hi;
    let lo = this.lo;
    for (let i = 0; i < bytes.length; i++) {
      const byte = bytes[i]!;
      hi = imul(hi ^ byte, FNV_PRIME);
      lo = imul(lo ^ ((byte * 0x9d) & 0xffff), 0x5bd1e995);
      lo ^= lo >>> 15;
    }
    this.hi = hi;
    this.lo = lo;
    return this.separator(0xfe);
  }

  addNumber(n: number): this {
    return this.addString(String(n));
  }

  /** The digest as 16 hex digits. */
  hex(): string {
    return (this.hi >>> 0).toString(16).padStart(8, '0') + (this.lo >>> 0).toString(16).padStart(8, '0');
  }

  private separator(byte: number): this {
    this.hi = imul(this.hi ^ byte, FNV_PRIME);
    this.lo = imul(this.lo ^ ((byte * 0x9d) & 0xffff), 0x5bd1e995);
    this.lo ^= this.lo >>> 15;
    return this;
  }
}

/** The digest of one byte string, as hex. */
export function digestBytes(bytes: Uint8Array): string {
  return new Digest().addBytes(bytes).hex();
}
