/**
 * The pool's certificate (SV2 SIGNATURE_NOISE_MESSAGE, sent encrypted in handshake act 2) and the
 * authority key format of pool URLs.
 *
 *   SIGNATURE_NOISE_MESSAGE = version U16 ‖ valid_from U32 ‖ not_valid_after U32 ‖ signature[64]   (74 bytes, LE)
 *   signed message m = SHA-256(version ‖ valid_from ‖ not_valid_after ‖ x-only server static key[32])
 *   signature = BIP 340 Schnorr by the authority key over m; valid when valid_from ≤ now ≤ not_valid_after
 *
 *   authority key text = base58check(0x01 0x00 ‖ x-only key[32])   (the form pool URLs carry)
 */
import { schnorr } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';

export class CertificateError extends Error {
  override name = 'CertificateError';
}

export interface CertificateInfo {
  version: number;
  validFrom: number;
  notValidAfter: number;
  /** False when no authority key was given (unauthenticated pool, explicit opt-in). */
  authenticated: boolean;
}

export const CERT_VERSION = 0;

function header(version: number, validFrom: number, notValidAfter: number): Uint8Array {
  const b = new Uint8Array(10);
  const v = new DataView(b.buffer);
  v.setUint16(0, version, true);
  v.setUint32(2, validFrom >>> 0, true);
  v.setUint32(6, notValidAfter >>> 0, true);
  return b;
}

/** The 32-byte message the authority signs. */
export function certificateMessage(
  version: number,
  validFrom: number,
  notValidAfter: number,
  serverStaticKey: Uint8Array,
): Uint8Array {
  if (serverStaticKey.length !== 32)
    throw new CertificateError('server static key must be 32 bytes (x-only)');
  const b = new Uint8Array(42);
  b.set(header(version, validFrom, notValidAfter));
  b.set(serverStaticKey, 10);
  return sha256(b);
}

/** Signs a certificate for a server static key (pool side). */
export function signCertificate(o: {
  authorityPrivateKey: Uint8Array;
  serverStaticKey: Uint8Array;
  validFrom: number;
  notValidAfter: number;
  version?: number;
  auxRand?: Uint8Array;
}): Uint8Array {
  const version = o.version ?? CERT_VERSION;
  const m = certificateMessage(version, o.validFrom, o.notValidAfter, o.serverStaticKey);
  const sig = schnorr.sign(m, o.authorityPrivateKey, o.auxRand);
  const out = new Uint8Array(74);
  out.set(header(version, o.validFrom, o.notValidAfter));
  out.set(sig, 10);
  return out;
}

export function parseCertificate(cert: Uint8Array): {
  version: number;
  validFrom: number;
  notValidAfter: number;
  signature: Uint8Array;
} {
  if (cert.length !== 74) throw new CertificateError(`certificate must be 74 bytes, got ${cert.length}`);
  const v = new DataView(cert.buffer, cert.byteOffset, cert.length);
  return {
    version: v.getUint16(0, true),
    validFrom: v.getUint32(2, true),
    notValidAfter: v.getUint32(6, true),
    signature: cert.slice(10, 74),
  };
}

/**
 * Checks the certificate: version, validity window (always) and the authority's signature (when a key
 * is given). Throws CertificateError naming what failed.
 */
export function verifyCertificate(
  cert: Uint8Array,
  serverStaticKey: Uint8Array,
  authorityKey: Uint8Array | undefined,
  now: number,
): CertificateInfo {
  const c = parseCertificate(cert);
  if (c.version !== CERT_VERSION) throw new CertificateError(`certificate version ${c.version} is not 0`);
  if (now < c.validFrom) {
    throw new CertificateError(
      `certificate not valid yet (valid from ${c.validFrom}, now ${Math.floor(now)})`,
    );
  }
  if (now > c.notValidAfter) {
    throw new CertificateError(
      `certificate expired (not valid after ${c.notValidAfter}, now ${Math.floor(now)})`,
    );
  }
  if (authorityKey) {
    const m = certificateMessage(c.version, c.validFrom, c.notValidAfter, serverStaticKey);
    let ok = false;
    try {
      ok = schnorr.verify(c.signature, m, authorityKey);
    } catch {
      ok = false;
    }
    if (!ok) {
      throw new CertificateError(
        'certificate signature does not verify with the authority key from the pool URL (wrong key or impostor pool)',
      );
    }
  }
  return {
    version: c.version,
    validFrom: c.validFrom,
    notValidAfter: c.notValidAfter,
    authenticated: !!authorityKey,
  };
}

// ---------------------------------------------------------------------------------------------------
// base58check authority keys

const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

export function base58Encode(b: Uint8Array): string {
  let n = 0n;
  for (const x of b) n = (n << 8n) | BigInt(x);
  let s = '';
  while (n > 0n) {
    s = ALPHABET[Number(n % 58n)]! + s;
    n /= 58n;
  }
  for (const x of b) {
    if (x !== 0) break;
    s = `1${s}`;
  }
  return s;
}

export function base58Decode(s: string): Uint8Array {
  let n = 0n;
  for (const ch of s) {
    const i = ALPHABET.indexOf(ch);
    if (i < 0) throw new CertificateError(`authority key: "${ch}" is not a base58 character`);
    n = n * 58n + BigInt(i);
  }
  const bytes: number[] = [];
  while (n > 0n) {
    bytes.unshift(Number(n & 0xffn));
    n >>= 8n;
  }
  for (const ch of s) {
    if (ch !== '1') break;
    bytes.unshift(0);
  }
  return Uint8Array.from(bytes);
}

const dsha = (b: Uint8Array) => sha256(sha256(b));

export function base58checkEncode(payload: Uint8Array): string {
  const b = new Uint8Array(payload.length + 4);
  b.set(payload);
  b.set(dsha(payload).subarray(0, 4), payload.length);
  return base58Encode(b);
}

export function base58checkDecode(s: string): Uint8Array {
  const b = base58Decode(s);
  if (b.length < 5) throw new CertificateError('authority key: too short for base58check');
  const payload = b.subarray(0, b.length - 4);
  const sum = dsha(payload).subarray(0, 4);
  for (let i = 0; i < 4; i++) {
    if (sum[i] !== b[b.length - 4 + i])
      throw new CertificateError('authority key: base58check checksum mismatch');
  }
  return payload.slice();
}

/** x-only authority key → the text pool URLs carry (base58check of 0x01 0x00 ‖ key). */
export function encodeAuthorityKey(xonly: Uint8Array): string {
  if (xonly.length !== 32) throw new CertificateError('authority key must be 32 bytes (x-only)');
  const b = new Uint8Array(34);
  b[0] = 1;
  b[1] = 0;
  b.set(xonly, 2);
  return base58checkEncode(b);
}

/** The text of a pool URL's path → x-only key (checked to be a curve point). */
export function decodeAuthorityKey(text: string): Uint8Array {
  const b = base58checkDecode(text);
  if (b.length !== 34 || b[0] !== 1 || b[1] !== 0) {
    throw new CertificateError(
      `authority key: expected version 1 and 32 key bytes (34 bytes), got ${b.length} bytes starting ${b[0]}, ${b[1]}`,
    );
  }
  const key = b.slice(2);
  try {
    schnorr.utils.lift_x(bytesToBigint(key));
  } catch {
    throw new CertificateError('authority key: not a valid secp256k1 x-only public key');
  }
  return key;
}

function bytesToBigint(b: Uint8Array): bigint {
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return v;
}

/** x-only public key of a private key (BIP 340). */
export function xonlyPublicKey(priv: Uint8Array): Uint8Array {
  return schnorr.getPublicKey(priv);
}
