/**
 * The electrical model of an emulated board: input supply → core regulator (TPS546, DS4432U-trimmed
 * buck, fixed buck) gated by its enable line → core voltage → chips (powered or not, held in reset or
 * not) → load current and heat (the thermal model's f·V² power) → regulator/INA260 telemetry and PGOOD.
 * GPIO lines and the I2C bus are the same emulated parts the host drivers talk to, so a bring-up in the
 * wrong order fails here the way it does on the bench: no chip answers before the core is up and reset
 * is released, and a chip that lost power forgets its configuration.
 */
import type { Clock, TimerHandle } from '../../lib/clock.ts';
import type { EmulatedChain } from '../bm13xx/chain.ts';
import type { EmulatedI2cBus } from '../sensors/i2c-bus.ts';
import type { ThermalModel } from '../sensors/thermal-model.ts';
import { EmulatedDs4432u } from './ds4432u.ts';
import { EmulatedGpio } from './gpio.ts';
import { EmulatedIna260 } from './ina260.ts';
import { EmulatedTps546 } from './tps546.ts';

const BUCK_EFFICIENCY = 0.88;

export interface EmuLine {
  line: number;
  activeLow: boolean;
}

export interface PowerBoardOptions {
  clock: Clock;
  chain: EmulatedChain;
  model?: ThermalModel;
  bus: EmulatedI2cBus;
  gpio?: EmulatedGpio;
  regulator:
    | { kind: 'tps546'; address: number }
    | { kind: 'ds4432u'; address: number }
    | { kind: 'fixed'; volts: number }
    /** The bridge firmware switches the core (QAxe): on while `enable` is asserted. */
    | { kind: 'bridge'; volts: number };
  monitor?: { kind: 'ina260'; address: number } | { kind: 'none' } | { kind: 'regulator' };
  enable?: EmuLine;
  pgood?: EmuLine;
  reset?: EmuLine;
  /** Chips brown out below this core voltage. */
  minVolts: number;
  /** Chips are damaged above this core voltage (they never answer again in this emulator). */
  maxVolts?: number;
  /** Input supply, V (Bitaxe 5 V, PiAxe/QAxe 12 V). */
  vin?: number;
  /** Model update period, ms (default 20). */
  tickMs?: number;
}

export class EmulatedPowerBoard {
  readonly gpio: EmulatedGpio;
  readonly tps546: EmulatedTps546 | undefined;
  readonly ds4432u: EmulatedDs4432u | undefined;
  readonly ina260: EmulatedIna260 | undefined;
  readonly chain: EmulatedChain;
  private readonly o: PowerBoardOptions;
  private readonly timer: TimerHandle;
  private readonly unsub: () => void;
  /** Fault knobs. */
  pgoodStuckLow = false;
  /**
   * Fault knob: the load shorts once the chips draw more than this current (A). A TPS546 sees the
   * short and latches IOUT_OC (its programmed response); a plain buck trips its own protection and stays
   * off (PGOOD low) until its enable is released. One-shot: the knob disarms when it fires.
   */
  overCurrentAtA: number | undefined;
  /**
   * Fault knob: extra core current (A) while the core is up — a partial short or a failing part that
   * stays below a plain buck's own trip. The board's input (and its INA260) sees it; a TPS546 board
   * takes it through the regulator's own knob (setExtraLoad on the TPS546).
   */
  private extraA = 0;
  /** Faults injected and fired, in order (for `asicd sim` status lines and tests). */
  readonly trips: string[] = [];
  /** A plain buck tripped by over-current: off until its enable is released. */
  private buckTripped = false;
  /** Fault knob: the core regulator is missing or dead (no I2C answer; a plain buck never comes up). */
  private regulatorGone = false;
  /** Input supply, V. */
  vin: number;
  /** Set when the core went above maxVolts (e.g. a DAC-trimmed buck enabled before its DAC was written). */
  damaged: string | undefined;

  constructor(o: PowerBoardOptions) {
    this.o = o;
    this.chain = o.chain;
    this.vin = o.vin ?? 5;
    // Unused pulls: reset lines idle released, enables idle off (PiAxe SDN starts low).
    this.gpio = o.gpio ?? new EmulatedGpio('sim:gpio');
    const r = o.regulator;
    if (r.kind === 'tps546') {
      this.tps546 = new EmulatedTps546({ clock: o.clock, vin: this.vin, load: (v) => this.loadAmps(v) });
      o.bus.attach(r.address, this.tps546);
    }
    if (r.kind === 'ds4432u') {
      this.ds4432u = new EmulatedDs4432u();
      this.ds4432u.onChange = () => this.update();
      o.bus.attach(r.address, this.ds4432u);
    }
    if (o.monitor?.kind === 'ina260') {
      // The INA260 sits on the board's input (ESP-Miner reads input voltage and power from it).
      this.ina260 = new EmulatedIna260(() => ({
        volts: this.vin,
        amps: this.vin > 0 ? this.inputWatts() / this.vin : 0,
      }));
      o.bus.attach(o.monitor.address, this.ina260);
    }
    if (o.pgood) this.gpio.drive(o.pgood.line, o.pgood.activeLow);
    // Lines the host has not driven yet float to "not asserted" except reset, which floats released.
    this.unsub = this.gpio.onChange(() => this.update());
    this.timer = o.clock.setInterval(() => this.update(), o.tickMs ?? 20);
    this.update();
  }

  private asserted(l: EmuLine | undefined, dflt: boolean): boolean {
    if (!l) return dflt;
    return this.gpio.level(l.line) !== l.activeLow;
  }

  /** Enable line asserted (or none wired). */
  get enabled(): boolean {
    return this.asserted(this.o.enable, true);
  }

  get resetHeld(): boolean {
    return this.asserted(this.o.reset, false);
  }

  /** Core voltage now, V. */
  coreVolts(): number {
    const r = this.o.regulator;
    if (this.vin <= 0) return 0;
    switch (r.kind) {
      case 'tps546':
        this.tps546!.vin = this.enabled ? this.vin : 0;
        return this.tps546!.vout;
      case 'ds4432u':
        return this.enabled && !this.buckTripped ? this.ds4432u!.volts : 0;
      default:
        return this.enabled && !this.buckTripped && !this.regulatorGone ? r.volts : 0;
    }
  }

  /** Fault knob: PGOOD drops (a TPS546 reports POWER_GOOD#, a PGOOD line goes low). */
  dropPgood(): void {
    this.trips.push('PGOOD dropped');
    if (this.tps546) this.tps546.pgoodForcedLow = true;
    this.pgoodStuckLow = true;
    this.update();
  }

  /** Fault knob: the regulator does not answer on I2C (not fitted, dead) / a plain buck never starts. */
  setRegulatorMissing(missing: boolean): void {
    this.regulatorGone = missing;
    if (this.tps546) this.tps546.unplugged = missing;
    if (this.ds4432u) this.ds4432u.unplugged = missing;
    this.update();
  }

  /** Why the core is off by a fault, if it is (for `asicd sim` status lines and tests). */
  get faultLatched(): string | undefined {
    if (this.tps546?.latchedFault) return `TPS546 ${this.tps546.latchedFault}`;
    if (this.buckTripped) return 'buck over-current trip';
    return undefined;
  }

  /** Current the chips draw at core voltage v (A): the thermal model's power at that voltage. */
  loadAmps(v: number): number {
    if (v <= 0 || !this.chain.powered) return 0;
    const m = this.o.model;
    const chips = this.chain.chips.length;
    const f = this.chain.chips[0]?.frequencyMhz ?? 50;
    const hashing = m ? m.hashing && this.chain.answering : false;
    const kW = m?.kWatts ?? 15 / (525 * 1.15 * 1.15);
    const idle = m?.idleWatts ?? 0.6;
    const p = chips * ((hashing ? kW * f * v * v : 0) + (this.chain.answering ? idle : idle * 0.2));
    return p / v + this.extraA;
  }

  /** Fault knob: extra core current (A), 0 removes it. */
  setExtraLoad(amps: number): void {
    if (!Number.isFinite(amps) || amps < 0) throw new RangeError(`extra load: amps ≥ 0, got ${amps}`);
    if (amps > 0) this.trips.push(`extra load ${amps} A`);
    // A TPS546 adds it to its own output current (its IOUT and OC limit see it); a plain buck's load here.
    if (this.tps546) this.tps546.setExtraLoad(amps);
    else this.extraA = amps;
    this.update();
  }

  /** Input power (W): the core's power through the buck's efficiency (what an input INA260 reads). */
  inputWatts(): number {
    return this.powerW() / BUCK_EFFICIENCY;
  }

  powerW(): number {
    const v = this.coreVolts();
    return v * this.loadAmps(v);
  }

  get powerGood(): boolean {
    if (this.pgoodStuckLow) return false;
    if (this.tps546) return this.enabled && this.tps546.powerGood;
    return this.coreVolts() >= this.o.minVolts;
  }

  /** Recomputes the board from its inputs (lines, DAC, regulator). */
  update(): void {
    if (!this.enabled) this.buckTripped = false;
    if (this.overCurrentAtA !== undefined) {
      const v0 = this.coreVolts();
      if (v0 > 0 && this.loadAmps(v0) > this.overCurrentAtA) {
        this.trips.push(`over-current: load ${this.loadAmps(v0).toFixed(1)} A > ${this.overCurrentAtA} A`);
        this.overCurrentAtA = undefined;
        if (this.tps546)
          this.tps546.shortOutput(); // IOUT over its OC limit → its programmed response
        else this.buckTripped = true;
      }
    }
    const v = this.coreVolts();
    if (this.o.maxVolts !== undefined && v > this.o.maxVolts && !this.damaged)
      this.damaged = `core at ${v.toFixed(3)} V, above the chips' ${this.o.maxVolts} V maximum`;
    this.chain.setSupply(this.damaged ? 0 : v, this.o.minVolts);
    this.chain.setResetHeld(this.resetHeld);
    this.o.model?.setVoltage(v);
    if (this.o.pgood) this.gpio.drive(this.o.pgood.line, this.powerGood !== this.o.pgood.activeLow);
  }

  close(): void {
    this.o.clock.clearInterval(this.timer);
    this.unsub();
  }
}

export { EmulatedDs4432u, EmulatedGpio, EmulatedIna260, EmulatedTps546 };
