/**
 * Pool failover over an ordered list of Stratum V1 pools (one StratumClient per pool).
 *
 * Public API (what the daemon uses):
 *
 *   const pm = new PoolManager({ pools: [{ url, user, password }, ...], versionRollingMask: 0x1fffe000 });
 *   pm.on('job', (job: PoolJob) => ...)        // new work: NotifyJob + extranonce1/2 size, difficulty,
 *                                              //   versionMask, cleanJobs, poolToken (echo it in submit)
 *   pm.on('versionMask', ({ mask }) => ...)    // mask changed mid-session (effective immediately)
 *   pm.on('difficulty', ({ difficulty }) => ...) // set_difficulty seen (jobs carry the one that applies)
 *   pm.on('idle', () => ...)                   // every pool is down: the chips must idle
 *   pm.on('active', ({ index, url }) => ...)   // work flows again (after start, idle or a lost pool)
 *   pm.on('switched', ({ from, to, reason }) => ...) // the pool feeding jobs changed
 *   pm.on('shareResult', (r) => ...)           // every share's single final outcome
 *   pm.start();
 *   const outcome = await pm.submit({ poolToken, jobId, extranonce2, ntime, nonce, versionBits, difficulty });
 *   pm.getStatus();                            // snapshot: pool, user (never the password), state, accounting
 *   pm.switchTo(1);                            // manual switch; that pool becomes the preferred one
 *   await pm.stop();                           // resolves once pending submits are answered or given up
 *
 * Rules: a pool is healthy when subscribe + authorize + first notify complete within readyTimeoutMs.
 * A silent pool (no notify and no response for silenceMs) is left at once; other failures are retried
 * with backoff + jitter up to failuresBeforeSwitch times, then the next pool is tried. While on a
 * fallback, the preferred pool is probed every probeIntervalMs with a full session; when the probe is
 * healthy its session becomes the active one. When every pool has failed, 'idle' is emitted and the list
 * keeps being cycled with backoff until one is healthy ('active'). A share goes only to the connection that
 * issued its job (poolToken), with that connection's user; otherwise it ends as 'stale-local'.
 *
 * Other protocols: the manager only needs the small `ManagedClient` surface (connect / close / drain /
 * submit, state, poolToken, and the events connected / ready / job / difficulty / versionMask / message /
 * shareResult / disconnected). `createClient` builds one per pool; the type parameters carry that
 * client's job and share types through (`PoolManager<ClientJob, ShareSubmission, PoolConfig>` — the
 * Bitcoin StratumClient — is the default). host/stratum-eth/pool-manager.ts uses it for ethash.
 */
import { EventEmitter } from 'node:events';
import { backoffDelay } from '../../lib/backoff.ts';
import { type Clock, systemClock, type TimerHandle } from '../../lib/clock.ts';
import { type Logger, silentLogger } from '../../lib/log.ts';
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
  /** No notify and no response for this long → leave the pool (default 120 s). */
  silenceMs?: number;
  connectTimeoutMs?: number;
  submitTimeoutMs?: number;
  /** Consecutive failures of one pool before moving to the next (default 3). */
  failuresBeforeSwitch?: number;
  /**
   * Retry delay (lib/backoff.ts): min(maxMs, baseMs·2^(n-1)), reduced by up to `jitter` (fraction) at
   * random. Defaults: baseMs 1000, maxMs 30 000, jitter 0.3.
   */
  backoff?: { baseMs?: number; maxMs?: number; jitter?: number };
  /** Probe the preferred pool this often while on a fallback (default 60 s). */
  probeIntervalMs?: number;
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

export type ManagerState = 'stopped' | 'connecting' | 'active' | 'idle';

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
  consecutiveFailures: number;
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
  private readonly o: PoolManagerOptions<Job, Share, Pool>;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly random: () => number;
  private readonly clients: ManagedClient<Job, Share>[];
  private readonly accounting: PoolAccounting[];
  private readonly failures: number[];
  private readonly lastJob: Array<ManagedPoolJob<Job> | undefined>;
  private readonly tokenPool = new Map<string, number>();
  private readonly failedThisRound = new Set<number>();
  private state: ManagerState = 'stopped';
  private preferred = 0;
  private current = 0;
  private active: number | undefined;
  private probing: number | undefined;
  private idleRounds = 0;
  private retryTimer: TimerHandle | undefined;
  private probeTimer: TimerHandle | undefined;
  private lastSwitchAt: number | undefined;
  private lastSwitchReason: string | undefined;
  private switches = 0;
  private orphanStale = 0;

  constructor(opts: PoolManagerOptions<Job, Share, Pool>) {
    super();
    if (opts.pools.length === 0) throw new Error('pools: at least one pool is required');
    this.o = opts;
    this.clock = opts.clock ?? systemClock;
    this.log = (opts.logger ?? silentLogger).child('pools');
    this.random = opts.random ?? Math.random;
    this.clients = opts.pools.map((p, i) => this.makeClient(p, i));
    this.accounting = opts.pools.map((p) => emptyAccounting(opts.bestShareAllTime?.[p.url] ?? 0));
    this.failures = opts.pools.map(() => 0);
    this.lastJob = opts.pools.map(() => undefined);
  }

  // ---------------------------------------------------------------------------------------------------
  // Public API

  start(): void {
    if (this.state !== 'stopped') return;
    this.state = 'connecting';
    this.current = this.preferred;
    this.log.info('start', { pool: this.o.pools[this.current]!.url, pools: this.o.pools.length });
    this.clients[this.current]!.connect();
  }

  /** Stops timers and connections; resolves once pending submits are answered or given up. */
  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    this.clock.clearTimeout(this.retryTimer);
    this.clock.clearTimeout(this.probeTimer);
    this.retryTimer = this.probeTimer = undefined;
    this.active = this.probing = undefined;
    await Promise.all(this.clients.map((c) => c.drain(this.o.stopTimeoutMs ?? 2000)));
    this.log.info('stopped');
  }

  /** Submits on the connection that issued the share's job; never on another one. */
  submit(share: Share): Promise<ShareOutcome> {
    const idx = this.tokenPool.get(share.poolToken);
    if (idx === undefined || this.state === 'stopped') {
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
    return this.clients[idx]!.submit(share);
  }

  /** Manual switch: `index` becomes the preferred pool (failover returns to it). */
  switchTo(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.clients.length) {
      throw new Error(`switchTo: index ${index} is not a pool (0..${this.clients.length - 1})`);
    }
    this.preferred = index;
    this.log.info('manual_switch', { to: index, url: this.o.pools[index]!.url });
    if (this.state === 'stopped' || this.active === index) return;
    this.clock.clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    // Update the bookkeeping first: closing a client emits 'disconnected' synchronously.
    const old = this.current;
    const probe = this.probing;
    this.current = index;
    this.probing = undefined;
    if (old !== index && old !== this.active) this.clients[old]!.close('manual switch');
    if (probe !== undefined && probe !== index) this.clients[probe]!.close('manual switch');
    this.failures[index] = 0;
    this.failedThisRound.clear();
    this.clients[index]!.connect();
  }

  getStatus(): ManagerStatus {
    const a = this.active;
    const activeClient = a !== undefined ? this.clients[a] : undefined;
    return {
      state: this.state,
      pool: a !== undefined ? { index: a, url: this.o.pools[a]!.url, user: this.o.pools[a]!.user } : null,
      difficulty: a !== undefined ? (this.lastJob[a]?.difficulty ?? null) : null,
      versionMask: activeClient ? activeClient.versionMask : null,
      failover: {
        preferred: this.preferred,
        current: this.current,
        active: a ?? null,
        onFallback: a !== undefined && a !== this.preferred,
        probing: this.probing ?? null,
        lastSwitchAt: this.lastSwitchAt ?? null,
        lastSwitchReason: this.lastSwitchReason ?? null,
        switches: this.switches,
      },
      pools: this.o.pools.map((p, i) => ({
        index: i,
        url: p.url,
        user: p.user,
        connection: this.clients[i]!.state,
        consecutiveFailures: this.failures[i]!,
        accounting: structuredClone(this.accounting[i]!),
      })),
    };
  }

  /** Shares refused because their token belonged to no known connection. */
  get orphanShares(): number {
    return this.orphanStale;
  }

  // ---------------------------------------------------------------------------------------------------

  private makeClient(p: Pool, i: number): ManagedClient<Job, Share> {
    const o = this.o;
    const common: ManagedClientCommon = {
      label: `pool${i}`,
      ...(o.versionRollingMask !== undefined ? { versionRollingMask: o.versionRollingMask } : {}),
      ...(o.readyTimeoutMs !== undefined ? { readyTimeoutMs: o.readyTimeoutMs } : {}),
      ...(o.silenceMs !== undefined ? { silenceMs: o.silenceMs } : {}),
      ...(o.connectTimeoutMs !== undefined ? { connectTimeoutMs: o.connectTimeoutMs } : {}),
      ...(o.submitTimeoutMs !== undefined ? { submitTimeoutMs: o.submitTimeoutMs } : {}),
      ...(o.userAgent !== undefined ? { userAgent: o.userAgent } : {}),
      ...(o.connector ? { connector: o.connector } : {}),
      clock: this.clock,
      logger: o.logger ?? silentLogger,
    };
    const factory =
      o.createClient ??
      // Without a factory the pools are Bitcoin pools (PoolConfig) and the jobs/shares StratumClient's.
      (createStratumClient as unknown as CreateManagedClient<Job, Share, Pool>);
    const c = factory(p, i, common);
    c.on('connected', ({ poolToken }) => {
      this.tokenPool.set(poolToken, i);
      if (this.tokenPool.size > MAX_TOKENS) this.tokenPool.delete(this.tokenPool.keys().next().value!);
    });
    c.on('job', (j) => this.onJob(i, j));
    c.on('ready', () => this.onReady(i));
    c.on('disconnected', (ev) => this.onDisconnected(i, ev));
    c.on('shareResult', (r) => this.onShareResult(i, r));
    c.on('difficulty', ({ difficulty }) => {
      if (this.active === i) this.emit('difficulty', { poolIndex: i, difficulty });
    });
    c.on('versionMask', ({ mask }) => {
      if (this.active === i) this.emit('versionMask', { poolIndex: i, mask });
    });
    c.on('message', ({ text }) => this.emit('message', { poolIndex: i, text }));
    return c;
  }

  private onJob(i: number, j: Job): void {
    const job: ManagedPoolJob<Job> = { ...j, poolIndex: i, poolUrl: this.o.pools[i]!.url };
    this.lastJob[i] = job;
    if (this.active === i && this.state === 'active') this.emit('job', job);
  }

  private onReady(i: number): void {
    if (this.state === 'stopped') return;
    if (i !== this.current && i !== this.probing) {
      this.clients[i]!.close('not wanted');
      return;
    }
    const prev = this.active;
    const reason =
      i === this.probing ? 'preferred pool healthy again' : (this.lastSwitchReason ?? 'failover');
    if (this.probing === i) this.probing = undefined;
    this.clock.clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const old = this.current;
    this.current = i;
    this.active = i;
    if (old !== i && old !== prev) this.clients[old]!.close('superseded by probe');
    this.failures[i] = 0;
    this.failedThisRound.clear();
    this.idleRounds = 0;
    const wasActive = this.state === 'active' && prev !== undefined;
    this.state = 'active';
    this.log.info('pool_active', { index: i, url: this.o.pools[i]!.url, from: prev });
    if (prev !== undefined && prev !== i) {
      const old = this.clients[prev]!;
      void old.drain(this.o.stopTimeoutMs ?? 2000);
    }
    if (!wasActive) this.emit('active', { index: i, url: this.o.pools[i]!.url });
    const from = prev ?? this.lastFed;
    if (from !== undefined && from !== i) {
      this.switches++;
      this.lastSwitchAt = this.clock.now();
      this.lastSwitchReason = reason;
      this.emit('switched', { from, to: i, reason, at: this.lastSwitchAt });
    }
    this.lastFed = i;
    const job = this.lastJob[i];
    if (job) this.emit('job', { ...job, cleanJobs: true });
    this.scheduleProbe();
  }

  /** Pool that fed jobs most recently (survives a gap without an active pool). */
  private lastFed: number | undefined;

  private onDisconnected(i: number, ev: ManagedDisconnectEvent): void {
    if (this.state === 'stopped') return;
    if (i === this.probing) {
      this.probing = undefined;
      this.log.info('probe_failed', { index: i, reason: ev.reason, detail: ev.detail });
      this.scheduleProbe();
      return;
    }
    if (i === this.active) this.active = undefined;
    if (i !== this.current) return;
    if (ev.reason === 'reconnect-request') {
      this.state = this.state === 'idle' ? 'idle' : 'connecting';
      this.retry(i, ev.reconnectAfterMs ?? 0);
      return;
    }
    if (this.state === 'active') this.state = 'connecting';
    const limit = this.o.failuresBeforeSwitch ?? 3;
    this.failures[i] = ev.reason === 'silence' ? limit : this.failures[i]! + 1;
    this.lastSwitchReason = `pool${i} ${ev.reason}`;
    this.log.warn('pool_failed', {
      index: i,
      reason: ev.reason,
      detail: ev.detail,
      failures: this.failures[i],
    });
    if (this.failures[i]! < limit) {
      this.retry(i, this.backoff(this.failures[i]!));
      return;
    }
    this.failures[i] = 0;
    this.failedThisRound.add(i);
    const next = (i + 1) % this.clients.length;
    if (this.failedThisRound.size >= this.clients.length) {
      this.failedThisRound.clear();
      this.idleRounds++;
      if (this.state !== 'idle') {
        this.state = 'idle';
        this.log.error('all_pools_down', {
          pools: this.clients.length,
          note: 'chips must idle; still probing',
        });
        this.emit('idle', { reason: 'all pools down' });
      }
      this.retry(next, this.backoff(this.idleRounds + 1));
      return;
    }
    this.retry(next, 0);
  }

  private retry(i: number, delayMs: number): void {
    this.clock.clearTimeout(this.retryTimer);
    this.current = i;
    this.retryTimer = this.clock.setTimeout(() => {
      this.retryTimer = undefined;
      if (this.state === 'stopped' || this.current !== i) return;
      this.clients[i]!.connect();
    }, delayMs);
  }

  private backoff(n: number): number {
    const b = this.o.backoff ?? {};
    return backoffDelay(n, {
      initialMs: b.baseMs ?? 1000,
      maxMs: b.maxMs ?? 30_000,
      jitter: b.jitter ?? 0.3,
      random: this.random,
    });
  }

  private scheduleProbe(): void {
    this.clock.clearTimeout(this.probeTimer);
    this.probeTimer = undefined;
    if (this.state !== 'active' || this.active === this.preferred) return;
    this.probeTimer = this.clock.setTimeout(() => {
      this.probeTimer = undefined;
      const p = this.preferred;
      if (this.state !== 'active' || this.active === p || this.probing !== undefined) return;
      if (this.clients[p]!.state !== 'idle') {
        this.scheduleProbe();
        return;
      }
      this.probing = p;
      this.log.info('probe', { index: p, url: this.o.pools[p]!.url });
      this.clients[p]!.connect();
    }, this.o.probeIntervalMs ?? 60_000);
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

/** The default factory: a Bitcoin StratumClient for a PoolConfig. */
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
    ...(c.userAgent !== undefined ? { userAgent: c.userAgent } : {}),
    ...(c.connector ? { connector: c.connector } : {}),
    clock: c.clock,
    logger: c.logger,
  };
}

// Compile-time check: the Bitcoin client is a ManagedClient of its own job and share types.
const bitcoinIsManaged: CreateManagedClient = createStratumClient;
const bitcoinEventsFit: [ManagedEventsMismatch<ClientEvents>] extends [never] ? true : false = true;
void bitcoinIsManaged;
void bitcoinEventsFit;
