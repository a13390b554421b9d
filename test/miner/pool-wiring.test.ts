/**
 * The pool side of the Miner (host/miner/pool-wiring.ts), alone under the ManualClock: the one clean
 * flag, one job object per notify for the chains that get jobs, every share settled in exactly one ledger
 * state whatever the submit does (answer, rejection, a throw, a throwing listener), and chain writes that
 * fail on a pool event (the version mask) are faults, never crashes. A fake PoolManager (an EventEmitter
 * with submit) drives it; the real one is wired in the e2e tests (test/e2e/ledger-faults.test.ts).
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { after, before, describe, it } from 'node:test';
import type { MinerEvent } from '../../host/api/types.ts';
import { checkLedger } from '../../host/miner/ledger.ts';
import { jobIsClean, PoolWiring, type PoolWiringHost } from '../../host/miner/pool-wiring.ts';
import type { PoolJob as SchedulerJob, ShareCandidate } from '../../host/miner/scheduler.ts';
import { ShareBook } from '../../host/miner/shares.ts';
import type { PoolJob, PoolManager } from '../../host/stratum/pool-manager.ts';
import type { ShareOutcome } from '../../host/stratum/session.ts';
import type { NonceCheck } from '../../host/work/index.ts';
import { ManualClock } from '../../lib/clock.ts';
import { memoryLogger } from '../../lib/log.ts';

const unhandled: unknown[] = [];
const onUnhandled = (r: unknown) => unhandled.push(r);
before(() => process.on('unhandledRejection', onUnhandled));
after(() => process.off('unhandledRejection', onUnhandled));
const flush = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

function job(o: Partial<PoolJob> & { prevhash?: string } = {}): PoolJob {
  return {
    job: {
      jobId: o.job?.jobId ?? '1',
      prevhash: o.prevhash ?? 'aa'.repeat(32),
      coinb1: '01',
      coinb2: '02',
      merkleBranch: [],
      version: '20000000',
      nbits: '1d00ffff',
      ntime: '5f000000',
      cleanJobs: o.cleanJobs ?? false,
    },
    extranonce1: '00000001',
    extranonce2Size: 4,
    difficulty: 1,
    versionMask: 0x1fffe000,
    cleanJobs: o.cleanJobs ?? false,
    poolToken: o.poolToken ?? 'pool0#1',
    user: 'w',
    receivedAt: 0,
    poolIndex: o.poolIndex ?? 0,
    poolUrl: 'stratum+tcp://127.0.0.1:1',
  };
}

function candidate(kind: 'share' | 'block' = 'share', token = 'pool0#1'): ShareCandidate {
  const check = {
    kind,
    difficulty: 2,
    hashHex: '00'.repeat(32),
    jobId: '1',
    extranonce2Hex: '00000000',
    nonce: 7,
    ntime: 0x5f000000,
    version: 0x20000000,
    versionBits: 0,
    submitParams: () => [],
  } as NonceCheck;
  return { check, poolToken: token, chipIndex: 0, rolling: true, poolDifficulty: 1 };
}

function rig(o: { feeds?: boolean[]; submit?: () => Promise<ShareOutcome> } = {}) {
  const clock = new ManualClock();
  const log = memoryLogger('debug');
  const pools = Object.assign(new EventEmitter(), {
    submitted: 0,
    submit: (_s: unknown) => {
      pools.submitted++;
      return o.submit ? o.submit() : Promise.resolve({ status: 'accepted' } as ShareOutcome);
    },
  });
  const feeds = o.feeds ?? [true, true];
  const fed: SchedulerJob[][] = feeds.map(() => []);
  const minDiff: number[] = [];
  const schedulers = feeds.map((_, i) => ({
    setJob: (j: SchedulerJob) => fed[i]!.push(j),
    setMinShareDifficulty: (d: number) => minDiff.push(d),
  }));
  const masks: number[] = [];
  const chains = [
    {
      setVersionMask: (m: number): Promise<void> => {
        masks.push(m);
        throw new Error('UART write failed (EIO), synchronously');
      },
    },
    { setVersionMask: async (_m: number) => Promise.reject(new Error('UART write failed (EIO)')) },
  ];
  const events: MinerEvent[] = [];
  const faults: string[] = [];
  const active: boolean[] = [];
  let changes = 0;
  const shares = new ShareBook({ pools: 2, chains: 2 });
  const host: PoolWiringHost = {
    clock,
    log,
    pools: pools as unknown as PoolManager,
    shares,
    schedulers: schedulers as unknown as PoolWiringHost['schedulers'],
    chains,
    feeds: (i) => feeds[i] === true,
    poolActive: (a) => active.push(a),
    emit: (e) => events.push(e),
    changed: () => changes++,
    fault: (_c, _s, m) => faults.push(m),
  };
  const wiring = new PoolWiring(host);
  wiring.attach();
  return {
    clock,
    log,
    pools,
    fed,
    minDiff,
    masks,
    events,
    faults,
    active,
    shares,
    wiring,
    host,
    changes: () => changes,
  };
}

describe('the clean flag', () => {
  it('the pool’s flag, the first job, a new block without clean_jobs, or another connection', () => {
    const a = job();
    assert.equal(jobIsClean(undefined, a), true, 'first job');
    assert.equal(jobIsClean(a, job()), false, 'same block, same connection, not clean');
    assert.equal(jobIsClean(a, job({ cleanJobs: true })), true, 'the pool says so');
    assert.equal(jobIsClean(a, job({ prevhash: 'bb'.repeat(32) })), true, 'new block without clean_jobs');
    assert.equal(jobIsClean(a, job({ poolToken: 'pool1#1' })), true, 'another connection');
  });
});

describe('PoolWiring', () => {
  it('one job object per notify, only to the chains that get jobs; the connection is booked to its pool', () => {
    const r = rig({ feeds: [true, false] });
    r.pools.emit('job', job({ poolToken: 'pool1#3', poolIndex: 1 }));
    r.pools.emit('job', job({ poolToken: 'pool1#3', poolIndex: 1, prevhash: 'cc'.repeat(32) }));
    r.pools.emit('job', job({ poolToken: 'pool1#3', poolIndex: 1, prevhash: 'cc'.repeat(32) }));
    assert.deepEqual(
      r.fed[0]!.map((j) => j.clean),
      [true, true, false],
    );
    assert.equal(r.fed[1]!.length, 0, 'a chain that is not ready gets nothing');
    assert.equal(r.shares.poolOf('pool1#3'), 1);
    assert.equal(r.wiring.lastJob?.job.prevhash, 'cc'.repeat(32));
    r.wiring.feedLatest(1);
    assert.equal(r.fed[1]!.length, 1);
    assert.equal(r.fed[1]![0]!.clean, true, 'a chain that becomes ready gets the latest job as clean');
  });

  it('pool events: active / idle to the gate, a switch announced at clock time, difficulty to every chain', () => {
    const r = rig();
    r.clock.advance(1234);
    const at = r.clock.now();
    r.pools.emit('active', { index: 0, url: 'u' });
    r.pools.emit('idle', { reason: 'all down' });
    r.pools.emit('switched', { from: 0, to: 1, reason: 'silence' });
    r.pools.emit('difficulty', { poolIndex: 0, difficulty: 64 });
    assert.deepEqual(r.active, [true, false]);
    assert.deepEqual(r.events, [{ type: 'pool_switched', time: at, from: 0, to: 1, reason: 'silence' }]);
    assert.equal(r.changes(), 1);
    assert.deepEqual(r.minDiff, [64, 64]);
  });

  it('a version-mask write that fails (thrown or rejected) is a fault per chain, never a crash', async () => {
    const r = rig();
    assert.doesNotThrow(() => r.pools.emit('versionMask', { poolIndex: 0, mask: 0x1fffe000 }));
    await flush();
    assert.deepEqual(r.masks, [0x1fffe000]);
    assert.equal(r.faults.length, 2);
    assert.ok(r.faults.every((f) => /UART write failed/.test(f)));
    assert.deepEqual(unhandled, []);
  });

  it('every share ends in exactly one state, whatever the submit does', async () => {
    const outcomes: Array<() => Promise<ShareOutcome>> = [
      async () => ({ status: 'accepted' }),
      async () => ({
        status: 'rejected',
        reason: 'duplicate',
        code: 22,
        poolCode: 22,
        message: 'Duplicate share',
      }),
      async () => ({ status: 'no-answer', cause: 'timeout' }),
      async () => ({ status: 'stale-local', detail: 'job from a closed connection' }),
      () => Promise.reject(new Error('bug: submit rejected')),
      () => {
        throw new Error('bug: submit threw');
      },
    ];
    let k = 0;
    const r = rig({ submit: () => outcomes[k++]!() });
    r.pools.emit('job', job());
    for (let i = 0; i < outcomes.length; i++) {
      assert.doesNotThrow(() => r.wiring.submit(candidate(), 0));
    }
    await flush();
    const c = r.shares.pools[0]!.counts();
    assert.deepEqual(
      {
        found: c.found,
        accepted: c.accepted,
        rejected: c.rejected,
        noAnswer: c.noAnswer,
        staleLocal: c.staleLocal,
        pending: c.pending,
      },
      { found: 6, accepted: 1, rejected: 1, noAnswer: 3, staleLocal: 1, pending: 0 },
    );
    assert.equal(c.rejectedByReason.duplicate, 1);
    assert.deepEqual(checkLedger(c), []);
    assert.deepEqual(checkLedger(r.shares.chains[0]!.counts()), []);
    assert.deepEqual(
      r.events.map((e) => e.type),
      ['share_accepted', 'share_rejected', 'share_rejected', 'share_rejected'],
    );
    assert.deepEqual(unhandled, []);
  });

  it('a handler that throws after the answer still leaves the share in one state, nothing unhandled', async () => {
    const r = rig();
    r.host.emit = (e) => {
      if (e.type === 'share_accepted') throw new Error('listener bug');
    };
    r.pools.emit('job', job());
    r.wiring.submit(candidate(), 1);
    await flush();
    const c = r.shares.pools[0]!.counts();
    assert.equal(c.found, 1);
    assert.equal(c.accepted, 1, 'settled once, before the handler failed');
    assert.equal(c.pending, 0);
    assert.deepEqual(checkLedger(c), []);
    assert.ok(r.log.records.some((l) => l.event === 'share.handler_failed'));
    assert.deepEqual(unhandled, []);
  });
});
