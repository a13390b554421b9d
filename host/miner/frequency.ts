/**
 * The board's frequency book (pure: no clock, no I/O). Three numbers per board:
 *
 * - the **target**: what the chains should run at. A request moves it at once, so a chain initialising
 *   or parked meanwhile ramps straight to it at its init;
 * - what **each chain took** (an init or a setFrequency that completed);
 * - the **recorded** frequency, the one the state, the thermal model and the hashrate estimate use: it
 *   becomes the target only once every running chain took it. A chain refusing the new clock (a UART
 *   write failing) leaves it where it was, and the target goes back unless a later request moved it.
 *
 * The Miner carries out the writes (host/miner/daemon.ts); control.ts range-checks what a user asks for.
 */

export interface FrequencyLimits {
  min: number;
  max: number;
}

export class FrequencyBook {
  readonly limits: FrequencyLimits;
  private rec: number;
  private tgt: number;
  private readonly chainMhz: Array<number | undefined>;

  constructor(o: { limits: FrequencyLimits; initial: number; chains: number }) {
    this.limits = { min: o.limits.min, max: o.limits.max };
    this.rec = this.clamp(o.initial);
    this.tgt = this.rec;
    this.chainMhz = Array.from({ length: o.chains }, () => undefined);
  }

  /** The frequency every running chain took (what the state shows). */
  get recorded(): number {
    return this.rec;
  }

  /** The frequency the chains should run at. */
  get target(): number {
    return this.tgt;
  }

  /** `mhz` within the board's limits (NaN → the minimum: never above the limit). */
  clamp(mhz: number): number {
    if (Number.isNaN(mhz)) return this.limits.min;
    return Math.min(this.limits.max, Math.max(this.limits.min, mhz));
  }

  /** A new target, clamped; returns it and the target before (for `refused`). */
  request(mhz: number): { mhz: number; before: number } {
    const before = this.tgt;
    this.tgt = this.clamp(mhz);
    return { mhz: this.tgt, before };
  }

  /** A chain refused `mhz`: the target goes back to `before`, unless another request moved it since. */
  refused(mhz: number, before: number): void {
    if (this.tgt === mhz) this.tgt = before;
  }

  /** Chain `i` runs at `mhz` now (its init or a setFrequency completed). */
  took(i: number, mhz: number): void {
    if (i >= 0 && i < this.chainMhz.length) this.chainMhz[i] = mhz;
  }

  /** What chain `i` took last (undefined before its first init). */
  chain(i: number): number | undefined {
    return this.chainMhz[i];
  }

  /** Chain `i` does not run at the target (it needs a retune before it is fed). */
  offTarget(i: number): boolean {
    return this.chainMhz[i] !== this.tgt;
  }

  /**
   * Records the target once every running chain (running[i] true) took it. Returns the newly recorded
   * frequency, or undefined when nothing changed (already recorded, no chain running, or a running chain
   * not there yet).
   */
  settle(running: readonly boolean[]): number | undefined {
    const f = this.tgt;
    if (f === this.rec) return undefined;
    let any = false;
    for (let i = 0; i < this.chainMhz.length; i++) {
      if (!running[i]) continue;
      any = true;
      if (this.chainMhz[i] !== f) return undefined;
    }
    if (!any) return undefined;
    this.rec = f;
    return f;
  }
}
