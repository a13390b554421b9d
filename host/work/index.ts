/**
 * The work engine: Stratum job → block-header work → nonce check. Pure functions and small classes,
 * no I/O. See REFERENCE.md beside this file for the byte orders and their sources.
 */
export { checkNonce, type NonceCheck, type NonceCheckOptions, type NonceKind } from './check.ts';
export { Extranonce2ExhaustedError, HeaderOnlyExhaustedError, WorkError } from './errors.ts';
export { bswap32, bytesToHex, hexToBytes, hexToU32, swapWords, u32ToHex } from './hex.ts';
export {
  compress,
  HeaderHasher,
  midstate,
  midstatesForVersions,
  SHA256_IV,
  sha256d,
  sha256dInto,
  sha256dPair,
  wordsToBytesBE,
} from './sha256.ts';
export {
  type CompactTarget,
  DIFF1_TARGET,
  difficultyToTarget,
  digestToDisplayHex,
  hashMeetsTarget,
  hashToDifficulty,
  MAX_TARGET,
  nbitsToTarget,
  targetToDifficulty,
  targetToNbits,
  targetWords,
} from './target.ts';
export {
  buildTemplate,
  coinbaseTx,
  decodeExtranonce2,
  EXTRANONCE2_MAX,
  EXTRANONCE2_MIN,
  Extranonce2Counter,
  encodeExtranonce2,
  type JobTemplate,
  MAX_MERKLE_BRANCHES,
  makeWork,
  merkleRoot,
  type NotifyJob,
  type SessionParams,
  type TemplateOptions,
  type Work,
  type WorkOptions,
  writeHeader,
} from './template.ts';
export {
  depositBits,
  enumerateVersions,
  extractBits,
  isRolledWithin,
  rollVersion,
  versionBits,
} from './version.ts';
