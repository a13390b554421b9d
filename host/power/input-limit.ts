/**
 * Host-side over-current protection from an input power monitor (INA260), for boards whose regulator
 * reports no status and that have no PGOOD line (DS4432U-trimmed Bitaxes): a pure, clocked decision like
 * host/thermal's Protection. It keeps no timers and does no I/O; every reading carries its time.
 *
 * Rule: a reading above the board's input current or input power limit starts an over-limit run; the run
 * continues while every reading stays above; a reading within both limits ends it. When a reading above
 * the limit arrives `debounceMs` or more after the run began, the decision is to trip (the power
 * controller latches the same safe stop as a regulator fault: chips held in reset, core off, fans 100 %,
 * event). A missing reading (the monitor did not answer) neither extends nor ends the run: it is unknown,
 * and the next real reading decides. Readings are the monitor's: input amps and watts.
 */
import type { InputLimitSpec as InputLimit } from '../../boards/types.ts';

export type { InputLimitSpec as InputLimit } from '../../boards/types.ts';

export interface InputSample {
  currentA: number | null;
  powerW: number | null;
}

export class InputLimitGuard {
  readonly limit: InputLimit;
  private overSince: number | undefined;
  private worst = { a: 0, w: 0 };

  constructor(limit: InputLimit) {
    if (!(limit.maxA > 0) || !(limit.maxW > 0) || !(limit.debounceMs >= 0))
      throw new Error(
        `input limit: maxA and maxW must be > 0 and debounceMs ≥ 0, got ${JSON.stringify(limit)}`,
      );
    this.limit = limit;
  }

  /** The over-limit run began at this clock time (undefined: within limits). */
  get overSinceMs(): number | undefined {
    return this.overSince;
  }

  /** Forget the run (power switched off, fault cleared, new bring-up). */
  reset(): void {
    this.overSince = undefined;
    this.worst = { a: 0, w: 0 };
  }

  /**
   * One monitor reading at clock time `now` (null: no reading). Returns the trip reason when the input
   * has stayed above a limit for the debounce time, else undefined.
   */
  update(now: number, r: InputSample | null): string | undefined {
    if (!r || (r.currentA === null && r.powerW === null)) return undefined;
    const a = r.currentA ?? 0;
    const w = r.powerW ?? 0;
    const over = a > this.limit.maxA || w > this.limit.maxW;
    if (!over) {
      this.reset();
      return undefined;
    }
    if (this.overSince === undefined) {
      this.overSince = now;
      this.worst = { a, w };
    } else this.worst = { a: Math.max(this.worst.a, a), w: Math.max(this.worst.w, w) };
    const held = now - this.overSince;
    if (held < this.limit.debounceMs) return undefined;
    const l = this.limit;
    const what =
      this.worst.a > l.maxA
        ? `input over-current ${this.worst.a.toFixed(2)} A > ${l.maxA} A`
        : `input over-power ${this.worst.w.toFixed(1)} W > ${l.maxW} W`;
    return `${what} for ${(held / 1000).toFixed(1)} s (power monitor)`;
  }
}
