/**
 * Light-cache building and the disk store, on a tiny cache (the algorithm does not care about the
 * size): async sliced build = sync build, progress, event loop kept alive, disk round trip, and corrupt
 * / truncated / foreign files detected by field and rebuilt.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  type BuildProgress,
  buildCache,
  buildCacheSync,
  type CacheSpec,
  checkFile,
  EthashCacheStore,
  seedHash,
} from '../../host/ethash/index.ts';
import { memoryLogger } from '../../lib/log.ts';

const dir = mkdtempSync(join(tmpdir(), 'asicd-ethash-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const tiny: CacheSpec = {
  epoch: 5,
  epochLength: 30_000,
  seed: seedHash(5),
  cacheBytes: 64 * 1021,
  datasetBytes: 128 * 4093,
};

test('sliced async build equals the sync build, reports progress and lets the event loop run', async () => {
  const sync = buildCacheSync(tiny);
  const seen: BuildProgress[] = [];
  let ticks = 0;
  const iv = setInterval(() => ticks++, 0);
  const spec = { ...tiny, cacheBytes: 64 * 16381 };
  const big = buildCacheSync(spec);
  const asyncBig = await buildCache(spec, { sliceMs: 1, onProgress: (p) => seen.push(p) });
  clearInterval(iv);
  assert.deepEqual(asyncBig, big);
  assert.deepEqual(await buildCache(tiny), sync);
  assert.ok(ticks > 0, 'timers ran during the build');
  assert.ok(seen.length > 10);
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i]!.done >= seen[i - 1]!.done);
  assert.equal(seen.at(-1)!.fraction, 1);
  assert.equal(seen.at(-1)!.total, 16381 * 4);
  // A different seed gives a different cache.
  assert.notDeepEqual(buildCacheSync({ ...tiny, seed: seedHash(6) }), sync);
});

test('disk round trip: built once, then loaded from disk; in-flight gets are shared', async () => {
  const s1 = new EthashCacheStore({ cacheDir: dir });
  const [a, b] = await Promise.all([s1.getSpec(tiny), s1.getSpec(tiny)]);
  assert.equal(a, b);
  assert.deepEqual(
    s1.origins.map((o) => o.origin),
    ['built'],
  );
  const s2 = new EthashCacheStore({ cacheDir: dir });
  const c = await s2.getSpec(tiny);
  assert.equal(s2.origins[0]!.origin, 'disk');
  assert.deepEqual(c.cache, a.cache);
  assert.equal(checkFile(readFileSync(s2.fileFor(tiny)!), tiny), undefined);
});

test('a corrupt, truncated or foreign file is named, logged once and rebuilt', async () => {
  const file = new EthashCacheStore({ cacheDir: dir }).fileFor(tiny)!;
  const good = buildCacheSync(tiny);
  const cases: Array<[string, (b: Buffer) => Buffer, RegExp]> = [
    [
      'payload bit flip',
      (b) => {
        const c = Buffer.from(b);
        c[c.length - 5]! ^= 0x10;
        return c;
      },
      /checksum/,
    ],
    ['truncated', (b) => b.subarray(0, b.length - 64), /length/],
    ['magic', (b) => Buffer.concat([Buffer.from('NOTETHSH'), b.subarray(8)]), /magic/],
    [
      'other seed',
      (b) => {
        const c = Buffer.from(b);
        c[20]! ^= 1;
        return c;
      },
      /seed/,
    ],
    ['empty', () => Buffer.alloc(0), /header/],
  ];
  await new EthashCacheStore({ cacheDir: dir }).getSpec(tiny);
  const pristine = readFileSync(file);
  for (const [name, mangle, field] of cases) {
    writeFileSync(file, mangle(pristine));
    const log = memoryLogger();
    const s = new EthashCacheStore({ cacheDir: dir, logger: log });
    const light = await s.getSpec(tiny);
    assert.equal(s.origins[0]!.origin, 'built', name);
    assert.deepEqual(light.cache, good, name);
    const warn = log.records.filter((r) => r.event === 'ethash_cache_corrupt');
    assert.equal(warn.length, 1, name);
    assert.match(String(warn[0]!.field), field, name);
    assert.equal(checkFile(readFileSync(file), tiny), undefined, `${name}: rewritten`);
  }
});

test('memory-only store (cacheDir null) and an unwritable dir still work', async () => {
  const s = new EthashCacheStore({ cacheDir: null });
  assert.equal(s.fileFor(tiny), null);
  const l = await s.getSpec(tiny);
  assert.equal(l.rows, 1021);
  const blocker = join(dir, 'blocker');
  writeFileSync(blocker, 'x');
  const log = memoryLogger();
  const s2 = new EthashCacheStore({ cacheDir: join(blocker, 'sub'), logger: log });
  const l2 = await s2.getSpec(tiny);
  assert.deepEqual(l2.cache, l.cache);
  assert.ok(log.records.some((r) => r.event === 'ethash_cache_write_failed'));
});
