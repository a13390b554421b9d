/**
 * An emulated TI INA260 (0x40): current, bus voltage and power from a measurement callback, big-endian
 * registers (1.25 mA, 1.25 mV, 10 mW per LSB), manufacturer/die ID. Register pointer semantics as on the
 * real part: a one-byte write sets the pointer, a read returns two bytes from it.
 */
export interface PowerMeasure {
  volts: number;
  amps: number;
}

export class EmulatedIna260 {
  unplugged = false;
  private pointer = 0;
  private config = 0x6127;
  private readonly measure: () => PowerMeasure;

  constructor(measure: () => PowerMeasure) {
    this.measure = measure;
  }

  onWrite(data: Uint8Array): void {
    if (data.length === 0) return;
    this.pointer = data[0]!;
    if (data.length >= 3 && this.pointer === 0) this.config = (data[1]! << 8) | data[2]!;
  }

  onRead(length: number): Uint8Array {
    const m = this.measure();
    let w = 0;
    switch (this.pointer) {
      case 0x00:
        w = this.config;
        break;
      case 0x01:
        w = Math.round((m.amps * 1000) / 1.25) & 0xffff;
        break;
      case 0x02:
        w = Math.max(0, Math.round((m.volts * 1000) / 1.25)) & 0xffff;
        break;
      case 0x03:
        w = Math.max(0, Math.round((m.volts * Math.abs(m.amps) * 1000) / 10)) & 0xffff;
        break;
      case 0xfe:
        w = 0x5449;
        break;
      case 0xff:
        w = 0x2270;
        break;
    }
    const out = new Uint8Array(length);
    out.set([w >> 8, w & 0xff].slice(0, length));
    return out;
  }
}
