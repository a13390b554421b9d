/**
 * The stand-in PoolManager uses for stratum2+tcp pools (host/stratum-v2/lazy-client.ts): before the V2
 * module is in it is idle or connecting, a close cancels the pending connect (the real client's close
 * while connecting emits nothing), a submit gets the dead-session answer, a URL the V2 client refuses
 * becomes a connect-failed disconnect; once loaded it hands over to the real client (a real Sv2Pool on
 * 127.0.0.1: 'connected' and 'ready' reach the stand-in's listeners).
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { ellswiftCreate } from '../../host/stratum-v2/ellswift.ts';
import { LazySv2Client, loadSv2Client } from '../../host/stratum-v2/lazy-client.ts';
import { Sv2Pool } from '../../host/stratum-v2/pool.ts';
import { systemClock } from '../../lib/clock.ts';
import { silentLogger } from '../../lib/log.ts';

const common = { label: 'pool0', clock: systemClock, logger: silentLogger, connectTimeoutMs: 20_000 };
const once = <T>(c: LazySv2Client, ev: string) =>
  new Promise<T>((resolve) => c.once(ev, (x: T) => resolve(x)));

it('before the module: idle, connecting, close cancels, submit answers as a dead session', async () => {
  const c = new LazySv2Client(
    { url: 'stratum2+tcp://127.0.0.1:1', user: 'u', allowUnauthenticated: true },
    0,
    common,
  );
  assert.equal(c.state, 'idle');
  assert.equal(c.poolToken, undefined);
  assert.equal(c.versionMask, 0);
  const out = await c.submit({
    poolToken: 'x',
    jobId: 'j',
    extranonce2: '00',
    ntime: 0,
    nonce: 0,
    difficulty: 1,
  } as never);
  assert.equal(out.status, 'stale-local');
  c.connect();
  assert.equal(c.state, 'connecting');
  c.close();
  assert.equal(c.state, 'idle');
  await loadSv2Client();
  await new Promise((r) => setImmediate(r));
  assert.equal(c.state, 'idle', 'a cancelled connect stays cancelled once the module is in');
});

it('a URL the V2 client refuses is a connect-failed disconnect, not a throw', async () => {
  const c = new LazySv2Client({ url: 'stratum2+tcp://127.0.0.1:1/notbase58!', user: 'u' }, 0, common);
  const d = once<{ reason: string; detail: string }>(c, 'disconnected');
  c.connect();
  const ev = await d;
  assert.equal(ev.reason, 'connect-failed');
  assert.match(ev.detail, /authority key/);
  assert.equal(c.state, 'idle');
});

it('hands over to the real client: connected and ready from a real Sv2Pool', async () => {
  const pool = new Sv2Pool({
    difficulty: 1e-5,
    blockIntervalMs: 0,
    authorityPrivateKey: ellswiftCreate().privateKey,
  });
  await pool.listen(0);
  const c = new LazySv2Client({ url: pool.url, user: 'addr.lazy' }, 0, common);
  try {
    const ready = once<{ poolToken: string }>(c, 'ready');
    c.connect();
    const r = await ready;
    assert.equal(c.state, 'ready');
    assert.equal(c.poolToken, r.poolToken);
  } finally {
    c.close();
    await pool.close();
  }
});
