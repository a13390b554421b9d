/**
 * Emulated TMP1075 (and LM75 / TMP75 flavours) on an EmulatedI2cBus: a 16-bit temperature register
 * (left-justified two's complement, 1/16 °C per count; the LM75 flavour keeps only 9 bits), config,
 * limit registers and — for the TMP1075 only — the device-id register 0x0F = 0x7500. The temperature
 * comes from the thermal model's board temperature near the chips. Knobs: unplugged, stuckC.
 */
import type { EmulatedI2cDevice } from './i2c-bus.ts';
import type { ThermalModel } from './thermal-model.ts';

export interface EmulatedTmp1075Options {
  flavour?: 'TMP1075' | 'TMP75' | 'LM75';
  /** Coupling of the sensor to the chip temperature (1 = on the die, 0 = ambient). */
  coupling?: number;
}

export class EmulatedTmp1075 implements EmulatedI2cDevice {
  unplugged = false;
  stuckC: number | undefined;
  private pointer = 0;
  private readonly regs = new Uint16Array(16);
  private readonly flavour: 'TMP1075' | 'TMP75' | 'LM75';
  private readonly coupling: number;

  private readonly model: ThermalModel;
  constructor(model: ThermalModel, o: EmulatedTmp1075Options = {}) {
    this.model = model;
    this.flavour = o.flavour ?? 'TMP1075';
    this.coupling = o.coupling ?? 0.9;
    this.regs[0x01] = this.flavour === 'TMP1075' ? 0x00ff : 0x0000;
    this.regs[0x02] = 75 * 256; // T_LOW / T_HYST 75 °C
    this.regs[0x03] = 80 * 256; // T_HIGH / T_OS 80 °C
    if (this.flavour === 'TMP1075') this.regs[0x0f] = 0x7500;
  }

  private temperatureWord(): number {
    const c = this.stuckC ?? this.model.boardTempC(this.coupling);
    const sixteenths = Math.max(-2048, Math.min(2047, Math.round(c * 16)));
    let word = (sixteenths * 16) & 0xffff;
    if (this.flavour === 'LM75') word &= 0xff80; // 9-bit part: 0.5 °C resolution
    return word;
  }

  private word(reg: number): number {
    if (reg === 0x00) return this.temperatureWord();
    if (reg === 0x0f && this.flavour !== 'TMP1075') return 0xffff; // no such register: bus floats high
    return this.regs[reg & 0x0f]!;
  }

  onWrite(data: Uint8Array): void {
    if (data.length === 0) return;
    this.pointer = data[0]! & 0x0f;
    if (data.length >= 3 && this.pointer >= 0x01 && this.pointer <= 0x03) {
      this.regs[this.pointer] = (data[1]! << 8) | data[2]!;
    }
  }

  onRead(length: number): Uint8Array {
    const w = this.word(this.pointer);
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = i % 2 === 0 ? w >>> 8 : w & 0xff;
    return out;
  }
}
