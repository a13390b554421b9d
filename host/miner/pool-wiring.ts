/**
 * The pool side of the Miner: PoolManager events in, jobs to the chains' schedulers, shares out to the
 * pool that issued their job, every share booked in its ledger (host/miner/shares.ts) and announced.
 *
 * - `jobIsClean` (pure): the one clean flag of the seam — the pool's clean_jobs (the client already sets
 *   it on a prevhash change), a new block compared with the job the chips have now, or a job from
 *   another connection.
 * - `PoolWiring`: subscribes to the PoolManager (active / idle / switched / job / versionMask /
 *   difficulty), feeds one job object to every chain the supervisor says gets jobs, and submits shares.
 *   A chain write that fails here (the version mask) is a fault, never a crash; every submitted share
 *   ends in exactly one ledger state, whatever the submit or its handlers do.
 *
 * Time comes from the injected clock only (ManualClock in tests).
 */
import type { Clock } from '../../lib/clock.ts';
import type { Logger } from '../../lib/log.ts';
import type { MinerEvent } from '../api/types.ts';
import type { PoolJob as ManagerJob, PoolManager } from '../stratum/pool-manager.ts';
import type { ShareFate } from './ledger.ts';
import type { ChainScheduler, PoolJob as SchedulerJob, ShareCandidate } from './scheduler.ts';
import type { ShareBook } from './shares.ts';

/** What the pool wiring needs from the Miner. */
export interface PoolWiringHost {
  readonly clock: Clock;
  readonly log: Logger;
  readonly pools: PoolManager;
  readonly shares: ShareBook;
  readonly schedulers: readonly ChainScheduler[];
  /** The chains' version-mask writes (BIP 310 mask granted by the pool). */
  readonly chains: ReadonlyArray<{ setVersionMask(mask: number): Promise<void> }>;
  /** Chain `i` gets jobs now (ready, gate open). */
  feeds(i: number): boolean;
  /** A pool became usable / none is. */
  poolActive(active: boolean): void;
  emit(e: MinerEvent): void;
  changed(): void;
  fault(component: string, severity: 'warning' | 'error' | 'critical', message: string): void;
}

/** The one clean flag: the pool's, a new block against the chips' job, or another connection. */
export function jobIsClean(
  prev: Pick<ManagerJob, 'job' | 'poolToken'> | undefined,
  j: Pick<ManagerJob, 'job' | 'poolToken' | 'cleanJobs'>,
): boolean {
  return j.cleanJobs || !prev || prev.job.prevhash !== j.job.prevhash || prev.poolToken !== j.poolToken;
}

/** The pool manager's job as a scheduler takes it. */
export function schedulerJob(j: ManagerJob, clean: boolean): SchedulerJob {
  return {
    notify: j.job,
    extranonce1: j.extranonce1,
    extranonce2Size: j.extranonce2Size,
    difficulty: j.difficulty,
    versionMask: j.versionMask,
    poolToken: j.poolToken,
    clean,
  };
}

export class PoolWiring {
  private readonly h: PoolWiringHost;
  private last: ManagerJob | undefined;

  constructor(host: PoolWiringHost) {
    this.h = host;
  }

  /** The latest job of the active pool (what a chain that becomes ready is fed). */
  get lastJob(): ManagerJob | undefined {
    return this.last;
  }

  /** Subscribes to the pool manager's events (once, before it starts). */
  attach(): void {
    const { pools, log } = this.h;
    pools.on('job', (j) => this.onJob(j));
    pools.on('idle', () => {
      log.warn('pools.idle', { reason: 'no pool usable; chips idle until one answers' });
      this.h.poolActive(false);
    });
    pools.on('active', (a) => {
      log.info('pools.active', { index: a.index, url: a.url });
      this.h.poolActive(true);
    });
    pools.on('switched', (s) => {
      this.h.emit({
        type: 'pool_switched',
        time: this.h.clock.now(),
        from: s.from,
        to: s.to,
        reason: s.reason,
      });
      this.h.changed();
    });
    pools.on('versionMask', ({ mask }) => {
      for (const c of this.h.chains)
        void safe(() => c.setVersionMask(mask)).catch((e) => this.h.fault('chain', 'warning', String(e)));
    });
    pools.on('difficulty', ({ difficulty }) => {
      for (const s of this.h.schedulers) s.setMinShareDifficulty(difficulty);
    });
  }

  /** A job of the active pool: one job object to every chain that gets jobs now. */
  onJob(j: ManagerJob): void {
    this.h.shares.jobFrom(j.poolToken, j.poolIndex);
    const clean = jobIsClean(this.last, j);
    this.last = j;
    const job = schedulerJob(j, clean);
    const s = this.h.schedulers;
    for (let i = 0; i < s.length; i++) if (this.h.feeds(i)) s[i]?.setJob(job);
  }

  /** Feeds chain `i` the latest job (a chain that just became ready), as clean. */
  feedLatest(i: number): void {
    if (this.last) this.h.schedulers[i]?.setJob(schedulerJob(this.last, true));
  }

  /**
   * A share from chain `chainIndex`: booked under the pool that issued its job (the active one may have
   * changed since), submitted there, settled in exactly one state.
   */
  submit(share: ShareCandidate, chainIndex: number): void {
    const { clock, log } = this.h;
    const c = share.check;
    const block = c.kind === 'block';
    const ticket = this.h.shares.found({ token: String(share.poolToken), chain: chainIndex, block });
    const pool = ticket.pool;
    if (block) {
      log.info('block.found', { hash: c.hashHex, difficulty: c.difficulty });
      this.h.emit({
        type: 'block_found',
        time: clock.now(),
        pool,
        hash: c.hashHex,
        difficulty: c.difficulty,
      });
    }
    const settle = (fate: ShareFate) =>
      ticket.settle(fate, { difficulty: share.poolDifficulty, at: clock.now() });
    safe(() =>
      this.h.pools.submit({
        poolToken: String(share.poolToken),
        jobId: c.jobId,
        extranonce2: c.extranonce2Hex,
        ntime: c.ntime,
        nonce: c.nonce,
        ...(share.rolling ? { versionBits: c.versionBits } : {}),
        difficulty: c.difficulty,
      }),
    )
      .then(
        (outcome) => {
          const time = clock.now();
          if (outcome.status === 'accepted') {
            settle({ status: 'accepted' });
            log.info('share.accepted', {
              chain: chainIndex,
              chip: share.chipIndex,
              difficulty: round(c.difficulty),
            });
            this.h.emit({
              type: 'share_accepted',
              time,
              pool,
              difficulty: c.difficulty,
              chain: chainIndex,
              chip: share.chipIndex,
            });
          } else {
            const reason = outcome.status === 'rejected' ? outcome.reason : outcome.status;
            settle(
              outcome.status === 'rejected' ? { status: 'rejected', reason } : { status: outcome.status },
            );
            log.warn('share.rejected', {
              chain: chainIndex,
              reason,
              detail:
                'message' in outcome ? outcome.message : 'detail' in outcome ? outcome.detail : undefined,
            });
            this.h.emit({ type: 'share_rejected', time, pool, difficulty: c.difficulty, reason });
          }
        },
        (err) => {
          // submit() resolves for every outcome; a rejection is a bug, but the share still gets one state.
          settle({ status: 'no-answer' });
          log.error('share.submit_failed', { chain: chainIndex, error: errorMessage(err) });
        },
      )
      // Whatever happens in the handlers above, the share has one state and nothing goes unhandled.
      .catch((err: unknown) => {
        settle({ status: 'no-answer' });
        log.error('share.handler_failed', { chain: chainIndex, error: errorMessage(err) });
      });
  }
}

/** Runs `fn`, turning a synchronous throw into a rejected promise. */
export function safe<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return fn();
  } catch (err) {
    return Promise.reject(err);
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function round(x: number): number {
  return Number(x.toPrecision(4));
}
