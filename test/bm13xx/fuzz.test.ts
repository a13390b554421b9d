import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  type DecodedReply,
  encodeNonceReply,
  encodeRegisterReply,
  ResponseDecoder,
  replyValid,
} from '../../drivers/bm13xx/codec.ts';
import { crc5 } from '../../drivers/bm13xx/crc.ts';
import { CHIP_MODELS, MODELS } from '../../drivers/bm13xx/models.ts';

function collect(model: (typeof MODELS)[keyof typeof MODELS]) {
  const got: Array<{ kind: string; value: number; nonce: number; b7: number; raw: string }> = [];
  const dec = new ResponseDecoder(model, (r: DecodedReply) => {
    got.push({ kind: r.kind, value: r.value, nonce: r.nonce, b7: r.b7, raw: '' });
  });
  return { dec, got };
}

describe('bm13xx reply decoder fuzz', () => {
  for (const name of CHIP_MODELS) {
    const m = MODELS[name];
    const L = m.replyLength;
    const validFrame = fc
      .tuple(fc.boolean(), fc.integer({ min: 0, max: 0xffffffff }), fc.nat(255), fc.nat(255), fc.nat(0xffff))
      .map(([isNonce, v, b6, b7, ver]) =>
        isNonce ? encodeNonceReply(m, v, b6, b7, ver) : encodeRegisterReply(m, v, b6, b7),
      );

    it(`${name}: random bytes never throw and every accepted frame has a good CRC5`, () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 600 }), fc.integer({ min: 1, max: 64 }), (bytes, chunk) => {
          const accepted: string[] = [];
          const dec = new ResponseDecoder(m, (_r, buf, at) => {
            assert.ok(replyValid(buf, at, L), 'accepted frame has a good CRC5 and flags');
            accepted.push(Buffer.from(buf.subarray(at, at + L)).toString('hex'));
          });
          for (let i = 0; i < bytes.length; i += chunk) dec.push(bytes.subarray(i, i + chunk));
          const input = Buffer.from(bytes).toString('hex');
          for (const f of accepted) assert.ok(input.includes(f), 'accepted frame occurs in the input');
          // Every accepted frame must be a valid frame somewhere in the input.
          let valid = 0;
          for (let i = 0; i + L <= bytes.length; i++) if (replyValid(bytes, i, L)) valid++;
          assert.ok(dec.stats.frames <= valid);
          assert.equal(dec.stats.frames, accepted.length);
          assert.equal(dec.stats.frames * L + dec.stats.garbageBytes + dec.buffered, bytes.length);
        }),
        { numRuns: 300, seed: 1397 },
      );
    });

    it(`${name}: valid frames survive surrounding garbage, lost and inserted bytes`, () => {
      fc.assert(
        fc.property(
          fc.array(fc.tuple(fc.uint8Array({ maxLength: 20 }), validFrame), { minLength: 1, maxLength: 12 }),
          fc.integer({ min: 1, max: 32 }),
          (parts, chunk) => {
            const stream: number[] = [];
            for (const [junk, frame] of parts) stream.push(...junk, ...frame);
            const bytes = Uint8Array.from(stream);
            const { dec, got } = collect(m);
            for (let i = 0; i < bytes.length; i += chunk) dec.push(bytes.subarray(i, i + chunk));
            // Every intended frame was decoded, in order (junk may add, at 1/32 CRC odds, extra frames).
            let j = 0;
            for (const [, frame] of parts) {
              const isNonce = (frame[L - 1]! & 0x80) !== 0;
              const b7 = frame[7]!;
              while (j < got.length && !(got[j]!.b7 === b7 && (got[j]!.kind === 'nonce') === isNonce)) j++;
              assert.ok(j < got.length, 'frame after garbage was decoded');
              j++;
            }
          },
        ),
        { numRuns: 300, seed: 1366 },
      );
    });

    it(`${name}: corrupted frames are rejected and counted, neighbours still decode`, () => {
      fc.assert(
        fc.property(
          validFrame,
          validFrame,
          validFrame,
          fc.integer({ min: 2, max: L - 1 }),
          fc.integer({ min: 0, max: 7 }),
          (a, bad, c, at, bit) => {
            const corrupt = bad.slice();
            corrupt[at]! ^= 1 << bit;
            fc.pre(crc5(corrupt, 2, L) !== 0 || (corrupt[L - 1]! & 0x60) !== 0);
            const { dec, got } = collect(m);
            dec.push(Uint8Array.from([...a, ...corrupt, ...c]));
            assert.equal(got.length, 2);
            assert.equal(got[0]!.b7, a[7]);
            assert.equal(got[1]!.b7, c[7]);
            assert.ok(dec.stats.crcErrors >= 1);
            // A lost byte inside a frame: that frame is dropped, the next one decodes.
            const lost = Uint8Array.from([...a.subarray(0, at), ...a.subarray(at + 1), ...c]);
            const x = collect(m);
            x.dec.push(lost);
            assert.equal(x.got.at(-1)!.b7, c[7]);
          },
        ),
        { numRuns: 300, seed: 1370 },
      );
    });
  }

  it('a single-bit error is always detected (CRC5 covers every bit after the preamble)', () => {
    const m = MODELS.BM1370;
    for (let v = 0; v < 64; v++) {
      const f = encodeNonceReply(m, v * 0x01010101, v, v * 3, v * 7);
      for (let i = 2; i < f.length; i++)
        for (let b = 0; b < 8; b++) {
          const c = f.slice();
          c[i]! ^= 1 << b;
          assert.equal(replyValid(c, 0, f.length), false);
        }
    }
  });

  it('a consumer that throws does not break framing', () => {
    const m = MODELS.BM1368;
    let n = 0;
    const dec = new ResponseDecoder(m, () => {
      n++;
      throw new Error('consumer bug');
    });
    dec.push(Uint8Array.from([...encodeRegisterReply(m, 1, 0, 0), ...encodeRegisterReply(m, 2, 0, 0)]));
    assert.equal(n, 2);
  });

  it('handles input larger than its buffer', () => {
    const m = MODELS.BM1397;
    const one = encodeRegisterReply(m, 0x13971800, 0, 0);
    const big = new Uint8Array(one.length * 2000);
    for (let i = 0; i < 2000; i++) big.set(one, i * one.length);
    const { dec, got } = collect(m);
    dec.push(big);
    assert.equal(got.length, 2000);
    assert.equal(dec.stats.garbageBytes, 0);
  });
});
