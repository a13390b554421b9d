/**
 * Daemon latencies through the real code paths:
 *
 *   embedded StratumServer (own thread) ──TCP 127.0.0.1──► StratumClient ► PoolManager ► Miner ► ChainScheduler (× N)
 *        ► DriverChain / Bm13xxChain ► ProbeTransport ► in-process emulated BM1370 chain
 *
 * - notify → job frames: from the notify line arriving on the client's socket (a probe on the real TCP
 *   socket) to the job frame of the last chain being handed to its transport, for 4 and 12 chains.
 *   Baseline, same run: writing a precomputed job frame to the same N transports.
 * - nonce → submit: from the last byte of a BM1370 nonce reply entering the chain transport to the
 *   `mining.submit` line being written on the pool socket (decode → slot → host check → classify →
 *   submit). The nonces are real shares of the current work (pre-computed with the emulator's
 *   independent search, each with its own rolled version, as a BM1370 reports them); the pool must
 *   accept every one. Baseline: the same bytes into a bare link whose listener writes a precomputed
 *   line on a TCP socket.
 *
 * The pool server runs in a worker thread (bench/pool-worker.ts): in the field it is another machine, and
 * in one heap its garbage made the daemon's collections more frequent. Garbage collections that fall in
 * the notify windows are counted and reported with the rows (issue 15: "report GC pauses seen").
 */
import { connect, createServer, type Socket } from 'node:net';
import { PerformanceObserver } from 'node:perf_hooks';
import { FAST_TIMING } from '../drivers/bm13xx/chain.ts';
import { encodeJob, encodeNonceReply } from '../drivers/bm13xx/codec.ts';
import { MODELS } from '../drivers/bm13xx/models.ts';
import { createEmulatedChain, findNonces } from '../firmware/bm13xx/index.ts';
import type { BoardHardware } from '../host/miner/daemon.ts';
import { Miner } from '../host/miner/daemon.ts';
import { DriverChain } from '../host/miner/hardware.ts';
import { buildTemplate, makeWork } from '../host/work/index.ts';
import type { BenchContext, BenchRow, BenchSuite } from './harness.ts';
import { RemotePool } from './pool-worker.ts';
import { benchBoard, benchLogger, ProbeTransport, probeConnector, pUs, sleep, until } from './rig.ts';

const MODEL = MODELS.BM1370;
const CHIPS_PER_CHAIN = 4;
/** Pool difficulty: shares need about 8 leading zero bits, so share nonces are cheap to pre-compute. */
const POOL_DIFFICULTY = 2 ** -24;

interface Rig {
  server: RemotePool;
  miner: Miner;
  probes: ProbeTransport[];
  /** Socket probe state. */
  sock: { armed: boolean; dataAt: number; submitAt: number; onSubmit: (() => void) | undefined };
  stop(): Promise<void>;
}

export async function startRig(chains: number): Promise<Rig> {
  const log = benchLogger();
  const server = await RemotePool.start({
    difficulty: POOL_DIFFICULTY,
    blockIntervalMs: 0,
    renotifyMs: 60_000,
    branches: 12,
    extranonce2Size: 4,
  });
  const probes = Array.from(
    { length: chains },
    (_, i) =>
      new ProbeTransport(
        createEmulatedChain({
          model: 'BM1370',
          chips: CHIPS_PER_CHAIN,
          autoHash: false,
          path: `bench:chain${i}`,
        }),
      ),
  );
  const hw: BoardHardware = {
    chains: probes.map(
      (p, i) =>
        new DriverChain(p, {
          model: 'BM1370',
          transport: p,
          logger: log.child(`chain${i}`),
          expectedChips: CHIPS_PER_CHAIN,
          ticketDifficulty: 1,
          hostTicketDifficulty: 2 ** -16,
          timing: FAST_TIMING,
        }),
    ),
    sensors: [],
    expectedGhs: () => 0,
    close: async () => {},
  };
  const sock: Rig['sock'] = { armed: false, dataAt: 0, submitAt: 0, onSubmit: undefined };
  const miner = new Miner({
    board: benchBoard('BM1370', CHIPS_PER_CHAIN),
    hardware: hw,
    pools: [{ url: server.url, user: 'bench.latency', password: 'x' }],
    deviceId: 'bench',
    thermal: false,
    // One chip job per pool job: every job frame in a window comes from the notify being measured.
    jobIntervalMs: 600_000,
    pool: {
      connector: probeConnector({
        onData: () => {
          if (sock.armed && sock.dataAt === 0) sock.dataAt = performance.now();
        },
        onWrite: (chunk) => {
          if (!sock.armed || sock.submitAt !== 0) return;
          if (typeof chunk === 'string' && chunk.includes('"mining.submit"')) {
            sock.submitAt = performance.now();
            sock.onSubmit?.();
          }
        },
      }),
    },
    logger: log,
  });
  await miner.start();
  await until(() => probes.every((p) => p.jobFrames.length > 0), `first job on all ${chains} chains`);
  for (const p of probes) p.forwardJobs = false;
  return {
    server,
    miner,
    probes,
    sock,
    async stop() {
      await miner.stop();
      await server.close();
    },
  };
}

/** Waits until every probe saw one job write after arming; returns the write times. */
function jobWrites(probes: ProbeTransport[]): { done: Promise<number[]>; times: number[] } {
  const times: number[] = [];
  let resolve!: (t: number[]) => void;
  const done = new Promise<number[]>((r) => {
    resolve = r;
  });
  for (const p of probes) {
    p.onJobWrite = (at) => {
      times.push(at);
      if (times.length === probes.length) resolve(times);
    };
  }
  return { done, times };
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    t = setTimeout(() => reject(new Error(`bench: no ${what} within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(t);
  }
}

export interface GcInWindows {
  /** Collections that overlapped a measured notify window. */
  count: number;
  /** Their longest pause, ms. */
  maxMs: number;
  /** Measured windows that had a collection in them. */
  windows: number;
}

/**
 * `warmup` notifies first (reported apart: V8 is still compiling the notify path then, the first
 * ≈ 2 000 notifies after start show its pauses), then `trials` measured ones.
 */
export async function notifyLatency(
  rig: Rig,
  trials: number,
  warmup: number,
): Promise<{ ours: number[]; warm: number[]; bare: number[]; gc: GcInWindows }> {
  const ours: number[] = [];
  const warm: number[] = [];
  const windows: Array<[number, number]> = [];
  const gcs: Array<[number, number]> = [];
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcs.push([e.startTime, e.startTime + e.duration]);
  });
  obs.observe({ entryTypes: ['gc'] });
  for (let i = 0; i < warmup + trials; i++) {
    const w = jobWrites(rig.probes);
    rig.sock.dataAt = 0;
    rig.sock.armed = true;
    rig.server.newBlock(); // a clean notify with 12 merkle branches
    const times = await withTimeout(w.done, 5000, 'job frames after a notify');
    rig.sock.armed = false;
    if (rig.sock.dataAt === 0) throw new Error('bench: job frames written without a notify on the socket');
    const end = Math.max(...times);
    if (i < warmup) warm.push(end - rig.sock.dataAt);
    else {
      ours.push(end - rig.sock.dataAt);
      windows.push([rig.sock.dataAt, end]);
    }
    await sleep(2);
  }
  await sleep(10); // GC entries are delivered asynchronously
  obs.disconnect();
  const gc: GcInWindows = { count: 0, maxMs: 0, windows: 0 };
  for (const [a, b] of gcs) {
    if (!windows.some(([s, e]) => a < e && b > s)) continue;
    gc.count++;
    gc.maxMs = Math.max(gc.maxMs, b - a);
  }
  gc.windows = windows.filter(([s, e]) => gcs.some(([a, b]) => a < e && b > s)).length;
  // Baseline: the bare transport write of a precomputed frame to the same chains.
  const frame = rig.probes[0]!.jobFrames.at(-1)!;
  const bare: number[] = [];
  for (let i = 0; i < trials + 20; i++) {
    const w = jobWrites(rig.probes);
    const t0 = performance.now();
    for (const p of rig.probes) void p.write(frame);
    const times = await w.done;
    if (i >= 20) bare.push(Math.max(...times) - t0);
    await sleep(1);
  }
  for (const p of rig.probes) p.onJobWrite = undefined;
  return { ours, warm, bare, gc };
}

async function nonceLatency(
  rig: Rig,
  trials: number,
  ctx: BenchContext,
): Promise<{ ours: number[]; bare: number[]; accepted: number; rejected: number }> {
  // A fresh clean job: every chain gets work with extranonce2 = 0.
  const w = jobWrites(rig.probes);
  rig.server.newBlock();
  await withTimeout(w.done, 5000, 'job frames');
  await sleep(20);
  const pool = await rig.server.info();
  const tpl = buildTemplate(
    pool.job,
    { extranonce1: pool.extranonce1, extranonce2Size: 4 },
    { difficulty: pool.difficulty, versionMask: pool.versionMask },
  );
  const work = makeWork(tpl, 0n);
  const probe = rig.probes[0]!;
  const sent = probe.jobFrames.at(-1)!;
  const jobId = sent[4]!;
  const expect = encodeJob(MODEL, {
    jobId,
    version: tpl.version,
    nbits: tpl.nbits,
    ntime: tpl.ntime,
    startingNonce: 0,
    merkleRoot: work.merkleRoot,
    prevHash: tpl.prevHash,
  });
  if (Buffer.compare(Buffer.from(expect), Buffer.from(sent)) !== 0) {
    throw new Error('bench: the job frame on chain 0 is not the work rebuilt from the pool job');
  }
  // One share per trial, each with its own rolled version (BM1370 reports the rolled bits).
  const t0 = performance.now();
  const frames: Uint8Array[] = [];
  const header = Uint8Array.from(work.header);
  const hv = new DataView(header.buffer);
  for (let k = 0; frames.length < trials + 20; k++) {
    const field = (k % 0xfffe) + 1;
    hv.setUint32(0, (tpl.version | (field << 13)) >>> 0, true);
    let nonce: number | undefined;
    for (let start = 0; nonce === undefined && start < 2 ** 32; start += 2048) {
      nonce = findNonces({ header, zeroBits: 9, count: 1, start, maxHashes: 2048 })[0];
    }
    frames.push(encodeNonceReply(MODEL, nonce!, 0, ((jobId << 1) & 0xf0) | (k & 0x0f), field));
  }
  ctx.log(`  ${frames.length} share nonces pre-computed in ${(performance.now() - t0).toFixed(0)} ms`);
  const stats0 = await rig.server.stats();
  const acc0 = stats0.accepted;
  const rej0 = stats0.rejected;
  const ours: number[] = [];
  for (let i = 0; i < frames.length; i++) {
    const f = frames[i]!;
    const submitted = new Promise<void>((r) => {
      rig.sock.onSubmit = r;
    });
    rig.sock.submitAt = 0;
    rig.sock.armed = true;
    probe.inject(f.subarray(0, f.length - 1));
    const at = performance.now();
    probe.inject(f.subarray(f.length - 1));
    await withTimeout(submitted, 5000, 'mining.submit after a share nonce');
    rig.sock.armed = false;
    if (i >= 20) ours.push(rig.sock.submitAt - at);
    await sleep(1);
  }
  let stats = await rig.server.stats();
  const answersBy = Date.now() + 15_000;
  while (stats.accepted + stats.rejected - acc0 - rej0 < frames.length) {
    if (Date.now() > answersBy) throw new Error('bench: timed out waiting for pool answers to every share');
    await sleep(5);
    stats = await rig.server.stats();
  }
  // Baseline: same bytes into a bare link whose listener writes a precomputed line on a TCP socket.
  const sink = createServer((s) => s.resume());
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', () => r()));
  const raw: Socket = connect({ host: '127.0.0.1', port: (sink.address() as { port: number }).port });
  await new Promise<void>((r) => raw.once('connect', () => r()));
  raw.setNoDelay(true);
  const line = `{"id":7,"method":"mining.submit","params":["bench.latency","${tpl.jobId}","00000000","${tpl.ntime.toString(16)}","00000000","00002000"]}\n`;
  const link = new ProbeTransport(createEmulatedChain({ model: 'BM1370', chips: 1, autoHash: false }));
  let got = 0;
  let wroteAt = 0;
  link.onData((chunk) => {
    got += chunk.length;
    if (got >= MODEL.replyLength) {
      got = 0;
      wroteAt = performance.now();
      raw.write(line);
    }
  });
  const bare: number[] = [];
  for (let i = 0; i < frames.length; i++) {
    const f = frames[i]!;
    link.inject(f.subarray(0, f.length - 1));
    const at = performance.now();
    link.inject(f.subarray(f.length - 1));
    if (i >= 20) bare.push(wroteAt - at);
    await sleep(1);
  }
  raw.destroy();
  await new Promise<void>((r) => sink.close(() => r()));
  return {
    ours,
    bare,
    accepted: stats.accepted - acc0,
    rejected: stats.rejected - rej0,
  };
}

const suite: BenchSuite = {
  name: 'daemon-latency',
  async run(ctx) {
    const rows: BenchRow[] = [];
    const trials = Math.max(100, Math.round(1000 * ctx.scale));
    for (const [chains, target] of [
      [4, 1000],
      [12, 5000],
    ] as const) {
      const rig = await startRig(chains);
      try {
        const { ours, warm, bare, gc } = await notifyLatency(rig, trials, trials);
        ctx.log(
          `  ${chains} chains: ${gc.count} garbage collections inside ${gc.windows} of ${ours.length} notify windows` +
            (gc.count > 0 ? `, longest pause ${gc.maxMs.toFixed(2)} ms` : ''),
        );
        for (const p of [50, 99]) {
          const v = pUs(ours, p);
          const b = pUs(bare, p);
          rows.push({
            suite: 'daemon-latency',
            name: `notify → job frames on all ${chains} chains p${p} (${ours.length} notifies after ${warm.length} warm-up, 12 branches)`,
            value: v,
            unit: 'µs',
            baseline: { name: `bare write of a precomputed frame × ${chains}`, value: b },
            ratio: v / b,
            better: 'lower',
            ...(p === 99 ? { target: { op: '<=' as const, value: target } } : {}),
          });
        }
        // The warm-up, reported as measured: what the first notifies after a start see.
        rows.push({
          suite: 'daemon-latency',
          name: `notify → job frames on all ${chains} chains p99, the first ${warm.length} notifies after start (JIT warm-up)`,
          value: pUs(warm, 99),
          unit: 'µs',
          baseline: { name: `bare write of a precomputed frame × ${chains}`, value: pUs(bare, 99) },
          ratio: pUs(warm, 99) / pUs(bare, 99),
          better: 'lower',
        });
        if (chains === 4) {
          const n = await nonceLatency(rig, trials, ctx);
          ctx.log(`  nonce → submit: pool accepted ${n.accepted}, rejected ${n.rejected}`);
          if (n.rejected > 0) throw new Error(`bench: the pool rejected ${n.rejected} bench shares`);
          for (const p of [50, 99]) {
            const v = pUs(n.ours, p);
            const b = pUs(n.bare, p);
            rows.push({
              suite: 'daemon-latency',
              name: `nonce frame → mining.submit on the socket p${p} (${n.ours.length} shares, all accepted)`,
              value: v,
              unit: 'µs',
              baseline: { name: 'bare link → socket write', value: b },
              ratio: v / b,
              better: 'lower',
              ...(p === 99 ? { target: { op: '<=' as const, value: 1000 } } : {}),
            });
          }
        }
      } finally {
        await rig.stop();
      }
    }
    return rows;
  },
};

export default suite;
