/**
 * Injectable time. Everything that waits, times out, backs off or samples goes through a Clock, so
 * failover, backoff and thermal tests run instantly and deterministically with ManualClock.
 */
export type TimerHandle = { readonly id: number };

export interface Clock {
  /** Milliseconds; monotonic for SystemClock (performance.timeOrigin + performance.now()). */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle | undefined): void;
  setInterval(fn: () => void, ms: number): TimerHandle;
  clearInterval(handle: TimerHandle | undefined): void;
  sleep(ms: number): Promise<void>;
}

class SystemClock implements Clock {
  private readonly timers = new Map<number, NodeJS.Timeout>();
  private seq = 0;
  now(): number {
    return performance.timeOrigin + performance.now();
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = ++this.seq;
    const t = setTimeout(() => {
      this.timers.delete(id);
      fn();
    }, ms);
    this.timers.set(id, t);
    return { id };
  }
  clearTimeout(handle: TimerHandle | undefined): void {
    if (!handle) return;
    const t = this.timers.get(handle.id);
    if (t) clearTimeout(t);
    this.timers.delete(handle.id);
  }
  setInterval(fn: () => void, ms: number): TimerHandle {
    const id = ++this.seq;
    this.timers.set(id, setInterval(fn, ms));
    return { id };
  }
  clearInterval(handle: TimerHandle | undefined): void {
    if (!handle) return;
    const t = this.timers.get(handle.id);
    if (t) clearInterval(t);
    this.timers.delete(handle.id);
  }
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.setTimeout(resolve, ms));
  }
}

export const systemClock: Clock = new SystemClock();

interface ManualTimer {
  id: number;
  at: number;
  every: number | undefined;
  fn: () => void;
}

/**
 * A clock that only moves when told to. `advance(ms)` fires due timers in time order (timers scheduled
 * by callbacks during the advance fire too if they fall inside the window). `advanceAsync` also lets
 * promise continuations run between timers, which is what async code under test needs.
 */
export class ManualClock implements Clock {
  private t: number;
  private seq = 0;
  private readonly timers = new Map<number, ManualTimer>();

  constructor(start = 1_700_000_000_000) {
    this.t = start;
  }
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = ++this.seq;
    this.timers.set(id, { id, at: this.t + Math.max(0, ms), every: undefined, fn });
    return { id };
  }
  clearTimeout(handle: TimerHandle | undefined): void {
    if (handle) this.timers.delete(handle.id);
  }
  setInterval(fn: () => void, ms: number): TimerHandle {
    const id = ++this.seq;
    const every = Math.max(1, ms);
    this.timers.set(id, { id, at: this.t + every, every, fn });
    return { id };
  }
  clearInterval(handle: TimerHandle | undefined): void {
    if (handle) this.timers.delete(handle.id);
  }
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.setTimeout(resolve, ms));
  }
  /** Number of timers still scheduled (tests assert this is 0 after stop()). */
  pending(): number {
    return this.timers.size;
  }
  private nextDue(until: number): ManualTimer | undefined {
    let best: ManualTimer | undefined;
    for (const timer of this.timers.values()) {
      if (
        timer.at <= until &&
        (!best || timer.at < best.at || (timer.at === best.at && timer.id < best.id))
      ) {
        best = timer;
      }
    }
    return best;
  }
  private fire(timer: ManualTimer): void {
    this.t = Math.max(this.t, timer.at);
    if (timer.every === undefined) this.timers.delete(timer.id);
    else timer.at += timer.every;
    timer.fn();
  }
  /** Moves time forward by `ms`, firing due timers synchronously. */
  advance(ms: number): void {
    const until = this.t + ms;
    for (let timer = this.nextDue(until); timer; timer = this.nextDue(until)) this.fire(timer);
    this.t = until;
  }
  /** Like advance(), but yields to the microtask/IO queue before and after each timer. */
  async advanceAsync(ms: number, step = Number.POSITIVE_INFINITY): Promise<void> {
    const until = this.t + ms;
    await flush();
    for (;;) {
      const timer = this.nextDue(Math.min(until, this.t + step));
      if (!timer) {
        if (this.t + step >= until) break;
        this.t += step;
        await flush();
        continue;
      }
      this.fire(timer);
      await flush();
    }
    this.t = until;
    await flush();
  }
}

async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
