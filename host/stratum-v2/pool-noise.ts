/**
 * The responder side of SV2's Noise NX handshake, for the embedded pool. Written straight from the spec
 * text as one function, without the initiator's SymmetricState/CipherState classes (noise.ts), so that the
 * client and the pool check each other rather than share a mistake. Shared with the client: only the
 * primitives (ellswift ECDH, SHA-256, HMAC, ChaCha20-Poly1305 from @noble).
 */
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { ellswiftCreate, ellswiftEncodePriv, ellswiftXdh } from './ellswift.ts';

const NAME = 'Noise_NX_Secp256k1+EllSwift_ChaChaPoly_SHA256';

const cat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};

function hkdf(chainingKey: Uint8Array, ikm: Uint8Array): { a: Uint8Array; b: Uint8Array } {
  const prk = hmac(sha256, chainingKey, ikm);
  const a = hmac(sha256, prk, new Uint8Array([0x01]));
  const b = hmac(sha256, prk, cat(a, new Uint8Array([0x02])));
  return { a, b };
}

/** The 12-byte nonce of message number n (n < 2^53 here). */
function nonce12(n: number): Uint8Array {
  const b = new Uint8Array(12);
  let v = n;
  for (let i = 4; i < 12; i++) {
    b[i] = v % 256;
    v = Math.floor(v / 256);
  }
  return b;
}

/** One direction of transport encryption on the pool side (key + message counter). */
export class PoolCipher {
  private counter = 0;
  private readonly key: Uint8Array;
  constructor(key: Uint8Array) {
    this.key = key;
  }
  seal(pt: Uint8Array): Uint8Array {
    return chacha20poly1305(this.key, nonce12(this.counter++), new Uint8Array(0)).encrypt(pt);
  }
  /** Throws on a wrong MAC. */
  open(ct: Uint8Array): Uint8Array {
    const pt = chacha20poly1305(this.key, nonce12(this.counter), new Uint8Array(0)).decrypt(ct);
    this.counter++;
    return pt;
  }
}

export interface ResponderKeys {
  /** The pool's static key (private, 32 bytes). */
  staticPrivateKey: Uint8Array;
  /** Its ElligatorSwift encoding (64 bytes; a fresh one per handshake is fine too). */
  staticEncoding?: Uint8Array;
  /** 74-byte SIGNATURE_NOISE_MESSAGE signed by the authority. */
  certificate: Uint8Array;
}

/**
 * Answers act 1 (64 bytes from the miner). Returns act 2 (234 bytes) and the transport ciphers:
 * `toMiner` seals with the second Split() key, `fromMiner` opens with the first.
 */
export function respondNx(
  act1: Uint8Array,
  keys: ResponderKeys,
  ephemeral: { privateKey: Uint8Array; encoding: Uint8Array } = ellswiftCreate(),
  staticEncodingFor: (priv: Uint8Array) => Uint8Array = (p) => keys.staticEncoding ?? encodeStatic(p),
): { act2: Uint8Array; toMiner: PoolCipher; fromMiner: PoolCipher; handshakeHash: Uint8Array } {
  if (act1.length !== 64) throw new Error(`act 1 must be 64 bytes, got ${act1.length}`);
  if (keys.certificate.length !== 74) throw new Error('certificate must be 74 bytes');
  const sEnc = staticEncodingFor(keys.staticPrivateKey);
  let ck: Uint8Array = sha256(new TextEncoder().encode(NAME));
  let h: Uint8Array = sha256(ck); // empty prologue
  // <- e (from the miner), empty payload
  h = sha256(cat(h, act1));
  h = sha256(h);
  // -> e
  h = sha256(cat(h, ephemeral.encoding));
  // ee
  let r = hkdf(ck, ellswiftXdh(act1, ephemeral.encoding, ephemeral.privateKey, 'responder'));
  ck = r.a;
  let k = r.b;
  // s (encrypted with nonce 0 under k, ad = h)
  const sCt = chacha20poly1305(k, nonce12(0), h).encrypt(sEnc);
  h = sha256(cat(h, sCt));
  // es: the miner's ephemeral with our static
  r = hkdf(ck, ellswiftXdh(act1, sEnc, keys.staticPrivateKey, 'responder'));
  ck = r.a;
  k = r.b;
  // payload: the certificate (nonce 0 under the new k)
  const certCt = chacha20poly1305(k, nonce12(0), h).encrypt(keys.certificate);
  h = sha256(cat(h, certCt));
  const split = hkdf(ck, new Uint8Array(0));
  return {
    act2: cat(ephemeral.encoding, sCt, certCt),
    fromMiner: new PoolCipher(split.a),
    toMiner: new PoolCipher(split.b),
    handshakeHash: h,
  };
}

function encodeStatic(priv: Uint8Array): Uint8Array {
  return ellswiftEncodePriv(priv);
}
