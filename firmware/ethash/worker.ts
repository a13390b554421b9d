/**
 * Emulated ethash worker: what an ethash mining device would do, in software, so the ethash path runs end
 * to end without hardware. Given (header hash, epoch, boundary, start nonce) it evaluates hashimoto-light
 * nonce after nonce and reports the ones whose final hash is ≤ the boundary.
 *
 * Independent of the host (imports nothing from host/ or drivers/): this file reads the Ethash facts on
 * its own and is written differently on purpose — byte arrays and @noble/hashes' `keccak_512` /
 * `keccak_256` functions, DataView words, plain `>>> 0` arithmetic — so a misreading shared with the
 * host's word-based implementation cannot cancel out. It is slow (light evaluation, ~50–100 nonces/s in
 * Node) and meant for easy boundaries.
 *
 *   const w = new EmulatedEthashWorker({ cacheDir });
 *   w.on('nonce', ({ jobId, nonce, mixHash, finalHash }) => ...);
 *   await w.prepare(epoch);                 // light cache (sliced build, progress events, disk-cached)
 *   w.setWork({ jobId, headerHash, epoch, boundary, startNonce });
 *   w.stop();
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { keccak_256, keccak_512 } from '@noble/hashes/sha3.js';
import { type Logger, silentLogger } from '../../lib/log.ts';

const FNV = 0x01000193;

function prime(n: number): boolean {
  if (n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}

/** Cache bytes for an epoch (yellow paper J: 2^24 + 2^17·e − 64, down by 128 until /64 is prime). */
export function fwCacheBytes(epoch: number): number {
  let b = 16777216 + 131072 * epoch - 64;
  while (!prime(b / 64)) b -= 128;
  return b;
}

/** Dataset bytes (2^30 + 2^23·e − 128, down by 256 until /128 is prime). */
export function fwDatasetBytes(epoch: number): number {
  let b = 1073741824 + 8388608 * epoch - 128;
  while (!prime(b / 128)) b -= 256;
  return b;
}

/** Seed: keccak256 applied once per 30000 blocks before the epoch's first block. */
export function fwSeed(epoch: number, epochLength = 30000): Uint8Array {
  let s: Uint8Array = new Uint8Array(32);
  for (let i = 0; i < (epoch * epochLength) / 30000; i++) s = keccak_256(s);
  return s;
}

function fnv(a: number, b: number): number {
  return (Math.imul(a, FNV) ^ b) >>> 0;
}

/** The light cache of one epoch (bytes) with word access. */
export class FwCache {
  readonly words: Uint32Array;
  readonly n: number;
  readonly bytes: Uint8Array;
  readonly datasetBytes: number;
  constructor(bytes: Uint8Array, datasetBytes: number) {
    this.bytes = bytes;
    this.datasetBytes = datasetBytes;
    this.words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
    this.n = bytes.length / 64;
  }

  /** Dataset item i (64 bytes). */
  item(i: number): Uint32Array {
    const mixBytes = this.bytes.slice((i % this.n) * 64, (i % this.n) * 64 + 64);
    const dv = new DataView(mixBytes.buffer);
    dv.setUint32(0, (dv.getUint32(0, true) ^ i) >>> 0, true);
    const mix = new Uint32Array(keccak_512(mixBytes).slice().buffer);
    for (let j = 0; j < 256; j++) {
      const parent = fnv((i ^ j) >>> 0, mix[j % 16]!) % this.n;
      for (let k = 0; k < 16; k++) mix[k] = fnv(mix[k]!, this.words[parent * 16 + k]!);
    }
    return new Uint32Array(keccak_512(new Uint8Array(mix.buffer)).slice().buffer);
  }

  /** hashimoto-light: returns mix digest and final hash (bytes). */
  hashimoto(header: Uint8Array, nonce: bigint): { mix: Uint8Array; result: Uint8Array } {
    const input = new Uint8Array(40);
    input.set(header, 0);
    new DataView(input.buffer).setBigUint64(32, nonce, true);
    const s = keccak_512(input);
    const sw = new DataView(s.buffer, s.byteOffset, 64);
    const s0 = sw.getUint32(0, true);
    const mix = new Uint32Array(32);
    for (let i = 0; i < 32; i++) mix[i] = sw.getUint32((i % 16) * 4, true);
    const pages = this.datasetBytes / 128;
    for (let a = 0; a < 64; a++) {
      const p = fnv((a ^ s0) >>> 0, mix[a % 32]!) % pages;
      const lo = this.item(2 * p);
      const hi = this.item(2 * p + 1);
      for (let i = 0; i < 16; i++) {
        mix[i] = fnv(mix[i]!, lo[i]!);
        mix[16 + i] = fnv(mix[16 + i]!, hi[i]!);
      }
    }
    const cmix = new Uint8Array(32);
    const cv = new DataView(cmix.buffer);
    for (let i = 0; i < 8; i++) {
      cv.setUint32(
        i * 4,
        fnv(fnv(fnv(mix[4 * i]!, mix[4 * i + 1]!), mix[4 * i + 2]!), mix[4 * i + 3]!),
        true,
      );
    }
    const fin = new Uint8Array(96);
    fin.set(s, 0);
    fin.set(cmix, 64);
    return { mix: cmix, result: keccak_256(fin) };
  }
}

/** Builds the cache in slices (awaiting setImmediate between them); progress 0..1. */
export async function fwBuildCache(
  epoch: number,
  epochLength = 30000,
  onProgress?: (f: number) => void,
): Promise<FwCache> {
  const size = fwCacheBytes(epoch);
  const n = size / 64;
  const buf = new Uint8Array(size);
  buf.set(keccak_512(fwSeed(epoch, epochLength)), 0);
  const total = n * 4;
  let done = 1;
  let t = performance.now();
  const tick = async () => {
    if (performance.now() - t > 15) {
      onProgress?.(done / total);
      await new Promise<void>((r) => setImmediate(r));
      t = performance.now();
    }
  };
  for (let i = 1; i < n; i++, done++) {
    buf.set(keccak_512(buf.subarray((i - 1) * 64, i * 64)), i * 64);
    if ((i & 255) === 0) await tick();
  }
  const w = new DataView(buf.buffer);
  const tmp = new Uint8Array(64);
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < n; i++, done++) {
      const v = w.getUint32(i * 64, true) % n;
      const prev = (i - 1 + n) % n;
      for (let k = 0; k < 64; k++) tmp[k] = buf[prev * 64 + k]! ^ buf[v * 64 + k]!;
      buf.set(keccak_512(tmp), i * 64);
      if ((i & 255) === 0) await tick();
    }
  }
  onProgress?.(1);
  return new FwCache(buf, fwDatasetBytes(epoch));
}

export interface EthashWork {
  jobId: string;
  /** 32-byte header hash, hex. */
  headerHash: string;
  epoch: number;
  epochLength?: number;
  /** Boundary: 64 hex digits (big-endian); a result passes when ≤ it. */
  boundary: string;
  startNonce: bigint;
  /** Stop after this many nonces (default: the rest of the 64-bit space). */
  count?: bigint;
}

export interface FoundNonce {
  jobId: string;
  nonce: bigint;
  mixHash: string;
  finalHash: string;
}

export interface WorkerOptions {
  /** Where to keep its own cache files (separate from the host's); null = memory only. */
  cacheDir?: string | null;
  /** Nonces per slice before yielding to the event loop (default 2). */
  batch?: number;
  logger?: Logger;
}

export class EmulatedEthashWorker extends EventEmitter<{
  nonce: [FoundNonce];
  progress: [{ epoch: number; fraction: number }];
  exhausted: [{ jobId: string }];
}> {
  hashes = 0;
  private readonly caches = new Map<string, Promise<FwCache>>();
  private work: EthashWork | undefined;
  private next = 0n;
  private end = 0n;
  private running = false;
  private timer: NodeJS.Immediate | undefined;
  private readonly log: Logger;

  private readonly o: WorkerOptions;
  constructor(o: WorkerOptions = {}) {
    super();
    this.o = o;
    this.log = (o.logger ?? silentLogger).child('fw-ethash');
  }

  /** Makes the epoch's cache ready (from its own disk file or built). */
  prepare(epoch: number, epochLength = 30000): Promise<FwCache> {
    const key = `${epoch}-${epochLength}`;
    let p = this.caches.get(key);
    if (!p) {
      p = this.loadOrBuild(epoch, epochLength);
      this.caches.set(key, p);
    }
    return p;
  }

  /** Replaces the current work (the old job is abandoned at once) and starts searching. */
  setWork(w: EthashWork): void {
    if (!/^[0-9a-fA-F]{64}$/.test(w.headerHash)) throw new Error('work.headerHash: not 64 hex digits');
    if (!/^[0-9a-fA-F]{1,64}$/.test(w.boundary)) throw new Error('work.boundary: not hex');
    this.work = w;
    this.next = w.startNonce;
    this.end = w.count !== undefined ? w.startNonce + w.count : 1n << 64n;
    this.running = true;
    void this.prepare(w.epoch, w.epochLength).then(() => this.schedule());
  }

  stop(): void {
    this.running = false;
    this.work = undefined;
    if (this.timer) clearImmediate(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (!this.running || this.timer) return;
    this.timer = setImmediate(() => {
      this.timer = undefined;
      void this.slice();
    });
  }

  private async slice(): Promise<void> {
    const w = this.work;
    if (!w || !this.running) return;
    const cache = await this.prepare(w.epoch, w.epochLength);
    if (this.work !== w) return this.schedule();
    const header = Uint8Array.from(Buffer.from(w.headerHash, 'hex'));
    const boundary = BigInt(`0x${w.boundary}`);
    for (let i = 0; i < (this.o.batch ?? 2) && this.next < this.end; i++) {
      const nonce = this.next++;
      const { mix, result } = cache.hashimoto(header, nonce);
      this.hashes++;
      if (BigInt(`0x${Buffer.from(result).toString('hex')}`) <= boundary) {
        this.emit('nonce', {
          jobId: w.jobId,
          nonce,
          mixHash: Buffer.from(mix).toString('hex'),
          finalHash: Buffer.from(result).toString('hex'),
        });
        if (this.work !== w) return this.schedule();
      }
    }
    if (this.next >= this.end) {
      this.running = false;
      this.emit('exhausted', { jobId: w.jobId });
      return;
    }
    this.schedule();
  }

  private async loadOrBuild(epoch: number, epochLength: number): Promise<FwCache> {
    const size = fwCacheBytes(epoch);
    const seed = Buffer.from(fwSeed(epoch, epochLength)).toString('hex');
    const file = this.o.cacheDir
      ? join(this.o.cacheDir, `fw-ethash-${seed.slice(0, 16)}-${size}.bin`)
      : undefined;
    if (file) {
      try {
        const b = await readFile(file);
        const body = b.subarray(0, b.length - 32);
        if (
          body.length === size &&
          createHash('sha256')
            .update(body)
            .digest()
            .equals(b.subarray(b.length - 32))
        ) {
          const bytes = new Uint8Array(size);
          bytes.set(body);
          return new FwCache(bytes, fwDatasetBytes(epoch));
        }
        this.log.warn('fw_cache_bad', { file, action: 'rebuild' });
      } catch {
        // no file yet
      }
    }
    this.log.info('fw_cache_build', { epoch, bytes: size });
    const c = await fwBuildCache(epoch, epochLength, (fraction) =>
      this.emit('progress', { epoch, fraction }),
    );
    if (file) {
      try {
        await mkdir(this.o.cacheDir!, { recursive: true });
        const tmp = `${file}.${process.pid}.tmp`;
        await writeFile(tmp, Buffer.concat([c.bytes, createHash('sha256').update(c.bytes).digest()]));
        await rename(tmp, file);
      } catch (e) {
        this.log.warn('fw_cache_write_failed', { file, error: e as Error });
      }
    }
    return c;
  }
}
