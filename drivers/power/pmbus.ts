/**
 * PMBus codec (pure): the LINEAR11 ("SLINEAR11") and ULINEAR16 number formats, the TPS546 command codes
 * asicd uses, and the STATUS_WORD bits. Byte order on the wire is little-endian for words; block reads
 * lead with a length byte (ESP-Miner i2c_bitaxe.c:168-172, TPS546.c:109-122). See REFERENCE.md.
 *
 * Two SLINEAR11 encoders exist because ESP-Miner has two, and the public test values come from both:
 * - `slinear11FromInt`: exponent ≥ 0, the smallest that fits (ESP-Miner int_2_slinear11): 105 → 0x0069.
 * - `slinear11FromFloat`: the most precise negative exponent (ESP-Miner float_2_slinear11): 4.8 → 0xCA66.
 * Every decoder accepts both (105 → 0xEB48 and 0x0069 decode to the same value).
 */

export const PMBUS = {
  OPERATION: 0x01,
  ON_OFF_CONFIG: 0x02,
  CLEAR_FAULTS: 0x03,
  PHASE: 0x04,
  WRITE_PROTECT: 0x10,
  VOUT_MODE: 0x20,
  VOUT_COMMAND: 0x21,
  VOUT_MAX: 0x24,
  VOUT_MARGIN_HIGH: 0x25,
  VOUT_MARGIN_LOW: 0x26,
  VOUT_SCALE_LOOP: 0x29,
  VOUT_MIN: 0x2b,
  FREQUENCY_SWITCH: 0x33,
  VIN_ON: 0x35,
  VIN_OFF: 0x36,
  VOUT_OV_FAULT_LIMIT: 0x40,
  VOUT_OV_FAULT_RESPONSE: 0x41,
  VOUT_OV_WARN_LIMIT: 0x42,
  VOUT_UV_WARN_LIMIT: 0x43,
  VOUT_UV_FAULT_LIMIT: 0x44,
  VOUT_UV_FAULT_RESPONSE: 0x45,
  IOUT_OC_FAULT_LIMIT: 0x46,
  IOUT_OC_FAULT_RESPONSE: 0x47,
  IOUT_OC_WARN_LIMIT: 0x4a,
  OT_FAULT_LIMIT: 0x4f,
  OT_FAULT_RESPONSE: 0x50,
  OT_WARN_LIMIT: 0x51,
  VIN_OV_FAULT_LIMIT: 0x55,
  VIN_OV_FAULT_RESPONSE: 0x56,
  VIN_UV_WARN_LIMIT: 0x58,
  TON_DELAY: 0x60,
  TON_RISE: 0x61,
  TON_MAX_FAULT_LIMIT: 0x62,
  TON_MAX_FAULT_RESPONSE: 0x63,
  TOFF_DELAY: 0x64,
  TOFF_FALL: 0x65,
  STATUS_BYTE: 0x78,
  STATUS_WORD: 0x79,
  STATUS_VOUT: 0x7a,
  STATUS_IOUT: 0x7b,
  STATUS_INPUT: 0x7c,
  STATUS_TEMPERATURE: 0x7d,
  STATUS_CML: 0x7e,
  READ_VIN: 0x88,
  READ_VOUT: 0x8b,
  READ_IOUT: 0x8c,
  READ_TEMPERATURE_1: 0x8d,
  READ_POUT: 0x96,
  MFR_ID: 0x99,
  IC_DEVICE_ID: 0xad,
  IC_DEVICE_REV: 0xae,
  COMPENSATION_CONFIG: 0xb1,
  SYNC_CONFIG: 0xe4,
  STACK_CONFIG: 0xec,
  PIN_DETECT_OVERRIDE: 0xee,
} as const;

/** OPERATION values (ESP-Miner TPS546.h): output on / immediate off. */
export const OPERATION_ON = 0x80;
export const OPERATION_OFF = 0x00;

/** STATUS_WORD bits (PMBus part II §17.2). The low byte is STATUS_BYTE. */
export const STATUS = {
  NONE_OF_ABOVE: 1 << 0,
  CML: 1 << 1,
  TEMPERATURE: 1 << 2,
  VIN_UV: 1 << 3,
  IOUT_OC: 1 << 4,
  VOUT_OV: 1 << 5,
  OFF: 1 << 6,
  BUSY: 1 << 7,
  UNKNOWN: 1 << 8,
  OTHER: 1 << 9,
  FANS: 1 << 10,
  POWER_GOOD_N: 1 << 11,
  MFR: 1 << 12,
  INPUT: 1 << 13,
  IOUT_POUT: 1 << 14,
  VOUT: 1 << 15,
} as const;

/** Faults asicd treats as a regulator fault (protection stops the board and latches). */
export const FAULT_MASK = STATUS.VOUT_OV | STATUS.IOUT_OC | STATUS.VIN_UV | STATUS.TEMPERATURE;

/** Names of the set bits of a STATUS_WORD, e.g. ["OFF", "IOUT_OC"]. */
export function statusWordFlags(word: number): string[] {
  const out: string[] = [];
  for (const [name, bit] of Object.entries(STATUS)) if (word & bit) out.push(name);
  return out;
}

function signExtend(v: number, bits: number): number {
  const m = 1 << (bits - 1);
  return (v & (m - 1)) - (v & m);
}

/** Decodes a LINEAR11 word: 5-bit signed exponent (bits 15..11), 11-bit signed mantissa. */
export function slinear11Decode(word: number): number {
  if (!Number.isInteger(word) || word < 0 || word > 0xffff)
    throw new RangeError(`SLINEAR11: not a 16-bit word: ${word}`);
  const exp = signExtend(word >> 11, 5);
  const mant = signExtend(word & 0x7ff, 11);
  return mant * 2 ** exp;
}

function pack11(exp: number, mant: number): number {
  return (((exp & 0x1f) << 11) | (mant & 0x7ff)) >>> 0;
}

/** ESP-Miner's integer encoder: exponent 0..15, the smallest for which value >> exp fits 10 bits. */
export function slinear11FromInt(value: number): number {
  if (!Number.isInteger(value) || value < 0)
    throw new RangeError(`SLINEAR11 (integer): need a whole number ≥ 0, got ${value}`);
  for (let e = 0; e <= 15; e++) {
    const m = Math.floor(value / 2 ** e);
    if (m <= 1023) return pack11(e, m);
  }
  throw new RangeError(`SLINEAR11: ${value} is too large`);
}

/**
 * ESP-Miner's float encoder: the largest negative exponent (most precision, down to 2^-15) whose
 * truncated mantissa still fits 10 bits; values ≥ 1024 fall back to positive exponents.
 */
export function slinear11FromFloat(value: number): number {
  if (!Number.isFinite(value)) throw new RangeError(`SLINEAR11: not a finite number: ${value}`);
  const neg = value < 0;
  const a = Math.abs(value);
  if (a >= 1024) {
    const w = slinear11FromInt(Math.floor(a));
    return neg ? pack11(w >> 11, -(w & 0x7ff)) : w;
  }
  for (let i = 15; i >= 0; i--) {
    const m = Math.floor(a * 2 ** i + 1e-9);
    if (m <= 1023) return pack11(-i, neg ? -m : m);
  }
  throw new RangeError(`SLINEAR11: cannot encode ${value}`);
}

/** The VOUT_MODE exponent (bits 4..0, signed); only the linear mode (bits 6..5 = 00) is supported. */
export function voutModeExponent(mode: number): number {
  if (!Number.isInteger(mode) || mode < 0 || mode > 0xff)
    throw new RangeError(`VOUT_MODE: not a byte: ${mode}`);
  if (((mode >> 5) & 0x3) !== 0)
    throw new RangeError(`VOUT_MODE 0x${mode.toString(16)}: only the linear (ULINEAR16) mode is supported`);
  return signExtend(mode & 0x1f, 5);
}

/** ULINEAR16 volts → word, truncating like ESP-Miner's float_2_ulinear16 (1.2 V at 2^-9 → 0x0266). */
export function ulinear16Encode(volts: number, mode: number): number {
  const e = voutModeExponent(mode);
  if (!Number.isFinite(volts) || volts < 0) throw new RangeError(`ULINEAR16: need volts ≥ 0, got ${volts}`);
  const m = Math.floor(volts / 2 ** e + 1e-9);
  if (m > 0xffff) throw new RangeError(`ULINEAR16: ${volts} V does not fit with exponent ${e}`);
  return m;
}

export function ulinear16Decode(word: number, mode: number): number {
  if (!Number.isInteger(word) || word < 0 || word > 0xffff)
    throw new RangeError(`ULINEAR16: not a 16-bit word: ${word}`);
  return word * 2 ** voutModeExponent(mode);
}

/** Little-endian word helpers for SMBus write-word / read-word. */
export function wordLE(word: number): [number, number] {
  return [word & 0xff, (word >> 8) & 0xff];
}
export function readWordLE(b: Uint8Array): number {
  if (b.length < 2) throw new RangeError(`PMBus word: need 2 bytes, got ${b.length}`);
  return b[0]! | (b[1]! << 8);
}
