/**
 * Targets and difficulty. A block hash is compared as a 256-bit little-endian integer. Difficulty 1
 * is the target 0xFFFF·2^208 (nbits 0x1d00ffff, "bdiff"), which Stratum share difficulty uses; pool
 * difficulty is a float and may be far below 1.
 */
import { WorkError } from './errors.ts';

export const DIFF1_TARGET = 0xffffn << 208n;
export const MAX_TARGET = (1n << 256n) - 1n;
const DIFF1_FLOAT = 0xffff * 2 ** 208;

export interface CompactTarget {
  target: bigint;
  /** Sign bit set with a non-zero mantissa (invalid as a block target). */
  negative: boolean;
  /** Does not fit in 256 bits (invalid as a block target). */
  overflow: boolean;
}

/** nbits (compact) → target, with Bitcoin Core's SetCompact sign and overflow rules. */
export function nbitsToTarget(nbits: number): CompactTarget {
  const size = nbits >>> 24;
  let word = nbits & 0x007fffff;
  let target: bigint;
  if (size <= 3) {
    word >>>= 8 * (3 - size);
    target = BigInt(word);
  } else {
    target = BigInt(word) << BigInt(8 * (size - 3));
  }
  const negative = word !== 0 && (nbits & 0x00800000) !== 0;
  const overflow = word !== 0 && (size > 34 || (word > 0xff && size > 33) || (word > 0xffff && size > 32));
  if (overflow) target = 0n;
  return { target, negative, overflow };
}

/** target → nbits (Core's GetCompact; never sets the sign bit). */
export function targetToNbits(target: bigint): number {
  if (target < 0n) throw new WorkError('target', 'negative');
  let size = 0;
  for (let t = target; t > 0n; t >>= 8n) size++;
  let compact: number;
  if (size <= 3) compact = Number(target << BigInt(8 * (3 - size)));
  else compact = Number(target >> BigInt(8 * (size - 3)));
  if (compact & 0x00800000) {
    compact >>>= 8;
    size++;
  }
  return ((size << 24) | compact) >>> 0;
}

/** The exact value of a finite double as num / den (den a power of two). */
function exactRational(d: number): { num: bigint; den: bigint } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, d);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const exp = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let e: number;
  if (exp === 0) e = -1074;
  else {
    mant |= 1n << 52n;
    e = exp - 1075;
  }
  return e >= 0 ? { num: mant << BigInt(e), den: 1n } : { num: mant, den: 1n << BigInt(-e) };
}

/** Share target for a pool difficulty: floor(diff1 / d), capped at 2^256 − 1. */
export function difficultyToTarget(difficulty: number): bigint {
  if (!Number.isFinite(difficulty) || difficulty <= 0) {
    throw new WorkError('difficulty', `must be a finite number > 0, got ${difficulty}`);
  }
  const { num, den } = exactRational(difficulty);
  const t = (DIFF1_TARGET * den) / num;
  return t > MAX_TARGET ? MAX_TARGET : t;
}

/** Difficulty of a target (diff1 / target), as a float. */
export function targetToDifficulty(target: bigint): number {
  return target === 0n ? Number.POSITIVE_INFINITY : DIFF1_FLOAT / bigToFloat(target);
}

function bigToFloat(v: bigint): number {
  return Number(v);
}

/** A target as 8 uint32 words, most significant first (for word-wise comparison with a hash). */
export function targetWords(target: bigint): Uint32Array {
  const out = new Uint32Array(8);
  for (let i = 7; i >= 0; i--) {
    out[i] = Number(target & 0xffffffffn);
    target >>= 32n;
  }
  return out;
}

/**
 * `digest` is the double-SHA256 output as 8 big-endian state words. The hash as a little-endian
 * number has its most significant word = byte-swapped digest[7]. Returns true when hash ≤ target.
 */
export function hashMeetsTarget(digest: ArrayLike<number>, target: Uint32Array): boolean {
  for (let i = 0; i < 8; i++) {
    const d = digest[7 - i]!;
    const h = (((d & 0xff) << 24) | ((d & 0xff00) << 8) | ((d >>> 8) & 0xff00) | (d >>> 24)) >>> 0;
    const t = target[i]!;
    if (h < t) return true;
    if (h > t) return false;
  }
  return true;
}

/** The hash as a (lossy) float, from the digest words. */
export function hashToFloat(digest: ArrayLike<number>): number {
  let v = 0;
  for (let i = 0; i < 8; i++) {
    const d = digest[7 - i]!;
    const h = (((d & 0xff) << 24) | ((d & 0xff00) << 8) | ((d >>> 8) & 0xff00) | (d >>> 24)) >>> 0;
    v = v * 4294967296 + h;
  }
  return v;
}

/** Share difficulty of a hash: diff1 / hash (Infinity for a zero hash). */
export function hashToDifficulty(digest: ArrayLike<number>): number {
  const h = hashToFloat(digest);
  return h === 0 ? Number.POSITIVE_INFINITY : DIFF1_FLOAT / h;
}

/** The hash in the usual display order (byte-reversed digest) as hex. */
export function digestToDisplayHex(digest: ArrayLike<number>): string {
  let s = '';
  for (let i = 7; i >= 0; i--) {
    const d = digest[i]!;
    const h = (((d & 0xff) << 24) | ((d & 0xff00) << 8) | ((d >>> 8) & 0xff00) | (d >>> 24)) >>> 0;
    s += h.toString(16).padStart(8, '0');
  }
  return s;
}
