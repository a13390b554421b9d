/**
 * Blocks, headers, transactions, BIP 34 and BIP 141 pieces — pure functions, byte-exact.
 *
 * - Header: version i32 ‖ prev hash ‖ merkle root ‖ time u32 ‖ bits u32 ‖ nonce u32 (80 bytes, LE).
 * - Transaction: legacy or BIP 144 (marker 00, flag 01, witness stacks before locktime); txid hashes
 *   the legacy form, wtxid the full one.
 * - BIP 34: the coinbase scriptSig starts with the height as a minimal CScriptNum push.
 * - BIP 141 witness commitment: OP_RETURN 0x24 aa21a9ed ‖ dSHA256(witness merkle root ‖ reserved value),
 *   with the coinbase's wtxid taken as 32 zero bytes and the reserved value (32 zero bytes here) as the
 *   coinbase input's single witness item.
 * - Stratum merkle branches: the siblings on the path of leaf 0 (the coinbase), bottom up.
 * Sources: Core src/primitives/block.h, transaction.h, src/consensus/merkle.cpp, src/script/script.h,
 * BIP 34, BIP 141, BIP 144.
 */
import { sha256d } from '../work/sha256.ts';
import { BitcoinCodecError, concat, hashToDisplay, Reader, Writer } from './bytes.ts';

export interface BlockHeader {
  version: number;
  /** Internal byte order. */
  prevHash: Uint8Array;
  merkleRoot: Uint8Array;
  time: number;
  bits: number;
  nonce: number;
}

export function parseHeader(b: Uint8Array | Reader): BlockHeader {
  const r = b instanceof Reader ? b : new Reader(b);
  const h = {
    version: r.i32('header.version'),
    prevHash: Uint8Array.from(r.bytes(32, 'header.prev_block')),
    merkleRoot: Uint8Array.from(r.bytes(32, 'header.merkle_root')),
    time: r.u32('header.time'),
    bits: r.u32('header.bits'),
    nonce: r.u32('header.nonce'),
  };
  if (!(b instanceof Reader)) r.end('header');
  return h;
}

export function writeBlockHeader(h: BlockHeader, w = new Writer(80)): Writer {
  return w.i32(h.version).bytes(h.prevHash).bytes(h.merkleRoot).u32(h.time).u32(h.bits).u32(h.nonce);
}
export const serializeHeader = (h: BlockHeader): Uint8Array => writeBlockHeader(h).finish();
/** dSHA256 of the serialized header, internal order. */
export const headerHash = (h: BlockHeader | Uint8Array): Uint8Array =>
  sha256d(h instanceof Uint8Array ? h : serializeHeader(h));
export const headerHashDisplay = (h: BlockHeader | Uint8Array): string => hashToDisplay(headerHash(h));

// ------------------------------------------------------------------------------------------------
// Transactions

export interface TxIn {
  prevTxid: Uint8Array;
  prevIndex: number;
  scriptSig: Uint8Array;
  sequence: number;
  witness: Uint8Array[];
}
export interface TxOut {
  value: bigint;
  scriptPubKey: Uint8Array;
}
export interface Tx {
  version: number;
  inputs: TxIn[];
  outputs: TxOut[];
  locktime: number;
}

export const hasWitness = (tx: Tx): boolean => tx.inputs.some((i) => i.witness.length > 0);

export function writeTx(tx: Tx, withWitness: boolean, w = new Writer(256)): Writer {
  const wit = withWitness && hasWitness(tx);
  w.i32(tx.version);
  if (wit) w.u8(0).u8(1);
  w.varint(tx.inputs.length);
  for (const i of tx.inputs) w.bytes(i.prevTxid).u32(i.prevIndex).varBytes(i.scriptSig).u32(i.sequence);
  w.varint(tx.outputs.length);
  for (const o of tx.outputs) w.i64(o.value).varBytes(o.scriptPubKey);
  if (wit)
    for (const i of tx.inputs) {
      w.varint(i.witness.length);
      for (const item of i.witness) w.varBytes(item);
    }
  return w.u32(tx.locktime);
}
export const serializeTx = (tx: Tx, withWitness = true): Uint8Array => writeTx(tx, withWitness).finish();
export const txid = (tx: Tx): Uint8Array => sha256d(serializeTx(tx, false));
export const wtxid = (tx: Tx): Uint8Array => sha256d(serializeTx(tx, true));

export function readTx(r: Reader): Tx {
  const version = r.i32('tx.version');
  let nIn = r.varint('tx.vin count');
  let segwit = false;
  if (nIn === 0) {
    const flag = r.u8('tx.flag');
    if (flag !== 1) throw new BitcoinCodecError('tx.flag', `unknown flag ${flag}`);
    segwit = true;
    nIn = r.varint('tx.vin count');
  }
  const inputs: TxIn[] = [];
  for (let i = 0; i < nIn; i++)
    inputs.push({
      prevTxid: Uint8Array.from(r.bytes(32, `tx.vin[${i}].prevout`)),
      prevIndex: r.u32(`tx.vin[${i}].n`),
      scriptSig: Uint8Array.from(r.varBytes(`tx.vin[${i}].scriptSig`)),
      sequence: r.u32(`tx.vin[${i}].sequence`),
      witness: [],
    });
  const nOut = r.varint('tx.vout count');
  const outputs: TxOut[] = [];
  for (let i = 0; i < nOut; i++)
    outputs.push({
      value: r.i64(`tx.vout[${i}].value`),
      scriptPubKey: Uint8Array.from(r.varBytes(`tx.vout[${i}].script`)),
    });
  if (segwit) {
    for (let i = 0; i < nIn; i++) {
      const n = r.varint(`tx.vin[${i}].witness count`);
      for (let k = 0; k < n; k++)
        inputs[i]!.witness.push(Uint8Array.from(r.varBytes(`tx.vin[${i}].witness[${k}]`)));
    }
    if (!inputs.some((i) => i.witness.length > 0))
      throw new BitcoinCodecError('tx.witness', 'superfluous witness flag');
  }
  return { version, inputs, outputs, locktime: r.u32('tx.locktime') };
}
export function parseTx(b: Uint8Array): Tx {
  const r = new Reader(b);
  const tx = readTx(r);
  r.end('tx');
  return tx;
}

export interface Block {
  header: BlockHeader;
  txs: Tx[];
}
export function parseBlock(b: Uint8Array): Block {
  const r = new Reader(b);
  const header = parseHeader(r);
  const n = r.varint('block.tx count');
  const txs: Tx[] = [];
  for (let i = 0; i < n; i++) txs.push(readTx(r));
  r.end('block');
  return { header, txs };
}

// ------------------------------------------------------------------------------------------------
// Merkle

/** Core's ComputeMerkleRoot (last hash duplicated on odd levels); internal byte order. */
export function merkleRootOf(leaves: readonly Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return new Uint8Array(32);
  let level: Uint8Array[] = leaves.map((l) => Uint8Array.from(l));
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2)
      next.push(sha256d(concat(level[i]!, level[i + 1] ?? level[i]!)));
    level = next;
  }
  return level[0]!;
}

/**
 * Stratum branches for leaf 0: given the hashes of every transaction after the coinbase (internal
 * order), the sibling at each level on the coinbase's path.
 */
export function merkleBranches(others: readonly Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let level: (Uint8Array | null)[] = [null, ...others];
  while (level.length > 1) {
    out.push(level[1] ?? (level[0] as Uint8Array));
    const next: (Uint8Array | null)[] = [null];
    for (let i = 2; i < level.length; i += 2) {
      const a = level[i]!;
      const b = level[i + 1] ?? a;
      next.push(sha256d(concat(a, b)));
    }
    level = next;
  }
  return out;
}

// ------------------------------------------------------------------------------------------------
// BIP 34 and BIP 141

/** Minimal CScriptNum encoding of a non-negative integer. */
export function scriptNum(n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0)
    throw new BitcoinCodecError('height', `${n} is not a non-negative integer`);
  const out: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) out.push(v % 256);
  if (out.length > 0 && (out[out.length - 1]! & 0x80) !== 0) out.push(0);
  return Uint8Array.from(out);
}

/**
 * The BIP 34 height push (CScript() << height): OP_0 for 0, OP_1..OP_16 for 1..16, else a direct push
 * of the CScriptNum bytes.
 */
export function bip34Height(height: number): Uint8Array {
  if (height === 0) return Uint8Array.of(0x00);
  if (height >= 1 && height <= 16) return Uint8Array.of(0x50 + height);
  const n = scriptNum(height);
  return concat(Uint8Array.of(n.length), n);
}

/** Reads the BIP 34 height back from a coinbase scriptSig (for checks and for the stand-in node). */
export function readBip34Height(scriptSig: Uint8Array): number {
  const op = scriptSig[0];
  if (op === undefined) throw new BitcoinCodecError('coinbase.scriptSig', 'empty');
  if (op === 0) return 0;
  if (op >= 0x51 && op <= 0x60) return op - 0x50;
  if (op < 1 || op > 8 || scriptSig.length < 1 + op)
    throw new BitcoinCodecError('coinbase.scriptSig', 'no BIP 34 height push');
  let v = 0;
  for (let i = op; i >= 1; i--) v = v * 256 + scriptSig[i]!;
  return v;
}

export const WITNESS_COMMITMENT_HEADER = Uint8Array.of(0xaa, 0x21, 0xa9, 0xed);

/** dSHA256(witness root ‖ reserved); the witness root puts 32 zero bytes for the coinbase's wtxid. */
export function witnessCommitment(
  otherWtxids: readonly Uint8Array[],
  reserved: Uint8Array = new Uint8Array(32),
): Uint8Array {
  const root = merkleRootOf([new Uint8Array(32), ...otherWtxids]);
  return sha256d(concat(root, reserved));
}
/** The commitment output script: OP_RETURN PUSH36 aa21a9ed ‖ commitment. */
export function witnessCommitmentScript(commitment: Uint8Array): Uint8Array {
  if (commitment.length !== 32) throw new BitcoinCodecError('witness commitment', 'must be 32 bytes');
  return concat(Uint8Array.of(0x6a, 0x24), WITNESS_COMMITMENT_HEADER, commitment);
}
/** Index of the BIP 141 commitment output (the last one matching, as Core's GetWitnessCommitmentIndex), or -1. */
export function findWitnessCommitment(tx: Tx): number {
  let found = -1;
  tx.outputs.forEach((o, i) => {
    const s = o.scriptPubKey;
    if (
      s.length >= 38 &&
      s[0] === 0x6a &&
      s[1] === 0x24 &&
      WITNESS_COMMITMENT_HEADER.every((x, k) => s[2 + k] === x)
    )
      found = i;
  });
  return found;
}
