/**
 * Fan duty decision: PID to a target temperature on an EMA of the hottest sensor (ESP-Miner's
 * scheme: α = 0.2, 70 % "startup" until the first valid reading, output clamped to [minDuty, 100]),
 * or a manual duty. Pure: it is given readings and time and returns a duty; the monitor writes it to
 * the fan and overrides it with 100 % while the protection holds the board in a fail-safe state.
 */
import { clamp, Pid, type PidGains } from './pid.ts';

export interface FanControllerOptions {
  /** PID setpoint, °C (default 60). */
  targetC?: number;
  /** Lowest automatic duty, % (default 25). */
  minDuty?: number;
  /** Duty before the first valid reading, % (default 70). */
  startupDuty?: number;
  gains?: Partial<PidGains>;
  /** EMA weight of a new reading (default 0.2). */
  emaAlpha?: number;
  /** Start in manual mode at this duty. */
  manualDuty?: number;
}

export type FanMode = 'startup' | 'auto' | 'manual' | 'forced';

export const FAN_DEFAULTS = { targetC: 60, minDuty: 25, startupDuty: 70, emaAlpha: 0.2 } as const;
export const DEFAULT_GAINS: PidGains = { kp: 5, ki: 0.1, kd: 2 };

/** Thrown for out-of-range settings; names the field and the allowed range. */
export class ThermalConfigError extends Error {
  override readonly name = 'ThermalConfigError';
  readonly field: string;
  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.field = field;
  }
}

export function checkRange(field: string, v: unknown, lo: number, hi: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi) {
    throw new ThermalConfigError(field, `must be a number in [${lo}, ${hi}], got ${JSON.stringify(v)}`);
  }
  return v;
}

export class FanController {
  private readonly pid: Pid;
  private targetC: number;
  readonly minDuty: number;
  private readonly startupDuty: number;
  private readonly alpha: number;
  private manual: number | undefined;
  private ema: number | undefined;
  private lastAt: number | undefined;
  private last: number;

  constructor(o: FanControllerOptions = {}) {
    this.targetC = checkRange('fan.targetC', o.targetC ?? FAN_DEFAULTS.targetC, 30, 95);
    this.minDuty = checkRange('fan.minDuty', o.minDuty ?? FAN_DEFAULTS.minDuty, 0, 100);
    this.startupDuty = checkRange(
      'fan.startupDuty',
      o.startupDuty ?? FAN_DEFAULTS.startupDuty,
      this.minDuty,
      100,
    );
    this.alpha = checkRange('fan.emaAlpha', o.emaAlpha ?? FAN_DEFAULTS.emaAlpha, 0.01, 1);
    const gains = { ...DEFAULT_GAINS, ...o.gains };
    for (const k of ['kp', 'ki', 'kd'] as const) checkRange(`fan.gains.${k}`, gains[k], 0, 1000);
    this.pid = new Pid(gains, this.minDuty, 100);
    this.manual = o.manualDuty === undefined ? undefined : checkRange('fan.manualDuty', o.manualDuty, 0, 100);
    this.last = this.manual ?? this.startupDuty;
  }

  get target(): number {
    return this.targetC;
  }

  setTarget(c: number): void {
    this.targetC = checkRange('fan.targetC', c, 30, 95);
  }

  /** Manual duty (0..100), or undefined to return to automatic control. */
  setManual(duty: number | undefined): void {
    if (duty === undefined) {
      if (this.manual !== undefined) this.pid.reset(this.last);
      this.manual = undefined;
      return;
    }
    this.manual = checkRange('fan.manualDuty', duty, 0, 100);
  }

  get mode(): Exclude<FanMode, 'forced'> {
    return this.manual !== undefined ? 'manual' : this.ema === undefined ? 'startup' : 'auto';
  }

  /** The filtered temperature the PID sees (undefined before the first reading). */
  get filteredC(): number | undefined {
    return this.ema;
  }

  /**
   * Feeds the hottest reading (or undefined when unknown) at time `nowMs`; returns the duty.
   * An unknown temperature keeps the filter and holds the last automatic output (the protection
   * forces 100 % if it lasts).
   */
  update(tempC: number | undefined, nowMs: number): number {
    const dt = this.lastAt === undefined ? 0 : (nowMs - this.lastAt) / 1000;
    if (tempC !== undefined && Number.isFinite(tempC)) {
      this.lastAt = nowMs;
      if (this.ema === undefined) {
        this.ema = tempC;
        this.pid.reset(this.last);
      } else this.ema += this.alpha * (tempC - this.ema);
      if (this.manual === undefined) this.last = this.pid.step(this.ema, this.targetC, dt);
    }
    if (this.manual !== undefined) return this.manual;
    return clamp(this.last, this.minDuty, 100);
  }
}
