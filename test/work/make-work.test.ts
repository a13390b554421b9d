/**
 * makeWork against an independent computation with node:crypto and Buffer concatenation: the coinbase
 * (prefix ‖ extranonce2 little-endian ‖ suffix) hashed with createHash, the merkle fold, the header and
 * every rolled version's midstate — for random coinbase lengths (the word-based hash's one- and
 * two-block padding edges: 55, 56, 63, 64 … bytes), branch counts, extranonce2 sizes and values
 * (numbers, bigints ≥ 2^53, hex strings), and work made one after another from templates of different
 * coinbase lengths (the coinbase is assembled in a reused buffer).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { buildTemplate, makeWork, sha256dInto } from '../../host/work/index.ts';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest();
const dsha = (b: Uint8Array) => sha(sha(b));

function en2Bytes(v: bigint, size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) {
    b[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return b;
}

describe('makeWork (allocation-light path) equals an independent computation', () => {
  it('sha256dInto equals node:crypto for every length 0..300', () => {
    const out = new Uint8Array(40);
    for (let len = 0; len <= 300; len++) {
      const data = Uint8Array.from({ length: len }, (_, i) => (i * 131 + len) & 0xff);
      sha256dInto(data, out, 5);
      assert.deepEqual(Buffer.from(out.subarray(5, 37)), dsha(data), `length ${len}`);
    }
  });

  it('coinbase, merkle root, header and rolled-version midstates', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 150 }),
        fc.uint8Array({ minLength: 0, maxLength: 150 }),
        fc.array(fc.uint8Array({ minLength: 32, maxLength: 32 }), { maxLength: 14 }),
        fc.integer({ min: 2, max: 16 }),
        fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }),
        fc.constantFrom('number', 'bigint', 'string'),
        fc.constantFrom(1, 4),
        (cb1, cb2, branches, size, raw, form, versions) => {
          const en2 = raw % (1n << BigInt(8 * size));
          const tpl = buildTemplate(
            {
              jobId: 'w',
              prevhash: 'cd'.repeat(32),
              coinb1: Buffer.from(cb1).toString('hex'),
              coinb2: Buffer.from(cb2).toString('hex'),
              merkleBranch: branches.map((b) => Buffer.from(b).toString('hex')),
              version: '20000000',
              nbits: '1d00ffff',
              ntime: '65000000',
              cleanJobs: false,
            },
            { extranonce1: 'a1b2c3d4', extranonce2Size: size },
            { versionMask: 0x1fffe000 },
          );
          const en2Le = en2Bytes(en2, size);
          const arg =
            form === 'string'
              ? en2Le.toString('hex')
              : form === 'number' && en2 <= BigInt(Number.MAX_SAFE_INTEGER)
                ? Number(en2)
                : en2;
          const w = makeWork(tpl, arg, { versions });
          assert.equal(w.extranonce2, en2);
          assert.equal(w.extranonce2Hex, en2Le.toString('hex'));
          let root = dsha(Buffer.concat([cb1, Buffer.from('a1b2c3d4', 'hex'), en2Le, cb2]));
          for (const b of branches) root = dsha(Buffer.concat([root, b]));
          assert.deepEqual(Buffer.from(w.merkleRoot), root);
          assert.deepEqual(Buffer.from(w.header.subarray(36, 68)), root);
          // Each midstate hashes (with the header's tail) to the header of its version.
          for (let k = 0; k < w.versions.length; k++) {
            const h = Buffer.from(w.header);
            h.writeUInt32LE(w.versions[k]!, 0);
            // node:crypto exports no midstate: finish SHA-256 from it by hand and compare with createHash.
            assert.deepEqual(
              Buffer.from(sha256From(w.midstates[k]!, h.subarray(64, 80))),
              sha(h),
              `version ${k}`,
            );
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});

/** SHA-256 finished from a midstate over the 16-byte tail (the independent side: BigInt-free plain JS). */
function sha256From(mid: Uint32Array, tail: Uint8Array): Uint8Array {
  const K = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
  ];
  const block = Buffer.alloc(64);
  block.set(tail);
  block[16] = 0x80;
  block.writeUInt32BE(640, 60);
  const w: number[] = [];
  for (let i = 0; i < 16; i++) w.push(block.readUInt32BE(i * 4));
  const r = (x: number, n: number) => ((x >>> n) | (x << (32 - n))) >>> 0;
  for (let i = 16; i < 64; i++) {
    const s0 = r(w[i - 15]!, 7) ^ r(w[i - 15]!, 18) ^ (w[i - 15]! >>> 3);
    const s1 = r(w[i - 2]!, 17) ^ r(w[i - 2]!, 19) ^ (w[i - 2]! >>> 10);
    w.push((w[i - 16]! + s0 + w[i - 7]! + s1) >>> 0);
  }
  let [a, b, c, d, e, f, g, h] = Array.from(mid) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  for (let i = 0; i < 64; i++) {
    const t1 = (h + (r(e, 6) ^ r(e, 11) ^ r(e, 25)) + ((e & f) ^ (~e & g)) + K[i]! + w[i]!) >>> 0;
    const t2 = ((r(a, 2) ^ r(a, 13) ^ r(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) >>> 0;
    [h, g, f, e, d, c, b, a] = [g, f, e, (d + t1) >>> 0, c, b, a, (t1 + t2) >>> 0];
  }
  const out = Buffer.alloc(32);
  for (const [i, v] of [a, b, c, d, e, f, g, h].entries()) out.writeUInt32BE((mid[i]! + v) >>> 0, i * 4);
  return out;
}
