/**
 * Ethash failover: createEthPoolManager (the shared PoolManager driving EthStratumClients) against real
 * EthPoolServer instances on 127.0.0.1, with a ManualClock. Primary dies (silent, or closed) → fallback;
 * primary back → return after a healthy probe; all down → idle → resume by itself; shares accounted per
 * pool and never submitted to a pool that did not issue their job (both pools number their jobs alike, so
 * a misrouted share would reach a job of the same id). Measured failover times (clock ms) are printed as
 * test diagnostics.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import {
  boundaryWords,
  checkShare,
  type EthashCacheStore,
  type EthashLight,
  headerWords,
} from '../../host/ethash/index.ts';
import { EthPoolServer, type EthPoolServerOptions } from '../../host/pool-eth/server.ts';
import { nonceSegment } from '../../host/stratum-eth/messages.ts';
import {
  createEthPoolManager,
  type EthPoolJob,
  type EthPoolManagerOptions,
} from '../../host/stratum-eth/pool-manager.ts';
import { testCacheStore } from '../ethash/shared-cache.ts';
import { failoverSettings, recordManager, runUntil, stopAfterEach, tick } from '../helpers/failover.ts';
import { waitFor } from '../helpers/net.ts';

const live = stopAfterEach();

async function pool(o: Partial<EthPoolServerOptions> = {}): Promise<EthPoolServer> {
  const s = await EthPoolServer.start({ verifyShares: false, difficulty: 2 ** -20, ...o });
  live.push(s);
  return s;
}

function manager(urls: string[], extra: Partial<EthPoolManagerOptions> = {}) {
  const { clock, logger, options } = failoverSettings();
  const pm = createEthPoolManager({
    pools: urls.map((url, i) => ({ url, user: `0xabc.rig${i}`, password: `secret${i}` })),
    ...options,
    ...extra,
  });
  live.push({ stop: () => pm.stop() });
  return { pm, clock, ev: recordManager(pm), logger };
}

/**
 * Slack on measured clock times: the manual clock moves in steps while real socket I/O runs between
 * them, so each handshake round trip can cost a step or two.
 */
const SLACK = 1000;

/** mining.submit lines a pool received. */
const submits = (s: EthPoolServer) => s.received.filter((r) => r.line.includes('"mining.submit"'));

describe('ethash PoolManager failover', () => {
  it('silent primary (2.0.0) → fallback (1.0.0) within the silence time; primary back → returns after a healthy probe', async (t) => {
    const a = await pool();
    const b = await pool();
    // silenceMs differs from the client default (120 s), so the test shows the manager's value is used;
    // the probe interval stays below it (these pools send no new jobs, so an idle fallback goes silent).
    const { pm, clock, ev } = manager([a.url('v2'), b.url('v1')], {
      silenceMs: 45_000,
      probeIntervalMs: 30_000,
    });
    pm.start();
    await runUntil(clock, () => ev.active.length === 1, 'primary active', 5000);
    const first = ev.jobs.at(-1)!;
    assert.equal(first.poolIndex, 0);
    assert.equal(first.dialect, 'v2');
    assert.equal(first.headerHash, a.currentJob!.headerHash);
    assert.equal(first.difficulty, 2 ** -20);
    assert.equal(pm.getStatus().versionMask, 0, 'no version rolling in ethash');

    a.silent = true;
    const silentAt = clock.now();
    clock.advance(44_000);
    await tick();
    assert.equal(ev.switched.length, 0, 'still on the primary before silenceMs');
    await runUntil(clock, () => ev.switched.length === 1, 'fallback', 5000);
    const failover = ev.switched[0]!.at - silentAt;
    t.diagnostic(`measured ethash failover (silent primary, silenceMs 45000): ${failover} clock ms`);
    assert.ok(failover >= 45_000 && failover <= 45_000 + SLACK, `failover took ${failover} ms`);
    assert.equal(ev.switched[0]!.from, 0);
    assert.match(ev.switched[0]!.reason, /silence/);
    const fb = ev.jobs.at(-1)!;
    assert.equal(fb.poolIndex, 1);
    assert.equal(fb.dialect, 'v1');
    assert.equal(fb.headerHash, b.currentJob!.headerHash);
    assert.equal(fb.user, '0xabc.rig1');
    assert.equal(fb.cleanJobs, true);
    assert.equal(pm.getStatus().failover.onFallback, true);

    // The primary comes back on the same port: the probe (a full 2.0.0 session) must find it healthy.
    const port = a.port;
    await a.stop();
    const a2 = await pool({ port });
    const backAt = clock.now();
    await runUntil(clock, () => ev.switched.length === 2, 'return to primary', 40_000, 100);
    const ret = ev.switched[1]!.at - backAt;
    t.diagnostic(
      `measured ethash return to primary after it came back (probeIntervalMs 30000): ${ret} clock ms`,
    );
    assert.ok(ret <= 30_000 + SLACK, `return took ${ret} ms`);
    assert.equal(ev.switched[1]!.to, 0);
    assert.equal(ev.switched[1]!.reason, 'preferred pool healthy again');
    const back = ev.jobs.at(-1)!;
    assert.equal(back.poolIndex, 0);
    assert.equal(back.headerHash, a2.currentJob!.headerHash);
    assert.equal(back.cleanJobs, true);
    const st = pm.getStatus();
    assert.equal(st.state, 'active');
    assert.equal(st.pool!.index, 0);
    assert.equal(st.failover.onFallback, false);
    assert.equal(st.failover.switches, 2);
    await waitFor(() => b.connectionCount === 0, 'fallback connection closed after the return');
  });

  it('closed primary (auto-detected dialect) → retried with backoff + jitter, then the fallback; its pending share ends as no-answer on the primary', async (t) => {
    const a = await pool();
    const b = await pool();
    const { pm, clock, ev } = manager([a.url('auto'), b.url('auto')]);
    pm.start();
    await runUntil(clock, () => ev.active.length === 1, 'primary active', 5000);
    const jobA = ev.jobs.at(-1)!;
    assert.equal(jobA.dialect, 'v2', 'auto-detection prefers 2.0.0');
    const seg = nonceSegment(jobA.extranonce);
    a.silent = true;
    const pending = pm.submit({ poolToken: jobA.poolToken, jobId: jobA.jobId, nonce: seg.start + 7n });
    await waitFor(() => submits(a).length === 1, 'submit reached the primary');
    await a.stop();
    const diedAt = clock.now();
    assert.deepEqual(await pending, { status: 'no-answer', cause: 'disconnect' });
    await runUntil(clock, () => ev.switched.length === 1, 'fallback', 20_000);
    const failover = ev.switched[0]!.at - diedAt;
    // random 0.5, jitter 0.3: retries after 850 and 1700 ms, then the fallback at once.
    t.diagnostic(
      `measured ethash failover (primary closed, 3 attempts, backoff 1 s base): ${failover} clock ms`,
    );
    assert.ok(failover >= 2550 && failover <= 2550 + SLACK, `failover took ${failover} ms`);
    assert.equal(ev.idle, 0);
    const jobB = ev.jobs.at(-1)!;
    assert.equal(jobB.poolIndex, 1);
    // The primary's job must not go to the fallback, even though the fallback has a job with that id.
    assert.equal(jobA.jobId, jobB.jobId, 'both pools number their jobs alike');
    const late = await pm.submit({ poolToken: jobA.poolToken, jobId: jobA.jobId, nonce: seg.start + 8n });
    assert.equal(late.status, 'stale-local');
    assert.equal(submits(b).length, 0);
    const acc = pm.getStatus().pools.map((p) => p.accounting);
    assert.equal(acc[0]!.noAnswer, 1);
    assert.equal(acc[0]!.staleLocal, 1);
    assert.equal(acc[1]!.noAnswer + acc[1]!.staleLocal + acc[1]!.accepted, 0);
    assert.equal(pm.getStatus().pools[0]!.connection, 'idle');
  });

  it('all pools down → idle; a pool back → active again by itself', async (t) => {
    const a = await pool();
    const b = await pool();
    const { pm, clock, ev } = manager([a.url('v1'), b.url('v2')]);
    pm.start();
    await runUntil(clock, () => ev.active.length === 1, 'primary active', 5000);
    const portB = b.port;
    await a.stop();
    await b.stop();
    const downAt = clock.now();
    await runUntil(clock, () => ev.idle === 1, 'idle', 60_000);
    t.diagnostic(`measured ethash time to idle with both pools down: ${clock.now() - downAt} clock ms`);
    assert.equal(pm.getStatus().state, 'idle');
    assert.equal(pm.getStatus().pool, null);
    // Still cycling while idle: nothing comes back for a while, it stays idle (one 'idle' event only).
    await runUntil(clock, () => false, 'still down', 30_000, 500).catch(() => {});
    assert.equal(ev.idle, 1);
    assert.equal(ev.active.length, 1);
    const b2 = await pool({ port: portB });
    const upAt = clock.now();
    await runUntil(clock, () => ev.active.length === 2, 'resume', 120_000, 50);
    t.diagnostic(`measured ethash resume after a pool came back (from idle): ${clock.now() - upAt} clock ms`);
    assert.equal(ev.active[1], 1);
    assert.equal(pm.getStatus().state, 'active');
    const j = ev.jobs.at(-1)!;
    assert.equal(j.poolIndex, 1);
    assert.equal(j.dialect, 'v2');
    assert.equal(j.headerHash, b2.currentJob!.headerHash);
  });

  it('createEthPoolManager refuses bad pool entries with the field named', () => {
    assert.throws(() => createEthPoolManager({ pools: [] }), /pools: at least one pool/);
    assert.throws(
      () =>
        createEthPoolManager({ pools: [{ url: 'stratum3+tcp://h:1', user: 'u' }, { url: 'x' } as never] }),
      /pools\[1\]: url and user/,
    );
    assert.throws(
      () => createEthPoolManager({ pools: [{ url: 'stratum1+tcp://h:1', user: 'u' }] }),
      /eth-proxy/,
    );
  });
});

describe('ethash PoolManager shares and accounting (pools verify with ethash light)', () => {
  let store: EthashCacheStore;
  let light: EthashLight;
  before(async () => {
    store = testCacheStore();
    light = await store.get(0);
  });

  /** A nonce in the job's segment that meets (or, want=false, misses) the job's target. */
  function findNonce(job: EthPoolJob, want: boolean, skip = 0): { nonce: bigint; difficulty: number } {
    const seg = nonceSegment(job.extranonce);
    const hw = headerWords(job.headerHash);
    const bw = boundaryWords(job.target);
    let seen = 0;
    for (let i = 0n; i < 5000n; i++) {
      const r = checkShare(light, hw, seg.start + i, bw);
      if (r.meets === want && seen++ === skip) return { nonce: seg.start + i, difficulty: r.difficulty };
    }
    throw new Error('no nonce found in 5000 tries');
  }

  for (const [d0, d1] of [
    ['v1', 'v2'],
    ['v2', 'v1'],
  ] as const) {
    it(`pool0 ${d0}, pool1 ${d1}: each share goes to the pool of its job, with that pool's user; outcomes accounted per pool`, async () => {
      const a = await pool({ verifyShares: true, store, difficulty: 2 ** -26 });
      const b = await pool({ verifyShares: true, store, difficulty: 2 ** -26 });
      const { pm, clock, ev } = manager([a.url(d0), b.url(d1)], {
        bestShareAllTime: { [a.url(d0)]: 1e-3 },
      });
      pm.start();
      await runUntil(clock, () => ev.active.length === 1, 'primary active', 5000);
      const jobA = ev.jobs.at(-1)!;
      assert.equal(jobA.poolIndex, 0);
      assert.equal(jobA.dialect, d0);

      const good = findNonce(jobA, true);
      const share = (j: EthPoolJob, n: { nonce: bigint; difficulty: number }) => ({
        poolToken: j.poolToken,
        jobId: j.jobId,
        nonce: n.nonce,
        difficulty: n.difficulty,
      });
      assert.deepEqual(await pm.submit(share(jobA, good)), { status: 'accepted' });
      const low = await pm.submit(share(jobA, findNonce(jobA, false)));
      assert.equal(low.status, 'rejected');
      assert.equal(low.status === 'rejected' && low.reason, 'low-difficulty');
      const dup = await pm.submit(share(jobA, good));
      assert.equal(dup.status === 'rejected' && dup.reason, 'duplicate');
      assert.equal(a.stats.accepted, 1);
      if (d0 === 'v1') assert.match(submits(a)[0]!.line, /"0xabc\.rig0"/);

      pm.switchTo(1);
      await runUntil(clock, () => ev.switched.length === 1, 'manual switch', 5000);
      await waitFor(() => pm.getStatus().pools[0]!.connection === 'idle', 'old connection drained');
      const jobB = ev.jobs.at(-1)!;
      assert.equal(jobB.poolIndex, 1);
      assert.equal(jobB.dialect, d1);
      assert.equal(jobB.jobId, jobA.jobId, 'same job id on both pools');

      // A good share of pool 0's job, after the switch: refused locally, sent nowhere.
      const late = await pm.submit(share(jobA, findNonce(jobA, true, 1)));
      assert.equal(late.status, 'stale-local');
      assert.equal(submits(a).length, 3);
      assert.equal(submits(b).length, 0);

      const goodB = findNonce(jobB, true);
      assert.deepEqual(await pm.submit(share(jobB, goodB)), { status: 'accepted' });
      if (d1 === 'v1') assert.match(submits(b)[0]!.line, /"0xabc\.rig1"/);
      assert.equal(b.stats.accepted, 1);
      const forged = await pm.submit({ ...share(jobB, findNonce(jobB, true, 1)), poolToken: 'pool9#1' });
      assert.equal(forged.status, 'stale-local');
      assert.equal(pm.orphanShares, 1);
      assert.equal(submits(b).length, 1);
      // Neither pool ever saw a share for a job it did not issue.
      assert.equal(a.stats.rejected.stale + b.stats.rejected.stale, 0);

      const st = pm.getStatus();
      const [p0, p1] = st.pools.map((p) => p.accounting);
      assert.equal(p0!.accepted, 1);
      assert.equal(p0!.acceptedDifficulty, 2 ** -26);
      assert.equal(p0!.rejected, 2);
      assert.equal(p0!.rejectedDifficulty, 2 * 2 ** -26);
      assert.equal(p0!.rejectedByReason['low-difficulty'], 1);
      assert.equal(p0!.rejectedByReason.duplicate, 1);
      assert.equal(p0!.staleLocal, 1);
      assert.equal(p0!.bestShareSession, good.difficulty);
      assert.equal(p0!.bestShareAllTime, Math.max(1e-3, good.difficulty));
      assert.equal(p1!.accepted, 1);
      assert.equal(p1!.rejected, 0);
      assert.equal(p1!.staleLocal, 0);
      assert.equal(p1!.bestShareSession, goodB.difficulty);
      assert.equal(p1!.lastShareAt, clock.now());
      // Every share ended in exactly one state, on the pool that issued its job (forged → -1).
      assert.deepEqual(
        ev.results.map((r) => [r.poolIndex, r.outcome.status]),
        [
          [0, 'accepted'],
          [0, 'rejected'],
          [0, 'rejected'],
          [0, 'stale-local'],
          [1, 'accepted'],
          [-1, 'stale-local'],
        ],
      );
      const text = JSON.stringify(st);
      assert.ok(!text.includes('secret0') && !text.includes('secret1'), 'no password in status');
    });
  }
});
