// Module hooks for Node versions without type stripping (Node 20; registered by bin/asicd.js with
// module.register, so they run on Node's loader thread). They do what tsx does for this repository's
// sources — erase the TypeScript types of `.ts` files with esbuild — but keep the result in an on-disk
// cache keyed by the file's path and content, and load esbuild only on a cache miss: a start with a
// warm cache costs the loader thread and a file read per module, not tsx and esbuild (measured in
// bench/RESULTS.md). Every other URL goes to Node's own loader untouched. The sources are
// erasable-only TypeScript (tsconfig erasableSyntaxOnly) with explicit `.ts` imports, so no resolution
// work is needed.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { erasureOptions } from './ts-mirror.mjs';

/** Bump when the transform options below change: it is part of every cache key. */
const VERSION = 'asicd-ts-hooks 2';
let cacheDir = '';
let esbuild;

export function initialize(data) {
  cacheDir = data.cacheDir;
}

function transformer() {
  if (!esbuild) {
    // esbuild is tsx's dependency (tsx is a dependency of asicd): resolve it from there.
    const req = createRequire(import.meta.url);
    esbuild = createRequire(req.resolve('tsx/package.json'))('esbuild');
  }
  return esbuild;
}

export async function load(url, context, nextLoad) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return nextLoad(url, context);
  const path = fileURLToPath(url);
  const source = readFileSync(path, 'utf8');
  const key = createHash('sha256')
    .update(`${VERSION}\0${process.versions.node}\0${path}\0`)
    .update(source)
    .digest('hex');
  const file = join(cacheDir, `${key}.mjs`);
  try {
    return { format: 'module', source: readFileSync(file, 'utf8'), shortCircuit: true };
  } catch {
    // not cached yet
  }
  const esb = transformer();
  const { code } = await esb.transform(source, erasureOptions(path));
  try {
    mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, code, { mode: 0o600 });
    renameSync(tmp, file);
  } catch {
    // a read-only or full disk: the next start transforms again
  }
  return { format: 'module', source: code, shortCircuit: true };
}
