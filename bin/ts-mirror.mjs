// The sources as plain ES modules, for Node versions without type stripping (Node 20), loaded with no
// module hooks at all. bin/ts-hooks.mjs (module.register) costs Node 20 a loader thread and two
// cross-thread round trips per module: measured, 0.21 s of the 0.48 s CPU `asicd run` spent importing its
// ~115 modules, against 0.26 s for the same graph as plain `.mjs` files (bench/RESULTS.md). So bin/asicd.js
// first tries this: every `.ts` file under the source directories is type-erased with esbuild once per
// content into a mirrored tree of `.mjs` files (relative `.ts` imports rewritten to `.mjs`), checked
// against the sources on every start (each file read and hashed: a changed file is transformed again, a
// removed one removed: each mirrored file starts with the stat — size, mtime, ctime, inode — and the
// hash of the source it was made from, so an unchanged source is recognised by its stat alone, and is
// read and hashed again when the stat differs or was taken within 2 s of the file's last change, when a
// same-size rewrite could still hide in the timestamps' granularity; header and code are written
// together, atomically, so concurrent starts cannot pair one version's code with another's stamp), and
// the daemon imports the mirror. What a module sees stays the same:
// `import.meta.url` is the source file's URL (files beside it, createRequire, the command summaries), the
// packages resolve from the project's node_modules (a symlink in the mirror), and stack traces map to the
// `.ts` lines (inline source maps). Anything unexpected (a read-only cache, no symlinks) throws, and
// bin/asicd.js falls back to bin/ts-hooks.mjs.
import { createHash } from 'node:crypto';
import {
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Bump when the transform or the layout below changes: it names the mirror directory. */
const VERSION = 'asicd-ts-mirror 3';
/** A stat taken this close to the file's last change (ms) does not prove the content unchanged later. */
const RACY_MS = 2000;
/** Where the daemon's sources are (bin/asicd.js imports nothing outside them). */
export const SOURCE_DIRS = ['host', 'lib', 'drivers', 'firmware', 'boards'];

let esbuild;
function transformer() {
  if (!esbuild) {
    // esbuild is tsx's dependency (tsx is a dependency of asicd): resolve it from there.
    const req = createRequire(import.meta.url);
    esbuild = createRequire(req.resolve('tsx/package.json'))('esbuild');
  }
  return esbuild;
}

/** Repo-relative paths of the `.ts` files under the source directories. */
function sources(root) {
  const out = [];
  const walk = (rel) => {
    for (const e of readdirSync(join(root, rel), { withFileTypes: true })) {
      const r = `${rel}/${e.name}`;
      if (e.isDirectory()) walk(r);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(r);
    }
  };
  for (const d of SOURCE_DIRS) walk(d);
  return out;
}

const writeAtomic = (file, text) => {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  renameSync(tmp, file);
};

/** Relative `.ts` specifiers of static imports/exports and of import() → `.mjs`. */
const TS_SPECIFIER = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s*)(["'])(\.\.?\/[^"'\n]*?)\.ts\2/g;
/** Same length as `import.meta.url`, so no column moves; the function is declared at the end of the file. */
const META_URL = '__asicdSrcU__()';

/** esbuild's options for erasing the types of the file at `path` (also bin/ts-hooks.mjs's). */
export function erasureOptions(path) {
  return {
    loader: 'ts',
    format: 'esm',
    sourcefile: path,
    sourcemap: 'inline',
    sourcesContent: false,
    target: `node${process.versions.node}`,
    tsconfigRaw: { compilerOptions: { verbatimModuleSyntax: true, useDefineForClassFields: true } },
  };
}

/** esbuild's type erasure of one file, made loadable from the mirror (see the header). */
export function transform(root, rel, source) {
  const path = join(root, rel);
  let { code } = transformer().transformSync(source, erasureOptions(path));
  code = code.replace(TS_SPECIFIER, '$1$2$3.mjs$2');
  if (code.includes('import.meta.url')) {
    code = code.replaceAll('import.meta.url', META_URL);
    // Before the source map comment, which Node expects last; a declaration is hoisted with its body.
    const at = code.lastIndexOf('//# sourceMappingURL=');
    const decl = `function ${META_URL.slice(0, -2)}() { return ${JSON.stringify(pathToFileURL(path).href)}; }\n`;
    code = at >= 0 ? code.slice(0, at) + decl + code.slice(at) : code + decl;
  }
  if (code.includes('import.meta')) throw new Error(`ts-mirror: ${rel} uses import.meta beyond .url`);
  return code;
}

const STAMP = 'asicd-ts-mirror';

/**
 * The stamp a mirrored file starts with (a comment ahead of line 1's code, so the source map's lines stay
 * right): {sig, hash, racy, length of the comment}, or undefined.
 */
function stamp(file) {
  let fd;
  try {
    fd = openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const buf = Buffer.alloc(256);
    const n = readSync(fd, buf, 0, buf.length, 0);
    const text = buf.toString('latin1', 0, n);
    const m = /^\/\* asicd-ts-mirror (\S+) (\S+) ([01]) \*\//.exec(text);
    return m ? { sig: m[1], hash: m[2], racy: m[3] === '1', length: m[0].length } : undefined;
  } finally {
    closeSync(fd);
  }
}

/**
 * Brings the mirror of `root`'s sources under `cacheDir` up to date; returns the URL of the mirrored
 * `rel` (a `.ts` path) to import. `racyMs` is for tests.
 */
export function mirror(root, cacheDir, { racyMs = RACY_MS } = {}) {
  const tag = createHash('sha256')
    .update(`${VERSION}\0${process.versions.node}\0${root}`)
    .digest('hex')
    .slice(0, 16);
  const out = join(cacheDir, `tree-${tag}`);
  // The daemon will run what is in there: only from a directory no one else can write to (a shared /tmp
  // could hold one planted by another user).
  mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
  const own = statSync(cacheDir);
  if ((process.getuid && own.uid !== process.getuid()) || own.mode & 0o022)
    throw new Error(`ts-mirror: ${cacheDir} is not private to this user`);
  const want = new Set();
  for (const rel of sources(root)) {
    const mjs = rel.replace(/\.ts$/, '.mjs');
    want.add(mjs);
    const path = join(root, rel);
    const st = statSync(path, { bigint: true });
    const sig = `${st.size}:${st.mtimeNs}:${st.ctimeNs}:${st.ino}`;
    const file = join(out, mjs);
    const had = stamp(file);
    if (had?.sig === sig && !had.racy) continue;
    const source = readFileSync(path, 'utf8');
    const hash = createHash('sha256').update(source).digest('base64');
    const racy = Date.now() - Number(st.ctimeMs) < racyMs ? 1 : 0;
    const head = `/* ${STAMP} ${sig} ${hash} ${racy} */`;
    if (had?.hash === hash) {
      // Same content (touched, copied, or checked again after a racy stamp): a new stamp, the same code.
      writeAtomic(file, head + readFileSync(file, 'utf8').slice(had.length));
      continue;
    }
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    writeAtomic(file, head + transform(root, rel, source));
  }
  // Mirrored files whose source is gone go too (an import of them must fail as it would from the source).
  const prune = (rel) => {
    let entries;
    try {
      entries = readdirSync(join(out, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const r = `${rel}/${e.name}`;
      if (e.isDirectory()) prune(r);
      else if (e.name.endsWith('.mjs') && !want.has(r)) rmSync(join(out, r), { force: true });
    }
  };
  for (const d of SOURCE_DIRS) prune(d);
  // Packages resolve upwards from the importing file: the mirror's node_modules is the project's.
  const link = join(out, 'node_modules');
  const target = join(root, 'node_modules');
  let linked = false;
  try {
    linked = readlinkSync(link) === target;
  } catch {
    // not there yet
  }
  if (!linked) {
    mkdirSync(out, { recursive: true, mode: 0o700 });
    const tmp = `${link}.${process.pid}.tmp`;
    symlinkSync(target, tmp, 'dir');
    renameSync(tmp, link);
  }
  return (rel) => pathToFileURL(join(out, rel.replace(/\.ts$/, '.mjs'))).href;
}
