/**
 * ElligatorSwift (BIP 324 XSwiftEC) on secp256k1. BIP 324's CSV vectors (xswiftec_inv_test_vectors.csv,
 * ellswift_decode_test_vectors.csv) could not be copied here (no network; see
 * test/fixtures/vectors/SOURCES.md): the tests check the properties the BIP states instead — every
 * 64-byte string decodes to a curve x, the special-case rules (u = 0, t = 0, u³ + t² + 7 = 0, inputs ≥ p),
 * every preimage XSwiftECInv returns maps back to its x, and the ECDH hash is the BIP's tagged hash.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import {
  bigToBytes32,
  bytesToBig,
  ellswiftCreate,
  ellswiftDecode,
  ellswiftXdh,
  FIELD_P,
  fieldSqrt,
  isValidX,
  privateScalar,
  publicX,
  xelligatorswift,
  xonlyMul,
  xswiftec,
  xswiftecInv,
} from '../../host/stratum-v2/ellswift.ts';

const P = FIELD_P;
const G_X = 0x79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798n;
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const rnd = (): bigint => bytesToBig(randomBytes(32)) % P;

test('field basics: p, sqrt(-3), the generator is on the curve', () => {
  assert.equal(P, 2n ** 256n - 2n ** 32n - 977n);
  const c = fieldSqrt(P - 3n)!;
  assert.equal((c * c) % P, P - 3n);
  assert.ok(isValidX(G_X));
  assert.equal(publicX(bigToBytes32(1n)), G_X);
  // x = 0 is not on secp256k1 (7 is not a square mod p), 1 is not either; a quick negative control.
  assert.equal(isValidX(0n), fieldSqrt(7n) !== undefined);
});

test('every (u, t) decodes to a valid x; special cases as BIP 324 states', () => {
  for (let i = 0; i < 64; i++) {
    const u = rnd();
    const t = rnd();
    const x = xswiftec(u, t);
    assert.ok(isValidX(x));
    // Inputs are taken mod p.
    if (u + P < 2n ** 256n) assert.equal(xswiftec(u + P, t), x);
    if (t + P < 2n ** 256n) assert.equal(xswiftec(u, t + P), x);
    // u = 0 acts as u = 1, t = 0 as t = 1.
    assert.equal(xswiftec(0n, t), xswiftec(1n, t));
    assert.equal(xswiftec(u, 0n), xswiftec(u, 1n));
  }
  // u³ + t² + 7 = 0 → t is doubled: pick u with −(u³+7) a square, t its root.
  let found = 0;
  for (let u = 1n; found < 3 && u < 200n; u++) {
    const t = fieldSqrt((P - ((u * u * u + 7n) % P)) % P);
    if (t === undefined) continue;
    found++;
    assert.equal(xswiftec(u, t), xswiftec(u, (2n * t) % P));
  }
  assert.ok(found > 0);
  // All-zero and all-0xff encodings decode (no exceptions for any byte string).
  assert.ok(isValidX(ellswiftDecode(new Uint8Array(64))));
  assert.ok(isValidX(ellswiftDecode(new Uint8Array(64).fill(0xff))));
  assert.throws(() => ellswiftDecode(new Uint8Array(63)), /64 bytes/);
});

test('XSwiftECInv: every preimage of every case maps back; cases cover both signs of t', () => {
  let hits = 0;
  const perCase = new Array<number>(8).fill(0);
  for (let i = 0; i < 40; i++) {
    const x = publicX(ellswiftCreate().privateKey);
    const u = rnd();
    const ts = new Set<bigint>();
    for (let c = 0; c < 8; c++) {
      const t = xswiftecInv(x, u, c);
      if (t === undefined) continue;
      hits++;
      perCase[c]!++;
      assert.equal(xswiftec(u, t), x, `case ${c}`);
      ts.add(t);
      // Cases c and c^4 give t and −t (BIP 324: bit 2 selects the sign).
      const t4 = xswiftecInv(x, u, c ^ 4);
      assert.equal(t4, (P - t) % P);
    }
  }
  assert.ok(hits > 0);
  assert.ok(
    perCase.every((n) => n > 0),
    `every case yields preimages sometimes: ${perCase}`,
  );
});

test('create/encode/decode round trip; encodings differ every time', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 20; i++) {
    const { privateKey, encoding } = ellswiftCreate();
    assert.equal(encoding.length, 64);
    assert.equal(ellswiftDecode(encoding), publicX(privateKey));
    seen.add(Buffer.from(encoding).toString('hex'));
    const again = xelligatorswift(publicX(privateKey));
    assert.equal(ellswiftDecode(again), publicX(privateKey));
  }
  assert.equal(seen.size, 20);
  let bad = 1n;
  while (isValidX(bad)) bad++;
  assert.throws(() => xelligatorswift(bad), /not on the curve/);
});

test('private keys: 0 and ≥ n refused, n−1 accepted', () => {
  assert.throws(() => privateScalar(new Uint8Array(32)), /out of range/);
  assert.throws(() => privateScalar(bigToBytes32(N)), /out of range/);
  assert.equal(privateScalar(bigToBytes32(N - 1n)), N - 1n);
  assert.throws(() => privateScalar(new Uint8Array(31)), /32 bytes/);
});

test('ellswift ECDH: both sides agree; the hash is BIP 324 tagged SHA-256 of ellA ‖ ellB ‖ x', () => {
  const a = ellswiftCreate();
  const b = ellswiftCreate();
  const sa = ellswiftXdh(a.encoding, b.encoding, a.privateKey, 'initiator');
  const sb = ellswiftXdh(a.encoding, b.encoding, b.privateKey, 'responder');
  assert.deepEqual(sa, sb);
  // Independent recomputation with node:crypto.
  const tag = createHash('sha256').update('bip324_ellswift_xonly_ecdh').digest();
  const x = xonlyMul(ellswiftDecode(b.encoding), a.privateKey);
  const want = createHash('sha256')
    .update(tag)
    .update(tag)
    .update(a.encoding)
    .update(b.encoding)
    .update(bigToBytes32(x))
    .digest();
  assert.deepEqual(Buffer.from(sa), want);
  // Order matters: swapping the encodings gives another secret.
  assert.notDeepEqual(ellswiftXdh(b.encoding, a.encoding, a.privateKey, 'responder'), sa);
  // x-only DH is commutative: a·(b·G) = b·(a·G).
  assert.equal(xonlyMul(publicX(b.privateKey), a.privateKey), xonlyMul(publicX(a.privateKey), b.privateKey));
});
