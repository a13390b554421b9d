#!/usr/bin/env node
// Runs the TypeScript sources directly, so `npx asicd` works right after `npm ci` with no build step.
// Node ≥ 22.18 and 24 strip the types themselves (process.features.typescript): the sources load as
// they are, with no compiler in the process (erasable-only syntax, enforced by tsconfig's
// erasableSyntaxOnly). Older Node (20), a Node started with --no-experimental-strip-types, or a copy
// installed under node_modules (where Node refuses to strip types) load the sources through
// bin/ts-hooks.mjs (esbuild, with an on-disk cache of the stripped files). ASICD_LOADER=tsx runs them
// through tsx instead (the previous fallback, kept for comparisons); the choice is reported by
// `asicd selfcheck` through globalThis.__asicdLoader.
import module from 'node:module';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(import.meta.url);
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
  // Node 20: bin/ts-hooks.mjs erases the types with esbuild, once per file content, into a cache
  // (beside Node's compile cache when NODE_COMPILE_CACHE is set, as the systemd unit does; otherwise
  // under the temp directory), so a later start loads neither tsx nor esbuild.
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const cacheDir = process.env.NODE_COMPILE_CACHE
    ? join(process.env.NODE_COMPILE_CACHE, 'asicd-ts')
    : join(tmpdir(), `asicd-ts-cache-${process.getuid?.() ?? 'user'}`);
  module.register('./ts-hooks.mjs', import.meta.url, { data: { cacheDir } });
  // Stack traces point at the .ts lines (the transform carries an inline source map), as with tsx.
  process.setSourceMapsEnabled(true);
  globalThis.__asicdLoader = `esbuild type erasure with a cache (node ${process.versions.node})`;
} else {
  const { register } = await import('tsx/esm/api');
  register();
  globalThis.__asicdLoader = `tsx (node ${process.versions.node})`;
}
const { main } = await import('../host/cli.ts');
process.exitCode = await main(process.argv.slice(2));
