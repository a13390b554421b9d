/** Header-only jobs (SV2 standard channels) in the work engine: fixed root, ntime per work, limits. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  buildTemplate,
  checkNonce,
  HeaderOnlyExhaustedError,
  makeWork,
  WorkError,
} from '../../host/work/index.ts';
import { HEADER_ONLY_NTIME_ROLL_MAX } from '../../host/work/template.ts';

const ROOT = 'a1'.repeat(32);
const job = (o: Record<string, unknown> = {}) => ({
  jobId: '7',
  prevhash: `${'00'.repeat(28)}11223344`,
  coinb1: '',
  coinb2: '',
  merkleBranch: [] as string[],
  version: '20000000',
  nbits: '207fffff',
  ntime: '65000000',
  cleanJobs: true,
  merkleRoot: ROOT,
  ...o,
});
const dsha = (b: Buffer) => createHash('sha256').update(createHash('sha256').update(b).digest()).digest();

describe('header-only work', () => {
  it('the header carries the pool root; work k has ntime + k; the hash is the plain header hash', () => {
    const t = buildTemplate(job(), { extranonce1: '', extranonce2Size: 0 }, { difficulty: 1e-9 });
    for (const k of [0, 1, 5]) {
      const w = makeWork(t, k);
      assert.equal(Buffer.from(w.merkleRoot).toString('hex'), ROOT);
      assert.equal(w.ntime, 0x65000000 + k);
      assert.equal(Buffer.from(w.header).readUInt32LE(68), 0x65000000 + k);
      // Independent hash: node:crypto over the 80 bytes with a nonce.
      const h = Buffer.from(w.header);
      h.writeUInt32LE(42, 76);
      const c = checkNonce(w, 42, { ticketDifficulty: 1e-12 });
      assert.equal(c.hashHex, Buffer.from(dsha(h)).reverse().toString('hex'));
      assert.equal(c.ntime, 0x65000000 + k, 'the share carries the work ntime');
    }
  });

  it('refuses a coinbase or branches beside a fixed root, a malformed root, and rolls at most the limit', () => {
    const s = { extranonce1: '', extranonce2Size: 0 };
    assert.throws(() => buildTemplate(job({ coinb1: '01' }), s), WorkError);
    assert.throws(
      () => buildTemplate(job({ merkleBranch: ['00'.repeat(32)] }), s),
      /no coinbase or merkle branches/,
    );
    assert.throws(() => buildTemplate(job({ merkleRoot: 'zz' }), s), /merkle_root/);
    const t = buildTemplate(job(), s);
    makeWork(t, HEADER_ONLY_NTIME_ROLL_MAX);
    assert.throws(() => makeWork(t, HEADER_ONLY_NTIME_ROLL_MAX + 1), HeaderOnlyExhaustedError);
    // A normal job keeps its ntime on every work.
    const v1 = buildTemplate(job({ merkleRoot: undefined, coinb1: '01', coinb2: '02' }), {
      extranonce1: 'aa',
      extranonce2Size: 4,
    });
    assert.equal(makeWork(v1, 9).ntime, 0x65000000);
  });
});
