/**
 * Ethash figures: epoch-0 light-cache build time with the sliced async builder the daemon uses
 * (baseline: the same generator in one synchronous pass — the ratio is the cost of yielding to the
 * event loop), loading that cache back from the disk store, and hashimoto-light nonce checks per second
 * on the host's word-based path (baseline: the emulated worker's independent byte-based implementation).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FwCache } from '../firmware/ethash/worker.ts';
import {
  buildCache,
  buildCacheSync,
  cacheSpec,
  EthashCacheStore,
  EthashLight,
} from '../host/ethash/index.ts';
import { type BenchSuite, rate } from './harness.ts';

const suite: BenchSuite = {
  name: 'ethash',
  async run(ctx) {
    const spec = cacheSpec(0);
    let t = performance.now();
    const words = buildCacheSync(spec);
    const syncS = (performance.now() - t) / 1000;
    ctx.log(`  epoch-0 cache, one sync pass: ${syncS.toFixed(2)} s`);
    t = performance.now();
    let ticks = 0;
    const iv = setInterval(() => ticks++, 5);
    await buildCache(spec, { sliceMs: 10 });
    clearInterval(iv);
    const asyncS = (performance.now() - t) / 1000;
    ctx.log(`  epoch-0 cache, sliced async: ${asyncS.toFixed(2)} s (${ticks} timer ticks ran meanwhile)`);

    const dir = mkdtempSync(join(tmpdir(), 'asicd-bench-ethash-'));
    let loadS = Number.NaN;
    try {
      await new EthashCacheStore({ cacheDir: dir }).getSpec({ ...spec });
      t = performance.now();
      await new EthashCacheStore({ cacheDir: dir }).getSpec({ ...spec });
      loadS = (performance.now() - t) / 1000;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }

    const light = new EthashLight(words, spec.datasetBytes);
    const header = new Uint32Array(8).fill(0x12345678);
    let n = 0;
    const ms = 3000 * ctx.scale;
    const host = rate(() => {
      for (let i = 0; i < 10; i++) light.hash(header, n++, 0);
      return 10;
    }, ms);
    const fw = new FwCache(new Uint8Array(words.buffer), spec.datasetBytes);
    const hb = new Uint8Array(32).fill(0x12);
    let m = 0n;
    const naive = rate(() => {
      for (let i = 0; i < 5; i++) fw.hashimoto(hb, m++);
      return 5;
    }, ms);

    return [
      {
        suite: 'ethash',
        name: 'epoch-0 light cache build (sliced async, 10 ms slices)',
        value: asyncS,
        unit: 's',
        better: 'lower',
        baseline: { name: 'same builder, one sync pass', value: syncS },
        ratio: asyncS / syncS,
        note: `${(spec.cacheBytes / 2 ** 20).toFixed(1)} MiB, ${ticks} event-loop timer ticks during the build`,
      },
      {
        suite: 'ethash',
        name: 'epoch-0 light cache load from disk store (SHA-256 checked)',
        value: loadS,
        unit: 's',
        better: 'lower',
        baseline: { name: 'sync build', value: syncS },
        ratio: syncS / loadS,
      },
      {
        suite: 'ethash',
        name: 'hashimoto-light nonce checks (host, word-based)',
        value: host,
        unit: 'checks/s',
        better: 'higher',
        baseline: { name: 'emulated worker (byte-based)', value: naive },
        ratio: host / naive,
      },
    ];
  },
};

export default suite;
