/**
 * A bucketed rate meter: add amounts at times, read the rate over a trailing window. Buckets of
 * `bucketMs` cover up to `spanMs`; memory is fixed (no per-event storage).
 */
export class RateMeter {
  private readonly buckets: Float64Array;
  private readonly stamps: Float64Array;
  private total = 0;
  readonly startedAt: number;

  readonly bucketMs: number;
  readonly spanMs: number;
  constructor(now: number, bucketMs = 5000, spanMs = 3_600_000) {
    this.bucketMs = bucketMs;
    this.spanMs = spanMs;
    const n = Math.ceil(spanMs / bucketMs) + 1;
    this.buckets = new Float64Array(n);
    this.stamps = new Float64Array(n).fill(-1);
    this.startedAt = now;
  }

  add(now: number, amount: number): void {
    const idx = Math.floor(now / this.bucketMs);
    const slot = idx % this.buckets.length;
    if (this.stamps[slot] !== idx) {
      this.stamps[slot] = idx;
      this.buckets[slot] = 0;
    }
    this.buckets[slot]! += amount;
    this.total += amount;
  }

  /** Amount per second over the last `windowMs` (shorter while the meter is younger than the window). */
  rate(now: number, windowMs: number): number {
    const idx = Math.floor(now / this.bucketMs);
    const nb = Math.min(this.buckets.length - 1, Math.ceil(windowMs / this.bucketMs));
    let sum = 0;
    for (let i = 0; i <= nb; i++) {
      const want = idx - i;
      const slot = ((want % this.buckets.length) + this.buckets.length) % this.buckets.length;
      if (this.stamps[slot] === want) sum += this.buckets[slot]!;
    }
    const covered = Math.min(windowMs + (now % this.bucketMs), now - this.startedAt);
    return covered > 0 ? sum / (covered / 1000) : 0;
  }

  /** Average since the meter started. */
  average(now: number): number {
    const s = (now - this.startedAt) / 1000;
    return s > 0 ? this.total / s : 0;
  }

  get sum(): number {
    return this.total;
  }
}
