/**
 * SV2 Noise NX: the client's initiator (noise.ts) against the pool's responder (pool-noise.ts, written
 * separately), and both against a third derivation of the transcript done here with node:crypto
 * (SHA-256, HMAC, ChaCha20-Poly1305) step by step from the spec text. Certificates: the authority's
 * BIP 340 signature, the validity window, wrong keys and tampering.
 */
import assert from 'node:assert/strict';
import { createCipheriv, createHash, createHmac } from 'node:crypto';
import { test } from 'node:test';
import {
  base58checkDecode,
  base58checkEncode,
  CertificateError,
  certificateMessage,
  decodeAuthorityKey,
  encodeAuthorityKey,
  signCertificate,
  verifyCertificate,
  xonlyPublicKey,
} from '../../host/stratum-v2/certificate.ts';
import { bigToBytes32, ellswiftCreate, ellswiftXdh, publicX } from '../../host/stratum-v2/ellswift.ts';
import {
  ACT1_LEN,
  ACT2_LEN,
  CipherState,
  NoiseError,
  NoiseInitiator,
  noiseNonce,
  PROTOCOL_NAME,
} from '../../host/stratum-v2/noise.ts';
import { respondNx } from '../../host/stratum-v2/pool-noise.ts';

/** Deterministic bytes (SHA-256 in counter mode) so transcripts are reproducible. */
function seeded(seed: string): (n: number) => Uint8Array {
  let ctr = 0;
  return (n) => {
    const out = new Uint8Array(n);
    for (let o = 0; o < n; o += 32) {
      const h = createHash('sha256').update(`${seed}/${ctr++}`).digest();
      out.set(h.subarray(0, Math.min(32, n - o)), o);
    }
    return out;
  };
}

const NOW = 1_800_000_000;

function setup(seed = 'sv2') {
  const r = seeded(seed);
  const authority = ellswiftCreate(r).privateKey;
  const server = ellswiftCreate(r);
  const clientE = ellswiftCreate(r);
  const serverE = ellswiftCreate(r);
  const serverX = bigToBytes32(publicX(server.privateKey));
  const cert = signCertificate({
    authorityPrivateKey: authority,
    serverStaticKey: serverX,
    validFrom: NOW - 3600,
    notValidAfter: NOW + 3600,
    auxRand: new Uint8Array(32),
  });
  return { authority, authorityPub: xonlyPublicKey(authority), server, serverX, clientE, serverE, cert };
}

const sha = (...p: Uint8Array[]) => {
  const h = createHash('sha256');
  for (const x of p) h.update(x);
  return new Uint8Array(h.digest());
};
const hmacN = (k: Uint8Array, d: Uint8Array) => new Uint8Array(createHmac('sha256', k).update(d).digest());
const hkdfN = (ck: Uint8Array, ikm: Uint8Array) => {
  const t = hmacN(ck, ikm);
  const a = hmacN(t, Uint8Array.of(1));
  const b = hmacN(t, Buffer.concat([a, Uint8Array.of(2)]));
  return [a, b] as const;
};
const aead = (k: Uint8Array, n: number, ad: Uint8Array, pt: Uint8Array) => {
  const c = createCipheriv('chacha20-poly1305', k, noiseNonceN(n), { authTagLength: 16 });
  c.setAAD(ad, { plaintextLength: pt.length });
  return new Uint8Array(Buffer.concat([c.update(pt), c.final(), c.getAuthTag()]));
};
function noiseNonceN(n: number): Buffer {
  const b = Buffer.alloc(12);
  b.writeBigUInt64LE(BigInt(n), 4);
  return b;
}

test('nonce encoding and protocol name', () => {
  assert.equal(Buffer.from(noiseNonce(0n)).toString('hex'), '000000000000000000000000');
  assert.equal(Buffer.from(noiseNonce(1n)).toString('hex'), '000000000100000000000000');
  assert.equal(Buffer.from(noiseNonce(0x0102030405060708n)).toString('hex'), '000000000807060504030201');
  assert.equal(PROTOCOL_NAME, 'Noise_NX_Secp256k1+EllSwift_ChaChaPoly_SHA256');
  assert.equal(ACT1_LEN, 64);
  assert.equal(ACT2_LEN, 234);
});

test('handshake: initiator and the independent responder agree; transcript re-derived with node:crypto', () => {
  const s = setup();
  const ini = new NoiseInitiator({ authorityKey: s.authorityPub, now: () => NOW, ephemeral: s.clientE });
  const act1 = ini.act1();
  assert.deepEqual(act1, s.clientE.encoding);
  const resp = respondNx(
    act1,
    { staticPrivateKey: s.server.privateKey, staticEncoding: s.server.encoding, certificate: s.cert },
    s.serverE,
  );
  assert.equal(resp.act2.length, 234);
  const res = ini.act2(resp.act2);
  assert.deepEqual(res.h, resp.handshakeHash);
  assert.deepEqual(res.serverStaticKey, s.serverX);
  assert.equal(res.certificate.authenticated, true);

  // Third derivation, from the spec text, with node:crypto primitives.
  let ck = sha(new TextEncoder().encode(PROTOCOL_NAME));
  let h = sha(ck);
  h = sha(h, act1);
  h = sha(h);
  h = sha(h, s.serverE.encoding);
  let k: Uint8Array;
  [ck, k] = hkdfN(ck, ellswiftXdh(act1, s.serverE.encoding, s.clientE.privateKey, 'initiator'));
  const sCt = aead(k, 0, h, s.server.encoding);
  h = sha(h, sCt);
  [ck, k] = hkdfN(ck, ellswiftXdh(act1, s.server.encoding, s.clientE.privateKey, 'initiator'));
  const certCt = aead(k, 0, h, s.cert);
  h = sha(h, certCt);
  assert.deepEqual(resp.act2, new Uint8Array(Buffer.concat([s.serverE.encoding, sCt, certCt])));
  assert.deepEqual(res.h, h);
  const [k1, k2] = hkdfN(ck, new Uint8Array(0));
  // Transport: initiator sends with k1 (nonce 0, 1, …), responder with k2; empty AD.
  const m0 = new TextEncoder().encode('first');
  const c0 = res.send.encrypt(m0);
  assert.deepEqual(c0, aead(k1, 0, new Uint8Array(0), m0));
  assert.deepEqual(resp.fromMiner.open(c0), m0);
  const c1 = res.send.encrypt(m0);
  assert.deepEqual(c1, aead(k1, 1, new Uint8Array(0), m0));
  assert.notDeepEqual(c0, c1);
  assert.deepEqual(resp.fromMiner.open(c1), m0);
  const back = resp.toMiner.seal(m0);
  assert.deepEqual(back, aead(k2, 0, new Uint8Array(0), m0));
  assert.deepEqual(res.recv.decrypt(back), m0);
});

test('handshake refused: wrong authority key, expired / not yet valid certificate, tampered bytes', () => {
  const s = setup('refuse');
  const run = (o: { authorityKey?: Uint8Array; now?: number; tamper?: number; cert?: Uint8Array }) => {
    const ini = new NoiseInitiator({ authorityKey: o.authorityKey, now: () => o.now ?? NOW });
    const resp = respondNx(ini.act1(), {
      staticPrivateKey: s.server.privateKey,
      certificate: o.cert ?? s.cert,
    });
    const a2 = resp.act2.slice();
    if (o.tamper !== undefined) a2[o.tamper]! ^= 0x01;
    return ini.act2(a2);
  };
  assert.equal(run({ authorityKey: s.authorityPub }).certificate.authenticated, true);
  const other = xonlyPublicKey(ellswiftCreate().privateKey);
  assert.throws(
    () => run({ authorityKey: other }),
    (e) => e instanceof CertificateError && /authority key/.test(e.message),
  );
  assert.throws(() => run({ authorityKey: s.authorityPub, now: NOW + 3601 }), /expired/);
  assert.throws(() => run({ authorityKey: s.authorityPub, now: NOW - 3601 }), /not valid yet/);
  // Unauthenticated (explicit opt-in): no signature check, the validity window still applies.
  assert.equal(run({}).certificate.authenticated, false);
  // A byte flipped in the encrypted static key, in the encrypted certificate, or in the MACs.
  for (const at of [70, 130, 150, 233]) {
    assert.throws(() => run({ authorityKey: s.authorityPub, tamper: at }), NoiseError);
  }
  // A flipped ephemeral key changes every derived key: the first MAC fails.
  assert.throws(() => run({ authorityKey: s.authorityPub, tamper: 3 }), NoiseError);
  // A certificate for another server key (a pool replaying someone else's certificate).
  const stolen = signCertificate({
    authorityPrivateKey: s.authority,
    serverStaticKey: bigToBytes32(publicX(ellswiftCreate().privateKey)),
    validFrom: NOW - 10,
    notValidAfter: NOW + 10,
  });
  assert.throws(() => run({ authorityKey: s.authorityPub, cert: stolen }), /does not verify/);
  // Wrong lengths and order.
  const ini = new NoiseInitiator({ authorityKey: s.authorityPub, now: () => NOW });
  assert.throws(() => ini.act2(new Uint8Array(234)), /out of order/);
  ini.act1();
  assert.throws(() => ini.act2(new Uint8Array(170)), /234 bytes/);
});

test('transport: a tampered or replayed ciphertext is refused', () => {
  const k = new Uint8Array(32).fill(7);
  const a = new CipherState(k);
  const b = new CipherState(k);
  const c = a.encrypt(Uint8Array.of(1, 2, 3));
  const bad = c.slice();
  bad[0]! ^= 1;
  assert.throws(() => b.decrypt(bad), /authentication failed/);
  assert.deepEqual(b.decrypt(c), Uint8Array.of(1, 2, 3));
  assert.throws(() => b.decrypt(c), /authentication failed/, 'replay under the next nonce');
  assert.throws(() => b.decrypt(new Uint8Array(5)), /shorter than its MAC/);
});

test('certificate layout: 74 bytes LE; signed message = SHA-256(version ‖ from ‖ to ‖ key)', () => {
  const s = setup('layout');
  assert.equal(s.cert.length, 74);
  const v = Buffer.from(s.cert);
  assert.equal(v.readUInt16LE(0), 0);
  assert.equal(v.readUInt32LE(2), NOW - 3600);
  assert.equal(v.readUInt32LE(6), NOW + 3600);
  const msg = Buffer.alloc(42);
  msg.writeUInt16LE(0, 0);
  msg.writeUInt32LE(NOW - 3600, 2);
  msg.writeUInt32LE(NOW + 3600, 6);
  Buffer.from(s.serverX).copy(msg, 10);
  assert.deepEqual(certificateMessage(0, NOW - 3600, NOW + 3600, s.serverX), sha(msg));
  assert.equal(verifyCertificate(s.cert, s.serverX, s.authorityPub, NOW).authenticated, true);
  const bad = s.cert.slice();
  bad[40]! ^= 1;
  assert.throws(() => verifyCertificate(bad, s.serverX, s.authorityPub, NOW), /does not verify/);
  const v1 = s.cert.slice();
  v1[0] = 1;
  assert.throws(() => verifyCertificate(v1, s.serverX, s.authorityPub, NOW), /version 1/);
});

test('authority keys: base58check(0x01 0x00 ‖ x-only key) round trip and errors', () => {
  const s = setup('b58');
  const text = encodeAuthorityKey(s.authorityPub);
  assert.match(text, /^[1-9A-HJ-NP-Za-km-z]{50,52}$/);
  assert.deepEqual(decodeAuthorityKey(text), s.authorityPub);
  // Bitcoin's base58check of a leading-zero payload keeps its '1's.
  assert.equal(base58checkEncode(Uint8Array.of(0, 0, 1)).slice(0, 2), '11');
  assert.deepEqual(base58checkDecode(base58checkEncode(Uint8Array.of(0, 0, 1))), Uint8Array.of(0, 0, 1));
  // Known vector: base58check of version 0 + 20 zero bytes is the burn address 1111111111111111111114oLvT2.
  assert.equal(base58checkEncode(new Uint8Array(21)), '1111111111111111111114oLvT2');
  const flipped = text.slice(0, 10) + (text[10] === 'a' ? 'b' : 'a') + text.slice(11);
  assert.throws(() => decodeAuthorityKey(flipped), /checksum/);
  assert.throws(() => decodeAuthorityKey('0OIl'), /base58 character/);
  assert.throws(() => decodeAuthorityKey(base58checkEncode(s.authorityPub)), /34 bytes/);
});
