/**
 * EMC2101 register codec (pure): register addresses, temperature / tach / fan-setting encodings.
 * Facts from the Microchip EMC2101 / EMC2101-R datasheet (DS20006703); see REFERENCE.md.
 */

export const EMC2101_ADDRESS = 0x4c;

export const EMC2101_REG = {
  INTERNAL_TEMP: 0x00,
  EXTERNAL_TEMP_HIGH: 0x01,
  STATUS: 0x02,
  CONFIG: 0x03,
  CONVERSION_RATE: 0x04,
  EXTERNAL_TEMP_LOW: 0x10,
  IDEALITY: 0x17,
  BETA_CONFIG: 0x18,
  TACH_LOW: 0x46,
  TACH_HIGH: 0x47,
  TACH_LIMIT_LOW: 0x48,
  TACH_LIMIT_HIGH: 0x49,
  FAN_CONFIG: 0x4a,
  FAN_SPIN_UP: 0x4b,
  FAN_SETTING: 0x4c,
  PWM_FREQUENCY: 0x4d,
  PWM_DIVIDE: 0x4e,
  PRODUCT_ID: 0xfd,
  MANUFACTURER_ID: 0xfe,
  REVISION: 0xff,
} as const;

export const EMC2101_PRODUCT_ID = 0x16;
export const EMC2101R_PRODUCT_ID = 0x28;
export const EMC2101_MANUFACTURER_ID = 0x5d;

/** CONFIG (0x03) bit 2: the ALERT/TACH pin works as the TACH input. Bit 4: 1 = DAC output, 0 = PWM. */
export const CONFIG_ALT_TACH = 0x04;
export const CONFIG_DAC = 0x10;
/** FAN_CONFIG (0x4A) bit 5: look-up table disabled, FAN_SETTING (0x4C) drives the fan directly. */
export const FAN_CONFIG_LUT_DISABLE = 0x20;
/** FAN_CONFIG bit 4: invert PWM polarity. */
export const FAN_CONFIG_POLARITY_INVERT = 0x10;

/** Fan setting is 6 bits: 0..63 ↔ 0..100 %. */
export const FAN_SETTING_MAX = 63;
/** RPM = TACH_FACTOR / tach count (count of the 90 kHz clock over the fan's tach periods). */
export const TACH_FACTOR = 5_400_000;
/** Tach count reads 0xFFFF when the fan is stopped or below the measurable speed. */
export const TACH_STOPPED = 0xffff;

/** Beta compensation codes (register 0x18, bits 2:0, bit 3 = automatic). */
export const BETA = { AUTO: 0x08, DISABLED: 0x07 } as const;

/** Internal temperature: one signed byte, 1 °C per LSB. */
export function decodeInternal(byte: number): number {
  return (byte << 24) >> 24;
}

export type ExternalReading = { ok: true; celsius: number } | { ok: false; fault: 'open' | 'short' };

/**
 * External diode: high byte is signed °C; the low byte's bits 7:5 are the fraction (0.125 °C per
 * step). Together an 11-bit two's-complement value in 0.125 °C units. 0x7F/0x00 marks an open diode
 * and 0x7F/0xE0 a shorted one (the part reports these instead of a temperature).
 */
export function decodeExternal(high: number, low: number): ExternalReading {
  if (high === 0x7f && (low & 0xe0) === 0x00) return { ok: false, fault: 'open' };
  if (high === 0x7f && (low & 0xe0) === 0xe0) return { ok: false, fault: 'short' };
  const raw = (((high & 0xff) << 8) | (low & 0xe0)) << 16; // sign-extend 16 → 32
  return { ok: true, celsius: (raw >> 21) * 0.125 };
}

/** Encodes °C into [high, low] (clamped to the representable −64..+127.75, rounded to 0.125). */
export function encodeExternal(celsius: number): [number, number] {
  const steps = Math.max(-64 * 8, Math.min(127 * 8 + 6, Math.round(celsius * 8)));
  const v = (steps << 5) & 0xffff;
  return [(v >> 8) & 0xff, v & 0xe0];
}

/** Tach count (16-bit, low byte read first) → RPM; undefined when stopped (0xFFFF or 0). */
export function tachToRpm(count: number): number | undefined {
  if (count === 0 || count >= TACH_STOPPED) return undefined;
  return TACH_FACTOR / count;
}

/** RPM → tach count (what the part would latch). */
export function rpmToTach(rpm: number): number {
  if (!(rpm > 0)) return TACH_STOPPED;
  return Math.max(1, Math.min(TACH_STOPPED, Math.round(TACH_FACTOR / rpm)));
}

/** Percent duty (0..100) → 6-bit FAN_SETTING. */
export function dutyToSetting(percent: number): number {
  const p = Math.max(0, Math.min(100, percent));
  return Math.round((p * FAN_SETTING_MAX) / 100);
}

/** 6-bit FAN_SETTING → percent duty. */
export function settingToDuty(setting: number): number {
  return ((setting & 0x3f) * 100) / FAN_SETTING_MAX;
}
