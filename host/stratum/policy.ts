/**
 * Pool policy: the one state machine that decides which pool to use, when to (re)connect, when a pool is
 * unhealthy and when to go back to the preferred pool. Pure: it keeps no timers and does no I/O; every
 * input carries the time (`now`, clock ms) and returns the actions the caller must carry out, and
 * `nextDeadline()` says when to call `tick(now)` next. PoolManager drives it for every client type (Bitcoin
 * V1, both Ethereum dialects, and any other ManagedClient); tests drive it with a ManualClock.
 *
 *                       ┌──────────── ready ────────────┐
 *   stopped ─start─▶ connecting ──────────────────────▶ active ──fail / unhealthy──▶ connecting (retry,
 *                       ▲   │  every pool failed this round                               backoff)
 *                       │   ▼                                                      or next pool
 *                       └─ idle ◀── (keeps cycling with backoff; 'activate' when one is ready)
 *
 * Rules (defaults in brackets; REFERENCE.md "Pool policy" says why):
 * - Every reconnect path backs off: a failure of the current pool (connect failed, closed, not ready,
 *   bad input…) and a same-host `client.reconnect` both count as one unproductive disconnect; the retry
 *   waits backoff(attempts) [1 s doubling to 30 s, jitter 0.3], or the pool's requested wait if longer.
 *   After `failuresBeforeSwitch` [3] in a row the next pool is tried at once. The count is reset only by
 *   useful work: an accepted share, or a session that stayed up for `stableMs` [60 s] and ended benignly.
 * - A `client.reconnect` asking to wait longer than `reconnectWaitMaxMs` [30 s] means "pool unavailable":
 *   failover at once; the pool comes back through the normal probe.
 * - Liveness is useful work, whatever else the pool sends: no new job for `silenceMs` [120 s], a submit
 *   unanswered for `submitTimeoutMs` [10 s], `unansweredSubmits` [5] submits in a row without an answer
 *   (the first of them sent ≥ 2 s ago), or `rejectRun` [10] rejected shares in a row (the run survives
 *   reconnects and ends only with an accepted share) → the pool is unhealthy: closed, failover at once.
 * - While a fallback is active the preferred pool is probed with a full session; probe n (0-based) waits
 *   min(probeIntervalMs [60 s], probeFirstMs [5 s] · 2^n). n grows with every probe and with every return
 *   that did not last, and is reset when the preferred pool proves useful (accepted share / stable session),
 *   so a pool that flaps is visited less and less often.
 * - When every pool failed in one round: 'idle' (chips must stop), and the list keeps being cycled with
 *   backoff until one pool is ready ('activate').
 * - Standby pools (neither active nor the preferred pool being probed) are probed every `standbyProbeMs`
 *   [0 = never; the mining daemon uses 60 s], one at a time: a session that becomes ready (subscribe, authorize, first job) is
 *   closed at once and the pool is known alive; one that fails is known dead (cgminer shows both). A
 *   failover onto a standby whose probe session is still opening adopts that session.
 */
import { backoffDelay } from '../../lib/backoff.ts';

export interface PoolPolicyOptions {
  /** Number of pools (index 0 is the preferred one at start). */
  pools: number;
  failuresBeforeSwitch?: number;
  backoff?: { baseMs?: number; maxMs?: number; jitter?: number };
  random?: () => number;
  silenceMs?: number;
  submitTimeoutMs?: number;
  unansweredSubmits?: number;
  rejectRun?: number;
  reconnectWaitMaxMs?: number;
  probeFirstMs?: number;
  probeIntervalMs?: number;
  stableMs?: number;
  /** Standby pools are probed this often (one round per interval); 0 = never (the default). */
  standbyProbeMs?: number;
}

export const POLICY_DEFAULTS = {
  failuresBeforeSwitch: 3,
  backoff: { baseMs: 1000, maxMs: 30_000, jitter: 0.3 },
  silenceMs: 120_000,
  submitTimeoutMs: 10_000,
  unansweredSubmits: 5,
  /** How long the first of a run of unanswered submits must have waited before the run counts. */
  unansweredGraceMs: 2000,
  rejectRun: 10,
  reconnectWaitMaxMs: 30_000,
  probeFirstMs: 5000,
  probeIntervalMs: 60_000,
  stableMs: 60_000,
  /** Off in the bare policy; the mining daemon (host/miner/daemon.ts) probes standbys every 60 s. */
  standbyProbeMs: 0,
} as const;

/** What the last probe of a standby pool found. */
export interface StandbyHealth {
  alive: boolean;
  /** When the probe ended (clock ms). */
  at: number;
  /** Why it failed (the disconnect reason), when it did. */
  reason?: string;
}

export type PolicyState = 'stopped' | 'connecting' | 'active' | 'idle';

export interface SwitchRecord {
  from: number;
  to: number;
  reason: string;
  at: number;
}

export type PolicyAction =
  /** Open a session to the pool (a probe when `probe`). */
  | { kind: 'connect'; pool: number; probe: boolean }
  /** Close the pool's connection now (its pending submits end as no-answer). */
  | { kind: 'close'; pool: number; detail: string }
  /** Let the pool's pending submits finish, then close it. */
  | { kind: 'drain'; pool: number }
  /** The pool's session feeds the jobs from now on. */
  | { kind: 'activate'; pool: number; becameActive: boolean; switched: SwitchRecord | undefined }
  /** Every pool failed: the chips must idle. */
  | { kind: 'idle'; reason: string }
  | { kind: 'log'; level: 'info' | 'warn' | 'error'; event: string; fields: Record<string, unknown> };

/** How a submit ended, as far as the policy cares. */
export type SubmitEnd =
  | { status: 'accepted' }
  | { status: 'rejected'; reason: string }
  | { status: 'no-answer'; cause: 'timeout' | 'disconnect' }
  | { status: 'stale-local' };

/** Why the policy dropped a pool that was still connected. */
export type UnhealthyReason = 'silence' | 'submit-timeout' | 'unanswered-submits' | 'reject-run';

interface PoolState {
  /** A connect was issued and no disconnect seen since. */
  open: boolean;
  /** Unproductive disconnects in a row (backoff exponent); reset only by useful work. */
  attempts: number;
  /** Failures during this visit (switch threshold); also reset when the pool is left. */
  tries: number;
  /** Probes launched (or returns that did not last) since the pool last proved useful. */
  probeAttempts: number;
  readyAt: number | undefined;
  lastJobAt: number | undefined;
  /** Submit id → time sent, for the live session. */
  pending: Map<number, number>;
  /** Submits sent since the last answer, and when the first of them was sent. */
  unanswered: number;
  unansweredSince: number | undefined;
  /** Rejected shares in a row (across sessions; an accepted share ends the run). */
  rejectRun: number;
  /** Set when the policy closes the pool itself: the disconnect that follows is not another failure. */
  verdict: string | undefined;
  /** The pool became active after a probe; a failure before it is stable makes the next probe later. */
  returned: boolean;
}

export interface PolicySnapshot {
  state: PolicyState;
  preferred: number;
  current: number;
  active: number | undefined;
  probing: number | undefined;
  nextProbeAt: number | undefined;
  lastSwitchAt: number | undefined;
  lastSwitchReason: string | undefined;
  switches: number;
  pools: Array<{
    attempts: number;
    probeAttempts: number;
    rejectRun: number;
    unanswered: number;
    /** The last standby probe's result, while the pool is a standby (cleared when it is used). */
    standby: StandbyHealth | undefined;
  }>;
  /** Standby pool being probed now. */
  standbyProbing: number | undefined;
}

export class PoolPolicy {
  private readonly o: Required<Omit<PoolPolicyOptions, 'backoff' | 'random'>> & {
    backoff: { baseMs: number; maxMs: number; jitter: number };
  };
  private readonly random: () => number;
  private readonly p: PoolState[];
  private readonly failedThisRound = new Set<number>();
  private st: PolicyState = 'stopped';
  private preferredIdx = 0;
  private currentIdx = 0;
  private activeIdx: number | undefined;
  private probingIdx: number | undefined;
  private idleRounds = 0;
  private retryAt: { pool: number; at: number } | undefined;
  private probeAt: number | undefined;
  private lastFed: number | undefined;
  private lastSwitchAt: number | undefined;
  private lastSwitchReason: string | undefined;
  private switches = 0;
  private standbyAt: number | undefined;
  private standbyIdx: number | undefined;
  /** Standby pools still to probe in this round. */
  private standbyQueue: number[] = [];
  private readonly standby: Array<StandbyHealth | undefined>;

  constructor(opts: PoolPolicyOptions) {
    if (!Number.isInteger(opts.pools) || opts.pools < 1) throw new Error('pool policy: at least one pool');
    const d = POLICY_DEFAULTS;
    this.o = {
      pools: opts.pools,
      failuresBeforeSwitch: Math.max(1, opts.failuresBeforeSwitch ?? d.failuresBeforeSwitch),
      backoff: {
        baseMs: opts.backoff?.baseMs ?? d.backoff.baseMs,
        maxMs: opts.backoff?.maxMs ?? d.backoff.maxMs,
        jitter: opts.backoff?.jitter ?? d.backoff.jitter,
      },
      silenceMs: opts.silenceMs ?? d.silenceMs,
      submitTimeoutMs: opts.submitTimeoutMs ?? d.submitTimeoutMs,
      unansweredSubmits: Math.max(1, opts.unansweredSubmits ?? d.unansweredSubmits),
      rejectRun: Math.max(1, opts.rejectRun ?? d.rejectRun),
      reconnectWaitMaxMs: opts.reconnectWaitMaxMs ?? d.reconnectWaitMaxMs,
      probeFirstMs: opts.probeFirstMs ?? d.probeFirstMs,
      probeIntervalMs: opts.probeIntervalMs ?? d.probeIntervalMs,
      stableMs: opts.stableMs ?? d.stableMs,
      standbyProbeMs: Math.max(0, opts.standbyProbeMs ?? d.standbyProbeMs),
    };
    this.standby = Array.from({ length: opts.pools }, () => undefined);
    this.random = opts.random ?? Math.random;
    this.p = Array.from({ length: opts.pools }, () => ({
      open: false,
      attempts: 0,
      tries: 0,
      probeAttempts: 0,
      readyAt: undefined,
      lastJobAt: undefined,
      pending: new Map(),
      unanswered: 0,
      unansweredSince: undefined,
      rejectRun: 0,
      verdict: undefined,
      returned: false,
    }));
  }

  get state(): PolicyState {
    return this.st;
  }
  get active(): number | undefined {
    return this.activeIdx;
  }
  get current(): number {
    return this.currentIdx;
  }
  get preferred(): number {
    return this.preferredIdx;
  }
  get probing(): number | undefined {
    return this.probingIdx;
  }
  /** Unproductive disconnects in a row of pool `i`. */
  attempts(i: number): number {
    return this.p[i]!.attempts;
  }

  snapshot(): PolicySnapshot {
    return {
      state: this.st,
      preferred: this.preferredIdx,
      current: this.currentIdx,
      active: this.activeIdx,
      probing: this.probingIdx,
      nextProbeAt: this.probeAt,
      lastSwitchAt: this.lastSwitchAt,
      lastSwitchReason: this.lastSwitchReason,
      switches: this.switches,
      pools: this.p.map((x, i) => ({
        attempts: x.attempts,
        probeAttempts: x.probeAttempts,
        rejectRun: x.rejectRun,
        unanswered: x.unanswered,
        standby: this.standby[i],
      })),
      standbyProbing: this.standbyIdx,
    };
  }

  /** The earliest time at which tick() has something to do (undefined: nothing scheduled). */
  nextDeadline(): number | undefined {
    if (this.st === 'stopped') return undefined;
    let at = Number.POSITIVE_INFINITY;
    if (this.retryAt) at = Math.min(at, this.retryAt.at);
    if (this.probeAt !== undefined) at = Math.min(at, this.probeAt);
    if (this.standbyAt !== undefined) at = Math.min(at, this.standbyAt);
    const a = this.activeIdx;
    if (a !== undefined) {
      const p = this.p[a]!;
      if (p.lastJobAt !== undefined) at = Math.min(at, p.lastJobAt + this.o.silenceMs);
      for (const sent of p.pending.values()) at = Math.min(at, sent + this.o.submitTimeoutMs);
    }
    return Number.isFinite(at) ? at : undefined;
  }

  // -------------------------------------------------------------------------------------------------
  // Inputs

  start(now: number): PolicyAction[] {
    if (this.st !== 'stopped') return [];
    this.st = 'connecting';
    this.currentIdx = this.preferredIdx;
    return this.connect(this.currentIdx, false, now);
  }

  stop(): void {
    this.st = 'stopped';
    this.retryAt = undefined;
    this.probeAt = undefined;
    this.standbyAt = undefined;
    this.standbyIdx = undefined;
    this.standbyQueue = [];
    this.activeIdx = undefined;
    this.probingIdx = undefined;
  }

  /** A connection of pool `i` is up (a new session: its liveness starts afresh). */
  connected(i: number, _now: number): void {
    const p = this.p[i]!;
    p.open = true;
    p.readyAt = undefined;
    p.lastJobAt = undefined;
    p.pending.clear();
    p.unanswered = 0;
    p.unansweredSince = undefined;
  }

  /** Pool `i` sent a job (useful work: the silence window starts again). */
  job(i: number, now: number): void {
    this.p[i]!.lastJobAt = now;
  }

  /** Pool `i`'s session is healthy (subscribed, authorized, first job). */
  ready(i: number, now: number): PolicyAction[] {
    if (this.st === 'stopped') return [];
    const pi = this.p[i]!;
    pi.readyAt = now;
    pi.lastJobAt ??= now;
    if (i === this.standbyIdx) {
      this.standbyIdx = undefined;
      if (i !== this.currentIdx && i !== this.probingIdx) {
        this.standby[i] = { alive: true, at: now };
        return [
          log('info', 'standby_alive', { index: i }),
          { kind: 'close', pool: i, detail: 'standby probe done' },
          ...this.nextStandby(now),
        ];
      }
    }
    if (i !== this.currentIdx && i !== this.probingIdx)
      return [{ kind: 'close', pool: i, detail: 'not wanted' }];
    this.standby[i] = undefined;
    const out: PolicyAction[] = [];
    const prev = this.activeIdx;
    const fromProbe = i === this.probingIdx;
    const reason = fromProbe ? 'preferred pool healthy again' : (this.lastSwitchReason ?? 'failover');
    if (fromProbe) {
      this.probingIdx = undefined;
      pi.returned = true;
    }
    this.retryAt = undefined;
    const old = this.currentIdx;
    this.currentIdx = i;
    this.activeIdx = i;
    if (old !== i && old !== prev) out.push({ kind: 'close', pool: old, detail: 'superseded by probe' });
    this.failedThisRound.clear();
    this.idleRounds = 0;
    const wasActive = this.st === 'active' && prev !== undefined;
    this.st = 'active';
    out.push(log('info', 'pool_active', { index: i, from: prev }));
    if (prev !== undefined && prev !== i) out.push({ kind: 'drain', pool: prev });
    const from = prev ?? this.lastFed;
    let switched: SwitchRecord | undefined;
    if (from !== undefined && from !== i) {
      this.switches++;
      this.lastSwitchAt = now;
      this.lastSwitchReason = reason;
      switched = { from, to: i, reason, at: now };
    }
    this.lastFed = i;
    out.push({ kind: 'activate', pool: i, becameActive: !wasActive, switched });
    this.scheduleProbe(now);
    if (this.standbyAt === undefined && this.standbyIdx === undefined) this.scheduleStandby(now);
    return out;
  }

  /**
   * Pool `i`'s connection ended (or never came up). `reason` is the client's disconnect reason
   * ('local' = closed by us); `reconnectAfterMs` is set for a client.reconnect request.
   */
  disconnected(
    i: number,
    ev: { reason: string; detail?: string | undefined; reconnectAfterMs?: number | undefined },
    now: number,
  ): PolicyAction[] {
    if (this.st === 'stopped') return [];
    const p = this.p[i]!;
    const verdict = p.verdict;
    const stable = verdict === undefined && p.readyAt !== undefined && now - p.readyAt >= this.o.stableMs;
    p.open = false;
    p.verdict = undefined;
    p.readyAt = undefined;
    p.lastJobAt = undefined;
    p.pending.clear();
    p.unanswered = 0;
    p.unansweredSince = undefined;
    if (stable) this.proved(i);
    if (i === this.standbyIdx) {
      this.standbyIdx = undefined;
      const out: PolicyAction[] = [];
      if (i !== this.currentIdx) {
        this.standby[i] = { alive: false, at: now, reason: ev.reason };
        out.push(log('info', 'standby_dead', { index: i, reason: ev.reason, detail: ev.detail }));
      }
      out.push(...this.nextStandby(now));
      if (i !== this.currentIdx) return out;
      // The failover adopted this session and it failed: the normal failure path below.
    }
    if (i === this.probingIdx) {
      this.probingIdx = undefined;
      const out = [log('info', 'probe_failed', { index: i, reason: ev.reason, detail: ev.detail })];
      this.scheduleProbe(now);
      return out;
    }
    if (verdict !== undefined || ev.reason === 'local') {
      if (i === this.activeIdx) this.activeIdx = undefined;
      return [];
    }
    if (i === this.activeIdx) this.activeIdx = undefined;
    if (i !== this.currentIdx) return [];
    if (ev.reason === 'reconnect-request') {
      const wait = Math.max(0, ev.reconnectAfterMs ?? 0);
      if (wait > this.o.reconnectWaitMaxMs) {
        return this.fail(
          i,
          'reconnect-wait',
          `pool asked to wait ${Math.round(wait / 1000)} s before reconnecting (more than ${this.o.reconnectWaitMaxMs / 1000} s): treated as unavailable`,
          now,
          true,
        );
      }
      return this.fail(i, 'reconnect-request', ev.detail, now, false, wait);
    }
    return this.fail(i, ev.reason, ev.detail, now, ev.reason === 'silence');
  }

  /** A share was sent to pool `i` (id: the caller's, unique per manager). */
  submitSent(i: number, id: number, now: number): PolicyAction[] {
    const p = this.p[i]!;
    p.pending.set(id, now);
    if (p.unanswered === 0) p.unansweredSince = now;
    p.unanswered++;
    if (
      i === this.activeIdx &&
      p.unanswered >= this.o.unansweredSubmits &&
      now - (p.unansweredSince ?? now) >= POLICY_DEFAULTS.unansweredGraceMs
    ) {
      return this.unhealthy(
        i,
        'unanswered-submits',
        `${p.unanswered} submits in a row without an answer (first sent ${now - (p.unansweredSince ?? now)} ms ago)`,
        now,
      );
    }
    return [];
  }

  /** The share `id` sent to pool `i` has its final outcome. */
  submitEnded(i: number, id: number, end: SubmitEnd, now: number): PolicyAction[] {
    const p = this.p[i]!;
    const wasPending = p.pending.delete(id);
    switch (end.status) {
      case 'accepted':
        p.unanswered = 0;
        p.unansweredSince = undefined;
        p.rejectRun = 0;
        this.proved(i);
        return [];
      case 'rejected':
        p.unanswered = 0;
        p.unansweredSince = undefined;
        p.rejectRun++;
        if (i === this.activeIdx && p.rejectRun >= this.o.rejectRun) {
          return this.unhealthy(
            i,
            'reject-run',
            `${p.rejectRun} shares rejected in a row (last: ${end.reason}) with no accepted share`,
            now,
          );
        }
        return [];
      case 'no-answer':
        if (end.cause === 'timeout' && wasPending && i === this.activeIdx) {
          return this.unhealthy(
            i,
            'submit-timeout',
            `a submit was not answered within ${this.o.submitTimeoutMs} ms`,
            now,
          );
        }
        return [];
      case 'stale-local':
        // Never reached the pool: not a submit it left unanswered.
        if (wasPending && p.unanswered > 0) p.unanswered--;
        return [];
    }
  }

  /** Manual choice: pool `i` becomes the preferred pool and is connected now. */
  switchTo(i: number, now: number): PolicyAction[] {
    this.preferredIdx = i;
    const out: PolicyAction[] = [log('info', 'manual_switch', { to: i })];
    if (this.st === 'stopped' || this.activeIdx === i) return out;
    this.retryAt = undefined;
    const old = this.currentIdx;
    const probe = this.probingIdx;
    this.currentIdx = i;
    this.probingIdx = undefined;
    if (old !== i && old !== this.activeIdx) out.push({ kind: 'close', pool: old, detail: 'manual switch' });
    if (probe !== undefined && probe !== i) out.push({ kind: 'close', pool: probe, detail: 'manual switch' });
    this.p[i]!.attempts = 0;
    this.p[i]!.tries = 0;
    this.failedThisRound.clear();
    out.push(...this.connectOrAdopt(i, now));
    return out;
  }

  /** Time passed: due retries, probes and liveness checks. */
  tick(now: number): PolicyAction[] {
    if (this.st === 'stopped') return [];
    const out: PolicyAction[] = [];
    if (this.retryAt && this.retryAt.at <= now) {
      const { pool } = this.retryAt;
      this.retryAt = undefined;
      if (this.currentIdx === pool) out.push(...this.connectOrAdopt(pool, now));
    }
    if (this.probeAt !== undefined && this.probeAt <= now) {
      this.probeAt = undefined;
      const pref = this.preferredIdx;
      if (this.st === 'active' && this.activeIdx !== pref && this.probingIdx === undefined) {
        if (this.p[pref]!.open) this.scheduleProbe(now);
        else {
          this.probingIdx = pref;
          this.p[pref]!.probeAttempts++;
          out.push(log('info', 'probe', { index: pref, attempt: this.p[pref]!.probeAttempts }));
          out.push(...this.connect(pref, true, now));
        }
      }
    }
    if (this.standbyAt !== undefined && this.standbyAt <= now) {
      this.standbyAt = undefined;
      if (this.st === 'active' && this.standbyIdx === undefined) {
        this.standbyQueue = this.standbyPools();
        out.push(...this.nextStandby(now));
      }
    }
    const a = this.activeIdx;
    if (a !== undefined) {
      const p = this.p[a]!;
      if (p.lastJobAt !== undefined && now - p.lastJobAt >= this.o.silenceMs) {
        out.push(...this.unhealthy(a, 'silence', `no new job for ${this.o.silenceMs} ms`, now));
      } else {
        for (const sent of p.pending.values()) {
          if (now - sent >= this.o.submitTimeoutMs) {
            out.push(
              ...this.unhealthy(
                a,
                'submit-timeout',
                `a submit was not answered within ${this.o.submitTimeoutMs} ms`,
                now,
              ),
            );
            break;
          }
        }
      }
    }
    return out;
  }

  // -------------------------------------------------------------------------------------------------

  private connect(i: number, probe: boolean, _now: number): PolicyAction[] {
    this.p[i]!.open = true;
    return [{ kind: 'connect', pool: i, probe }];
  }

  /** Connects pool `i` as the current pool, adopting its standby probe session if one is opening. */
  private connectOrAdopt(i: number, now: number): PolicyAction[] {
    this.standby[i] = undefined;
    if (i === this.standbyIdx && this.p[i]!.open) {
      // Its ready() now activates it; its failure is a failure of the current pool.
      return [log('info', 'standby_adopted', { index: i })];
    }
    return this.connect(i, false, now);
  }

  /** Pools that are neither used nor probed as the preferred pool now. */
  private standbyPools(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.o.pools; i++) {
      if (i === this.activeIdx || i === this.currentIdx || i === this.probingIdx) continue;
      if (this.activeIdx !== undefined && this.activeIdx !== this.preferredIdx && i === this.preferredIdx)
        continue;
      out.push(i);
    }
    return out;
  }

  private scheduleStandby(now: number): void {
    this.standbyAt = this.o.standbyProbeMs > 0 && this.o.pools > 1 ? now + this.o.standbyProbeMs : undefined;
  }

  /** Probes the next standby pool of this round, or schedules the next round. */
  private nextStandby(now: number): PolicyAction[] {
    if (this.st !== 'active') {
      this.standbyQueue = [];
      this.scheduleStandby(now);
      return [];
    }
    const still = new Set(this.standbyPools());
    for (let i = this.standbyQueue.shift(); i !== undefined; i = this.standbyQueue.shift()) {
      if (!still.has(i) || this.p[i]!.open) continue;
      this.standbyIdx = i;
      return [log('info', 'standby_probe', { index: i }), ...this.connect(i, true, now)];
    }
    this.scheduleStandby(now);
    return [];
  }

  /** Pool `i` did useful work: its backoff and probe backoff start afresh. */
  private proved(i: number): void {
    const p = this.p[i]!;
    p.attempts = 0;
    p.tries = 0;
    p.probeAttempts = 0;
    p.returned = false;
  }

  /** The policy drops a connected pool for lack of useful work: close it and fail over at once. */
  private unhealthy(i: number, reason: UnhealthyReason, detail: string, now: number): PolicyAction[] {
    const p = this.p[i]!;
    if (p.verdict !== undefined) return [];
    p.verdict = reason;
    const out: PolicyAction[] = [log('warn', 'pool_unhealthy', { index: i, reason, detail })];
    out.push(...this.fail(i, reason, detail, now, true));
    out.push({ kind: 'close', pool: i, detail: `unhealthy: ${detail}` });
    return out;
  }

  /**
   * Pool `i` (the current one) failed. `immediate` moves to the next pool at once; otherwise the pool is
   * retried after backoff (at least `minDelayMs`) until failuresBeforeSwitch failures in a row.
   */
  private fail(
    i: number,
    reason: string,
    detail: string | undefined,
    now: number,
    immediate: boolean,
    minDelayMs = 0,
  ): PolicyAction[] {
    const p = this.p[i]!;
    if (i === this.activeIdx) this.activeIdx = undefined;
    if (this.st === 'active') this.st = 'connecting';
    if (p.returned) {
      // Back on this pool after a probe, and it failed before proving itself: probe it less often.
      p.returned = false;
      p.probeAttempts++;
    }
    const limit = this.o.failuresBeforeSwitch;
    p.attempts++;
    p.tries = immediate ? limit : p.tries + 1;
    this.lastSwitchReason = `pool${i} ${reason}`;
    const out: PolicyAction[] = [
      log('warn', 'pool_failed', { index: i, reason, detail, failures: p.attempts }),
    ];
    if (p.tries < limit) {
      this.retry(i, Math.max(minDelayMs, this.backoff(p.attempts)), now);
      return out;
    }
    p.tries = 0;
    this.failedThisRound.add(i);
    const next = (i + 1) % this.o.pools;
    // The next pool starts at once unless it, too, has been unproductive lately (then its own backoff).
    const nextAttempts = this.p[next]!.attempts;
    if (this.failedThisRound.size >= this.o.pools) {
      this.failedThisRound.clear();
      this.idleRounds++;
      if (this.st !== 'idle') {
        this.st = 'idle';
        out.push(
          log('error', 'all_pools_down', { pools: this.o.pools, note: 'chips must idle; still probing' }),
        );
        out.push({ kind: 'idle', reason: 'all pools down' });
      }
      this.retry(next, Math.max(minDelayMs, this.backoff(Math.max(this.idleRounds + 1, nextAttempts))), now);
      return out;
    }
    this.retry(next, Math.max(minDelayMs, nextAttempts > 0 ? this.backoff(nextAttempts) : 0), now);
    return out;
  }

  private retry(i: number, delayMs: number, now: number): void {
    this.currentIdx = i;
    this.retryAt = { pool: i, at: now + delayMs };
  }

  private backoff(n: number): number {
    const b = this.o.backoff;
    return backoffDelay(n, { initialMs: b.baseMs, maxMs: b.maxMs, jitter: b.jitter, random: this.random });
  }

  /** Next probe of the preferred pool while a fallback is active. */
  private scheduleProbe(now: number): void {
    this.probeAt = undefined;
    if (this.st !== 'active' || this.activeIdx === this.preferredIdx) return;
    this.probeAt = now + this.probeDelay(this.p[this.preferredIdx]!.probeAttempts);
  }

  /** Wait before probe number n (0-based): probeFirstMs doubling, capped at probeIntervalMs. */
  probeDelay(n: number): number {
    return Math.min(this.o.probeIntervalMs, this.o.probeFirstMs * 2 ** n);
  }
}

function log(level: 'info' | 'warn' | 'error', event: string, fields: Record<string, unknown>): PolicyAction {
  return { kind: 'log', level, event, fields };
}
