/**
 * Start-up and memory of the real `bin/asicd.js` in child processes (issue 15): cold `asicd --help`,
 * cold `asicd run` until its chains start initialising (the `chain.state initialising` log line), and
 * the idle daemon's RSS after a settling time (`asicd run --board sim-gamma` against a closed pool port:
 * emulated chain and sensor in the process, the pool retried with backoff). CPU = user + system seconds
 * of the process (process.resourceUsage via bench/startup-probe.mjs), peak RSS = its maxRSS; each figure
 * is the median of several runs. Each Node binary is measured with the loader bin/asicd.js picks (native
 * type stripping on Node ≥ 22.18, with Node's compile cache; on Node 20 bin/ts-mirror.mjs, esbuild into
 * an on-disk tree of .mjs files imported without hooks) and, as the same-run baseline, with tsx (ASICD_LOADER=tsx, with tsx's own transform
 * cache); "cold" = a new process, caches as a second start finds them. One more row each gives the very
 * first start after install (empty cache).
 *
 * One more row per Node gives the idle RSS of the daemon started as deploy/systemd/asicd.service
 * starts it (its NODE_OPTIONS, its own compile cache directory), against the plain start.
 *
 * Node binaries: this process's own, plus any in ASICD_BENCH_NODES (colon-separated paths; .ci/run and
 * README show how to get Node 24 from the npm registry).
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchRow, BenchSuite } from './harness.ts';

const BIN = fileURLToPath(new URL('../bin/asicd.js', import.meta.url));
const PROBE = fileURLToPath(new URL('./startup-probe.mjs', import.meta.url));

interface Probe {
  type: string;
  cpuS: number;
  maxRssMB: number;
  rssMB?: number;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const p = (srv.address() as { port: number }).port;
      srv.close(() => resolve(p));
    });
  });
}

/**
 * Runs `node bin/asicd.js ...args` with the probe; `until` ends the run (SIGTERM) once that probe report
 * arrived (after `idleMs` more, with a SIGUSR2 idle report, when given). Returns all probe reports.
 */
function runAsicd(
  node: string,
  loader: 'auto' | 'tsx',
  args: string[],
  o: { until?: string; idleMs?: number; env?: Record<string, string> } = {},
): Promise<Probe[]> {
  const env = { ...process.env, ...o.env };
  if (loader === 'tsx') env.ASICD_LOADER = 'tsx';
  else delete env.ASICD_LOADER;
  const child = spawn(node, ['--import', PROBE, BIN, ...args], {
    env,
    stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
  });
  const reports: Probe[] = [];
  let buf = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`startup bench: ${args.join(' ')} did not finish`));
    }, 60_000);
    child.stdio[3]!.on('data', (d: Buffer) => {
      buf += d.toString();
      let i = buf.indexOf('\n');
      while (i >= 0) {
        const r = JSON.parse(buf.slice(0, i)) as Probe;
        buf = buf.slice(i + 1);
        reports.push(r);
        if (r.type === o.until) {
          if (o.idleMs) setTimeout(() => child.kill('SIGUSR2'), o.idleMs);
          else child.kill('SIGTERM');
        }
        if (r.type === 'idle') child.kill('SIGTERM');
        i = buf.indexOf('\n');
      }
    });
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      resolve(reports);
    });
  });
}

/**
 * `asicd run` on the emulated sim-gamma board against a closed pool port, with the cgminer API on a free
 * port (it is on by default: a user's daemon serves it; 4028 itself may be taken on a shared machine) and
 * a state file of its own (not the user's).
 */
async function runArgs(poolPort: number, stateDir: string): Promise<string[]> {
  const apiPort = await closedPort();
  return [
    'run',
    '--board',
    'sim-gamma',
    '--pool',
    `stratum+tcp://127.0.0.1:${poolPort}`,
    '--user',
    'bench.startup',
    '--api-listen',
    `127.0.0.1:${apiPort}`,
    '--state-file',
    join(stateDir, 'state.json'),
  ];
}

/**
 * The Environment= lines of deploy/systemd/asicd.service that change how Node runs (NODE_OPTIONS,
 * MALLOC_ARENA_MAX; its compile cache directory is replaced by a temporary one).
 */
function serviceEnv(): Record<string, string> {
  const unit = readFileSync(new URL('../deploy/systemd/asicd.service', import.meta.url), 'utf8');
  const env: Record<string, string> = {};
  for (const m of unit.matchAll(/^Environment=(NODE_OPTIONS|MALLOC_ARENA_MAX)=(.*)$/gm))
    env[m[1]!] = m[2]!.trim();
  return env;
}

function nodes(): string[] {
  const extra = (process.env.ASICD_BENCH_NODES ?? '').split(':').filter(Boolean);
  return [process.execPath, ...extra.filter((n) => n !== process.execPath)];
}

function describe(node: string): { version: string; strips: boolean } {
  const out = execFileSync(node, ['-p', 'process.version + " " + Boolean(process.features.typescript)'], {
    encoding: 'utf8',
  }).trim();
  const [version, strips] = out.split(' ');
  return { version: version!, strips: strips === 'true' };
}

const suite: BenchSuite = {
  name: 'startup',
  async run(ctx) {
    const rows: BenchRow[] = [];
    const stateDir = mkdtempSync(join(tmpdir(), 'asicd-bench-startup-'));
    const runs = ctx.scale < 1 ? 3 : 5;
    const idleMs = ctx.scale < 1 ? 4000 : 10_000;
    for (const node of nodes()) {
      const { version, strips } = describe(node);
      // bin/asicd.js: Node's own type stripping where it has it, else bin/ts-mirror.mjs (esbuild, no hooks).
      const how = strips ? 'type stripping' : 'esbuild .mjs mirror';
      const loaders: Array<'auto' | 'tsx'> = ['auto', 'tsx'];
      const fig: Record<string, { help: Probe[]; init: Probe[]; idle: Probe[] }> = {};
      for (const loader of loaders) {
        const f = { help: [] as Probe[], init: [] as Probe[], idle: [] as Probe[] };
        for (let i = 0; i < runs; i++) {
          const h = await runAsicd(node, loader, ['--help']);
          f.help.push(h.find((r) => r.type === 'exit')!);
          const port = await closedPort();
          const last = i === runs - 1 || ctx.scale >= 1;
          const r = await runAsicd(
            node,
            loader,
            await runArgs(port, stateDir),
            last ? { until: 'init', idleMs } : { until: 'init' },
          );
          const init = r.find((x) => x.type === 'init');
          if (!init) throw new Error(`startup bench: no "initialising" line from asicd run (${version})`);
          f.init.push(init);
          const idle = r.find((x) => x.type === 'idle');
          if (idle) f.idle.push(idle);
        }
        fig[loader] = f;
        ctx.log(
          `  ${version} ${loader === 'auto' ? how : 'tsx'}: --help ${median(f.help.map((p) => p.cpuS)).toFixed(2)} s CPU`,
        );
      }
      {
        // The very first start after `npm ci`: an empty compile cache, so Node's type stripper (or, on
        // Node 20, esbuild) runs on every file.
        const dir = mkdtempSync(join(tmpdir(), 'asicd-bench-cc-'));
        try {
          const h = await runAsicd(node, 'auto', ['--help'], { env: { NODE_COMPILE_CACHE: dir } });
          const port = await closedPort();
          const r = await runAsicd(node, 'auto', await runArgs(port, stateDir), {
            until: 'init',
            env: { NODE_COMPILE_CACHE: join(dir, 'run') },
          });
          const first = [h.find((x) => x.type === 'exit'), r.find((x) => x.type === 'init')];
          rows.push(
            {
              suite: 'startup',
              name: `first \`asicd --help\` after install (empty compile cache), CPU (${version})`,
              value: first[0]!.cpuS,
              unit: 's',
            },
            {
              suite: 'startup',
              name: `first \`asicd run\` to chains initialising (empty compile cache), CPU (${version})`,
              value: first[1]!.cpuS,
              unit: 's',
            },
          );
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }
      const main = fig[loaders[0]!]!;
      const base = fig.tsx!;
      const label = `${version}, ${how}`;
      const row = (
        name: string,
        unit: string,
        pick: (f: { help: Probe[]; init: Probe[]; idle: Probe[] }) => number,
        target?: number,
      ): void => {
        const value = pick(main);
        const r: BenchRow = { suite: 'startup', name: `${name} (${label})`, value, unit, better: 'lower' };
        {
          const b = pick(base);
          r.baseline = { name: `tsx on ${version}`, value: b };
          r.ratio = value / b;
        }
        if (target !== undefined) r.target = { op: '<=', value: target };
        rows.push(r);
      };
      row('cold `asicd --help`, CPU, median', 's', (f) => median(f.help.map((p) => p.cpuS)), 0.3);
      row('cold `asicd --help`, peak RSS, median', 'MB', (f) => median(f.help.map((p) => p.maxRssMB)));
      row(
        'cold `asicd run` to chains initialising, CPU, median',
        's',
        (f) => median(f.init.map((p) => p.cpuS)),
        0.3,
      );
      row('cold `asicd run` to chains initialising, peak RSS, median', 'MB', (f) =>
        median(f.init.map((p) => p.maxRssMB)),
      );
      row(
        `idle \`asicd run\` (sim-gamma, pool down) RSS after ${idleMs / 1000} s`,
        'MB',
        (f) => median(f.idle.map((p) => p.rssMB!)),
        64,
      );

      // The idle daemon as deploy/systemd/asicd.service starts it: its NODE_OPTIONS (a smaller young
      // generation) and its own compile cache directory, which a second start finds filled (one warm-up
      // start fills it here: V8 flags are part of the cache's key).
      const svc = serviceEnv();
      const cacheDir = mkdtempSync(join(tmpdir(), 'asicd-bench-svc-cc-'));
      try {
        const env = { ...svc, NODE_COMPILE_CACHE: cacheDir };
        await runAsicd(node, loaders[0]!, await runArgs(await closedPort(), stateDir), {
          until: 'init',
          env,
        });
        const idle: number[] = [];
        for (let i = 0; i < Math.max(2, runs - 2); i++) {
          const r = await runAsicd(node, loaders[0]!, await runArgs(await closedPort(), stateDir), {
            until: 'init',
            idleMs,
            env,
          });
          const p = r.find((x) => x.type === 'idle');
          if (p) idle.push(p.rssMB!);
        }
        const plain = median(main.idle.map((p) => p.rssMB!));
        rows.push({
          suite: 'startup',
          name: `idle \`asicd run\` RSS after ${idleMs / 1000} s, started as the systemd unit does (${Object.entries(
            svc,
          )
            .map(([k, v]) => `${k}=${v}`)
            .join(' ')}) (${label})`,
          value: median(idle),
          unit: 'MB',
          baseline: { name: "the same without the unit's environment", value: plain },
          ratio: median(idle) / plain,
          better: 'lower',
          target: { op: '<=', value: 64 },
        });
      } finally {
        rmSync(cacheDir, { recursive: true, force: true });
      }
    }
    rmSync(stateDir, { recursive: true, force: true });
    return rows;
  },
};
export default suite;
