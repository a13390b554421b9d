/**
 * Work engine figures: header checks per second on one core (midstate path) against node:crypto's
 * createHash double SHA-256 of the same 80-byte headers, the full checkNonce path, and job-template
 * build time for a 13-branch notify (p50 / p99).
 */
import { createHash, randomBytes } from 'node:crypto';
import { buildTemplate, checkNonce, HeaderHasher, makeWork, type NotifyJob } from '../host/work/index.ts';
import { type BenchSuite, percentile, rate } from './harness.ts';

const notify13: NotifyJob = {
  jobId: 'bench',
  prevhash: randomBytes(32).toString('hex'),
  coinb1: randomBytes(60).toString('hex'),
  coinb2: randomBytes(180).toString('hex'),
  merkleBranch: Array.from({ length: 13 }, () => randomBytes(32).toString('hex')),
  version: '20000000',
  nbits: '17034219',
  ntime: '6740e3a1',
  cleanJobs: true,
};
const session = { extranonce1: 'a1b2c3d4', extranonce2Size: 8 };

const suite: BenchSuite = {
  name: 'work',
  async run(ctx) {
    const ms = 1500 * ctx.scale;
    const header = randomBytes(80);
    const hasher = new HeaderHasher(header);
    let n = 0;
    const midstatePath = rate(() => {
      for (let i = 0; i < 1000; i++) hasher.hash(n++);
      return 1000;
    }, ms);

    const buf = Buffer.from(header);
    let m = 0;
    const nodeCrypto = rate(() => {
      for (let i = 0; i < 1000; i++) {
        buf.writeUInt32LE(m++ >>> 0, 76);
        createHash('sha256').update(createHash('sha256').update(buf).digest()).digest();
      }
      return 1000;
    }, ms);

    const tpl = buildTemplate(notify13, session, { difficulty: 0.001, versionMask: 0x1fffe000 });
    const work = makeWork(tpl, 1);
    let k = 0;
    const full = rate(() => {
      for (let i = 0; i < 1000; i++) checkNonce(work, k++, { version: 0x20000000 | ((k & 0xffff) << 13) });
      return 1000;
    }, ms);
    let j = 0;
    const fullSameVersion = rate(() => {
      for (let i = 0; i < 1000; i++) checkNonce(work, j++);
      return 1000;
    }, ms);

    const samples: number[] = [];
    for (let i = 0; i < 2000 * ctx.scale + 200; i++) {
      const t0 = performance.now();
      const t = buildTemplate(notify13, session, { difficulty: 0.001, versionMask: 0x1fffe000 });
      makeWork(t, i);
      samples.push((performance.now() - t0) * 1000);
    }
    samples.splice(0, 200); // warm-up
    samples.sort((a, b) => a - b);
    const workSamples: number[] = [];
    for (let i = 0; i < 2000 * ctx.scale + 200; i++) {
      const t0 = performance.now();
      makeWork(tpl, i, { versions: 4 });
      workSamples.push((performance.now() - t0) * 1000);
    }
    workSamples.splice(0, 200);
    workSamples.sort((a, b) => a - b);

    return [
      {
        suite: 'work',
        name: 'header checks/s, one core, midstate path',
        value: midstatePath,
        unit: '/s',
        baseline: { name: 'node:crypto createHash ×2', value: nodeCrypto },
        ratio: midstatePath / nodeCrypto,
        better: 'higher',
        target: { op: '>=', value: 1.2e6 },
      },
      {
        suite: 'work',
        name: 'checkNonce/s (classify, rolled version each call)',
        value: full,
        unit: '/s',
        baseline: { name: 'node:crypto createHash ×2', value: nodeCrypto },
        ratio: full / nodeCrypto,
        better: 'higher',
      },
      {
        suite: 'work',
        name: 'checkNonce/s (classify, job version)',
        value: fullSameVersion,
        unit: '/s',
        baseline: { name: 'node:crypto createHash ×2', value: nodeCrypto },
        ratio: fullSameVersion / nodeCrypto,
        better: 'higher',
      },
      {
        suite: 'work',
        name: 'template build + first work, 13 branches, p50',
        value: percentile(samples, 50),
        unit: 'µs',
        better: 'lower',
      },
      {
        suite: 'work',
        name: 'template build + first work, 13 branches, p99',
        value: percentile(samples, 99),
        unit: 'µs',
        better: 'lower',
        target: { op: '<=', value: 100 },
      },
      {
        suite: 'work',
        name: 'next work (new extranonce2, 4 midstates), p99',
        value: percentile(workSamples, 99),
        unit: 'µs',
        better: 'lower',
      },
    ];
  },
};
export default suite;
