/**
 * `npm run bench [-- --json] [-- --quick] [-- --only name]`: runs every bench/*.bench.ts suite.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { type BenchRow, type BenchSuite, machine, targetMet } from './harness.ts';

const args = process.argv.slice(2);
const json = args.includes('--json');
const quick = args.includes('--quick');
const onlyIdx = args.indexOf('--only');
const only = onlyIdx >= 0 ? args[onlyIdx + 1] : undefined;

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
  rows.push(...(await suite.run({ scale: quick ? 0.2 : 1, log })));
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
