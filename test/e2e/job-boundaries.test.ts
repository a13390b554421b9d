/**
 * No nonce for work the pool still accepts is dropped at a job boundary. The emulated chain runs in answer
 * mode: the moment a job frame is complete it reports a nonce it already knows — inside the host's write,
 * before the write resolves. The job is a public block (testnet3 000000002076870f…, the slush/braiins
 * example in test/fixtures/vectors) rebuilt as a pool job so that the first chip job (extranonce2 0) is
 * that block's header; the share the daemon must submit is the block itself. Checked at startup, after a
 * pause/resume, after a failover and after an overheat resume, with the share ledger balanced at the end.
 * Real TCP pools (scripted), the real daemon, chain driver and emulator, real time.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { findBoard } from '../../boards/index.ts';
import { Miner } from '../../host/miner/daemon.ts';
import { openBoardHardware } from '../../host/miner/hardware.ts';
import { checkLedger } from '../../host/miner/ledger.ts';
import { systemClock } from '../../lib/clock.ts';
import { memoryLogger } from '../../lib/log.ts';
import { waitFor } from '../helpers/net.ts';
import { vector } from '../helpers/vectors.ts';
import { ScriptedServer } from '../stratum/scripted-server.ts';

interface Slush {
  extranonce1: string;
  notify: { prevhash: string; coinb1: string; coinb2: string; version: string; nbits: string };
  submit: { extranonce2: string; ntime: string; nonce: string };
  expected: { block_hash: string };
}
const v = vector<Slush>('stratum-v1', 'slush-example-testnet3');
// The block's extranonce2 is 00000001: keep its last byte in coinb2 so the first extranonce2 (000000, 3
// bytes) rebuilds the block's own coinbase; its ntime is the rolled one from the submit.
assert.equal(v.submit.extranonce2, '00000001');
const SUBSCRIBE = [[['mining.notify', 'ae6812eb4cd7735a302a8a9dd95cf71f']], v.extranonce1, 3];
const blockJob = (id: string) => ({
  id: null,
  method: 'mining.notify',
  params: [
    id,
    v.notify.prevhash,
    v.notify.coinb1,
    `01${v.notify.coinb2}`,
    [],
    v.notify.version,
    v.notify.nbits,
    v.submit.ntime,
    true,
  ],
});

const servers: ScriptedServer[] = [];
after(async () => {
  for (const s of servers) await s.stop();
});

async function scripted(): Promise<ScriptedServer> {
  const s = await ScriptedServer.start({ subscribeResult: SUBSCRIBE, notifyOnAuthorize: false });
  servers.push(s);
  return s;
}

/** Sends difficulty 1 and a block job on every new authorized connection of `s`. */
function serveBlockJobs(s: ScriptedServer, prefix: string): () => void {
  let seen = 0;
  const t = setInterval(() => {
    const auth = s.methods('mining.authorize');
    for (; seen < auth.length; seen++) {
      const conn = auth[seen]!.conn;
      const id = `${prefix}${seen}`;
      setTimeout(() => {
        s.sendTo(conn, JSON.stringify({ id: null, method: 'mining.set_difficulty', params: [1] }));
        s.sendTo(conn, JSON.stringify(blockJob(id)));
      }, 20);
    }
  }, 20);
  return () => clearInterval(t);
}

const blockSubmits = (s: ScriptedServer, jobId?: string) =>
  s
    .methods('mining.submit')
    .filter(
      (m) =>
        (jobId === undefined || m.params?.[1] === jobId) &&
        m.params?.[2] === '000000' &&
        m.params?.[3] === v.submit.ntime &&
        m.params?.[4] === v.submit.nonce,
    );

test('the first chip job of every (re)start is answered and its share — a real block — submitted exactly once', {
  timeout: 150_000,
}, async () => {
  const primary = await scripted();
  const fallback = await scripted();
  const stopPrimary = serveBlockJobs(primary, 'p');
  const stopFallback = serveBlockJobs(fallback, 'f');
  const board = findBoard('sim-gamma')!;
  const logger = memoryLogger('debug');
  const hardware = await openBoardHardware(board, {
    clock: systemClock,
    logger,
    frequencyMhz: 525,
    thermalModel: { thermalMass: 4, ambientC: 30, initialC: 40 },
  });
  const sim = hardware.sim!;
  sim.chain.setAnswer({ nonces: [{ nonce: Number.parseInt(v.submit.nonce, 16), versionBits: 0 }] });
  const miner = new Miner({
    board,
    hardware,
    pools: [
      { url: primary.url, user: 'jb.primary' },
      { url: fallback.url, user: 'jb.fallback' },
    ],
    deviceId: 'job-boundaries',
    logger,
    thermalTuning: { minCooldownMs: 0 },
    pool: { failuresBeforeSwitch: 1, backoff: { baseMs: 50, maxMs: 200, jitter: 0 } },
  });
  // On a failure, the last log lines say where it stopped.
  const dump = () => {
    for (const l of logger.records.slice(-30)) console.log(`# ${JSON.stringify(l)}`);
  };
  try {
    await miner.start();
    // 1. Startup: the very first job frame is answered at once; the block goes to the pool.
    await waitFor(() => blockSubmits(primary, 'p0').length >= 1, 'the block submitted at startup', 30_000);
    assert.equal(blockSubmits(primary, 'p0').length, 1, 'exactly once');
    await waitFor(() => miner.getState().shares.ledger!.blocksAccepted >= 1, 'the pool accepted it', 10_000);

    // 2. Pause, a new block job arrives meanwhile, resume: its first chip job is answered and submitted.
    await miner.control.pause();
    primary.send(JSON.stringify(blockJob('p-resume')));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(blockSubmits(primary, 'p-resume').length, 0, 'nothing goes to the chips while paused');
    await miner.control.resume();
    await waitFor(() => blockSubmits(primary, 'p-resume').length >= 1, 'the block after resume', 30_000);
    assert.equal(blockSubmits(primary, 'p-resume').length, 1);

    // 3. Failover: the primary dies; the fallback's first job is answered and submitted there.
    stopPrimary();
    await primary.stop();
    await waitFor(() => blockSubmits(fallback).length >= 1, 'the block on the fallback', 60_000);
    assert.equal(blockSubmits(fallback).length, 1);

    // 4. Overheat: the fan dies, hashing stops; a new job arrives while cooling; resume → submitted.
    sim.model.fanFailed = true;
    await waitFor(() => miner.getState().mining === 'overheat', 'the overheat trip', 60_000, 50);
    fallback.send(JSON.stringify(blockJob('f-overheat')));
    sim.model.fanFailed = false;
    await waitFor(() => miner.getState().mining === 'running', 'resume after cooling', 90_000, 100);
    await waitFor(() => blockSubmits(fallback, 'f-overheat').length >= 1, 'the block after overheat', 30_000);
    assert.equal(blockSubmits(fallback, 'f-overheat').length, 1);

    // The books: every share in exactly one state; the submitted shares are the four blocks.
    await waitFor(() => miner.getState().shares.ledger!.pending === 0, 'all answers in', 10_000);
    const s = miner.getState();
    assert.deepEqual(checkLedger(s.shares.ledger!), []);
    for (const p of s.pools) assert.deepEqual(checkLedger(p.ledger!), [], `pool ${p.index}`);
    assert.equal(s.shares.ledger!.blockCandidates, 4, JSON.stringify(s.shares.ledger));
    assert.equal(s.shares.ledger!.blocksAccepted, 4);
    assert.equal(s.pools[0]!.ledger!.blocksAccepted, 2);
    assert.equal(s.pools[1]!.ledger!.blocksAccepted, 2);
    assert.ok(
      logger.records.some((l) => l.event === 'block.found' && l.hash === v.expected.block_hash),
      'the block hash is the public block',
    );
    assert.equal(sim.chain.stats.answered > 0, true);
  } catch (err) {
    dump();
    throw err;
  } finally {
    stopFallback();
    stopPrimary();
    await miner.stop();
  }
});

test('a new block sent with clean_jobs=false reaches the chips at once (no interval tick needed); older slots are invalidated', {
  timeout: 60_000,
}, async () => {
  const server = await scripted();
  const stop = serveBlockJobs(server, 'a');
  const board = findBoard('sim-gamma')!;
  const logger = memoryLogger('info');
  const hardware = await openBoardHardware(board, {
    clock: systemClock,
    logger,
    frequencyMhz: 525,
    maxHashesPerSecond: 50_000,
  });
  const sim = hardware.sim!;
  const miner = new Miner({
    board,
    hardware,
    pools: [{ url: server.url, user: 'jb.clean' }],
    deviceId: 'job-clean',
    logger,
    // No interval tick within the test: a chip job can only come from the clean flag.
    jobIntervalMs: 600_000,
  });
  try {
    await miner.start();
    await waitFor(() => miner.schedulers[0]!.counters.jobsSent === 1, 'the first chip job', 30_000);
    const framesBefore = sim.chain.stats.jobs;
    const oldChipJobId = sim.chain.chips[0]!.job!.id;
    const s = miner.schedulers[0]!;
    const newBlock = blockJob('b-new-block');
    newBlock.params[1] = `${'11'.repeat(28)}00000000`; // another prevhash
    newBlock.params[8] = false; // the pool did not say clean
    server.send(JSON.stringify(newBlock));
    await waitFor(() => s.currentJobId === 'b-new-block', 'the new job', 10_000);
    await waitFor(() => s.counters.jobsSent === 2, 'the new block sent to the chips at once', 10_000);
    assert.equal(sim.chain.stats.jobs, framesBefore + 1, 'one job frame: the new block');
    // A late nonce for the old block's chip job finds its slot invalidated (counted, never submitted).
    assert.notEqual(sim.chain.chips[0]!.job!.id, oldChipJobId);
    assert.equal(
      s.handleNonce({ jobId: oldChipJobId, subId: 0, nonce: 1, versionBits: 0, chipIndex: 0 }),
      undefined,
    );
    assert.equal(s.unmatched.invalidated, 1, JSON.stringify(s.unmatched));
    assert.ok(miner.getState().shares.unmatchedNonces!.invalidated! >= 1);
  } finally {
    stop();
    await miner.stop();
  }
});
