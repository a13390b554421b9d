/**
 * An emulated TI TPS546D24A buck regulator on the emulated I2C bus (PMBus): the registers the host
 * driver touches, VOUT_MODE, limits, STATUS_WORD, and the fault behaviour the profiles program:
 *   - VOUT_COMMAND is clamped to [VOUT_MIN, VOUT_MAX] (STATUS_VOUT bit 3 "VOUT_MAX/MIN warning");
 *   - over-current (IOUT > IOUT_OC_FAULT_LIMIT) with response 0xC0 → output latched off until
 *     OPERATION is cycled off/on after CLEAR_FAULTS (PMBus "latch off");
 *   - over-temperature (> OT_FAULT_LIMIT) with response 0xFF → hiccup: off, retried each `hiccupMs`
 *     once the temperature is back under OT_WARN_LIMIT;
 *   - VIN below VIN_OFF → off with VIN_UV; back on (if commanded) at VIN_ON;
 *   - VOUT above VOUT_OV_FAULT_LIMIT → latched off.
 * Telemetry comes from an electrical model: the load callback gives the current drawn at a voltage;
 * temperature follows conversion loss. Sources: ESP-Miner TPS546.c/h, PMBus part II; see
 * drivers/power/REFERENCE.md.
 */
import type { Clock } from '../../lib/clock.ts';
import { linear11ToNumber, numberToLinear11, voutExponent } from './pmbus.ts';

const C = {
  OPERATION: 0x01,
  ON_OFF_CONFIG: 0x02,
  CLEAR_FAULTS: 0x03,
  VOUT_MODE: 0x20,
  VOUT_COMMAND: 0x21,
  VOUT_MAX: 0x24,
  VOUT_MIN: 0x2b,
  VIN_ON: 0x35,
  VIN_OFF: 0x36,
  VOUT_OV_FAULT_LIMIT: 0x40,
  VOUT_UV_FAULT_LIMIT: 0x44,
  IOUT_OC_FAULT_LIMIT: 0x46,
  IOUT_OC_FAULT_RESPONSE: 0x47,
  OT_FAULT_LIMIT: 0x4f,
  OT_FAULT_RESPONSE: 0x50,
  OT_WARN_LIMIT: 0x51,
  STATUS_BYTE: 0x78,
  STATUS_WORD: 0x79,
  STATUS_VOUT: 0x7a,
  STATUS_IOUT: 0x7b,
  STATUS_INPUT: 0x7c,
  STATUS_TEMPERATURE: 0x7d,
  READ_VIN: 0x88,
  READ_VOUT: 0x8b,
  READ_IOUT: 0x8c,
  READ_TEMPERATURE_1: 0x8d,
  READ_POUT: 0x96,
  IC_DEVICE_ID: 0xad,
} as const;

/** Commands that are bytes (others are words unless listed as send-only or block). */
const BYTE_CMDS = new Set([
  0x01, 0x02, 0x04, 0x10, 0x20, 0x41, 0x45, 0x47, 0x50, 0x56, 0x63, 0x78, 0x7a, 0x7b, 0x7c, 0x7d, 0x7e, 0xe4,
]);
const READ_ONLY = new Set([
  0x20, 0x78, 0x79, 0x7a, 0x7b, 0x7c, 0x7d, 0x7e, 0x88, 0x8b, 0x8c, 0x8d, 0x96, 0xad, 0xae,
]);

export interface Tps546Options {
  clock: Clock;
  /** Input supply, V (Bitaxe: 5 V). */
  vin?: number;
  /** Current the load draws at a given output voltage (A); 0 when the output is off. */
  load?: (vout: number) => number;
  ambientC?: number;
  /** °C per W of conversion loss. */
  thermalResistance?: number;
  efficiency?: number;
  /** Hiccup retry period after an over-temperature shutdown (ms). */
  hiccupMs?: number;
  /** IC_DEVICE_ID bytes (default TPS546D24A 54 49 54 6D 24 41). */
  deviceId?: number[];
  /** The CONTROL pin level (ON_OFF_CONFIG bit 2 makes it required). Tied high by default. */
  controlPin?: boolean;
}

export class EmulatedTps546 {
  unplugged = false;
  readonly clock: Clock;
  private readonly regs = new Map<number, number>();
  private pointer = 0;
  private statusVout = 0;
  private statusIout = 0;
  private statusInput = 0;
  private statusTemp = 0;
  private statusCml = 0;
  /** Output latched off by a fault (OC/OV) until OPERATION off→on after CLEAR_FAULTS. */
  private latched: string | undefined;
  /** Over-temperature hiccup: off until this time (and cool). */
  private hiccupUntil: number | undefined;
  private uvLockout = false;
  private forcedTempC: number | undefined;
  private extraLoadA = 0;
  vin: number;
  load: (vout: number) => number;
  controlPin: boolean;
  readonly ambientC: number;
  readonly thermalResistance: number;
  readonly efficiency: number;
  readonly hiccupMs: number;
  readonly deviceId: number[];
  /** Every command written, in order (tests check the init table and ordering). */
  readonly log: Array<{ cmd: number; data: number[] }> = [];

  constructor(o: Tps546Options) {
    this.clock = o.clock;
    this.vin = o.vin ?? 5;
    this.load = o.load ?? (() => 0);
    this.controlPin = o.controlPin ?? true;
    this.ambientC = o.ambientC ?? 30;
    this.thermalResistance = o.thermalResistance ?? 12;
    this.efficiency = o.efficiency ?? 0.88;
    this.hiccupMs = o.hiccupMs ?? 1000;
    this.deviceId = o.deviceId ?? [0x54, 0x49, 0x54, 0x6d, 0x24, 0x41];
    // Factory (NVM) defaults: output off, VOUT_MODE 2^-9, VOUT 1.0 V, 0.5–1.5 V window, generous limits.
    this.regs.set(C.OPERATION, 0x00);
    this.regs.set(C.ON_OFF_CONFIG, 0x1f);
    this.regs.set(C.VOUT_MODE, 0x97);
    this.regs.set(C.VOUT_COMMAND, 0x0200);
    this.regs.set(C.VOUT_MAX, 0x0300);
    this.regs.set(C.VOUT_MIN, 0x0100);
    this.regs.set(C.VIN_ON, numberToLinear11(4.25));
    this.regs.set(C.VIN_OFF, numberToLinear11(4.0));
    this.regs.set(C.VOUT_OV_FAULT_LIMIT, 0x0300);
    this.regs.set(C.VOUT_UV_FAULT_LIMIT, 0x0080);
    this.regs.set(C.IOUT_OC_FAULT_LIMIT, numberToLinear11(40));
    this.regs.set(C.IOUT_OC_FAULT_RESPONSE, 0xc0);
    this.regs.set(C.OT_FAULT_LIMIT, numberToLinear11(150));
    this.regs.set(C.OT_WARN_LIMIT, numberToLinear11(125));
    this.regs.set(C.OT_FAULT_RESPONSE, 0xff);
  }

  // ---------------- electrical model ----------------

  private ulinear(cmd: number): number {
    return (this.regs.get(cmd) ?? 0) * 2 ** voutExponent(this.regs.get(C.VOUT_MODE) ?? 0x97);
  }
  private lin11(cmd: number): number {
    return linear11ToNumber(this.regs.get(cmd) ?? 0);
  }
  private commanded(): boolean {
    const cfg = this.regs.get(C.ON_OFF_CONFIG) ?? 0x1f;
    const cmdOk = !(cfg & 0x08) || ((this.regs.get(C.OPERATION) ?? 0) & 0x80) !== 0;
    const pinOk = !(cfg & 0x04) || this.controlPin;
    return cmdOk && pinOk;
  }
  /** Set-point after the VOUT_MIN/VOUT_MAX clamp, V. */
  get setpoint(): number {
    return Math.min(
      this.ulinear(C.VOUT_MAX),
      Math.max(this.ulinear(C.VOUT_MIN), this.ulinear(C.VOUT_COMMAND)),
    );
  }
  /** True while the output is switching. */
  get outputOn(): boolean {
    this.evaluate();
    return this.isOn();
  }
  private isOn(): boolean {
    return (
      this.commanded() &&
      this.latched === undefined &&
      this.hiccupUntil === undefined &&
      !this.uvLockout &&
      this.vin > 0
    );
  }
  get vout(): number {
    this.evaluate();
    return this.isOn() ? this.setpoint : 0;
  }
  get iout(): number {
    const v = this.vout;
    return v > 0 ? Math.max(0, this.load(v)) + this.extraLoadA : 0;
  }
  get pout(): number {
    return this.vout * this.iout;
  }
  get temperatureC(): number {
    if (this.forcedTempC !== undefined) return this.forcedTempC;
    const p = this.isOn() ? this.setpoint * (Math.max(0, this.load(this.setpoint)) + this.extraLoadA) : 0;
    return this.ambientC + this.thermalResistance * p * (1 / this.efficiency - 1);
  }
  /** PGOOD pin: output on and within the UV/OV fault limits. */
  get powerGood(): boolean {
    if (this.pgoodForcedLow) return false;
    const v = this.vout;
    return v > 0 && v > this.ulinear(C.VOUT_UV_FAULT_LIMIT) && v <= this.ulinear(C.VOUT_OV_FAULT_LIMIT);
  }
  /** Why the output is latched off, or undefined. */
  get latchedFault(): string | undefined {
    return this.latched;
  }

  /** Fault knob: POWER_GOOD# reported (and the PGOOD pin low) whatever the output does. */
  pgoodForcedLow = false;

  /** Fault knobs: extra load current (A) — e.g. a shorted chip; a forced temperature. */
  setExtraLoad(amps: number): void {
    this.extraLoadA = amps;
    this.evaluate();
  }
  /** Fault knob: a short on the output — IOUT over the OC fault limit now, handled by its response. */
  shortOutput(): void {
    if (!this.isOn()) return;
    this.statusIout |= 0x80;
    this.respond(this.regs.get(C.IOUT_OC_FAULT_RESPONSE) ?? 0xc0, 'over-current', this.clock.now());
  }
  forceTemperature(c: number | undefined): void {
    this.forcedTempC = c;
    this.evaluate();
  }
  setVin(v: number): void {
    this.vin = v;
    this.evaluate();
  }

  /** Applies limits and fault responses to the present state (called on every transaction and tick). */
  evaluate(): void {
    const now = this.clock.now();
    // input under-voltage lockout
    if (this.vin < this.lin11(C.VIN_OFF)) {
      if (!this.uvLockout && this.commanded()) this.statusInput |= 0x10; // VIN_UV_FAULT
      this.uvLockout = true;
    } else if (this.uvLockout && this.vin >= this.lin11(C.VIN_ON)) this.uvLockout = false;
    // over-temperature hiccup
    const t = this.temperatureC;
    if (this.hiccupUntil !== undefined && now >= this.hiccupUntil) {
      if (t < this.lin11(C.OT_WARN_LIMIT)) this.hiccupUntil = undefined;
      else this.hiccupUntil = now + this.hiccupMs;
    }
    if (!this.isOn()) return;
    if (t > this.lin11(C.OT_FAULT_LIMIT)) {
      this.statusTemp |= 0x80;
      this.respond(this.regs.get(C.OT_FAULT_RESPONSE) ?? 0xff, 'over-temperature', now);
      return;
    }
    const v = this.setpoint;
    if (v > this.ulinear(C.VOUT_OV_FAULT_LIMIT)) {
      this.statusVout |= 0x80;
      this.respond(0xc0, 'output over-voltage', now);
      return;
    }
    const i = Math.max(0, this.load(v)) + this.extraLoadA;
    if (i > this.lin11(C.IOUT_OC_FAULT_LIMIT)) {
      this.statusIout |= 0x80;
      this.respond(this.regs.get(C.IOUT_OC_FAULT_RESPONSE) ?? 0xc0, 'over-current', now);
    }
  }

  private respond(response: number, why: string, now: number): void {
    const action = (response >> 6) & 3;
    if (action === 0) return; // continue
    const retries = (response >> 3) & 7;
    if (retries === 0) this.latched = why;
    else this.hiccupUntil = now + this.hiccupMs;
  }

  private statusWord(): number {
    this.evaluate();
    const on = this.isOn();
    let low = 0;
    if (!on) low |= 0x40;
    if (this.statusVout & 0x80) low |= 0x20;
    if (this.statusIout & 0x80) low |= 0x10;
    if (this.statusInput & 0x10) low |= 0x08;
    if (this.statusTemp) low |= 0x04;
    if (this.statusCml) low |= 0x02;
    let high = 0;
    if (this.statusVout) high |= 0x80;
    if (this.statusIout) high |= 0x40;
    if (this.statusInput) high |= 0x20;
    if (!this.powerGood) high |= 0x08;
    return (high << 8) | low;
  }

  private telemetry(cmd: number): number {
    switch (cmd) {
      case C.READ_VIN:
        return numberToLinear11(this.vin);
      case C.READ_VOUT: {
        const e = voutExponent(this.regs.get(C.VOUT_MODE) ?? 0x97);
        return Math.round(this.vout / 2 ** e) & 0xffff;
      }
      case C.READ_IOUT:
        return numberToLinear11(this.iout);
      case C.READ_TEMPERATURE_1:
        return numberToLinear11(Math.round(this.temperatureC));
      case C.READ_POUT:
        return numberToLinear11(this.pout);
      default:
        return 0;
    }
  }

  // ---------------- PMBus over I2C ----------------

  onWrite(data: Uint8Array): void {
    if (data.length === 0) return;
    const cmd = data[0]!;
    this.pointer = cmd;
    if (data.length === 1) {
      if (cmd === C.CLEAR_FAULTS) {
        this.log.push({ cmd, data: [] });
        this.statusVout = this.statusIout = this.statusInput = this.statusTemp = this.statusCml = 0;
        this.evaluate();
      }
      return; // otherwise: the command code of a following read
    }
    this.log.push({ cmd, data: [...data.subarray(1)] });
    if (READ_ONLY.has(cmd)) {
      this.statusCml |= 0x80; // invalid command/data
      return;
    }
    const value = BYTE_CMDS.has(cmd) ? data[1]! : data[1]! | ((data[2] ?? 0) << 8);
    if (cmd === C.OPERATION) {
      const wasOn = ((this.regs.get(C.OPERATION) ?? 0) & 0x80) !== 0;
      const on = (value & 0x80) !== 0;
      // A latched fault is released by commanding the output off (PMBus): the next on restarts.
      if (wasOn && !on) this.latched = undefined;
      if (!wasOn && on && this.latched === undefined) this.hiccupUntil = undefined;
    }
    if (cmd === C.VOUT_COMMAND) {
      const v = value * 2 ** voutExponent(this.regs.get(C.VOUT_MODE) ?? 0x97);
      if (v > this.ulinear(C.VOUT_MAX) || v < this.ulinear(C.VOUT_MIN)) this.statusVout |= 0x08;
    }
    this.regs.set(cmd, value);
    this.evaluate();
  }

  onRead(length: number): Uint8Array {
    const cmd = this.pointer;
    let bytes: number[];
    if (cmd === C.IC_DEVICE_ID) bytes = [this.deviceId.length, ...this.deviceId];
    else if (cmd === C.STATUS_WORD) {
      const w = this.statusWord();
      bytes = [w & 0xff, w >> 8];
    } else if (cmd === C.STATUS_BYTE) bytes = [this.statusWord() & 0xff];
    else if (cmd === C.STATUS_VOUT) bytes = [this.statusVout];
    else if (cmd === C.STATUS_IOUT) bytes = [this.statusIout];
    else if (cmd === C.STATUS_INPUT) bytes = [this.statusInput];
    else if (cmd === C.STATUS_TEMPERATURE) bytes = [this.statusTemp];
    else if (cmd >= 0x88 && cmd <= 0x96) {
      const w = this.telemetry(cmd);
      bytes = [w & 0xff, w >> 8];
    } else {
      const v = this.regs.get(cmd) ?? 0;
      bytes = BYTE_CMDS.has(cmd) ? [v & 0xff] : [v & 0xff, (v >> 8) & 0xff];
    }
    const out = new Uint8Array(length);
    out.set(bytes.slice(0, length));
    return out;
  }
}
