/**
 * `npm run bench [-- --json] [-- --quick] [-- --only name] [-- --profile DIR]`: runs every bench/*.bench.ts
 * suite and prints one table (JSON to stdout and bench/results.json with --json). --profile makes the
 * suites that run the daemon in a child process (scale) write a V8 CPU profile into DIR; summarise it
 * with `node --import tsx bench/profile-summary.ts DIR/*.cpuprofile`.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { type BenchRow, type BenchSuite, machine, targetMet } from './harness.ts';

const args = process.argv.slice(2);
const json = args.includes('--json');
const quick = args.includes('--quick');
const onlyIdx = args.indexOf('--only');
const only = onlyIdx >= 0 ? args[onlyIdx + 1] : undefined;
const profIdx = args.indexOf('--profile');
const profileDir = profIdx >= 0 ? args[profIdx + 1] : undefined;

const dir = new URL('./', import.meta.url);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .sort();
const rows: BenchRow[] = [];
const log = (line: string) => process.stderr.write(`${line}\n`);
log(`asicd bench on ${JSON.stringify(machine())}`);
for (const f of files) {
  const suite = (await import(new URL(f, dir).href)).default as BenchSuite;
  if (only && !suite.name.includes(only)) continue;
  log(`running ${suite.name} ...`);
  const t0 = performance.now();
  rows.push(...(await suite.run({ scale: quick ? 0.2 : 1, log, ...(profileDir ? { profileDir } : {}) })));
  log(`  ${suite.name}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

const fmt = (v: number) =>
  Math.abs(v) >= 1000 ? Math.round(v).toLocaleString('en-US') : Number(v.toPrecision(4)).toString();
if (json) {
  const out = { date: new Date().toISOString(), machine: machine(), rows };
  writeFileSync('bench/results.json', `${JSON.stringify(out, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
} else {
  const table = rows.map((r) => ({
    suite: r.suite,
    figure: r.name,
    value: `${fmt(r.value)} ${r.unit}`,
    baseline: r.baseline ? `${fmt(r.baseline.value)} (${r.baseline.name})` : '',
    ratio: r.ratio !== undefined ? `${r.ratio.toFixed(2)}x` : '',
    target: r.target ? `${r.target.op} ${fmt(r.target.value)} ${targetMet(r) ? 'ok' : 'MISSED'}` : '',
  }));
  const cols = ['suite', 'figure', 'value', 'baseline', 'ratio', 'target'] as const;
  const w = cols.map((c) => Math.max(c.length, ...table.map((t) => t[c].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(w[i]!)).join(' | ');
  console.log(line([...cols]));
  console.log(w.map((n) => '-'.repeat(n)).join('-|-'));
  for (const t of table) console.log(line(cols.map((c) => t[c])));
}
