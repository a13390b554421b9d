/**
 * Ethash light evaluation on 32-bit words: light-cache generation (sequential Keccak-512 fill, then
 * three RandMemoHash rounds), dataset items computed on demand from the cache (FNV over 256 parents),
 * and hashimoto-light (64 accesses into a 128-byte mix, FNV compression, Keccak-256 of seed ‖ cmix).
 *
 * Hot path: `EthashLight.hash` allocates nothing — the sponge state, mix, dataset-item scratch and the
 * outputs (`mixHash`, `result`, both little-endian words) are preallocated per instance.
 * Cache generation is a generator that yields progress every `chunk` rows, so it can run in one sync
 * pass (`buildCacheSync`) or in slices that give the event loop back (`buildCache`).
 * Facts and sources: host/ethash/REFERENCE.md.
 */
import { bytesToWords, KeccakWords } from './keccak.ts';
import {
  ACCESSES,
  CACHE_ROUNDS,
  cacheSize,
  DATASET_PARENTS,
  datasetSize,
  EPOCH_LENGTH,
  HASH_BYTES,
  MIX_BYTES,
  seedHash,
} from './params.ts';

const FNV_PRIME = 0x01000193;
/** 16 words per 64-byte row. */
const ROW = 16;

/** Everything that identifies an epoch's light cache. */
export interface CacheSpec {
  epoch: number;
  epochLength: number;
  seed: Uint8Array;
  cacheBytes: number;
  datasetBytes: number;
}

export function cacheSpec(epoch: number, epochLength = EPOCH_LENGTH): CacheSpec {
  return {
    epoch,
    epochLength,
    seed: seedHash(epoch, epochLength),
    cacheBytes: cacheSize(epoch),
    datasetBytes: datasetSize(epoch),
  };
}

/** Progress of a cache build: rows hashed so far out of rows·(1 + CACHE_ROUNDS). */
export interface BuildProgress {
  done: number;
  total: number;
  fraction: number;
}

/**
 * Fills `out` (cacheBytes / 4 words) with the light cache for `seed`, yielding the number of row hashes
 * done after every `chunk` rows. Total work is rows·(1 + CACHE_ROUNDS) row hashes.
 */
export function* cacheSteps(seed: Uint8Array, out: Uint32Array, chunk = 2048): Generator<number, void> {
  if (seed.length !== 32) throw new Error(`seed: expected 32 bytes, got ${seed.length}`);
  if (out.length % ROW !== 0 || out.length === 0)
    throw new Error('cache: length is not a whole number of rows');
  const k = new KeccakWords();
  const rows = out.length / ROW;
  let done = 0;
  // Sequential fill: row 0 = keccak512(seed), row i = keccak512(row i-1).
  k.k512(bytesToWords(seed), 0, 8, out, 0);
  done++;
  for (let i = 1; i < rows; i++) {
    k.k512(out, (i - 1) * ROW, ROW, out, i * ROW);
    if (++done % chunk === 0) yield done;
  }
  // RandMemoHash rounds: row i = keccak512(row (i-1 mod n) XOR row (row_i[0] mod n)).
  for (let r = 0; r < CACHE_ROUNDS; r++) {
    for (let i = 0; i < rows; i++) {
      const src = ((i - 1 + rows) % rows) * ROW;
      const other = (out[i * ROW]! % rows) * ROW;
      k.k512xor(out, src, out, other, out, i * ROW);
      if (++done % chunk === 0) yield done;
    }
  }
  yield done;
}

function totalSteps(cacheBytes: number): number {
  return (cacheBytes / HASH_BYTES) * (1 + CACHE_ROUNDS);
}

/** The whole cache in one synchronous pass (blocks the thread: tests, benches, worker threads). */
export function buildCacheSync(spec: CacheSpec, onProgress?: (p: BuildProgress) => void): Uint32Array {
  const out = new Uint32Array(spec.cacheBytes / 4);
  const total = totalSteps(spec.cacheBytes);
  for (const done of cacheSteps(spec.seed, out, 16384)) onProgress?.({ done, total, fraction: done / total });
  return out;
}

export interface BuildOptions {
  onProgress?: (p: BuildProgress) => void;
  /** Work per slice before yielding to the event loop (default 10 ms). */
  sliceMs?: number;
  signal?: AbortSignal;
}

/**
 * The cache built in slices of about `sliceMs`, yielding to the event loop (setImmediate) between
 * slices, so sockets, timers and submits keep flowing during the build. Progress is reported about
 * every 1 % and at the end.
 */
export async function buildCache(spec: CacheSpec, o: BuildOptions = {}): Promise<Uint32Array> {
  const out = new Uint32Array(spec.cacheBytes / 4);
  const total = totalSteps(spec.cacheBytes);
  const slice = o.sliceMs ?? 10;
  const steps = cacheSteps(spec.seed, out, 256);
  let lastReported = -1;
  let t0 = performance.now();
  for (;;) {
    const n = steps.next();
    if (n.done) break;
    const done = n.value;
    const pct = Math.floor((done / total) * 100);
    if (pct !== lastReported) {
      lastReported = pct;
      o.onProgress?.({ done, total, fraction: done / total });
    }
    if (performance.now() - t0 >= slice) {
      if (o.signal?.aborted) throw new Error('ethash cache build aborted');
      await new Promise<void>((r) => setImmediate(r));
      t0 = performance.now();
    }
  }
  return out;
}

/** Result of one hashimoto-light evaluation, as hex (display, vectors). */
export interface EthashResult {
  mixHash: string;
  finalHash: string;
}

/**
 * Hashimoto-light over one epoch's cache. One instance = one set of scratch buffers: not re-entrant,
 * which is fine on a single JS thread (make one per worker thread).
 */
export class EthashLight {
  readonly rows: number;
  /** Number of 128-byte dataset pages. */
  readonly pages: number;
  /** Mix digest of the last `hash` (8 little-endian words = 32 bytes). */
  readonly mixHash = new Uint32Array(8);
  /** Final hash of the last `hash` (8 little-endian words = 32 bytes, read big-endian as a number). */
  readonly result = new Uint32Array(8);
  private readonly k = new KeccakWords();
  private readonly input = new Uint32Array(10);
  /** seed (16 words) ‖ compressed mix (8 words): the final Keccak-256 input. */
  private readonly sm = new Uint32Array(24);
  private readonly mix = new Uint32Array(32);
  private readonly page = new Uint32Array(32);
  private readonly item = new Uint32Array(ROW);
  /** Signed views: FNV results are int32, so int32 storage keeps the inner loop free of doubles. */
  private readonly cacheI: Int32Array;
  private readonly itemI: Int32Array;
  private readonly mixI: Int32Array;
  private readonly pageI: Int32Array;

  readonly cache: Uint32Array;
  readonly datasetBytes: number;
  constructor(cache: Uint32Array, datasetBytes: number) {
    this.cache = cache;
    this.datasetBytes = datasetBytes;
    if (cache.length === 0 || cache.length % ROW !== 0) throw new Error('cache: not a whole number of rows');
    if (datasetBytes % MIX_BYTES !== 0 || datasetBytes <= 0)
      throw new Error('dataset size: not a multiple of 128');
    this.rows = cache.length / ROW;
    this.pages = datasetBytes / MIX_BYTES;
    this.cacheI = new Int32Array(cache.buffer, cache.byteOffset, cache.length);
    this.itemI = new Int32Array(this.item.buffer);
    this.mixI = new Int32Array(this.mix.buffer);
    this.pageI = new Int32Array(this.page.buffer);
  }

  /** Dataset item `index` (16 words) computed from the cache into `dst` at `dstOff`. */
  datasetItem(index: number, dst: Uint32Array, dstOff: number): void {
    const c = this.cacheI;
    const rows = this.rows;
    const m = this.itemI;
    const base = (index % rows) * ROW;
    for (let j = 0; j < ROW; j++) m[j] = c[base + j]!;
    m[0] = m[0]! ^ index;
    this.k.k512(this.item, 0, ROW, this.item, 0);
    for (let p = 0; p < DATASET_PARENTS; p++) {
      const parent = ((Math.imul(index ^ p, FNV_PRIME) ^ m[p & 15]!) >>> 0) % rows;
      const o = parent * ROW;
      for (let j = 0; j < ROW; j++) m[j] = Math.imul(m[j]!, FNV_PRIME) ^ c[o + j]!;
    }
    this.k.k512(this.item, 0, ROW, dst, dstOff);
  }

  /**
   * Hashimoto-light of `header` (8 little-endian words = the 32-byte header hash) and the 64-bit nonce
   * given as its low and high 32-bit halves. Writes `mixHash` and `result`.
   */
  hash(header: Uint32Array, nonceLo: number, nonceHi: number): void {
    const inp = this.input;
    const sm = this.sm;
    const mix = this.mixI;
    const page = this.pageI;
    for (let i = 0; i < 8; i++) inp[i] = header[i]!;
    inp[8] = nonceLo;
    inp[9] = nonceHi;
    this.k.k512(inp, 0, 10, sm, 0);
    for (let i = 0; i < 32; i++) mix[i] = sm[i & 15]! | 0;
    const s0 = sm[0]!;
    const pages = this.pages;
    for (let a = 0; a < ACCESSES; a++) {
      const p = ((Math.imul(a ^ s0, FNV_PRIME) ^ mix[a & 31]!) >>> 0) % pages;
      this.datasetItem(2 * p, this.page, 0);
      this.datasetItem(2 * p + 1, this.page, ROW);
      for (let i = 0; i < 32; i++) mix[i] = Math.imul(mix[i]!, FNV_PRIME) ^ page[i]!;
    }
    for (let i = 0; i < 8; i++) {
      const j = 4 * i;
      let v = Math.imul(mix[j]!, FNV_PRIME) ^ mix[j + 1]!;
      v = Math.imul(v, FNV_PRIME) ^ mix[j + 2]!;
      v = Math.imul(v, FNV_PRIME) ^ mix[j + 3]!;
      sm[16 + i] = v;
      this.mixHash[i] = v;
    }
    this.k.k256(sm, 0, 24, this.result, 0);
  }

  /** Convenience (not hot path): header hash hex + nonce → mix hash and final hash hex. */
  compute(headerHash: Uint8Array, nonce: bigint): EthashResult {
    if (headerHash.length !== 32) throw new Error(`header hash: expected 32 bytes, got ${headerHash.length}`);
    if (nonce < 0n || nonce >= 1n << 64n) throw new Error('nonce: not a 64-bit unsigned value');
    this.hash(bytesToWords(headerHash), Number(nonce & 0xffffffffn), Number(nonce >> 32n));
    return { mixHash: wordsHex(this.mixHash), finalHash: wordsHex(this.result) };
  }
}

/** Little-endian words → hex of their bytes in memory order. */
export function wordsHex(w: Uint32Array): string {
  let s = '';
  for (let i = 0; i < w.length; i++) {
    const v = w[i]!;
    s +=
      (v & 0xff).toString(16).padStart(2, '0') +
      ((v >>> 8) & 0xff).toString(16).padStart(2, '0') +
      ((v >>> 16) & 0xff).toString(16).padStart(2, '0') +
      (v >>> 24).toString(16).padStart(2, '0');
  }
  return s;
}
