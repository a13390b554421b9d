/**
 * Allocation-free Keccak-512 / Keccak-256 (the original Keccak padding, as Ethereum uses it) over
 * 32-bit little-endian words, for ethash's fixed-size inputs. The permutation is @noble/hashes'
 * `keccakP`; we only do the absorb (XOR words into the state), the pad bits and the squeeze (copy
 * words out), so every hash reuses one 50-word state and no byte arrays are made per call.
 *
 * Word order: state word i holds bytes 4i..4i+3 of the sponge, little-endian — the same view noble
 * uses on a little-endian host. A big-endian host would need byte swaps; we refuse to run there
 * rather than compute wrong hashes (every Pi-class host is little-endian).
 */
import { keccakP } from '@noble/hashes/sha3.js';

if (new Uint8Array(new Uint32Array([1]).buffer)[0] !== 1) {
  throw new Error('ethash: the word-based keccak needs a little-endian host');
}

/** Keccak-512 rate in 32-bit words (72 bytes). */
const RATE512 = 18;
/** Keccak-256 rate in 32-bit words (136 bytes). */
const RATE256 = 34;

/** One reusable sponge state. Not re-entrant: one per thread of computation. */
export class KeccakWords {
  readonly s = new Uint32Array(50);

  /**
   * Keccak-512 of `inWords` 32-bit words read from `src` at `srcOff` (inWords < 18, i.e. one block);
   * the 16-word digest goes to `dst` at `dstOff`. `src` and `dst` may overlap.
   */
  k512(src: Uint32Array, srcOff: number, inWords: number, dst: Uint32Array, dstOff: number): void {
    const s = this.s;
    s.fill(0);
    for (let i = 0; i < inWords; i++) s[i] = src[srcOff + i]!;
    s[inWords]! ^= 0x01;
    s[RATE512 - 1]! ^= 0x80000000;
    keccakP(s);
    for (let i = 0; i < 16; i++) dst[dstOff + i] = s[i]!;
  }

  /** Keccak-512 of the XOR of two 16-word rows (the RandMemoHash step), into `dst`. */
  k512xor(
    a: Uint32Array,
    aOff: number,
    b: Uint32Array,
    bOff: number,
    dst: Uint32Array,
    dstOff: number,
  ): void {
    const s = this.s;
    s.fill(0);
    for (let i = 0; i < 16; i++) s[i] = a[aOff + i]! ^ b[bOff + i]!;
    s[16] = 0x01;
    s[RATE512 - 1]! ^= 0x80000000;
    keccakP(s);
    for (let i = 0; i < 16; i++) dst[dstOff + i] = s[i]!;
  }

  /** Keccak-256 of `inWords` words (inWords < 34), 8-word digest into `dst` at `dstOff`. */
  k256(src: Uint32Array, srcOff: number, inWords: number, dst: Uint32Array, dstOff: number): void {
    const s = this.s;
    s.fill(0);
    for (let i = 0; i < inWords; i++) s[i] = src[srcOff + i]!;
    s[inWords]! ^= 0x01;
    s[RATE256 - 1]! ^= 0x80000000;
    keccakP(s);
    for (let i = 0; i < 8; i++) dst[dstOff + i] = s[i]!;
  }
}

/** Bytes (length a multiple of 4) → little-endian words (a copy). */
export function bytesToWords(b: Uint8Array): Uint32Array {
  if (b.length % 4 !== 0) throw new Error(`bytesToWords: length ${b.length} is not a multiple of 4`);
  const w = new Uint32Array(b.length / 4);
  for (let i = 0; i < w.length; i++) {
    w[i] = (b[4 * i]! | (b[4 * i + 1]! << 8) | (b[4 * i + 2]! << 16) | (b[4 * i + 3]! << 24)) >>> 0;
  }
  return w;
}

/** Little-endian words → bytes (a copy). */
export function wordsToBytes(w: Uint32Array, off = 0, n = w.length - off): Uint8Array {
  const b = new Uint8Array(n * 4);
  for (let i = 0; i < n; i++) {
    const v = w[off + i]!;
    b[4 * i] = v & 0xff;
    b[4 * i + 1] = (v >>> 8) & 0xff;
    b[4 * i + 2] = (v >>> 16) & 0xff;
    b[4 * i + 3] = v >>> 24;
  }
  return b;
}

export function bytesToHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/** Strict hex → bytes: even length, hex digits only, optional 0x prefix; `bytes` checks the length. */
export function hexToBytes(hex: string, bytes?: number, what = 'hex'): Uint8Array {
  const h = hex.startsWith('0x') || hex.startsWith('0X') ? hex.slice(2) : hex;
  if (h.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(h)) throw new Error(`${what}: "${hex}" is not hex`);
  if (bytes !== undefined && h.length !== bytes * 2) {
    throw new Error(`${what}: expected ${bytes} bytes, got ${h.length / 2}`);
  }
  return new Uint8Array(Buffer.from(h, 'hex'));
}
