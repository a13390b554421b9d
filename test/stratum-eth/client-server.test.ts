/**
 * EthStratumClient against the embedded two-dialect pool over real TCP on 127.0.0.1: the URL scheme
 * picks the dialect, auto-detection tries 2.0.0 then falls back to 1.0.0 (pool answers hello with an
 * error, closes, or stays silent), and shares computed with ethash light are accepted, while stale,
 * duplicate, low-difficulty and out-of-segment nonces get their per-reason outcome.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  boundaryWords,
  checkShare,
  type EthashCacheStore,
  type EthashLight,
  headerWords,
  targetFromShareDifficulty,
} from '../../host/ethash/index.ts';
import { EthPoolServer, type EthPoolServerOptions } from '../../host/pool-eth/server.ts';
import { type EthClientJob, type EthClientOptions, EthStratumClient } from '../../host/stratum-eth/client.ts';
import { nonceSegment } from '../../host/stratum-eth/messages.ts';
import { memoryLogger } from '../../lib/log.ts';
import { testCacheStore } from '../ethash/shared-cache.ts';
import { waitFor } from '../helpers/net.ts';

let store: EthashCacheStore;
let light: EthashLight;
before(async () => {
  store = testCacheStore();
  light = await store.get(0);
});

const servers: EthPoolServer[] = [];
const clients: EthStratumClient[] = [];
after(async () => {
  for (const c of clients) c.close();
  for (const s of servers) await s.stop();
});

async function rig(
  serverOpts: Partial<EthPoolServerOptions>,
  url: (s: EthPoolServer) => string,
  co: Partial<EthClientOptions> = {},
) {
  const server = await EthPoolServer.start({ store, difficulty: 2 ** -26, ...serverOpts });
  servers.push(server);
  const logger = memoryLogger();
  const client = new EthStratumClient({ url: url(server), user: '0xabc.rig1', password: 'x', logger, ...co });
  clients.push(client);
  const jobs: EthClientJob[] = [];
  client.on('job', (j) => jobs.push(j));
  client.connect();
  await waitFor(() => jobs.length > 0, 'first job');
  return { server, client, jobs, logger };
}

/** Scans the job's segment for a nonce meeting (or, with want=false, missing) the target. */
function findNonce(job: EthClientJob, want = true, from = 0n): bigint {
  const seg = nonceSegment(job.extranonce);
  const hw = headerWords(job.headerHash);
  const bw = boundaryWords(job.target);
  for (let i = from; i < from + 5000n; i++) {
    const n = seg.start + i;
    if (checkShare(light, hw, n, bw).meets === want) return n;
  }
  throw new Error('no nonce found in 5000 tries');
}

for (const dialect of ['v1', 'v2'] as const) {
  describe(`dialect ${dialect} chosen by URL scheme`, () => {
    it('handshakes, gets a job with epoch 0 and the pool target, and has a good share accepted', async () => {
      const { server, client, jobs } = await rig({}, (s) => s.url(dialect));
      const job = jobs[0]!;
      assert.equal(job.dialect, dialect);
      assert.equal(client.dialect, dialect);
      assert.equal(job.epoch, 0);
      assert.equal(job.epochLength, 30_000);
      assert.equal(job.headerHash, server.currentJob!.headerHash);
      assert.equal(job.target, targetFromShareDifficulty(2 ** -26));
      assert.equal(job.difficulty, 2 ** -26);
      assert.equal(job.extranonce.length, 4);
      const nonce = findNonce(job);
      const outcome = await client.submit({ poolToken: job.poolToken, jobId: job.jobId, nonce });
      assert.deepEqual(outcome, { status: 'accepted' });
      assert.equal(server.stats.accepted, 1);
      assert.equal(server.stats.byDialect[dialect], 1);
      // Wire format: 1.0.0 sends [user, job, minernonce]; 2.0.0 [job, minernonce, token].
      const submit = server.received.map((r) => JSON.parse(r.line)).find((m) => m.method === 'mining.submit');
      const miner = nonce.toString(16).padStart(16, '0').slice(4);
      if (dialect === 'v1') assert.deepEqual(submit.params, ['0xabc.rig1', job.jobId, miner]);
      else {
        assert.equal(submit.params[0], job.jobId);
        assert.equal(submit.params[1], miner);
        assert.match(submit.params[2], /^w-/);
      }
    });

    it('counts rejects per reason: low difficulty, duplicate, stale; refuses out-of-segment nonces locally', async () => {
      const { server, client, jobs } = await rig({}, (s) => s.url(dialect));
      const job = jobs[0]!;
      const bad = findNonce(job, false);
      const low = await client.submit({ poolToken: job.poolToken, jobId: job.jobId, nonce: bad });
      assert.equal(low.status, 'rejected');
      assert.equal(low.status === 'rejected' && low.reason, 'low-difficulty');
      const good = findNonce(job);
      assert.equal(
        (await client.submit({ poolToken: job.poolToken, jobId: job.jobId, nonce: good })).status,
        'accepted',
      );
      const dup = await client.submit({ poolToken: job.poolToken, jobId: job.jobId, nonce: good });
      assert.equal(dup.status === 'rejected' && dup.reason, 'duplicate');
      const outside = await client.submit({
        poolToken: job.poolToken,
        jobId: job.jobId,
        nonce: nonceSegment(job.extranonce).start - 1n,
      });
      assert.equal(outside.status, 'stale-local');
      // New clean job: the old job id is gone locally; a share for it is refused without a round trip.
      server.newJob(true);
      await waitFor(() => jobs.length > 1, 'second job');
      const stale = await client.submit({ poolToken: job.poolToken, jobId: job.jobId, nonce: good + 1n });
      assert.equal(stale.status, 'stale-local');
      assert.equal(client.stats.accepted, 1);
      assert.equal(client.stats.rejectedByReason['low-difficulty'], 1);
      assert.equal(client.stats.rejectedByReason.duplicate, 1);
      assert.equal(client.stats.staleLocal, 2);
      assert.equal(server.stats.rejected['low-difficulty'], 1);
      assert.equal(server.stats.rejected.duplicate, 1);
    });

    it('difficulty and extranonce changes apply to the next job', async () => {
      const { server, jobs } = await rig({}, (s) => s.url(dialect));
      server.setDifficulty(2 ** -20);
      const [en1] = server.rotateExtranonce();
      server.newJob(true);
      await waitFor(() => jobs.length > 1, 'second job');
      assert.equal(jobs[1]!.difficulty, 2 ** -20);
      assert.equal(jobs[1]!.target, targetFromShareDifficulty(2 ** -20));
      assert.equal(jobs[1]!.extranonce, en1);
      assert.equal(jobs[0]!.difficulty, 2 ** -26);
    });
  });
}

describe('auto-detection (2.0.0 first, then 1.0.0)', () => {
  it('uses 2.0.0 when the pool speaks it', async () => {
    const { client, jobs } = await rig({}, (s) => s.url('auto'));
    assert.equal(jobs[0]!.dialect, 'v2');
    assert.equal(client.dialect, 'v2');
  });
  for (const helloRefusal of ['error', 'close', 'silent'] as const) {
    it(`falls back to 1.0.0 when the pool answers mining.hello with ${helloRefusal}`, async () => {
      const { client, jobs, logger, server } = await rig(
        { dialects: ['v1'], helloRefusal },
        (s) => s.url('auto'),
        { helloTimeoutMs: 300 },
      );
      assert.equal(jobs[0]!.dialect, 'v1');
      assert.equal(client.dialect, 'v1');
      assert.ok(logger.records.some((r) => r.event === 'dialect_fallback'));
      const nonce = findNonce(jobs[0]!);
      assert.equal(
        (await client.submit({ poolToken: jobs[0]!.poolToken, jobId: jobs[0]!.jobId, nonce })).status,
        'accepted',
      );
      assert.equal(server.stats.byDialect.v1, 1);
    });
  }
});

describe('pool-initiated session control', () => {
  it('2.0.0 mining.bye and mining.reconnect end the session with their reasons', async () => {
    const { server, client } = await rig({}, (s) => s.url('v2'));
    const reasons: string[] = [];
    client.on('disconnected', (d) => reasons.push(d.reason));
    server.requestReconnect();
    await waitFor(() => reasons.length === 1, 'reconnect');
    assert.equal(reasons[0], 'reconnect-request');
    const jobs: EthClientJob[] = [];
    client.on('job', (j) => jobs.push(j));
    client.connect();
    await waitFor(() => jobs.length === 1, 'job after reconnect');
    server.bye();
    await waitFor(() => reasons.length === 2, 'bye');
    assert.equal(reasons[1], 'bye');
  });

  it('a pool that drops the connection ends pending submits as no-answer', async () => {
    const { server, client, jobs } = await rig({}, (s) => s.url('v1'));
    const events: string[] = [];
    client.on('disconnected', (d) => events.push(d.reason));
    const p = client.submit({
      poolToken: jobs[0]!.poolToken,
      jobId: jobs[0]!.jobId,
      nonce: nonceSegment(jobs[0]!.extranonce).start,
    });
    server.dropConnections();
    assert.deepEqual(await p, { status: 'no-answer', cause: 'disconnect' });
    await waitFor(() => events.length === 1, 'disconnect');
    assert.match(events[0]!, /^(closed-by-pool|socket-error)$/);
    assert.equal(client.stats.noAnswer, 1);
  });
});
