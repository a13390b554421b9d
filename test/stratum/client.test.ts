/**
 * StratumClient over real TCP (127.0.0.1) against the scripted server that replays the slush/braiins
 * example exchange and misbehaves on cue. Timers run on a ManualClock where time matters.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, afterEach, describe, it } from 'node:test';
import {
  type ClientJob,
  type DisconnectEvent,
  parsePoolUrl,
  StratumClient,
  type StratumClientOptions,
} from '../../host/stratum/client.ts';
import { USER_AGENT } from '../../host/version.ts';
import { ManualClock } from '../../lib/clock.ts';
import { memoryLogger } from '../../lib/log.ts';
import { waitFor } from '../helpers/net.ts';
import { replies, ScriptedServer, slush } from './scripted-server.ts';

const servers: ScriptedServer[] = [];
const clients: StratumClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) await s.stop();
});
after(() => {});

async function setup(
  script: ConstructorParameters<typeof Object>[0] = {},
  opts: Partial<StratumClientOptions> = {},
) {
  const server = await ScriptedServer.start(script as never);
  servers.push(server);
  const clock = new ManualClock();
  const logger = memoryLogger();
  const client = new StratumClient({
    url: server.url,
    user: 'slush.miner1',
    password: 'x',
    clock,
    logger,
    ...opts,
  });
  clients.push(client);
  const jobs: ClientJob[] = [];
  const disconnects: DisconnectEvent[] = [];
  client.on('job', (j) => jobs.push(j));
  client.on('disconnected', (d) => disconnects.push(d));
  return { server, client, clock, logger, jobs, disconnects };
}

const slushShare = (poolToken: string) => ({
  poolToken,
  jobId: 'bf',
  extranonce2: '00000001',
  ntime: 0x504e86ed,
  nonce: 0xb2957c02,
});

describe('parsePoolUrl', () => {
  it('parses tcp, ssl/tls, IPv6 and bare host:port, and refuses others', () => {
    assert.deepEqual(parsePoolUrl('stratum+tcp://pool.example.com:3333'), {
      url: 'stratum+tcp://pool.example.com:3333',
      host: 'pool.example.com',
      port: 3333,
      tls: false,
    });
    assert.equal(parsePoolUrl('stratum+ssl://p:443').tls, true);
    assert.equal(parsePoolUrl('stratum+tls://p:443').tls, true);
    assert.equal(parsePoolUrl('stratum+tcp://[::1]:3333').host, '::1');
    assert.equal(parsePoolUrl('10.0.0.2:3333').host, '10.0.0.2');
    assert.throws(() => parsePoolUrl('http://p:80'), /scheme/);
    assert.throws(() => parsePoolUrl('stratum+tcp://p'), /host:port/);
    assert.throws(() => parsePoolUrl('stratum+tcp://p:70000'), /port/);
  });
});

describe('StratumClient against the scripted slush exchange', () => {
  it('runs the full session: configure first, subscribe with user agent, authorize, job, accepted share', async () => {
    const { server, client, jobs } = await setup({}, { versionRollingMask: 0x1fffe000 });
    const ready = once(client, 'ready');
    client.connect();
    await ready;
    const methods = server.received.map((r) => r.method);
    assert.deepEqual(methods.slice(0, 3), ['mining.configure', 'mining.subscribe', 'mining.authorize']);
    assert.deepEqual(server.methods('mining.configure')[0]!.params, [
      ['version-rolling'],
      { 'version-rolling.mask': '1fffe000' },
    ]);
    assert.deepEqual(server.methods('mining.subscribe')[0]!.params, [USER_AGENT]);
    assert.equal(jobs.length, 1);
    const j = jobs[0]!;
    const vecNotify = (JSON.parse(slush.raw_messages.notify) as { params: unknown[] }).params;
    assert.equal(j.job.jobId, vecNotify[0]);
    assert.equal(j.job.coinb1, vecNotify[2]);
    assert.equal(j.extranonce1, slush.extranonce1);
    assert.equal(j.extranonce2Size, slush.extranonce2_size);
    assert.equal(j.difficulty, 1, 'difficulty 1 until set_difficulty');
    assert.equal(j.versionMask, 0x1fffe000);
    assert.equal(j.cleanJobs, true, 'first job of a session is clean');
    assert.equal(j.user, 'slush.miner1');
    const outcome = await client.submit(slushShare(j.poolToken));
    assert.deepEqual(outcome, { status: 'accepted' });
    const sub = server.methods('mining.submit')[0]!;
    // With rolling negotiated: the slush params plus version_bits 00000000.
    const vecSubmit = (JSON.parse(slush.raw_messages.submit) as { params: unknown[] }).params;
    assert.deepEqual(sub.params, [...vecSubmit, '00000000']);
  });

  it('sends exactly the slush submit params (5) without version rolling', async () => {
    const { server, client, jobs } = await setup(
      { configureMask: 'error' },
      { versionRollingMask: 0x1fffe000 },
    );
    client.connect();
    await once(client, 'ready');
    assert.equal(jobs[0]!.versionMask, 0);
    await client.submit(slushShare(jobs[0]!.poolToken));
    const vecSubmit = JSON.parse(slush.raw_messages.submit) as { params: unknown[] };
    assert.deepEqual(server.methods('mining.submit')[0]!.params, vecSubmit.params);
  });

  it('classifies stale, duplicate, low-difficulty and ckpool reject-reason answers', async () => {
    const { server, client, jobs } = await setup();
    client.connect();
    await once(client, 'ready');
    server.submitReplies.push(
      replies.error(21, 'Job not found'),
      replies.error(22, 'Duplicate share'),
      replies.error(23, 'Difficulty too low'),
      replies.ckpool('Stale'),
      replies.ckpool('Duplicate'),
      replies.error(20, 'Ntime out of range'),
    );
    const got = [];
    // Six different shares (the client never sends the same share twice on a session).
    for (let i = 0; i < 6; i++)
      got.push(await client.submit({ ...slushShare(jobs[0]!.poolToken), nonce: i }));
    assert.deepEqual(
      got.map((o) => (o.status === 'rejected' ? `${o.reason}/${o.code}` : o.status)),
      ['stale/21', 'duplicate/22', 'low-difficulty/23', 'stale/21', 'duplicate/22', 'other/20'],
    );
  });

  it('applies set_difficulty from the next job and set_version_mask immediately', async () => {
    const { server, client, jobs } = await setup({ difficulty: 0.001 }, { versionRollingMask: 0xffffffff });
    const masks: number[] = [];
    client.on('versionMask', (m) => masks.push(m.mask));
    client.connect();
    await once(client, 'ready');
    assert.equal(jobs[0]!.difficulty, 0.001);
    server.send('{"id":null,"method":"mining.set_difficulty","params":[0.5]}');
    await once(client, 'difficulty');
    assert.equal(jobs[0]!.difficulty, 0.001, 'the current job keeps its difficulty');
    server.notify({ jobId: 'c0' });
    await waitFor(() => jobs.length === 2, 'second job');
    assert.equal(jobs[1]!.difficulty, 0.5);
    assert.equal(jobs[1]!.cleanJobs, false);
    server.send('{"id":null,"method":"mining.set_version_mask","params":["00ffe000"]}');
    await waitFor(() => masks.length === 2, 'version mask event');
    assert.deepEqual(masks, [0x1fffe000, 0x00ffe000]);
    const t = jobs[1]!.poolToken;
    const outside = await client.submit({ ...slushShare(t), jobId: 'c0', versionBits: 0x10000000 });
    assert.equal(outside.status, 'stale-local');
    const inside = await client.submit({ ...slushShare(t), jobId: 'c0', versionBits: 0x00002000 });
    assert.equal(inside.status, 'accepted');
    assert.equal(server.methods('mining.submit').at(-1)!.params![5], '00002000');
  });

  it('forces clean jobs on a prevhash change and refuses shares for jobs before a clean job', async () => {
    const { server, client, jobs } = await setup();
    client.connect();
    await once(client, 'ready');
    server.notify({ jobId: 'new', prevhash: '11'.repeat(32), clean: false });
    await waitFor(() => jobs.length === 2, 'second job');
    assert.equal(jobs[1]!.cleanJobs, true);
    const o = await client.submit(slushShare(jobs[0]!.poolToken));
    assert.equal(o.status, 'stale-local');
    assert.equal(server.methods('mining.submit').length, 0);
  });

  it('counts garbage and bad notifies, logs once per kind, and never makes a job from them', async () => {
    const { server, client, jobs, logger } = await setup();
    client.connect();
    await once(client, 'ready');
    const bad = (JSON.parse(slush.raw_messages.notify) as { params: unknown[] }).params;
    bad[1] = 'abcd';
    const huge = [...bad];
    huge[1] = '00'.repeat(32);
    huge[4] = new Array(500).fill('00'.repeat(32)); // 10 000 would exceed the 64 KiB line limit
    server.send('this is not json\n{"id":1,\n[1,2,3]\n', true);
    server.send(JSON.stringify({ id: null, method: 'mining.notify', params: bad }));
    server.send(JSON.stringify({ id: null, method: 'mining.notify', params: huge }));
    server.send(JSON.stringify({ id: null, method: 'mining.notify', params: bad }));
    server.send('{"id":99,"result":true,"error":null}');
    server.notify({ jobId: 'good' });
    await waitFor(() => jobs.length === 2, 'the good job');
    assert.equal(jobs[1]!.job.jobId, 'good');
    assert.equal(client.badInput.json, 2);
    assert.equal(client.badInput.shape, 1);
    assert.equal(client.badInput['mining.notify'], 3);
    assert.equal(client.badInput['unknown-id'], 1);
    assert.equal(
      logger.records.filter((r) => r.event === 'bad_input' && r.kind === 'mining.notify').length,
      1,
    );
    assert.equal(client.state, 'ready');
  });

  it('closes on a line over 64 KiB without newline; pending shares end as no-answer', async () => {
    const { server, client, jobs, disconnects } = await setup();
    client.connect();
    await once(client, 'ready');
    server.submitReplies.push(replies.none);
    const pending = client.submit(slushShare(jobs[0]!.poolToken));
    await waitFor(() => server.methods('mining.submit').length === 1, 'submit received');
    server.send('x'.repeat(70_000), true);
    assert.deepEqual(await pending, { status: 'no-answer', cause: 'disconnect' });
    assert.equal(disconnects[0]!.reason, 'line-too-long');
    assert.equal(client.badInput['line-too-long'], 1);
  });

  it('reports closed-by-pool and ends pending submits exactly once', async () => {
    const { server, client, jobs, disconnects } = await setup();
    const results: string[] = [];
    client.on('shareResult', (r) => results.push(r.outcome.status));
    client.connect();
    await once(client, 'ready');
    server.submitReplies.push(replies.none, replies.none);
    const a = client.submit(slushShare(jobs[0]!.poolToken));
    const b = client.submit({ ...slushShare(jobs[0]!.poolToken), nonce: 1 });
    await waitFor(() => server.methods('mining.submit').length === 2, 'submits received');
    server.closeAll();
    assert.equal((await a).status, 'no-answer');
    assert.equal((await b).status, 'no-answer');
    assert.equal(disconnects[0]!.reason, 'closed-by-pool');
    assert.equal(disconnects[0]!.wasReady, true);
    const late = await client.submit(slushShare(jobs[0]!.poolToken));
    assert.equal(late.status, 'stale-local');
    assert.deepEqual(results, ['no-answer', 'no-answer', 'stale-local']);
  });

  it('times a submit out on the clock and a silent pool out after silenceMs', async () => {
    const { server, client, jobs, disconnects, clock } = await setup(
      {},
      { silenceMs: 120_000, submitTimeoutMs: 30_000 },
    );
    client.connect();
    await once(client, 'ready');
    server.silent = true;
    const p = client.submit(slushShare(jobs[0]!.poolToken));
    await waitFor(() => server.methods('mining.submit').length === 1, 'submit received');
    clock.advance(30_000);
    assert.deepEqual(await p, { status: 'no-answer', cause: 'timeout' });
    assert.equal(disconnects.length, 0);
    clock.advance(89_999);
    assert.equal(disconnects.length, 0, 'not before silenceMs');
    clock.advance(1);
    assert.equal(disconnects[0]!.reason, 'silence');
  });

  it('gives up when subscribe + authorize + first notify do not arrive within readyTimeoutMs', async () => {
    const { client, disconnects, clock } = await setup(
      { notifyOnAuthorize: false },
      { readyTimeoutMs: 10_000 },
    );
    client.connect();
    await once(client, 'connected');
    await waitFor(() => client.state === 'handshake', 'handshake');
    await new Promise((r) => setTimeout(r, 50));
    clock.advance(10_000);
    assert.equal(disconnects[0]!.reason, 'not-ready');
    assert.match(disconnects[0]!.detail!, /first notify/);
  });

  it('follows client.reconnect to the same host only, then resumes with the last extranonce1', async () => {
    const { server, client, disconnects } = await setup();
    client.connect();
    await once(client, 'ready');
    server.send(
      JSON.stringify({ id: null, method: 'client.reconnect', params: ['elsewhere.example', 4444, 2] }),
    );
    await waitFor(() => disconnects.length === 1, 'disconnect');
    assert.equal(disconnects[0]!.reason, 'reconnect-request');
    assert.equal(disconnects[0]!.reconnectAfterMs, 2000);
    client.connect();
    await once(client, 'ready');
    assert.deepEqual(server.methods('mining.subscribe')[1]!.params, [USER_AGENT, slush.extranonce1]);
    assert.equal(server.methods('mining.subscribe')[1]!.conn, 2);
  });

  it('answers client.get_version and mining.ping, and emits show_message', async () => {
    const { server, client } = await setup();
    client.connect();
    await once(client, 'ready');
    const msg = once(client, 'message');
    server.send('{"id":"v1","method":"client.get_version","params":[]}');
    server.send('{"id":77,"method":"mining.ping","params":[]}');
    server.send('{"id":null,"method":"client.show_message","params":["maintenance at noon"]}');
    assert.equal((await msg)[0].text, 'maintenance at noon');
    await waitFor(() => server.received.filter((r) => 'result' in r).length === 2, 'answers');
    const answers = server.received.filter((r) => 'result' in r);
    assert.deepEqual(
      answers.map((a) => [a.id, a.result]),
      [
        ['v1', USER_AGENT],
        [77, 'pong'],
      ],
    );
  });

  it('ends the session on authorize false and on extranonce2_size 0 or 64', async () => {
    const a = await setup({ authorize: false });
    a.client.connect();
    await waitFor(() => a.disconnects.length === 1, 'disconnect');
    assert.equal(a.disconnects[0]!.reason, 'unauthorized');
    for (const size of [0, 64]) {
      const b = await setup({ subscribeResult: [[], '08000002', size] });
      b.client.connect();
      await waitFor(() => b.disconnects.length === 1, 'disconnect');
      assert.equal(b.disconnects[0]!.reason, 'subscribe-failed');
      assert.match(b.disconnects[0]!.detail!, /extranonce2_size/);
      assert.equal(b.jobs.length, 0);
    }
  });

  it('sends suggest_difficulty and extranonce.subscribe after authorize when configured, and applies set_extranonce on the next job', async () => {
    const { server, client, jobs } = await setup({}, { suggestDifficulty: 0.001, extranonceSubscribe: true });
    client.connect();
    await once(client, 'ready');
    await waitFor(() => server.methods('mining.extranonce.subscribe').length === 1, 'extranonce.subscribe');
    assert.deepEqual(server.methods('mining.suggest_difficulty')[0]!.params, [0.001]);
    const authIdx = server.received.findIndex((r) => r.method === 'mining.authorize');
    const sugIdx = server.received.findIndex((r) => r.method === 'mining.suggest_difficulty');
    assert.ok(sugIdx > authIdx);
    server.send('{"id":null,"method":"mining.set_extranonce","params":["aabbccdd",8]}');
    server.notify({ jobId: 'x1' });
    await waitFor(() => jobs.length === 2, 'job after set_extranonce');
    assert.equal(jobs[1]!.extranonce1, 'aabbccdd');
    assert.equal(jobs[1]!.extranonce2Size, 8);
    const stale = await client.submit(slushShare(jobs[0]!.poolToken));
    assert.equal(stale.status, 'stale-local', 'old job is gone after the extranonce change');
  });

  it('connects over IPv6 loopback when available', async (t) => {
    const { createServer } = await import('node:net');
    const srv = createServer((s) => s.end());
    const okListen = await new Promise<boolean>((resolve) => {
      srv.once('error', () => resolve(false));
      srv.listen(0, '::1', () => resolve(true));
    });
    if (!okListen) {
      t.skip('no IPv6 loopback on this machine');
      return;
    }
    const port = (srv.address() as { port: number }).port;
    const c = new StratumClient({ url: `stratum+tcp://[::1]:${port}`, user: 'u', clock: new ManualClock() });
    clients.push(c);
    const conn = once(c, 'connected');
    c.connect();
    const [ev] = await conn;
    assert.equal(ev.host, '::1');
    c.close();
    srv.close();
    await new Promise((r) => setTimeout(r, 10));
  });
});
