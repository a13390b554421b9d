/**
 * The BM13xx register map as the host uses it, and the value encodings that need a rule: ticket mask
 * (bit-reversed bytes), version-rolling register (0x9000_0000 | mask >> 13), hash counting number,
 * baud registers and hashrate from the counters. Sources: REFERENCE.md.
 */
import { type ModelInfo, np2 } from './models.ts';

export const REG = Object.freeze({
  CHIP_ID: 0x00,
  HASHRATE: 0x04, // BM1397
  PLL0: 0x08,
  HASH_COUNTING_NUMBER: 0x10,
  TICKET_MASK: 0x14,
  MISC_CONTROL: 0x18,
  ORDERED_CLOCK_ENABLE: 0x20,
  FAST_UART: 0x28,
  UART_RELAY: 0x2c,
  CORE_REGISTER_CONTROL: 0x3c,
  CORE_REGISTER_VALUE: 0x40,
  NONCE_ERROR_COUNTER: 0x4c,
  ANALOG_MUX: 0x54,
  IO_DRIVER_STRENGTH: 0x58,
  PLL3: 0x68,
  PLL0_DIVIDER: 0x70,
  CLOCK_ORDER_0: 0x80,
  CLOCK_ORDER_1: 0x84,
  DOMAIN_COUNTER_0: 0x88,
  DOMAIN_COUNTER_1: 0x89,
  DOMAIN_COUNTER_2: 0x8a,
  DOMAIN_COUNTER_3: 0x8b,
  TOTAL_COUNTER: 0x8c,
  VERSION_ROLLING: 0xa4,
  REG_A8: 0xa8,
  REG_B9: 0xb9,
});

/** Register names for logs. */
export const REG_NAMES: Readonly<Record<number, string>> = Object.freeze(
  Object.fromEntries(Object.entries(REG).map(([k, v]) => [v, k.toLowerCase()])),
);

function reverseBits8(b: number): number {
  let r = 0;
  for (let i = 0; i < 8; i++) r |= ((b >>> i) & 1) << (7 - i);
  return r;
}

/**
 * Register 0x14 value for a ticket difficulty: mask = 2^floor(log2(ceil(d))) − 1, then every byte
 * bit-reversed in place (byte order kept). 256 → 0x000000FF, 512 → 0x000080FF.
 */
export function ticketMaskValue(difficulty: number): number {
  if (!Number.isFinite(difficulty) || difficulty < 1)
    throw new Error(`ticket difficulty: must be ≥ 1, got ${difficulty}`);
  const bits = Math.floor(Math.log2(Math.ceil(difficulty)));
  if (bits > 32) throw new Error(`ticket difficulty: ${difficulty} exceeds 2^32`);
  const mask = bits === 32 ? 0xffffffff : 2 ** bits - 1;
  let out = 0;
  for (let i = 3; i >= 0; i--) out = out * 256 + reverseBits8(Math.floor(mask / 2 ** (8 * i)) & 0xff);
  return out >>> 0;
}

/** Register 0xA4 value for a BIP320 version mask: 0x9000_0000 | (mask >> 13) & 0xFFFF. */
export function versionMaskValue(mask: number): number {
  return (0x9000_0000 | ((mask >>> 13) & 0xffff)) >>> 0;
}

/**
 * Hash counting number (register 0x10, BM1366/68/70): floor(2^32 / np2(cores) / np2(chips) · 25 / f · 0.5
 * − correction). Undefined for models that do not use it (BM1397).
 */
export function hashCountingNumber(m: ModelInfo, chips: number, freqMHz: number): number | undefined {
  if (m.hcnCorrection === undefined) return undefined;
  if (!(freqMHz > 0)) throw new Error(`frequency: must be > 0 MHz, got ${freqMHz}`);
  const space = 2 ** 32 / np2(m.coreCount) / np2(Math.max(1, chips));
  return Math.max(0, Math.floor(((space * 25) / freqMHz) * 0.5 - m.hcnCorrection)) >>> 0;
}

/** BM1397 misc-control (0x18) value for a UART divisor BT8D (baud = 25 MHz / ((BT8D + 1) · 8)). */
export function bm1397MiscControlBaud(bt8d: number): number {
  // Keeps the other bits ESP writes (0x...31): BT8D[4:0] in bits 12..8, BT8D[8:5] in bits 27..24.
  return ((((bt8d >>> 5) & 0xf) << 24) | ((bt8d & 0x1f) << 8) | 0x0000_6031) >>> 0;
}

/** Baud for a BT8D divisor clocked from CLKI (25 MHz). */
export function baudFromDivisor(bt8d: number, baseHz = 25_000_000): number {
  return baseHz / ((bt8d + 1) * 8);
}

/** GH/s from two readings of a hash counter (one count = 2^32 hashes). Undefined if dt < 1 s. */
export function counterGhs(prev: number, next: number, dtMs: number): number | undefined {
  if (dtMs < 1000) return undefined;
  const delta = (next - prev + 2 ** 32) % 2 ** 32;
  return (delta * 2 ** 32) / (dtMs / 1000) / 1e9;
}

/**
 * GH/s from a BM1397 register 0x04 value ((v & 0x7FFFFFFF) · 2^20 hashes/s, ESP's unit; SKOT says 2^24).
 * Undefined when the LONG bit (31) is set or the value is the 0x007FFFFF "no reading" marker.
 */
export function bm1397HashrateGhs(v: number): number | undefined {
  if (v & 0x8000_0000 || v === 0x007f_ffff) return undefined;
  return ((v & 0x7fff_ffff) * 2 ** 20) / 1e9;
}
