/**
 * ElligatorSwift for secp256k1 (BIP 324 "XSwiftEC"): a public key as 64 bytes that look uniformly random,
 * and the x-only ECDH on such encodings. Built on @noble/curves' field and point arithmetic; the maps
 * themselves follow BIP 324's specification text (see REFERENCE.md).
 *
 *   const { privateKey, encoding } = ellswiftCreate();          // 32-byte key, 64-byte encoding u ‖ t
 *   const x = ellswiftDecode(encoding);                         // the public key's x coordinate (bigint)
 *   const secret = ellswiftXdh(ellA, ellB, privateKey, 'initiator' | 'responder');   // BIP 324 hash
 *
 * u and t are 32-byte big-endian field elements; values ≥ p are taken mod p (every 64-byte string decodes).
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';

const Point = secp256k1.Point;
const Fp = Point.Fp;
const P = Fp.ORDER;
export const CURVE_ORDER = Point.Fn.ORDER;

const mod = (a: bigint): bigint => {
  const r = a % P;
  return r < 0n ? r + P : r;
};
const add = (a: bigint, b: bigint) => mod(a + b);
const sub = (a: bigint, b: bigint) => mod(a - b);
const mul = (a: bigint, b: bigint) => mod(a * b);
const inv = (a: bigint) => Fp.inv(a);
const div = (a: bigint, b: bigint) => mul(a, inv(b));
const powP = (a: bigint, e: bigint) => Fp.pow(a, e);

/** Square root mod p (p ≡ 3 mod 4): a^((p+1)/4) if it squares back, else undefined. No sign normalisation. */
export function fieldSqrt(a: bigint): bigint | undefined {
  const r = powP(mod(a), (P + 1n) / 4n);
  return mul(r, r) === mod(a) ? r : undefined;
}

/** sqrt(-3) as BIP 324's reference computes it (the direct power, not normalised). */
const MINUS_3_SQRT = fieldSqrt(P - 3n)!;

/** Whether x is the x coordinate of a curve point (x³ + 7 is a square). */
export function isValidX(x: bigint): boolean {
  return fieldSqrt(add(mul(mul(x, x), x), 7n)) !== undefined;
}

/** XSwiftEC(u, t): the x coordinate two field elements decode to (always a valid x). */
export function xswiftec(uIn: bigint, tIn: bigint): bigint {
  let u = mod(uIn);
  let t = mod(tIn);
  if (u === 0n) u = 1n;
  if (t === 0n) t = 1n;
  const u3 = mul(mul(u, u), u);
  if (add(add(u3, mul(t, t)), 7n) === 0n) t = add(t, t);
  const X = div(sub(add(u3, 7n), mul(t, t)), add(t, t));
  const Y = div(add(X, t), mul(MINUS_3_SQRT, u));
  const inv2 = inv(2n);
  const x1 = add(u, mul(4n, mul(Y, Y)));
  if (isValidX(x1)) return x1;
  const xy = div(X, Y);
  const x2 = mul(sub(sub(0n, xy), u), inv2);
  if (isValidX(x2)) return x2;
  const x3 = mul(sub(xy, u), inv2);
  if (isValidX(x3)) return x3;
  // Unreachable for secp256k1 (one of the three is always on the curve); a clear error, not a hang.
  throw new Error('xswiftec: no valid x (impossible for secp256k1)');
}

/**
 * XSwiftECInv(x, u, case): a t with xswiftec(u, t) = x, or undefined. `c` (0..7) picks one of up to
 * eight preimages, as in BIP 324.
 */
export function xswiftecInv(xIn: bigint, uIn: bigint, c: number): bigint | undefined {
  const x = mod(xIn);
  const u = mod(uIn);
  const u3p7 = add(mul(mul(u, u), u), 7n);
  let s: bigint;
  let v: bigint;
  if ((c & 2) === 0) {
    if (isValidX(sub(sub(0n, x), u))) return undefined;
    v = x;
    const den = add(add(mul(u, u), mul(u, v)), mul(v, v));
    if (den === 0n) return undefined;
    s = div(sub(0n, u3p7), den);
  } else {
    s = sub(x, u);
    if (s === 0n) return undefined;
    const r = fieldSqrt(mul(sub(0n, s), add(mul(4n, u3p7), mul(3n, mul(s, mul(u, u))))));
    if (r === undefined) return undefined;
    // Cases 3 and 7 differ from 2 and 6 by the formula below, not by r's sign; r = 0 would repeat them.
    if ((c & 1) === 1 && r === 0n) return undefined;
    v = mul(sub(div(r, s), u), inv(2n));
  }
  const w = fieldSqrt(s);
  if (w === undefined || w === 0n) return undefined;
  const inv2 = inv(2n);
  const minus = mul(mul(u, sub(1n, MINUS_3_SQRT)), inv2);
  const plus = mul(mul(u, add(1n, MINUS_3_SQRT)), inv2);
  switch (c & 5) {
    case 0:
      return sub(0n, mul(w, add(minus, v)));
    case 1:
      return mul(w, add(plus, v));
    case 4:
      return mul(w, add(minus, v));
    default:
      return sub(0n, mul(w, add(plus, v)));
  }
}

export function bytesToBig(b: Uint8Array): bigint {
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return v;
}

export function bigToBytes32(v: bigint): Uint8Array {
  const out = new Uint8Array(32);
  let x = v;
  for (let i = 31; i >= 0; i--) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}

/** A 64-byte encoding u ‖ t of the x coordinate x (random u and case until a preimage exists). */
export function xelligatorswift(x: bigint, random: (n: number) => Uint8Array = randomBytes): Uint8Array {
  if (!isValidX(x)) throw new Error('xelligatorswift: x is not on the curve');
  for (let tries = 0; tries < 10_000; tries++) {
    const r = random(33);
    const u = mod(bytesToBig(r.subarray(0, 32)));
    if (u === 0n) continue;
    const t = xswiftecInv(x, u, r[32]! & 7);
    if (t === undefined) continue;
    const out = new Uint8Array(64);
    out.set(bigToBytes32(u), 0);
    out.set(bigToBytes32(t), 32);
    return out;
  }
  throw new Error('xelligatorswift: no encoding found (random source broken?)');
}

/** The x coordinate a 64-byte encoding stands for. */
export function ellswiftDecode(enc: Uint8Array): bigint {
  if (enc.length !== 64) throw new Error(`ellswift: encoding must be 64 bytes, got ${enc.length}`);
  return xswiftec(bytesToBig(enc.subarray(0, 32)), bytesToBig(enc.subarray(32, 64)));
}

/** A private key as a scalar, refusing 0 and values ≥ n (no silent reduction). */
export function privateScalar(priv: Uint8Array): bigint {
  if (priv.length !== 32) throw new Error(`private key must be 32 bytes, got ${priv.length}`);
  const d = bytesToBig(priv);
  if (d === 0n || d >= CURVE_ORDER) throw new Error('private key out of range (0 or ≥ curve order)');
  return d;
}

/** x coordinate of d·G. */
export function publicX(priv: Uint8Array): bigint {
  return Point.BASE.multiply(privateScalar(priv)).toAffine().x;
}

/** The 64-byte encoding of a private key's public key. */
export function ellswiftEncodePriv(priv: Uint8Array, random?: (n: number) => Uint8Array): Uint8Array {
  return xelligatorswift(publicX(priv), random);
}

/** A fresh key pair with its 64-byte encoding (keys drawn uniformly in [1, n−1]). */
export function ellswiftCreate(random: (n: number) => Uint8Array = randomBytes): {
  privateKey: Uint8Array;
  encoding: Uint8Array;
} {
  for (;;) {
    const k = random(32);
    const d = bytesToBig(k);
    if (d === 0n || d >= CURVE_ORDER) continue;
    return { privateKey: k, encoding: xelligatorswift(publicX(k), random) };
  }
}

/** x coordinate of d·(a point with x coordinate x) — x-only ECDH. */
export function xonlyMul(x: bigint, priv: Uint8Array): bigint {
  const y = fieldSqrt(add(mul(mul(x, x), x), 7n));
  if (y === undefined) throw new Error('ecdh: x is not on the curve');
  return Point.fromAffine({ x, y }).multiply(privateScalar(priv)).toAffine().x;
}

const TAG = sha256(new TextEncoder().encode('bip324_ellswift_xonly_ecdh'));

/** BIP 340 style tagged hash with the BIP 324 ECDH tag. */
function taggedEcdh(msg: Uint8Array): Uint8Array {
  const buf = new Uint8Array(64 + msg.length);
  buf.set(TAG, 0);
  buf.set(TAG, 32);
  buf.set(msg, 64);
  return sha256(buf);
}

/**
 * BIP 324 ellswift ECDH: SHA256_tagged("bip324_ellswift_xonly_ecdh", ellA ‖ ellB ‖ x(d·P)), where ellA
 * is the initiator's encoding and ellB the responder's; `priv` is ours and `party` says which side we are.
 */
export function ellswiftXdh(
  ellA: Uint8Array,
  ellB: Uint8Array,
  priv: Uint8Array,
  party: 'initiator' | 'responder',
): Uint8Array {
  const theirs = party === 'initiator' ? ellB : ellA;
  const x = xonlyMul(ellswiftDecode(theirs), priv);
  const msg = new Uint8Array(160);
  msg.set(ellA, 0);
  msg.set(ellB, 64);
  msg.set(bigToBytes32(x), 128);
  return taggedEcdh(msg);
}

export const FIELD_P = P;
