/**
 * BIP 324's published vectors (bitcoin/bips bip-0324/, copied into test/fixtures/vectors/bip324/, see
 * SOURCES.md) against host/stratum-v2/ellswift.ts: every ElligatorSwift decoding, every XSwiftECInv case
 * (including the ones with no preimage), and the ECDH part of the packet-encoding vectors (our and their
 * x from the 64-byte encodings, the shared x, and the tagged shared secret that the SV2 Noise handshake
 * uses). The transport-cipher columns of packet_encoding (BIP 324's own packet format) are not used by
 * SV2 and not checked here.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  bigToBytes32,
  ellswiftDecode,
  ellswiftXdh,
  publicX,
  xonlyMul,
  xswiftec,
  xswiftecInv,
} from '../../host/stratum-v2/ellswift.ts';

const dir = new URL('../fixtures/vectors/bip324/', import.meta.url);
function csv(name: string): Array<Record<string, string>> {
  const [head, ...rows] = readFileSync(new URL(name, dir), 'utf8').trim().split('\n');
  const cols = head!.split(',');
  return rows.map((r) => {
    const cells = r.split(',');
    return Object.fromEntries(cols.map((c, i) => [c, cells[i] ?? '']));
  });
}
const big = (h: string) => BigInt(`0x${h}`);
const hexOf = (v: bigint) => Buffer.from(bigToBytes32(v)).toString('hex');
const bytes = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'));

describe('BIP 324 vectors: ElligatorSwift', () => {
  it('ellswift_decode_test_vectors.csv: every 64-byte encoding decodes to the listed x', () => {
    const rows = csv('ellswift_decode_test_vectors.csv');
    assert.equal(rows.length, 76);
    for (const r of rows) assert.equal(hexOf(ellswiftDecode(bytes(r.ellswift!))), r.x, r.comment);
  });

  it('xswiftec_inv_test_vectors.csv: all 8 cases give the listed t (or none), and each t maps back', () => {
    const rows = csv('xswiftec_inv_test_vectors.csv');
    assert.equal(rows.length, 32);
    let some = 0;
    let none = 0;
    for (const r of rows) {
      const u = big(r.u!);
      const x = big(r.x!);
      for (let c = 0; c < 8; c++) {
        const want = r[`case${c}_t`]!;
        const t = xswiftecInv(x, u, c);
        if (want === '') {
          assert.equal(t, undefined, `u=${r.u} case ${c}: no preimage expected (${r.comment})`);
          none++;
        } else {
          assert.ok(t !== undefined, `u=${r.u} case ${c}: expected ${want} (${r.comment})`);
          assert.equal(hexOf(t), want, `u=${r.u} case ${c} (${r.comment})`);
          assert.equal(hexOf(xswiftec(u, t)), r.x, 'XSwiftEC(u, t) = x');
          some++;
        }
      }
    }
    assert.ok(some > 50 && none > 50, `${some} preimages, ${none} empty cases`);
  });
});

describe('BIP 324 vectors: x-only ECDH over ElligatorSwift (packet_encoding_test_vectors.csv)', () => {
  it('our x, their x, the shared x and the tagged shared secret of every vector', () => {
    const rows = csv('packet_encoding_test_vectors.csv');
    assert.equal(rows.length, 7);
    for (const r of rows) {
      const priv = bytes(r.in_priv_ours!);
      const ours = bytes(r.in_ellswift_ours!);
      const theirs = bytes(r.in_ellswift_theirs!);
      assert.equal(hexOf(publicX(priv)), r.mid_x_ours, `vector ${r.in_idx}: x(d·G)`);
      assert.equal(hexOf(ellswiftDecode(ours)), r.mid_x_ours, `vector ${r.in_idx}: our encoding`);
      assert.equal(hexOf(ellswiftDecode(theirs)), r.mid_x_theirs, `vector ${r.in_idx}: their encoding`);
      assert.equal(
        hexOf(xonlyMul(big(r.mid_x_theirs!), priv)),
        r.mid_x_shared,
        `vector ${r.in_idx}: shared x`,
      );
      const initiating = r.in_initiating === '1';
      const secret = initiating
        ? ellswiftXdh(ours, theirs, priv, 'initiator')
        : ellswiftXdh(theirs, ours, priv, 'responder');
      assert.equal(
        Buffer.from(secret).toString('hex'),
        r.mid_shared_secret,
        `vector ${r.in_idx}: shared secret`,
      );
    }
  });
});
