/** Property tests: the word-based midstate path equals a plain double SHA-256, version rolling stays inside the mask. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  buildTemplate,
  checkNonce,
  DIFF1_TARGET,
  depositBits,
  difficultyToTarget,
  digestToDisplayHex,
  enumerateVersions,
  extractBits,
  HeaderHasher,
  hashToDifficulty,
  makeWork,
  rollVersion,
  versionBits,
  writeHeader,
} from '../../host/work/index.ts';

const dsha = (b: Uint8Array) => createHash('sha256').update(createHash('sha256').update(b).digest()).digest();
const displayHex = (digest: Buffer) => Buffer.from(digest).reverse().toString('hex');

describe('properties', () => {
  it('HeaderHasher (midstate + 2 compressions) equals node:crypto double SHA-256 for random headers', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 80, maxLength: 80 }),
        fc.integer({ min: 0, max: 0xffffffff }),
        (header, nonce) => {
          const h = new HeaderHasher(header);
          const full = Uint8Array.from(header);
          new DataView(full.buffer).setUint32(76, nonce, true);
          assert.equal(digestToDisplayHex(h.hash(nonce)), displayHex(dsha(full)));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('the rolled version never changes bits outside the mask, and version_bits fold back', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: 0, max: 0xffffffff }),
        (job, mask, bits) => {
          const rolled = rollVersion(job, mask, bits);
          assert.equal((rolled ^ job) & ~mask, 0);
          const vb = versionBits(rolled, mask);
          assert.equal(vb & ~mask, 0);
          assert.equal(rollVersion(job, mask, vb), rolled);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('enumerated versions are distinct and inside the mask (wrapping, never carrying out)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: 1, max: 0xffffffff }),
        fc.integer({ min: 1, max: 8 }),
        (job, mask, n) => {
          const width = extractBits(mask, mask).toString(2).length;
          fc.pre(2 ** width >= n);
          const vs = enumerateVersions(job, mask, n);
          assert.equal(new Set(vs).size, n);
          for (const v of vs) assert.equal((v ^ job) & ~mask, 0);
          assert.equal(vs[0], job >>> 0);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('depositBits and extractBits are inverse under the mask', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: 0, max: 0xffffffff }),
        (v, mask) => {
          assert.equal(depositBits(extractBits(v, mask), mask), (v & mask) >>> 0);
        },
      ),
    );
  });

  it('difficultyToTarget is exact for dyadic difficulties a / 2^k (fractional and large)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: (1n << 52n) - 1n }), fc.integer({ min: 0, max: 80 }), (a, k) => {
        const d = Number(a) / 2 ** k; // exact: a < 2^53
        const expected = (DIFF1_TARGET << BigInt(k)) / a;
        const max = (1n << 256n) - 1n;
        assert.equal(difficultyToTarget(d), expected > max ? max : expected);
      }),
      { numRuns: 2000 },
    );
  });

  it('checkNonce classification agrees with an independent BigInt comparison', () => {
    const tpl = buildTemplate(
      {
        jobId: 'p',
        prevhash: 'ab'.repeat(32),
        coinb1: '0100',
        coinb2: 'ff00',
        merkleBranch: ['11'.repeat(32)],
        version: '20000000',
        nbits: '1d00ffff',
        ntime: '65000000',
        cleanJobs: false,
      },
      { extranonce1: '01020304', extranonce2Size: 4 },
      { difficulty: 0.0001, versionMask: 0x1fffe000 },
    );
    const work = makeWork(tpl, 7);
    const pool = difficultyToTarget(0.0001);
    const ticket = difficultyToTarget(1e-6);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: 0, max: 0xffff }),
        (nonce, bits) => {
          const version = rollVersion(tpl.version, tpl.versionMask, bits << 13);
          const r = checkNonce(work, nonce, { version, ticketDifficulty: 1e-6 });
          const header = writeHeader(tpl, version, work.merkleRoot, tpl.ntime);
          new DataView(header.buffer).setUint32(76, nonce, true);
          const h = BigInt(`0x${displayHex(dsha(header))}`);
          const expected =
            h <= DIFF1_TARGET ? 'block' : h <= pool ? 'share' : h <= ticket ? 'low' : 'hw-error';
          assert.equal(r.kind, expected);
          assert.equal(r.hashHex, displayHex(dsha(header)));
          assert.ok(Math.abs(r.difficulty - Number(DIFF1_TARGET) / Number(h)) <= 1e-9 * r.difficulty);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('hashToDifficulty of an all-zero digest is Infinity', () => {
    assert.equal(hashToDifficulty(new Uint32Array(8)), Number.POSITIVE_INFINITY);
  });
});
