/**
 * The emulated chips' own SHA-256, on 32-bit words: a compression function that can start from any
 * state (BM1397 jobs carry midstates, BM1366+ chips build their own), and a nonce-scan kernel that
 * hashes an 80-byte header's second block plus the second SHA-256 for a run of nonces. The kernel
 * keeps the first three rounds and two schedule words of the second block per job (they do not
 * depend on the nonce) and stops the outer hash at round 60, which is all a difficulty floor needs
 * (final word 7 = IV7 + e after round 60). Candidates are re-hashed in full by the caller.
 */

const K = Int32Array.from([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
]);

/** SHA-256 initial state. */
export const IV: Readonly<Int32Array> = Int32Array.from([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);

const W = new Int32Array(64);
/** Scan-kernel schedules (separate from W so a hit callback may call compress()). */
const SW = new Int32Array(64);
const SW2 = new Int32Array(64);
/** K[t] + W[t] for the constant words of the inner second block (t = 4..15). */
const KW = new Int32Array(16);
/** K[t] + W[t] for the constant words of the outer block (t = 8..15). */
const KW2 = new Int32Array(16);
for (let t = 4; t < 16; t++) KW[t] = (K[t]! + (t === 4 ? 0x80000000 : t === 15 ? 640 : 0)) | 0;
for (let t = 8; t < 16; t++) KW2[t] = (K[t]! + (t === 8 ? 0x80000000 : t === 15 ? 256 : 0)) | 0;

/**
 * One SHA-256 compression: `out = state + rounds(state, block[0..15])` (block = 16 big-endian words).
 * `out` may be `state`.
 */
export function compress(state: ArrayLike<number>, block: ArrayLike<number>, out: Int32Array): void {
  for (let t = 0; t < 16; t++) W[t] = block[t]! | 0;
  for (let t = 16; t < 64; t++) {
    const x = W[t - 15]!;
    const y = W[t - 2]!;
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    W[t] = (W[t - 16]! + s0 + W[t - 7]! + s1) | 0;
  }
  let a = state[0]! | 0;
  let b = state[1]! | 0;
  let c = state[2]! | 0;
  let d = state[3]! | 0;
  let e = state[4]! | 0;
  let f = state[5]! | 0;
  let g = state[6]! | 0;
  let h = state[7]! | 0;
  for (let t = 0; t < 64; t++) {
    const t1 =
      (h +
        (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) +
        ((e & f) ^ (~e & g)) +
        K[t]! +
        W[t]!) |
      0;
    const t2 =
      ((((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) +
        ((a & b) ^ (a & c) ^ (b & c))) |
      0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  const s0 = state[0]! | 0;
  const s1 = state[1]! | 0;
  const s2 = state[2]! | 0;
  const s3 = state[3]! | 0;
  const s4 = state[4]! | 0;
  const s5 = state[5]! | 0;
  const s6 = state[6]! | 0;
  const s7 = state[7]! | 0;
  out[0] = (s0 + a) | 0;
  out[1] = (s1 + b) | 0;
  out[2] = (s2 + c) | 0;
  out[3] = (s3 + d) | 0;
  out[4] = (s4 + e) | 0;
  out[5] = (s5 + f) | 0;
  out[6] = (s6 + g) | 0;
  out[7] = (s7 + h) | 0;
}

/** Big-endian 32-bit word at `off`. */
export function be32(buf: Uint8Array, off: number): number {
  return (buf[off]! << 24) | (buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]! | 0;
}

/** Byte swap of a 32-bit word (result unsigned). */
export function bswap32(x: number): number {
  return ((x << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24)) >>> 0;
}

/** SHA-256 state after the first 64 header bytes (16 BE words), i.e. the midstate. */
export function midstate(firstBlock: ArrayLike<number>, out = new Int32Array(8)): Int32Array {
  compress(IV, firstBlock, out);
  return out;
}

const BLOCK2 = new Int32Array(16);
const INNER = new Int32Array(8);
const BLOCK3 = new Int32Array(16);

/**
 * Full double SHA-256 of a header given as midstate + second-block words (w0 = header bytes 64..67,
 * w1 = 68..71, w2 = 72..75, nonceWord = bytes 76..79, all read big-endian). `out` gets the 8 state
 * words of the outer hash (raw digest = those words big-endian).
 */
export function doubleHashWords(
  mid: ArrayLike<number>,
  w0: number,
  w1: number,
  w2: number,
  nonceWord: number,
  out: Int32Array,
): Int32Array {
  BLOCK2.fill(0);
  BLOCK2[0] = w0;
  BLOCK2[1] = w1;
  BLOCK2[2] = w2;
  BLOCK2[3] = nonceWord;
  BLOCK2[4] = 0x80000000 | 0;
  BLOCK2[15] = 640;
  compress(mid, BLOCK2, INNER);
  BLOCK3.fill(0);
  BLOCK3.set(INNER, 0);
  BLOCK3[8] = 0x80000000 | 0;
  BLOCK3[15] = 256;
  compress(IV, BLOCK3, out);
  return out;
}

/**
 * A job prepared for scanning: one midstate plus the second-block words. Holds the nonce-independent
 * work (state after rounds 0..2, schedule words 16 and 17).
 */
export class ScanJob {
  readonly mid = new Int32Array(8);
  w0 = 0;
  w1 = 0;
  w2 = 0;
  /** State after rounds 0..2 of the second block. */
  private readonly pre = new Int32Array(8);
  private w16 = 0;
  private w17 = 0;

  set(mid: ArrayLike<number>, w0: number, w1: number, w2: number): this {
    for (let i = 0; i < 8; i++) this.mid[i] = mid[i]! | 0;
    this.w0 = w0 | 0;
    this.w1 = w1 | 0;
    this.w2 = w2 | 0;
    const ws = [this.w0, this.w1, this.w2];
    let a = this.mid[0]!;
    let b = this.mid[1]!;
    let c = this.mid[2]!;
    let d = this.mid[3]!;
    let e = this.mid[4]!;
    let f = this.mid[5]!;
    let g = this.mid[6]!;
    let h = this.mid[7]!;
    for (let t = 0; t < 3; t++) {
      const t1 =
        (h +
          (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) +
          ((e & f) ^ (~e & g)) +
          K[t]! +
          ws[t]!) |
        0;
      const t2 =
        ((((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) +
          ((a & b) ^ (a & c) ^ (b & c))) |
        0;
      h = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    this.pre.set([a, b, c, d, e, f, g, h]);
    // W16 = s1(W14=0) + W9(0) + s0(W1) + W0; W17 = s1(W15=640) + W10(0) + s0(W2) + W1
    const s0 = (x: number) => ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = (y: number) => ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    this.w16 = (s0(this.w1) + this.w0) | 0;
    this.w17 = (s1(640) + s0(this.w2) + this.w1) | 0;
    return this;
  }

  /**
   * Hashes nonce words nonceWord .. nonceWord+count-1 (no wrap past 0xFFFFFFFF is the caller's job)
   * and calls `hit(nonceWord)` for each whose outer-hash word 7, byte-swapped (= the top 32 bits of the
   * hash read as a number), has its top `floorBits` bits zero. Returns the number of hashes done.
   */
  scan(nonceWord: number, count: number, floorBits: number, hit: (nonceWord: number) => void): number {
    const shift = (32 - floorBits) & 31;
    const full = floorBits >= 32;
    const p = this.pre;
    const pa = p[0]!;
    const pb = p[1]!;
    const pc = p[2]!;
    const pd = p[3]!;
    const pe = p[4]!;
    const pf = p[5]!;
    const pg = p[6]!;
    const ph = p[7]!;
    const m = this.mid;
    const m0 = m[0]!;
    const m1 = m[1]!;
    const m2 = m[2]!;
    const m3 = m[3]!;
    const m4 = m[4]!;
    const m5 = m[5]!;
    const m6 = m[6]!;
    const m7 = m[7]!;
    const w = SW;
    const w2 = SW2;
    w[0] = this.w0;
    w[1] = this.w1;
    w[2] = this.w2;
    w[16] = this.w16;
    w[17] = this.w17;
    w.fill(0, 4, 16);
    w[4] = 0x80000000 | 0;
    w[15] = 640;
    w2.fill(0, 8, 16);
    w2[8] = 0x80000000 | 0;
    w2[15] = 256;
    const iv0 = 0x6a09e667 | 0;
    const iv1 = 0xbb67ae85 | 0;
    const iv2 = 0x3c6ef372 | 0;
    const iv3 = 0xa54ff53a | 0;
    const iv4 = 0x510e527f | 0;
    const iv5 = 0x9b05688c | 0;
    const iv6 = 0x1f83d9ab | 0;
    const iv7 = 0x5be0cd19 | 0;
    const kw = KW;
    for (let i = 0; i < count; i++) {
      const nw = (nonceWord + i) | 0;
      // ---- inner hash, block 2 (rounds 3..63); words 4..15 are constants folded into KW ----
      w[3] = nw;
      let a = pa;
      let b = pb;
      let c = pc;
      let d = pd;
      let e = pe;
      let f = pf;
      let g = pg;
      let h = ph;
      for (let t = 3; t < 64; t++) {
        let kt: number;
        if (t < 16) kt = t === 3 ? (K[3]! + nw) | 0 : kw[t]!;
        else {
          const x = w[t - 15]!;
          const y = w[t - 2]!;
          const wt =
            (w[t - 16]! +
              (((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3)) +
              w[t - 7]! +
              (((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10))) |
            0;
          w[t] = wt;
          kt = (K[t]! + wt) | 0;
        }
        const t1 =
          (h +
            (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) +
            ((e & f) ^ (~e & g)) +
            kt) |
          0;
        const t2 =
          ((((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) +
            ((a & b) ^ (a & c) ^ (b & c))) |
          0;
        h = g;
        g = f;
        f = e;
        e = (d + t1) | 0;
        d = c;
        c = b;
        b = a;
        a = (t1 + t2) | 0;
      }
      // ---- outer hash over the 32-byte inner digest, rounds 0..60; words 8..15 folded into KW2 ----
      const v = w2;
      v[0] = (m0 + a) | 0;
      v[1] = (m1 + b) | 0;
      v[2] = (m2 + c) | 0;
      v[3] = (m3 + d) | 0;
      v[4] = (m4 + e) | 0;
      v[5] = (m5 + f) | 0;
      v[6] = (m6 + g) | 0;
      v[7] = (m7 + h) | 0;
      a = iv0;
      b = iv1;
      c = iv2;
      d = iv3;
      e = iv4;
      f = iv5;
      g = iv6;
      h = iv7;
      for (let t = 0; t < 61; t++) {
        let kt: number;
        if (t < 8) kt = (K[t]! + v[t]!) | 0;
        else if (t < 16) kt = KW2[t]!;
        else {
          const x = v[t - 15]!;
          const y = v[t - 2]!;
          const wt =
            (v[t - 16]! +
              (((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3)) +
              v[t - 7]! +
              (((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10))) |
            0;
          v[t] = wt;
          kt = (K[t]! + wt) | 0;
        }
        const t1 =
          (h +
            (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) +
            ((e & f) ^ (~e & g)) +
            kt) |
          0;
        const t2 =
          ((((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) +
            ((a & b) ^ (a & c) ^ (b & c))) |
          0;
        h = g;
        g = f;
        f = e;
        e = (d + t1) | 0;
        d = c;
        c = b;
        b = a;
        a = (t1 + t2) | 0;
      }
      const h7 = (iv7 + e) | 0;
      // top 32 bits of the hash as a number = byte-swapped word 7
      const top = ((h7 << 24) | ((h7 & 0xff00) << 8) | ((h7 >>> 8) & 0xff00) | (h7 >>> 24)) >>> 0;
      if (full ? top === 0 : top >>> shift === 0) hit(nw);
    }
    return count;
  }
}
