/**
 * Offline nonce search for replay mode and tests: scans an 80-byte header's nonce space with the
 * emulator's SHA-256 kernel and returns nonces whose double SHA-256 has at least `zeroBits` leading
 * zero bits (hash read as a number, i.e. the usual displayed order).
 */
import { be32, bswap32, midstate, ScanJob } from './sha256.ts';

export interface FindNoncesOptions {
  /** 80 bytes (the nonce bytes 76..79 are ignored), or 76. */
  header: Uint8Array;
  zeroBits: number;
  count: number;
  /** First nonce tried, as a pool sees it (LE uint32). Default 0. */
  start?: number;
  /** Give up after this many hashes (default 2^32). */
  maxHashes?: number;
}

/** Returns nonces (pool form: uint32 stored little-endian in the header). */
export function findNonces(o: FindNoncesOptions): number[] {
  if (o.header.length < 76) throw new Error(`header: need at least 76 bytes, got ${o.header.length}`);
  if (!(o.zeroBits >= 1 && o.zeroBits <= 32)) throw new Error(`zeroBits: must be 1..32, got ${o.zeroBits}`);
  const words = new Int32Array(16);
  for (let i = 0; i < 16; i++) words[i] = be32(o.header, i * 4);
  const job = new ScanJob().set(midstate(words), be32(o.header, 64), be32(o.header, 68), be32(o.header, 72));
  const out: number[] = [];
  let nw = bswap32(o.start ?? 0);
  let left = Math.min(o.maxHashes ?? 2 ** 32, 2 ** 32);
  while (out.length < o.count && left > 0) {
    const run = Math.min(left, 0x10000, 2 ** 32 - nw);
    job.scan(nw | 0, run, o.zeroBits, (w) => {
      if (out.length < o.count) out.push(bswap32(w));
    });
    left -= run;
    nw += run;
    if (nw >= 2 ** 32) break;
  }
  return out;
}
