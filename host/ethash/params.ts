/**
 * Ethash parameters: epochs (ethash's 30000 blocks, etchash's 60000 after ECIP-1099), seed hashes,
 * light-cache and full-dataset sizes. Pure functions; facts in host/ethash/REFERENCE.md.
 */
import { keccak_256 } from '@noble/hashes/sha3.js';
import { bytesToHex, hexToBytes } from './keccak.ts';

export const EPOCH_LENGTH = 30_000;
/** ECIP-1099 (etchash): epochs of 60000 blocks from the activation block on. */
export const ECIP1099_EPOCH_LENGTH = 60_000;
/** Ethereum Classic mainnet ECIP-1099 activation block. */
export const ECIP1099_BLOCK_ETC = 11_700_000;

export const HASH_BYTES = 64;
export const MIX_BYTES = 128;
export const CACHE_BYTES_INIT = 2 ** 24;
export const CACHE_BYTES_GROWTH = 2 ** 17;
export const DATASET_BYTES_INIT = 2 ** 30;
export const DATASET_BYTES_GROWTH = 2 ** 23;
export const CACHE_ROUNDS = 3;
export const DATASET_PARENTS = 256;
export const ACCESSES = 64;
/** Epochs beyond this are refused (dataset > 2^34 bytes; far past any live chain). */
export const MAX_EPOCH = 2048;

/** Which chain's epoch rule: plain ethash, or etchash with the ECIP-1099 activation block. */
export interface EpochRule {
  /** Block from which epochs are 60000 long (omit for plain ethash). */
  ecip1099Block?: number;
}

export const ETHASH: EpochRule = {};
export const ETCHASH: EpochRule = { ecip1099Block: ECIP1099_BLOCK_ETC };

function checkInt(v: number, what: string, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isSafeInteger(v) || v < 0 || v > max)
    throw new Error(`${what}: ${v} is not an integer in 0..${max}`);
}

/** Epoch length that applies at `block` under `rule`. */
export function epochLengthAt(block: number, rule: EpochRule = ETHASH): number {
  checkInt(block, 'block');
  return rule.ecip1099Block !== undefined && block >= rule.ecip1099Block
    ? ECIP1099_EPOCH_LENGTH
    : EPOCH_LENGTH;
}

/** The epoch of `block` and the epoch length it is counted in. */
export function epochOf(block: number, rule: EpochRule = ETHASH): { epoch: number; epochLength: number } {
  const epochLength = epochLengthAt(block, rule);
  return { epoch: Math.floor(block / epochLength), epochLength };
}

/**
 * Seed hash of an epoch: 32 zero bytes, keccak256'd once per 30000 blocks up to the epoch's first
 * block. With 60000-block epochs the seed of epoch e is therefore the ethash seed of epoch 2e.
 */
export function seedHash(epoch: number, epochLength = EPOCH_LENGTH): Uint8Array {
  checkInt(epoch, 'epoch', MAX_EPOCH * 2);
  let seed: Uint8Array = new Uint8Array(32);
  const rounds = Math.floor((epoch * epochLength) / EPOCH_LENGTH);
  for (let i = 0; i < rounds; i++) seed = keccak_256(seed);
  return seed;
}

const seedIndex = new Map<string, number>();
let seedIndexTop: Uint8Array = new Uint8Array(32);
let seedIndexRounds = 0;

/**
 * The number of keccak256 rounds (= ethash epoch, 30000-block units) that produce `seedHex`, or
 * undefined if it is none of the first `maxRounds`. Results are memoised, so a pool's repeated seed
 * costs one map lookup.
 */
export function seedRounds(seedHex: string, maxRounds = MAX_EPOCH * 2): number | undefined {
  const key = bytesToHex(hexToBytes(seedHex, 32, 'seed hash')).toLowerCase();
  if (seedIndex.size === 0) seedIndex.set(bytesToHex(seedIndexTop), 0);
  const hit = seedIndex.get(key);
  if (hit !== undefined) return hit;
  while (seedIndexRounds < maxRounds) {
    seedIndexTop = keccak_256(seedIndexTop);
    seedIndexRounds++;
    const h = bytesToHex(seedIndexTop);
    seedIndex.set(h, seedIndexRounds);
    if (h === key) return seedIndexRounds;
  }
  return undefined;
}

/** Epoch (in `epochLength` units) whose seed is `seedHex`; undefined if unknown or not on a boundary. */
export function epochFromSeed(seedHex: string, epochLength = EPOCH_LENGTH): number | undefined {
  const r = seedRounds(seedHex);
  if (r === undefined) return undefined;
  const per = epochLength / EPOCH_LENGTH;
  return r % per === 0 ? r / per : undefined;
}

/** Deterministic primality by trial division (the numbers here are below 2^28). */
export function isPrime(n: number): boolean {
  if (n < 2) return false;
  if (n % 2 === 0) return n === 2;
  if (n % 3 === 0) return n === 3;
  for (let d = 5; d * d <= n; d += 6) if (n % d === 0 || n % (d + 2) === 0) return false;
  return true;
}

/** Light-cache size in bytes: 2^24 + 2^17·epoch − 64, stepped down by 128 until size/64 is prime. */
export function cacheSize(epoch: number): number {
  checkInt(epoch, 'epoch', MAX_EPOCH);
  let sz = CACHE_BYTES_INIT + CACHE_BYTES_GROWTH * epoch - HASH_BYTES;
  while (!isPrime(sz / HASH_BYTES)) sz -= 2 * HASH_BYTES;
  return sz;
}

/** Full dataset size in bytes: 2^30 + 2^23·epoch − 128, stepped down by 256 until size/128 is prime. */
export function datasetSize(epoch: number): number {
  checkInt(epoch, 'epoch', MAX_EPOCH);
  let sz = DATASET_BYTES_INIT + DATASET_BYTES_GROWTH * epoch - MIX_BYTES;
  while (!isPrime(sz / MIX_BYTES)) sz -= 2 * MIX_BYTES;
  return sz;
}
