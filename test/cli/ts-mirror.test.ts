/**
 * bin/ts-mirror.mjs, what bin/asicd.js loads the sources through on Node 20: a mirrored tree of type-erased
 * `.mjs` files imported with no module hooks. Checked here on a small project of its own: the mirrored
 * modules behave as the sources (relative imports, a package from the project's node_modules,
 * `import.meta.url` of the source file, types erased), an unchanged file is served from the mirror by its
 * stat alone (proven with a marked mirrored file), a changed one is transformed again — also a same-size
 * rewrite that restores the old mtime, and a change within the timestamps' granularity —, and a removed
 * source takes its mirrored file with it. bin/asicd.js itself runs through it in every e2e test on Node 20.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

const mirrorModule = new URL('../../bin/ts-mirror.mjs', import.meta.url).href;
const { mirror } = (await import(mirrorModule)) as {
  mirror(root: string, cacheDir: string, o?: { racyMs?: number }): (rel: string) => string;
};

/** Imports `url` in a fresh Node process (no module cache) and returns what it prints of `expr`. */
function evaluate(url: string, expr: string): unknown {
  const out = execFileSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const m = await import(${JSON.stringify(url)}); console.log(JSON.stringify(${expr}));`,
    ],
    { encoding: 'utf8', timeout: 60_000 },
  );
  return JSON.parse(out);
}

function project(): string {
  const root = mkdtempSync(join(tmpdir(), 'asicd-ts-mirror-'));
  for (const d of ['host/sub', 'lib', 'drivers', 'firmware', 'boards', 'node_modules/pkg'])
    mkdirSync(join(root, d), { recursive: true });
  writeFileSync(
    join(root, 'node_modules/pkg/package.json'),
    '{"name":"pkg","type":"module","exports":"./index.js"}',
  );
  writeFileSync(join(root, 'node_modules/pkg/index.js'), 'export const fromPkg = "pkg";\n');
  writeFileSync(join(root, 'host/data.txt'), 'beside the source');
  writeFileSync(
    join(root, 'host/main.ts'),
    [
      "import { readFileSync } from 'node:fs';",
      "import { fromPkg } from 'pkg';",
      "import type { Other } from './sub/b.ts';",
      "import { b } from './sub/b.ts';",
      'export const n: number = 41 + 1;',
      'export const here: string = import.meta.url;',
      "export const data: string = readFileSync(new URL('./data.txt', import.meta.url), 'utf8');",
      'export const pkg: string = fromPkg;',
      'export const sub: Other = b;',
      "export const later = async (): Promise<string> => (await import('./sub/b.ts')).b;",
      '',
    ].join('\n'),
  );
  writeFileSync(join(root, 'host/sub/b.ts'), "export type Other = string;\nexport const b: Other = 'b1';\n");
  return root;
}

test('ts-mirror: the mirrored modules behave as the sources', () => {
  const root = project();
  try {
    const url = mirror(root, join(root, 'cache'))('host/main.ts');
    assert.ok(fileURLToPath(url).startsWith(join(root, 'cache')), url);
    const got = evaluate(
      url,
      '{ n: m.n, here: m.here, data: m.data, pkg: m.pkg, sub: m.sub, later: await m.later() }',
    );
    assert.deepEqual(got, {
      n: 42,
      here: pathToFileURL(join(root, 'host/main.ts')).href,
      data: 'beside the source',
      pkg: 'pkg',
      sub: 'b1',
      later: 'b1',
    });
    assert.doesNotMatch(readFileSync(fileURLToPath(url), 'utf8'), /: number|import type|import\.meta/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('ts-mirror: unchanged files come from the mirror by their stat; changed and removed ones do not', () => {
  const root = project();
  try {
    const cache = join(root, 'cache');
    const stable = { racyMs: 0 }; // stamps taken "long after" the last change: the stat alone decides
    const at = mirror(root, cache, stable);
    const b = fileURLToPath(at('host/sub/b.ts'));
    const src = join(root, 'host/sub/b.ts');

    // Unchanged source: the mirrored file is not rebuilt (a marked one is served as it is).
    const marked = readFileSync(b, 'utf8').replace("'b1'", "'marked'").replace('"b1"', '"marked"');
    writeFileSync(b, marked);
    mirror(root, cache, stable);
    assert.equal(evaluate(at('host/sub/b.ts'), 'm.b'), 'marked');

    // Same size, old mtime restored (as cp -p or tar do): the ctime still moves, so it is seen.
    const old = statSync(src);
    writeFileSync(src, "export type Other = string;\nexport const b: Other = 'b2';\n");
    utimesSync(src, old.atime, old.mtime);
    mirror(root, cache, stable);
    assert.equal(evaluate(at('host/sub/b.ts'), 'm.b'), 'b2');

    // A stamp taken right after a change (racy) is not trusted: the next start reads and hashes the file
    // again. Simulated: the source changes within "the same tick", i.e. the stamp carries the stat the
    // changed file has now but the hash of the old content. Trusted as not racy, the old code would be
    // served; flagged racy, the change is seen.
    writeFileSync(src, "export type Other = string;\nexport const b: Other = 'b3';\n");
    const st = statSync(src, { bigint: true });
    const sig = `${st.size}:${st.mtimeNs}:${st.ctimeNs}:${st.ino}`;
    const forge = (racy: 0 | 1) =>
      writeFileSync(
        b,
        readFileSync(b, 'utf8').replace(
          /^\/\* asicd-ts-mirror \S+ (\S+) [01] \*\//,
          `/* asicd-ts-mirror ${sig} $1 ${racy} */`,
        ),
      );
    forge(0);
    mirror(root, cache, stable);
    assert.equal(evaluate(at('host/sub/b.ts'), 'm.b'), 'b2');
    forge(1);
    mirror(root, cache, stable);
    assert.equal(evaluate(at('host/sub/b.ts'), 'm.b'), 'b3');

    // A removed source: its mirrored file goes, so importing it fails as it would from the sources.
    rmSync(src);
    mirror(root, cache, stable);
    assert.equal(existsSync(b), false);
    assert.ok(existsSync(fileURLToPath(at('host/main.ts'))));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('ts-mirror: refuses a cache directory others can write to (bin/asicd.js then uses its load hook)', () => {
  const root = project();
  try {
    const cache = join(root, 'cache');
    mkdirSync(cache, { mode: 0o700 });
    chmodSync(cache, 0o777);
    assert.throws(() => mirror(root, cache), /not private/);
    chmodSync(cache, 0o700);
    assert.ok(mirror(root, cache)('host/main.ts').startsWith('file:'));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
