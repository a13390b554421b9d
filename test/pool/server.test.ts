/**
 * The embedded Stratum server over real TCP on 127.0.0.1: session shape, synthetic jobs, every reject
 * code, difficulty per job, timers (ManualClock), resume, and the asicd client against it.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { afterEach, describe, it } from 'node:test';
import { bip34HeightPush, scriptNumber } from '../../host/pool/jobs.ts';
import { ERR, StratumServer, type StratumServerOptions } from '../../host/pool/server.ts';
import { type ClientJob, StratumClient } from '../../host/stratum/client.ts';
import { parseNotify } from '../../host/stratum/messages.ts';
import { ManualClock } from '../../lib/clock.ts';
import { waitFor } from '../helpers/net.ts';
import { vector } from '../helpers/vectors.ts';
import { grind, hex8, RawClient } from './helpers.ts';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function start(opts: StratumServerOptions = {}) {
  const clock = new ManualClock();
  const server = new StratumServer({ difficulty: D, clock, ...opts });
  await server.listen(0);
  cleanup.push(() => server.close());
  return { server, clock };
}
async function raw(port: number) {
  const c = await RawClient.open(port);
  cleanup.push(() => c.close());
  return c;
}
/** configure (optional) + subscribe + authorize; waits for the first notify. */
async function session(port: number, mask?: string) {
  const c = await raw(port);
  if (mask) await c.call('mining.configure', [['version-rolling'], { 'version-rolling.mask': mask }]);
  const sub = await c.call('mining.subscribe', ['test/1']);
  const [, extranonce1, extranonce2Size] = sub.result as [unknown, string, number];
  await c.call('mining.authorize', ['w1', 'x']);
  await waitFor(() => c.notifications('mining.notify').length > 0, 'first notify');
  return { c, session: { extranonce1, extranonce2Size } };
}
/** Test difficulty: ~4300 hashes per share, so the grinder finds shares quickly. */
const D = 1e-6;
const errCode = (l: { error?: unknown }) => (l.error as [number, string] | null)?.[0];

describe('embedded Stratum server', () => {
  it('BIP34 height push encodes like CScript() << height', () => {
    assert.deepEqual([...bip34HeightPush(840_000)], [0x03, 0x40, 0xd1, 0x0c]);
    assert.deepEqual([...bip34HeightPush(1)], [0x51]);
    assert.deepEqual([...bip34HeightPush(128)], [0x02, 0x80, 0x00]);
    assert.deepEqual([...scriptNumber(255)], [0xff, 0x00]);
  });

  it('runs a session: configure mask, unique extranonce1, set_difficulty before the first (clean) notify', async () => {
    const { server } = await start({ branches: 12 });
    const a = await raw(server.port);
    const conf = await a.call('mining.configure', [
      ['version-rolling'],
      { 'version-rolling.mask': '00ffe000' },
    ]);
    assert.deepEqual(conf.result, { 'version-rolling': true, 'version-rolling.mask': '00ffe000' });
    const subA = await a.call('mining.subscribe', ['x']);
    const b = await raw(server.port);
    const subB = await b.call('mining.subscribe', ['y']);
    const [, en1a, size] = subA.result as [unknown, string, number];
    const [, en1b] = subB.result as [unknown, string, number];
    assert.match(en1a, /^[0-9a-f]{8}$/);
    assert.notEqual(en1a, en1b);
    assert.equal(size, 4);
    assert.equal(a.notifications('mining.notify').length, 0, 'no work before authorize');
    assert.deepEqual((await a.call('mining.authorize', ['w', 'p'])).result, true);
    await waitFor(() => a.notifications('mining.notify').length === 1, 'notify');
    const order = a.lines.filter((l) => l.method).map((l) => l.method);
    assert.deepEqual(order, ['mining.set_difficulty', 'mining.notify']);
    assert.deepEqual(a.notifications('mining.set_difficulty')[0]!.params, [D]);
    const job = parseNotify(a.notifications('mining.notify')[0]!.params!);
    assert.ok(job.ok, 'notify passes the strict client codec');
    if (!job.ok) return;
    assert.equal(job.value.cleanJobs, true);
    assert.equal(job.value.merkleBranch.length, 12);
    // Coinbase: version, one null input, scriptSig starting with the BIP34 height push.
    assert.ok(job.value.coinb1.startsWith(`01000000${'01'}${'00'.repeat(32)}ffffffff`));
    assert.equal(job.value.coinb1.slice(84, 92), '0340d10c');
    assert.ok(job.value.coinb2.endsWith('00000000'));
    assert.equal(
      Number.parseInt(job.value.coinb1.slice(82, 84), 16),
      (job.value.coinb1.length - 84) / 2 + 4 + size,
    );
  });

  it('reaches every reject code, in the documented order, and accepts a valid share', async () => {
    const { server } = await start({ branches: 3 });
    // 25 before subscribe, 24 unauthorized worker.
    const n = await raw(server.port);
    assert.equal(
      errCode(await n.call('mining.submit', ['w1', '1', '00000000', '00000000', '00000000'])),
      ERR.NOT_SUBSCRIBED,
    );
    await n.call('mining.subscribe', []);
    assert.equal(
      errCode(await n.call('mining.submit', ['nobody', '1', '00000000', '00000000', '00000000'])),
      ERR.UNAUTHORIZED,
    );

    const { c, session: s } = await session(server.port, 'ffffffff');
    const job = c.lastJob();
    const ntime = Number.parseInt(job.ntime, 16);
    const found = grind(job, s, '01000000', (d) => d >= D);
    const low = grind(job, s, '01000000', (d) => d < D);
    const ok = ['w1', job.jobId, '01000000', job.ntime, hex8(found.nonce)];
    const cases: Array<[unknown[], number, RegExp]> = [
      [['w1', job.jobId, '01000000'], ERR.OTHER, /Invalid params/],
      [['w1', 'nope', '01000000', job.ntime, '00000000'], ERR.STALE, /Job not found/],
      [['w1', job.jobId, '010000', job.ntime, hex8(found.nonce)], ERR.OTHER, /nonce2 length/],
      [['w1', job.jobId, '01000000', hex8(ntime - 1), hex8(found.nonce)], ERR.OTHER, /Ntime out of range/],
      [['w1', job.jobId, '01000000', hex8(ntime + 7001), hex8(found.nonce)], ERR.OTHER, /Ntime out of range/],
      [[...ok, 'e0000000'], ERR.OTHER, /outside the mask/],
      [['w1', job.jobId, '01000000', job.ntime, hex8(low.nonce)], ERR.LOW_DIFFICULTY, /Low difficulty/],
    ];
    for (const [params, code, msg] of cases) {
      const r = await c.call('mining.submit', params);
      assert.equal(errCode(r), code, JSON.stringify(params));
      assert.match((r.error as [number, string])[1], msg);
    }
    assert.deepEqual((await c.call('mining.submit', ok)).result, true);
    assert.equal(errCode(await c.call('mining.submit', ok)), ERR.DUPLICATE);
    // Rolled version under the mask: a different header, accepted once.
    const rolled = grind(job, s, '01000000', (d) => d >= D, { version: 0x20002000, versionMask: 0x1fffe000 });
    assert.deepEqual(
      (
        await c.call('mining.submit', [
          'w1',
          job.jobId,
          '01000000',
          job.ntime,
          hex8(rolled.nonce),
          '00002000',
        ])
      ).result,
      true,
    );
    // After a new block the old job is stale.
    server.newBlock();
    await waitFor(() => c.lastJob().jobId !== job.jobId, 'new block job');
    assert.equal(c.lastJob().cleanJobs, true);
    assert.notEqual(c.lastJob().prevhash, job.prevhash);
    const st = await c.call('mining.submit', ok);
    assert.equal(errCode(st), ERR.STALE);
    assert.deepEqual(server.stats.rejectedByCode, { 20: 5, 21: 2, 22: 1, 23: 1, 24: 1, 25: 1 });
    assert.equal(server.stats.accepted, 2);
    assert.ok(Math.abs(server.stats.acceptedDifficulty - 2 * D) < 1e-15);
  });

  it('accepts the public slush/braiins example share (independent vector) and finds it is a block', async () => {
    const v = vector<{
      notify: Record<string, unknown>;
      extranonce1: string;
      submit: { worker: string; job_id: string; extranonce2: string; ntime: string; nonce: string };
    }>('stratum-v1', 'slush-example-testnet3');
    const { server } = await start({ difficulty: 1, firstExtranonce1: Number.parseInt(v.extranonce1, 16) });
    const blocks: string[] = [];
    server.on('block', (h) => blocks.push(h));
    const c = await raw(server.port);
    const [, en1] = (await c.call('mining.subscribe', ['x'])).result as [unknown, string];
    assert.equal(en1, v.extranonce1);
    await c.call('mining.authorize', [v.submit.worker, 'x']);
    await waitFor(() => c.notifications('mining.notify').length === 1, 'first notify');
    const n = v.notify;
    server.pushJob({
      jobId: n.job_id as string,
      prevhash: n.prevhash as string,
      coinb1: n.coinb1 as string,
      coinb2: n.coinb2 as string,
      merkleBranch: n.merkle_branch as string[],
      version: n.version as string,
      nbits: n.nbits as string,
      ntime: n.ntime as string,
      cleanJobs: false,
    });
    await waitFor(() => c.lastJob().jobId === 'bf', 'vector job');
    const s = v.submit;
    const r = await c.call('mining.submit', [s.worker, s.job_id, s.extranonce2, s.ntime, s.nonce]);
    assert.deepEqual(r.result, true);
    assert.deepEqual(blocks, ['000000002076870fe65a2b6eeed84fa892c0db924f1482243a6247d931dcab32']);
    // The block moved the synthetic chain on, so the vector job is stale now.
    const bad = await c.call('mining.submit', [s.worker, s.job_id, s.extranonce2, s.ntime, 'b2957c03']);
    assert.equal(errCode(bad), ERR.STALE, 'the block moved the chain on: the vector job is stale now');
  });

  it('without negotiation accepts a 6th param of 00000000 and rejects other version bits', async () => {
    const { server } = await start({ branches: 0 });
    const { c, session: s } = await session(server.port);
    const job = c.lastJob();
    const f = grind(job, s, '02000000', (d) => d >= D);
    assert.equal(
      errCode(
        await c.call('mining.submit', ['w1', job.jobId, '02000000', job.ntime, hex8(f.nonce), '00002000']),
      ),
      ERR.OTHER,
    );
    assert.deepEqual(
      (await c.call('mining.submit', ['w1', job.jobId, '02000000', job.ntime, hex8(f.nonce), '00000000']))
        .result,
      true,
    );
  });

  it('validates against the difficulty that applied to the job (old jobs keep the old one)', async () => {
    const { server } = await start({ branches: 1 });
    const { c, session: s } = await session(server.port);
    const oldJob = c.lastJob();
    server.setDifficulty(1e6);
    server.renotify();
    await waitFor(() => c.lastJob().jobId !== oldJob.jobId, 'renotify');
    assert.deepEqual(c.notifications('mining.set_difficulty').at(-1)!.params, [1e6]);
    const newJob = c.lastJob();
    assert.equal(newJob.cleanJobs, false);
    const a = grind(oldJob, s, '03000000', (d) => d >= D && d < 1e6);
    assert.deepEqual(
      (await c.call('mining.submit', ['w1', oldJob.jobId, '03000000', oldJob.ntime, hex8(a.nonce)])).result,
      true,
    );
    const b = grind(newJob, s, '03000000', (d) => d >= D && d < 1e6);
    assert.equal(
      errCode(await c.call('mining.submit', ['w1', newJob.jobId, '03000000', newJob.ntime, hex8(b.nonce)])),
      ERR.LOW_DIFFICULTY,
    );
  });

  it('re-notifies on the clock and starts new blocks with clean_jobs', async () => {
    const { server, clock } = await start({ renotifyMs: 30_000, blockIntervalMs: 600_000 });
    const { c } = await session(server.port);
    const first = c.lastJob();
    clock.advance(30_000);
    await waitFor(() => c.notifications('mining.notify').length === 2, 'renotify');
    assert.equal(c.lastJob().cleanJobs, false);
    assert.equal(c.lastJob().prevhash, first.prevhash);
    assert.equal(Number.parseInt(c.lastJob().ntime, 16) - Number.parseInt(first.ntime, 16), 30);
    clock.advance(570_000);
    await waitFor(() => c.lastJob().prevhash !== first.prevhash, 'new block');
    assert.equal(c.lastJob().cleanJobs, true);
    assert.equal(c.lastJob().coinb1.slice(84, 92), '0341d10c', 'height + 1 in the BIP34 push');
  });

  it('resumes an extranonce1 it issued when free, and closes on a line over 64 KiB', async () => {
    const { server } = await start();
    const a = await raw(server.port);
    const [, en1] = (await a.call('mining.subscribe', ['x'])).result as [unknown, string];
    a.close();
    await waitFor(() => server.connectionIds.length === 0, 'closed');
    const b = await raw(server.port);
    const [, en1b] = (await b.call('mining.subscribe', ['x', en1])).result as [unknown, string];
    assert.equal(en1b, en1);
    const c = await raw(server.port);
    const [, en1c] = (await c.call('mining.subscribe', ['x', en1])).result as [unknown, string];
    assert.notEqual(en1c, en1, 'in use → a fresh one');
    const [, en1d] = (await c.call('mining.subscribe', ['x', 'deadbeef'])).result as [unknown, string];
    assert.notEqual(en1d, 'deadbeef', 'never issued → a fresh one');
    c.socket.write('y'.repeat(70_000));
    await waitFor(() => c.closed, 'server closed the connection');
    assert.equal(server.stats.badMessages, 1);
  });

  it('serves the asicd client: shares accepted, a repeat kept local, low difficulty classified, misbehaviour API', async () => {
    const { server } = await start({ branches: 5, extranonce2Size: 8 });
    const clock = new ManualClock();
    const client = new StratumClient({
      url: server.url,
      user: 'w1',
      clock,
      versionRollingMask: 0x1fffe000,
      silenceMs: 120_000,
    });
    cleanup.push(() => client.close());
    const jobs: ClientJob[] = [];
    client.on('job', (j) => jobs.push(j));
    client.connect();
    await once(client, 'ready');
    const j = jobs[0]!;
    assert.equal(j.extranonce2Size, 8);
    assert.equal(j.difficulty, D);
    assert.equal(j.versionMask, 0x1fffe000);
    const en2 = '0100000000000000';
    const sess = { extranonce1: j.extranonce1, extranonce2Size: j.extranonce2Size };
    const v = Number.parseInt(j.job.version, 16) | 0x00004000;
    const f = grind(j.job, sess, en2, (d) => d >= j.difficulty, { version: v, versionMask: j.versionMask });
    const share = {
      poolToken: j.poolToken,
      jobId: j.job.jobId,
      extranonce2: en2,
      ntime: Number.parseInt(j.job.ntime, 16),
      nonce: f.nonce,
      versionBits: 0x4000,
    };
    assert.deepEqual(await client.submit(share), { status: 'accepted' });
    // The client never sends the same share twice on a session (the server's own duplicate check, code 22,
    // is covered with raw lines above): the repeat ends locally.
    const answered = () => server.stats.accepted + server.stats.rejected;
    const before = answered();
    const dup = await client.submit(share);
    assert.equal(dup.status === 'stale-local' && dup.detail.startsWith('duplicate'), true);
    const low = grind(j.job, sess, en2, (d) => d < j.difficulty);
    const lo = await client.submit({ ...share, nonce: low.nonce, versionBits: 0 });
    assert.equal(lo.status === 'rejected' && lo.reason, 'low-difficulty');
    assert.equal(answered(), before + 1, 'the repeat never reached the server');

    const masks: number[] = [];
    client.on('versionMask', (m) => masks.push(m.mask));
    server.setVersionMask(0x00ffe000);
    await waitFor(() => masks.length === 1, 'mask change');
    assert.equal(masks[0], 0x00ffe000);
    assert.equal(client.versionMask, 0x00ffe000);

    server.silent = true;
    const gone = once(client, 'disconnected');
    clock.advance(120_000);
    assert.equal((await gone)[0].reason, 'silence');
    server.silent = false;
    client.connect();
    await once(client, 'ready');
    const rc = once(client, 'disconnected');
    server.reconnect();
    assert.equal((await rc)[0].reason, 'reconnect-request');
    client.connect();
    await once(client, 'ready');
    const cl = once(client, 'disconnected');
    server.closeAll();
    assert.equal((await cl)[0].reason, 'closed-by-pool');
    assert.equal(server.stats.accepted, 1);
    assert.equal(server.stats.rejectedByCode[22], undefined);
    assert.equal(server.stats.rejectedByCode[23], 1);
  });
});
