/**
 * Hostile pools over real TCP (scripted servers on 127.0.0.1) against the PoolManager with a ManualClock
 * (issue 12 items 1–4, issue 11 item 5): reconnect storm, long client.reconnect wait, a pool that rejects
 * every share while still sending work, a flood of show_message + set_version_mask, duplicate shares
 * across mask changes, a frozen pool (connection open, nothing answered), return to a recovered primary.
 * Measured figures (clock ms, connections and log lines per clock minute) are printed as diagnostics.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ShareSubmission } from '../../host/stratum/client.ts';
import { type PoolJob, PoolManager, type PoolManagerOptions } from '../../host/stratum/pool-manager.ts';
import type { ManualClock } from '../../lib/clock.ts';
import { failoverSettings, recordManager, runUntil, stopAfterEach, tick } from '../helpers/failover.ts';
import { ScriptedServer } from './scripted-server.ts';

const live = stopAfterEach();

async function pool(): Promise<ScriptedServer> {
  const s = await ScriptedServer.start({ difficulty: 0.001 });
  live.push(s);
  return s;
}

function manager(servers: ScriptedServer[], extra: Partial<PoolManagerOptions> = {}) {
  const { clock, logger, options } = failoverSettings();
  const pm = new PoolManager({
    pools: servers.map((s, i) => ({ url: s.url, user: `user${i}`, password: `secret${i}` })),
    versionRollingMask: 0x1fffe000,
    ...options,
    ...extra,
  });
  live.push({ stop: () => pm.stop() });
  const masks: number[] = [];
  pm.on('versionMask', (m) => masks.push(m.mask));
  return { pm, clock, logger, masks, ev: recordManager(pm) };
}

let nonce = 0;
const shareOf = (j: PoolJob, extra: Partial<ShareSubmission> = {}): ShareSubmission => ({
  poolToken: j.poolToken,
  jobId: j.job.jobId,
  extranonce2: '00000001',
  ntime: 0x504e86ed,
  nonce: ++nonce,
  difficulty: 1,
  ...extra,
});

/** Advances the clock for `ms` in `stepMs` steps with real I/O in between, calling `each(elapsed)` per step. */
async function drive(
  clock: ManualClock,
  ms: number,
  stepMs: number,
  each: (elapsed: number) => void | Promise<void>,
  until: () => boolean = () => false,
) {
  const start = clock.now();
  while (clock.now() - start < ms && !until()) {
    await tick();
    await each(clock.now() - start);
    clock.advance(stepMs);
  }
  await tick();
}

describe('hostile pools (real TCP, ManualClock)', () => {
  it('reconnect storm (client.reconnect right after every subscribe): connections and log lines per minute are bounded', async (t) => {
    const storm = await pool();
    storm.onRequest = (conn, m) => {
      if (m.method !== 'mining.subscribe') return false;
      storm.answer(conn, m);
      storm.sendTo(conn, JSON.stringify({ id: null, method: 'client.reconnect', params: [] }));
      return true;
    };
    const { pm, clock, logger } = manager([storm]);
    pm.start();
    const conns: number[] = [];
    const logs: number[] = [];
    for (let minute = 0; minute < 4; minute++) {
      const c0 = storm.lastConn;
      const l0 = logger.records.length;
      await drive(clock, 60_000, 100, () => {});
      conns.push(storm.lastConn - c0);
      logs.push(logger.records.length - l0);
    }
    t.diagnostic(
      `reconnect storm: connections per clock minute ${conns.join(', ')}; log lines ${logs.join(', ')}`,
    );
    assert.ok(conns[0]! >= 3, 'the pool was retried');
    assert.ok(conns[0]! <= 10, `${conns[0]} connections in minute 1`);
    assert.ok(conns[3]! <= 4, `${conns[3]} connections in minute 4`);
    assert.ok(logs[3]! <= 30, `${logs[3]} log lines in minute 4`);
  });

  it('client.reconnect with wait 3600 s from the primary → the fallback at once; the primary back by the probe', async (t) => {
    const [a, b] = [await pool(), await pool()];
    const { pm, clock, ev } = manager([a, b]);
    pm.start();
    await runUntil(clock, () => ev.active.length === 1, 'primary active', 5000);
    const at = clock.now();
    a.send(JSON.stringify({ id: null, method: 'client.reconnect', params: ['', '', 3600] }));
    await runUntil(clock, () => ev.switched.length === 1, 'fallback', 10_000);
    const failover = ev.switched[0]!.at - at;
    t.diagnostic(`long reconnect wait → fallback active after ${failover} clock ms`);
    assert.ok(failover <= 1000, `${failover} ms`);
    assert.equal(ev.jobs.at(-1)!.poolIndex, 1);
    // The primary answers normally again: the first probe (≤ 5 s) finds it healthy.
    await runUntil(clock, () => ev.switched.length === 2, 'back to the primary', 10_000, 50);
    const back = ev.switched[1]!.at - ev.switched[0]!.at;
    t.diagnostic(`back on the primary ${back} clock ms after the failover (first probe)`);
    assert.ok(back <= 5000 + 200, `${back} ms`);
    assert.equal(ev.switched[1]!.to, 0);
  });

  it('a pool that keeps sending work but rejects every share ("job not found") is left', async (t) => {
    const [a, b] = [await pool(), await pool()];
    a.onRequest = (conn, m) => {
      if (m.method !== 'mining.submit') return false;
      a.sendTo(conn, JSON.stringify({ id: m.id, result: null, error: [21, 'Job not found', null] }));
      return true;
    };
    const { pm, clock, ev } = manager([a, b]);
    pm.start();
    await runUntil(clock, () => ev.active.length === 1, 'primary active', 5000);
    const startAt = clock.now();
    let sent = 0;
    await drive(
      clock,
      30_000,
      100,
      (el) => {
        if (ev.switched.length > 0) return;
        if (el % 5000 === 0) a.notify({ jobId: `j${el}` }); // other traffic: fresh jobs keep coming
        if (el % 1000 === 0) {
          sent++;
          void pm.submit(shareOf(ev.jobs.at(-1)!));
        }
      },
      () => ev.switched.length > 0,
    );
    assert.equal(ev.switched.length, 1, 'left the all-reject pool');
    const took = ev.switched[0]!.at - startAt;
    t.diagnostic(
      `all-reject pool (a share a second, a job every 5 s): failover after ${took} clock ms, ${sent} shares`,
    );
    assert.ok(took <= 15_000, `${took} ms`);
    const st = pm.getStatus();
    assert.equal(st.pools[0]!.accounting.rejected, 10);
    assert.equal(st.pools[0]!.accounting.accepted, 0);
    assert.deepEqual(await pm.submit(shareOf(ev.jobs.at(-1)!)), { status: 'accepted' });
    assert.equal(ev.jobs.at(-1)!.poolIndex, 1);
  });

  it('flood of show_message + set_version_mask (1000/s each, 10 s): a few log lines, one mask per job', async (t) => {
    const a = await pool();
    const { pm, clock, logger, masks, ev } = manager([a]);
    pm.start();
    await runUntil(clock, () => ev.active.length === 1, 'active', 5000);
    const jobs0 = ev.jobs.length;
    const masks0 = masks.length;
    const logs0 = logger.records.length;
    const flood = (k: number) => {
      const lines: string[] = [];
      for (let i = 0; i < 10; i++) {
        lines.push(JSON.stringify({ id: null, method: 'client.show_message', params: [`hello ${k}.${i}`] }));
        // The mask flips many times a second; the one in force at each new job alternates every second.
        const mask = (i + Math.floor(k / 1000)) % 2 ? '1fffe000' : '00ffe000';
        lines.push(JSON.stringify({ id: null, method: 'mining.set_version_mask', params: [mask] }));
      }
      a.send(`${lines.join('\n')}\n`, true);
    };
    let sent = 0;
    await drive(clock, 10_000, 10, async (el) => {
      flood(el);
      sent += 20;
      if (el % 1000 === 0) a.notify({ jobId: `f${el}` });
    });
    await runUntil(clock, () => a.received.length > 0 && pm.getStatus().state === 'active', 'settled', 1000);
    const jobs = ev.jobs.length - jobs0;
    const maskEvents = masks.length - masks0;
    const lines = logger.records.slice(logs0);
    const chatter = lines.filter((r) => r.event === 'pool_message' || r.event === 'pool_version_mask');
    t.diagnostic(
      `flood: ${sent} messages, ${jobs} jobs → ${maskEvents} mask announcements (chip writes), ${lines.length} log lines (${chatter.length} chatter)`,
    );
    assert.ok(jobs >= 5, `${jobs} jobs`);
    assert.ok(maskEvents >= 2, 'mask changes do reach the chips (at job boundaries)');
    assert.ok(maskEvents <= jobs, `${maskEvents} mask announcements for ${jobs} jobs`);
    assert.ok(chatter.length <= 2, `${chatter.length} chatter lines in 10 clock seconds`);
    assert.ok(lines.length <= 10, `${lines.length} log lines`);
    const withCount = chatter.find((r) => typeof r.repeated === 'number');
    if (chatter.length === 2) assert.equal(withCount, undefined, 'the first line of a kind carries no count');
    assert.equal(pm.getStatus().state, 'active');
    await pm.stop();
    const flushed = logger.records.filter(
      (r) => r.event === 'pool_message' && typeof r.repeated === 'number',
    );
    assert.ok(
      flushed.length === 1 && (flushed[0]!.repeated as number) > 9000,
      'the count is logged when it ends',
    );
  });

  it('no duplicate share across version-mask changes; the mask reaches the chips once, at the job boundary', async () => {
    const a = await pool();
    const { pm, clock, masks, ev } = manager([a]);
    pm.start();
    await runUntil(clock, () => ev.active.length === 1, 'active', 5000);
    assert.deepEqual(masks, [0x1fffe000]);
    const j = ev.jobs.at(-1)!;
    const s = shareOf(j, { versionBits: 0x00002000 });
    assert.deepEqual(await pm.submit(s), { status: 'accepted' });
    for (let i = 0; i < 50; i++) {
      const m = i % 2 ? '1fffe000' : '00ffe000';
      a.send(JSON.stringify({ id: null, method: 'mining.set_version_mask', params: [m] }));
    }
    await runUntil(clock, () => pm.getStatus().versionMask === 0x1fffe000, 'masks applied', 1000);
    assert.deepEqual(masks, [0x1fffe000], 'no announcement between job boundaries');
    // A chip that restarts its search after a mask write finds the same nonce again: sent only once.
    const again = await pm.submit({ ...s });
    assert.equal(again.status, 'stale-local');
    assert.match(again.status === 'stale-local' ? again.detail : '', /duplicate/);
    assert.equal(a.methods('mining.submit').length, 1);
    a.send(JSON.stringify({ id: null, method: 'mining.set_version_mask', params: ['00ffe000'] }));
    a.notify({ jobId: 'c1' });
    await runUntil(clock, () => ev.jobs.at(-1)!.job.jobId === 'c1', 'next job', 1000);
    assert.deepEqual(masks, [0x1fffe000, 0x00ffe000], 'the new mask announced once, with the next job');
    assert.equal(ev.jobs.at(-1)!.versionMask, 0x00ffe000);
    // Bits the pool no longer allows are not sent either.
    const outside = await pm.submit(shareOf(ev.jobs.at(-1)!, { versionBits: 0x10000000 }));
    assert.equal(outside.status, 'stale-local');
    assert.equal(a.methods('mining.submit').length, 1);
    const keys = a.methods('mining.submit').map((r) => JSON.stringify(r.params!.slice(1)));
    assert.equal(new Set(keys).size, keys.length, 'no share reached the pool twice');
  });

  it('frozen pool (connection open, nothing answered): failover on the submit timeout, shares on the fallback ≤ 30 s after the freeze', async (t) => {
    const [a, b] = [await pool(), await pool()];
    const { pm, clock, ev } = manager([a, b]);
    pm.start();
    await runUntil(clock, () => ev.active.length === 1, 'primary active', 5000);
    a.silent = true; // paused peer: reads, never answers, no new work
    const frozeAt = clock.now();
    let acceptedOnFallbackAt: number | undefined;
    await drive(clock, 40_000, 100, (el) => {
      if (acceptedOnFallbackAt !== undefined || el % 2000 !== 0) return;
      const j = ev.jobs.at(-1)!;
      void pm.submit(shareOf(j)).then((o) => {
        if (j.poolIndex === 1 && o.status === 'accepted') acceptedOnFallbackAt ??= clock.now();
      });
    });
    assert.ok(acceptedOnFallbackAt !== undefined, 'a share was accepted by the fallback');
    const took = acceptedOnFallbackAt - frozeAt;
    t.diagnostic(
      `frozen pool (submitTimeout 10 s default, a share every 2 s): first accepted share on the fallback ${took} clock ms after the freeze`,
    );
    assert.ok(took <= 30_000, `${took} ms`);
    assert.equal(ev.switched[0]!.from, 0);
    const acc = pm.getStatus().pools[0]!.accounting;
    assert.ok(acc.noAnswer >= 1, 'the unanswered shares are accounted as no-answer');
  });

  it('recovered primary: first probe ≤ 5 s after the failover, probes then grow; back at the first healthy one', async (t) => {
    const [a, b] = [await pool(), await pool()];
    const { pm, clock, ev, logger } = manager([a, b]);
    pm.start();
    await runUntil(clock, () => ev.active.length === 1, 'primary active', 5000);
    const port = a.port;
    await a.stop();
    await runUntil(clock, () => ev.switched.length === 1, 'fallback', 20_000);
    const failoverAt = ev.switched[0]!.at;
    // The primary is still down: record when the probes come (connect attempts show as probe_failed).
    const probeTimes: number[] = [];
    const probes = () => logger.records.filter((r) => r.event === 'probe').length;
    await drive(clock, 40_000, 50, () => {
      if (probes() > probeTimes.length) probeTimes.push(clock.now());
    });
    const rel = probeTimes.map((x) => x - failoverAt);
    t.diagnostic(`primary down: probes at ${rel.join(', ')} clock ms after the failover`);
    assert.ok(rel[0]! <= 5000 + 100, `first probe at ${rel[0]} ms`);
    assert.ok(rel.length >= 2 && rel[1]! - rel[0]! > rel[0]! - 200, 'the second probe waits longer');
    const a2 = await ScriptedServer.start({ difficulty: 0.001 }, port);
    live.push(a2);
    const upAt = clock.now();
    await runUntil(clock, () => ev.switched.length === 2, 'back to the primary', 70_000, 100);
    t.diagnostic(`primary back up: returned after ${ev.switched[1]!.at - upAt} clock ms`);
    assert.equal(ev.switched[1]!.to, 0);
    assert.ok(ev.switched[1]!.at - upAt <= 60_000 + 200);
  });
});
