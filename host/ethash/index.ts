/**
 * Ethash on the host: parameters, light cache (built off the hot path, cached on disk), hashimoto-light
 * and the share check every returned nonce goes through.
 *
 *   const store = new EthashCacheStore({ cacheDir, logger });
 *   const light = await store.get(epoch);                       // once per epoch
 *   const r = checkShare(light, headerWords, nonce, boundaryWords(target));
 *   if (r.meets) submit(...)                                   // r.mixHash / r.finalHash for the pool
 */
import { bigRatio, DIFF1_TARGET, meetsBoundary, resultToBigInt } from './boundary.ts';
import { bytesToWords, hexToBytes } from './keccak.ts';
import { type EthashLight, wordsHex } from './light.ts';

export * from './boundary.ts';
export * from './cache-store.ts';
export { bytesToHex, bytesToWords, hexToBytes, wordsToBytes } from './keccak.ts';
export * from './light.ts';
export * from './params.ts';

export interface ShareCheck {
  meets: boolean;
  mixHash: string;
  finalHash: string;
  /** Stratum share difficulty the result reaches (DIFF1_TARGET / hash). */
  difficulty: number;
}

/** One nonce through hashimoto-light, compared with the boundary (8 big-endian words). */
export function checkShare(
  light: EthashLight,
  header: Uint32Array,
  nonce: bigint,
  boundary: Uint32Array,
): ShareCheck {
  if (nonce < 0n || nonce >= 1n << 64n) throw new Error('nonce: not a 64-bit unsigned value');
  light.hash(header, Number(nonce & 0xffffffffn), Number(nonce >> 32n));
  const h = resultToBigInt(light.result);
  return {
    meets: meetsBoundary(light.result, boundary),
    mixHash: wordsHex(light.mixHash),
    finalHash: wordsHex(light.result),
    difficulty: h === 0n ? Number.POSITIVE_INFINITY : bigRatio(DIFF1_TARGET, h),
  };
}

/** Header hash hex (64 digits) → the 8 words hashimoto takes. */
export function headerWords(headerHashHex: string): Uint32Array {
  return bytesToWords(hexToBytes(headerHashHex, 32, 'header hash'));
}
export * from './verifier.ts';
