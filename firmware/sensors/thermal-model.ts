/**
 * A lumped thermal model of an ASIC board for the emulators: one thermal mass (die + heatsink) heated
 * by the chips and cooled through the heatsink by ambient air, better with more airflow from the fan.
 *
 *   P   = chips × (hashing ? k·f·V² : 0) + chips × idleW           (dynamic CMOS power ∝ f·V²)
 *   G   = gPassive + gFan × airflow,  airflow = rpm / maxRpm
 *   C·dT/dt = P − G·(T − ambient)                                    (first order, exact per step)
 *
 * The fan's rpm follows its duty with a first-order lag; `fanFailed` makes it spin down to 0 whatever
 * the duty. Time comes from the Clock: the state is integrated lazily (in ≤ 100 ms steps) up to
 * clock.now() whenever it is read or an input changes, so it needs no timers and is exact with
 * ManualClock. Defaults approximate a single BM1370 board (~15 W at 525 MHz / 1.15 V).
 */
import type { Clock } from '../../lib/clock.ts';

export interface ThermalModelOptions {
  clock: Clock;
  ambientC?: number;
  chips?: number;
  frequencyMHz?: number;
  voltageV?: number;
  hashing?: boolean;
  /** W per chip per (MHz·V²) while hashing. */
  kWatts?: number;
  /** W per chip when idle (clock running, no work). */
  idleWatts?: number;
  /** J/K. */
  thermalMass?: number;
  /** W/K with the fan stopped. */
  gPassive?: number;
  /** Extra W/K at full airflow. */
  gFan?: number;
  maxRpm?: number;
  /** Fan spin-up/down time constant, ms. */
  fanTauMs?: number;
  /** Initial temperature (default ambient). */
  initialC?: number;
  initialDuty?: number;
}

const STEP_MS = 100;

export class ThermalModel {
  readonly clock: Clock;
  private t: number;
  private temp: number;
  private rpmNow: number;
  private duty: number;
  ambientC: number;
  chips: number;
  frequencyMHz: number;
  voltageV: number;
  hashing: boolean;
  fanFailed = false;
  readonly kWatts: number;
  readonly idleWatts: number;
  readonly thermalMass: number;
  readonly gPassive: number;
  readonly gFan: number;
  readonly maxRpm: number;
  readonly fanTauMs: number;

  constructor(o: ThermalModelOptions) {
    this.clock = o.clock;
    this.t = o.clock.now();
    this.ambientC = o.ambientC ?? 25;
    this.chips = o.chips ?? 1;
    this.frequencyMHz = o.frequencyMHz ?? 525;
    this.voltageV = o.voltageV ?? 1.15;
    this.hashing = o.hashing ?? true;
    this.kWatts = o.kWatts ?? 15 / (525 * 1.15 * 1.15);
    this.idleWatts = o.idleWatts ?? 0.6;
    this.thermalMass = o.thermalMass ?? 60;
    this.gPassive = o.gPassive ?? 0.08;
    this.gFan = o.gFan ?? 0.45;
    this.maxRpm = o.maxRpm ?? 6000;
    this.fanTauMs = o.fanTauMs ?? 1500;
    this.temp = o.initialC ?? this.ambientC;
    this.duty = o.initialDuty ?? 0;
    this.rpmNow = (this.duty / 100) * this.maxRpm;
  }

  /** Heat input now, W. */
  powerW(): number {
    if (this.voltageV <= 0) return 0; // core switched off (power-aware boards set the voltage to 0)
    const dyn = this.hashing ? this.kWatts * this.frequencyMHz * this.voltageV * this.voltageV : 0;
    return this.chips * (dyn + this.idleWatts);
  }

  private conductance(): number {
    return this.gPassive + this.gFan * Math.min(1, this.rpmNow / this.maxRpm);
  }

  /** Integrates up to clock.now(). */
  update(): void {
    const now = this.clock.now();
    while (this.t < now) {
      const dtMs = Math.min(STEP_MS, now - this.t);
      const dt = dtMs / 1000;
      const rpmTarget = this.fanFailed ? 0 : (this.duty / 100) * this.maxRpm;
      this.rpmNow += (rpmTarget - this.rpmNow) * (1 - Math.exp(-dtMs / this.fanTauMs));
      const g = this.conductance();
      const eq = this.ambientC + this.powerW() / g;
      this.temp = eq + (this.temp - eq) * Math.exp((-g * dt) / this.thermalMass);
      this.t += dtMs;
    }
  }

  /** Chip (die) temperature, °C. */
  chipTempC(): number {
    this.update();
    return this.temp;
  }

  /** Board temperature near the chips: ambient + coupling × (chip − ambient). */
  boardTempC(coupling = 0.8): number {
    const chip = this.chipTempC();
    return this.ambientC + coupling * (chip - this.ambientC);
  }

  fanRpm(): number {
    this.update();
    return this.rpmNow;
  }

  fanDuty(): number {
    return this.duty;
  }

  setFanDuty(percent: number): void {
    this.update();
    this.duty = Math.max(0, Math.min(100, percent));
  }

  setHashing(on: boolean): void {
    this.update();
    this.hashing = on;
  }

  setFrequency(mhz: number): void {
    this.update();
    this.frequencyMHz = mhz;
  }

  setVoltage(v: number): void {
    this.update();
    this.voltageV = v;
  }

  setAmbient(c: number): void {
    this.update();
    this.ambientC = c;
  }

  setFanFailed(failed: boolean): void {
    this.update();
    this.fanFailed = failed;
  }

  /** Forces the temperature (test setup). */
  setTemperature(c: number): void {
    this.update();
    this.temp = c;
  }

  /** Steady-state chip temperature for the present inputs and a fan spinning at `duty`. */
  equilibriumC(duty = this.duty): number {
    const g = this.gPassive + this.gFan * (this.fanFailed ? 0 : duty / 100);
    return this.ambientC + this.powerW() / g;
  }
}
