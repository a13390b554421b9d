/**
 * The emulators' own PMBus number formats (firmware/ keeps its own copy; the host codec in
 * drivers/power/pmbus.ts is tested against public vectors, this one against the host codec).
 */
function signExtend(v: number, bits: number): number {
  const m = 1 << (bits - 1);
  return (v & (m - 1)) - (v & m);
}
export function linear11ToNumber(word: number): number {
  return signExtend(word & 0x7ff, 11) * 2 ** signExtend((word >> 11) & 0x1f, 5);
}
/** Most-precise LINEAR11 encoding (telemetry words). */
export function numberToLinear11(x: number): number {
  let e = -16;
  let m = 0;
  for (e = -15; e <= 15; e++) {
    m = Math.round(x / 2 ** e);
    if (m >= -1024 && m <= 1023) break;
  }
  return (((e & 0x1f) << 11) | (m & 0x7ff)) >>> 0;
}
export function voutExponent(mode: number): number {
  return signExtend(mode & 0x1f, 5);
}
