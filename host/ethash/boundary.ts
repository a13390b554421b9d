/**
 * Boundaries (share targets) and difficulties for ethash results.
 *
 * An ethash result passes when its final hash, read as a big-endian 256-bit number, is ≤ the boundary.
 * Two ways of expressing the boundary occur:
 * - ethash-native: boundary = 2^256 / difficulty (eth_getWork's third field; expected hashes = difficulty);
 * - Stratum share difficulty (EthereumStratum/1.0.0 `mining.set_difficulty`, and what asicd accounts in):
 *   target = 0x00000000ffff0000…00 / difficulty — the Bitcoin difficulty-1 target, so one unit of
 *   difficulty is about 2^32 hashes, the same unit as the Bitcoin accounting.
 * Difficulties may be fractional (test pools, emulated workers); the division is exact for any double.
 * Facts: host/ethash/REFERENCE.md.
 */
import { hexToBytes } from './keccak.ts';

export const TWO_256 = 1n << 256n;
export const MAX_BOUNDARY = TWO_256 - 1n;
/** 0x00000000ffff0000…0000: the Stratum difficulty-1 target. */
export const DIFF1_TARGET = 0xffffn << 208n;

/** `numerator / d` for a finite positive double `d`, exactly (as a rational), floored, clamped to 2^256−1. */
function divByDouble(numerator: bigint, d: number, what: string): bigint {
  if (typeof d !== 'number' || !Number.isFinite(d) || d <= 0)
    throw new Error(`${what}: ${d} is not a finite number > 0`);
  let m = d;
  let shift = 0n;
  while (!Number.isInteger(m)) {
    m *= 2;
    shift++;
  }
  const q = (numerator << shift) / BigInt(m);
  return q > MAX_BOUNDARY ? MAX_BOUNDARY : q;
}

/** Ethash-native: boundary = 2^256 / difficulty. */
export function boundaryFromDifficulty(difficulty: number): bigint {
  return divByDouble(TWO_256, difficulty, 'difficulty');
}

/** Stratum share difficulty → target (0x00000000ffff0000…00 / difficulty). */
export function targetFromShareDifficulty(difficulty: number): bigint {
  return divByDouble(DIFF1_TARGET, difficulty, 'share difficulty');
}

/** Target → Stratum share difficulty (DIFF1_TARGET / target) as a double. */
export function shareDifficultyFromTarget(target: bigint): number {
  if (target <= 0n) return Number.POSITIVE_INFINITY;
  return bigRatio(DIFF1_TARGET, target);
}

/** a / b as a double without overflowing through Number(a). */
export function bigRatio(a: bigint, b: bigint): number {
  const shift = BigInt(Math.max(0, b.toString(2).length - 64));
  return Number(a >> shift) / Number(b >> shift);
}

/** Boundary as 8 big-endian words (word 0 = most significant), for the allocation-free compare. */
export function boundaryWords(b: bigint): Uint32Array {
  if (b < 0n || b > MAX_BOUNDARY) throw new Error('boundary: not in 0..2^256-1');
  const w = new Uint32Array(8);
  for (let i = 7; i >= 0; i--) {
    w[i] = Number(b & 0xffffffffn);
    b >>= 32n;
  }
  return w;
}

function bswap(v: number): number {
  return ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
}

/**
 * True if the final hash (8 little-endian words as ethash produces them, i.e. bytes in memory order)
 * read as a big-endian number is ≤ the boundary (8 big-endian words).
 */
export function meetsBoundary(result: Uint32Array, boundary: Uint32Array): boolean {
  for (let i = 0; i < 8; i++) {
    const h = bswap(result[i]!) >>> 0;
    const b = boundary[i]!;
    if (h < b) return true;
    if (h > b) return false;
  }
  return true;
}

/** Final-hash words → the 256-bit big-endian number. */
export function resultToBigInt(result: Uint32Array): bigint {
  let v = 0n;
  for (let i = 0; i < 8; i++) v = (v << 32n) | BigInt(bswap(result[i]!) >>> 0);
  return v;
}

/** Hex (64 digits, big-endian) → boundary. */
export function parseBoundaryHex(hex: string, what = 'boundary'): bigint {
  const h = hex.startsWith('0x') ? hex.slice(2) : hex;
  if (!/^[0-9a-fA-F]{1,64}$/.test(h)) throw new Error(`${what}: "${hex}" is not 1..64 hex digits`);
  return BigInt(`0x${h}`);
}

export function boundaryHex(b: bigint): string {
  return b.toString(16).padStart(64, '0');
}

/** Re-exported for callers that take header hashes as hex. */
export { hexToBytes };
