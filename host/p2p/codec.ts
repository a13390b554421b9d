/**
 * Bitcoin P2P wire codec — pure, no I/O.
 *
 * Frame: magic (4) ‖ command (12, NUL-padded ASCII) ‖ payload length (u32 LE) ‖ checksum (first 4 bytes
 * of dSHA256(payload)) ‖ payload. `FrameDecoder` cuts a byte stream into frames and refuses a wrong
 * magic, an over-long payload or a bad checksum with a P2PError (the peer is then disconnected).
 *
 * Messages: version, verack, sendheaders, sendcmpct (BIP 152), ping/pong (BIP 31), inv/getdata,
 * headers/getheaders, cmpctblock (BIP 152 header-and-short-ids), block, wtxidrelay, sendaddrv2,
 * feefilter. Anything else is kept as raw bytes for the caller to ignore.
 * Sources: developer.bitcoin.org "P2P network" reference, Core src/protocol.h, src/net_processing.cpp,
 * src/blockencodings.h, BIP 31, BIP 130, BIP 152, BIP 339, BIP 155. REFERENCE.md beside this file.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import type { Network } from '../bitcoin/address.ts';
import {
  type Block,
  type BlockHeader,
  parseBlock,
  parseHeader,
  readTx,
  serializeTx,
  type Tx,
  writeBlockHeader,
  writeTx,
} from '../bitcoin/block.ts';
import { BitcoinCodecError, concat, Reader, Writer } from '../bitcoin/bytes.ts';
import { sha256d } from '../work/sha256.ts';

export class P2PError extends Error {
  override readonly name = 'P2PError';
}

export const MAGIC: Readonly<Record<Network | 'testnet4', number>> = {
  mainnet: 0xf9beb4d9,
  testnet: 0x0b110907,
  testnet4: 0x1c163f28,
  signet: 0x0a03cf40,
  regtest: 0xfabfb5da,
};
export const DEFAULT_PORT: Readonly<Record<Network | 'testnet4', number>> = {
  mainnet: 8333,
  testnet: 18333,
  testnet4: 48333,
  signet: 38333,
  regtest: 18444,
};

export const PROTOCOL_VERSION = 70016;
/** Core's MAX_PROTOCOL_MESSAGE_LENGTH is 4 MB; a block may be up to 4 MB of weight (≤ 4 MB serialized). */
export const MAX_PAYLOAD = 4_000_000 + 1000;
export const HEADER_SIZE = 24;
export const NODE_NETWORK = 1n;
export const NODE_WITNESS = 1n << 3n;

export interface Frame {
  magic: number;
  command: string;
  payload: Uint8Array;
}

export const checksum = (payload: Uint8Array): Uint8Array => sha256d(payload).subarray(0, 4);

export function encodeFrame(
  magic: number,
  command: string,
  payload: Uint8Array = new Uint8Array(0),
): Uint8Array {
  if (command.length > 12 || !/^[\x21-\x7e]*$/.test(command))
    throw new P2PError(`bad command name "${command}"`);
  const out = new Uint8Array(HEADER_SIZE + payload.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, magic >>> 0, false);
  for (let i = 0; i < command.length; i++) out[4 + i] = command.charCodeAt(i);
  v.setUint32(16, payload.length, true);
  out.set(checksum(payload), 20);
  out.set(payload, HEADER_SIZE);
  return out;
}

/** Parses the 24-byte header; throws P2PError on a bad magic, command or length. */
export function decodeFrameHeader(
  h: Uint8Array,
  magic: number,
  maxPayload = MAX_PAYLOAD,
): { command: string; length: number; sum: Uint8Array } {
  const v = new DataView(h.buffer, h.byteOffset, HEADER_SIZE);
  const m = v.getUint32(0, false);
  if (m !== magic >>> 0)
    throw new P2PError(
      `wrong network magic ${m.toString(16).padStart(8, '0')} (expected ${(magic >>> 0).toString(16).padStart(8, '0')})`,
    );
  let command = '';
  let ended = false;
  for (let i = 0; i < 12; i++) {
    const c = h[4 + i]!;
    if (c === 0) ended = true;
    else if (ended) throw new P2PError('command has bytes after its NUL padding');
    else if (c < 0x20 || c > 0x7e) throw new P2PError('command is not printable ASCII');
    else command += String.fromCharCode(c);
  }
  const length = v.getUint32(16, true);
  if (length > maxPayload) throw new P2PError(`${command}: payload of ${length} bytes exceeds ${maxPayload}`);
  return { command, length, sum: h.subarray(20, 24) };
}

/** Byte stream → frames. After a throw, the decoder (and the connection) must be discarded. */
export class FrameDecoder {
  private buf: Uint8Array = new Uint8Array(0);
  readonly magic: number;
  readonly maxPayload: number;
  constructor(magic: number, maxPayload = MAX_PAYLOAD) {
    this.magic = magic;
    this.maxPayload = maxPayload;
  }
  get buffered(): number {
    return this.buf.length;
  }
  push(chunk: Uint8Array): Frame[] {
    this.buf = this.buf.length === 0 ? Uint8Array.from(chunk) : concat(this.buf, chunk);
    const out: Frame[] = [];
    let o = 0;
    while (this.buf.length - o >= HEADER_SIZE) {
      const h = decodeFrameHeader(this.buf.subarray(o, o + HEADER_SIZE), this.magic, this.maxPayload);
      if (this.buf.length - o < HEADER_SIZE + h.length) break;
      const payload = this.buf.slice(o + HEADER_SIZE, o + HEADER_SIZE + h.length);
      const want = checksum(payload);
      if (!want.every((x, i) => x === h.sum[i])) throw new P2PError(`${h.command}: checksum mismatch`);
      out.push({ magic: this.magic, command: h.command, payload });
      o += HEADER_SIZE + h.length;
    }
    this.buf = this.buf.slice(o);
    return out;
  }
}

// ------------------------------------------------------------------------------------------------
// Messages

export interface NetAddr {
  services: bigint;
  /** 16 bytes (IPv4 as ::ffff:a.b.c.d). */
  ip: Uint8Array;
  port: number;
}
export const ipv4Addr = (a: string, port: number, services = 0n): NetAddr => {
  const ip = new Uint8Array(16);
  ip[10] = 0xff;
  ip[11] = 0xff;
  a.split('.').forEach((x, i) => {
    ip[12 + i] = Number(x) & 0xff;
  });
  return { services, ip, port };
};

export interface VersionMsg {
  version: number;
  services: bigint;
  timestamp: bigint;
  recv: NetAddr;
  from: NetAddr;
  nonce: bigint;
  userAgent: string;
  startHeight: number;
  relay: boolean;
}

const writeAddr = (w: Writer, a: NetAddr) => w.u64(a.services).bytes(a.ip).u16be(a.port);
const readAddr = (r: Reader, f: string): NetAddr => ({
  services: r.u64(`${f}.services`),
  ip: Uint8Array.from(r.bytes(16, `${f}.ip`)),
  port: r.u16be(`${f}.port`),
});

export function encodeVersion(m: VersionMsg): Uint8Array {
  const w = new Writer(128).i32(m.version).u64(m.services).i64(m.timestamp);
  writeAddr(w, m.recv);
  writeAddr(w, m.from);
  return w
    .u64(m.nonce)
    .varString(m.userAgent)
    .i32(m.startHeight)
    .u8(m.relay ? 1 : 0)
    .finish();
}
export function decodeVersion(p: Uint8Array): VersionMsg {
  const r = new Reader(p);
  const version = r.i32('version.version');
  if (version < 31800) throw new BitcoinCodecError('version.version', `peer protocol ${version} is too old`);
  const m: VersionMsg = {
    version,
    services: r.u64('version.services'),
    timestamp: r.i64('version.timestamp'),
    recv: readAddr(r, 'version.addr_recv'),
    from: readAddr(r, 'version.addr_from'),
    nonce: r.u64('version.nonce'),
    userAgent: r.varString('version.user_agent', 256),
    startHeight: r.i32('version.start_height'),
    relay: true,
  };
  // relay is optional (BIP 37) and absent from some old peers.
  if (r.remaining > 0) m.relay = r.u8('version.relay') !== 0;
  return m;
}

export const encodePing = (nonce: bigint): Uint8Array => new Writer(8).u64(nonce).finish();
export function decodePing(p: Uint8Array): bigint {
  const r = new Reader(p);
  const n = r.u64('ping.nonce');
  r.end('ping');
  return n;
}

export interface SendCmpct {
  /** true: high-bandwidth mode (peer sends cmpctblock unasked). */
  announce: boolean;
  version: bigint;
}
export const encodeSendCmpct = (m: SendCmpct): Uint8Array =>
  new Writer(9)
    .u8(m.announce ? 1 : 0)
    .u64(m.version)
    .finish();
export function decodeSendCmpct(p: Uint8Array): SendCmpct {
  const r = new Reader(p);
  const a = r.u8('sendcmpct.announce');
  if (a > 1) throw new BitcoinCodecError('sendcmpct.announce', `must be 0 or 1, got ${a}`);
  const m = { announce: a === 1, version: r.u64('sendcmpct.version') };
  r.end('sendcmpct');
  return m;
}

export const INV = {
  ERROR: 0,
  TX: 1,
  BLOCK: 2,
  FILTERED_BLOCK: 3,
  CMPCT_BLOCK: 4,
  WTX: 5,
  WITNESS_TX: 0x40000001,
  WITNESS_BLOCK: 0x40000002,
} as const;
export interface InvItem {
  type: number;
  /** Internal byte order. */
  hash: Uint8Array;
}
export const MAX_INV = 50_000;
export function encodeInv(items: readonly InvItem[]): Uint8Array {
  const w = new Writer(1 + items.length * 36).varint(items.length);
  for (const i of items) w.u32(i.type).bytes(i.hash);
  return w.finish();
}
export function decodeInv(p: Uint8Array, what = 'inv'): InvItem[] {
  const r = new Reader(p);
  const n = r.varint(`${what}.count`, MAX_INV);
  const out: InvItem[] = [];
  for (let i = 0; i < n; i++)
    out.push({ type: r.u32(`${what}[${i}].type`), hash: Uint8Array.from(r.bytes(32, `${what}[${i}].hash`)) });
  r.end(what);
  return out;
}

export const MAX_HEADERS = 2000;
export function encodeHeaders(hs: readonly BlockHeader[]): Uint8Array {
  const w = new Writer(1 + hs.length * 81).varint(hs.length);
  for (const h of hs) writeBlockHeader(h, w).u8(0);
  return w.finish();
}
export function decodeHeaders(p: Uint8Array): BlockHeader[] {
  const r = new Reader(p);
  const n = r.varint('headers.count', MAX_HEADERS);
  const out: BlockHeader[] = [];
  for (let i = 0; i < n; i++) {
    out.push(parseHeader(r));
    const txn = r.varint(`headers[${i}].txn_count`);
    if (txn !== 0) throw new BitcoinCodecError(`headers[${i}].txn_count`, `must be 0, got ${txn}`);
  }
  r.end('headers');
  return out;
}

export interface GetHeaders {
  version: number;
  locator: Uint8Array[];
  stop: Uint8Array;
}
export function encodeGetHeaders(m: GetHeaders): Uint8Array {
  const w = new Writer(37 + m.locator.length * 32).u32(m.version).varint(m.locator.length);
  for (const h of m.locator) w.bytes(h);
  return w.bytes(m.stop).finish();
}
export function decodeGetHeaders(p: Uint8Array): GetHeaders {
  const r = new Reader(p);
  const version = r.u32('getheaders.version');
  const n = r.varint('getheaders.count', 101);
  const locator: Uint8Array[] = [];
  for (let i = 0; i < n; i++) locator.push(Uint8Array.from(r.bytes(32, `getheaders.locator[${i}]`)));
  const stop = Uint8Array.from(r.bytes(32, 'getheaders.stop'));
  r.end('getheaders');
  return { version, locator, stop };
}

// --- BIP 152 ---------------------------------------------------------------------------------------

export interface PrefilledTx {
  index: number;
  tx: Tx;
}
export interface CmpctBlock {
  header: BlockHeader;
  nonce: bigint;
  /** 6-byte short ids as numbers (< 2^48). */
  shortIds: number[];
  prefilled: PrefilledTx[];
}

export function encodeCmpctBlock(m: CmpctBlock): Uint8Array {
  const w = new Writer(128 + m.shortIds.length * 6);
  writeBlockHeader(m.header, w).u64(m.nonce).varint(m.shortIds.length);
  for (const s of m.shortIds) {
    w.u32(s % 2 ** 32).u16le(Math.floor(s / 2 ** 32));
  }
  w.varint(m.prefilled.length);
  let last = -1;
  for (const p of m.prefilled) {
    w.varint(p.index - last - 1);
    last = p.index;
    writeTx(p.tx, true, w);
  }
  return w.finish();
}
export function decodeCmpctBlock(p: Uint8Array): CmpctBlock {
  const r = new Reader(p);
  const header = parseHeader(r);
  const nonce = r.u64('cmpctblock.nonce');
  const n = r.varint('cmpctblock.shortids_length', 1_000_000);
  const shortIds: number[] = [];
  for (let i = 0; i < n; i++) {
    const lo = r.u32(`cmpctblock.shortids[${i}]`);
    shortIds.push(lo + r.u16le(`cmpctblock.shortids[${i}]`) * 2 ** 32);
  }
  const k = r.varint('cmpctblock.prefilledtxn_length', 1_000_000);
  const prefilled: PrefilledTx[] = [];
  let last = -1;
  for (let i = 0; i < k; i++) {
    const index = last + 1 + r.varint(`cmpctblock.prefilledtxn[${i}].index`, 0xffff);
    if (index > 0xffff) throw new BitcoinCodecError(`cmpctblock.prefilledtxn[${i}].index`, 'above 65535');
    prefilled.push({ index, tx: readTx(r) });
    last = index;
  }
  r.end('cmpctblock');
  if (shortIds.length + prefilled.length === 0)
    throw new BitcoinCodecError('cmpctblock', 'no transactions (a block has at least its coinbase)');
  return { header, nonce, shortIds, prefilled };
}

const M64 = (1n << 64n) - 1n;
const rotl = (x: bigint, b: bigint) => ((x << b) | (x >> (64n - b))) & M64;

/** SipHash-2-4 (Aumasson & Bernstein) of `data` under the 128-bit key (k0, k1). */
export function siphash24(k0: bigint, k1: bigint, data: Uint8Array): bigint {
  let v0 = 0x736f6d6570736575n ^ k0;
  let v1 = 0x646f72616e646f6dn ^ k1;
  let v2 = 0x6c7967656e657261n ^ k0;
  let v3 = 0x7465646279746573n ^ k1;
  const round = () => {
    v0 = (v0 + v1) & M64;
    v1 = rotl(v1, 13n) ^ v0;
    v0 = rotl(v0, 32n);
    v2 = (v2 + v3) & M64;
    v3 = rotl(v3, 16n) ^ v2;
    v0 = (v0 + v3) & M64;
    v3 = rotl(v3, 21n) ^ v0;
    v2 = (v2 + v1) & M64;
    v1 = rotl(v1, 17n) ^ v2;
    v2 = rotl(v2, 32n);
  };
  const full = data.length - (data.length % 8);
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (let i = 0; i < full; i += 8) {
    const m = dv.getBigUint64(i, true);
    v3 ^= m;
    round();
    round();
    v0 ^= m;
  }
  let last = BigInt(data.length & 0xff) << 56n;
  for (let i = full; i < data.length; i++) last |= BigInt(data[i]!) << BigInt(8 * (i - full));
  v3 ^= last;
  round();
  round();
  v0 ^= last;
  v2 ^= 0xffn;
  round();
  round();
  round();
  round();
  return (v0 ^ v1 ^ v2 ^ v3) & M64;
}

/** BIP 152 short-id keys: the first two LE u64 of SHA256(header ‖ nonce LE). */
export function shortIdKeys(header: BlockHeader, nonce: bigint): [bigint, bigint] {
  const h = sha256(concat(writeBlockHeader(header).finish(), new Writer(8).u64(nonce).finish()));
  const v = new DataView(h.buffer, h.byteOffset, 32);
  return [v.getBigUint64(0, true), v.getBigUint64(8, true)];
}
/** Short id of a (w)txid, internal order: SipHash-2-4 truncated to its low 6 bytes. */
export function shortId(keys: [bigint, bigint], hash: Uint8Array): number {
  return Number(siphash24(keys[0], keys[1], hash) & 0xffffffffffffn);
}

/**
 * The compact form of a block (BIP 152 version 2: short ids of wtxids), the coinbase prefilled — what
 * a node sends peers in high-bandwidth mode, and what the stand-in node of the tests announces.
 */
export function compactBlockOf(b: Block, nonce: bigint, wtxidOf: (tx: Tx) => Uint8Array): CmpctBlock {
  const keys = shortIdKeys(b.header, nonce);
  return {
    header: b.header,
    nonce,
    shortIds: b.txs.slice(1).map((t) => shortId(keys, wtxidOf(t))),
    prefilled: [{ index: 0, tx: b.txs[0]! }],
  };
}

export function encodeBlock(b: Block): Uint8Array {
  const w = new Writer(1024);
  writeBlockHeader(b.header, w).varint(b.txs.length);
  for (const t of b.txs) writeTx(t, true, w);
  return w.finish();
}
export const decodeBlock = parseBlock;
export { serializeTx };

// ------------------------------------------------------------------------------------------------
// Typed dispatch

export type P2PMessage =
  | { command: 'version'; msg: VersionMsg }
  | { command: 'verack' | 'sendheaders' | 'wtxidrelay' | 'sendaddrv2' | 'getaddr' | 'mempool' }
  | { command: 'sendcmpct'; msg: SendCmpct }
  | { command: 'ping' | 'pong'; nonce: bigint }
  | { command: 'inv' | 'getdata' | 'notfound'; items: InvItem[] }
  | { command: 'headers'; headers: BlockHeader[] }
  | { command: 'getheaders'; msg: GetHeaders }
  | { command: 'cmpctblock'; msg: CmpctBlock }
  | { command: 'block'; block: Block }
  | { command: 'feefilter'; feeRate: bigint }
  | { command: 'other'; name: string; payload: Uint8Array };

const EMPTY = new Set(['verack', 'sendheaders', 'wtxidrelay', 'sendaddrv2', 'getaddr', 'mempool']);

/** A frame's payload → a typed message; throws BitcoinCodecError (naming the field) when malformed. */
export function decodeMessage(f: Frame): P2PMessage {
  const c = f.command;
  const p = f.payload;
  if (EMPTY.has(c)) {
    if (p.length !== 0) throw new BitcoinCodecError(c, `expected an empty payload, got ${p.length} bytes`);
    return { command: c as 'verack' };
  }
  switch (c) {
    case 'version':
      return { command: c, msg: decodeVersion(p) };
    case 'sendcmpct':
      return { command: c, msg: decodeSendCmpct(p) };
    case 'ping':
    case 'pong':
      return { command: c, nonce: decodePing(p) };
    case 'inv':
    case 'getdata':
    case 'notfound':
      return { command: c, items: decodeInv(p, c) };
    case 'headers':
      return { command: c, headers: decodeHeaders(p) };
    case 'getheaders':
      return { command: c, msg: decodeGetHeaders(p) };
    case 'cmpctblock':
      return { command: c, msg: decodeCmpctBlock(p) };
    case 'block':
      return { command: c, block: parseBlock(p) };
    case 'feefilter': {
      const r = new Reader(p);
      const feeRate = r.i64('feefilter.feerate');
      r.end('feefilter');
      return { command: c, feeRate };
    }
    default:
      return { command: 'other', name: c, payload: p };
  }
}
