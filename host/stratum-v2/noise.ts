/**
 * Noise NX as Stratum V2 specifies it: Noise_NX_Secp256k1+EllSwift_ChaChaPoly_SHA256.
 *
 *   -> e                      act 1: 64 bytes (the initiator's ephemeral key, ElligatorSwift-encoded)
 *   <- e, ee, s, es, SIGNATURE_NOISE_MESSAGE
 *                             act 2: 64 (e) + 80 (encrypted s + MAC) + 90 (encrypted 74-byte cert + MAC) = 234
 *
 * Handshake messages travel without an SV2 frame header. ck = SHA-256(protocol name), h = SHA-256(ck)
 * (MixHash of the empty prologue). MixKey uses the Noise HKDF (HMAC-SHA256); DH is BIP 324's ellswift
 * x-only ECDH (initiator's encoding first). After act 2, Split() gives two cipher states: the initiator
 * sends with the first key, the responder with the second. Nonces: 4 zero bytes ‖ 64-bit little-endian
 * counter (Noise's ChaChaPoly). Facts and choices: REFERENCE.md.
 *
 * This file is the initiator (the client). The embedded pool's responder (pool-noise.ts) is written
 * separately from the same text so each side checks the other.
 */
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { type CertificateInfo, verifyCertificate } from './certificate.ts';
import { ellswiftCreate, ellswiftDecode, ellswiftXdh } from './ellswift.ts';

export const PROTOCOL_NAME = 'Noise_NX_Secp256k1+EllSwift_ChaChaPoly_SHA256';
export const ELLSWIFT_LEN = 64;
export const MAC_LEN = 16;
export const CERT_LEN = 74;
export const ACT1_LEN = ELLSWIFT_LEN;
export const ACT2_LEN = ELLSWIFT_LEN + ELLSWIFT_LEN + MAC_LEN + CERT_LEN + MAC_LEN;
/** Largest Noise message (ciphertext incl. MAC). */
export const MAX_NOISE_MESSAGE = 65535;

export class NoiseError extends Error {
  override name = 'NoiseError';
}

/** Noise HKDF with two outputs. */
export function hkdf2(ck: Uint8Array, ikm: Uint8Array): [Uint8Array, Uint8Array] {
  const temp = hmac(sha256, ck, ikm);
  const o1 = hmac(sha256, temp, Uint8Array.of(1));
  const in2 = new Uint8Array(33);
  in2.set(o1);
  in2[32] = 2;
  const o2 = hmac(sha256, temp, in2);
  return [o1, o2];
}

/** 12-byte ChaChaPoly nonce: 32 zero bits then the counter as 64-bit little-endian. */
export function noiseNonce(n: bigint): Uint8Array {
  const out = new Uint8Array(12);
  new DataView(out.buffer).setBigUint64(4, n, true);
  return out;
}

/** One direction of an established (or handshaking) Noise session. */
export class CipherState {
  private k: Uint8Array | undefined;
  private n = 0n;
  constructor(k?: Uint8Array) {
    this.k = k;
  }
  get hasKey(): boolean {
    return this.k !== undefined;
  }
  get nonce(): bigint {
    return this.n;
  }
  setKey(k: Uint8Array): void {
    this.k = k;
    this.n = 0n;
  }
  encrypt(plaintext: Uint8Array, ad: Uint8Array = new Uint8Array(0)): Uint8Array {
    if (!this.k) return plaintext.slice();
    if (this.n >= 0xffffffffffffffffn) throw new NoiseError('nonce exhausted');
    const out = chacha20poly1305(this.k, noiseNonce(this.n), ad).encrypt(plaintext);
    this.n++;
    return out;
  }
  /** Throws NoiseError on a wrong MAC (the nonce does not advance then). */
  decrypt(ciphertext: Uint8Array, ad: Uint8Array = new Uint8Array(0)): Uint8Array {
    if (!this.k) return ciphertext.slice();
    if (this.n >= 0xffffffffffffffffn) throw new NoiseError('nonce exhausted');
    if (ciphertext.length < MAC_LEN) throw new NoiseError('ciphertext shorter than its MAC');
    let out: Uint8Array;
    try {
      out = chacha20poly1305(this.k, noiseNonce(this.n), ad).decrypt(ciphertext);
    } catch {
      throw new NoiseError('authentication failed (wrong MAC: tampered or out-of-order ciphertext)');
    }
    this.n++;
    return out;
  }
}

/** Noise SymmetricState (h, ck and the handshake cipher). */
export class SymmetricState {
  h: Uint8Array;
  ck: Uint8Array;
  readonly cs = new CipherState();
  constructor(protocolName = PROTOCOL_NAME) {
    const name = new TextEncoder().encode(protocolName);
    if (name.length <= 32) {
      this.ck = new Uint8Array(32);
      this.ck.set(name);
    } else this.ck = sha256(name);
    // MixHash(prologue) with the empty prologue.
    this.h = sha256(this.ck);
  }
  mixHash(data: Uint8Array): void {
    const b = new Uint8Array(32 + data.length);
    b.set(this.h);
    b.set(data, 32);
    this.h = sha256(b);
  }
  mixKey(ikm: Uint8Array): void {
    const [ck, k] = hkdf2(this.ck, ikm);
    this.ck = ck;
    this.cs.setKey(k);
  }
  encryptAndHash(pt: Uint8Array): Uint8Array {
    const ct = this.cs.encrypt(pt, this.h);
    this.mixHash(ct);
    return ct;
  }
  decryptAndHash(ct: Uint8Array): Uint8Array {
    const pt = this.cs.decrypt(ct, this.h);
    this.mixHash(ct);
    return pt;
  }
  split(): [CipherState, CipherState] {
    const [k1, k2] = hkdf2(this.ck, new Uint8Array(0));
    return [new CipherState(k1), new CipherState(k2)];
  }
}

export interface InitiatorOptions {
  /** x-only authority public key (32 bytes); undefined = unauthenticated (explicit opt-in). */
  authorityKey: Uint8Array | undefined;
  /** Unix time (seconds) for the certificate's validity window. */
  now: () => number;
  /** Ephemeral key source (tests pin it); default fresh random. */
  ephemeral?: { privateKey: Uint8Array; encoding: Uint8Array };
}

export interface HandshakeResult {
  /** Initiator → responder. */
  send: CipherState;
  /** Responder → initiator. */
  recv: CipherState;
  /** Handshake hash (channel binding). */
  h: Uint8Array;
  /** The responder's static key (x-only, 32 bytes). */
  serverStaticKey: Uint8Array;
  certificate: CertificateInfo;
}

/** The client side of the handshake: act1() → 64 bytes to send; act2(234 bytes) → transport keys. */
export class NoiseInitiator {
  private readonly ss = new SymmetricState();
  private readonly e: { privateKey: Uint8Array; encoding: Uint8Array };
  private readonly o: InitiatorOptions;
  private step: 'act1' | 'act2' | 'done' = 'act1';
  constructor(o: InitiatorOptions) {
    this.o = o;
    this.e = o.ephemeral ?? ellswiftCreate();
  }

  act1(): Uint8Array {
    if (this.step !== 'act1') throw new NoiseError('act1 already sent');
    this.step = 'act2';
    this.ss.mixHash(this.e.encoding);
    this.ss.mixHash(new Uint8Array(0)); // EncryptAndHash(empty payload) without a key
    return this.e.encoding.slice();
  }

  act2(msg: Uint8Array): HandshakeResult {
    if (this.step !== 'act2') throw new NoiseError('act2 out of order');
    if (msg.length !== ACT2_LEN) {
      throw new NoiseError(`handshake reply must be ${ACT2_LEN} bytes, got ${msg.length}`);
    }
    this.step = 'done';
    const re = msg.subarray(0, 64);
    this.ss.mixHash(re);
    this.ss.mixKey(ellswiftXdh(this.e.encoding, re, this.e.privateKey, 'initiator'));
    const rsEnc = this.ss.decryptAndHash(msg.subarray(64, 64 + 80));
    this.ss.mixKey(ellswiftXdh(this.e.encoding, rsEnc, this.e.privateKey, 'initiator'));
    const cert = this.ss.decryptAndHash(msg.subarray(144, 234));
    const serverStaticKey = bigTo32(ellswiftDecode(rsEnc));
    const certificate = verifyCertificate(cert, serverStaticKey, this.o.authorityKey, this.o.now());
    const [send, recv] = this.ss.split();
    return { send, recv, h: this.ss.h, serverStaticKey, certificate };
  }
}

function bigTo32(v: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 31; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}
