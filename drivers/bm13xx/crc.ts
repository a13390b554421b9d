/**
 * The two checksums of the BM13xx UART protocol.
 *
 * - CRC5: polynomial x^5 + x^2 + 1 (0x05), initial value 0x1F, MSB first, no reflection, no final XOR.
 *   Host→chip command frames carry it in the last byte (top 3 bits zero); chip→host replies carry it in
 *   bits 4..0 of the last byte, computed over the message followed by the 3 flag bits, so running the CRC
 *   over the whole reply after the preamble yields 0.
 * - CRC16/CCITT-FALSE (IBM-3740): poly 0x1021, init 0xFFFF, no reflection, no XOR out. Job frames carry
 *   it big-endian after the data.
 *
 * Both are table driven (one lookup per byte). The 5-bit CRC runs left-aligned in an 8-bit register so it
 * can use a byte table like any CRC narrower than a byte.
 */

const CRC5_TABLE = new Uint8Array(256);
const CRC16_TABLE = new Uint16Array(256);

for (let i = 0; i < 256; i++) {
  // CRC5 left-aligned: register bits 7..3 hold the CRC, polynomial 0x05 << 3 = 0x28.
  let c = i;
  for (let b = 0; b < 8; b++) c = c & 0x80 ? ((c << 1) ^ 0x28) & 0xff : (c << 1) & 0xff;
  CRC5_TABLE[i] = c;
  let d = i << 8;
  for (let b = 0; b < 8; b++) d = d & 0x8000 ? ((d << 1) ^ 0x1021) & 0xffff : (d << 1) & 0xffff;
  CRC16_TABLE[i] = d;
}

/** CRC5 over data[start, end). Returns the 5-bit value. */
export function crc5(data: Uint8Array, start = 0, end = data.length): number {
  let c = 0x1f << 3;
  for (let i = start; i < end; i++) c = CRC5_TABLE[c ^ data[i]!]!;
  return c >>> 3;
}

/**
 * CRC5 continued over the top `bits` bits of `value` after data[start, end) — used to build reply frames,
 * whose CRC also covers the 3 flag bits of the last byte.
 */
export function crc5Bits(data: Uint8Array, start: number, end: number, value: number, bits: number): number {
  let c = crc5(data, start, end);
  for (let b = 7; b > 7 - bits; b--) {
    const top = ((c >>> 4) ^ (value >>> b)) & 1;
    c = (c << 1) & 0x1f;
    if (top) c ^= 0x05;
  }
  return c;
}

/** CRC-16/CCITT-FALSE over data[start, end). */
export function crc16False(data: Uint8Array, start = 0, end = data.length): number {
  let c = 0xffff;
  for (let i = start; i < end; i++) c = ((c << 8) & 0xffff) ^ CRC16_TABLE[((c >>> 8) ^ data[i]!) & 0xff]!;
  return c;
}
