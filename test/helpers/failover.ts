/**
 * Setup shared by the PoolManager failover suites (Bitcoin test/stratum/failover.test.ts, ethash
 * test/stratum-eth/failover.test.ts): what they start is stopped after each test, a ManualClock advanced
 * in small steps while real socket I/O runs, the failover settings both suites use, and a recorder of
 * the manager's events.
 */
import { afterEach } from 'node:test';
import type { ShareOutcome } from '../../host/stratum/client.ts';
import type {
  ManagedJobBase,
  ManagedPoolConfig,
  ManagedPoolJob,
  ManagedShareBase,
  PoolManager,
} from '../../host/stratum/pool-manager.ts';
import { ManualClock } from '../../lib/clock.ts';
import { memoryLogger } from '../../lib/log.ts';

/** A list to push whatever a test starts onto; it is stopped (newest first) after each test. */
export function stopAfterEach(): Array<{ stop(): Promise<void> }> {
  const live: Array<{ stop(): Promise<void> }> = [];
  afterEach(async () => {
    for (const x of live.splice(0).reverse()) await x.stop();
  });
  return live;
}

/** One turn of the real event loop (socket I/O). */
export const tick = () => new Promise((r) => setTimeout(r, 1));

/** Advances the manual clock in small steps, letting real socket I/O run between steps. */
export async function runUntil(
  clock: ManualClock,
  cond: () => boolean,
  what: string,
  maxClockMs: number,
  stepMs = 10,
): Promise<number> {
  const start = clock.now();
  for (;;) {
    await tick();
    if (cond()) return clock.now() - start;
    if (clock.now() - start >= maxClockMs) throw new Error(`${what}: not within ${maxClockMs} clock ms`);
    clock.advance(stepMs);
  }
}

/**
 * The manager settings both suites run with: silence 120 s, ready 10 s, probe every 60 s, 3 failures
 * before a switch, backoff 1 s doubling to 30 s with jitter 0.3 at random 0.5 (retries after 850 ms,
 * 1700 ms, …), on a fresh ManualClock with a memory logger.
 */
export function failoverSettings() {
  const clock = new ManualClock();
  const logger = memoryLogger();
  return {
    clock,
    logger,
    options: {
      silenceMs: 120_000,
      readyTimeoutMs: 10_000,
      probeIntervalMs: 60_000,
      failuresBeforeSwitch: 3,
      backoff: { baseMs: 1000, maxMs: 30_000, jitter: 0.3 },
      random: () => 0.5,
      clock,
      logger,
    },
  };
}

/** What a manager emitted, in order. */
export interface ManagerRecord<Job extends ManagedJobBase> {
  jobs: Array<ManagedPoolJob<Job>>;
  idle: number;
  active: number[];
  switched: Array<{ from: number; to: number; at: number; reason: string }>;
  results: Array<{ poolIndex: number; outcome: ShareOutcome }>;
}

export function recordManager<
  Job extends ManagedJobBase,
  Share extends ManagedShareBase,
  Pool extends ManagedPoolConfig,
>(pm: PoolManager<Job, Share, Pool>): ManagerRecord<Job> {
  const ev: ManagerRecord<Job> = { jobs: [], idle: 0, active: [], switched: [], results: [] };
  pm.on('job', (j) => ev.jobs.push(j));
  pm.on('idle', () => ev.idle++);
  pm.on('active', (a) => ev.active.push(a.index));
  pm.on('switched', (s) => ev.switched.push(s));
  pm.on('shareResult', (r) => ev.results.push({ poolIndex: r.poolIndex, outcome: r.outcome }));
  return ev;
}
