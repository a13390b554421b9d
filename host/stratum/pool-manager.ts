/**
 * Pool failover over an ordered list of Stratum V1 pools (one StratumClient per pool).
 *
 * Public API (what the daemon uses):
 *
 *   const pm = new PoolManager({ pools: [{ url, user, password }, ...], versionRollingMask: 0x1fffe000 });
 *   pm.on('job', (job: PoolJob) => ...)        // new work: NotifyJob + extranonce1/2 size, difficulty,
 *                                              //   versionMask, cleanJobs, poolToken (echo it in submit)
 *   pm.on('versionMask', ({ mask }) => ...)    // the jobs that follow roll this mask (coalesced: once per job)
 *   pm.on('difficulty', ({ difficulty }) => ...) // set_difficulty seen (jobs carry the one that applies)
 *   pm.on('idle', () => ...)                   // every pool is down: the chips must idle
 *   pm.on('active', ({ index, url }) => ...)   // work flows again (after start, idle or a lost pool)
 *   pm.on('switched', ({ from, to, reason }) => ...) // the pool feeding jobs changed
 *   pm.on('shareResult', (r) => ...)           // every share's single final outcome
 *   pm.start();
 *   const outcome = await pm.submit({ poolToken, jobId, extranonce2, ntime, nonce, versionBits, difficulty });
 *   pm.getStatus();                            // snapshot: pool, user (never the password), state, accounting
 *   pm.switchTo(1);                            // manual switch; that pool becomes the preferred one
 *   await pm.setPools([{ url, user }, ...]);   // new pool list at run time (old connections drained)
 *   await pm.stop();                           // resolves once pending submits are answered or given up
 *
 * Rules (all decided by the pure state machine in policy.ts; this class carries out its actions and arms
 * one clock timer at its next deadline): a pool is healthy when subscribe + authorize + first notify
 * complete within readyTimeoutMs. It is left when it does no useful work — no new job for silenceMs, a
 * submit unanswered for submitTimeoutMs, unansweredSubmits in a row, rejectRun rejects in a row — or
 * asks to wait more than reconnectWaitMaxMs; other failures (pool-requested reconnects included) are
 * retried with backoff + jitter up to failuresBeforeSwitch times, then the next pool is tried. While on a
 * fallback, the preferred pool is probed with a full session after probeFirstMs, then less often up to
 * probeIntervalMs; when the probe is healthy its session becomes the active one. When every pool has
 * failed, 'idle' is emitted and the list keeps being cycled with backoff until one is healthy ('active').
 * A share goes only to the connection that issued its job (poolToken), with that connection's user;
 * otherwise it ends as 'stale-local'. 'versionMask' is announced once per job boundary (right before the
 * first job whose mask differs), never per set_version_mask message.
 *
 * Other protocols: the manager only needs the small `ManagedClient` surface (connect / close / drain /
 * submit, state, poolToken, and the events connected / ready / job / difficulty / versionMask / message /
 * shareResult / disconnected). `createClient` builds one per pool; the type parameters carry that
 * client's job and share types through (`PoolManager<ClientJob, ShareSubmission, PoolConfig>` — the
 * Bitcoin StratumClient — is the default). host/stratum-eth/pool-manager.ts uses it for ethash.
 */
import { EventEmitter } from 'node:events';
import { type Clock, systemClock, type TimerHandle } from '../../lib/clock.ts';
import { type Logger, silentLogger } from '../../lib/log.ts';
import type { Sv2ClientEvents } from '../stratum-v2/client.ts';
import { LazySv2Client } from '../stratum-v2/lazy-client.ts';
import { isSv2Url } from '../stratum-v2/url.ts';
import {
  type ClientEvents,
  type ClientJob,
  type ClientState,
  type Connector,
  type ShareOutcome,
  type ShareSubmission,
  StratumClient,
} from './client.ts';
import { emptyRejectCounts, type RejectReason } from './messages.ts';
import {
  POLICY_DEFAULTS,
  type PolicyAction,
  type PolicyState,
  PoolPolicy,
  type StandbyHealth,
  type SwitchRecord,
} from './policy.ts';
import type { SessionClientOptions } from './session.ts';

export interface PoolConfig {
  url: string;
  user: string;
  password?: string;
  suggestDifficulty?: number;
  minimumDifficulty?: number;
  extranonceSubscribe?: boolean;
  /** Follow client.reconnect to another host. */
  allowRedirect?: boolean;
  tlsCaFile?: string;
  tlsInsecure?: boolean;
  /** stratum2+tcp:// (Stratum V2) without an authority key in the URL: allowed only with this. */
  allowUnauthenticated?: boolean;
  /** stratum2+tcp://: open an extended (default) or a standard (header-only) channel. */
  channel?: 'extended' | 'standard';
}

/** What the manager itself reads from a pool entry (the rest goes to the client factory). */
export interface ManagedPoolConfig {
  url: string;
  user: string;
  password?: string;
}

/** What the manager reads from a client's job. */
export interface ManagedJobBase {
  poolToken: string;
  /** Pool difficulty that applies to shares of this job. */
  difficulty: number;
  cleanJobs: boolean;
  /** Version-rolling mask that applies to this job (clients without version rolling leave it out). */
  versionMask?: number;
}

/** What the manager reads from a share. */
export interface ManagedShareBase {
  poolToken: string;
  /** Difficulty the share reached (best-share accounting). */
  difficulty?: number;
}

export interface ManagedShareResult<Share extends ManagedShareBase = ShareSubmission> {
  poolToken: string;
  share: Share;
  outcome: ShareOutcome;
  /** Pool difficulty of the share's job (0 when the job was unknown). */
  jobDifficulty: number;
}

export interface ManagedDisconnectEvent {
  poolToken: string;
  /** 'silence' leaves the pool at once, 'reconnect-request' retries it without counting a failure. */
  reason: string;
  detail?: string;
  wasReady: boolean;
  reconnectAfterMs?: number;
}

/** Events a managed client emits (a client may never emit 'versionMask' or 'message'). */
export interface ManagedClientEvents<Job extends ManagedJobBase, Share extends ManagedShareBase> {
  connected: [{ poolToken: string }];
  ready: [{ poolToken: string }];
  job: [Job];
  difficulty: [{ poolToken: string; difficulty: number }];
  versionMask: [{ poolToken: string; mask: number }];
  message: [{ poolToken: string; text: string }];
  shareResult: [ManagedShareResult<Share>];
  disconnected: [ManagedDisconnectEvent];
}

/**
 * The client surface PoolManager uses: one pool, one connection at a time, no retry policy of its own,
 * an opaque poolToken per connection that jobs carry and shares echo, every submit resolving once.
 * StratumClient (Bitcoin) and EthStratumClient (ethash) both satisfy it.
 */
export interface ManagedClient<
  Job extends ManagedJobBase = ClientJob,
  Share extends ManagedShareBase = ShareSubmission,
> {
  readonly state: ClientState;
  readonly poolToken: string | undefined;
  /** Granted version-rolling mask (0 when none). */
  readonly versionMask: number;
  connect(): void;
  close(detail?: string): void;
  /** Waits for pending submits (at most timeoutMs), then closes. */
  drain(timeoutMs: number): Promise<void>;
  submit(share: Share): Promise<ShareOutcome>;
  on(event: 'connected', listener: (...a: ManagedClientEvents<Job, Share>['connected']) => void): unknown;
  on(event: 'ready', listener: (...a: ManagedClientEvents<Job, Share>['ready']) => void): unknown;
  on(event: 'job', listener: (...a: ManagedClientEvents<Job, Share>['job']) => void): unknown;
  on(event: 'difficulty', listener: (...a: ManagedClientEvents<Job, Share>['difficulty']) => void): unknown;
  on(event: 'versionMask', listener: (...a: ManagedClientEvents<Job, Share>['versionMask']) => void): unknown;
  on(event: 'message', listener: (...a: ManagedClientEvents<Job, Share>['message']) => void): unknown;
  on(event: 'shareResult', listener: (...a: ManagedClientEvents<Job, Share>['shareResult']) => void): unknown;
  on(
    event: 'disconnected',
    listener: (...a: ManagedClientEvents<Job, Share>['disconnected']) => void,
  ): unknown;
}

/**
 * Compile-time check for a client class built on a typed EventEmitter<Events> (whose generic `on` TypeScript
 * cannot check against ManagedClient's overloads): `never` when `Events` has every managed event with a
 * payload the manager can read, otherwise the names of the events that are missing or do not fit.
 */
export type ManagedEventsMismatch<
  Events,
  Job extends ManagedJobBase = ClientJob,
  Share extends ManagedShareBase = ShareSubmission,
> = {
  [K in keyof ManagedClientEvents<Job, Share>]: K extends keyof Events
    ? Events[K] extends ManagedClientEvents<Job, Share>[K]
      ? never
      : K
    : K;
}[keyof ManagedClientEvents<Job, Share>];

/** Settings every client gets from the manager (the factory maps them onto its client's options). */
export interface ManagedClientCommon {
  /** "pool<index>": used in logs and poolTokens. */
  label: string;
  versionRollingMask?: number;
  readyTimeoutMs?: number;
  silenceMs?: number;
  connectTimeoutMs?: number;
  submitTimeoutMs?: number;
  /** Pool chatter (show_message, set_version_mask…) is logged once per kind per this interval. */
  chatterIntervalMs?: number;
  userAgent?: string;
  connector?: Connector;
  clock: Clock;
  logger: Logger;
}

export type CreateManagedClient<
  Job extends ManagedJobBase = ClientJob,
  Share extends ManagedShareBase = ShareSubmission,
  Pool extends ManagedPoolConfig = PoolConfig,
> = (pool: Pool, index: number, common: ManagedClientCommon) => ManagedClient<Job, Share>;

export interface PoolManagerOptions<
  Job extends ManagedJobBase = ClientJob,
  Share extends ManagedShareBase = ShareSubmission,
  Pool extends ManagedPoolConfig = PoolConfig,
> {
  pools: Pool[];
  /** Builds the client of one pool (default: a Bitcoin StratumClient from a PoolConfig). */
  createClient?: CreateManagedClient<Job, Share, Pool>;
  /** Mask the chips can roll; omitted → no version rolling. */
  versionRollingMask?: number;
  /** subscribe + authorize + first notify must complete within this (default 30 s). */
  readyTimeoutMs?: number;
  /** No new job for this long → the pool is unhealthy, whatever else it sends (default 120 s). */
  silenceMs?: number;
  connectTimeoutMs?: number;
  /** A submit unanswered this long makes the pool suspect → failover (default 10 s). */
  submitTimeoutMs?: number;
  /** This many submits in a row without an answer (the first ≥ 2 s old) → failover (default 5). */
  unansweredSubmits?: number;
  /** This many rejected shares in a row with no accepted one → failover (default 10). */
  rejectRun?: number;
  /** A client.reconnect asking to wait longer than this → treated as unavailable: failover (default 30 s). */
  reconnectWaitMaxMs?: number;
  /** A session up this long (and not dropped as unhealthy) resets the pool's backoff (default 60 s). */
  stableMs?: number;
  /** Consecutive failures of one pool before moving to the next (default 3). */
  failuresBeforeSwitch?: number;
  /**
   * Retry delay (lib/backoff.ts): min(maxMs, baseMs·2^(n-1)), reduced by up to `jitter` (fraction) at
   * random. Defaults: baseMs 1000, maxMs 30 000, jitter 0.3.
   */
  backoff?: { baseMs?: number; maxMs?: number; jitter?: number };
  /** First probe of the preferred pool this long after leaving it (default 5 s), doubling per probe… */
  probeFirstMs?: number;
  /** …up to this interval (default 60 s). */
  probeIntervalMs?: number;
  /** Standby pools are probed (a session up to its first job, then closed) this often; 0/unset = never. */
  standbyProbeMs?: number;
  /** Pool chatter logged once per kind per this interval, with counts (default 60 s). */
  chatterIntervalMs?: number;
  /** stop() waits this long for pending submits (default 2 s). */
  stopTimeoutMs?: number;
  /** Best share difficulty ever, per pool url (persisted by the caller). */
  bestShareAllTime?: Record<string, number>;
  random?: () => number;
  clock?: Clock;
  logger?: Logger;
  connector?: Connector;
  userAgent?: string;
}

export interface PoolJob extends ClientJob {
  poolIndex: number;
  poolUrl: string;
}

/** A client job as the manager emits it: tagged with the pool that issued it. */
export type ManagedPoolJob<Job extends ManagedJobBase = ClientJob> = Job & {
  poolIndex: number;
  poolUrl: string;
};

export type ManagerState = PolicyState;

export interface PoolAccounting {
  accepted: number;
  /** Sum of the pool difficulty of accepted shares (difficulty-1 share equivalents). */
  acceptedDifficulty: number;
  rejected: number;
  rejectedDifficulty: number;
  rejectedByReason: Record<RejectReason, number>;
  /** Refused locally: job from a closed/other connection, superseded job, mask change. */
  staleLocal: number;
  /** No answer before timeout or disconnect. */
  noAnswer: number;
  /** Highest share difficulty accepted since start() / ever (seeded from options). */
  bestShareSession: number;
  bestShareAllTime: number;
  /** Clock time of the last accepted share. */
  lastShareAt: number | undefined;
}

export interface PoolStatus {
  index: number;
  url: string;
  user: string;
  connection: ClientState;
  /** Unproductive disconnects in a row (backoff exponent). */
  consecutiveFailures: number;
  /** Rejected shares in a row (rejectRun of them → failover). */
  rejectRun: number;
  /** A standby pool's last probe (alive / dead and when), while it is a standby. */
  standby?: StandbyHealth;
  accounting: PoolAccounting;
}

export interface ManagerStatus {
  state: ManagerState;
  pool: { index: number; url: string; user: string } | null;
  difficulty: number | null;
  versionMask: number | null;
  failover: {
    preferred: number;
    /** Pool being used or tried. */
    current: number;
    /** Pool whose session feeds the jobs, if any. */
    active: number | null;
    onFallback: boolean;
    probing: number | null;
    /** Clock time of the next probe of the preferred pool, if one is scheduled. */
    nextProbeAt: number | null;
    lastSwitchAt: number | null;
    lastSwitchReason: string | null;
    switches: number;
  };
  pools: PoolStatus[];
}

export interface ManagerEvents<
  Job extends ManagedJobBase = ClientJob,
  Share extends ManagedShareBase = ShareSubmission,
> {
  job: [ManagedPoolJob<Job>];
  difficulty: [{ poolIndex: number; difficulty: number }];
  versionMask: [{ poolIndex: number; mask: number }];
  idle: [{ reason: string }];
  active: [{ index: number; url: string }];
  switched: [{ from: number; to: number; reason: string; at: number }];
  shareResult: [ManagedShareResult<Share> & { poolIndex: number }];
  message: [{ poolIndex: number; text: string }];
}

function emptyAccounting(best = 0): PoolAccounting {
  return {
    accepted: 0,
    acceptedDifficulty: 0,
    rejected: 0,
    rejectedDifficulty: 0,
    rejectedByReason: emptyRejectCounts(),
    staleLocal: 0,
    noAnswer: 0,
    bestShareSession: 0,
    bestShareAllTime: best,
    lastShareAt: undefined,
  };
}

const MAX_TOKENS = 1024;

export class PoolManager<
  Job extends ManagedJobBase = ClientJob,
  Share extends ManagedShareBase = ShareSubmission,
  Pool extends ManagedPoolConfig = PoolConfig,
> extends EventEmitter<ManagerEvents<Job, Share>> {
  private o: PoolManagerOptions<Job, Share, Pool>;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly clients: ManagedClient<Job, Share>[];
  private readonly accounting: PoolAccounting[];
  private readonly lastJob: Array<ManagedPoolJob<Job> | undefined>;
  private readonly tokenPool = new Map<string, number>();
  /** The decisions (which pool, when, healthy or not); this class only carries them out. */
  private policy: PoolPolicy;
  private policyTimer: TimerHandle | undefined;
  private policyTimerAt: number | undefined;
  private submitSeq = 0;
  private orphanStale = 0;
  /** Bumped by setPools(): the clients of each list get their own connection tokens. */
  private generation = 0;
  /** Set by stop() (cleared by start()): a setPools() that was draining must not start the new list. */
  private halted = false;
  /** Mask last announced with 'versionMask' (announced once per job boundary, when it changes). */
  private announcedMask: number | undefined;

  constructor(opts: PoolManagerOptions<Job, Share, Pool>) {
    super();
    if (opts.pools.length === 0) throw new Error('pools: at least one pool is required');
    this.o = opts;
    this.clock = opts.clock ?? systemClock;
    this.log = (opts.logger ?? silentLogger).child('pools');
    this.policy = this.makePolicy(opts.pools.length);
    this.clients = opts.pools.map((p, i) => this.makeClient(p, i));
    this.accounting = opts.pools.map((p) => emptyAccounting(opts.bestShareAllTime?.[p.url] ?? 0));
    this.lastJob = opts.pools.map(() => undefined);
  }

  private makePolicy(pools: number): PoolPolicy {
    const opts = this.o;
    return new PoolPolicy({
      pools,
      ...(opts.failuresBeforeSwitch !== undefined ? { failuresBeforeSwitch: opts.failuresBeforeSwitch } : {}),
      ...(opts.backoff !== undefined ? { backoff: opts.backoff } : {}),
      ...(opts.random !== undefined ? { random: opts.random } : {}),
      ...(opts.silenceMs !== undefined ? { silenceMs: opts.silenceMs } : {}),
      submitTimeoutMs: this.submitTimeoutMs,
      ...(opts.unansweredSubmits !== undefined ? { unansweredSubmits: opts.unansweredSubmits } : {}),
      ...(opts.rejectRun !== undefined ? { rejectRun: opts.rejectRun } : {}),
      ...(opts.reconnectWaitMaxMs !== undefined ? { reconnectWaitMaxMs: opts.reconnectWaitMaxMs } : {}),
      ...(opts.probeFirstMs !== undefined ? { probeFirstMs: opts.probeFirstMs } : {}),
      ...(opts.probeIntervalMs !== undefined ? { probeIntervalMs: opts.probeIntervalMs } : {}),
      ...(opts.stableMs !== undefined ? { stableMs: opts.stableMs } : {}),
      ...(opts.standbyProbeMs !== undefined ? { standbyProbeMs: opts.standbyProbeMs } : {}),
    });
  }

  private get submitTimeoutMs(): number {
    return this.o.submitTimeoutMs ?? POLICY_DEFAULTS.submitTimeoutMs;
  }

  // ---------------------------------------------------------------------------------------------------
  // Public API

  start(): void {
    this.halted = false;
    if (this.policy.state !== 'stopped') return;
    this.log.info('start', { pool: this.o.pools[this.policy.preferred]!.url, pools: this.o.pools.length });
    this.run(this.policy.start(this.clock.now()));
  }

  /** Stops timers and connections; resolves once pending submits are answered or given up. */
  async stop(): Promise<void> {
    this.halted = true;
    if (this.policy.state === 'stopped') return;
    this.policy.stop();
    this.clock.clearTimeout(this.policyTimer);
    this.policyTimer = this.policyTimerAt = undefined;
    await Promise.all(this.clients.map((c) => c.drain(this.o.stopTimeoutMs ?? 2000)));
    this.log.info('stopped');
  }

  /** Submits on the connection that issued the share's job; never on another one. */
  submit(share: Share): Promise<ShareOutcome> {
    const idx = this.tokenPool.get(share.poolToken);
    if (idx === undefined || this.policy.state === 'stopped') {
      this.orphanStale++;
      const outcome: ShareOutcome = {
        status: 'stale-local',
        detail: 'job from an unknown or stopped connection',
      };
      this.emit('shareResult', {
        poolToken: share.poolToken,
        share,
        outcome,
        jobDifficulty: 0,
        poolIndex: idx ?? -1,
      });
      return Promise.resolve(outcome);
    }
    const id = ++this.submitSeq;
    const result = this.clients[idx]!.submit(share);
    const policy = this.policy;
    this.run(policy.submitSent(idx, id, this.clock.now()));
    return result.then((outcome) => {
      // A reply that comes after setPools() belongs to a policy that is gone.
      if (this.policy === policy) this.run(policy.submitEnded(idx, id, outcome, this.clock.now()));
      return outcome;
    });
  }

  /**
   * Replaces the pool list at run time (the user changed the pools): the old connections are drained
   * (pending submits answered or given up within `drainMs`) and closed — their jobs' shares end as
   * stale-local — then the new list starts as at start(), preferring its first pool. A pool whose URL and
   * user are unchanged keeps its accounting. Events of the old connections are ignored from here on.
   */
  async setPools(pools: Pool[], drainMs = 1000): Promise<void> {
    if (pools.length === 0) throw new Error('pools: at least one pool is required');
    const running = this.policy.state !== 'stopped';
    this.policy.stop();
    this.clock.clearTimeout(this.policyTimer);
    this.policyTimer = this.policyTimerAt = undefined;
    const oldPools = this.o.pools;
    const oldClients = this.clients.splice(0);
    const oldAccounting = this.accounting.splice(0);
    this.lastJob.splice(0);
    this.tokenPool.clear();
    this.announcedMask = undefined;
    this.o = { ...this.o, pools };
    this.generation++;
    const policy = this.makePolicy(pools.length);
    this.policy = policy;
    for (const [i, p] of pools.entries()) {
      this.clients.push(this.makeClient(p, i));
      const k = oldPools.findIndex((q) => q.url === p.url && q.user === p.user);
      this.accounting.push(oldAccounting[k] ?? emptyAccounting(this.o.bestShareAllTime?.[p.url] ?? 0));
      this.lastJob.push(undefined);
    }
    this.log.info('pools.replaced', { pools: pools.map((p) => p.url), was: oldPools.map((p) => p.url) });
    await Promise.all(oldClients.map((c) => c.drain(drainMs)));
    // Another setPools() or stop() during the drain decides from here on.
    if (running && !this.halted && this.policy === policy && policy.state === 'stopped')
      this.run(policy.start(this.clock.now()));
  }

  /** Manual switch: `index` becomes the preferred pool (failover returns to it). */
  switchTo(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.clients.length) {
      throw new Error(`switchTo: index ${index} is not a pool (0..${this.clients.length - 1})`);
    }
    this.run(this.policy.switchTo(index, this.clock.now()));
  }

  getStatus(): ManagerStatus {
    const snap = this.policy.snapshot();
    const a = snap.active;
    const activeClient = a !== undefined ? this.clients[a] : undefined;
    return {
      state: snap.state,
      pool: a !== undefined ? { index: a, url: this.o.pools[a]!.url, user: this.o.pools[a]!.user } : null,
      difficulty: a !== undefined ? (this.lastJob[a]?.difficulty ?? null) : null,
      versionMask: activeClient ? activeClient.versionMask : null,
      failover: {
        preferred: snap.preferred,
        current: snap.current,
        active: a ?? null,
        onFallback: a !== undefined && a !== snap.preferred,
        probing: snap.probing ?? null,
        nextProbeAt: snap.nextProbeAt ?? null,
        lastSwitchAt: snap.lastSwitchAt ?? null,
        lastSwitchReason: snap.lastSwitchReason ?? null,
        switches: snap.switches,
      },
      pools: this.o.pools.map((p, i) => ({
        index: i,
        url: p.url,
        user: p.user,
        connection: this.clients[i]!.state,
        consecutiveFailures: snap.pools[i]!.attempts,
        rejectRun: snap.pools[i]!.rejectRun,
        ...(snap.pools[i]!.standby ? { standby: { ...snap.pools[i]!.standby } } : {}),
        accounting: structuredClone(this.accounting[i]!),
      })),
    };
  }

  /** Shares refused because their token belonged to no known connection. */
  get orphanShares(): number {
    return this.orphanStale;
  }

  // ---------------------------------------------------------------------------------------------------

  /** Carries out the policy's actions, then arms the one timer at its next deadline. */
  private run(actions: PolicyAction[]): void {
    for (const a of actions) {
      switch (a.kind) {
        case 'connect':
          this.clients[a.pool]!.connect();
          break;
        case 'close':
          this.clients[a.pool]!.close(a.detail);
          break;
        case 'drain':
          void this.clients[a.pool]!.drain(this.o.stopTimeoutMs ?? 2000);
          break;
        case 'activate':
          this.activate(a.pool, a.becameActive, a.switched);
          break;
        case 'idle':
          this.emit('idle', { reason: a.reason });
          break;
        case 'log': {
          const url = typeof a.fields.index === 'number' ? this.o.pools[a.fields.index]?.url : undefined;
          this.log[a.level](a.event, url !== undefined ? { ...a.fields, url } : a.fields);
          break;
        }
      }
    }
    this.armPolicyTimer();
  }

  private armPolicyTimer(): void {
    const at = this.policy.nextDeadline();
    if (at === this.policyTimerAt && (at === undefined || this.policyTimer)) return;
    // A timer armed for an earlier moment stays: it finds nothing due and re-arms for the new deadline
    // (each job moves the silence deadline; no clear + set per notify on the hot path).
    if (at !== undefined && this.policyTimer && this.policyTimerAt !== undefined && this.policyTimerAt <= at)
      return;
    this.clock.clearTimeout(this.policyTimer);
    this.policyTimer = this.policyTimerAt = undefined;
    if (at === undefined) return;
    this.policyTimerAt = at;
    this.policyTimer = this.clock.setTimeout(
      () => {
        this.policyTimer = this.policyTimerAt = undefined;
        this.run(this.policy.tick(this.clock.now()));
      },
      Math.max(0, at - this.clock.now()),
    );
  }

  private activate(i: number, becameActive: boolean, switched: SwitchRecord | undefined): void {
    if (becameActive) this.emit('active', { index: i, url: this.o.pools[i]!.url });
    if (switched) this.emit('switched', switched);
    const job = this.lastJob[i];
    if (job) this.emitJob({ ...job, cleanJobs: true });
  }

  private makeClient(p: Pool, i: number): ManagedClient<Job, Share> {
    const o = this.o;
    const common: ManagedClientCommon = {
      // Tokens are `<label>#<n>`: a new generation (setPools) never reuses an old connection's token.
      label: this.generation ? `pool${i}g${this.generation}` : `pool${i}`,
      ...(o.versionRollingMask !== undefined ? { versionRollingMask: o.versionRollingMask } : {}),
      ...(o.readyTimeoutMs !== undefined ? { readyTimeoutMs: o.readyTimeoutMs } : {}),
      ...(o.silenceMs !== undefined ? { silenceMs: o.silenceMs } : {}),
      ...(o.connectTimeoutMs !== undefined ? { connectTimeoutMs: o.connectTimeoutMs } : {}),
      submitTimeoutMs: this.submitTimeoutMs,
      ...(o.chatterIntervalMs !== undefined ? { chatterIntervalMs: o.chatterIntervalMs } : {}),
      ...(o.userAgent !== undefined ? { userAgent: o.userAgent } : {}),
      ...(o.connector ? { connector: o.connector } : {}),
      clock: this.clock,
      logger: o.logger ?? silentLogger,
    };
    const factory =
      o.createClient ??
      // Without a factory the pools are Bitcoin pools (PoolConfig) and the jobs/shares StratumClient's
      // (a stratum2+tcp:// pool gets the Stratum V2 client, which emits and takes the same types).
      (createBitcoinClient as unknown as CreateManagedClient<Job, Share, Pool>);
    const c = factory(p, i, common);
    // After setPools() the old clients may still report (drain, close): they no longer steer anything.
    const live = () => this.clients[i] === c;
    c.on('connected', ({ poolToken }) => {
      if (!live()) return;
      this.tokenPool.set(poolToken, i);
      if (this.tokenPool.size > MAX_TOKENS) this.tokenPool.delete(this.tokenPool.keys().next().value!);
      this.policy.connected(i, this.clock.now());
    });
    c.on('job', (j) => live() && this.onJob(i, j));
    c.on('ready', () => live() && this.run(this.policy.ready(i, this.clock.now())));
    c.on('disconnected', (ev) => live() && this.run(this.policy.disconnected(i, ev, this.clock.now())));
    c.on('shareResult', (r) => live() && this.onShareResult(i, r));
    c.on('difficulty', ({ difficulty }) => {
      if (live() && this.policy.active === i) this.emit('difficulty', { poolIndex: i, difficulty });
    });
    // A client's mask changes are not passed on per message: the mask travels with the jobs and is
    // announced once per job boundary (emitJob), so a flood of set_version_mask costs no chip writes.
    c.on('message', ({ text }) => live() && this.emit('message', { poolIndex: i, text }));
    return c;
  }

  private onJob(i: number, j: Job): void {
    const job: ManagedPoolJob<Job> = { ...j, poolIndex: i, poolUrl: this.o.pools[i]!.url };
    this.lastJob[i] = job;
    this.policy.job(i, this.clock.now());
    this.armPolicyTimer();
    if (this.policy.active === i && this.policy.state === 'active') this.emitJob(job);
  }

  /** Emits a job of the active pool, preceded by 'versionMask' when its mask differs from the last one. */
  private emitJob(job: ManagedPoolJob<Job>): void {
    const mask = job.versionMask;
    if (mask !== undefined && mask !== this.announcedMask) {
      this.announcedMask = mask;
      this.emit('versionMask', { poolIndex: job.poolIndex, mask });
    }
    this.emit('job', job);
  }

  private onShareResult(i: number, r: ManagedShareResult<Share>): void {
    const a = this.accounting[i]!;
    const o = r.outcome;
    switch (o.status) {
      case 'accepted': {
        a.accepted++;
        a.acceptedDifficulty += r.jobDifficulty;
        a.lastShareAt = this.clock.now();
        const d = r.share.difficulty ?? 0;
        if (d > a.bestShareSession) a.bestShareSession = d;
        if (d > a.bestShareAllTime) a.bestShareAllTime = d;
        break;
      }
      case 'rejected':
        a.rejected++;
        a.rejectedDifficulty += r.jobDifficulty;
        a.rejectedByReason[o.reason]++;
        break;
      case 'stale-local':
        a.staleLocal++;
        break;
      case 'no-answer':
        a.noAnswer++;
        break;
    }
    this.emit('shareResult', { ...r, poolIndex: i });
  }
}

/** The default factory: Stratum V2 for stratum2+tcp:// URLs, else a V1 StratumClient. */
export function createBitcoinClient(p: PoolConfig, index: number, c: ManagedClientCommon): ManagedClient {
  // The V2 stack loads on the first connect of a V2 pool (host/stratum-v2/lazy-client.ts).
  return isSv2Url(p.url) ? new LazySv2Client(p, index, c) : createStratumClient(p, index, c);
}

/** A Bitcoin StratumClient (V1) for a PoolConfig. */
export function createStratumClient(p: PoolConfig, _index: number, c: ManagedClientCommon): StratumClient {
  return new StratumClient({
    url: p.url,
    user: p.user,
    password: p.password ?? '',
    ...managedSessionOptions(c),
    ...(c.versionRollingMask !== undefined ? { versionRollingMask: c.versionRollingMask } : {}),
    ...(p.minimumDifficulty !== undefined ? { minimumDifficulty: p.minimumDifficulty } : {}),
    ...(p.suggestDifficulty !== undefined ? { suggestDifficulty: p.suggestDifficulty } : {}),
    ...(p.extranonceSubscribe ? { extranonceSubscribe: true } : {}),
    ...(p.allowRedirect ? { allowRedirect: true } : {}),
    ...(p.tlsCaFile ? { tlsCaFile: p.tlsCaFile } : {}),
    ...(p.tlsInsecure ? { tlsInsecure: true } : {}),
  });
}

/** The manager's settings that every client takes (label, timeouts, agent, connector, clock, logger); unset ones left out. */
export function managedSessionOptions(
  c: ManagedClientCommon,
): Omit<SessionClientOptions, 'url' | 'user' | 'password' | 'allowRedirect' | 'badInputLimit'> {
  return {
    label: c.label,
    ...(c.readyTimeoutMs !== undefined ? { readyTimeoutMs: c.readyTimeoutMs } : {}),
    ...(c.silenceMs !== undefined ? { silenceMs: c.silenceMs } : {}),
    ...(c.connectTimeoutMs !== undefined ? { connectTimeoutMs: c.connectTimeoutMs } : {}),
    ...(c.submitTimeoutMs !== undefined ? { submitTimeoutMs: c.submitTimeoutMs } : {}),
    ...(c.chatterIntervalMs !== undefined ? { chatterIntervalMs: c.chatterIntervalMs } : {}),
    ...(c.userAgent !== undefined ? { userAgent: c.userAgent } : {}),
    ...(c.connector ? { connector: c.connector } : {}),
    clock: c.clock,
    logger: c.logger,
  };
}

// Compile-time check: the Bitcoin client is a ManagedClient of its own job and share types.
const bitcoinIsManaged: CreateManagedClient = createStratumClient;
const sv2EventsFit: [ManagedEventsMismatch<Sv2ClientEvents>] extends [never] ? true : false = true;
void sv2EventsFit;
const bitcoinEventsFit: [ManagedEventsMismatch<ClientEvents>] extends [never] ? true : false = true;
void bitcoinIsManaged;
void bitcoinEventsFit;
