/**
 * Test-only SHA-256 compression (FIPS 180-4), written here so the BM13xx codec tests compute midstates
 * independently of the work engine (host/work) and of the codec under test.
 */
const K = new Uint32Array(64);
{
  // First 32 bits of the fractional parts of the cube roots of the first 64 primes.
  let n = 0;
  for (let p = 2; n < 64; p++) {
    let prime = true;
    for (let d = 2; d * d <= p; d++) if (p % d === 0) prime = false;
    if (prime) K[n++] = Math.floor((Math.cbrt(p) % 1) * 2 ** 32) >>> 0;
  }
}
export const IV = Uint32Array.from([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);

const rotr = (x: number, n: number) => (x >>> n) | (x << (32 - n));

/** The SHA-256 state after compressing one 64-byte block from `state`. */
export function compressBlock(state: Uint32Array, block: Uint8Array): Uint32Array {
  const w = new Uint32Array(64);
  for (let i = 0; i < 16; i++) {
    w[i] = (block[4 * i]! << 24) | (block[4 * i + 1]! << 16) | (block[4 * i + 2]! << 8) | block[4 * i + 3]!;
  }
  for (let i = 16; i < 64; i++) {
    const s0 = rotr(w[i - 15]!, 7) ^ rotr(w[i - 15]!, 18) ^ (w[i - 15]! >>> 3);
    const s1 = rotr(w[i - 2]!, 17) ^ rotr(w[i - 2]!, 19) ^ (w[i - 2]! >>> 10);
    w[i] = w[i - 16]! + s0 + w[i - 7]! + s1;
  }
  let [a, b, c, d, e, f, g, h] = state as unknown as number[];
  for (let i = 0; i < 64; i++) {
    const t1 =
      (h! + (rotr(e!, 6) ^ rotr(e!, 11) ^ rotr(e!, 25)) + ((e! & f!) ^ (~e! & g!)) + K[i]! + w[i]!) | 0;
    const t2 = ((rotr(a!, 2) ^ rotr(a!, 13) ^ rotr(a!, 22)) + ((a! & b!) ^ (a! & c!) ^ (b! & c!))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d! + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  return Uint32Array.from([a!, b!, c!, d!, e!, f!, g!, h!].map((x, i) => (x + state[i]!) >>> 0));
}

/** Midstate of an 80-byte header (state after bytes 0..63). */
export function midstate(header: Uint8Array): Uint32Array {
  return compressBlock(IV, header.subarray(0, 64));
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}
export function unhex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
}
/** Bytes with every 4-byte word byte-reversed (stratum prevhash → header order). */
export function swapWords(b: Uint8Array): Uint8Array {
  const o = new Uint8Array(b.length);
  for (let i = 0; i < b.length; i += 4) for (let j = 0; j < 4; j++) o[i + j] = b[i + 3 - j]!;
  return o;
}
/** The 80-byte header for a job input and nonce (all header fields little-endian). */
export function buildHeader(
  version: number,
  prevHash: Uint8Array,
  merkleRoot: Uint8Array,
  ntime: number,
  nbits: number,
  nonce: number,
): Uint8Array {
  const h = new Uint8Array(80);
  const dv = new DataView(h.buffer);
  dv.setUint32(0, version >>> 0, true);
  h.set(prevHash, 4);
  h.set(merkleRoot, 36);
  dv.setUint32(68, ntime >>> 0, true);
  dv.setUint32(72, nbits >>> 0, true);
  dv.setUint32(76, nonce >>> 0, true);
  return h;
}
