/**
 * The nonce check: every nonce a chip returns is re-hashed on the host before anything is
 * submitted (a CRC5 frame check passes 1 in 32 corrupt frames, and chips make mistakes).
 *
 *   block     hash ≤ network target (nbits)       → submit, and celebrate
 *   share     hash ≤ pool target                  → submit
 *   low       hash ≤ chip ticket target only       → count (hashrate), don't submit
 *   hw-error  meets neither / version outside mask → count against the chip
 */
import { bswap32, u32ToHex } from './hex.ts';
import { compress, HeaderHasher, SHA256_IV } from './sha256.ts';
import {
  difficultyToTarget,
  digestToDisplayHex,
  hashMeetsTarget,
  hashToDifficulty,
  targetWords,
} from './target.ts';
import { hasherFor, type Work } from './template.ts';
import { isRolledWithin, versionBits } from './version.ts';

export type NonceKind = 'block' | 'share' | 'low' | 'hw-error';

export interface NonceCheckOptions {
  /** Rolled version the chip used (default: the job's version). */
  version?: number;
  /** Rolled ntime (default: the job's ntime). */
  ntime?: number;
  /** The chips' ticket difficulty (their reporting floor); default 1 (the diff-1 floor of real chips). */
  ticketDifficulty?: number;
}

export interface NonceCheck {
  kind: NonceKind;
  /** Share difficulty of the hash (diff1 / hash). */
  difficulty: number;
  /** Block hash in display (big-endian) hex (formatted on first read). */
  readonly hashHex: string;
  jobId: string;
  extranonce2Hex: string;
  nonce: number;
  ntime: number;
  version: number;
  /** version_bits for mining.submit (rolled & mask); 0 when not rolling. */
  versionBits: number;
  /** Why a hw-error was called, when it is not simply "too weak". */
  reason?: string;
  /** The mining.submit params after the worker name: job_id, extranonce2, ntime, nonce[, version_bits]. */
  submitParams(rolling: boolean): string[];
}

const ticketCache = new Map<number, Uint32Array>();
function ticketWords(d: number): Uint32Array {
  let w = ticketCache.get(d);
  if (!w) {
    w = targetWords(difficultyToTarget(d));
    if (ticketCache.size > 64) ticketCache.clear();
    ticketCache.set(d, w);
  }
  return w;
}

const hashers = new WeakMap<Work, Map<number, HeaderHasher>>();
const MAX_HASHERS_PER_WORK = 16;
/** Header bytes 0..63 of each work as 16 big-endian words (for rolled-version midstates). */
const block0s = new WeakMap<Work, Uint32Array>();
const scratchW = new Uint32Array(64);
const scratchMid = new Uint32Array(8);
const scratch = new HeaderHasher();

/**
 * The hasher for (work, version). The versions the work prepared midstates for (the job's own, BM1397's
 * four) are cached per work. Any other version — a BM1366+ chip reports a different rolled version with
 * almost every nonce — gets its midstate computed into one scratch hasher: one compression and no
 * allocation, instead of a new hasher, header and midstate per nonce.
 */
function hasher(work: Work, version: number): HeaderHasher {
  let m = hashers.get(work);
  if (!m) {
    m = new Map();
    hashers.set(work, m);
  }
  const h = m.get(version);
  if (h) return h;
  if (!work.versions.includes(version)) {
    let b0 = block0s.get(work);
    if (!b0) {
      const v = new DataView(work.header.buffer, work.header.byteOffset, 80);
      b0 = new Uint32Array(19);
      for (let i = 0; i < 19; i++) b0[i] = v.getUint32(i * 4, false);
      block0s.set(work, b0);
    }
    scratchW.set(b0.subarray(0, 16));
    scratchW[0] = bswap32(version);
    compress(SHA256_IV, scratchW, scratchMid);
    scratch.setMidstate(scratchMid, b0[16]!, b0[17]!, b0[18]!);
    return scratch;
  }
  if (m.size >= MAX_HASHERS_PER_WORK) m.clear();
  const made = hasherFor(work, version);
  m.set(version, made);
  return made;
}

/**
 * The result of a check. A class (not an object literal with a closure) so a check allocates one small
 * object; the display hash is only formatted when someone reads it (blocks, the pool's duplicate check).
 */
class Check implements NonceCheck {
  reason?: string;
  private readonly d0: number;
  private readonly d1: number;
  private readonly d2: number;
  private readonly d3: number;
  private readonly d4: number;
  private readonly d5: number;
  private readonly d6: number;
  private readonly d7: number;
  private hex: string | undefined;

  readonly kind: NonceKind;
  readonly jobId: string;
  readonly extranonce2Hex: string;
  readonly nonce: number;
  readonly ntime: number;
  readonly version: number;
  readonly versionBits: number;
  constructor(
    kind: NonceKind,
    digest: Uint32Array,
    jobId: string,
    extranonce2Hex: string,
    nonce: number,
    ntime: number,
    version: number,
    versionBits: number,
  ) {
    this.kind = kind;
    this.jobId = jobId;
    this.extranonce2Hex = extranonce2Hex;
    this.nonce = nonce;
    this.ntime = ntime;
    this.version = version;
    this.versionBits = versionBits;
    this.d0 = digest[0]!;
    this.d1 = digest[1]!;
    this.d2 = digest[2]!;
    this.d3 = digest[3]!;
    this.d4 = digest[4]!;
    this.d5 = digest[5]!;
    this.d6 = digest[6]!;
    this.d7 = digest[7]!;
    this.difficulty = hashToDifficulty(digest);
  }

  readonly difficulty: number;

  get hashHex(): string {
    this.hex ??= digestToDisplayHex([this.d0, this.d1, this.d2, this.d3, this.d4, this.d5, this.d6, this.d7]);
    return this.hex;
  }

  submitParams(rolling: boolean): string[] {
    const p = [this.jobId, this.extranonce2Hex, u32ToHex(this.ntime), u32ToHex(this.nonce)];
    if (rolling) p.push(u32ToHex(this.versionBits));
    return p;
  }
}

/** Rebuilds the header for (work, nonce, version, ntime), hashes it and classifies the result. */
export function checkNonce(work: Work, nonce: number, opts: NonceCheckOptions = {}): NonceCheck {
  const t = work.template;
  const version = (opts.version ?? t.version) >>> 0;
  const ntime = (opts.ntime ?? work.ntime ?? t.ntime) >>> 0;
  nonce >>>= 0;
  const h = hasher(work, version);
  const digest = h.hash(nonce, bswap32(ntime));
  let kind: NonceKind;
  let reason: string | undefined;
  if (!isRolledWithin(t.version, t.versionMask, version)) {
    kind = 'hw-error';
    reason = `version ${u32ToHex(version)} changes bits outside the mask ${u32ToHex(t.versionMask)}`;
  } else if (hashMeetsTarget(digest, t.networkTargetWords)) kind = 'block';
  else if (hashMeetsTarget(digest, t.poolTargetWords)) kind = 'share';
  else if (hashMeetsTarget(digest, ticketWords(opts.ticketDifficulty ?? 1))) kind = 'low';
  else kind = 'hw-error';
  const result = new Check(
    kind,
    digest,
    t.jobId,
    work.extranonce2Hex,
    nonce,
    ntime,
    version,
    versionBits(version, t.versionMask),
  );
  if (reason) result.reason = reason;
  return result;
}
