/**
 * PoolManager.setPools over real TCP (scripted pools on 127.0.0.1, ManualClock): the old connection is
 * closed and the new list starts at once with its first pool and its own user; a share from a job of the
 * old connection ends as stale-local (never sent anywhere); a pool kept across the change keeps its
 * accounting; a stop() while the old connections drain leaves nothing connected.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ShareSubmission } from '../../host/stratum/client.ts';
import { type PoolJob, PoolManager } from '../../host/stratum/pool-manager.ts';
import { failoverSettings, recordManager, runUntil, stopAfterEach } from '../helpers/failover.ts';
import { ScriptedServer } from './scripted-server.ts';

const live = stopAfterEach();

async function pool(): Promise<ScriptedServer> {
  const s = await ScriptedServer.start({ difficulty: 0.001 });
  live.push(s);
  return s;
}

const share = (j: PoolJob): ShareSubmission => ({
  poolToken: j.poolToken,
  jobId: j.job.jobId,
  extranonce2: '00000001',
  ntime: 0x504e86ed,
  nonce: 0xb2957c02,
  difficulty: 5,
});

const authorizedUsers = (s: ScriptedServer) =>
  s.methods('mining.authorize').map((m) => (m.params as string[])[0]);

describe('PoolManager.setPools', () => {
  it('replaces the list live: old connection closed, new pool active with its user, old jobs stale-local', async () => {
    const [a, b] = [await pool(), await pool()];
    const { clock, options } = failoverSettings();
    const pm = new PoolManager({ pools: [{ url: a.url, user: 'old.worker' }], ...options });
    live.push({ stop: () => pm.stop() });
    const ev = recordManager(pm);
    pm.start();
    await runUntil(clock, () => ev.active.length === 1 && ev.jobs.length >= 1, 'pool A active', 5000);
    const oldJob = ev.jobs.at(-1)!;
    assert.equal(a.conns.size, 1);

    const replaced = pm.setPools([
      { url: b.url, user: 'new.worker' },
      { url: a.url, user: 'old.worker' },
    ]);
    await runUntil(clock, () => a.conns.size === 0, 'old connection closed', 5000);
    await replaced;
    await runUntil(
      clock,
      () => ev.active.length === 2 && ev.jobs.at(-1)!.poolIndex === 0,
      'pool B active',
      5000,
    );
    assert.equal(pm.getStatus().pool?.url, b.url);
    assert.deepEqual(authorizedUsers(b), ['new.worker']);
    assert.equal(ev.jobs.at(-1)!.poolUrl, b.url);
    assert.notEqual(ev.jobs.at(-1)!.poolToken, oldJob.poolToken);

    // A share found on the old connection's job goes nowhere.
    const submitsBefore = a.methods('mining.submit').length + b.methods('mining.submit').length;
    const outcome = await pm.submit(share(oldJob));
    assert.equal(outcome.status, 'stale-local');
    assert.equal(a.methods('mining.submit').length + b.methods('mining.submit').length, submitsBefore);
    // The fresh job's share goes to B.
    const fresh = ev.jobs.at(-1)!;
    const sent = pm.submit(share(fresh));
    await runUntil(clock, () => b.methods('mining.submit').length === 1, 'share at B', 5000);
    assert.equal((b.methods('mining.submit')[0]!.params as string[])[0], 'new.worker');
    await sent;
    assert.equal(pm.getStatus().pools.length, 2);
    assert.equal(pm.getStatus().pools[1]!.url, a.url, 'A is now the fallback');
  });

  it('a stop() while the old connections drain: nothing connects afterwards', async () => {
    const [a, b] = [await pool(), await pool()];
    const { clock, options } = failoverSettings();
    const pm = new PoolManager({ pools: [{ url: a.url, user: 'u' }], ...options });
    const ev = recordManager(pm);
    pm.start();
    await runUntil(clock, () => ev.active.length === 1, 'pool A active', 5000);
    const replaced = pm.setPools([{ url: b.url, user: 'u' }]);
    await pm.stop();
    await replaced;
    for (let i = 0; i < 50; i++) await runUntil(clock, () => true, 'turn', 10);
    clock.advance(10_000);
    await runUntil(clock, () => true, 'turn', 10);
    assert.equal(b.methods('mining.subscribe').length, 0, 'the new list was not started after stop()');
    assert.equal(pm.getStatus().state, 'stopped');
  });

  it('refuses an empty list and changes nothing', async () => {
    const a = await pool();
    const { clock, options } = failoverSettings();
    const pm = new PoolManager({ pools: [{ url: a.url, user: 'u' }], ...options });
    live.push({ stop: () => pm.stop() });
    const ev = recordManager(pm);
    pm.start();
    await runUntil(clock, () => ev.active.length === 1, 'pool A active', 5000);
    await assert.rejects(pm.setPools([]), /at least one pool/);
    assert.equal(pm.getStatus().pool?.url, a.url);
    assert.equal(a.conns.size, 1);
  });
});
