/**
 * Stratum V2 end to end over real TCP on 127.0.0.1: the client (host/stratum-v2/client.ts) against the
 * embedded SV2 pool (host/stratum-v2/pool.ts, independent responder). Handshake, extended and standard
 * channels, jobs and SetNewPrevHash, shares accepted, a stale share rejected with 'stale-share', a
 * duplicate, target changes, unknown messages skipped; refusals: missing / wrong authority key, expired
 * certificate, tampered ciphertext (a byte-flipping proxy), garbage instead of a handshake.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { encodeAuthorityKey, xonlyPublicKey } from '../../host/stratum-v2/certificate.ts';
import { Sv2Client, type Sv2ClientJob, type Sv2DisconnectReason } from '../../host/stratum-v2/client.ts';
import { ellswiftCreate } from '../../host/stratum-v2/ellswift.ts';
import { encodeHeader } from '../../host/stratum-v2/framing.ts';
import { Sv2Pool } from '../../host/stratum-v2/pool.ts';
import { difficultyToTarget } from '../../host/work/index.ts';
import { waitFor } from '../helpers/net.ts';
import { findNonce, findStandardNonce } from './helpers.ts';

const live: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of live.splice(0).reverse()) await f();
});

async function startPool(o: ConstructorParameters<typeof Sv2Pool>[0] = {}): Promise<Sv2Pool> {
  const pool = new Sv2Pool({ difficulty: 1e-5, blockIntervalMs: 0, ...o });
  await pool.listen(0);
  live.push(() => pool.close());
  return pool;
}

function client(url: string, extra: Partial<ConstructorParameters<typeof Sv2Client>[0]> = {}) {
  const c = new Sv2Client({
    url,
    user: 'addr.worker',
    versionRollingMask: 0x1fffe000,
    readyTimeoutMs: 60_000,
    ...extra,
  });
  const ev = {
    jobs: [] as Sv2ClientJob[],
    disconnects: [] as Array<{ reason: Sv2DisconnectReason; detail?: string }>,
    difficulty: [] as number[],
    ready: 0,
  };
  c.on('job', (j) => ev.jobs.push(j));
  c.on('ready', () => ev.ready++);
  c.on('difficulty', (d) => ev.difficulty.push(d.difficulty));
  c.on('disconnected', (d) =>
    ev.disconnects.push({ reason: d.reason, ...(d.detail ? { detail: d.detail } : {}) }),
  );
  live.push(() => c.close());
  return { c, ev };
}

const share = (j: Sv2ClientJob, f: { extranonce2: string; nonce: number; ntime: number }) => ({
  poolToken: j.poolToken,
  jobId: j.job.jobId,
  extranonce2: f.extranonce2,
  ntime: f.ntime,
  nonce: f.nonce,
});

describe('SV2 client ↔ embedded pool', () => {
  it('extended channel: handshake, job + SetNewPrevHash, accepted / duplicate / stale / low-target shares, SetTarget', async () => {
    const pool = await startPool();
    const { c, ev } = client(pool.url);
    c.connect();
    await waitFor(() => ev.jobs.length === 1, 'first job', 30_000);
    assert.equal(ev.ready, 1);
    assert.equal(c.state, 'ready');
    const j = ev.jobs[0]!;
    assert.equal(j.protocol, 'sv2');
    assert.equal(j.cleanJobs, true);
    assert.equal(j.extranonce2Size, 8);
    assert.equal(j.extranonce1.length, 8, '4-byte extranonce prefix');
    assert.equal(j.target, difficultyToTarget(1e-5));
    assert.equal(j.versionMask, 0x1fffe000);
    assert.equal(pool.stats.channels.extended, 1);

    const good = findNonce(j, j.target);
    assert.deepEqual(await c.submit(share(j, good)), { status: 'accepted' });
    const dup = await c.submit(share(j, good));
    assert.equal(dup.status === 'rejected' && dup.reason, 'duplicate');
    const low = findNonce(j, j.target, false);
    const lowOutcome = await c.submit(share(j, low));
    assert.deepEqual(lowOutcome, {
      status: 'rejected',
      reason: 'low-difficulty',
      code: 23,
      poolCode: undefined,
      message: 'difficulty-too-low',
    });
    // Rolled version inside the mask: hashed with the rolled version, accepted (the submit carries it).
    const rolledVersion = (Number.parseInt(j.job.version, 16) | 0x00002000) >>> 0;
    const rf = findNonce(j, j.target, true, 2, 0, rolledVersion);
    assert.deepEqual(await c.submit({ ...share(j, rf), versionBits: 0x00002000 }), { status: 'accepted' });
    // The same nonce without the rolled bits hashes to another header: the pool checks the full version.
    const plain = findNonce(j, j.target, false, 2, rf.nonce);
    if (plain.nonce === rf.nonce) {
      const r0 = await c.submit(share(j, plain));
      assert.equal(r0.status === 'rejected' && r0.message, 'difficulty-too-low');
    }
    // Outside the mask: refused locally, never sent.
    const outside = await c.submit({ ...share(j, good), versionBits: 0x00000001 });
    assert.equal(outside.status, 'stale-local');

    // Stale: the pool moves to a new block while our share is on the way.
    const stale = findNonce(j, j.target, true, 3);
    pool.newBlock();
    const staleOutcome = await c.submit(share(j, stale));
    assert.deepEqual(staleOutcome, {
      status: 'rejected',
      reason: 'stale',
      code: 21,
      poolCode: undefined,
      message: 'stale-share',
    });
    await waitFor(() => ev.jobs.length === 2, 'job of the new block');
    const j2 = ev.jobs[1]!;
    assert.equal(j2.cleanJobs, true);
    assert.notEqual(j2.job.prevhash, j.job.prevhash);
    // After SetNewPrevHash the old job is gone locally.
    assert.equal((await c.submit(share(j, stale))).status, 'stale-local');

    // Same-block job (min_ntime set): not clean, older job stays valid.
    pool.pushJob();
    await waitFor(() => ev.jobs.length === 3, 'same-block job');
    assert.equal(ev.jobs[2]!.cleanJobs, false);
    assert.equal(ev.jobs[2]!.job.prevhash, j2.job.prevhash);
    assert.deepEqual(await c.submit(share(j2, findNonce(j2, j2.target))), { status: 'accepted' });

    // Target change applies at once, to jobs already received too.
    pool.setDifficulty(2e-5);
    await waitFor(
      () => ev.difficulty.includes(2e-5) || ev.difficulty.some((d) => Math.abs(d - 2e-5) < 1e-12),
      'SetTarget',
    );
    assert.equal(c.target, difficultyToTarget(2e-5));
    const between = (() => {
      // A hash under the old target but over the new one.
      for (let s = 0; ; s += 1) {
        const f = findNonce(j2, difficultyToTarget(1e-5), true, 9, s);
        if (f.hash > difficultyToTarget(2e-5)) return f;
        s = f.nonce;
      }
    })();
    const r = await c.submit(share(j2, between));
    assert.equal(r.status === 'rejected' && r.reason, 'low-difficulty');
    assert.ok(pool.stats.accepted >= 2);
    assert.equal(pool.stats.rejectedByCode['stale-share'], 1);
    assert.equal(pool.stats.rejectedByCode['duplicate-share'], 1);
    assert.deepEqual(ev.disconnects, []);
  });

  it('standard channel: header-only work with the pool’s merkle root, SubmitSharesStandard accepted', async () => {
    const pool = await startPool();
    const { c, ev } = client(pool.url, { channel: 'standard' });
    c.connect();
    await waitFor(() => ev.jobs.length === 1, 'first job', 30_000);
    const j = ev.jobs[0]!;
    assert.ok(j.standard, 'standard job carries the merkle root');
    assert.equal(j.standard.merkleRoot.length, 32);
    assert.equal(pool.stats.channels.standard, 1);
    const f = findStandardNonce(j, j.target);
    assert.deepEqual(
      await c.submit({
        poolToken: j.poolToken,
        jobId: j.job.jobId,
        extranonce2: '',
        ntime: f.ntime,
        nonce: f.nonce,
      }),
      { status: 'accepted' },
    );
    // A wrong nonce (its hash over the target) is rejected by the pool's own check.
    const bad = await c.submit({
      poolToken: j.poolToken,
      jobId: j.job.jobId,
      extranonce2: '',
      ntime: f.ntime,
      nonce: f.nonce + 1,
    });
    assert.ok(bad.status === 'rejected' || bad.status === 'accepted');
    assert.equal(pool.stats.accepted + pool.stats.rejected, 2);
  });

  it('one SubmitSharesSuccess acknowledging a batch accepts every share up to its sequence number', async () => {
    const pool = await startPool({ ackEvery: 3 });
    const { c, ev } = client(pool.url);
    c.connect();
    await waitFor(() => ev.jobs.length === 1, 'first job', 30_000);
    const j = ev.jobs[0]!;
    const fs = [1, 2, 3].map((en2) => findNonce(j, j.target, true, en2));
    let settled = 0;
    const submit = (f: (typeof fs)[number]) =>
      c.submit(share(j, f)).then((o) => {
        settled++;
        return o;
      });
    const outcomes = [submit(fs[0]!), submit(fs[1]!)];
    await waitFor(() => pool.stats.accepted === 2, 'two shares at the pool');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(settled, 0, 'nothing acknowledged before the batch is full');
    assert.equal(c.pendingSubmits, 2);
    outcomes.push(submit(fs[2]!));
    for (const o of await Promise.all(outcomes)) assert.deepEqual(o, { status: 'accepted' });
    assert.equal(c.pendingSubmits, 0);
  });

  it('unknown messages and extensions are skipped; the session stays up', async () => {
    const pool = await startPool();
    const { c, ev } = client(pool.url);
    c.connect();
    await waitFor(() => ev.jobs.length === 1, 'first job', 30_000);
    pool.sendFrame(Uint8Array.of(...encodeHeader(0, false, 0x7e, 3), 1, 2, 3));
    pool.sendFrame(Uint8Array.of(...encodeHeader(0x22, true, 0x01, 0)));
    pool.pushJob();
    await waitFor(() => ev.jobs.length === 2, 'job after the unknown frames');
    assert.equal(c.badInput['unknown-message'], 2);
    assert.deepEqual(ev.disconnects, []);
  });
});

describe('SV2 refusals', () => {
  it('no authority key: refused unless explicitly allowed; then unauthenticated but working', async () => {
    const pool = await startPool();
    const bare = `stratum2+tcp://127.0.0.1:${pool.port}`;
    assert.throws(
      () => new Sv2Client({ url: bare, user: 'u' }),
      /no authority key.*--sv2-allow-unauthenticated/,
    );
    const { c, ev } = client(bare, { allowUnauthenticated: true });
    let authenticated: boolean | undefined;
    c.on('handshake', (h) => {
      authenticated = h.authenticated;
    });
    c.connect();
    await waitFor(() => ev.jobs.length === 1, 'first job', 30_000);
    assert.equal(authenticated, false);
    assert.throws(() => new Sv2Client({ url: `${bare}/notbase58!`, user: 'u' }), /authority key/);
  });

  it('wrong authority key and expired certificate: disconnected as unauthenticated, no job', async () => {
    const pool = await startPool();
    const otherKey = encodeAuthorityKey(xonlyPublicKey(ellswiftCreate().privateKey));
    const wrong = client(`stratum2+tcp://127.0.0.1:${pool.port}/${otherKey}`);
    wrong.c.connect();
    await waitFor(() => wrong.ev.disconnects.length === 1, 'wrong key refused', 30_000);
    assert.equal(wrong.ev.disconnects[0]!.reason, 'unauthenticated');
    assert.match(wrong.ev.disconnects[0]!.detail!, /authority key/);
    assert.equal(wrong.ev.jobs.length, 0);

    const now = Math.floor(Date.now() / 1000);
    pool.setCertificateWindow(now - 7200, now - 3600);
    const expired = client(pool.url);
    expired.c.connect();
    await waitFor(() => expired.ev.disconnects.length === 1, 'expired refused', 30_000);
    assert.equal(expired.ev.disconnects[0]!.reason, 'unauthenticated');
    assert.match(expired.ev.disconnects[0]!.detail!, /expired/);
    assert.equal(expired.ev.jobs.length, 0);
  });

  it('tampered ciphertext (handshake or transport) and garbage: closed with a clear reason, no crash', async () => {
    const pool = await startPool();
    // A proxy that flips one bit of the server's byte number `at`.
    async function proxy(at: number): Promise<number> {
      let seen = 0;
      const server: Server = createServer((down: Socket) => {
        const up = netConnect(pool.port, '127.0.0.1');
        up.on('data', (d: Buffer) => {
          const b = Buffer.from(d);
          if (at >= seen && at < seen + b.length) b[at - seen]! ^= 0x01;
          seen += b.length;
          down.write(b);
        });
        down.on('data', (d) => up.write(d));
        const end = () => {
          up.destroy();
          down.destroy();
        };
        up.on('error', end);
        down.on('error', end);
        up.on('close', end);
        down.on('close', end);
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      live.push(() => new Promise<void>((r) => server.close(() => r())));
      return (server.address() as { port: number }).port;
    }
    for (const [at, reason] of [
      [100, 'handshake-failed'],
      [234 + 3, 'frame-error'],
      [234 + 30, 'frame-error'],
    ] as const) {
      const port = await proxy(at);
      const { c, ev } = client(`stratum2+tcp://127.0.0.1:${port}/${pool.authorityKey}`);
      c.connect();
      await waitFor(() => ev.disconnects.length === 1, `tamper at ${at}`, 30_000);
      assert.equal(ev.disconnects[0]!.reason, reason, `tamper at ${at}: ${ev.disconnects[0]!.detail}`);
      assert.match(ev.disconnects[0]!.detail!, /authentication failed|MAC/);
    }
    // A "pool" answering the handshake with random bytes.
    const junk = createServer((s) => {
      s.on('data', () => s.write(randomBytes(400)));
      s.on('error', () => {});
    });
    await new Promise<void>((r) => junk.listen(0, '127.0.0.1', r));
    live.push(() => new Promise<void>((r) => junk.close(() => r())));
    const jp = (junk.address() as { port: number }).port;
    const { c, ev } = client(`stratum2+tcp://127.0.0.1:${jp}/${pool.authorityKey}`);
    c.connect();
    await waitFor(() => ev.disconnects.length === 1, 'junk handshake', 30_000);
    assert.equal(ev.disconnects[0]!.reason, 'handshake-failed');
    // After a good handshake, garbage in the transport: frame error, closed.
    const ok = client(pool.url);
    ok.c.connect();
    await waitFor(() => ok.ev.jobs.length === 1, 'first job', 30_000);
    pool.sendRaw(randomBytes(64));
    await waitFor(() => ok.ev.disconnects.length === 1, 'garbage frame', 30_000);
    assert.equal(ok.ev.disconnects[0]!.reason, 'frame-error');
    assert.equal(ok.c.state, 'idle');
  });
});
