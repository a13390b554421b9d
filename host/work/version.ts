/**
 * BIP 310 / BIP 320 version rolling. The pool grants a mask; the miner may change only those bits.
 * rolled = (job & ~mask) | (bits & mask); the submit carries version_bits = rolled & mask, which the
 * server folds back with the same rule.
 */
import { WorkError } from './errors.ts';

/** Bits of `mask` from the lowest up, as single-bit values. */
function maskBits(mask: number): number[] {
  const bits: number[] = [];
  for (let b = 0; b < 32; b++) if ((mask >>> b) & 1) bits.push((1 << b) >>> 0);
  return bits;
}

/** Scatters the low bits of `value` into the set bits of `mask` (PDEP). */
export function depositBits(value: number, mask: number): number {
  let out = 0;
  let k = 0;
  for (const bit of maskBits(mask)) {
    if ((value / 2 ** k) & 1) out |= bit;
    k++;
  }
  return out >>> 0;
}

/** Gathers the bits of `value` under `mask` into the low bits (PEXT). */
export function extractBits(value: number, mask: number): number {
  let out = 0;
  let k = 0;
  for (const bit of maskBits(mask)) {
    if (value & bit) out += 2 ** k;
    k++;
  }
  return out;
}

/** (job & ~mask) | (bits & mask). */
export function rollVersion(jobVersion: number, mask: number, bits: number): number {
  return ((jobVersion & ~mask) | (bits & mask)) >>> 0;
}

/** The version_bits a submit carries for a rolled version. */
export function versionBits(rolled: number, mask: number): number {
  return (rolled & mask) >>> 0;
}

/**
 * `count` versions for chips that take several midstates (BM1397: 4): the k-th adds k to the field
 * under the mask (as ESP-Miner's increment_bitmask does), wrapping inside the mask instead of carrying
 * into bits outside it. k = 0 is the job's own version.
 */
export function enumerateVersions(jobVersion: number, mask: number, count: number): number[] {
  if (!Number.isInteger(count) || count < 1)
    throw new WorkError('versions', `count must be ≥ 1, got ${count}`);
  const width = maskBits(mask).length;
  if (count > 1 && width === 0) throw new WorkError('versionMask', 'no version bits granted; cannot roll');
  const space = 2 ** width;
  if (count > space) throw new WorkError('versions', `${count} versions do not fit in a ${width}-bit mask`);
  const base = extractBits(jobVersion, mask);
  const out: number[] = [];
  for (let k = 0; k < count; k++)
    out.push(rollVersion(jobVersion, mask, depositBits((base + k) % space, mask)));
  return out;
}

/** Checks that a version the chip reports changed only bits inside the mask. */
export function isRolledWithin(jobVersion: number, mask: number, rolled: number): boolean {
  return ((jobVersion ^ rolled) & ~mask) === 0;
}
