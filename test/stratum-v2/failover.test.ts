/**
 * V2 and V1 pools in one PoolManager priority list (the default client factory picks the protocol from
 * the URL): mining on the SV2 pool, the SV2 pool dies → failover to the V1 pool, the SV2 pool comes back
 * → the probe returns to it. Shares are accounted per pool by the same manager. Real TCP on 127.0.0.1, a
 * ManualClock for the manager's timers.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { StratumServer } from '../../host/pool/server.ts';
import type { ClientJob } from '../../host/stratum/client.ts';
import { type ManagedPoolJob, PoolManager } from '../../host/stratum/pool-manager.ts';
import type { Sv2ClientJob } from '../../host/stratum-v2/client.ts';
import { ellswiftCreate } from '../../host/stratum-v2/ellswift.ts';
import { Sv2Pool } from '../../host/stratum-v2/pool.ts';
import { difficultyToTarget } from '../../host/work/index.ts';
import { failoverSettings, recordManager, runUntil, stopAfterEach } from '../helpers/failover.ts';
import { findNonce } from './helpers.ts';

const live = stopAfterEach();

it('V2 → V1 → back to V2 in one priority list, shares accounted per pool', async () => {
  const authorityPrivateKey = ellswiftCreate().privateKey;
  let sv2 = new Sv2Pool({ difficulty: 1e-5, blockIntervalMs: 0, authorityPrivateKey });
  const port = await sv2.listen(0);
  const first = sv2;
  live.push({ stop: () => first.close() });
  const v1 = new StratumServer({ difficulty: 1e-5, blockIntervalMs: 0 });
  await v1.listen(0);
  live.push({ stop: () => v1.close() });

  const { clock, options } = failoverSettings();
  const pm = new PoolManager({
    pools: [
      { url: sv2.url, user: 'addr.sv2' },
      { url: v1.url, user: 'addr.v1', password: 'x' },
    ],
    versionRollingMask: 0x1fffe000,
    ...options,
    failuresBeforeSwitch: 1,
    probeFirstMs: 5_000,
    probeIntervalMs: 10_000,
  });
  live.push({ stop: () => pm.stop() });
  const ev = recordManager(pm);
  pm.start();
  await runUntil(clock, () => ev.jobs.length > 0, 'first SV2 job', 60_000);
  const j0 = ev.jobs[0] as ManagedPoolJob<Sv2ClientJob>;
  assert.equal(j0.poolIndex, 0);
  assert.equal(j0.protocol, 'sv2');
  assert.deepEqual(ev.active, [0]);

  // A share on the SV2 pool, through the manager.
  const f0 = findNonce(j0, j0.target);
  const o0 = await pm.submit({
    poolToken: j0.poolToken,
    jobId: j0.job.jobId,
    extranonce2: f0.extranonce2,
    ntime: f0.ntime,
    nonce: f0.nonce,
    difficulty: 1,
  });
  assert.deepEqual(o0, { status: 'accepted' });
  assert.equal(pm.getStatus().pools[0]!.accounting.accepted, 1);

  // The SV2 pool dies: the manager moves to the V1 pool.
  await sv2.close();
  await runUntil(
    clock,
    () => ev.switched.some((s) => s.to === 1) && ev.jobs.some((j) => j.poolIndex === 1),
    'failover to V1',
    120_000,
  );
  const j1 = ev.jobs.findLast((j) => j.poolIndex === 1) as ManagedPoolJob<ClientJob>;
  assert.equal((j1 as Partial<Sv2ClientJob>).protocol, undefined, 'a V1 job');
  const f1 = findNonce(j1, difficultyToTarget(j1.difficulty));
  const o1 = await pm.submit({
    poolToken: j1.poolToken,
    jobId: j1.job.jobId,
    extranonce2: f1.extranonce2,
    ntime: f1.ntime,
    nonce: f1.nonce,
    difficulty: 1,
  });
  assert.deepEqual(o1, { status: 'accepted' });
  assert.equal(pm.getStatus().pools[1]!.accounting.accepted, 1);
  // A share of the dead SV2 session never goes to the V1 pool.
  const late = await pm.submit({
    poolToken: j0.poolToken,
    jobId: j0.job.jobId,
    extranonce2: f0.extranonce2,
    ntime: f0.ntime,
    nonce: f0.nonce + 1,
  });
  assert.equal(late.status, 'stale-local');

  // The SV2 pool is back on the same port with the same authority: the probe returns to it.
  sv2 = new Sv2Pool({ difficulty: 1e-5, blockIntervalMs: 0, authorityPrivateKey });
  await sv2.listen(port);
  const second = sv2;
  live.push({ stop: () => second.close() });
  await runUntil(clock, () => ev.switched.some((s) => s.from === 1 && s.to === 0), 'back to SV2', 300_000);
  await runUntil(clock, () => ev.jobs.at(-1)?.poolIndex === 0, 'SV2 job again', 60_000);
  const j2 = ev.jobs.at(-1) as ManagedPoolJob<Sv2ClientJob>;
  assert.equal(j2.protocol, 'sv2');
  assert.notEqual(j2.poolToken, j0.poolToken);
  const f2 = findNonce(j2, j2.target);
  assert.deepEqual(
    await pm.submit({
      poolToken: j2.poolToken,
      jobId: j2.job.jobId,
      extranonce2: f2.extranonce2,
      ntime: f2.ntime,
      nonce: f2.nonce,
      difficulty: 1,
    }),
    { status: 'accepted' },
  );
  const st = pm.getStatus();
  assert.equal(st.pools[0]!.accounting.accepted, 2);
  assert.equal(st.pools[1]!.accounting.accepted, 1);
  assert.equal(st.failover.active, 0);
  assert.equal(second.stats.accepted, 1);
});
