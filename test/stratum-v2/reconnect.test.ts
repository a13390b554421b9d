/**
 * Stratum V2 `Reconnect` to another host, through the PoolManager: on a pool with an authority key the
 * client follows it (the new host proves itself with a certificate of the same authority), the manager
 * counts no failure and stays on that pool entry, shares go to the new host; a redirect to a host whose
 * certificate another authority signed fails the handshake and the next connection returns to the
 * configured host. Without an authority key (allowUnauthenticated) another host is refused. Real TCP on
 * 127.0.0.1/127.0.0.2/127.0.0.3 (all loopback), a ManualClock for the manager's timers.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { StratumServer } from '../../host/pool/server.ts';
import { type ManagedPoolJob, PoolManager } from '../../host/stratum/pool-manager.ts';
import type { Sv2ClientJob } from '../../host/stratum-v2/client.ts';
import { ellswiftCreate } from '../../host/stratum-v2/ellswift.ts';
import { Sv2Pool } from '../../host/stratum-v2/pool.ts';
import { failoverSettings, recordManager, runUntil, stopAfterEach } from '../helpers/failover.ts';
import { findNonce } from './helpers.ts';

const live = stopAfterEach();

async function pool(host: string, authorityPrivateKey: Uint8Array): Promise<Sv2Pool> {
  const p = new Sv2Pool({ host, difficulty: 1e-5, blockIntervalMs: 0, authorityPrivateKey });
  await p.listen(0);
  live.push({ stop: () => p.close() });
  return p;
}

async function managerOn(url: string, extra: Record<string, unknown> = {}) {
  const v1 = new StratumServer({ difficulty: 1e-5, blockIntervalMs: 0 });
  await v1.listen(0);
  live.push({ stop: () => v1.close() });
  const { clock, logger, options } = failoverSettings();
  const pm = new PoolManager({
    pools: [
      { url, user: 'addr.sv2', ...extra },
      { url: v1.url, user: 'addr.v1', password: 'x' },
    ],
    versionRollingMask: 0x1fffe000,
    ...options,
  });
  live.push({ stop: () => pm.stop() });
  const ev = recordManager(pm);
  pm.start();
  return { pm, ev, clock, logger, v1 };
}

it('an authenticated pool may move the miner to another host of the same authority', async () => {
  const authority = ellswiftCreate().privateKey;
  const a = await pool('127.0.0.1', authority);
  const b = await pool('127.0.0.2', authority);
  const stranger = await pool('127.0.0.3', ellswiftCreate().privateKey);
  const { pm, ev, clock, logger, v1 } = await managerOn(a.url);
  await runUntil(clock, () => ev.jobs.length > 0, 'first job from A', 60_000);

  // A job from B is one on another connection than A's (its poolToken): B's first job may arrive in the
  // same turn of the event loop as its channel opening, so counting jobs after that would miss it.
  const tokenA = ev.jobs.at(-1)!.poolToken;
  a.reconnect('127.0.0.2', b.port);
  await runUntil(clock, () => b.stats.channels.extended === 1, 'channel opened on B', 60_000);
  await runUntil(clock, () => ev.jobs.some((x) => x.poolToken !== tokenA), 'a job from B', 60_000);
  assert.ok(logger.records.some((r) => r.event === 'reconnect_redirect'));
  assert.deepEqual(ev.switched, [], 'no failover for a reconnect request');
  assert.equal(v1.stats.connections, 0, 'the V1 fallback was never needed');
  assert.equal(pm.getStatus().failover.active, 0);

  // A share on B's job, through the manager: accepted by B.
  const j = ev.jobs.at(-1) as ManagedPoolJob<Sv2ClientJob>;
  assert.equal(j.poolIndex, 0);
  const f = findNonce(j, j.target);
  const o = await pm.submit({
    poolToken: j.poolToken,
    jobId: j.job.jobId,
    extranonce2: f.extranonce2,
    ntime: f.ntime,
    nonce: f.nonce,
    difficulty: 1,
  });
  assert.equal(o.status, 'accepted');
  assert.equal(b.stats.accepted, 1);

  // B sends the miner to a host whose certificate another authority signed: refused by the handshake,
  // and the next connection goes back to the configured host A.
  const aConnections = a.stats.connections;
  b.reconnect('127.0.0.3', stranger.port);
  await runUntil(clock, () => stranger.stats.connections >= 1, 'connection to the stranger', 60_000);
  await runUntil(
    clock,
    () => a.stats.connections > aConnections && a.stats.channels.extended >= 2,
    'back on A',
    120_000,
  );
  assert.equal(
    stranger.stats.channels.extended + stranger.stats.channels.standard,
    0,
    'no channel on the stranger',
  );
  assert.ok(
    logger.records.some(
      (r) =>
        r.event === 'handshake_failed' &&
        JSON.stringify(r).includes('does not verify with the authority key'),
    ),
    'the stranger certificate was refused',
  );
  // The pool policy treats the pool-requested reconnect like any reconnect path (it counts toward the
  // backoff, so a reconnect storm slows down) and the refused host as a failure: still below the switch.
  assert.deepEqual(ev.switched, []);
  await runUntil(clock, () => pm.getStatus().failover.active === 0, 'mining on A again', 60_000);
});

it('without an authority key, a reconnect to another host is refused (same host only)', async () => {
  const authority = ellswiftCreate().privateKey;
  const a = await pool('127.0.0.1', authority);
  const b = await pool('127.0.0.2', authority);
  const { ev, clock, logger } = await managerOn(a.url.replace(/\/[^/]*$/, ''), {
    allowUnauthenticated: true,
  });
  await runUntil(clock, () => ev.jobs.length > 0, 'first job from A', 60_000);
  a.reconnect('127.0.0.2', b.port);
  await runUntil(clock, () => a.stats.channels.extended >= 2, 'reconnected to A itself', 60_000);
  assert.equal(b.stats.connections, 0, 'B never contacted');
  assert.ok(logger.records.some((r) => r.event === 'reconnect_redirect_refused'));
  assert.deepEqual(ev.switched, []);
});
