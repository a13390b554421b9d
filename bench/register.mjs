// `npm run bench` preloads this: the bench's in-process rigs (daemon latency, work, stratum …) load the
// sources the way `asicd run` does (bin/asicd.js), so their figures are the daemon's own: Node's type
// stripping where it has it (22.18+, 24), bin/ts-hooks.mjs (esbuild with an on-disk cache) on Node 20.
// Under tsx, Node 20's in-process figures measured tsx's runtime (its source-map support and name
// helpers), not the daemon's. Child processes forked with process.execArgv (bench/pool-worker.ts)
// get the same loader.
import module from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

if (!process.features.typescript) {
  const cacheDir = process.env.NODE_COMPILE_CACHE
    ? join(process.env.NODE_COMPILE_CACHE, 'asicd-ts')
    : join(tmpdir(), `asicd-ts-cache-${process.getuid?.() ?? 'user'}`);
  module.register('../bin/ts-hooks.mjs', import.meta.url, { data: { cacheDir } });
  process.setSourceMapsEnabled(true);
}
