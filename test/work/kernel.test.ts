/**
 * The header kernels (host/work/kernel/) against node:crypto's double SHA-256: random headers in every
 * lane of the SIMD code, every nonce-range tail (counts that are not a multiple of 4, ranges that wrap
 * past 2³²−1, more hits than the buffer), the public block headers of test/fixtures/vectors, the
 * fallback choice, and the committed sha256d.wasm against a fresh build from its generator.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { HeaderHasher, hexToBytes, midstate } from '../../host/work/index.ts';
import { buildKernel } from '../../host/work/kernel/build.ts';
import {
  chooseKernel,
  type HeaderKernel,
  instantiateKernel,
  jsKernel,
  WASM_URL,
  wasmKernel,
} from '../../host/work/kernel/index.ts';
import { LAYOUT } from '../../host/work/kernel/sha256d-wat.ts';
import { vector } from '../helpers/vectors.ts';

const dsha = (b: Uint8Array) => createHash('sha256').update(createHash('sha256').update(b).digest()).digest();

/** The digest as 8 big-endian words (the kernels' output form). */
function words(d: Buffer): number[] {
  return Array.from({ length: 8 }, (_, i) => d.readUInt32BE(i * 4));
}

function parts(h: Uint8Array) {
  const b = Buffer.from(h);
  return {
    mid: midstate(h),
    t0: b.readUInt32BE(64),
    t1: b.readUInt32BE(68),
    t2: b.readUInt32BE(72),
    nonce: b.readUInt32LE(76),
  };
}

/** Nonces in [start, start+count) whose node:crypto hash has top 32 bits ≤ limit. */
function refScan(h: Uint8Array, start: number, count: number, limit: number): number[] {
  const b = Buffer.from(h);
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const n = (start + i) >>> 0;
    b.writeUInt32LE(n, 76);
    if (dsha(b).readUInt32LE(28) <= limit) out.push(n);
  }
  return out;
}

const header = fc.uint8Array({ minLength: 80, maxLength: 80 });
const wasm = wasmKernel();
const kernels: HeaderKernel[] = [jsKernel, wasm];

describe('header kernel', () => {
  it('the committed sha256d.wasm is the build of its generator (wabt)', async () => {
    const built = await buildKernel();
    const committed = readFileSync(WASM_URL);
    assert.equal(built.length, committed.length);
    assert.ok(Buffer.from(built).equals(committed), 'sha256d.wasm differs from `npm run build:kernel`');
  });

  it('runs as WebAssembly SIMD here and reports it', () => {
    const k = chooseKernel({});
    assert.equal(k.name, 'wasm-simd');
    assert.equal(new HeaderHasher().hash(0).length, 8);
  });

  it('falls back to JavaScript when asked or when the module cannot load, and says why', () => {
    const asked = chooseKernel({ ASICD_KERNEL: 'js' });
    assert.equal(asked.name, 'js');
    assert.match(asked.reason, /ASICD_KERNEL=js/);
    const broken = chooseKernel({}, () =>
      instantiateKernel(new Uint8Array([0, 0x61, 0x73, 0x6d, 9, 9, 9, 9])),
    );
    assert.equal(broken.name, 'js');
    assert.match(broken.reason, /not supported/);
  });

  it('hash4: four random headers, each lane its own midstate, tail and nonce, equals node:crypto', () => {
    const ex = instantiateKernel();
    const m = new Uint32Array(ex.memory.buffer);
    fc.assert(
      fc.property(fc.array(header, { minLength: 4, maxLength: 4 }), (hs) => {
        hs.forEach((h, lane) => {
          const p = parts(h);
          for (let i = 0; i < 8; i++) m[(LAYOUT.IN4 >> 2) + 4 * i + lane] = p.mid[i]!;
          m[(LAYOUT.IN4 >> 2) + 32 + lane] = p.t0;
          m[(LAYOUT.IN4 >> 2) + 36 + lane] = p.t1;
          m[(LAYOUT.IN4 >> 2) + 40 + lane] = p.t2;
          m[(LAYOUT.IN4 >> 2) + 44 + lane] = p.nonce;
        });
        ex.hash4();
        hs.forEach((h, lane) => {
          const got = Array.from({ length: 8 }, (_, i) => m[(LAYOUT.OUT4 >> 2) + 4 * i + lane]!);
          assert.deepEqual(got, words(dsha(h)), `lane ${lane}`);
        });
      }),
      { numRuns: 300 },
    );
  });

  for (const k of kernels) {
    it(`${k.name} hash1 equals node:crypto on random headers`, () => {
      const out = new Uint32Array(8);
      fc.assert(
        fc.property(header, (h) => {
          const p = parts(h);
          k.hash1(p.mid, p.t0, p.t1, p.t2, p.nonce, out);
          assert.deepEqual(Array.from(out), words(dsha(h)));
        }),
        { numRuns: 500 },
      );
    });

    it(`${k.name} scan finds exactly the nonces node:crypto finds (any start, any count, wrapping)`, () => {
      fc.assert(
        fc.property(
          header,
          fc.oneof(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0xffffff00, max: 0xffffffff })),
          fc.integer({ min: 0, max: 300 }),
          fc.constantFrom(0x0fffffff, 0x1fffffff, 0x3fffffff, 0),
          (h, start, count, limit) => {
            const p = parts(h);
            const hits = new Uint32Array(400);
            const n = k.scan(p.mid, p.t0, p.t1, p.t2, start, count, limit, hits);
            assert.deepEqual(Array.from(hits.subarray(0, n)), refScan(h, start, count, limit));
          },
        ),
        { numRuns: 60 },
      );
    });
  }

  for (const k of kernels) {
    it(`${k.name} merkleFold equals a node:crypto fold (0–70 random branches, past the kernel's MERKLE_MAX)`, () => {
      fc.assert(
        fc.property(
          fc.uint8Array({ minLength: 32, maxLength: 32 }),
          fc.integer({ min: 0, max: 70 }),
          fc.integer(),
          (root, count, seed) => {
            const branches: Buffer[] = Array.from({ length: count }, (_, i) =>
              createHash('sha256').update(`${seed}:${i}`).digest(),
            );
            // Independent: the raw root bytes, each level sha256d(root ‖ branch) by node:crypto.
            let want = Buffer.from(root);
            for (const br of branches) want = dsha(Buffer.concat([want, br]));
            const got = Uint32Array.from(words(Buffer.from(root)));
            const bw = Uint32Array.from(branches.flatMap((br) => words(br)));
            k.merkleFold(got, bw, count);
            assert.deepEqual(Array.from(got), words(want));
          },
        ),
        { numRuns: 150 },
      );
    });
  }
  it(`merkleFold takes up to MERKLE_MAX (${LAYOUT.MERKLE_MAX}) branches in the module's memory, below the constants`, () => {
    assert.ok(LAYOUT.MERKLE >= LAYOUT.HITS + 4 * LAYOUT.HITS_MAX);
    assert.ok(LAYOUT.MERKLE + 32 * (1 + LAYOUT.MERKLE_MAX) <= LAYOUT.CONSTS);
  });

  it('scan with more hits than the kernel buffer or the caller buffer counts them all', () => {
    const h = new Uint8Array(80).fill(7);
    const p = parts(h);
    const count = LAYOUT.HITS_MAX * 2 + 5;
    const hits = new Uint32Array(10);
    for (const k of kernels) {
      // limit 0xffffffff: every nonce is a hit.
      assert.equal(k.scan(p.mid, p.t0, p.t1, p.t2, 0xfffffffe, count, 0xffffffff, hits), count, k.name);
      assert.deepEqual(Array.from(hits), [0xfffffffe, 0xffffffff, 0, 1, 2, 3, 4, 5, 6, 7], k.name);
    }
    const big = new Uint32Array(count);
    assert.equal(
      wasm.scan(p.mid, p.t0, p.t1, p.t2, 100, count, 0x7fffffff, big),
      refScan(h, 100, count, 0x7fffffff).length,
    );
  });

  for (const id of ['bitcoin-genesis-header', 'bitcoin-block-125552'] as const) {
    it(`public vector ${id}: hash1 gives the block hash and scan finds the block's nonce`, () => {
      const v = vector<{ header: string; expected_hash: string }>('stratum-v1', id);
      const h = hexToBytes('header', v.header, 80);
      const p = parts(h);
      const display = Buffer.from(v.expected_hash, 'hex').reverse();
      for (const k of kernels) {
        const out = new Uint32Array(8);
        k.hash1(p.mid, p.t0, p.t1, p.t2, p.nonce, out);
        assert.deepEqual(Array.from(out), words(display), k.name);
        // Blocks have at least 32 leading zero bits: limit 0 finds the nonce, and only it, nearby.
        const hits = new Uint32Array(8);
        const n = k.scan(p.mid, p.t0, p.t1, p.t2, (p.nonce - 1000) >>> 0, 2001, 0, hits);
        assert.deepEqual(Array.from(hits.subarray(0, n)), [p.nonce], k.name);
      }
    });
  }
});
