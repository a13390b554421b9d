/**
 * Synthetic but well-formed Stratum jobs for the embedded pool: a random previous-block hash, a real
 * coinbase layout split around the extranonce (BIP34 height push and a tag in the scriptSig, one P2WPKH
 * payout output and a witness-commitment OP_RETURN, locktime 0) and 0–12 random merkle branches.
 *
 * Coinbase (legacy serialisation, as hashed for the txid):
 *   coinb1 = version 01000000 ‖ 01 input ‖ null prevout (32×00, ffffffff) ‖ scriptSig length ‖
 *            push(height, BIP34) ‖ push("/asicd/")                 — then extranonce1 ‖ extranonce2 —
 *   coinb2 = sequence ffffffff ‖ 02 outputs ‖ payout ‖ OP_RETURN commitment ‖ locktime 00000000
 */
import type { NotifyJob } from '../stratum/messages.ts';

export type RandomBytes = (n: number) => Uint8Array;

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** Minimal little-endian script-number encoding (BIP34 uses CScript() << height). */
export function scriptNumber(n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`height: ${n} is not a non-negative integer`);
  const out: number[] = [];
  let v = n;
  while (v > 0) {
    out.push(v & 0xff);
    v = Math.floor(v / 256);
  }
  if (out.length > 0 && (out[out.length - 1]! & 0x80) !== 0) out.push(0);
  return Uint8Array.from(out);
}

/** The BIP34 height push: for 1..16 the OP_n opcode, else <len> <script number>. */
export function bip34HeightPush(height: number): Uint8Array {
  if (height >= 1 && height <= 16) return Uint8Array.of(0x50 + height);
  if (height === 0) return Uint8Array.of(0x00);
  const num = scriptNumber(height);
  return Uint8Array.of(num.length, ...num);
}

function u64le(v: bigint): string {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(v);
  return b.toString('hex');
}

export interface CoinbaseParts {
  coinb1: string;
  coinb2: string;
}

/** coinb1/coinb2 for a height, with room for `extranonceBytes` (= extranonce1 + extranonce2 sizes). */
export function buildCoinbase(
  height: number,
  extranonceBytes: number,
  payoutHash160: Uint8Array,
  rewardSats: bigint,
  commitment: Uint8Array,
): CoinbaseParts {
  const heightPush = bip34HeightPush(height);
  const tag = Buffer.from('/asicd/', 'ascii');
  const scriptLen = heightPush.length + 1 + tag.length + extranonceBytes;
  if (scriptLen < 2 || scriptLen > 100)
    throw new Error(`coinbase scriptSig of ${scriptLen} bytes (must be 2..100)`);
  const coinb1 =
    '01000000' +
    '01' +
    '00'.repeat(32) +
    'ffffffff' +
    scriptLen.toString(16).padStart(2, '0') +
    hex(heightPush) +
    tag.length.toString(16).padStart(2, '0') +
    tag.toString('hex');
  const payout = `${u64le(rewardSats)}160014${hex(payoutHash160)}`;
  const opReturn = `${u64le(0n)}266a24aa21a9ed${hex(commitment)}`;
  const coinb2 = `ffffffff02${payout}${opReturn}00000000`;
  return { coinb1, coinb2 };
}

export interface JobFactoryOptions {
  /** Starting block height. */
  height?: number;
  /** Bytes of extranonce1 + extranonce2 the coinbase makes room for. */
  extranonceBytes: number;
  /** Merkle branch count: fixed, or drawn in [min, max] (default [0, 12]). */
  branches?: number | [number, number];
  /** nbits of the synthetic chain (default 1d00ffff: blocks need difficulty ≥ 1). */
  nbits?: string;
  version?: string;
  randomBytes: RandomBytes;
}

/** One block's worth of state: all jobs of a block share the prevhash. */
export interface BlockState {
  height: number;
  prevhash: string;
  branches: string[];
  coinb1: string;
  coinb2: string;
}

export class JobFactory {
  private seq = 0;
  private block!: BlockState;
  private readonly o: JobFactoryOptions;
  constructor(opts: JobFactoryOptions) {
    this.o = opts;
    this.newBlock(opts.height ?? 840_000);
  }

  get current(): BlockState {
    return this.block;
  }

  /** Moves to a new block (new random prevhash, new branches); the next job must be clean. */
  newBlock(height = (this.block?.height ?? 839_999) + 1): BlockState {
    const r = this.o.randomBytes;
    const spec = this.o.branches ?? [0, 12];
    let count: number;
    if (typeof spec === 'number') count = spec;
    else count = spec[0] + (r(1)[0]! % (spec[1] - spec[0] + 1));
    const branches: string[] = [];
    for (let i = 0; i < count; i++) branches.push(hex(r(32)));
    const { coinb1, coinb2 } = buildCoinbase(height, this.o.extranonceBytes, r(20), 312_500_000n, r(32));
    this.block = { height, prevhash: hex(r(32)), branches, coinb1, coinb2 };
    return this.block;
  }

  /** A job of the current block at `ntimeSec`. */
  job(ntimeSec: number, cleanJobs: boolean): NotifyJob {
    const b = this.block;
    return {
      jobId: (++this.seq).toString(16),
      prevhash: b.prevhash,
      coinb1: b.coinb1,
      coinb2: b.coinb2,
      merkleBranch: b.branches,
      version: this.o.version ?? '20000000',
      nbits: this.o.nbits ?? '1d00ffff',
      ntime: (ntimeSec >>> 0).toString(16).padStart(8, '0'),
      cleanJobs,
    };
  }
}
