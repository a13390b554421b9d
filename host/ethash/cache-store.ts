/**
 * Light caches per epoch: built off the hot path (sliced async build, progress reported), kept in
 * memory (the last few epochs), and stored on disk so a restart does not rebuild them.
 *
 *   const store = new EthashCacheStore({ cacheDir, logger, onProgress });
 *   const light = await store.get(epoch, epochLength);   // EthashLight, ready for hash()
 *   store.peek(epoch, epochLength)                        // the same, or undefined if not built yet
 *
 * File format (little-endian), one file per (seed, cache size):
 *   0  "ASICDETH"          8 bytes magic
 *   8  format version      u32 (FILE_VERSION)
 *   12 cache bytes         u32
 *   16 seed hash           32 bytes
 *   48 SHA-256 of payload  32 bytes
 *   80 payload             cache bytes (the cache words, little-endian)
 * Anything that does not match (magic, version, size, seed, length, checksum) is reported with the
 * field that failed and the cache is rebuilt and rewritten. Writes go to a temp file and are renamed
 * into place, so a crash mid-write never leaves a half file under the real name.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { type Logger, silentLogger } from '../../lib/log.ts';
import { bytesToHex } from './keccak.ts';
import { type BuildProgress, buildCache, type CacheSpec, cacheSpec, EthashLight } from './light.ts';
import { EPOCH_LENGTH } from './params.ts';

export const FILE_MAGIC = 'ASICDETH';
export const FILE_VERSION = 1;
const HEADER_BYTES = 80;

export function defaultCacheDir(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'asicd', 'ethash');
}

export interface CacheStoreOptions {
  /** Directory for cache files; `null` keeps caches in memory only. Default ~/.cache/asicd/ethash. */
  cacheDir?: string | null;
  /** Epoch caches kept in memory (default 2: the current one and the next). */
  keep?: number;
  logger?: Logger;
  /** Build progress (about every 1 %). */
  onProgress?: (spec: CacheSpec, p: BuildProgress) => void;
  /** Build slice length before yielding to the event loop (ms). */
  sliceMs?: number;
}

export type CacheOrigin = 'memory' | 'disk' | 'built';

export class EthashCacheStore {
  readonly cacheDir: string | null;
  private readonly log: Logger;
  private readonly o: CacheStoreOptions;
  private readonly ready = new Map<string, EthashLight>();
  private readonly inflight = new Map<string, Promise<EthashLight>>();
  /** Where each cache came from, in order (tests and logs). */
  readonly origins: Array<{ key: string; origin: CacheOrigin; ms: number }> = [];

  constructor(o: CacheStoreOptions = {}) {
    this.o = o;
    this.cacheDir = o.cacheDir === undefined ? defaultCacheDir() : o.cacheDir;
    this.log = (o.logger ?? silentLogger).child('ethash');
  }

  /** The light evaluator of an epoch if its cache is already in memory. */
  peek(epoch: number, epochLength = EPOCH_LENGTH): EthashLight | undefined {
    return this.ready.get(keyOf(cacheSpec(epoch, epochLength)));
  }

  get(epoch: number, epochLength = EPOCH_LENGTH): Promise<EthashLight> {
    return this.getSpec(cacheSpec(epoch, epochLength));
  }

  /** As get(), for an explicit spec (tests use tiny caches this way). */
  getSpec(spec: CacheSpec): Promise<EthashLight> {
    const key = keyOf(spec);
    const hit = this.ready.get(key);
    if (hit) {
      this.ready.delete(key);
      this.ready.set(key, hit);
      return Promise.resolve(hit);
    }
    let p = this.inflight.get(key);
    if (!p) {
      p = this.load(spec, key).finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    return p;
  }

  /** File path of a spec's cache (null without a cache dir). */
  fileFor(spec: CacheSpec): string | null {
    return this.cacheDir ? join(this.cacheDir, `${keyOf(spec)}.cache`) : null;
  }

  private async load(spec: CacheSpec, key: string): Promise<EthashLight> {
    const t0 = performance.now();
    const file = this.fileFor(spec);
    let words: Uint32Array | undefined;
    let origin: CacheOrigin = 'disk';
    if (file) words = await this.readFile(file, spec);
    if (!words) {
      origin = 'built';
      this.log.info('ethash_cache_build', { epoch: spec.epoch, bytes: spec.cacheBytes });
      let lastTenth = -1;
      words = await buildCache(spec, {
        ...(this.o.sliceMs !== undefined ? { sliceMs: this.o.sliceMs } : {}),
        onProgress: (p) => {
          this.o.onProgress?.(spec, p);
          const tenth = Math.floor(p.fraction * 10);
          if (tenth !== lastTenth) {
            lastTenth = tenth;
            this.log.info('ethash_cache_progress', { epoch: spec.epoch, percent: tenth * 10 });
          }
        },
      });
      if (file) await this.writeFile(file, spec, words);
    }
    const ms = Math.round(performance.now() - t0);
    this.log.info('ethash_cache_ready', { epoch: spec.epoch, origin, ms });
    this.origins.push({ key, origin, ms });
    const light = new EthashLight(words, spec.datasetBytes);
    this.ready.set(key, light);
    const keep = Math.max(1, this.o.keep ?? 2);
    while (this.ready.size > keep) this.ready.delete(this.ready.keys().next().value!);
    return light;
  }

  private async readFile(file: string, spec: CacheSpec): Promise<Uint32Array | undefined> {
    let buf: Buffer;
    try {
      buf = await readFile(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.log.warn('ethash_cache_unreadable', { file, error: e as Error });
      }
      return undefined;
    }
    const bad = checkFile(buf, spec);
    if (bad) {
      this.log.warn('ethash_cache_corrupt', { file, field: bad, action: 'rebuild' });
      return undefined;
    }
    const words = new Uint32Array(spec.cacheBytes / 4);
    new Uint8Array(words.buffer).set(buf.subarray(HEADER_BYTES));
    return words;
  }

  private async writeFile(file: string, spec: CacheSpec, words: Uint32Array): Promise<void> {
    const payload = new Uint8Array(words.buffer, words.byteOffset, words.byteLength);
    const header = Buffer.alloc(HEADER_BYTES);
    header.write(FILE_MAGIC, 0, 'latin1');
    header.writeUInt32LE(FILE_VERSION, 8);
    header.writeUInt32LE(spec.cacheBytes, 12);
    Buffer.from(spec.seed).copy(header, 16);
    createHash('sha256').update(payload).digest().copy(header, 48);
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await mkdir(this.cacheDir!, { recursive: true });
      await writeFile(tmp, Buffer.concat([header, payload]));
      await rename(tmp, file);
    } catch (e) {
      this.log.warn('ethash_cache_write_failed', { file, error: e as Error, note: 'kept in memory only' });
      await unlink(tmp).catch(() => {});
    }
  }
}

/** Why a cache file does not fit `spec` (the failing field), or undefined if it is good. */
export function checkFile(buf: Buffer, spec: CacheSpec): string | undefined {
  if (buf.length < HEADER_BYTES) return 'header (file shorter than the header)';
  if (buf.toString('latin1', 0, 8) !== FILE_MAGIC) return 'magic';
  if (buf.readUInt32LE(8) !== FILE_VERSION) return `version (${buf.readUInt32LE(8)})`;
  if (buf.readUInt32LE(12) !== spec.cacheBytes) return `cache bytes (${buf.readUInt32LE(12)})`;
  if (!buf.subarray(16, 48).equals(Buffer.from(spec.seed))) return 'seed';
  if (buf.length !== HEADER_BYTES + spec.cacheBytes) return `length (${buf.length})`;
  const sum = createHash('sha256').update(buf.subarray(HEADER_BYTES)).digest();
  if (!sum.equals(buf.subarray(48, 80))) return 'checksum';
  return undefined;
}

function keyOf(spec: CacheSpec): string {
  return `ethash-${bytesToHex(spec.seed).slice(0, 16)}-${spec.cacheBytes}`;
}
