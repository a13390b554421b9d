/**
 * Variable difficulty for one miner connection — pure and clocked (times are passed in, ms).
 *
 * Aim: one accepted share every `targetSeconds`. After at least `windowSeconds` (or `maxShares` shares,
 * whichever comes first) the observed rate gives the difficulty that would have hit the aim; the change
 * is capped at ×4 / ÷4 per step and ignored when within ×0.67..×1.5 (no churn). With no share at all
 * for 3 windows the difficulty halves (a miner that was given too much work). Fractional difficulties
 * are normal (small boards and test rigs); values are rounded to 4 significant digits and clamped to
 * [min, max] (min also rises to a difficulty the miner suggested).
 */
export interface VardiffOptions {
  targetSeconds?: number;
  windowSeconds?: number;
  maxShares?: number;
  min?: number;
  max?: number;
}

export function roundDifficulty(d: number): number {
  if (!Number.isFinite(d) || d <= 0) return d;
  return Number(d.toPrecision(4));
}

export class Vardiff {
  readonly targetSeconds: number;
  readonly windowSeconds: number;
  readonly maxShares: number;
  min: number;
  readonly max: number;
  private since: number;
  private shares = 0;
  difficulty: number;
  constructor(difficulty: number, now: number, o: VardiffOptions = {}) {
    this.difficulty = difficulty;
    this.targetSeconds = o.targetSeconds ?? 10;
    this.windowSeconds = o.windowSeconds ?? 60;
    this.maxShares = o.maxShares ?? 24;
    this.min = o.min ?? 1e-8;
    this.max = o.max ?? 1e15;
    this.since = now;
  }

  /** The miner asked for a difficulty: take it (clamped) and treat it as the floor. */
  suggest(d: number, now: number): number {
    this.min = Math.min(Math.max(this.min, d), this.max);
    this.difficulty = Math.min(Math.max(d, this.min), this.max);
    this.reset(now);
    return this.difficulty;
  }

  /** Starts from a difficulty learned earlier for the same worker (clamped; the floor is unchanged). */
  resume(d: number, now: number): void {
    if (!Number.isFinite(d) || d <= 0) return;
    this.difficulty = roundDifficulty(Math.min(Math.max(d, this.min), this.max));
    this.reset(now);
  }

  reset(now: number): void {
    this.since = now;
    this.shares = 0;
  }

  /** Counts an accepted share; returns a new difficulty when it should change. */
  onShare(now: number): number | undefined {
    this.shares++;
    return this.evaluate(now);
  }

  /** Periodic check (also catches a silent miner); returns a new difficulty when it should change. */
  evaluate(now: number): number | undefined {
    const elapsed = (now - this.since) / 1000;
    if (this.shares === 0) {
      if (elapsed >= 3 * this.windowSeconds) return this.apply(this.difficulty / 2, now);
      return undefined;
    }
    if (elapsed < this.windowSeconds && this.shares < this.maxShares) return undefined;
    if (elapsed <= 0) return undefined;
    const rate = this.shares / elapsed;
    let ideal = this.difficulty * rate * this.targetSeconds;
    ideal = Math.min(Math.max(ideal, this.difficulty / 4), this.difficulty * 4);
    const ratio = ideal / this.difficulty;
    if (ratio > 0.67 && ratio < 1.5) {
      this.reset(now);
      return undefined;
    }
    return this.apply(ideal, now);
  }

  private apply(d: number, now: number): number | undefined {
    const next = roundDifficulty(Math.min(Math.max(d, this.min), this.max));
    this.reset(now);
    if (next === this.difficulty) return undefined;
    this.difficulty = next;
    return next;
  }
}
