/**
 * Test utilities for the BM13xx emulator tests, written independently of firmware/ and drivers/:
 * host→chip frame builders with their own CRCs, a chip→host reply decoder, header/job builders from
 * the public vectors, and node:crypto / @noble/hashes references for hashes and midstates.
 */
import { createHash } from 'node:crypto';
import { _SHA256 } from '@noble/hashes/sha2.js';

export const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
export const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex').toUpperCase();

/** CRC5 (x^5+x^2+1, init 0x1F, MSB first) over a bit string. */
function crc5bits(bits: number[]): number {
  let reg = [1, 1, 1, 1, 1];
  for (const bit of bits) {
    const fb = reg[0]! ^ bit;
    // shift left; taps at x^2 and x^0
    reg = [reg[1]!, reg[2]!, reg[3]! ^ fb, reg[4]!, fb];
  }
  return reg.reduce((a, b) => (a << 1) | b, 0);
}
const bitsOf = (bytes: ArrayLike<number>): number[] =>
  Array.from(bytes).flatMap((b) => [7, 6, 5, 4, 3, 2, 1, 0].map((i) => (b >> i) & 1));

export function crc5(bytes: ArrayLike<number>): number {
  return crc5bits(bitsOf(bytes));
}

export function crc16(bytes: ArrayLike<number>): number {
  let crc = 0xffff;
  for (const b of Array.from(bytes)) {
    crc ^= b << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** 55 AA | header | LEN | data | CRC5. */
export function cmd(header: number, data: number[]): Uint8Array {
  const body = [header, data.length + 3, ...data];
  return Uint8Array.from([0x55, 0xaa, ...body, crc5(body)]);
}
export const readAll = (reg: number) => cmd(0x52, [0x00, reg]);
export const readOne = (addr: number, reg: number) => cmd(0x42, [addr, reg]);
export const writeAll = (reg: number, v: number) =>
  cmd(0x51, [0x00, reg, v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255]);
export const writeOne = (addr: number, reg: number, v: number) =>
  cmd(0x41, [addr, reg, v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255]);
export const chainInactive = () => cmd(0x53, [0x00, 0x00]);
export const setAddress = (addr: number) => cmd(0x40, [addr, 0x00]);

/** 55 AA 21 LEN data CRC16(BE). */
export function job(data: Uint8Array, lenByte = data.length + 4): Uint8Array {
  const body = [0x21, lenByte, ...data];
  const c = crc16(body);
  return Uint8Array.from([0x55, 0xaa, ...body, c >> 8, c & 0xff]);
}

export interface Reply {
  length: number;
  crcOk: boolean;
  isNonce: boolean;
  /** Bytes 2..5 big-endian (register value, or nonce word = header bytes 76..79 read BE). */
  word: number;
  /** Pool form of a nonce (bytes 2..5 little-endian). */
  nonce: number;
  b6: number;
  b7: number;
  /** BE16 of bytes 8..9 (11-byte replies). */
  versionBits: number;
}

/** Decodes one reply; the CRC check runs CRC5 over bytes 2..n-1 bit by bit and expects 0. */
export function decodeReply(f: Uint8Array): Reply {
  const n = f.length;
  if (f[0] !== 0xaa || f[1] !== 0x55) throw new Error(`reply: bad preamble ${toHex(f)}`);
  const crcOk = crc5bits(bitsOf(f.subarray(2, n))) === 0;
  return {
    length: n,
    crcOk,
    isNonce: (f[n - 1]! & 0x80) !== 0,
    word: ((f[2]! << 24) | (f[3]! << 16) | (f[4]! << 8) | f[5]!) >>> 0,
    nonce: ((f[5]! << 24) | (f[4]! << 16) | (f[3]! << 8) | f[2]!) >>> 0,
    b6: f[6]!,
    b7: f[7]!,
    versionBits: n === 11 ? (f[8]! << 8) | f[9]! : 0,
  };
}

/** Splits a reply byte stream into frames of `len` bytes (asserting preambles). */
export function splitReplies(bytes: Uint8Array, len: number): Uint8Array[] {
  if (bytes.length % len !== 0) throw new Error(`replies: ${bytes.length} bytes is not a multiple of ${len}`);
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += len) out.push(bytes.slice(i, i + len));
  return out;
}

export function dsha(b: Uint8Array): Buffer {
  return createHash('sha256').update(createHash('sha256').update(b).digest()).digest();
}

/** Leading zero bits of a hash read as a number (displayed order = raw digest reversed). */
export function leadingZeroBits(digest: Uint8Array): number {
  let n = 0;
  for (let i = digest.length - 1; i >= 0; i--) {
    const b = digest[i]!;
    if (b === 0) {
      n += 8;
      continue;
    }
    return n + Math.clz32(b) - 24;
  }
  return n;
}

const wordSwap = (b: Uint8Array): Uint8Array => {
  const o = new Uint8Array(b.length);
  for (let i = 0; i < b.length; i += 4) o.set(b.slice(i, i + 4).reverse(), i);
  return o;
};
const wordOrderReverse = (b: Uint8Array): Uint8Array => {
  const o = new Uint8Array(b.length);
  const n = b.length / 4;
  for (let j = 0; j < n; j++) o.set(b.slice(j * 4, j * 4 + 4), (n - 1 - j) * 4);
  return o;
};
const le32 = (v: number) => Uint8Array.from([v & 255, (v >>> 8) & 255, (v >>> 16) & 255, v >>> 24]);

export interface HeaderFields {
  /** Stratum prevhash string form (each 4-byte word byte-swapped relative to the header). */
  prev: string;
  /** Merkle root, raw (internal) byte order. */
  merkle: string;
  version: number;
  nbits: number;
  ntime: number;
}

/** The 80-byte header for the given nonce (pool form). */
export function header(f: HeaderFields, nonce = 0): Uint8Array {
  const h = new Uint8Array(80);
  h.set(le32(f.version), 0);
  h.set(wordSwap(hex(f.prev)), 4);
  h.set(hex(f.merkle), 36);
  h.set(le32(f.ntime), 68);
  h.set(le32(f.nbits), 72);
  h.set(le32(nonce), 76);
  return h;
}

/** BM1366+ job DATA (82 bytes), ESP layout. */
export function headerJobData(f: HeaderFields, jobId: number, startNonce = 0): Uint8Array {
  const d = new Uint8Array(82);
  d[0] = jobId;
  d[1] = 0x01;
  d.set(le32(startNonce), 2);
  d.set(le32(f.nbits), 6);
  d.set(le32(f.ntime), 10);
  d.set(wordOrderReverse(hex(f.merkle)), 14);
  d.set(wordOrderReverse(wordSwap(hex(f.prev))), 46);
  d.set(le32(f.version), 78);
  return d;
}

/** Midstate (8 state words) of the first 64 header bytes, via @noble/hashes' SHA-256 state. */
export function nobleMidstate(first64: Uint8Array): number[] {
  const h = new _SHA256();
  h.update(first64.slice(0, 64));
  return (h as unknown as { get(): number[] }).get().map((x) => x >>> 0);
}

/** BM1397 wire midstate field: state words big-endian in reverse word order. */
export function midstateField(state: number[]): Uint8Array {
  const o = new Uint8Array(32);
  state.forEach((w, i) => {
    const off = (7 - i) * 4;
    o[off] = w >>> 24;
    o[off + 1] = (w >>> 16) & 255;
    o[off + 2] = (w >>> 8) & 255;
    o[off + 3] = w & 255;
  });
  return o;
}

/** BM1397 job DATA with k midstates (one per version given). */
export function midstateJobData(
  f: HeaderFields,
  jobId: number,
  versions: number[],
  startNonce = 0,
): Uint8Array {
  const d = new Uint8Array(18 + 32 * versions.length);
  d[0] = jobId;
  d[1] = versions.length;
  d.set(le32(startNonce), 2);
  d.set(le32(f.nbits), 6);
  d.set(le32(f.ntime), 10);
  d.set(hex(f.merkle).slice(28, 32), 14);
  versions.forEach((v, k) => {
    d.set(midstateField(nobleMidstate(header({ ...f, version: v }))), 18 + 32 * k);
  });
  return d;
}

/** Collects everything a link emits. */
export function collect(link: { onData(l: (c: Uint8Array) => void): () => void }): {
  bytes(): Uint8Array;
  clear(): void;
  stop(): void;
} {
  let parts: Uint8Array[] = [];
  const stop = link.onData((c) => parts.push(Uint8Array.from(c)));
  return {
    bytes: () => Uint8Array.from(Buffer.concat(parts)),
    clear: () => {
      parts = [];
    },
    stop,
  };
}

/** Lets setImmediate-scheduled deliveries run. */
export async function ticks(n = 3): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((r) => setImmediate(r));
}
