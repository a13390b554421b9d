/**
 * `asicd demo --algo ethash`: the whole ethash path on one machine, no hardware and no internet.
 * Embedded two-dialect pool on 127.0.0.1 → ethash pool manager (createEthPoolManager: the same failover,
 * idle/resume and per-pool accounting as the Bitcoin path, one EthStratumClient per pool, dialect by URL
 * scheme or auto-detected) → emulated ethash worker (firmware/ethash, independent implementation) → host check of every nonce
 * with ethash light (host/ethash) → submit → pool re-checks → accepted shares are logged.
 *
 *   const r = await runEthashDemo({ dialect: 'auto', shares: 5, logger });
 *
 * Both light caches (host and worker, ~16 MB each for epoch 0) are built once with progress lines and
 * then read from disk (`cacheDir`, default ~/.cache/asicd/ethash).
 */
import { EmulatedEthashWorker } from '../../firmware/ethash/worker.ts';
import { type Logger, silentLogger } from '../../lib/log.ts';
import { boundaryHex, defaultCacheDir, EthashCacheStore, EthashShareVerifier } from '../ethash/index.ts';
import { nonceSegment } from '../stratum-eth/messages.ts';
import { createEthPoolManager, type EthPoolJob } from '../stratum-eth/pool-manager.ts';
import { EthPoolServer } from './server.ts';

export interface EthashDemoOptions {
  /** 'v1' = EthereumStratum/1.0.0 (stratum2+tcp), 'v2' = 2.0.0 (stratum3+tcp), 'auto' (default). */
  dialect?: 'v1' | 'v2' | 'auto';
  /** Stop after this many accepted shares (default 5). */
  shares?: number;
  /** Stop after this long in any case (default 120 s, cache builds included). */
  durationMs?: number;
  /** Stratum share difficulty of the embedded pool (default 2^-26: about one share per 64 nonces). */
  difficulty?: number;
  /** New job from the pool every this many ms (default 15 s). */
  jobIntervalMs?: number;
  /** Cache directory for host and worker light caches; null = memory only. */
  cacheDir?: string | null;
  logger?: Logger;
  signal?: AbortSignal;
}

export interface EthashDemoResult {
  dialect: 'v1' | 'v2' | 'auto';
  accepted: number;
  rejected: number;
  /** Worker nonces the host check refused (should stay 0). */
  hostRejected: number;
  hashes: number;
  seconds: number;
  shares: Array<{ jobId: string; nonce: string; difficulty: number; status: string }>;
}

export async function runEthashDemo(opts: EthashDemoOptions = {}): Promise<EthashDemoResult> {
  const log = (opts.logger ?? silentLogger).child('ethash-demo');
  const cacheDir = opts.cacheDir === undefined ? defaultCacheDir() : opts.cacheDir;
  const t0 = performance.now();
  const store = new EthashCacheStore({
    cacheDir,
    ...(opts.logger ? { logger: opts.logger } : {}),
  });
  const verifier = new EthashShareVerifier(store);
  log.info('demo_start', {
    dialect: opts.dialect ?? 'auto',
    note: 'building or loading the epoch-0 light cache',
  });
  const pool = await EthPoolServer.start({
    store,
    difficulty: opts.difficulty ?? 2 ** -26,
    jobIntervalMs: opts.jobIntervalMs ?? 15_000,
    ...(opts.logger ? { logger: opts.logger } : {}),
  });
  const worker = new EmulatedEthashWorker({
    cacheDir,
    batch: 2,
    ...(opts.logger ? { logger: opts.logger } : {}),
  });
  let lastTenth = -1;
  worker.on('progress', ({ fraction }) => {
    const tenth = Math.floor(fraction * 10);
    if (tenth !== lastTenth) {
      lastTenth = tenth;
      log.info('worker_cache_progress', { percent: tenth * 10 });
    }
  });
  await worker.prepare(pool.epoch);
  const pools = createEthPoolManager({
    pools: [
      {
        url: pool.url(opts.dialect ?? 'auto'),
        user: '0x0000000000000000000000000000000000000000.asicd-demo',
        password: 'x',
      },
    ],
    ...(opts.logger ? { logger: opts.logger } : {}),
  });
  const result: EthashDemoResult = {
    dialect: opts.dialect ?? 'auto',
    accepted: 0,
    rejected: 0,
    hostRejected: 0,
    hashes: 0,
    seconds: 0,
    shares: [],
  };
  const jobs = new Map<string, EthPoolJob>();
  const wanted = opts.shares ?? 5;
  let finish: () => void = () => {};
  const finished = new Promise<void>((r) => {
    finish = r;
  });

  let announced = false;
  pools.on('active', ({ index, url }) => {
    announced = false;
    log.info('pool_active', { index, url });
  });
  pools.on('idle', ({ reason }) => {
    worker.stop();
    log.warn('pool_idle', { reason, note: 'worker stopped until a pool answers' });
  });
  pools.on('switched', (s) => log.warn('pool_switched', { from: s.from, to: s.to, reason: s.reason }));
  pools.on('job', (job) => {
    if (!announced) {
      announced = true;
      log.info('pool_ready', { index: job.poolIndex, dialect: job.dialect });
    }
    if (job.cleanJobs) jobs.clear();
    jobs.set(job.jobId, job);
    const seg = nonceSegment(job.extranonce);
    worker.setWork({
      jobId: job.jobId,
      headerHash: job.headerHash,
      epoch: job.epoch,
      epochLength: job.epochLength,
      boundary: boundaryHex(job.target),
      startNonce: seg.start,
      count: seg.size,
    });
    log.info('job', { jobId: job.jobId, dialect: job.dialect, epoch: job.epoch, difficulty: job.difficulty });
  });
  worker.on('nonce', (f) => {
    const job = jobs.get(f.jobId);
    if (!job) return;
    void verifier.verify(job, f.nonce).then(async (check) => {
      if (!check.meets) {
        result.hostRejected++;
        log.warn('host_check_failed', { jobId: f.jobId, nonce: f.nonce.toString(16) });
        return;
      }
      const outcome = await pools.submit({
        poolToken: job.poolToken,
        jobId: job.jobId,
        nonce: f.nonce,
        difficulty: check.difficulty,
      });
      result.shares.push({
        jobId: job.jobId,
        nonce: f.nonce.toString(16).padStart(16, '0'),
        difficulty: check.difficulty,
        status: outcome.status,
      });
      if (outcome.status === 'accepted') {
        result.accepted++;
        log.info('share_accepted', {
          jobId: job.jobId,
          nonce: f.nonce.toString(16).padStart(16, '0'),
          mixHash: check.mixHash,
          difficulty: Number(check.difficulty.toPrecision(4)),
          accepted: result.accepted,
        });
        if (result.accepted >= wanted) finish();
      } else {
        result.rejected++;
        log.warn('share_not_accepted', { jobId: job.jobId, outcome });
      }
    });
  });

  const timer = setTimeout(finish, opts.durationMs ?? 120_000);
  opts.signal?.addEventListener('abort', finish, { once: true });
  pools.start();
  try {
    await finished;
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', finish);
    worker.stop();
    await pools.stop();
    await pool.stop();
  }
  result.hashes = worker.hashes;
  result.seconds = (performance.now() - t0) / 1000;
  log.info('demo_done', {
    accepted: result.accepted,
    rejected: result.rejected,
    hostRejected: result.hostRejected,
    hashes: result.hashes,
    seconds: Number(result.seconds.toFixed(1)),
  });
  return result;
}
