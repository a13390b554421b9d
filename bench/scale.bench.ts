/**
 * Farm-sized run: 3 chains × 126 emulated BM1370 chips replaying nonce frames at a total of 5 000/s for
 * 60 s (12 s with --quick) through the daemon pipeline: UART bytes (serialport on a socat pty) → decode →
 * slot lookup → host verification (double SHA-256 of every nonce) → classification → mining.submit of
 * the shares over TCP to the embedded pool, which re-checks and answers each.
 *
 * Two processes so the figures are the daemon's own: bench/scale-farm.ts (pool + emulated chains, in
 * REPLAY mode: pre-computed valid nonces, no hashing) and bench/scale-daemon.ts (the Miner). Measured:
 * daemon CPU (process.cpuUsage delta / wall, % of one core) and RSS (max of 200 ms samples), frames lost
 * (nonce frames the emulators sent vs frames the drivers decoded), and every nonce verified (host checks
 * == nonce frames decoded, no unknown slot). Baseline, same run: an idle node + tsx process's RSS, and the
 * farm process's CPU for the same window (what producing the traffic costs).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import type { BenchContext, BenchRow, BenchSuite } from './harness.ts';
import { sleep } from './rig.ts';
import type { DaemonConfig } from './scale-daemon.ts';
import type { FarmConfig } from './scale-farm.ts';

const CHAINS = 3;
const CHIPS = 126;
const TOTAL_PER_SECOND = 5000;
const ZERO_BITS = 4;
/** Shares need about ZERO_BITS + 7 leading zero bits: one replayed nonce in 128 is a share. */
const POOL_DIFFICULTY = 2 ** (ZERO_BITS + 7 - 32);

type Msg = { type: string; [k: string]: unknown };

class Child {
  private readonly waiters: Array<{ type: string; resolve: (m: Msg) => void }> = [];
  readonly exited: Promise<void>;
  private err = '';
  readonly proc: ChildProcess;
  constructor(proc: ChildProcess) {
    this.proc = proc;
    proc.on('message', (m: Msg) => {
      const i = this.waiters.findIndex((w) => w.type === m.type);
      if (i >= 0) this.waiters.splice(i, 1)[0]!.resolve(m);
    });
    proc.stderr?.on('data', (d: Buffer) => {
      this.err = (this.err + d.toString()).slice(-4000);
    });
    this.exited = new Promise((r) => proc.once('exit', () => r()));
  }
  next<T extends Msg>(type: string, timeoutMs = 120_000): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`bench: no "${type}" from child: ${this.err}`)), timeoutMs);
      const w = {
        type,
        resolve: (m: Msg) => {
          clearTimeout(t);
          resolve(m as T);
        },
      };
      this.waiters.push(w);
      void this.exited.then(() => {
        clearTimeout(t);
        reject(new Error(`bench: child exited while waiting for "${type}": ${this.err}`));
      });
    });
  }
  send(m: Msg): void {
    if (this.proc.connected) this.proc.send(m);
  }
  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.send({ type: 'exit' });
    const done = await Promise.race([this.exited.then(() => true), sleep(5000).then(() => false)]);
    if (!done) {
      this.proc.kill('SIGTERM');
      await this.exited;
    }
  }
}

function spawnChild(file: string, arg: unknown, execArgv: string[] = []): Child {
  return new Child(
    fork(new URL(file, import.meta.url).pathname, [JSON.stringify(arg)], {
      execArgv: ['--import', 'tsx', ...execArgv],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    }),
  );
}

/** RSS of a node + tsx process that loads nothing and idles (what any TypeScript daemon starts from). */
async function bareRssMB(): Promise<number> {
  const c = new Child(
    fork(new URL('./rig.ts', import.meta.url).pathname, [], {
      execArgv: [
        '--import',
        'tsx',
        '--eval',
        'setTimeout(() => process.send({ type: "rss", rss: process.memoryUsage.rss() }), 1000)',
      ],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    }),
  );
  const m = await c.next<{ type: string; rss: number }>('rss', 30_000);
  c.proc.kill('SIGTERM');
  await c.exited;
  return m.rss / 2 ** 20;
}

export interface ScaleResult {
  seconds: number;
  cpuPercent: number;
  userPercent: number;
  rssMaxMB: number;
  rssEndMB: number;
  farmCpuPercent: number;
  sent: number;
  decoded: number;
  hostChecks: number;
  shares: number;
  accepted: number;
  rejected: number;
  poolAccepted: number;
  poolRejected: number;
  unknownSlot: number;
  hardwareErrors: number;
  crcErrors: number;
  registerSent: number;
  registerDecoded: number;
  precomputeMs: number;
  versions: number;
}

export async function runScale(ctx: BenchContext, seconds: number): Promise<ScaleResult> {
  const perChain = TOTAL_PER_SECOND / CHAINS;
  const farmCfg: FarmConfig = {
    chains: CHAINS,
    chips: CHIPS,
    noncesPerChain: Math.ceil(perChain * (seconds + 5)),
    zeroBits: ZERO_BITS,
    poolDifficulty: POOL_DIFFICULTY,
  };
  const farm = spawnChild('./scale-farm.ts', farmCfg);
  let daemon: Child | undefined;
  try {
    const ready = await farm.next<{ type: string; url: string; links: string[] }>('ready');
    const dCfg: DaemonConfig = {
      url: ready.url,
      links: ready.links,
      chips: CHIPS,
      // Host ticket floor just under the replayed nonces' 2^-ZERO_BITS: all of them classify (low/share).
      hostTicketDifficulty: 2 ** (ZERO_BITS - 33),
    };
    const prof = ctx.profileDir;
    if (prof) mkdirSync(prof, { recursive: true });
    daemon = spawnChild('./scale-daemon.ts', dCfg, prof ? ['--cpu-prof', '--cpu-prof-dir', prof] : []);
    await daemon.next('ready', 120_000);
    await sleep(1500); // let init traffic and the first counter polls settle
    farm.send({ type: 'prepare' });
    const prep = await farm.next<{ type: string; precomputeMs: number; nonces: number; versions: number }>(
      'prepared',
    );
    ctx.log(
      `  farm: ${prep.nonces} replay nonces for the chains' current headers, ${prep.versions} rolled versions, pre-computed in ${prep.precomputeMs.toFixed(0)} ms`,
    );
    daemon.send({ type: 'start' });
    await daemon.next('started');
    farm.send({ type: 'stats' });
    const farm0 = await farm.next<{ type: string; cpu: NodeJS.CpuUsage; replayed: number }>('stats');
    const f0 = performance.now();
    farm.send({ type: 'replay', perSecondPerChain: perChain });
    await sleep(seconds * 1000);
    daemon.send({ type: 'end' });
    const win = await daemon.next<{
      type: string;
      cpuPercent: number;
      userPercent: number;
      rssMaxMB: number;
      rssEndMB: number;
      wallMs: number;
    }>('window');
    farm.send({ type: 'stop-replay' });
    farm.send({ type: 'stats' });
    const farm1 = await farm.next<{ type: string; cpu: NodeJS.CpuUsage }>('stats');
    const farmCpu =
      ((farm1.cpu.user + farm1.cpu.system - farm0.cpu.user - farm0.cpu.system) /
        1000 /
        (performance.now() - f0)) *
      100;
    // Drain: everything sent must arrive and be answered.
    await sleep(1500);
    farm.send({ type: 'stats' });
    const fs = await farm.next<{
      type: string;
      replayed: number;
      nonceReplies: number;
      registerReplies: number;
      pool: { accepted: number; rejected: number };
    }>('stats');
    daemon.send({ type: 'stats' });
    const ds = await daemon.next<{ type: string; counters: Record<string, number> }>('stats');
    const c = ds.counters;
    return {
      seconds: win.wallMs / 1000,
      cpuPercent: win.cpuPercent,
      userPercent: win.userPercent,
      rssMaxMB: win.rssMaxMB,
      rssEndMB: win.rssEndMB,
      farmCpuPercent: farmCpu,
      sent: fs.nonceReplies,
      decoded: c.decodedNonceFrames!,
      hostChecks: c.hostChecks!,
      shares: c.shares!,
      accepted: c.accepted!,
      rejected: c.rejected!,
      poolAccepted: fs.pool.accepted,
      poolRejected: fs.pool.rejected,
      unknownSlot: c.unknownSlot!,
      hardwareErrors: c.hardwareErrors!,
      crcErrors: c.crcErrors!,
      registerSent: fs.registerReplies,
      registerDecoded: c.decodedRegisterFrames!,
      precomputeMs: prep.precomputeMs,
      versions: prep.versions,
    };
  } finally {
    await daemon?.stop();
    await farm.stop();
  }
}

const suite: BenchSuite = {
  name: 'scale',
  async run(ctx) {
    const seconds = ctx.scale >= 1 ? 60 : Math.max(6, Math.round(30 * ctx.scale));
    const r = await runScale(ctx, seconds);
    const bare = await bareRssMB();
    ctx.log(
      `  scale: ${r.sent} nonce frames sent, ${r.decoded} decoded, ${r.hostChecks} host checks, ${r.shares} shares submitted (pool accepted ${r.poolAccepted}, rejected ${r.poolRejected}), unknown slot ${r.unknownSlot}, hw errors ${r.hardwareErrors}, CRC errors ${r.crcErrors}, register frames ${r.registerSent}/${r.registerDecoded}`,
    );
    const what = `${CHAINS} × ${CHIPS} BM1370, ${TOTAL_PER_SECOND} nonces/s replayed (pre-computed), ${r.seconds.toFixed(0)} s`;
    const rows: BenchRow[] = [
      {
        suite: 'scale',
        name: `daemon CPU, ${what}`,
        value: r.cpuPercent,
        unit: '% of a core',
        baseline: { name: 'farm process (pool + 3 emulators) CPU', value: r.farmCpuPercent },
        ratio: r.cpuPercent / r.farmCpuPercent,
        better: 'lower',
        target: { op: '<=', value: 25 },
        note: `user ${r.userPercent.toFixed(1)} %`,
      },
      {
        suite: 'scale',
        name: 'daemon RSS (max over the run)',
        value: r.rssMaxMB,
        unit: 'MB',
        baseline: { name: 'idle node + tsx process', value: bare },
        ratio: r.rssMaxMB / bare,
        better: 'lower',
        target: { op: '<=', value: 150 },
      },
      {
        suite: 'scale',
        name: `nonce frames lost (${r.sent} sent by the emulators)`,
        value: r.sent - r.decoded,
        unit: 'frames',
        better: 'lower',
        target: { op: '<=', value: 0 },
        note: `register frames ${r.registerSent} sent / ${r.registerDecoded} decoded`,
      },
      {
        suite: 'scale',
        name: `nonces not verified on the host (${r.decoded} decoded)`,
        value: r.decoded - r.hostChecks + r.unknownSlot,
        unit: 'nonces',
        better: 'lower',
        target: { op: '<=', value: 0 },
      },
      {
        suite: 'scale',
        name: `shares submitted and accepted by the pool (${r.shares} submitted)`,
        value: r.poolAccepted,
        unit: 'shares',
        baseline: { name: 'shares submitted', value: r.shares },
        ratio: r.poolAccepted / Math.max(1, r.shares),
        better: 'higher',
        note: `pool rejected ${r.poolRejected}`,
      },
    ];
    return rows;
  },
};

export default suite;
