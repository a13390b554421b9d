/** Strict hex helpers: every failure is a WorkError naming the field. */
import { WorkError } from './errors.ts';

const HEX = /^[0-9a-fA-F]*$/;

/** Decodes hex text; `bytes` (if given) is the exact length the field must have. */
export function hexToBytes(field: string, hex: unknown, bytes?: number): Uint8Array {
  if (typeof hex !== 'string') throw new WorkError(field, `expected a hex string, got ${typeof hex}`);
  if (hex.length % 2 !== 0) throw new WorkError(field, `odd number of hex digits (${hex.length})`);
  if (bytes !== undefined && hex.length !== bytes * 2) {
    if (!HEX.test(hex)) throw new WorkError(field, 'not hex');
    throw new WorkError(field, `expected ${bytes} bytes (${bytes * 2} hex digits), got ${hex.length / 2}`);
  }
  const out = new Uint8Array(hex.length >>> 1);
  if (!decodeInto(hex, out, 0)) throw new WorkError(field, 'not hex');
  return out;
}

/** Hex digit values by character code (0xff: not a hex digit). */
const DIGIT = new Uint8Array(128).fill(0xff);
for (let i = 0; i < 16; i++) {
  DIGIT['0123456789abcdef'.charCodeAt(i)] = i;
  DIGIT['0123456789ABCDEF'.charCodeAt(i)] = i;
}

/**
 * Decodes hex digits into `out` at `offset`, validating as it goes (one pass, no regex): no intermediate
 * Buffer, no copy, no allocation. Returns false at the first character that is not a hex digit (what was
 * written before it is then meaningless).
 */
function decodeInto(hex: string, out: Uint8Array, offset: number): boolean {
  for (let i = 0, j = offset; i < hex.length; i += 2, j++) {
    const c1 = hex.charCodeAt(i);
    const c2 = hex.charCodeAt(i + 1);
    if ((c1 | c2) > 127) return false;
    const hi = DIGIT[c1]!;
    const lo = DIGIT[c2]!;
    if ((hi | lo) > 15) return false;
    out[j] = (hi << 4) | lo;
  }
  return true;
}

/**
 * The hot path of hexInto: decodes `hex` into `out` at `offset` when it is exactly `bytes` bytes of hex
 * and returns true; false otherwise (then call hexInto for the error naming the field — no field name is
 * built for valid input).
 */
export function tryHexInto(hex: unknown, bytes: number, out: Uint8Array, offset: number): boolean {
  return typeof hex === 'string' && hex.length === bytes * 2 && decodeInto(hex, out, offset);
}

/** hexToBytes for a field of exactly `bytes` bytes, decoded into `out` at `offset`. */
export function hexInto(field: string, hex: unknown, bytes: number, out: Uint8Array, offset: number): void {
  if (typeof hex !== 'string') throw new WorkError(field, `expected a hex string, got ${typeof hex}`);
  if (hex.length % 2 !== 0) throw new WorkError(field, `odd number of hex digits (${hex.length})`);
  if (hex.length !== bytes * 2) {
    if (!HEX.test(hex)) throw new WorkError(field, 'not hex');
    throw new WorkError(field, `expected ${bytes} bytes (${bytes * 2} hex digits), got ${hex.length / 2}`);
  }
  if (!decodeInto(hex, out, offset)) throw new WorkError(field, 'not hex');
}

export function bytesToHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/** Parses an 8-digit big-endian hex text (version, nbits, ntime, nonce) into a uint32. */
export function hexToU32(field: string, hex: unknown): number {
  if (typeof hex !== 'string' || hex.length !== 8 || !HEX.test(hex)) {
    throw new WorkError(field, `expected 8 hex digits, got ${JSON.stringify(hex)}`);
  }
  return Number.parseInt(hex, 16) >>> 0;
}

/** A uint32 as 8 lower-case big-endian hex digits (how Stratum writes version, ntime, nonce). */
export function u32ToHex(v: number): string {
  return (v >>> 0).toString(16).padStart(8, '0');
}

export function bswap32(v: number): number {
  return (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;
}

/** Reverses the byte order inside each 4-byte word (the Stratum prevhash swap). */
export function swapWords(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(b.length);
  for (let i = 0; i < b.length; i += 4) {
    out[i] = b[i + 3]!;
    out[i + 1] = b[i + 2]!;
    out[i + 2] = b[i + 1]!;
    out[i + 3] = b[i]!;
  }
  return out;
}
