/**
 * Codec for the LM75 family of I2C temperature sensors (TMP1075, TMP75, LM75): the temperature
 * register is 16 bits, MSB first, left-justified two's complement. Twelve significant bits give
 * 0.0625 °C per LSB; the 9-bit LM75 just leaves the low bits zero, so one decoder serves all.
 * Facts from TI TMP1075 (SBOS854), TI TMP75 (SBOS288), NXP LM75B datasheets; see REFERENCE.md.
 */

export const LM75_REG = {
  TEMPERATURE: 0x00,
  CONFIG: 0x01,
  T_LOW: 0x02,
  T_HIGH: 0x03,
  DEVICE_ID: 0x0f,
} as const;

/** TMP1075 device-id register (0x0F) content. */
export const TMP1075_DEVICE_ID = 0x7500;

/** Default base address of the family (A2..A0 strapping adds 0..7). */
export const LM75_BASE_ADDRESS = 0x48;

export const LSB_CELSIUS = 0.0625;

/** Register value (0..0xFFFF) → °C. */
export function decodeTemperature(raw: number): number {
  const signed = ((raw & 0xffff) << 16) >> 16;
  return (signed >> 4) * LSB_CELSIUS;
}

/** °C → register value (12-bit, rounded, clamped to −128..+127.9375). */
export function encodeTemperature(celsius: number): number {
  const counts = Math.max(-2048, Math.min(2047, Math.round(celsius / LSB_CELSIUS)));
  return (counts << 4) & 0xffff;
}

/** Decodes the two bytes read from the temperature register (MSB first). */
export function decodeBytes(bytes: Uint8Array): number {
  return decodeTemperature(((bytes[0] ?? 0) << 8) | (bytes[1] ?? 0));
}
