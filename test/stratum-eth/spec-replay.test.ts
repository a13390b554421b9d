/**
 * The client against scripted servers that answer with the spec's own example lines over real TCP:
 * NiceHash's real-world scenario (1.0.0) and the EIP-1571 exchange (2.0.0). The client must produce the
 * spec's submit lines for the spec's nonces, and the NiceHash share must check out with ethash light at
 * the difficulty the spec states (1.863 for epoch 50's seed).
 */
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { boundaryWords, checkShare, epochFromSeed, headerWords } from '../../host/ethash/index.ts';
import { type EthClientJob, EthStratumClient } from '../../host/stratum-eth/client.ts';
import { testCacheStore } from '../ethash/shared-cache.ts';
import { waitFor } from '../helpers/net.ts';
import { eip, nh } from './spec-examples.ts';

type Handler = (m: { id?: number; method?: string; params?: unknown }, sock: Socket) => void;

const servers: Server[] = [];
const clients: EthStratumClient[] = [];
after(async () => {
  for (const c of clients) c.close();
  for (const s of servers) await new Promise((r) => s.close(r));
});

/** A TCP server that hands each parsed client line to `handle` and records it. */
async function scripted(handle: Handler) {
  const lines: string[] = [];
  const socks: Socket[] = [];
  const server = createServer((sock) => {
    socks.push(sock);
    let buf = '';
    sock.on('error', () => {});
    sock.on('data', (d) => {
      buf += d.toString();
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        lines.push(line);
        handle(JSON.parse(line), sock);
      }
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  after(() => {
    for (const s of socks) s.destroy();
  });
  return { port, lines };
}

/** A spec line with its id replaced by the request's (the client numbers its own requests). */
const withId = (line: string, id: number | undefined) => `${JSON.stringify({ ...JSON.parse(line), id })}\n`;

describe('NiceHash EthereumStratum/1.0.0 real-world scenario', () => {
  it('replays the exchange; the client submits "cfae7df760" for nonce a2eea0cfae7df760, which checks at difficulty 1.863', async () => {
    const { port, lines } = await scripted((m, sock) => {
      if (m.method === 'mining.subscribe') sock.write(withId(nh.pool_subscribe_result!, m.id));
      else if (m.method === 'mining.authorize') {
        sock.write(withId(nh.pool_authorize_result!, m.id));
        sock.write(`${nh.pool_set_difficulty}\n${nh.pool_notify}\n`);
      } else if (m.method === 'mining.submit') sock.write(withId(nh.pool_submit_result!, m.id));
      else if (m.id !== undefined) sock.write(`${JSON.stringify({ id: m.id, result: true, error: null })}\n`);
    });
    const client = new EthStratumClient({
      url: `stratum2+tcp://127.0.0.1:${port}`,
      user: 'test',
      password: 'password',
      userAgent: 'EthereumMiner/1.0.0',
    });
    clients.push(client);
    const jobs: EthClientJob[] = [];
    client.on('job', (j) => jobs.push(j));
    client.connect();
    await waitFor(() => jobs.length === 1, 'the spec job');
    const job = jobs[0]!;
    assert.equal(job.jobId, 'bf0488aa');
    assert.equal(job.extranonce, 'a2eea0');
    assert.equal(job.difficulty, 1);
    assert.equal(job.epoch, epochFromSeed(nh.share.seedhash));
    assert.equal(job.epoch, 50);
    assert.deepEqual(JSON.parse(lines[0]!), JSON.parse(nh.miner_subscribe!));
    assert.deepEqual(JSON.parse(lines[1]!), JSON.parse(nh.miner_authorize!));

    const nonce = BigInt(`0x${nh.share.nonce}`);
    const light = await testCacheStore().get(job.epoch, job.epochLength);
    const check = checkShare(light, headerWords(job.headerHash), nonce, boundaryWords(job.target));
    assert.equal(check.meets, true);
    assert.equal(check.difficulty.toFixed(3), '1.863');
    assert.match(nh.share.difficulty_text, /1\.863/);

    const outcome = await client.submit({ poolToken: job.poolToken, jobId: job.jobId, nonce });
    assert.deepEqual(outcome, { status: 'accepted' });
    const submit = JSON.parse(lines.find((l) => l.includes('mining.submit'))!);
    assert.deepEqual(submit.params, JSON.parse(nh.miner_submit!).params);
  });
});

describe('EIP-1571 EthereumStratum/2.0.0 exchange', () => {
  async function eipPool(submitReply: (id: number | undefined) => string, hello = eip.pool_hello_result!) {
    return scripted((m, sock) => {
      if (m.method === 'mining.hello') sock.write(withId(hello, m.id));
      else if (m.method === 'mining.subscribe') sock.write(withId(eip.pool_subscribe_result!, m.id));
      else if (m.method === 'mining.authorize') {
        sock.write(withId(eip.pool_authorize_result!, m.id));
        sock.write(`${eip.pool_set}\n${eip.pool_notify_as_written}\n${eip.pool_notify_comma_fixed}\n`);
      } else if (m.method === 'mining.submit') sock.write(submitReply(m.id));
    });
  }
  const plainHello = eip.pool_hello_result!.replace('"gzip"', '"plain"');

  it('hello → subscribe → authorize → set → notify (the malformed one counted, not fatal) → the spec submit line → {"id":n}', async () => {
    const { port, lines } = await eipPool((id) => withId(eip.pool_submit_ok!, id), plainHello);
    const client = new EthStratumClient({
      url: `stratum3+tcp://somemininigpool.com:1234`,
      user: 'acct.rig',
      password: 'password',
      userAgent: 'ethminer-0.17',
      connector: localConnector(port),
    });
    clients.push(client);
    const jobs: EthClientJob[] = [];
    client.on('job', (j) => jobs.push(j));
    client.connect();
    await waitFor(() => jobs.length === 1, 'the spec job');
    assert.deepEqual(JSON.parse(lines[0]!), JSON.parse(eip.miner_hello!));
    assert.deepEqual(JSON.parse(lines[1]!), { id: 1, method: 'mining.subscribe' });
    const job = jobs[0]!;
    assert.equal(job.dialect, 'v2');
    assert.equal(job.epoch, 0xdc);
    assert.equal(job.blockNumber, 0x6526d5);
    assert.equal(job.target, 0x0112e0be826d694b2e62d01511f12a6061fbaec8bc02357593e70e52ban);
    assert.equal(job.extranonce, 'af4c');
    assert.equal(job.cleanJobs, true, 'first job of a session is clean');
    assert.equal(client.badInput.json, 1, 'the notify with the missing comma was counted');
    const outcome = await client.submit({
      poolToken: job.poolToken,
      jobId: job.jobId,
      nonce: 0xaf4c68765fccd712n,
    });
    assert.deepEqual(outcome, { status: 'accepted' });
    const submit = JSON.parse(lines.find((l) => l.includes('mining.submit'))!);
    assert.deepEqual(submit.params, JSON.parse(eip.miner_submit!).params);
  });

  for (const [name, line, status, reason] of [
    ['406 Bad nonce', eip.pool_submit_bad_nonce!, 'rejected', 'low-difficulty'],
    ['202 Stale', eip.pool_submit_stale!, 'rejected', 'stale'],
    ['404 Job not found', eip.pool_submit_job_not_found!, 'rejected', 'stale'],
  ] as const) {
    it(`submit answered with ${name} → ${status} (${reason}), counted per reason`, async () => {
      const { port } = await eipPool((id) => withId(line, id), plainHello);
      const client = new EthStratumClient({ url: `stratum3+tcp://127.0.0.1:${port}`, user: 'a.b' });
      clients.push(client);
      const jobs: EthClientJob[] = [];
      client.on('job', (j) => jobs.push(j));
      client.connect();
      await waitFor(() => jobs.length === 1, 'job');
      const o = await client.submit({
        poolToken: jobs[0]!.poolToken,
        jobId: 'bf0488aa',
        nonce: 0xaf4c000000000001n,
      });
      assert.equal(o.status, status);
      assert.equal(o.status === 'rejected' && o.reason, reason);
      assert.equal(client.stats.rejectedByReason[reason], 1);
    });
  }

  it('a 5xx submit error ends the session (switch to failover, per the EIP)', async () => {
    const { port } = await eipPool(
      (id) => `${JSON.stringify({ id, error: { code: 500, message: 'Internal error' } })}\n`,
      plainHello,
    );
    const client = new EthStratumClient({ url: `stratum3+tcp://127.0.0.1:${port}`, user: 'a.b' });
    clients.push(client);
    const jobs: EthClientJob[] = [];
    const reasons: string[] = [];
    client.on('job', (j) => jobs.push(j));
    client.on('disconnected', (d) => reasons.push(d.reason));
    client.connect();
    await waitFor(() => jobs.length === 1, 'job');
    const o = await client.submit({
      poolToken: jobs[0]!.poolToken,
      jobId: 'bf0488aa',
      nonce: 0xaf4c000000000002n,
    });
    assert.equal(o.status, 'rejected');
    await waitFor(() => reasons.length === 1, 'disconnect');
    assert.equal(reasons[0], 'server-error');
  });

  it("the EIP's own hello answer asks for gzip, which asicd does not speak: clear protocol-mismatch", async () => {
    const { port } = await eipPool((id) => withId(eip.pool_submit_ok!, id));
    const client = new EthStratumClient({ url: `stratum3+tcp://127.0.0.1:${port}`, user: 'a.b' });
    clients.push(client);
    const ev: Array<{ reason: string; detail?: string }> = [];
    client.on('disconnected', (d) => ev.push(d));
    client.connect();
    await waitFor(() => ev.length === 1, 'disconnect');
    assert.equal(ev[0]!.reason, 'protocol-mismatch');
    assert.match(ev[0]!.detail!, /gzip/);
  });
});

/** Connects to 127.0.0.1:port whatever host the URL names (the EIP hello carries the URL's host/port). */
function localConnector(port: number) {
  return async (_t: unknown, signal: AbortSignal) => {
    const { defaultConnector } = await import('../../host/stratum/client.ts');
    return defaultConnector({ host: '127.0.0.1', port, tls: false }, signal);
  };
}
