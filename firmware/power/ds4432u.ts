/**
 * An emulated Maxim DS4432U+ current DAC (0x48) trimming a buck's feedback node: register 0xF8 (OUT0)
 * holds sign (bit 7 = sink) and magnitude; the buck's output follows
 *   V = 0.6 + 4750 × (0.6/3320 ∓ code/127 × 98.921 µA)
 * (ESP-Miner DS4432U.c resistor values). Power-on value 0: the buck sits at ≈ 1.458 V — why a host
 * must write the DAC before enabling the buck (boards.md §5.9).
 */
const VFB = 0.6;
const RA = 4750;
const RB = 3320;
const IFS = 98.921e-6;

export class EmulatedDs4432u {
  unplugged = false;
  private pointer = 0;
  private readonly regs = new Map<number, number>([
    [0xf8, 0],
    [0xf9, 0],
  ]);
  /** Called after OUT0 changes. */
  onChange: (() => void) | undefined;

  onWrite(data: Uint8Array): void {
    if (data.length === 0) return;
    this.pointer = data[0]!;
    for (let i = 1; i < data.length; i++) {
      const reg = this.pointer + i - 1;
      if (this.regs.has(reg)) this.regs.set(reg, data[i]!);
    }
    if (data.length > 1) this.onChange?.();
  }

  onRead(length: number): Uint8Array {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = this.regs.get(this.pointer + i) ?? 0;
    return out;
  }

  get code(): number {
    return this.regs.get(0xf8)!;
  }

  /** The buck output this DAC setting gives, V. */
  get volts(): number {
    const c = this.code;
    const i = ((c & 0x7f) / 127) * IFS;
    return VFB + RA * (VFB / RB + (c & 0x80 ? -i : i));
  }
}
