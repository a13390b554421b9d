/**
 * Chain supervision as a pure, clocked state machine (like host/stratum/policy.ts and host/thermal's
 * Protection): it keeps no timers and does no I/O. Every input carries the time (`now`, clock ms) and
 * returns the actions the Miner must carry out; `nextDeadline()` says when to call `tick(now)` next. Tests
 * drive it with a ManualClock.
 *
 *            start / retry due / gate opens on an idle chain
 *     ┌──────────────────────────────┐
 *     │                              ▼
 *   retry ◀──init failed── init ──init done──▶ ready ──gate closes──▶ idle
 *     ▲                      ▲                   │                      │
 *     │                      └──────────── gate opens (re-init) ────────┘
 *     └──── retryMs ──── down ◀── link lost / chips gone (from ready, idle or init)
 *
 * Rules:
 * - A chain gets work ('feed') only when it is `ready` and the gate is open — never while its init runs,
 *   so the first job frame after a start or a resume is the one the chips keep (no job fed and then
 *   superseded by the same job once the ramp finishes).
 * - A chain that is `ready` when the gate opens is not initialised again (no re-init of chains just
 *   initialised); an `idle` chain (parked by the gate: reset held / low clock) is re-initialised and fed
 *   once its init is done.
 * - A chain whose init fails, or which goes down, is retried `retryMs` later (one 'fault' per failure)
 *   and does not hold the others back: the gate waits only for chains that are usable.
 * - The gate may open while a chain is `ready`, `idle`, or re-initialising after one of those (a resume):
 *   `usable()`. At start (first init) nothing is usable until a chain is ready, so the pool can connect
 *   while the chains ramp and the gate opens the moment the first chain is ready.
 * - An init that completes while the gate is held closed by something other than the chains (`setHeld`:
 *   pause, overheat, no pool, stop), after it had been open once, is parked at once ('idle'): chips are
 *   never left clocked up for work the gate does not allow. Before the gate first opens (start-up), after
 *   a restart, or when the chains themselves were what kept the gate closed (a chain back from a retry),
 *   an initialised chain stays `ready`, so the gate opening feeds it at once (one init, not two).
 * - Init results carry a token; results of an init that was superseded (restart, stop) are ignored.
 * - A chain whose board power latched a fault (over-current, PGOOD lost: core off, chips held in reset)
 *   is `latched`: not retried (a bring-up would be refused until the fault is cleared), one log line saying
 *   what clears it, not usable (the gate stays closed for it). `retryNow` (the clear command) brings it
 *   back; a restart of the chains (`reinitAll`) leaves it latched; a 'down' while latched changes nothing.
 */

export type ChainPhase = 'init' | 'ready' | 'idle' | 'down' | 'retry' | 'latched';

export type SupervisorAction =
  /** Run chain.init(frequency); report initDone / initFailed with `token`. */
  | { kind: 'init'; chain: number; token: number }
  /** Park the chain: stop feeding its scheduler and idle the chips (reset held / low clock). */
  | { kind: 'idle'; chain: number }
  /** Stop feeding the chain's scheduler (the chain is down: nothing to idle). */
  | { kind: 'unfeed'; chain: number }
  /** The chain is ready and the gate open: give it the latest job, as clean. */
  | { kind: 'feed'; chain: number }
  /** Every chain the gate waits for took the resume: the board is hashing. */
  | { kind: 'running'; chains: number[] }
  /** Every chain is initialised (ready or parked). */
  | { kind: 'all-ready' }
  | { kind: 'fault'; chain: number; message: string }
  | { kind: 'log'; level: 'info' | 'warn'; event: string; fields: Record<string, unknown> };

export interface SupervisorOptions {
  chains: number;
  /** Wait before re-initialising a chain that failed or went down (default 10 s). */
  retryMs?: number;
}

export interface ChainSupervision {
  phase: ChainPhase;
  /** Clock time the chain entered its phase. */
  since: number;
  /** Failed inits / downs in a row (reset by a successful init). */
  failures: number;
  nextRetryAt: number | null;
  lastError: string | null;
}

interface Slot {
  phase: ChainPhase;
  since: number;
  token: number;
  /** The init running now is a resume (the chain was usable before): the gate keeps waiting for it. */
  resuming: boolean;
  /** Keep the chain ready when this init ends even if the gate is held closed (restart). */
  keepReady: boolean;
  failures: number;
  retryAt: number | undefined;
  lastError: string | undefined;
}

export const SUPERVISOR_DEFAULTS = { retryMs: 10_000 } as const;

export class ChainSupervisor {
  readonly retryMs: number;
  private readonly c: Slot[];
  private open = false;
  /** The gate has opened at least once (before that, chains initialised while it is closed stay ready). */
  private everOpened = false;
  /** The gate is closed for a reason other than the chains (pause, thermal, no pool, stop). */
  private held = false;
  private stopped = false;
  private started = false;
  private tokens = 0;
  /** 'running' was announced for the current opening of the gate. */
  private announced = false;
  private allReady = false;

  constructor(o: SupervisorOptions) {
    if (!Number.isInteger(o.chains) || o.chains < 0) throw new Error('chain supervisor: chains ≥ 0');
    this.retryMs = Math.max(0, o.retryMs ?? SUPERVISOR_DEFAULTS.retryMs);
    this.c = Array.from({ length: o.chains }, () => ({
      phase: 'init' as ChainPhase,
      since: 0,
      token: 0,
      resuming: false,
      keepReady: false,
      failures: 0,
      retryAt: undefined,
      lastError: undefined,
    }));
  }

  get chains(): number {
    return this.c.length;
  }

  phase(i: number): ChainPhase | undefined {
    return this.c[i]?.phase;
  }

  /** The gate may open (some chain is ready, parked, or resuming from one of those). */
  usable(): boolean {
    return this.c.some(
      (s) => s.phase === 'ready' || s.phase === 'idle' || (s.phase === 'init' && s.resuming),
    );
  }

  /** Some chain takes jobs now (the board is really hashing, not only allowed to). */
  hashing(): boolean {
    return this.c.some((_, i) => this.feeds(i));
  }

  /** Chain `i` takes jobs now: gate open and the chain ready. */
  feeds(i: number): boolean {
    return this.open && !this.stopped && this.c[i]?.phase === 'ready';
  }

  /** The chains the gate waits for before the board counts as running (resuming inits). */
  waitingFor(): number[] {
    return this.c.flatMap((s, i) => (s.phase === 'init' && s.resuming ? [i] : []));
  }

  get gateOpen(): boolean {
    return this.open;
  }

  snapshot(): ChainSupervision[] {
    return this.c.map((s) => ({
      phase: s.phase,
      since: s.since,
      failures: s.failures,
      nextRetryAt: s.retryAt ?? null,
      lastError: s.lastError ?? null,
    }));
  }

  nextDeadline(): number | undefined {
    if (this.stopped) return undefined;
    let at = Number.POSITIVE_INFINITY;
    for (const s of this.c) if (s.retryAt !== undefined) at = Math.min(at, s.retryAt);
    return Number.isFinite(at) ? at : undefined;
  }

  // -------------------------------------------------------------------------------------------------
  // Inputs

  /** Initialise every chain (once). */
  start(now: number): SupervisorAction[] {
    if (this.started || this.stopped) return [];
    this.started = true;
    return this.c.flatMap((_, i) => this.beginInit(i, now, false));
  }

  /** stop(): no more actions; results of inits still running are ignored. */
  stop(): void {
    this.stopped = true;
    this.open = false;
    for (const s of this.c) s.retryAt = undefined;
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  /** Whether the gate is closed for a reason other than the chains (the Miner sets it on every change). */
  setHeld(held: boolean): void {
    this.held = held;
  }

  /** The hashing gate opened: feed the ready chains, re-initialise the parked ones. */
  gateOpened(now: number): SupervisorAction[] {
    if (this.stopped || this.open) return [];
    this.open = true;
    this.everOpened = true;
    this.announced = false;
    const out: SupervisorAction[] = [];
    for (const [i, s] of this.c.entries()) {
      if (s.phase === 'ready') out.push({ kind: 'feed', chain: i });
      else if (s.phase === 'idle') out.push(...this.beginInit(i, now, true));
    }
    return [...out, ...this.announce()];
  }

  /** The hashing gate closed: park every ready chain now (inits still running park when done, if held). */
  gateClosed(now: number): SupervisorAction[] {
    if (!this.open) return [];
    this.open = false;
    const out: SupervisorAction[] = [];
    for (const [i, s] of this.c.entries()) {
      if (s.phase === 'ready') {
        this.enter(s, 'idle', now);
        out.push({ kind: 'idle', chain: i });
      }
    }
    return out;
  }

  /** chain.init() resolved. */
  initDone(i: number, token: number, now: number): SupervisorAction[] {
    const s = this.c[i];
    if (!s || this.stopped || s.token !== token || s.phase !== 'init') return [];
    s.failures = 0;
    s.lastError = undefined;
    s.resuming = false;
    const out: SupervisorAction[] = [];
    const park = !this.open && this.held && this.everOpened && !s.keepReady;
    s.keepReady = false;
    if (park) {
      this.enter(s, 'idle', now);
      out.push({ kind: 'idle', chain: i });
    } else {
      this.enter(s, 'ready', now);
      out.push({ kind: 'log', level: 'info', event: 'chain.ready', fields: { chain: i } });
      if (this.open) out.push({ kind: 'feed', chain: i });
    }
    return [...out, ...this.announce()];
  }

  /** chain.init() rejected: retried `retryMs` later. */
  initFailed(i: number, token: number, error: string, now: number): SupervisorAction[] {
    const s = this.c[i];
    if (!s || this.stopped || s.token !== token || s.phase !== 'init') return [];
    const resumed = s.resuming;
    this.scheduleRetry(s, 'retry', error, now);
    return [
      {
        kind: 'fault',
        chain: i,
        message: `${resumed ? 'could not resume' : 'init failed'}: ${error}; retrying in ${this.retryMs / 1000} s`,
      },
      ...this.announce(),
    ];
  }

  /** The chain lost its link or its chips: stop feeding it and bring it back with init retries. */
  down(i: number, now: number, why = 'chain went offline'): SupervisorAction[] {
    const s = this.c[i];
    if (!s || this.stopped || s.phase === 'down' || s.phase === 'retry' || s.phase === 'latched') return [];
    // An init in flight fails on its own (its result is ignored: the token moves on).
    s.token = ++this.tokens;
    this.scheduleRetry(s, 'down', why, now);
    return [
      { kind: 'unfeed', chain: i },
      { kind: 'log', level: 'warn', event: 'chain.down', fields: { chain: i, retryMs: this.retryMs } },
      ...this.announce(),
    ];
  }

  /**
   * The board's power latched a fault (core off, chips held in reset): stop feeding the chain and do not
   * retry it; `retryNow` (after the fault was cleared) brings it back. `clears` says what clears it.
   */
  latched(i: number, now: number, reason: string, clears: string): SupervisorAction[] {
    const s = this.c[i];
    if (!s || this.stopped || s.phase === 'latched') return [];
    // An init in flight fails on its own (its result is ignored: the token moves on).
    s.token = ++this.tokens;
    s.failures++;
    s.lastError = reason;
    s.resuming = false;
    s.keepReady = false;
    this.enter(s, 'latched', now);
    return [
      { kind: 'unfeed', chain: i },
      {
        kind: 'log',
        level: 'warn',
        event: 'chain.latched',
        fields: { chain: i, reason, state: 'latched off: no retries', clears },
      },
      ...this.announce(),
    ];
  }

  /** Time passed: due retries start an init. */
  tick(now: number): SupervisorAction[] {
    if (this.stopped) return [];
    const out: SupervisorAction[] = [];
    for (const [i, s] of this.c.entries()) {
      if (s.retryAt !== undefined && s.retryAt <= now) out.push(...this.beginInit(i, now, false));
    }
    return out;
  }

  /** Retry the failed / down / latched chains now (a fault was cleared). */
  retryNow(now: number): SupervisorAction[] {
    if (this.stopped) return [];
    return this.c.flatMap((s, i) =>
      s.phase === 'down' || s.phase === 'retry' || s.phase === 'latched' ? this.beginInit(i, now, false) : [],
    );
  }

  /**
   * Re-initialise every chain (the restart command; the caller idled the chips first). Chains that were
   * usable stay usable meanwhile (the gate keeps waiting for them).
   */
  reinitAll(now: number): SupervisorAction[] {
    if (this.stopped) return [];
    this.announced = false;
    // Initialised for the gate's next opening: kept ready (not parked) even while the gate is closed.
    // A latched chain stays latched: only clearing the fault brings it back.
    return this.c.flatMap((s, i) => (s.phase === 'latched' ? [] : this.beginInit(i, now, true, true)));
  }

  // -------------------------------------------------------------------------------------------------

  private beginInit(i: number, now: number, resume: boolean, keepReady = false): SupervisorAction[] {
    const s = this.c[i]!;
    const wasUsable = s.phase === 'ready' || s.phase === 'idle' || (s.phase === 'init' && s.resuming);
    s.token = ++this.tokens;
    s.retryAt = undefined;
    s.resuming = resume && wasUsable;
    s.keepReady = keepReady;
    this.enter(s, 'init', now);
    s.since = now;
    return [{ kind: 'init', chain: i, token: s.token }];
  }

  private scheduleRetry(s: Slot, phase: 'down' | 'retry', error: string, now: number): void {
    s.failures++;
    s.lastError = error;
    s.resuming = false;
    s.keepReady = false;
    s.retryAt = now + this.retryMs;
    this.enter(s, phase, now);
  }

  private enter(s: Slot, phase: ChainPhase, now: number): void {
    if (s.phase !== phase) s.since = now;
    s.phase = phase;
    if (phase !== 'down' && phase !== 'retry') s.retryAt = undefined;
  }

  /** 'running' once per opening when no chain the gate waits for is still initialising; 'all-ready' once. */
  private announce(): SupervisorAction[] {
    const out: SupervisorAction[] = [];
    // Resuming chains count as initialised: 'all-ready' is about start-up and recoveries, not resumes.
    const initialised = this.c.every(
      (s) => s.phase === 'ready' || s.phase === 'idle' || (s.phase === 'init' && s.resuming),
    );
    if (initialised && !this.allReady) out.push({ kind: 'all-ready' });
    this.allReady = initialised;
    if (this.open && !this.announced && this.waitingFor().length === 0) {
      const ready = this.c.flatMap((s, i) => (s.phase === 'ready' ? [i] : []));
      if (ready.length > 0) {
        this.announced = true;
        out.push({ kind: 'running', chains: ready });
      }
    }
    return out;
  }
}
