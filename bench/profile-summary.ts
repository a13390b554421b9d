/**
 * Summarises a V8 CPU profile (`node --cpu-prof`, or `npm run bench -- --profile DIR` for the scale run's
 * daemon process): self time per function and per file, top first.
 *
 *   node --import tsx bench/profile-summary.ts FILE.cpuprofile [--top 30] [--filter substring]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface SelfTime {
  name: string;
  ms: number;
  percent: number;
}

function shortUrl(url: string): string {
  const i = url.indexOf('/work/main/');
  if (i >= 0) return url.slice(i + 11);
  const nm = url.lastIndexOf('node_modules/');
  return nm >= 0 ? url.slice(nm) : url || '(native)';
}

/** Self time by function ("name file:line") and by file, in ms and % of the profile. */
export function summarise(p: Profile): { total: number; byFunction: SelfTime[]; byFile: SelfTime[] } {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const id = p.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (p.timeDeltas[i] ?? 0));
  }
  const fn = new Map<string, number>();
  const file = new Map<string, number>();
  let total = 0;
  for (const [id, us] of selfUs) {
    const n = byId.get(id);
    if (!n) continue;
    total += us;
    const f = shortUrl(n.callFrame.url);
    const name = `${n.callFrame.functionName || '(anonymous)'} ${f}:${n.callFrame.lineNumber + 1}`;
    fn.set(name, (fn.get(name) ?? 0) + us);
    file.set(f, (file.get(f) ?? 0) + us);
  }
  const list = (m: Map<string, number>) =>
    [...m.entries()]
      .map(([name, us]) => ({ name, ms: us / 1000, percent: (us / total) * 100 }))
      .sort((a, b) => b.ms - a.ms);
  return { total: total / 1000, byFunction: list(fn), byFile: list(file) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const file = args.find((a) => !a.startsWith('--'));
  if (!file) {
    console.error('usage: profile-summary.ts FILE.cpuprofile [--top N] [--filter text]');
    process.exit(2);
  }
  const ti = args.indexOf('--top');
  const top = ti >= 0 ? Number(args[ti + 1]) : 30;
  const fi = args.indexOf('--filter');
  const filter = fi >= 0 ? args[fi + 1] : undefined;
  const s = summarise(JSON.parse(readFileSync(file, 'utf8')) as Profile);
  const show = (title: string, rows: SelfTime[]) => {
    console.log(`\n${title} (profile ${s.total.toFixed(0)} ms)`);
    for (const r of rows.filter((r) => !filter || r.name.includes(filter)).slice(0, top)) {
      console.log(`${r.ms.toFixed(1).padStart(9)} ms ${r.percent.toFixed(1).padStart(5)} %  ${r.name}`);
    }
  };
  show('self time by function', s.byFunction);
  show('self time by file', s.byFile);
}
