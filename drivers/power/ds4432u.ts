/** DS4432U+ driver: writes OUT0 after the range check (drivers/power/ds4432u-codec.ts), reads it back. */
import type { I2cBus } from '../transport/contract.ts';
import { DS4432U_OUT0, ds4432uCode, ds4432uVolts } from './ds4432u-codec.ts';
import { PowerError } from './tps546.ts';

export class Ds4432u {
  readonly bus: I2cBus;
  readonly address: number;
  readonly name: string;
  constructor(bus: I2cBus, address = 0x48) {
    this.bus = bus;
    this.address = address;
    this.name = `DS4432U@${bus.path}:0x${address.toString(16)}`;
  }

  /** Probes the part (a read of OUT0). */
  async identify(): Promise<string> {
    await this.bus.writeRead(this.address, Uint8Array.of(DS4432U_OUT0), 1);
    return 'DS4432U';
  }

  async setVout(volts: number, window: { minV: number; maxV: number }): Promise<number> {
    if (!Number.isFinite(volts) || volts < window.minV || volts > window.maxV)
      throw new PowerError(
        `${this.name}: ${volts} V is outside the allowed ${window.minV}–${window.maxV} V; DAC left untouched`,
      );
    let code: number;
    try {
      code = ds4432uCode(volts);
    } catch (e) {
      throw new PowerError(`${this.name}: ${(e as Error).message}; DAC left untouched`);
    }
    await this.bus.write(this.address, Uint8Array.of(DS4432U_OUT0, code));
    const back = (await this.bus.writeRead(this.address, Uint8Array.of(DS4432U_OUT0), 1))[0];
    if (back !== code) throw new PowerError(`${this.name}: OUT0 read back ${back}, wrote ${code}`);
    return ds4432uVolts(code);
  }
}
