/**
 * Builds the header-hashing kernel: host/work/kernel/sha256d-wat.ts writes the WebAssembly text, wabt
 * (a dev dependency, pinned) compiles it to host/work/kernel/sha256d.wasm, which is committed so that
 * nothing needs a build step after `npm ci`. test/work/kernel.test.ts rebuilds it and compares bytes.
 *
 *   npm run build:kernel            rewrite sha256d.wasm
 *   npm run build:kernel -- --wat   also write sha256d.wat beside it (to read; not committed)
 */
import { writeFileSync } from 'node:fs';
import { buildKernel } from '../host/work/kernel/build.ts';
import { WASM_URL } from '../host/work/kernel/index.ts';
import { kernelWat } from '../host/work/kernel/sha256d-wat.ts';

const bytes = await buildKernel();
writeFileSync(WASM_URL, bytes);
console.log(`wrote ${WASM_URL.pathname} (${bytes.length} bytes)`);
if (process.argv.includes('--wat')) {
  const watUrl = new URL('./sha256d.wat', WASM_URL);
  writeFileSync(watUrl, kernelWat());
  console.log(`wrote ${watUrl.pathname}`);
}
