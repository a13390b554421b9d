/** INA260 driver: identify by manufacturer ID, read bus voltage, current and power (never configured). */
import type { I2cBus } from '../transport/contract.ts';
import {
  INA260,
  INA260_MANUFACTURER_ID,
  ina260CurrentA,
  ina260PowerW,
  ina260VoltageV,
} from './ina260-codec.ts';
import { PowerError, type PowerReading } from './tps546.ts';

export class Ina260 {
  readonly bus: I2cBus;
  readonly address: number;
  readonly name: string;
  constructor(bus: I2cBus, address = 0x40) {
    this.bus = bus;
    this.address = address;
    this.name = `INA260@${bus.path}:0x${address.toString(16)}`;
  }
  private reg(r: number): Promise<Uint8Array> {
    return this.bus.writeRead(this.address, Uint8Array.of(r), 2);
  }
  async identify(): Promise<string> {
    const b = await this.reg(INA260.MANUFACTURER_ID);
    const id = (b[0]! << 8) | b[1]!;
    if (id !== INA260_MANUFACTURER_ID)
      throw new PowerError(`${this.name}: manufacturer ID 0x${id.toString(16)}, not TI's 0x5449`);
    return 'INA260';
  }
  async read(): Promise<PowerReading> {
    const v = ina260VoltageV(await this.reg(INA260.BUS_VOLTAGE));
    const i = ina260CurrentA(await this.reg(INA260.CURRENT));
    const p = ina260PowerW(await this.reg(INA260.POWER));
    // It measures the board's input: input voltage, input current and input power.
    return { vinV: v, voutV: null, currentA: i, powerW: p, vrTempC: null };
  }
}
