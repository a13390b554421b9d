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
import type { HeaderHasher } from './sha256.ts';
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
  /** Block hash in display (big-endian) hex. */
  hashHex: string;
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

function hasher(work: Work, version: number): HeaderHasher {
  let m = hashers.get(work);
  if (!m) {
    m = new Map();
    hashers.set(work, m);
  }
  let h = m.get(version);
  if (!h) {
    if (m.size >= MAX_HASHERS_PER_WORK) m.clear();
    h = hasherFor(work, version);
    m.set(version, h);
  }
  return h;
}

/** Rebuilds the header for (work, nonce, version, ntime), hashes it and classifies the result. */
export function checkNonce(work: Work, nonce: number, opts: NonceCheckOptions = {}): NonceCheck {
  const t = work.template;
  const version = (opts.version ?? t.version) >>> 0;
  const ntime = (opts.ntime ?? t.ntime) >>> 0;
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
  const vb = versionBits(version, t.versionMask);
  const result: NonceCheck = {
    kind,
    difficulty: hashToDifficulty(digest),
    hashHex: digestToDisplayHex(digest),
    jobId: t.jobId,
    extranonce2Hex: work.extranonce2Hex,
    nonce,
    ntime,
    version,
    versionBits: vb,
    submitParams: (rolling: boolean) => {
      const p = [t.jobId, work.extranonce2Hex, u32ToHex(ntime), u32ToHex(nonce)];
      if (rolling) p.push(u32ToHex(vb));
      return p;
    },
  };
  if (reason) result.reason = reason;
  return result;
}
