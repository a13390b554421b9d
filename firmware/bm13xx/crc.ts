/**
 * Chip-side CRCs of the BM13xx UART protocol, written for the emulator (independent of the host
 * driver's codec):
 * - CRC5 (poly x^5+x^2+1, init 0x1F, MSB first, no reflection, no final XOR) on command frames and
 *   on chip replies;
 * - CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF) on job frames, appended big-endian.
 */

/** CRC5 over `len` bytes of `buf` starting at `start`. Returns the 5-bit remainder. */
export function crc5(buf: Uint8Array, start = 0, len = buf.length - start): number {
  let crc = 0x1f;
  for (let i = start; i < start + len; i++) crc = crc5Bits(crc, buf[i]!, 8);
  return crc;
}

/** Feeds the top `nbits` bits of `byte` (MSB first) into a running CRC5 register. */
export function crc5Bits(crc: number, byte: number, nbits: number): number {
  let c = crc;
  for (let b = 7; b > 7 - nbits; b--) {
    const fb = ((c >> 4) & 1) ^ ((byte >> b) & 1);
    c = (c << 1) & 0x1f;
    if (fb) c ^= 0x05;
  }
  return c;
}

/**
 * Finishes a chip reply in place: LAST = flags (top 3 bits) | CRC5, where the CRC runs over bytes
 * 2..n-2 and then over the 3 flag bits. That makes a whole-frame CRC over bytes 2..n-1 come out 0,
 * which is how receivers check replies.
 */
export function sealReply(frame: Uint8Array, len: number, flags: number): void {
  let c = crc5(frame, 2, len - 3);
  c = crc5Bits(c, flags & 0xe0, 3);
  frame[len - 1] = (flags & 0xe0) | c;
}

const TABLE16 = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 8;
    for (let k = 0; k < 8; k++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
    t[i] = c;
  }
  return t;
})();

/** CRC-16/CCITT-FALSE over `len` bytes of `buf` from `start`. */
export function crc16(buf: Uint8Array, start = 0, len = buf.length - start): number {
  let crc = 0xffff;
  for (let i = start; i < start + len; i++)
    crc = ((crc << 8) & 0xffff) ^ TABLE16[((crc >> 8) ^ buf[i]!) & 0xff]!;
  return crc;
}
