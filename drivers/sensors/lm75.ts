/**
 * TMP1075 / TMP75 / LM75 temperature sensor driver over an I2cBus. The TMP1075 is identified by its
 * device-id register (0x0F = 0x7500) at init; the LM75 and TMP75 have no id register, so init only
 * checks that the part answers with a plausible temperature.
 */
import type { I2cBus } from '../transport/contract.ts';
import { ioError, SensorError, type SensorErrorInfo } from './errors.ts';
import { decodeBytes, LM75_BASE_ADDRESS, LM75_REG, TMP1075_DEVICE_ID } from './lm75-codec.ts';
import type { Initializable, TemperatureSensor } from './types.ts';

export type Lm75Part = 'TMP1075' | 'TMP75' | 'LM75';

export interface Lm75Options {
  address?: number;
  part?: Lm75Part;
  offsetC?: number;
}

export class Lm75Sensor implements TemperatureSensor, Initializable {
  readonly name: string;
  readonly address: number;
  readonly part: Lm75Part;
  private readonly info: SensorErrorInfo;
  private readonly offset: number;
  private readonly reg = new Uint8Array(1);

  private readonly bus: I2cBus;
  constructor(bus: I2cBus, opts: Lm75Options = {}) {
    this.bus = bus;
    this.address = opts.address ?? LM75_BASE_ADDRESS;
    this.part = opts.part ?? 'TMP1075';
    this.offset = opts.offsetC ?? 0;
    this.info = { bus: bus.path, address: this.address, part: this.part };
    this.name = `${this.part.toLowerCase()}@${bus.path}:0x${this.address.toString(16)}`;
  }

  private async read16(register: number): Promise<Uint8Array> {
    this.reg[0] = register;
    let out: Uint8Array;
    try {
      out = await this.bus.writeRead(this.address, this.reg, 2);
    } catch (err) {
      throw ioError(this.info, `read of register 0x${register.toString(16)}`, err);
    }
    if (out.length < 2)
      throw new SensorError('io', this.info, `short read of register 0x${register.toString(16)}`);
    return out;
  }

  async init(): Promise<void> {
    if (this.part === 'TMP1075') {
      const id = await this.read16(LM75_REG.DEVICE_ID);
      const v = (id[0]! << 8) | id[1]!;
      if (v !== TMP1075_DEVICE_ID) {
        throw new SensorError(
          'bad-id',
          this.info,
          `device id 0x${v.toString(16).padStart(4, '0')} is not a TMP1075 (0x7500): wrong part or address`,
        );
      }
    }
    await this.readTemperature();
  }

  async readTemperature(): Promise<number> {
    return decodeBytes(await this.read16(LM75_REG.TEMPERATURE)) + this.offset;
  }
}

export const tmp1075 = (bus: I2cBus, address = LM75_BASE_ADDRESS, offsetC = 0): Lm75Sensor =>
  new Lm75Sensor(bus, { address, part: 'TMP1075', offsetC });
export const tmp75 = (bus: I2cBus, address = LM75_BASE_ADDRESS, offsetC = 0): Lm75Sensor =>
  new Lm75Sensor(bus, { address, part: 'TMP75', offsetC });
export const lm75 = (bus: I2cBus, address = LM75_BASE_ADDRESS, offsetC = 0): Lm75Sensor =>
  new Lm75Sensor(bus, { address, part: 'LM75', offsetC });
