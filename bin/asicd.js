#!/usr/bin/env node
// Runs the TypeScript sources directly, so `npx asicd` works right after `npm ci` with no build step.
// Node ≥ 22.18 and 24 strip the types themselves (process.features.typescript): the sources load as
// they are, with no compiler in the process (erasable-only syntax, enforced by tsconfig's
// erasableSyntaxOnly). Older Node (20), a Node started with --no-experimental-strip-types, or a copy
// installed under node_modules (where Node refuses to strip types) load the sources type-erased by esbuild
// and cached on disk: as a mirrored tree of plain .mjs files with no module hooks (bin/ts-mirror.mjs), or
// through a load hook (bin/ts-hooks.mjs: under node_modules, or ASICD_LOADER=hooks). ASICD_LOADER=tsx runs them
// through tsx instead (the previous fallback, kept for comparisons); the choice is reported by
// `asicd selfcheck` through globalThis.__asicdLoader.
import module from 'node:module';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(import.meta.url);
/** The URL of host/cli.ts to import, when not the source itself (Node 20's mirrored tree). */
let cli;
const canStrip =
  Boolean(process.features.typescript) &&
  !/[\\/]node_modules[\\/]/.test(here) &&
  process.env.ASICD_LOADER !== 'tsx';

if (canStrip) {
  // V8's on-disk code cache (under the system's temp directory unless NODE_COMPILE_CACHE says otherwise):
  // later starts skip compiling and also skip stripping the types again (the stripped source is cached
  // with it) — without it, loading Node's type stripper (a WebAssembly module) is most of a start's CPU.
  module.enableCompileCache?.();
  // Node 22.18–23 print an ExperimentalWarning for type stripping on first use; it says nothing to a
  // user of the daemon. Every other warning goes through unchanged.
  const emit = process.emitWarning;
  process.emitWarning = (warning, ...rest) => {
    if (String(warning?.message ?? warning).includes('Type Stripping')) return;
    return emit.call(process, warning, ...rest);
  };
  globalThis.__asicdLoader = `node ${process.versions.node} type stripping`;
} else if (process.env.ASICD_LOADER !== 'tsx' && typeof module.register === 'function') {
  // Node 20: the sources' types erased with esbuild, once per file content, into a cache (beside Node's
  // compile cache when NODE_COMPILE_CACHE is set, as the systemd unit does; otherwise under the temp
  // directory), so a later start loads neither tsx nor esbuild. First choice: bin/ts-mirror.mjs, a
  // mirrored tree of plain .mjs files imported with no module hooks; if it cannot be made (or
  // ASICD_LOADER=hooks), bin/ts-hooks.mjs, a load hook on Node's loader thread.
  const { tmpdir } = await import('node:os');
  const { dirname, join } = await import('node:path');
  const cacheDir = process.env.NODE_COMPILE_CACHE
    ? join(process.env.NODE_COMPILE_CACHE, 'asicd-ts')
    : join(tmpdir(), `asicd-ts-cache-${process.getuid?.() ?? 'user'}`);
  // The mirror's packages resolve from this checkout's node_modules: not for a copy installed as a
  // dependency (under node_modules, its packages hoisted elsewhere).
  if (process.env.ASICD_LOADER !== 'hooks' && !/[\\/]node_modules[\\/]/.test(here)) {
    try {
      const { mirror } = await import('./ts-mirror.mjs');
      cli = mirror(dirname(dirname(here)), cacheDir)('host/cli.ts');
      globalThis.__asicdLoader = `esbuild type erasure into a mirrored .mjs tree (node ${process.versions.node})`;
    } catch (err) {
      if (process.env.ASICD_LOADER_DEBUG) console.error('asicd: mirrored sources unavailable:', err);
    }
  }
  if (!cli) {
    module.register('./ts-hooks.mjs', import.meta.url, { data: { cacheDir } });
    globalThis.__asicdLoader = `esbuild type erasure with a cache (node ${process.versions.node})`;
  }
  // Stack traces point at the .ts lines (the transform carries an inline source map), as with tsx.
  process.setSourceMapsEnabled(true);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  globalThis.__asicdLoader = `tsx (node ${process.versions.node})`;
}
const { main } = await import(cli ?? '../host/cli.ts');
process.exitCode = await main(process.argv.slice(2));
