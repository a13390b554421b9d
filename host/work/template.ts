/**
 * From a Stratum job (mining.notify + the subscribe data) to block-header work.
 *
 *   coinbase    = coinb1 ‖ extranonce1 ‖ extranonce2 ‖ coinb2
 *   merkle root = fold h = dSHA256(h ‖ branch_i) from h = dSHA256(coinbase), branches as sent
 *   header      = version LE ‖ prevhash (word-swapped) ‖ merkle root ‖ ntime LE ‖ nbits LE ‖ nonce LE
 *
 * A JobTemplate is built once per notify (validated: every bad field is a WorkError naming it);
 * Work is one extranonce2 of a template, with its header and midstates ready for the chips.
 */
import { Extranonce2ExhaustedError, HeaderOnlyExhaustedError, WorkError } from './errors.ts';
import { bytesToHex, hexInto, hexToBytes, hexToU32, swapWords, tryHexInto } from './hex.ts';
import {
  bytesToWordsBE,
  HeaderHasher,
  merkleFoldWords,
  midstate,
  midstatesForVersions,
  sha256dPair,
  sha256dWords,
  wordsToBytesBE,
} from './sha256.ts';
import { type CompactTarget, difficultyToTarget, nbitsToTarget, targetWords } from './target.ts';
import { enumerateVersions } from './version.ts';

/** mining.notify params, as hex text exactly as the pool sent them. */
export interface NotifyJob {
  jobId: string;
  prevhash: string;
  coinb1: string;
  coinb2: string;
  merkleBranch: readonly string[];
  version: string;
  nbits: string;
  ntime: string;
  cleanJobs: boolean;
  /**
   * Header-only job (a Stratum V2 standard channel): the merkle root the pool fixed, 64 hex digits in
   * header byte order. The coinbase fields are then unused and must be empty; the work varies ntime.
   */
  merkleRoot?: string;
}

export interface SessionParams {
  extranonce1: string;
  extranonce2Size: number;
}

export interface TemplateOptions {
  /** Pool difficulty that applies to this job (default 1). */
  difficulty?: number;
  /** BIP 310 mask granted by the pool (default 0: no rolling). */
  versionMask?: number;
}

export const EXTRANONCE2_MIN = 2;
export const EXTRANONCE2_MAX = 16;
export const MAX_MERKLE_BRANCHES = 64;
const MAX_COINBASE_BYTES = 100_000;

export interface JobTemplate {
  readonly jobId: string;
  readonly cleanJobs: boolean;
  readonly version: number;
  readonly nbits: number;
  readonly ntime: number;
  readonly versionMask: number;
  readonly difficulty: number;
  readonly extranonce1: string;
  readonly extranonce2Size: number;
  /** Header bytes 4..35 (the Stratum prevhash with each 4-byte word byte-reversed). */
  readonly prevHash: Uint8Array;
  readonly poolTarget: bigint;
  readonly network: CompactTarget;
  /** Word forms for fast comparison (most significant word first). */
  readonly poolTargetWords: Uint32Array;
  readonly networkTargetWords: Uint32Array;
  /** coinb1 ‖ extranonce1 and coinb2, and the branches, decoded once. */
  readonly coinbasePrefix: Uint8Array;
  readonly coinbaseSuffix: Uint8Array;
  readonly branches: readonly Uint8Array[];
  /** The branches as big-endian words, 8 per branch (the merkle fold works on words). */
  readonly branchWords?: Uint32Array;
  /** Header-only job: the fixed merkle root (header byte order); extranonce2 then counts ntime steps. */
  readonly fixedRoot?: Uint8Array | undefined;
}

/**
 * Header-only jobs have no extranonce: work k of a job (k = the lane counter, 2-byte "extranonce2")
 * uses ntime + k, so no two works — and no two chains — hash the same header. At most this many seconds
 * ahead of the job's ntime (consensus allows 2 h; SV2 pools check a window); then the job is exhausted
 * until the pool's next one.
 */
export const HEADER_ONLY_NTIME_ROLL_MAX = 1800;
const HEADER_ONLY_LANE_BYTES = 2;

/** Validates a notify and the session data and pre-decodes everything that does not change per extranonce2. */
export function buildTemplate(
  job: NotifyJob,
  session: SessionParams,
  opts: TemplateOptions = {},
): JobTemplate {
  if (typeof job.jobId !== 'string' || job.jobId.length === 0 || job.jobId.length > 128) {
    throw new WorkError('job_id', 'expected a non-empty string of at most 128 characters');
  }
  const prevRaw = hexToBytes('prevhash', job.prevhash, 32);
  const coinb1 = hexToBytes('coinb1', job.coinb1);
  const coinb2 = hexToBytes('coinb2', job.coinb2);
  const en1 = hexToBytes('extranonce1', session.extranonce1);
  if (en1.length > 32) throw new WorkError('extranonce1', `at most 32 bytes, got ${en1.length}`);
  const fixedRoot = job.merkleRoot !== undefined ? hexToBytes('merkle_root', job.merkleRoot, 32) : undefined;
  if (fixedRoot && (coinb1.length > 0 || coinb2.length > 0 || (job.merkleBranch?.length ?? 0) > 0))
    throw new WorkError('merkle_root', 'a header-only job carries no coinbase or merkle branches');
  const size = fixedRoot ? HEADER_ONLY_LANE_BYTES : session.extranonce2Size;
  if (!Number.isInteger(size) || size < EXTRANONCE2_MIN || size > EXTRANONCE2_MAX) {
    throw new WorkError(
      'extranonce2_size',
      `must be an integer from ${EXTRANONCE2_MIN} to ${EXTRANONCE2_MAX}, got ${size}`,
    );
  }
  if (coinb1.length + en1.length + size + coinb2.length > MAX_COINBASE_BYTES) {
    throw new WorkError('coinbase', `longer than ${MAX_COINBASE_BYTES} bytes`);
  }
  if (!Array.isArray(job.merkleBranch)) throw new WorkError('merkle_branch', 'expected an array');
  if (job.merkleBranch.length > MAX_MERKLE_BRANCHES) {
    throw new WorkError(
      'merkle_branch',
      `${job.merkleBranch.length} entries; at most ${MAX_MERKLE_BRANCHES}`,
    );
  }
  // All branches in one buffer (one allocation per notify, not two per branch).
  const n = job.merkleBranch.length;
  const branchBytes = new Uint8Array(32 * n);
  const branches: Uint8Array[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const b = job.merkleBranch[i];
    // The error (naming the branch) is built only for a bad one.
    if (!tryHexInto(b, 32, branchBytes, 32 * i)) hexInto(`merkle_branch[${i}]`, b, 32, branchBytes, 32 * i);
    branches[i] = branchBytes.subarray(32 * i, 32 * i + 32);
  }
  const version = hexToU32('version', job.version);
  const nbits = hexToU32('nbits', job.nbits);
  const ntime = hexToU32('ntime', job.ntime);
  const difficulty = opts.difficulty ?? 1;
  const pool = poolTargetFor(difficulty);
  const versionMask = (opts.versionMask ?? 0) >>> 0;
  const net = networkTargetFor(nbits);
  const prefix = new Uint8Array(coinb1.length + en1.length);
  prefix.set(coinb1);
  prefix.set(en1, coinb1.length);
  return {
    jobId: job.jobId,
    cleanJobs: job.cleanJobs === true,
    version,
    nbits,
    ntime,
    versionMask,
    difficulty,
    extranonce1: session.extranonce1.toLowerCase(),
    extranonce2Size: size,
    prevHash: swapWords(prevRaw),
    poolTarget: pool.target,
    network: net.network,
    poolTargetWords: pool.words,
    networkTargetWords: net.words,
    coinbasePrefix: prefix,
    coinbaseSuffix: coinb2,
    branches,
    branchWords: bytesToWordsBE(branchBytes),
    fixedRoot,
  };
}

// The pool difficulty and nbits rarely change between notifies: their targets (BigInt division) and word
// forms are kept for the last value seen. The word arrays are shared by the templates: never written.
let lastPool: { difficulty: number; target: bigint; words: Uint32Array } | undefined;
function poolTargetFor(difficulty: number): { target: bigint; words: Uint32Array } {
  if (lastPool?.difficulty !== difficulty) {
    const target = difficultyToTarget(difficulty);
    lastPool = { difficulty, target, words: targetWords(target) };
  }
  return lastPool;
}
let lastNet: { nbits: number; network: CompactTarget; words: Uint32Array } | undefined;
function networkTargetFor(nbits: number): { network: CompactTarget; words: Uint32Array } {
  if (lastNet?.nbits !== nbits) {
    const network = nbitsToTarget(nbits);
    const valid = !network.negative && !network.overflow && network.target > 0n;
    // An invalid nbits target can never be met (all-zero words only match an all-zero hash).
    lastNet = { nbits, network, words: targetWords(valid ? network.target : 0n) };
  }
  return lastNet;
}

/** extranonce2 as exactly `size` bytes, little-endian, lower-case hex. */
export function encodeExtranonce2(value: bigint | number, size: number): string {
  let v = BigInt(value);
  if (v < 0n || v >= 1n << BigInt(8 * size)) {
    throw new WorkError('extranonce2', `${v} does not fit in ${size} bytes`);
  }
  let hex = '';
  for (let i = 0; i < size; i++) {
    hex += Number(v & 0xffn)
      .toString(16)
      .padStart(2, '0');
    v >>= 8n;
  }
  return hex;
}

/** Inverse of encodeExtranonce2. */
export function decodeExtranonce2(hex: string, size: number): bigint {
  const b = hexToBytes('extranonce2', hex, size);
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
  return v;
}

/**
 * Hands out extranonce2 values for one job: start, start + step, start + 2·step, … (0, 1, 2 … by
 * default). Several chains working one job each take their own lane (start = chain index, step = chain
 * count) so no two chains ever hash the same header. Exhaustion is an error (never a silent wrap that
 * would repeat work the pool already has).
 */
export class Extranonce2Counter {
  private nextValue: bigint;
  private readonly limit: bigint;
  private readonly step: bigint;
  readonly size: number;
  constructor(size: number, start = 0, step = 1) {
    this.size = size;
    if (!Number.isInteger(start) || !Number.isInteger(step) || start < 0 || step < 1 || start >= step) {
      throw new WorkError('extranonce2', `lane start ${start} / step ${step} must satisfy 0 ≤ start < step`);
    }
    this.limit = 1n << BigInt(8 * size);
    this.nextValue = BigInt(start);
    this.step = BigInt(step);
  }
  /** The next value that would be handed out. */
  get issued(): bigint {
    return this.nextValue;
  }
  next(): bigint {
    if (this.nextValue >= this.limit) throw new Extranonce2ExhaustedError(this.size);
    const v = this.nextValue;
    this.nextValue += this.step;
    return v;
  }
}

/** The coinbase transaction for one extranonce2. */
export function coinbaseTx(t: JobTemplate, extranonce2Hex: string): Uint8Array {
  const en2 = hexToBytes('extranonce2', extranonce2Hex, t.extranonce2Size);
  const out = new Uint8Array(t.coinbasePrefix.length + en2.length + t.coinbaseSuffix.length);
  out.set(t.coinbasePrefix);
  out.set(en2, t.coinbasePrefix.length);
  out.set(t.coinbaseSuffix, t.coinbasePrefix.length + en2.length);
  return out;
}

/** Folds the merkle branches onto a coinbase txid (raw byte order in and out). */
export function merkleRoot(coinbaseHash: Uint8Array, branches: readonly Uint8Array[]): Uint8Array {
  const h = Uint8Array.from(coinbaseHash);
  for (const b of branches) sha256dPair(h, b, h);
  return h;
}

function writeLE(b: Uint8Array, o: number, v: number): void {
  b[o] = v;
  b[o + 1] = v >>> 8;
  b[o + 2] = v >>> 16;
  b[o + 3] = v >>> 24;
}

/** Writes the 80-byte header (nonce 0) for a version, merkle root and ntime. */
export function writeHeader(
  t: JobTemplate,
  version: number,
  root: Uint8Array,
  ntime: number,
  out = new Uint8Array(80),
) {
  writeLE(out, 0, version);
  // Byte loops: TypedArray#set costs more than 32 plain stores for arrays this small.
  const prev = t.prevHash;
  for (let i = 0; i < 32; i++) {
    out[4 + i] = prev[i]!;
    out[36 + i] = root[i]!;
  }
  writeLE(out, 68, ntime);
  writeLE(out, 72, t.nbits);
  writeLE(out, 76, 0);
  return out;
}

export interface WorkOptions {
  /** How many rolled versions (and midstates) to prepare: BM1397 takes 4; header-format chips 1. */
  versions?: number;
}

/** One unit of work: a template with one extranonce2, ready for the chips. */
export interface Work {
  readonly template: JobTemplate;
  readonly extranonce2: bigint;
  readonly extranonce2Hex: string;
  /** dSHA256 merkle root in raw (internal) byte order = header bytes 36..67. */
  readonly merkleRoot: Uint8Array;
  /** The header's ntime: the job's, or job + k for work k of a header-only job. */
  readonly ntime: number;
  /** Header with the job's own version and ntime and nonce 0. */
  readonly header: Uint8Array;
  /** versions[0] is the job version; more when several midstates were asked for. */
  readonly versions: readonly number[];
  /** midstates[k] is the SHA-256 state (8 words) of the header's first 64 bytes with versions[k]. */
  readonly midstates: readonly Uint32Array[];
}

/** 2^(8·size): the first extranonce2 value that does not fit in `size` bytes. */
const EN2_LIMIT = Array.from({ length: EXTRANONCE2_MAX + 1 }, (_, size) => 1n << BigInt(8 * size));
const HEX_BYTE = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
/** The merkle root of the work being made, as words (reused: makeWork is synchronous). */
const rootWords = new Uint32Array(8);

function concatBranches(branches: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(32 * branches.length);
  branches.forEach((b, i) => {
    out.set(b, 32 * i);
  });
  return out;
}

/** The coinbase of the work being made: reused (makeWork is synchronous), grown when a coinbase is longer. */
let coinbaseScratch = new Uint8Array(512);

/**
 * Writes extranonce2 (`size` bytes, little-endian) into `out` at `offset` and returns its hex, with no
 * BigInt arithmetic for values below 2^53 (every counter in practice).
 */
function writeExtranonce2(v: bigint, size: number, out: Uint8Array, offset: number): string {
  let hex = '';
  if (v <= 0x1fffffffffffffn) {
    let n = Number(v);
    for (let i = 0; i < size; i++) {
      const b = n % 256;
      out[offset + i] = b;
      hex += HEX_BYTE[b];
      n = (n - b) / 256;
    }
  } else {
    for (let i = 0; i < size; i++) {
      const b = Number(v & 0xffn);
      out[offset + i] = b;
      hex += HEX_BYTE[b];
      v >>= 8n;
    }
  }
  return hex;
}

export function makeWork(
  t: JobTemplate,
  extranonce2: bigint | number | string,
  opts: WorkOptions = {},
): Work {
  const en2 =
    typeof extranonce2 === 'string' ? decodeExtranonce2(extranonce2, t.extranonce2Size) : BigInt(extranonce2);
  const size = t.extranonce2Size;
  if (en2 < 0n || en2 >= EN2_LIMIT[size]!) {
    throw new WorkError('extranonce2', `${en2} does not fit in ${size} bytes`);
  }
  let root: Uint8Array;
  let en2Hex: string;
  let ntime = t.ntime;
  if (t.fixedRoot) {
    // Header-only: the pool's root as given; work k rolls ntime by k instead of an extranonce.
    if (en2 > BigInt(HEADER_ONLY_NTIME_ROLL_MAX))
      throw new HeaderOnlyExhaustedError(HEADER_ONLY_NTIME_ROLL_MAX);
    root = t.fixedRoot;
    ntime = (t.ntime + Number(en2)) >>> 0;
    en2Hex = encodeExtranonce2(en2, size);
  } else {
    // coinbase = prefix ‖ extranonce2 ‖ suffix, assembled in the scratch buffer and hashed on words.
    const pre = t.coinbasePrefix.length;
    const len = pre + size + t.coinbaseSuffix.length;
    if (coinbaseScratch.length < len) coinbaseScratch = new Uint8Array(len * 2);
    coinbaseScratch.set(t.coinbasePrefix);
    en2Hex = writeExtranonce2(en2, size, coinbaseScratch, pre);
    coinbaseScratch.set(t.coinbaseSuffix, pre + size);
    // The fold runs on words: the coinbase hash as 8 words, each level three compressions, bytes once.
    sha256dWords(coinbaseScratch, len, rootWords);
    const bw = t.branchWords ?? bytesToWordsBE(concatBranches(t.branches));
    merkleFoldWords(rootWords, bw, t.branches.length);
    root = wordsToBytesBE(rootWords);
  }
  const header = writeHeader(t, t.version, root, ntime);
  const count = opts.versions ?? 1;
  const versions = count === 1 ? [t.version] : enumerateVersions(t.version, t.versionMask, count);
  const midstates = count === 1 ? [midstate(header)] : midstatesForVersions(header, versions);
  return {
    template: t,
    extranonce2: en2,
    extranonce2Hex: en2Hex,
    merkleRoot: root,
    ntime,
    header,
    versions,
    midstates,
  };
}

/** A HeaderHasher primed for this work with a given version (used by the nonce check). */
export function hasherFor(w: Work, version: number): HeaderHasher {
  const k = w.versions.indexOf(version);
  const h = new HeaderHasher();
  const view = new DataView(w.header.buffer, w.header.byteOffset, 80);
  const tail = view.getUint32(64, false);
  const ntime = view.getUint32(68, false);
  const nbits = view.getUint32(72, false);
  if (k >= 0) h.setMidstate(w.midstates[k]!, tail, ntime, nbits);
  else h.setHeader(writeHeader(w.template, version, w.merkleRoot, w.ntime));
  return h;
}

export { bytesToHex };
