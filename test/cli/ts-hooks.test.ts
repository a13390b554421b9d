/**
 * bin/ts-hooks.mjs, the loader bin/asicd.js uses where Node cannot strip types itself (Node 20): its load
 * hook erases the types of a `.ts` file with esbuild, serves the same content from its cache on the next
 * load (without esbuild), transforms again when the file changes, and passes every other URL to the next
 * loader. Called directly here (the daemon's e2e tests run it for real on Node 20); and the real
 * bin/asicd.js on this Node reports the loader it picked (`asicd selfcheck`) and runs with it.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

interface LoadResult {
  format: string;
  source: string;
  shortCircuit?: boolean;
}
type Next = (url: string, ctx: object) => LoadResult;
const hooks = (await import(new URL('../../bin/ts-hooks.mjs', import.meta.url).href)) as {
  initialize(data: { cacheDir: string }): void;
  load(url: string, ctx: object, next: Next): Promise<LoadResult>;
};

test('ts-hooks: types erased by esbuild, cached by content, other URLs passed on', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'asicd-ts-hooks-'));
  try {
    const cacheDir = join(dir, 'cache');
    hooks.initialize({ cacheDir });
    const file = join(dir, 'm.ts');
    writeFileSync(
      file,
      "import type { Buffer } from 'node:buffer';\nexport const n: number = 41 + 1;\nexport class C {\n  x: number;\n  constructor() {\n    this.x = n;\n  }\n}\nexport type B = Buffer;\n",
    );
    const url = pathToFileURL(file).href;
    const noNext: Next = () => assert.fail('a .ts file must not reach the next loader');

    const first = await hooks.load(url, {}, noNext);
    assert.equal(first.format, 'module');
    assert.equal(first.shortCircuit, true);
    assert.doesNotMatch(first.source, /: number|import type|type B/);
    assert.match(first.source, /const n = 41 \+ 1;/);
    const mod = (await import(`data:text/javascript,${encodeURIComponent(first.source)}`)) as {
      n: number;
      C: new () => { x: number };
    };
    assert.equal(mod.n, 42);
    assert.equal(new mod.C().x, 42);
    const cached = readdirSync(cacheDir);
    assert.equal(cached.length, 1);

    // The next load of the same content is served from the cache (a marked entry proves it).
    writeFileSync(join(cacheDir, cached[0]!), 'export const n = "from the cache";\n');
    assert.match((await hooks.load(url, {}, noNext)).source, /from the cache/);

    // Changed content: transformed again, under a new key.
    writeFileSync(file, 'export const n: number = 7;\n');
    assert.match((await hooks.load(url, {}, noNext)).source, /const n = 7;/);
    assert.equal(readdirSync(cacheDir).length, 2);

    // Not a .ts file: Node's own loader.
    const other = { format: 'json', source: '{}' };
    assert.equal(await hooks.load('file:///x/data.json', {}, () => other), other);
    assert.equal(await hooks.load('node:fs', {}, () => other), other);
    assert.ok(readFileSync(join(cacheDir, cached[0]!), 'utf8').length > 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bin/asicd.js picks type stripping where Node has it, else the mirrored tree (bin/ts-mirror.mjs), else bin/ts-hooks.mjs, tsx when asked', async () => {
  const bin = fileURLToPath(new URL('../../bin/asicd.js', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'asicd-ts-hooks-bin-'));
  try {
    const run = async (env: Record<string, string>) =>
      (
        await promisify(execFile)(process.execPath, [bin, 'selfcheck'], {
          env: { ...process.env, NODE_COMPILE_CACHE: dir, ...env },
          timeout: 120_000,
        })
      ).stdout;
    const strips = Boolean((process.features as { typescript?: unknown }).typescript);
    const auto = await run({});
    assert.match(auto, /selfcheck passed/);
    assert.match(
      auto,
      strips
        ? /TypeScript loader: node \S+ type stripping/
        : /TypeScript loader: esbuild type erasure into a mirrored/,
    );
    if (!strips) {
      const [tree] = readdirSync(join(dir, 'asicd-ts'));
      assert.match(
        readFileSync(join(dir, 'asicd-ts', tree!, 'host', 'cli.mjs'), 'utf8'),
        /from "\.\/version\.mjs"/,
      );
      const hooked = await run({ ASICD_LOADER: 'hooks' });
      assert.match(hooked, /selfcheck passed/);
      assert.match(hooked, /TypeScript loader: esbuild type erasure with a cache/);
      assert.ok(readdirSync(join(dir, 'asicd-ts')).length > 10, 'the stripped files are cached');
    }
    assert.match(await run({ ASICD_LOADER: 'tsx' }), /TypeScript loader: tsx/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
