/**
 * TPS546D24A driver over any I2cBus (Pi i2c-dev, a USB bridge's I2C page, the emulated bus):
 * identify, the profile's init table (output off), range-checked set-voltage with read-back,
 * OPERATION on/off, STATUS_WORD, telemetry. Nothing is written before the range check passes.
 */
import type { I2cBus } from '../transport/contract.ts';
import {
  FAULT_MASK,
  OPERATION_OFF,
  OPERATION_ON,
  PMBUS,
  readWordLE,
  STATUS,
  slinear11Decode,
  slinear11FromFloat,
  slinear11FromInt,
  statusWordFlags,
  ulinear16Decode,
  ulinear16Encode,
  wordLE,
} from './pmbus.ts';

/** IC_DEVICE_ID answers asicd accepts (ESP-Miner TPS546.c:30-31; the B24A one by mujina's choice). */
export const TPS546_IDS: Record<string, string> = {
  '54 49 54 6d 24 41': 'TPS546D24A',
  '54 49 54 6d 24 62': 'TPS546D24A',
  '54 49 54 6b 24 41': 'TPS546B24A',
};

export interface Tps546Step {
  cmd: string;
  format: 'byte' | 'word' | 'slinear11' | 'slinear11-int' | 'ulinear16' | 'send';
  value?: number;
}

export interface PowerReading {
  vinV: number | null;
  voutV: number | null;
  currentA: number | null;
  powerW: number | null;
  vrTempC: number | null;
}

export interface RegulatorStatus {
  word: number;
  flags: string[];
  /** Fault flags asicd acts on (VOUT_OV, IOUT_OC, VIN_UV, TEMPERATURE), empty when none. */
  faults: string[];
  outputOn: boolean;
  powerGood: boolean;
}

export class PowerError extends Error {
  override readonly name = 'PowerError';
}

export class Tps546 {
  readonly bus: I2cBus;
  readonly address: number;
  readonly name: string;
  private voutMode: number | undefined;

  constructor(bus: I2cBus, address = 0x24) {
    this.bus = bus;
    this.address = address;
    this.name = `TPS546@${bus.path}:0x${address.toString(16)}`;
  }

  private async readByte(cmd: number): Promise<number> {
    return (await this.bus.writeRead(this.address, Uint8Array.of(cmd), 1))[0]!;
  }
  private async readWord(cmd: number): Promise<number> {
    return readWordLE(await this.bus.writeRead(this.address, Uint8Array.of(cmd), 2));
  }
  private writeByte(cmd: number, v: number): Promise<void> {
    return this.bus.write(this.address, Uint8Array.of(cmd, v & 0xff));
  }
  private writeWord(cmd: number, w: number): Promise<void> {
    return this.bus.write(this.address, Uint8Array.of(cmd, ...wordLE(w)));
  }

  /** Reads IC_DEVICE_ID (block read: count byte + bytes) and names the part; rejects anything else. */
  async identify(): Promise<string> {
    const raw = await this.bus.writeRead(this.address, Uint8Array.of(PMBUS.IC_DEVICE_ID), 7);
    const n = raw[0]!;
    const id = [...raw.subarray(1, 1 + Math.min(n, 6))].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    const part = TPS546_IDS[id];
    if (!part)
      throw new PowerError(`${this.name}: IC_DEVICE_ID is "${id}", not a TPS546D24A (wrong part or address)`);
    return part;
  }

  async readVoutMode(): Promise<number> {
    this.voutMode = await this.readByte(PMBUS.VOUT_MODE);
    return this.voutMode;
  }

  /** Writes the init table in order (the output is commanded off by its first step). */
  async configure(steps: readonly Tps546Step[]): Promise<void> {
    const mode = await this.readVoutMode();
    for (const s of steps) {
      const cmd = (PMBUS as Record<string, number>)[s.cmd];
      if (cmd === undefined)
        throw new PowerError(`${this.name}: init table names an unknown command ${s.cmd}`);
      const v = s.value ?? 0;
      switch (s.format) {
        case 'send':
          await this.bus.write(this.address, Uint8Array.of(cmd));
          break;
        case 'byte':
          await this.writeByte(cmd, v);
          break;
        case 'word':
          await this.writeWord(cmd, v);
          break;
        case 'slinear11':
          await this.writeWord(cmd, slinear11FromFloat(v));
          break;
        case 'slinear11-int':
          await this.writeWord(cmd, slinear11FromInt(v));
          break;
        case 'ulinear16':
          await this.writeWord(cmd, ulinear16Encode(v, mode));
          break;
      }
    }
  }

  /**
   * Sets VOUT_COMMAND to `volts` after checking it against `window` (chip model ∩ profile ∩ regulator),
   * then reads it back and compares. Throws before touching the bus when out of range.
   */
  async setVout(volts: number, window: { minV: number; maxV: number }): Promise<number> {
    if (!Number.isFinite(volts) || volts < window.minV || volts > window.maxV)
      throw new PowerError(
        `${this.name}: ${volts} V is outside the allowed ${window.minV}–${window.maxV} V; regulator left untouched`,
      );
    const mode = this.voutMode ?? (await this.readVoutMode());
    const word = ulinear16Encode(volts, mode);
    await this.writeWord(PMBUS.VOUT_COMMAND, word);
    const back = await this.readWord(PMBUS.VOUT_COMMAND);
    if (back !== word)
      throw new PowerError(
        `${this.name}: VOUT_COMMAND read back 0x${back.toString(16)}, wrote 0x${word.toString(16)}`,
      );
    return ulinear16Decode(word, mode);
  }

  async clearFaults(): Promise<void> {
    await this.bus.write(this.address, Uint8Array.of(PMBUS.CLEAR_FAULTS));
  }

  async on(): Promise<void> {
    await this.writeByte(PMBUS.OPERATION, OPERATION_ON);
  }

  async off(): Promise<void> {
    await this.writeByte(PMBUS.OPERATION, OPERATION_OFF);
  }

  async status(): Promise<RegulatorStatus> {
    const word = await this.readWord(PMBUS.STATUS_WORD);
    return {
      word,
      flags: statusWordFlags(word),
      faults: statusWordFlags(word & FAULT_MASK),
      outputOn: (word & STATUS.OFF) === 0,
      powerGood: (word & STATUS.POWER_GOOD_N) === 0,
    };
  }

  async telemetry(): Promise<PowerReading> {
    const mode = this.voutMode ?? (await this.readVoutMode());
    const vin = slinear11Decode(await this.readWord(PMBUS.READ_VIN));
    const vout = ulinear16Decode(await this.readWord(PMBUS.READ_VOUT), mode);
    const iout = slinear11Decode(await this.readWord(PMBUS.READ_IOUT));
    const temp = slinear11Decode(await this.readWord(PMBUS.READ_TEMPERATURE_1));
    return { vinV: vin, voutV: vout, currentA: iout, powerW: vout * iout, vrTempC: temp };
  }
}
