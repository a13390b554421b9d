/**
 * Exponential backoff with jitter: one pure formula for every retry loop (pool failover, MQTT reconnect,
 * reopening a serial device). Callers keep their own defaults and pass them in; nothing here keeps time.
 *
 *   delay(n) = round( min(maxMs, initialMs · factor^(max(0, n − 1))) · (1 − jitter · random()) )
 *
 * - `n` is the attempt number, 1 = the first retry (n ≤ 1 gives initialMs).
 * - The cap applies before the jitter, so a capped delay still spreads below maxMs.
 * - Jitter only ever *reduces* the delay, by up to `jitter` (a fraction clamped to 0..1): with jitter 0.3
 *   the delay lies in [0.7·d, d]. `random()` is called exactly once per delay (also when jitter is 0),
 *   and must return a number in [0, 1) like Math.random (1 is tolerated: the delay becomes (1 − jitter)·d).
 *
 *   backoffDelay(3, { initialMs: 1000, maxMs: 30_000, jitter: 0.3, random: () => 0.5 })  // 4000 · 0.85 = 3400
 *   const b = new Backoff({ initialMs: 1000, maxMs: 60_000, jitter: 0.5 }); b.next(); b.next(); b.reset();
 */

export interface BackoffPolicy {
  /** Delay before the first retry (ms). */
  initialMs: number;
  /** Cap on the un-jittered delay (ms). */
  maxMs: number;
  /** Growth per attempt (default 2). */
  factor?: number;
  /** 0..1: the delay is multiplied by 1 − jitter·random() (default 0: no jitter). */
  jitter?: number;
  /** Injectable randomness for tests (default Math.random). */
  random?: () => number;
}

/** A policy with any field left out; a caller fills the gaps with its own defaults (withDefaults). */
export type BackoffOptions = Partial<BackoffPolicy>;

/** `o` over `defaults`, field by field (an explicit `undefined` in `o` keeps the default). */
export function withDefaults(o: BackoffOptions | undefined, defaults: BackoffPolicy): BackoffPolicy {
  const p: BackoffPolicy = {
    initialMs: o?.initialMs ?? defaults.initialMs,
    maxMs: o?.maxMs ?? defaults.maxMs,
  };
  const factor = o?.factor ?? defaults.factor;
  const jitter = o?.jitter ?? defaults.jitter;
  const random = o?.random ?? defaults.random;
  if (factor !== undefined) p.factor = factor;
  if (jitter !== undefined) p.jitter = jitter;
  if (random !== undefined) p.random = random;
  return p;
}

/** Delay before retry number `attempt` (1 = first retry); the formula in the module comment. */
export function backoffDelay(attempt: number, p: BackoffPolicy): number {
  const raw = Math.min(p.maxMs, p.initialMs * (p.factor ?? 2) ** Math.max(0, attempt - 1));
  const jitter = Math.min(1, Math.max(0, p.jitter ?? 0));
  return Math.round(raw * (1 - jitter * (p.random ?? Math.random)()));
}

/** The same formula with the attempt counter kept: next() moves one step, reset() after a success. */
export class Backoff {
  private attempt = 0;

  private readonly policy: BackoffPolicy;
  constructor(policy: BackoffPolicy) {
    this.policy = policy;
  }

  /** The next delay; each call moves one step further. */
  next(): number {
    this.attempt++;
    return backoffDelay(this.attempt, this.policy);
  }

  /** Delays handed out since construction or the last reset(). */
  get attempts(): number {
    return this.attempt;
  }

  reset(): void {
    this.attempt = 0;
  }
}
