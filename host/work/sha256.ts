/**
 * SHA-256 on 32-bit words for the hot path: the midstate (state after the header's first 64 bytes)
 * is computed once per header prefix, and each nonce costs two compressions with no allocation.
 * General-purpose hashing (coinbase, merkle) uses @noble/hashes.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { type HeaderKernel, headerKernel } from './kernel/index.ts';

const K = Uint32Array.from([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
]);

export const SHA256_IV: Uint32Array = Uint32Array.from([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);

/**
 * One SHA-256 compression: `out = compress(state, w[0..15])`. `w` must have room for 64 words (the
 * message schedule is expanded in place). `out` may be the same array as `state`.
 */
export function compress(state: Uint32Array, w: Uint32Array, out: Uint32Array): void {
  for (let i = 16; i < 64; i++) {
    const x = w[i - 15]!;
    const y = w[i - 2]!;
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    w[i] = (w[i - 16]! + s0 + w[i - 7]! + s1) | 0;
  }
  compressExpanded(state, w, out);
}

/**
 * The 64 rounds of a compression over a message schedule already expanded (w[0..63]): a block whose
 * words never change (SHA-256 padding) is expanded once, not once per hash.
 */
export function compressExpanded(state: Uint32Array, w: Uint32Array, out: Uint32Array): void {
  let a = state[0]! | 0;
  let b = state[1]! | 0;
  let c = state[2]! | 0;
  let d = state[3]! | 0;
  let e = state[4]! | 0;
  let f = state[5]! | 0;
  let g = state[6]! | 0;
  let h = state[7]! | 0;
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const ch = (e & f) ^ (~e & g);
    const t1 = (h + S1 + ch + K[i]! + w[i]!) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const maj = (a & b) ^ (a & c) ^ (b & c);
    const t2 = (S0 + maj) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  out[0] = (state[0]! + a) | 0;
  out[1] = (state[1]! + b) | 0;
  out[2] = (state[2]! + c) | 0;
  out[3] = (state[3]! + d) | 0;
  out[4] = (state[4]! + e) | 0;
  out[5] = (state[5]! + f) | 0;
  out[6] = (state[6]! + g) | 0;
  out[7] = (state[7]! + h) | 0;
}

function readBE(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

const midW = new Uint32Array(64);

/** SHA-256 state after compressing header bytes 0..63 (the "midstate"), as 8 state words. */
export function midstate(header: Uint8Array): Uint32Array {
  for (let i = 0; i < 16; i++) midW[i] = readBE(header, i * 4);
  const out = new Uint32Array(8);
  compress(SHA256_IV, midW, out);
  return out;
}

/**
 * Midstates of one header for several versions (header word 0), without rebuilding the header: the
 * first 64 bytes are read once. Returns one new 8-word state per version.
 */
export function midstatesForVersions(header: Uint8Array, versions: readonly number[]): Uint32Array[] {
  const out: Uint32Array[] = [];
  for (let i = 1; i < 16; i++) midW[i] = readBE(header, i * 4);
  for (const v of versions) {
    midW[0] = ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
    const s = new Uint32Array(8);
    compress(SHA256_IV, midW, s);
    out.push(s);
  }
  return out;
}

const dW = new Uint32Array(64);
const dS = new Uint32Array(8);

/**
 * Double SHA-256 of data[0..len) (any length; default all of it) written into out[offset..offset+31],
 * on words with scratch arrays: no allocation (the coinbase hash of every new work).
 */
export function sha256dInto(data: Uint8Array, out: Uint8Array, offset = 0, len = data.length): void {
  sha256dState(data, len);
  for (let i = 0; i < 8; i++) {
    const v = dS[i]!;
    out[offset + i * 4] = v >>> 24;
    out[offset + i * 4 + 1] = v >>> 16;
    out[offset + i * 4 + 2] = v >>> 8;
    out[offset + i * 4 + 3] = v;
  }
}

/** Double SHA-256 of data[0..len) as 8 state words (big-endian reads of the digest) into `out`. */
export function sha256dWords(data: Uint8Array, len: number, out: Uint32Array): void {
  sha256dState(data, len);
  out.set(dS);
}

/** Leaves dSHA256(data[0..len)) in dS. */
function sha256dState(data: Uint8Array, len: number): void {
  dS.set(SHA256_IV);
  const full = len >>> 6;
  for (let b = 0; b < full; b++) {
    for (let i = 0; i < 16; i++) dW[i] = readBE(data, b * 64 + i * 4);
    compress(dS, dW, dS);
  }
  // The tail: remaining bytes, 0x80, zeros, and the bit length in the last 8 bytes (one or two blocks).
  const rest = len - full * 64;
  dW.fill(0, 0, 16);
  for (let i = 0; i < rest; i++) dW[i >>> 2] = dW[i >>> 2]! | (data[full * 64 + i]! << (24 - 8 * (i & 3)));
  dW[rest >>> 2] = dW[rest >>> 2]! | (0x80 << (24 - 8 * (rest & 3)));
  if (rest >= 56) {
    compress(dS, dW, dS);
    dW.fill(0, 0, 16);
  }
  dW[14] = Math.floor(len / 0x20000000);
  dW[15] = (len * 8) >>> 0;
  compress(dS, dW, dS);
  // Second hash: the 32-byte digest, padded, in one block.
  for (let i = 0; i < 8; i++) dW[i] = dS[i]!;
  dW[8] = 0x80000000;
  dW.fill(0, 9, 15);
  dW[15] = 256;
  compress(SHA256_IV, dW, dS);
}

/** State words serialized big-endian (the standard SHA-256 output byte order). */
export function wordsToBytesBE(words: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(words.length * 4);
  for (let i = 0; i < words.length; i++) {
    const v = words[i]!;
    out[i * 4] = v >>> 24;
    out[i * 4 + 1] = v >>> 16;
    out[i * 4 + 2] = v >>> 8;
    out[i * 4 + 3] = v;
  }
  return out;
}

const pairW = new Uint32Array(64);
const pairS = new Uint32Array(8);
/** The padding block of a 64-byte message (0x80, zeros, bit length 512), its schedule expanded once. */
const PAD64 = new Uint32Array(64);
PAD64[0] = 0x80000000;
PAD64[15] = 512;
compress(SHA256_IV, PAD64, new Uint32Array(8));

/**
 * dSHA256(left ‖ right) for two 32-byte hashes, written into `out` (the merkle step), on words:
 * three compressions and no allocation.
 */
export function sha256dPair(left: Uint8Array, right: Uint8Array, out: Uint8Array): void {
  for (let i = 0; i < 8; i++) {
    pairW[i] = readBE(left, i * 4);
    pairW[i + 8] = readBE(right, i * 4);
  }
  compress(SHA256_IV, pairW, pairS);
  compressExpanded(pairS, PAD64, pairS);
  pairW.set(pairS);
  pairW[8] = 0x80000000;
  pairW.fill(0, 9, 15);
  pairW[15] = 256;
  compress(SHA256_IV, pairW, pairS);
  for (let i = 0; i < 8; i++) {
    const v = pairS[i]!;
    out[i * 4] = v >>> 24;
    out[i * 4 + 1] = v >>> 16;
    out[i * 4 + 2] = v >>> 8;
    out[i * 4 + 3] = v;
  }
}

/**
 * The merkle fold on words: root = dSHA256(root ‖ branch) for `count` branches, each 8 big-endian words
 * at branches[8·i]; `root` (8 words, big-endian reads of the raw hash bytes) is updated in place. Three
 * compressions per branch (the padding block pre-expanded), no byte conversions between levels.
 */
export function merkleFoldWords(root: Uint32Array, branches: Uint32Array, count: number): void {
  kernel ??= headerKernel();
  kernel.merkleFold(root, branches, count);
}

/** merkleFoldWords in JavaScript: the JavaScript kernel's fold and the cross-check of the WebAssembly one. */
export function merkleFoldWordsJs(root: Uint32Array, branches: Uint32Array, count: number): void {
  for (let b = 0; b < count; b++) {
    const o = b * 8;
    for (let i = 0; i < 8; i++) {
      pairW[i] = root[i]!;
      pairW[i + 8] = branches[o + i]!;
    }
    compress(SHA256_IV, pairW, pairS);
    compressExpanded(pairS, PAD64, pairS);
    for (let i = 0; i < 8; i++) pairW[i] = pairS[i]!;
    pairW[8] = 0x80000000;
    for (let i = 9; i < 15; i++) pairW[i] = 0;
    pairW[15] = 256;
    compress(SHA256_IV, pairW, root);
  }
}

/** Big-endian words of `bytes` (length a multiple of 4). */
export function bytesToWordsBE(bytes: Uint8Array): Uint32Array {
  const out = new Uint32Array(bytes.length >>> 2);
  for (let i = 0; i < out.length; i++) out[i] = readBE(bytes, i * 4);
  return out;
}

/** Double SHA-256 of arbitrary bytes (general path). */
export function sha256d(data: Uint8Array): Uint8Array {
  return sha256(sha256(data));
}

/** The process's header kernel, chosen on the first hash (kernel/index.ts). */
let kernel: HeaderKernel | undefined;

/**
 * Hashes 80-byte headers that share their first 64 bytes, one nonce at a time, with no allocation
 * per nonce, through the process's header kernel (WebAssembly where available, else JavaScript).
 * `hash(nonce)` leaves the double-SHA256 digest in `digest` as 8 big-endian state words
 * (digest bytes 0..31 = the words serialized big-endian; the block hash as a number is those 32
 * bytes read little-endian).
 */
export class HeaderHasher {
  readonly digest = new Uint32Array(8);
  private readonly mid = new Uint32Array(8);
  private t0 = 0;
  private t1 = 0;
  private t2 = 0;

  constructor(header?: Uint8Array) {
    if (header) this.setHeader(header);
  }

  /** Takes the header (nonce bytes ignored); computes the midstate once. */
  setHeader(header: Uint8Array): void {
    if (header.length !== 80) throw new RangeError(`header must be 80 bytes, got ${header.length}`);
    this.mid.set(midstate(header));
    this.setTail(readBE(header, 64), readBE(header, 68), readBE(header, 72));
  }

  /** Uses a midstate computed elsewhere plus the three tail words (BE reads of header bytes 64..75). */
  setMidstate(mid: ArrayLike<number>, merkleTailBE: number, ntimeBE: number, nbitsBE: number): void {
    this.mid.set(mid);
    this.setTail(merkleTailBE, ntimeBE, nbitsBE);
  }

  private setTail(t0: number, t1: number, t2: number): void {
    this.t0 = t0 | 0;
    this.t1 = t1 | 0;
    this.t2 = t2 | 0;
  }

  /** Big-endian read of header bytes 68..71 (ntime) currently used. */
  get ntimeBE(): number {
    return this.t1 >>> 0;
  }

  /**
   * `nonce` is the uint32 the header holds (little-endian in bytes 76..79); `ntimeBE` overrides the
   * header's ntime word (a big-endian read of bytes 68..71) for rolled ntime.
   */
  hash(nonce: number, ntimeBE: number = this.t1): Uint32Array {
    kernel ??= headerKernel();
    kernel.hash1(this.mid, this.t0, ntimeBE, this.t2, nonce, this.digest);
    return this.digest;
  }
}
