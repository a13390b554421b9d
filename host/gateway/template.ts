/**
 * getblocktemplate → Stratum job → (on a block-solving share) the full block. Pure functions.
 *
 * Coinbase (built here, not by the node; legacy serialization is what Stratum splits):
 *   coinb1 = version 01000000 ‖ 01 ‖ null prevout (32×00 ‖ ffffffff) ‖ scriptSig length ‖
 *            BIP 34 height push ‖ [push(tag)] ‖ push-opcode(extranonce1 + extranonce2 size)
 *   — extranonce1 ‖ extranonce2 —
 *   coinb2 = sequence ffffffff ‖ output count ‖ payout (coinbasevalue → the user's script) ‖
 *            [witness commitment output, 0 sat, Core's default_witness_commitment] ‖ locktime 0
 * The block's coinbase carries the BIP 141 witness reserved value (32 zero bytes) as its one witness
 * item when the template has a commitment.
 * Merkle branches: the template transactions' txids (internal order) folded up the coinbase's path.
 * Sources: Core src/rpc/mining.cpp (getblocktemplate fields), BIP 22/23, BIP 34, BIP 141/145.
 */
import {
  type Block,
  bip34Height,
  merkleBranches,
  parseTx,
  readTx,
  type Tx,
  writeTx,
} from '../bitcoin/block.ts';
import { BitcoinCodecError, concat, hashFromDisplay, hex, Reader, unhex, Writer } from '../bitcoin/bytes.ts';
import type { NotifyJob } from '../stratum/messages.ts';
import { swapWords } from '../work/hex.ts';

/** The fields of Core's getblocktemplate result the gateway uses (validated by parseTemplate). */
export interface BlockTemplate {
  version: number;
  previousblockhash: string;
  transactions: Array<{ data: string; txid: string; hash: string }>;
  coinbasevalue: number;
  longpollid?: string;
  target: string;
  mintime: number;
  curtime: number;
  bits: string;
  height: number;
  default_witness_commitment?: string;
  rules: string[];
}

export class TemplateError extends Error {
  override readonly name = 'TemplateError';
}

const isHex = (s: unknown, bytes?: number): s is string =>
  typeof s === 'string' &&
  s.length % 2 === 0 &&
  /^[0-9a-fA-F]*$/.test(s) &&
  (bytes === undefined || s.length === bytes * 2);

/** Validates a getblocktemplate result; every missing or malformed field is named. */
export function parseTemplate(r: unknown): BlockTemplate {
  if (r === null || typeof r !== 'object')
    throw new TemplateError('getblocktemplate: result is not an object');
  const t = r as Record<string, unknown>;
  const int = (k: string, min: number, max: number) => {
    const v = t[k];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max)
      throw new TemplateError(
        `getblocktemplate.${k}: expected an integer ${min}..${max}, got ${JSON.stringify(v)}`,
      );
    return v;
  };
  const version = int('version', 0, 0xffffffff);
  const height = int('height', 1, 0x7fffffff);
  const coinbasevalue = int('coinbasevalue', 0, 21e14);
  const curtime = int('curtime', 0, 0xffffffff);
  const mintime = typeof t.mintime === 'number' ? int('mintime', 0, 0xffffffff) : 0;
  if (!isHex(t.previousblockhash, 32))
    throw new TemplateError('getblocktemplate.previousblockhash: expected 64 hex digits');
  if (!isHex(t.bits, 4)) throw new TemplateError('getblocktemplate.bits: expected 8 hex digits');
  if (!isHex(t.target, 32)) throw new TemplateError('getblocktemplate.target: expected 64 hex digits');
  if (!Array.isArray(t.transactions))
    throw new TemplateError('getblocktemplate.transactions: expected an array');
  const transactions = t.transactions.map((x, i) => {
    const o = x as Record<string, unknown>;
    if (!o || !isHex(o.data) || !isHex(o.txid, 32) || (o.hash !== undefined && !isHex(o.hash, 32)))
      throw new TemplateError(`getblocktemplate.transactions[${i}]: needs hex data, txid and hash`);
    return { data: o.data as string, txid: o.txid as string, hash: (o.hash ?? o.txid) as string };
  });
  const rules = Array.isArray(t.rules) ? t.rules.filter((x): x is string => typeof x === 'string') : [];
  const out: BlockTemplate = {
    version,
    previousblockhash: (t.previousblockhash as string).toLowerCase(),
    transactions,
    coinbasevalue,
    target: t.target as string,
    mintime,
    curtime,
    bits: (t.bits as string).toLowerCase(),
    height,
    rules,
  };
  if (typeof t.longpollid === 'string') out.longpollid = t.longpollid;
  if (t.default_witness_commitment !== undefined) {
    if (
      !isHex(t.default_witness_commitment) ||
      !(t.default_witness_commitment as string).startsWith('6a24aa21a9ed')
    )
      throw new TemplateError('getblocktemplate.default_witness_commitment: not a BIP 141 commitment script');
    out.default_witness_commitment = t.default_witness_commitment as string;
  }
  return out;
}

export interface CoinbaseOptions {
  payoutScript: Uint8Array;
  /** Text written into the coinbase scriptSig (e.g. "/asicd/"); truncated to fit the 100-byte limit. */
  tag?: string;
  extranonce1Size: number;
  extranonce2Size: number;
}

export interface GatewayJob {
  /** mining.notify fields except job id and clean flag. */
  prevhash: string;
  coinb1: string;
  coinb2: string;
  merkleBranch: string[];
  version: string;
  nbits: string;
  ntime: string;
  height: number;
  template: BlockTemplate;
  /** Network target as a number, for the block check. */
  networkTarget: bigint;
  coinbaseValue: number;
  payoutScript: Uint8Array;
}

const u64le = (v: bigint) => new Writer(8).u64(v).finish();

/** Builds the Stratum job for a template. */
export function jobFromTemplate(t: BlockTemplate, o: CoinbaseOptions): GatewayJob {
  const en = o.extranonce1Size + o.extranonce2Size;
  if (en < 2 || en > 75) throw new TemplateError(`extranonce space of ${en} bytes (must be 2..75)`);
  const height = bip34Height(t.height);
  const fixed = height.length + 1 + en; // + the extranonce push opcode
  let tagBytes = Buffer.from(o.tag ?? '', 'utf8');
  const room = 100 - fixed - 1;
  if (tagBytes.length > room) tagBytes = tagBytes.subarray(0, Math.max(0, room));
  const tagPush = tagBytes.length > 0 ? concat(Uint8Array.of(tagBytes.length), tagBytes) : new Uint8Array(0);
  const scriptLen = fixed + tagPush.length;
  if (scriptLen < 2 || scriptLen > 100)
    throw new TemplateError(`coinbase scriptSig of ${scriptLen} bytes (must be 2..100)`);
  const coinb1 = concat(
    unhex('01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff'),
    Uint8Array.of(scriptLen),
    height,
    tagPush,
    Uint8Array.of(en),
  );
  const outs = new Writer(128);
  const commitment = t.default_witness_commitment ? unhex(t.default_witness_commitment) : undefined;
  outs.varint(commitment ? 2 : 1);
  outs.bytes(u64le(BigInt(t.coinbasevalue))).varBytes(o.payoutScript);
  if (commitment) outs.bytes(u64le(0n)).varBytes(commitment);
  const coinb2 = concat(unhex('ffffffff'), outs.finish(), unhex('00000000'));
  const branches = merkleBranches(t.transactions.map((x) => hashFromDisplay(x.txid, 'transactions.txid')));
  return {
    prevhash: hex(swapWords(hashFromDisplay(t.previousblockhash))),
    coinb1: hex(coinb1),
    coinb2: hex(coinb2),
    merkleBranch: branches.map(hex),
    version: (t.version >>> 0).toString(16).padStart(8, '0'),
    nbits: t.bits,
    ntime: (t.curtime >>> 0).toString(16).padStart(8, '0'),
    height: t.height,
    template: t,
    networkTarget: BigInt(`0x${t.target}`),
    coinbaseValue: t.coinbasevalue,
    payoutScript: o.payoutScript,
  };
}

export function notifyOf(j: GatewayJob, jobId: string, cleanJobs: boolean): NotifyJob {
  return {
    jobId,
    prevhash: j.prevhash,
    coinb1: j.coinb1,
    coinb2: j.coinb2,
    merkleBranch: j.merkleBranch,
    version: j.version,
    nbits: j.nbits,
    ntime: j.ntime,
    cleanJobs,
  };
}

export interface SolvedShare {
  extranonce1: string;
  extranonce2: string;
  ntime: number;
  nonce: number;
  /** Full rolled version. */
  version: number;
}

/** The coinbase of a solved share, with the witness reserved value when the template commits to witnesses. */
export function solvedCoinbase(j: GatewayJob, s: SolvedShare): Tx {
  const legacy = unhex(j.coinb1 + s.extranonce1 + s.extranonce2 + j.coinb2, 'coinbase');
  const tx = parseTx(legacy);
  if (j.template.default_witness_commitment) tx.inputs[0]!.witness = [new Uint8Array(32)];
  return tx;
}

/** Rebuilds the full block of a solved share: header, coinbase with witness, template transactions. */
export function assembleBlock(
  j: GatewayJob,
  s: SolvedShare,
  merkleRoot: Uint8Array,
): { block: Block; hex: string } {
  const coinbase = solvedCoinbase(j, s);
  const txs: Tx[] = [coinbase];
  for (const [i, x] of j.template.transactions.entries()) {
    const r = new Reader(unhex(x.data, `transactions[${i}].data`));
    txs.push(readTx(r));
    if (r.remaining !== 0) throw new BitcoinCodecError(`transactions[${i}].data`, 'trailing bytes');
  }
  const block: Block = {
    header: {
      version: s.version | 0,
      prevHash: hashFromDisplay(j.template.previousblockhash),
      merkleRoot,
      time: s.ntime >>> 0,
      bits: Number.parseInt(j.nbits, 16) >>> 0,
      nonce: s.nonce >>> 0,
    },
    txs,
  };
  // The template's own bytes are sent as they came (no re-encoding of other people's transactions).
  const w = new Writer(1024);
  w.i32(block.header.version)
    .bytes(block.header.prevHash)
    .bytes(block.header.merkleRoot)
    .u32(block.header.time)
    .u32(block.header.bits)
    .u32(block.header.nonce);
  w.varint(txs.length);
  writeTx(coinbase, true, w);
  for (const x of j.template.transactions) w.bytes(unhex(x.data));
  return { block, hex: hex(w.finish()) };
}
