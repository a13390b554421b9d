/**
 * INA260 power monitor (TI): registers big-endian, current 1.25 mA/LSB (signed), bus voltage
 * 1.25 mV/LSB, power 10 mW/LSB (ESP-Miner INA260.h:6-14, INA260.c). Manufacturer ID 0x5449 ("TI") in
 * 0xFE and die ID 0x2270 in 0xFF are from the TI datasheet (not in ../shared; see REFERENCE.md).
 * ESP-Miner reads current as unsigned (boards.md §5.10); this codec reads it signed.
 */
export const INA260_ADDRESS = 0x40;
export const INA260 = {
  CONFIG: 0x00,
  CURRENT: 0x01,
  BUS_VOLTAGE: 0x02,
  POWER: 0x03,
  MANUFACTURER_ID: 0xfe,
  DIE_ID: 0xff,
} as const;
export const INA260_MANUFACTURER_ID = 0x5449;

function word(b: Uint8Array): number {
  if (b.length < 2) throw new RangeError(`INA260: need 2 bytes, got ${b.length}`);
  return (b[0]! << 8) | b[1]!;
}

export function ina260CurrentA(b: Uint8Array): number {
  const w = word(b);
  return ((w & 0x8000 ? w - 0x10000 : w) * 1.25) / 1000;
}
export function ina260VoltageV(b: Uint8Array): number {
  return (word(b) * 1.25) / 1000;
}
export function ina260PowerW(b: Uint8Array): number {
  return (word(b) * 10) / 1000;
}
