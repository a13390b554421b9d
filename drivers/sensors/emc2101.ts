/**
 * EMC2101 / EMC2101-R driver over an I2cBus: internal and external-diode temperature, direct PWM fan
 * drive (look-up table disabled), tach RPM. `init()` checks the product id, selects the TACH pin
 * function and PWM output, optionally writes ideality / beta compensation (ESP-Miner writes ideality
 * 0x24 and beta 0 on Gamma boards). Implements TemperatureSensor (the configured channel) and FanDriver.
 */
import type { I2cBus } from '../transport/contract.ts';
import {
  CONFIG_ALT_TACH,
  CONFIG_DAC,
  decodeExternal,
  decodeInternal,
  dutyToSetting,
  EMC2101_ADDRESS,
  EMC2101_PRODUCT_ID,
  EMC2101_REG,
  EMC2101R_PRODUCT_ID,
  FAN_CONFIG_LUT_DISABLE,
  FAN_CONFIG_POLARITY_INVERT,
  settingToDuty,
  tachToRpm,
} from './emc2101-codec.ts';
import { ioError, SensorError, type SensorErrorInfo } from './errors.ts';
import type { FanDriver, Initializable, TemperatureSensor } from './types.ts';

export interface Emc2101Options {
  address?: number;
  /** Which channel readTemperature() returns (ESP-Miner: internal on some Ultra/Supra revisions). */
  channel?: 'external' | 'internal';
  /** Ideality code for register 0x17 (e.g. 0x24 on BM1370 boards); left at power-on default if unset. */
  ideality?: number;
  /** Beta compensation code for register 0x18 (0x00..0x08); left at default if unset. */
  beta?: number;
  /** Invert PWM polarity (fans driven through an inverting stage). */
  invertPolarity?: boolean;
  /** Added to every reading (board calibration), °C. */
  offsetC?: number;
}

export class Emc2101 implements TemperatureSensor, FanDriver, Initializable {
  readonly name: string;
  readonly address: number;
  private readonly info: SensorErrorInfo;
  private readonly channel: 'external' | 'internal';
  private readonly offset: number;
  private readonly reg = new Uint8Array(1);
  private readonly pair = new Uint8Array(2);
  productId: number | undefined;

  private readonly bus: I2cBus;
  private readonly opts: Emc2101Options;
  constructor(bus: I2cBus, opts: Emc2101Options = {}) {
    this.bus = bus;
    this.opts = opts;
    this.address = opts.address ?? EMC2101_ADDRESS;
    this.channel = opts.channel ?? 'external';
    this.offset = opts.offsetC ?? 0;
    this.info = { bus: bus.path, address: this.address, part: 'EMC2101' };
    this.name = `emc2101@${bus.path}:0x${this.address.toString(16)}/${this.channel}`;
  }

  /** Reads one register. */
  async readRegister(register: number): Promise<number> {
    this.reg[0] = register;
    let out: Uint8Array;
    try {
      out = await this.bus.writeRead(this.address, this.reg, 1);
    } catch (err) {
      throw ioError(this.info, `read of register 0x${register.toString(16)}`, err);
    }
    if (out.length < 1)
      throw new SensorError('io', this.info, `short read of register 0x${register.toString(16)}`);
    return out[0]!;
  }

  async writeRegister(register: number, value: number): Promise<void> {
    this.pair[0] = register;
    this.pair[1] = value & 0xff;
    try {
      await this.bus.write(this.address, this.pair);
    } catch (err) {
      throw ioError(this.info, `write of register 0x${register.toString(16)}`, err);
    }
  }

  async init(): Promise<void> {
    const id = await this.readRegister(EMC2101_REG.PRODUCT_ID);
    if (id !== EMC2101_PRODUCT_ID && id !== EMC2101R_PRODUCT_ID) {
      throw new SensorError(
        'bad-id',
        this.info,
        `product id 0x${id.toString(16)} is not an EMC2101 (0x16) or EMC2101-R (0x28): wrong part or address`,
      );
    }
    this.productId = id;
    const config = await this.readRegister(EMC2101_REG.CONFIG);
    await this.writeRegister(EMC2101_REG.CONFIG, (config | CONFIG_ALT_TACH) & ~CONFIG_DAC);
    const fanConfig = await this.readRegister(EMC2101_REG.FAN_CONFIG);
    let next = fanConfig | FAN_CONFIG_LUT_DISABLE;
    next = this.opts.invertPolarity ? next | FAN_CONFIG_POLARITY_INVERT : next & ~FAN_CONFIG_POLARITY_INVERT;
    await this.writeRegister(EMC2101_REG.FAN_CONFIG, next);
    if (this.opts.ideality !== undefined)
      await this.writeRegister(EMC2101_REG.IDEALITY, this.opts.ideality & 0x3f);
    if (this.opts.beta !== undefined)
      await this.writeRegister(EMC2101_REG.BETA_CONFIG, this.opts.beta & 0x0f);
  }

  async readInternal(): Promise<number> {
    return decodeInternal(await this.readRegister(EMC2101_REG.INTERNAL_TEMP)) + this.offset;
  }

  /** External diode; the high byte is read first (the part latches the low byte on that read). */
  async readExternal(): Promise<number> {
    const high = await this.readRegister(EMC2101_REG.EXTERNAL_TEMP_HIGH);
    const low = await this.readRegister(EMC2101_REG.EXTERNAL_TEMP_LOW);
    const r = decodeExternal(high, low);
    if (!r.ok)
      throw new SensorError('fault', this.info, `external diode ${r.fault} (check the diode wiring)`);
    return r.celsius + this.offset;
  }

  readTemperature(): Promise<number> {
    return this.channel === 'internal' ? this.readInternal() : this.readExternal();
  }

  async setDuty(percent: number): Promise<void> {
    if (!Number.isFinite(percent))
      throw new SensorError('range', this.info, `fan duty ${percent} is not a number`);
    await this.writeRegister(EMC2101_REG.FAN_SETTING, dutyToSetting(percent));
  }

  async readDuty(): Promise<number> {
    return settingToDuty(await this.readRegister(EMC2101_REG.FAN_SETTING));
  }

  /** Raw 16-bit tach count: low byte first (latches the high byte), then high. */
  async readTachCount(): Promise<number> {
    const low = await this.readRegister(EMC2101_REG.TACH_LOW);
    const high = await this.readRegister(EMC2101_REG.TACH_HIGH);
    return (high << 8) | low;
  }

  /** RPM, or 0 when the tach reports a stopped fan. */
  async readRpm(): Promise<number> {
    return tachToRpm(await this.readTachCount()) ?? 0;
  }

  /** A second TemperatureSensor view on the other channel of the same part. */
  channelSensor(channel: 'external' | 'internal'): TemperatureSensor {
    return {
      name: `emc2101@${this.bus.path}:0x${this.address.toString(16)}/${channel}`,
      readTemperature: () => (channel === 'internal' ? this.readInternal() : this.readExternal()),
    };
  }
}
