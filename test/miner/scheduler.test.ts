/**
 * Scheduler unit tests with a recording chain (a stand-in for one piece; the end-to-end tests use the
 * real driver and emulator). Nonces are found with node:crypto over a header built independently from
 * the job input, so a byte-order slip in the scheduler or engine cannot cancel out.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import type { JobInput } from '../../drivers/bm13xx/codec.ts';
import { MODELS, type ModelInfo } from '../../drivers/bm13xx/models.ts';
import {
  type ChainPort,
  ChainScheduler,
  jobIntervalMs,
  type PoolJob,
  type ShareCandidate,
} from '../../host/miner/scheduler.ts';
import { ManualClock } from '../../lib/clock.ts';
import { memoryLogger } from '../../lib/log.ts';

class RecordingChain implements ChainPort {
  readonly jobs: Array<Omit<JobInput, 'jobId'> & { chipJobId: number }> = [];
  private id = 0;
  readonly model: ModelInfo;
  readonly chipCount: number;
  constructor(model = MODELS.BM1370, chipCount = 1) {
    this.model = model;
    this.chipCount = chipCount;
  }
  async sendJob(job: Omit<JobInput, 'jobId'>): Promise<number> {
    this.id = (this.id + this.model.jobIdStep) % 128;
    this.jobs.push({ ...job, chipJobId: this.id });
    return this.id;
  }
}

function notify(id: string, clean: boolean, prev = '11'.repeat(32)): PoolJob['notify'] {
  return {
    jobId: id,
    prevhash: prev,
    coinb1: '01000000',
    coinb2: '00000000',
    merkleBranch: ['22'.repeat(32)],
    version: '20000000',
    nbits: '1d00ffff',
    ntime: '65000000',
    cleanJobs: clean,
  };
}
const job = (id: string, clean: boolean, token: unknown = 'pool0', difficulty = 2 ** -23): PoolJob => ({
  notify: notify(id, clean),
  extranonce1: 'abcd0123',
  extranonce2Size: 4,
  difficulty,
  versionMask: 0x1fffe000,
  poolToken: token,
  clean,
});

/** Independent header from the chip job input: version LE ‖ prevHash ‖ merkleRoot ‖ ntime LE ‖ nbits LE ‖ nonce LE. */
function header(j: Omit<JobInput, 'jobId'>, version: number, nonce: number): Buffer {
  const h = Buffer.alloc(80);
  h.writeUInt32LE(version, 0);
  Buffer.from(j.prevHash).copy(h, 4);
  Buffer.from(j.merkleRoot).copy(h, 36);
  h.writeUInt32LE(j.ntime, 68);
  h.writeUInt32LE(j.nbits, 72);
  h.writeUInt32LE(nonce, 76);
  return h;
}
const dsha = (b: Buffer) => createHash('sha256').update(createHash('sha256').update(b).digest()).digest();
/** First nonce whose hash has `bits` leading zero bits (as a little-endian number: top bytes of the digest's end). */
function findNonce(j: Omit<JobInput, 'jobId'>, version: number, bits: number, from = 0): number {
  for (let n = from; ; n++) {
    const d = dsha(header(j, version, n));
    const top = d.readUInt32LE(28);
    if (top >>> (32 - bits) === 0) return n;
  }
}

function setup(model = MODELS.BM1370, chips = 1) {
  const clock = new ManualClock();
  const chain = new RecordingChain(model, chips);
  const shares: ShareCandidate[] = [];
  const logger = memoryLogger();
  const s = new ChainScheduler({
    chain,
    clock,
    logger,
    intervalMs: 500,
    ticketDifficulty: 2 ** -28,
    submit: (x) => shares.push(x),
  });
  return { clock, chain, shares, s, logger };
}

describe('ChainScheduler', () => {
  it('sends work at once on a clean job, then a fresh extranonce2 every interval (starting at 0)', async () => {
    const { clock, chain, s } = setup();
    s.setJob(job('a', true));
    await clock.advanceAsync(0);
    await clock.advanceAsync(1000);
    assert.equal(chain.jobs.length, 3);
    const roots = new Set(chain.jobs.map((j) => Buffer.from(j.merkleRoot).toString('hex')));
    assert.equal(roots.size, 3, 'each chip job has its own merkle root');
    s.setJob(job('b', true));
    await clock.advanceAsync(0);
    assert.equal(chain.jobs.length, 4);
    // extranonce2 restarted at 0 for job b: same coinbase layout as job a's first work → same root.
    assert.deepEqual(chain.jobs[3]!.merkleRoot, chain.jobs[0]!.merkleRoot);
    s.stop();
    assert.equal(clock.pending(), 0);
  });

  it('resuming the same job after an idle continues extranonce2 (no repeated work, no duplicates)', async () => {
    const { clock, chain, s } = setup();
    s.setJob(job('a', true));
    await clock.advanceAsync(0);
    await clock.advanceAsync(500);
    s.idle();
    s.setJob(job('a', true));
    await clock.advanceAsync(0);
    const roots = chain.jobs.map((j) => Buffer.from(j.merkleRoot).toString('hex'));
    assert.equal(roots.length, 3);
    assert.equal(new Set(roots).size, 3, 'the resumed work uses a fresh extranonce2');
    s.stop();
  });

  it('chains working one job take disjoint extranonce2 lanes (never the same header)', async () => {
    const clock = new ManualClock();
    const chains = [new RecordingChain(), new RecordingChain(), new RecordingChain()];
    const schedulers = chains.map(
      (chain, index) =>
        new ChainScheduler({
          chain,
          clock,
          logger: memoryLogger(),
          intervalMs: 500,
          ticketDifficulty: 2 ** -28,
          extranonce2Lane: { index, count: chains.length },
          submit: () => {},
        }),
    );
    for (const s of schedulers) s.setJob(job('a', true));
    await clock.advanceAsync(0);
    await clock.advanceAsync(2000);
    const roots = chains.flatMap((c) => c.jobs.map((j) => Buffer.from(j.merkleRoot).toString('hex')));
    assert.equal(roots.length, 15);
    assert.equal(new Set(roots).size, 15, 'every chip job of every chain has its own merkle root');
    for (const s of schedulers) s.stop();
  });

  it('a non-clean job takes effect at the next interval, not at once', async () => {
    const { clock, chain, s } = setup();
    s.setJob(job('a', true));
    await clock.advanceAsync(0);
    s.setJob({ ...job('b', false), notify: { ...notify('b', false), ntime: '65000001' } });
    await clock.advanceAsync(0);
    assert.equal(chain.jobs.length, 1);
    await clock.advanceAsync(500);
    assert.equal(chain.jobs.length, 2);
    assert.equal(chain.jobs[1]!.ntime, 0x65000001);
    s.stop();
  });

  it('checks a returned nonce on the host and submits the share with the issuing pool token', async () => {
    const { clock, chain, shares, s } = setup();
    s.setJob(job('a', true, 'conn-1'));
    await clock.advanceAsync(0);
    const j = chain.jobs[0]!;
    const bits = 0x0005 << 13;
    const version = (0x20000000 | bits) >>> 0;
    const nonce = findNonce(j, version, 10);
    const check = s.handleNonce({ jobId: j.chipJobId, subId: 3, nonce, versionBits: bits, chipIndex: 0 });
    assert.equal(check?.kind, 'share');
    assert.equal(shares.length, 1);
    assert.equal(shares[0]!.poolToken, 'conn-1');
    assert.equal(shares[0]!.check.versionBits, bits);
    assert.deepEqual(shares[0]!.check.submitParams(true).slice(0, 2), ['a', '00000000']);
    assert.equal(s.chips[0]!.nonces, 1);
    s.stop();
  });

  it('counts a garbage nonce as a hardware error of its chip and submits nothing', async () => {
    const { clock, chain, shares, s } = setup(MODELS.BM1370, 4);
    s.setJob(job('a', true));
    await clock.advanceAsync(0);
    const j = chain.jobs[0]!;
    // A nonce whose hash misses even the ticket (checked independently).
    let n = 1;
    while (dsha(header(j, 0x20000000, n)).readUInt32LE(28) >>> 28 === 0) n++;
    const check = s.handleNonce({ jobId: j.chipJobId, subId: 0, nonce: n, versionBits: 0, chipIndex: 2 });
    assert.equal(check?.kind, 'hw-error');
    assert.equal(s.chips[2]!.hardwareErrors, 1);
    assert.equal(shares.length, 0);
    s.stop();
  });

  it('drops nonces for slots older than a clean_jobs notify (they would be stale)', async () => {
    const { clock, chain, shares, s } = setup();
    s.setJob(job('a', true));
    await clock.advanceAsync(0);
    const old = chain.jobs[0]!;
    const nonce = findNonce(old, 0x20000000, 10);
    s.setJob({ ...job('b', true), notify: notify('b', true, '33'.repeat(32)) });
    await clock.advanceAsync(0);
    assert.equal(
      s.handleNonce({ jobId: old.chipJobId, subId: 0, nonce, versionBits: 0, chipIndex: 0 })?.kind ===
        'share',
      chain.jobs[1]!.chipJobId === old.chipJobId && false,
    );
    assert.equal(shares.length, 0);
    assert.ok(s.counters.unknownSlot + s.counters.hardwareErrors >= 1);
    s.stop();
  });

  it('BM1397: the version comes from the midstate index of the reply', async () => {
    const { clock, chain, shares, s } = setup(MODELS.BM1397);
    s.setJob(job('m', true));
    await clock.advanceAsync(0);
    const j = chain.jobs[0]!;
    assert.equal(j.midstates?.length, 4);
    const version = (0x20000000 | 0x6000) >>> 0; // third rolled version: +3 under 1fffe000
    const nonce = findNonce(j, version, 10);
    const check = s.handleNonce({ jobId: j.chipJobId, subId: 3, nonce, chipIndex: 0 });
    assert.equal(check?.kind, 'share');
    assert.equal(check?.version, version);
    assert.equal(shares.length, 1);
    assert.equal(
      s.handleNonce({ jobId: j.chipJobId, subId: 2, nonce, chipIndex: 0 })?.kind === 'share',
      false,
    );
    s.stop();
  });

  it('a malformed job is counted and logged once; the previous work continues', async () => {
    const { clock, chain, s, logger } = setup();
    s.setJob(job('a', true));
    await clock.advanceAsync(0);
    s.setJob({ ...job('bad', true), notify: { ...notify('bad', true), merkleBranch: ['zz'] } });
    await clock.advanceAsync(500);
    assert.equal(s.counters.badJobs, 1);
    assert.equal(chain.jobs.length, 2);
    assert.equal(logger.records.filter((r) => r.event === 'job.rejected').length, 1);
    assert.match(String(logger.records.find((r) => r.event === 'job.rejected')?.error), /merkle_branch\[0\]/);
    s.stop();
  });

  it('job interval follows ESP-Miner: BM1370 500 ms, 2 chips 250, Hex (6 × BM1366) 250, BM1397 ≈ 39.5 ms at 425 MHz', () => {
    assert.equal(jobIntervalMs(MODELS.BM1370, 1, 525), 500);
    assert.equal(jobIntervalMs(MODELS.BM1370, 2, 525), 250);
    assert.equal(jobIntervalMs(MODELS.BM1366, 6, 485), 250);
    assert.ok(Math.abs(jobIntervalMs(MODELS.BM1397, 1, 425) - 39.48) < 0.05);
  });
});
