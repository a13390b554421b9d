/**
 * The benchmark harness. Every bench/*.bench.ts module default-exports a BenchSuite; bench/run.ts
 * runs them all and prints one table (or JSON with --json). Every figure that has a natural baseline
 * reports it, measured in the same run, and the ratio, so results compare across machines.
 */
import { cpus, totalmem } from 'node:os';

export interface BenchRow {
  suite: string;
  name: string;
  value: number;
  unit: string;
  /** Same quantity measured for the baseline implementation in the same run. */
  baseline?: { name: string; value: number };
  /** value / baseline.value (or the inverse for "lower is better" units; see better). */
  ratio?: number;
  better?: 'higher' | 'lower';
  /** Target from the issue, e.g. { op: '>=', value: 1.2e6 }. */
  target?: { op: '>=' | '<='; value: number };
  note?: string;
}

export interface BenchContext {
  /** Scale factor: 1 normally, smaller with --quick. */
  scale: number;
  log(line: string): void;
  /** `--profile DIR`: suites that run the daemon in a child process write a V8 CPU profile there. */
  profileDir?: string;
}

export interface BenchSuite {
  name: string;
  run(ctx: BenchContext): Promise<BenchRow[]>;
}

export function machine(): Record<string, string | number> {
  const c = cpus();
  return {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpu: c[0]?.model ?? 'unknown',
    cores: c.length,
    memGiB: Math.round(totalmem() / 2 ** 30),
  };
}

/** Percentile of a sample (nearest-rank). */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

/** Runs fn repeatedly for at least `ms` and returns operations per second (fn returns ops done). */
export function rate(fn: () => number, ms: number): number {
  let ops = fn(); // warm-up
  ops = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    ops += fn();
    now = performance.now();
  }
  return ops / ((now - start) / 1000);
}

/**
 * Like rate(), timed by this process's CPU time (user + system, all threads) instead of the wall clock:
 * on a shared machine a wall-clock rate falls whenever another process holds the core, CPU time does
 * not. For compute-bound loops compared with a native reference that is timed the same way
 * (bench/native/sha256d-openssl.c uses CLOCK_PROCESS_CPUTIME_ID).
 */
export function cpuRate(fn: () => number, ms: number): number {
  const cpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  let ops = fn(); // warm-up
  ops = 0;
  const start = cpu();
  let now = start;
  while (now - start < ms) {
    ops += fn();
    now = cpu();
  }
  return ops / ((now - start) / 1000);
}

export function targetMet(row: BenchRow): boolean | undefined {
  if (!row.target) return undefined;
  return row.target.op === '>=' ? row.value >= row.target.value : row.value <= row.target.value;
}
