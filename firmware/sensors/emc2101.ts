/**
 * Emulated EMC2101 fan controller / temperature sensor on an EmulatedI2cBus. Registers follow the
 * Microchip EMC2101 datasheet (read here independently of drivers/sensors): internal temperature from
 * the model's board temperature, external diode from the chip temperature (with the ideality mismatch
 * between the real diode and register 0x17), FAN_SETTING driving the model's fan when the look-up
 * table is disabled, TACH count from the model's rpm when the ALERT/TACH pin is set to TACH.
 * Knobs: unplugged (NACK), stuckC (frozen reading), diodeFault ('open' | 'short').
 */
import type { EmulatedI2cDevice } from './i2c-bus.ts';
import type { ThermalModel } from './thermal-model.ts';

export interface EmulatedEmc2101Options {
  /** 0x16 (EMC2101) or 0x28 (EMC2101-R). */
  productId?: number;
  /** Ideality factor of the sensed diode (the chip's thermal diode). 1.008 matches the default setting. */
  diodeIdeality?: number;
  /** Board-temperature coupling for the internal sensor. */
  internalCoupling?: number;
  /** Whether FAN_SETTING drives the model's fan. */
  drivesFan?: boolean;
}

const R = {
  INT: 0x00,
  EXT_HI: 0x01,
  STATUS: 0x02,
  CONFIG: 0x03,
  CONV: 0x04,
  CONFIG_W: 0x09,
  CONV_W: 0x0a,
  EXT_LO: 0x10,
  IDEALITY: 0x17,
  BETA: 0x18,
  TACH_LO: 0x46,
  TACH_HI: 0x47,
  FAN_CONFIG: 0x4a,
  FAN_SETTING: 0x4c,
  PID: 0xfd,
  MID: 0xfe,
  REV: 0xff,
} as const;

/** Registers a master may write (others are read-only and ignore writes). */
const WRITABLE = new Set<number>([
  0x03, 0x04, 0x05, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x11, 0x12, 0x13, 0x14, 0x16, 0x17,
  0x18, 0x19, 0x21, 0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f, 0xbf,
]);

export class EmulatedEmc2101 implements EmulatedI2cDevice {
  unplugged = false;
  stuckC: number | undefined;
  diodeFault: 'open' | 'short' | undefined;
  readonly regs = new Uint8Array(256);
  private pointer = 0;
  private latchedLow = 0;
  private latchedTachHigh = 0xff;
  private readonly diodeIdeality: number;
  private readonly coupling: number;
  private readonly drivesFan: boolean;
  /** Reads and writes served (for tests). */
  accesses = 0;

  private readonly model: ThermalModel;
  constructor(model: ThermalModel, o: EmulatedEmc2101Options = {}) {
    this.model = model;
    this.diodeIdeality = o.diodeIdeality ?? 1.008;
    this.coupling = o.internalCoupling ?? 0.6;
    this.drivesFan = o.drivesFan ?? true;
    this.regs[R.CONV] = 0x08;
    this.regs[R.IDEALITY] = 0x12;
    this.regs[R.BETA] = 0x08;
    this.regs[R.FAN_CONFIG] = 0x20;
    this.regs[R.FAN_SETTING] = 0x3f; // power-on: full speed until the host takes over
    this.regs[R.PID] = o.productId ?? 0x16;
    this.regs[R.MID] = 0x5d;
    this.regs[R.REV] = 0x01;
    this.applyFan();
  }

  /** η selected by register 0x17: 1.0080 at 0x12, 0.0013 per code. */
  private settingIdeality(): number {
    return 1.008 + ((this.regs[R.IDEALITY]! & 0x3f) - 0x12) * 0.0013;
  }

  private externalRaw(): [number, number] {
    if (this.diodeFault === 'open') return [0x7f, 0x00];
    if (this.diodeFault === 'short') return [0x7f, 0xe0];
    const trueC = this.stuckC ?? this.model.chipTempC();
    // The part infers T from the diode's ΔVbe assuming the programmed ideality.
    const sensedK = ((trueC + 273.15) * this.diodeIdeality) / this.settingIdeality();
    let eighths = Math.round((sensedK - 273.15) * 8);
    eighths = Math.max(-512, Math.min(1022, eighths));
    const word = (eighths * 32) & 0xffff;
    return [word >>> 8, word & 0xe0];
  }

  private internalRaw(): number {
    const c = this.stuckC ?? this.model.boardTempC(this.coupling);
    return Math.max(-64, Math.min(127, Math.round(c))) & 0xff;
  }

  private tachCount(): number {
    if (!(this.regs[R.CONFIG]! & 0x04)) return 0xffff; // pin is ALERT, no tach measurement
    const rpm = this.model.fanRpm();
    if (rpm < 100) return 0xffff;
    return Math.min(0xfffe, Math.round(5_400_000 / rpm));
  }

  private applyFan(): void {
    if (!this.drivesFan) return;
    const lutOff = (this.regs[R.FAN_CONFIG]! & 0x20) !== 0;
    if (!lutOff) return; // LUT mode is not emulated: the fan keeps its last drive
    let duty = ((this.regs[R.FAN_SETTING]! & 0x3f) / 63) * 100;
    if (this.regs[R.FAN_CONFIG]! & 0x10) duty = 100 - duty;
    this.model.setFanDuty(duty);
  }

  private readReg(reg: number): number {
    switch (reg) {
      case R.INT:
        return this.internalRaw();
      case R.EXT_HI: {
        const [hi, lo] = this.externalRaw();
        this.latchedLow = lo;
        return hi;
      }
      case R.EXT_LO:
        return this.latchedLow;
      case R.TACH_LO: {
        const c = this.tachCount();
        this.latchedTachHigh = c >>> 8;
        return c & 0xff;
      }
      case R.TACH_HI:
        return this.latchedTachHigh;
      default:
        return this.regs[reg]!;
    }
  }

  private writeReg(reg: number, value: number): void {
    if (!WRITABLE.has(reg)) return;
    // 0x09 / 0x0A are write aliases of CONFIG / CONVERSION RATE.
    const target = reg === R.CONFIG_W ? R.CONFIG : reg === R.CONV_W ? R.CONV : reg;
    if (target === R.FAN_SETTING) value &= 0x3f;
    this.regs[target] = value;
    if (target === R.FAN_SETTING || target === R.FAN_CONFIG) this.applyFan();
  }

  onWrite(data: Uint8Array): void {
    this.accesses++;
    if (data.length === 0) return;
    this.pointer = data[0]!;
    for (let i = 1; i < data.length; i++) this.writeReg((this.pointer + i - 1) & 0xff, data[i]!);
  }

  onRead(length: number): Uint8Array {
    this.accesses++;
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = this.readReg((this.pointer + i) & 0xff);
    return out;
  }
}
