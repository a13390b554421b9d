/**
 * PoolManager failover over real TCP (scripted pools on 127.0.0.1) with a ManualClock: primary dies →
 * fallback; primary back → return; all down → idle → resume; shares only go to the issuing connection.
 * The measured failover times (clock ms) are printed as test diagnostics.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ShareSubmission } from '../../host/stratum/client.ts';
import { type PoolJob, PoolManager, type PoolManagerOptions } from '../../host/stratum/pool-manager.ts';
import { failoverSettings, recordManager, runUntil, stopAfterEach, tick } from '../helpers/failover.ts';
import { waitFor } from '../helpers/net.ts';
import { replies, ScriptedServer } from './scripted-server.ts';

const live = stopAfterEach();

async function pools(n: number) {
  const out: ScriptedServer[] = [];
  for (let i = 0; i < n; i++) {
    const s = await ScriptedServer.start({ difficulty: 0.001 });
    live.push(s);
    out.push(s);
  }
  return out;
}

function manager(servers: ScriptedServer[], extra: Partial<PoolManagerOptions> = {}) {
  const { clock, options } = failoverSettings();
  const pm = new PoolManager({
    pools: servers.map((s, i) => ({ url: s.url, user: `user${i}`, password: `secret${i}` })),
    versionRollingMask: 0x1fffe000,
    ...options,
    ...extra,
  });
  live.push({ stop: () => pm.stop() });
  return { pm, clock, ev: recordManager(pm) };
}

const share = (j: PoolJob): ShareSubmission => ({
  poolToken: j.poolToken,
  jobId: j.job.jobId,
  extranonce2: '00000001',
  ntime: 0x504e86ed,
  nonce: 0xb2957c02,
  difficulty: 5,
});

describe('PoolManager failover', () => {
  it('silent primary → fallback within the silence time; primary back → returns after a healthy probe', async (t) => {
    const [a, b] = await pools(2);
    const { pm, clock, ev } = manager([a!, b!]);
    pm.start();
    await runUntil(clock, () => ev.active.length === 1, 'primary active', 5000);
    assert.equal(ev.jobs.at(-1)!.poolIndex, 0);
    assert.equal(ev.jobs.at(-1)!.difficulty, 0.001);
    a!.silent = true;
    const silentAt = clock.now();
    clock.advance(119_000);
    assert.equal(ev.switched.length, 0);
    await runUntil(clock, () => ev.switched.length === 1, 'fallback', 5000);
    const failover = ev.switched[0]!.at - silentAt;
    t.diagnostic(`measured failover (silent primary, silenceMs 120000): ${failover} clock ms`);
    assert.ok(failover >= 120_000 && failover <= 120_000 + 200, `failover took ${failover} ms`);
    assert.deepEqual(ev.switched[0]!.from, 0);
    assert.equal(ev.jobs.at(-1)!.poolIndex, 1);
    assert.equal(ev.jobs.at(-1)!.user, 'user1');
    assert.equal(pm.getStatus().failover.onFallback, true);

    // The primary recovers: a probe (full session) must find it healthy and the manager switch back.
    a!.silent = false;
    await a!.stop();
    const a2 = await ScriptedServer.start({ difficulty: 0.001 }, a!.port);
    live.push(a2);
    const backAt = clock.now();
    await runUntil(clock, () => ev.switched.length === 2, 'return to primary', 70_000, 100);
    const ret = ev.switched[1]!.at - backAt;
    t.diagnostic(
      `measured return to primary after it came back (first probe 5 s after the failover): ${ret} clock ms`,
    );
    assert.ok(ret <= 5000 + 200, `return took ${ret} ms`);
    assert.equal(ev.switched[1]!.to, 0);
    assert.equal(ev.jobs.at(-1)!.poolIndex, 0);
    assert.equal(ev.jobs.at(-1)!.cleanJobs, true);
    assert.equal(a2.methods('mining.authorize')[0]!.params![0], 'user0');
    const st = pm.getStatus();
    assert.equal(st.state, 'active');
    assert.equal(st.pool!.index, 0);
    assert.equal(st.failover.onFallback, false);
  });

  it('closed primary → retried with backoff, then the fallback; reports the time', async (t) => {
    const [a, b] = await pools(2);
    const { pm, clock, ev } = manager([a!, b!]);
    pm.start();
    await runUntil(clock, () => ev.active.length === 1, 'primary active', 5000);
    await a!.stop();
    const diedAt = clock.now();
    await runUntil(clock, () => ev.switched.length === 1, 'fallback', 20_000);
    const failover = ev.switched[0]!.at - diedAt;
    // random 0.5, jitter 0.3: retries after 850 and 1700 ms, then the fallback at once.
    t.diagnostic(`measured failover (primary closed, 3 attempts, backoff 1 s base): ${failover} clock ms`);
    assert.ok(failover >= 2550 && failover <= 2550 + 200, `failover took ${failover} ms`);
    assert.equal(ev.idle, 0);
    assert.equal(pm.getStatus().pools[0]!.connection, 'idle');
  });

  it('all pools down → idle; a pool back → active again by itself', async (t) => {
    const [a, b] = await pools(2);
    const { pm, clock, ev } = manager([a!, b!]);
    pm.start();
    await runUntil(clock, () => ev.active.length === 1, 'primary active', 5000);
    const portB = b!.port;
    await a!.stop();
    await b!.stop();
    const downAt = clock.now();
    await runUntil(clock, () => ev.idle === 1, 'idle', 60_000);
    const idleAfter = clock.now() - downAt;
    t.diagnostic(`measured time to idle with both pools down: ${idleAfter} clock ms`);
    assert.equal(pm.getStatus().state, 'idle');
    const b2 = await ScriptedServer.start({ difficulty: 0.001 }, portB);
    live.push(b2);
    const upAt = clock.now();
    await runUntil(clock, () => ev.active.length === 2, 'resume', 120_000, 50);
    const resume = clock.now() - upAt;
    t.diagnostic(`measured resume after a pool came back (from idle): ${resume} clock ms`);
    assert.equal(ev.active[1], 1);
    assert.equal(pm.getStatus().state, 'active');
    assert.equal(ev.jobs.at(-1)!.poolIndex, 1);
  });

  it('submits only on the connection that issued the job, with its user; other shares are stale-local', async () => {
    const [a, b] = await pools(2);
    const { pm, clock, ev } = manager([a!, b!]);
    pm.start();
    await runUntil(clock, () => ev.active.length === 1, 'primary active', 5000);
    const jobA = ev.jobs.at(-1)!;
    assert.deepEqual(await pm.submit(share(jobA)), { status: 'accepted' });
    assert.equal(a!.methods('mining.submit')[0]!.params![0], 'user0');
    pm.switchTo(1);
    await runUntil(clock, () => ev.switched.length === 1, 'manual switch', 5000);
    await waitFor(() => pm.getStatus().pools[0]!.connection === 'idle', 'old connection drained');
    const late = await pm.submit(share(jobA));
    assert.equal(late.status, 'stale-local');
    assert.equal(a!.methods('mining.submit').length, 1);
    assert.equal(b!.methods('mining.submit').length, 0);
    const jobB = ev.jobs.at(-1)!;
    assert.equal(jobB.poolIndex, 1);
    assert.deepEqual(await pm.submit(share(jobB)), { status: 'accepted' });
    assert.equal(b!.methods('mining.submit')[0]!.params![0], 'user1');
    const forged = await pm.submit({ ...share(jobB), poolToken: 'pool9#1' });
    assert.equal(forged.status, 'stale-local');
    const st = pm.getStatus();
    assert.equal(st.pools[0]!.accounting.accepted, 1);
    assert.equal(st.pools[0]!.accounting.staleLocal, 1);
    assert.equal(st.pools[1]!.accounting.accepted, 1);
    assert.equal(st.pools[1]!.accounting.acceptedDifficulty, 0.001);
    assert.equal(st.pools[1]!.accounting.bestShareSession, 5);
    assert.equal(pm.orphanShares, 1);
    assert.equal(st.failover.preferred, 1);
    assert.equal(st.failover.onFallback, false, 'the manual choice is the preferred pool');
  });

  it('accounts rejects by reason, difficulty-weighted; status never shows passwords', async () => {
    const [a] = await pools(1);
    const { pm, clock, ev } = manager([a!], { bestShareAllTime: { [a!.url]: 1234 } });
    pm.start();
    await runUntil(clock, () => ev.active.length === 1, 'active', 5000);
    a!.submitReplies.push(
      replies.error(21, 'Job not found'),
      replies.ckpool('Duplicate'),
      replies.error(23, 'Difficulty too low'),
    );
    const j = ev.jobs.at(-1)!;
    for (let i = 0; i < 4; i++) await pm.submit({ ...share(j), nonce: i, difficulty: 10 * i });
    const acc = pm.getStatus().pools[0]!.accounting;
    assert.equal(acc.rejected, 3);
    assert.equal(acc.rejectedByReason.stale, 1);
    assert.equal(acc.rejectedByReason.duplicate, 1);
    assert.equal(acc.rejectedByReason['low-difficulty'], 1);
    assert.equal(acc.rejectedDifficulty, 0.003);
    assert.equal(acc.accepted, 1);
    assert.equal(acc.bestShareSession, 30);
    assert.equal(acc.bestShareAllTime, 1234);
    assert.equal(acc.lastShareAt, clock.now());
    const text = JSON.stringify(pm.getStatus());
    assert.ok(!text.includes('secret0'), 'no password in status');
    assert.ok(text.includes('user0'));
  });

  it('stop() waits for pending submits up to 2 s, ends them as no-answer, and leaves no timer', async () => {
    const [a] = await pools(1);
    const { pm, clock, ev } = manager([a!]);
    pm.start();
    await runUntil(clock, () => ev.active.length === 1, 'active', 5000);
    a!.submitReplies.push(replies.none);
    const p = pm.submit(share(ev.jobs.at(-1)!));
    await waitFor(() => a!.methods('mining.submit').length === 1, 'submit received');
    let stopped = false;
    const s = pm.stop().then(() => {
      stopped = true;
    });
    clock.advance(1999);
    await tick();
    assert.equal(stopped, false);
    clock.advance(1);
    await s;
    assert.deepEqual(await p, { status: 'no-answer', cause: 'disconnect' });
    assert.equal(clock.pending(), 0);
    assert.equal(pm.getStatus().state, 'stopped');
  });

  it('stop() resolves as soon as pending submits are answered', async () => {
    const [a] = await pools(1);
    const { pm, clock, ev } = manager([a!]);
    pm.start();
    await runUntil(clock, () => ev.active.length === 1, 'active', 5000);
    const p = pm.submit(share(ev.jobs.at(-1)!));
    await pm.stop();
    assert.deepEqual(await p, { status: 'accepted' });
    assert.equal(clock.pending(), 0);
  });

  it('follows client.reconnect on the same pool after its wait; it counts for backoff, not as a switch', async () => {
    const [a, b] = await pools(2);
    const { pm, clock, ev } = manager([a!, b!]);
    pm.start();
    await runUntil(clock, () => ev.active.length === 1, 'active', 5000);
    a!.send(JSON.stringify({ id: null, method: 'client.reconnect', params: ['', '', 3] }));
    await runUntil(clock, () => a!.methods('mining.authorize').length === 2, 'reconnected', 10_000, 100);
    await runUntil(clock, () => ev.active.length === 2, 'active again', 5000);
    assert.equal(ev.switched.length, 0);
    assert.equal(ev.jobs.at(-1)!.poolIndex, 0);
    // A pool-requested reconnect is an unproductive disconnect for backoff purposes (issue 12: a pool that
    // asks again and again must not get a connection storm); reset by useful work (an accepted share).
    assert.equal(pm.getStatus().pools[0]!.consecutiveFailures, 1);
    assert.ok(a!.received.filter((r) => r.method === 'mining.subscribe').length === 2);
    assert.deepEqual(a!.methods('mining.subscribe')[1]!.params![1], '08000002', 'resumes the session');
  });

  it('a manual switch away from a pool still in its handshake counts no failure there', async () => {
    const a = await ScriptedServer.start();
    a.silent = true;
    live.push(a);
    const [b] = await pools(1);
    const { pm, clock, ev } = manager([a, b!], { failuresBeforeSwitch: 3 });
    pm.start();
    await waitFor(() => a.methods('mining.authorize').length === 1, 'handshake with the silent pool');
    assert.equal(pm.getStatus().pools[0]!.connection, 'handshake');
    pm.switchTo(1);
    await runUntil(clock, () => ev.active.length === 1, 'switched pool active', 5000);
    const st = pm.getStatus();
    assert.equal(st.pools[0]!.consecutiveFailures, 0);
    assert.equal(st.pools[0]!.connection, 'idle');
    assert.equal(st.failover.active, 1);
    assert.equal(ev.idle, 0);
    assert.equal(st.failover.onFallback, false);
  });

  it('a pool that accepts TCP but never sends a notify is not healthy (ready timeout → next pool)', async () => {
    const a = await ScriptedServer.start({ notifyOnAuthorize: false });
    live.push(a);
    const [b] = await pools(1);
    const { pm, clock, ev } = manager([a, b!], { failuresBeforeSwitch: 1 });
    pm.start();
    await runUntil(clock, () => ev.active.length === 1, 'fallback active', 20_000, 50);
    assert.equal(ev.jobs.at(-1)!.poolIndex, 1);
    assert.ok(clock.now() - 1_700_000_000_000 >= 10_000);
  });
});
