/**
 * The gateway's LAN Stratum V1 server: serves jobs built from the node's templates to many miners
 * (asicd, ESP-Miner/AxeOS, cgminer-style clients) and validates every share on the host.
 *
 * - Per connection: a unique extranonce1 (4 bytes), extranonce2_size (default 4), BIP 310 version
 *   rolling (server mask & miner mask), mining.suggest_difficulty (taken as the start and floor),
 *   vardiff aiming at a share rate (vardiff.ts), difficulty applying from the next job (a fresh job id
 *   is sent with each change so it applies at once). Vardiff is per worker name as well: the difficulty
 *   learned for a name is remembered (bounded) and a connection authorizing that name resumes from it.
 * - Submit checks in the order of our stratum notes §11 (codes 20..25), duplicates keyed on the hash,
 *   stale = a job from before the last prevhash change; a share that meets the network target is a
 *   `block` event with everything needed to rebuild the block.
 * - Safe by default: loopback unless told otherwise; caps on connections, line length, requests per
 *   second per connection (token bucket), and garbage lines: a connection over a cap is dropped alone.
 * - Per-worker and per-device statistics (shares, difficulty sum, hashrate from shares, best share,
 *   last share) for telemetry.
 */
import { EventEmitter } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { type Clock, systemClock, type TimerHandle } from '../../lib/clock.ts';
import { type Logger, silentLogger } from '../../lib/log.ts';
import {
  encodeError,
  encodeNotification,
  encodeNotify,
  encodeResult,
  hex32,
  LineDecoder,
  LineTooLongError,
  type NotifyJob,
  parseLine,
  type StratumId,
} from '../stratum/messages.ts';
import { buildTemplate, checkNonce, difficultyToTarget, makeWork, WorkError } from '../work/index.ts';
import { type GatewayJob, notifyOf, type SolvedShare } from './template.ts';
import { roundDifficulty, Vardiff, type VardiffOptions } from './vardiff.ts';

export interface GatewayServerOptions {
  host?: string;
  extranonce2Size?: number;
  versionMask?: number;
  /** Starting difficulty of a connection (default 1). */
  difficulty?: number;
  vardiff?: VardiffOptions | false;
  maxConnections?: number;
  maxLineBytes?: number;
  /** Requests per second per connection (sustained; burst = 5 s worth). */
  maxRequestsPerSecond?: number;
  /** Unparseable lines tolerated per connection before it is dropped. */
  maxBadLines?: number;
  ntimeWindowSec?: number;
  maxJobs?: number;
  /** Re-send the current job if nothing was sent for this long (default 55 s; cgminer: dead at 90 s). */
  keepaliveMs?: number;
  /** Worker names whose learned vardiff difficulty is remembered across connections (default 4096). */
  maxRememberedWorkers?: number;
  clock?: Clock;
  logger?: Logger;
}

export const ERR = {
  OTHER: 20,
  STALE: 21,
  DUPLICATE: 22,
  LOW_DIFFICULTY: 23,
  UNAUTHORIZED: 24,
  NOT_SUBSCRIBED: 25,
} as const;

export interface WorkerStats {
  worker: string;
  /** User agents of the devices that mined as this worker. */
  devices: string[];
  accepted: number;
  rejected: number;
  stale: number;
  duplicates: number;
  /** Sum of the difficulties of accepted shares. */
  acceptedDifficulty: number;
  bestDifficulty: number;
  lastShareAt: number | undefined;
  /** Hashes per second estimated from accepted share difficulty over the last 10 minutes. */
  hashrate: number;
  blocks: number;
}

export interface GatewayShareEvent {
  conn: number;
  worker: string;
  jobId: string;
  accepted: boolean;
  code?: number;
  message?: string;
  difficulty?: number;
  shareDifficulty?: number;
  hash?: string;
  /** The submitted work, for accepted shares (lets anyone re-verify them). */
  extranonce1?: string;
  extranonce2?: string;
  ntime?: string;
  nonce?: string;
  version?: string;
}

export interface BlockCandidate {
  worker: string;
  conn: number;
  job: GatewayJob;
  share: SolvedShare;
  merkleRoot: Uint8Array;
  hash: string;
}

interface ServedJob {
  id: string;
  job: GatewayJob;
  ntime: number;
  /** Shared by every job id that aliases the same template (duplicate detection). */
  seen: Set<string>;
}

interface Conn {
  id: number;
  socket: Socket;
  remote: string;
  extranonce1: string;
  subscribed: boolean;
  workers: Set<string>;
  rolling: boolean;
  versionMask: number;
  vardiff: Vardiff;
  difficultySent: number | undefined;
  jobDifficulty: Map<string, number>;
  notified: boolean;
  /** The miner chose its difficulty (suggest_difficulty / minimum-difficulty): no resumed difficulty. */
  suggested: boolean;
  userAgent: string;
  tokens: number;
  tokensAt: number;
  badLines: number;
  lastSendAt: number;
}

const WINDOW_MS = 600_000;

interface WorkerAcc extends WorkerStats {
  recent: Array<[number, number]>;
}

export class GatewayServer extends EventEmitter<{
  share: [GatewayShareEvent];
  block: [BlockCandidate];
  connection: [number];
  disconnect: [number, string];
}> {
  readonly totals = {
    connections: 0,
    accepted: 0,
    rejected: 0,
    blocks: 0,
    badLines: 0,
    dropped: 0,
    refused: 0,
  };
  private readonly o: GatewayServerOptions;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly conns = new Map<number, Conn>();
  private readonly jobs = new Map<string, ServedJob>();
  private readonly workerStats = new Map<string, WorkerAcc>();
  /** Vardiff per worker name: the difficulty last learned for it, resumed when it connects again. */
  private readonly learned = new Map<string, number>();
  private current: ServedJob | undefined;
  private server: Server | undefined;
  private seq = 0;
  private jobSeq = 0;
  private en1Counter: number;
  private timer: TimerHandle | undefined;
  private boundPort = 0;

  constructor(opts: GatewayServerOptions = {}) {
    super();
    this.o = opts;
    this.clock = opts.clock ?? systemClock;
    this.log = (opts.logger ?? silentLogger).child('gateway-stratum');
    const en2 = this.extranonce2Size;
    if (!Number.isInteger(en2) || en2 < 2 || en2 > 8)
      throw new Error(`extranonce2Size: ${en2} (must be 2..8)`);
    this.en1Counter = (Math.random() * 0xffffffff) >>> 0;
  }

  get extranonce2Size(): number {
    return this.o.extranonce2Size ?? 4;
  }
  readonly extranonce1Size = 4;
  get port(): number {
    return this.boundPort;
  }
  get url(): string {
    return `stratum+tcp://${this.o.host ?? '127.0.0.1'}:${this.boundPort}`;
  }
  /** Connections that receive jobs (subscribed and authorized). */
  get notifiedCount(): number {
    let n = 0;
    for (const c of this.conns.values()) if (c.notified) n++;
    return n;
  }
  get connectionCount(): number {
    return this.conns.size;
  }
  get currentJob(): GatewayJob | undefined {
    return this.current?.job;
  }

  async listen(port = 0): Promise<number> {
    const srv = createServer((s) => this.onConnection(s));
    srv.maxConnections = (this.o.maxConnections ?? 256) + 16; // the kernel-level backstop; we refuse politely first
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(port, this.o.host ?? '127.0.0.1', () => {
        srv.off('error', reject);
        resolve();
      });
    });
    this.server = srv;
    this.boundPort = (srv.address() as { port: number }).port;
    this.timer = this.clock.setInterval(() => this.tick(), 5_000);
    this.log.info('listening', { host: this.o.host ?? '127.0.0.1', port: this.boundPort });
    return this.boundPort;
  }

  async close(): Promise<void> {
    this.clock.clearInterval(this.timer);
    this.timer = undefined;
    for (const c of this.conns.values()) c.socket.destroy();
    this.conns.clear();
    const srv = this.server;
    this.server = undefined;
    if (srv) await new Promise<void>((resolve) => srv.close(() => resolve()));
  }

  /**
   * Serves a new job. `clean` = the previous block is gone (new prevhash): miners drop their work and
   * older jobs become stale. Returns the job id.
   */
  setJob(job: GatewayJob, clean: boolean): string {
    const prev = this.current;
    const isNewBlock = !prev || prev.job.prevhash !== job.prevhash;
    const s = this.addJob(job, isNewBlock ? new Set() : prev.seen);
    this.current = s;
    const cleanJobs = clean || isNewBlock;
    const line = encodeNotify(notifyOf(job, s.id, cleanJobs));
    for (const c of this.conns.values()) {
      if (!c.notified) continue;
      if (c.difficultySent !== c.vardiff.difficulty) this.sendDifficulty(c);
      c.jobDifficulty.set(s.id, c.vardiff.difficulty);
      this.trimJobDifficulty(c);
      this.write(c, line);
    }
    return s.id;
  }

  /** Per-worker statistics (a snapshot). */
  workers(): WorkerStats[] {
    const now = this.clock.now();
    return [...this.workerStats.values()].map((w) => {
      while (w.recent.length > 0 && w.recent[0]![0] < now - WINDOW_MS) w.recent.shift();
      let sum = 0;
      for (const [, d] of w.recent) sum += d;
      const { recent: _r, ...rest } = w;
      return { ...rest, devices: [...w.devices], hashrate: (sum * 2 ** 32) / (WINDOW_MS / 1000) };
    });
  }

  /** Connection state, for tests and the API. */
  connection(
    id: number,
  ):
    | { extranonce1: string; difficulty: number; versionMask: number; userAgent: string; workers: string[] }
    | undefined {
    const c = this.conns.get(id);
    return (
      c && {
        extranonce1: c.extranonce1,
        difficulty: c.vardiff.difficulty,
        versionMask: c.versionMask,
        userAgent: c.userAgent,
        workers: [...c.workers],
      }
    );
  }
  get connectionIds(): number[] {
    return [...this.conns.keys()];
  }

  // -------------------------------------------------------------------------------------------------

  private addJob(job: GatewayJob, seen: Set<string>): ServedJob {
    const id = (++this.jobSeq).toString(16);
    const s: ServedJob = { id, job, ntime: Number.parseInt(job.ntime, 16) >>> 0, seen };
    this.jobs.set(id, s);
    const max = this.o.maxJobs ?? 64;
    while (this.jobs.size > max) this.jobs.delete(this.jobs.keys().next().value!);
    return s;
  }

  private trimJobDifficulty(c: Conn): void {
    while (c.jobDifficulty.size > (this.o.maxJobs ?? 64))
      c.jobDifficulty.delete(c.jobDifficulty.keys().next().value!);
  }

  private tick(): void {
    const now = this.clock.now();
    for (const c of this.conns.values()) {
      if (!c.notified) continue;
      if (this.o.vardiff !== false) {
        const d = c.vardiff.evaluate(now);
        if (d !== undefined) this.retarget(c);
      }
      if (this.current && now - c.lastSendAt > (this.o.keepaliveMs ?? 55_000)) this.sendCurrent(c, false);
    }
  }

  private write(c: Conn, line: string): void {
    if (c.socket.destroyed) return;
    c.lastSendAt = this.clock.now();
    // A miner that doesn't read its socket is dropped rather than buffered without bound.
    if (c.socket.writableLength > 1 << 20) {
      this.drop(c, 'not reading (send buffer over 1 MiB)');
      return;
    }
    c.socket.write(line);
  }

  private sendDifficulty(c: Conn): void {
    c.difficultySent = c.vardiff.difficulty;
    this.write(c, encodeNotification('mining.set_difficulty', [c.vardiff.difficulty]));
  }

  /** Sends the current template to one connection under a fresh job id (so a new difficulty applies now). */
  private sendCurrent(c: Conn, clean: boolean): void {
    const cur = this.current;
    if (!cur) return;
    if (c.difficultySent !== c.vardiff.difficulty) this.sendDifficulty(c);
    let s = cur;
    if (c.jobDifficulty.has(cur.id) && c.jobDifficulty.get(cur.id) !== c.vardiff.difficulty) {
      s = this.addJob(cur.job, cur.seen);
      this.current = s;
    }
    c.jobDifficulty.set(s.id, c.vardiff.difficulty);
    this.trimJobDifficulty(c);
    const n: NotifyJob = notifyOf(s.job, s.id, clean);
    this.write(c, encodeNotify(n));
  }

  /** The difficulty vardiff learned for a worker name (undefined when none yet). */
  learnedDifficulty(worker: string): number | undefined {
    return this.learned.get(worker);
  }

  /** Keeps the connection's learned difficulty under each of its worker names (bounded, oldest out). */
  private remember(c: Conn): void {
    if (this.o.vardiff === false || !c.notified) return;
    const max = this.o.maxRememberedWorkers ?? 4096;
    for (const w of c.workers) {
      this.learned.delete(w);
      this.learned.set(w, c.vardiff.difficulty);
    }
    while (this.learned.size > max) this.learned.delete(this.learned.keys().next().value!);
  }

  private retarget(c: Conn): void {
    this.log.debug('vardiff', { conn: c.id, difficulty: c.vardiff.difficulty });
    this.remember(c);
    this.sendCurrent(c, false);
  }

  private newExtranonce1(): string {
    for (;;) {
      this.en1Counter = (this.en1Counter + 1) >>> 0;
      const e = hex32(this.en1Counter);
      if (![...this.conns.values()].some((c) => c.extranonce1 === e)) return e;
    }
  }

  private drop(c: Conn, why: string): void {
    if (c.socket.destroyed) return;
    this.totals.dropped++;
    this.log.warn('miner_dropped', { conn: c.id, remote: c.remote, reason: why });
    c.socket.destroy();
  }

  private onConnection(socket: Socket): void {
    const max = this.o.maxConnections ?? 256;
    if (this.conns.size >= max) {
      this.totals.refused++;
      this.log.warn('connection_refused', {
        remote: socket.remoteAddress,
        reason: `at the limit of ${max} connections`,
      });
      socket.on('error', () => {});
      socket.end(encodeError(null, ERR.OTHER, `Server full (${max} connections)`));
      socket.destroy();
      return;
    }
    const now = this.clock.now();
    const vd: VardiffOptions = this.o.vardiff === false ? {} : (this.o.vardiff ?? {});
    const c: Conn = {
      id: ++this.seq,
      socket,
      remote: `${socket.remoteAddress}:${socket.remotePort}`,
      extranonce1: '',
      subscribed: false,
      workers: new Set(),
      rolling: false,
      versionMask: 0,
      vardiff: new Vardiff(this.o.difficulty ?? 1, now, vd),
      difficultySent: undefined,
      jobDifficulty: new Map(),
      notified: false,
      suggested: false,
      userAgent: '',
      tokens: this.burst,
      tokensAt: now,
      badLines: 0,
      lastSendAt: now,
    };
    this.conns.set(c.id, c);
    this.totals.connections++;
    const decoder = new LineDecoder(this.o.maxLineBytes ?? 16 * 1024);
    socket.setNoDelay(true);
    socket.on('error', () => {});
    socket.on('close', () => {
      this.conns.delete(c.id);
      this.remember(c);
      this.emit('disconnect', c.id, c.remote);
    });
    socket.on('data', (chunk: Buffer) => {
      let lines: string[];
      try {
        lines = decoder.push(chunk);
      } catch (e) {
        if (e instanceof LineTooLongError) {
          this.totals.badLines++;
          this.drop(c, `line longer than ${this.o.maxLineBytes ?? 16 * 1024} bytes`);
          return;
        }
        throw e;
      }
      for (const line of lines) {
        if (socket.destroyed) return;
        if (!this.take(c)) {
          this.drop(c, `more than ${this.o.maxRequestsPerSecond ?? 50} requests per second`);
          return;
        }
        try {
          this.onLine(c, line);
        } catch (e) {
          // A bug on one miner's path must not take the gateway down: log it, drop that miner.
          this.log.error('miner_line_failed', { conn: c.id, error: (e as Error).message });
          this.drop(c, 'internal error handling its request');
        }
      }
    });
    this.emit('connection', c.id);
  }

  private get burst(): number {
    return (this.o.maxRequestsPerSecond ?? 50) * 5;
  }
  private take(c: Conn): boolean {
    const now = this.clock.now();
    const rate = this.o.maxRequestsPerSecond ?? 50;
    c.tokens = Math.min(this.burst, c.tokens + ((now - c.tokensAt) / 1000) * rate);
    c.tokensAt = now;
    if (c.tokens < 1) return false;
    c.tokens -= 1;
    return true;
  }

  private reply(c: Conn, id: StratumId | null, result: unknown): void {
    if (id !== null) this.write(c, encodeResult(id, result));
  }
  private error(c: Conn, id: StratumId | null, code: number, message: string): void {
    this.write(c, encodeError(id, code, message));
  }

  private onLine(c: Conn, line: string): void {
    const r = parseLine(line);
    if (!r.ok) {
      this.totals.badLines++;
      c.badLines++;
      this.error(c, null, ERR.OTHER, `Bad request: ${r.error.message.slice(0, 120)}`);
      if (c.badLines > (this.o.maxBadLines ?? 10))
        this.drop(c, `more than ${this.o.maxBadLines ?? 10} unparseable lines`);
      return;
    }
    const m = r.value;
    if (m.type === 'response') return;
    const id = m.type === 'request' ? m.id : null;
    const p = m.params;
    switch (m.method) {
      case 'mining.configure':
        this.onConfigure(c, id, p);
        return;
      case 'mining.subscribe':
        if (!c.subscribed) {
          c.userAgent = typeof p[0] === 'string' ? p[0].slice(0, 128) : '';
          c.extranonce1 = this.newExtranonce1();
          c.subscribed = true;
        }
        this.reply(c, id, [
          [
            ['mining.set_difficulty', c.extranonce1],
            ['mining.notify', c.extranonce1],
          ],
          c.extranonce1,
          this.extranonce2Size,
        ]);
        this.maybeStartWork(c);
        return;
      case 'mining.authorize': {
        const [user] = p;
        if (typeof user !== 'string' || user.length === 0 || user.length > 256) {
          this.error(c, id, ERR.OTHER, 'No username');
          return;
        }
        if (c.workers.size >= 16 && !c.workers.has(user)) {
          this.error(c, id, ERR.UNAUTHORIZED, 'Too many workers on one connection');
          return;
        }
        // Vardiff per worker: a worker that comes back (restart, Wi-Fi drop, pool failover) resumes at the
        // difficulty learned for its name instead of starting over from the default.
        const resume = this.learned.get(user);
        if (
          resume !== undefined &&
          this.o.vardiff !== false &&
          c.workers.size === 0 &&
          !c.notified &&
          !c.suggested
        ) {
          c.vardiff.resume(resume, this.clock.now());
          this.log.debug('vardiff_resumed', { conn: c.id, worker: user, difficulty: c.vardiff.difficulty });
        }
        c.workers.add(user);
        this.stats(user, c);
        this.reply(c, id, true);
        this.maybeStartWork(c);
        return;
      }
      case 'mining.suggest_difficulty': {
        const d = p[0];
        if (typeof d !== 'number' || !Number.isFinite(d) || d <= 0) {
          this.error(c, id, ERR.OTHER, 'suggest_difficulty needs a positive number');
          return;
        }
        c.vardiff.suggest(roundDifficulty(d), this.clock.now());
        c.suggested = true;
        this.reply(c, id, true);
        if (c.notified) this.sendCurrent(c, false);
        return;
      }
      case 'mining.extranonce.subscribe':
        this.reply(c, id, true);
        return;
      case 'mining.submit':
        this.onSubmit(c, id, p);
        return;
      case 'mining.ping':
        this.reply(c, id, 'pong');
        return;
      default:
        if (m.method === 'pong') return;
        this.error(c, id, ERR.OTHER, `Unknown method ${m.method.slice(0, 64)}`);
    }
  }

  private onConfigure(c: Conn, id: StratumId | null, p: unknown[]): void {
    const exts = Array.isArray(p[0]) ? p[0] : [];
    const params = typeof p[1] === 'object' && p[1] !== null ? (p[1] as Record<string, unknown>) : {};
    const result: Record<string, unknown> = {};
    for (const ext of exts.slice(0, 16)) {
      if (ext === 'version-rolling') {
        const m = params['version-rolling.mask'];
        const minerMask =
          typeof m === 'string' && /^[0-9a-fA-F]{1,8}$/.test(m) ? Number.parseInt(m, 16) >>> 0 : 0xffffffff;
        c.versionMask = ((this.o.versionMask ?? 0x1fffe000) & minerMask) >>> 0;
        c.rolling = true;
        result['version-rolling'] = true;
        result['version-rolling.mask'] = hex32(c.versionMask);
      } else if (ext === 'minimum-difficulty') {
        const v = params['minimum-difficulty.value'];
        if (typeof v === 'number' && Number.isFinite(v) && v > 0) {
          c.vardiff.suggest(roundDifficulty(v), this.clock.now());
          c.suggested = true;
        }
        result['minimum-difficulty'] = true;
      } else if (typeof ext === 'string') {
        result[ext.slice(0, 64)] = false;
      }
    }
    this.reply(c, id, result);
  }

  private maybeStartWork(c: Conn): void {
    if (c.subscribed && c.workers.size > 0 && !c.notified && this.current) {
      c.notified = true;
      c.vardiff.reset(this.clock.now());
      this.sendCurrent(c, true);
    }
  }

  private stats(worker: string, c: Conn): WorkerAcc {
    let w = this.workerStats.get(worker);
    if (!w) {
      if (this.workerStats.size >= 4096) this.workerStats.delete(this.workerStats.keys().next().value!);
      w = {
        worker,
        devices: [],
        accepted: 0,
        rejected: 0,
        stale: 0,
        duplicates: 0,
        acceptedDifficulty: 0,
        bestDifficulty: 0,
        lastShareAt: undefined,
        hashrate: 0,
        blocks: 0,
        recent: [],
      };
      this.workerStats.set(worker, w);
    }
    if (c.userAgent && !w.devices.includes(c.userAgent) && w.devices.length < 16) w.devices.push(c.userAgent);
    return w;
  }

  private reject(
    c: Conn,
    id: StratumId | null,
    worker: string,
    jobId: string,
    code: number,
    message: string,
  ): void {
    this.totals.rejected++;
    if (c.workers.has(worker)) {
      const w = this.stats(worker, c);
      w.rejected++;
      if (code === ERR.STALE) w.stale++;
      if (code === ERR.DUPLICATE) w.duplicates++;
    }
    this.error(c, id, code, message);
    this.emit('share', { conn: c.id, worker, jobId, accepted: false, code, message });
  }

  private onSubmit(c: Conn, id: StratumId | null, p: unknown[]): void {
    const worker = typeof p[0] === 'string' ? p[0] : '';
    const jobId = typeof p[1] === 'string' ? p[1] : '';
    if (!c.subscribed) {
      this.reject(c, id, worker, jobId, ERR.NOT_SUBSCRIBED, 'Not subscribed');
      return;
    }
    if (!c.workers.has(worker)) {
      this.reject(c, id, worker, jobId, ERR.UNAUTHORIZED, 'Unauthorized worker');
      return;
    }
    if (p.length < 5 || p.length > 6 || p.some((x) => typeof x !== 'string')) {
      this.reject(c, id, worker, jobId, ERR.OTHER, 'Invalid params');
      return;
    }
    const [, , en2, ntimeHex, nonceHex, vbHex] = p as string[];
    const s = this.jobs.get(jobId);
    const difficulty = c.jobDifficulty.get(jobId);
    if (!s || difficulty === undefined) {
      this.reject(c, id, worker, jobId, ERR.STALE, 'Job not found');
      return;
    }
    if (!this.current || s.job.prevhash !== this.current.job.prevhash) {
      this.reject(c, id, worker, jobId, ERR.STALE, 'Stale');
      return;
    }
    if (!/^[0-9a-fA-F]*$/.test(en2!) || en2!.length !== this.extranonce2Size * 2) {
      this.reject(
        c,
        id,
        worker,
        jobId,
        ERR.OTHER,
        `Invalid nonce2 length (expected ${this.extranonce2Size} bytes)`,
      );
      return;
    }
    if (!/^[0-9a-fA-F]{8}$/.test(ntimeHex!)) {
      this.reject(c, id, worker, jobId, ERR.OTHER, 'Invalid ntime');
      return;
    }
    if (!/^[0-9a-fA-F]{8}$/.test(nonceHex!)) {
      this.reject(c, id, worker, jobId, ERR.OTHER, 'Invalid nonce');
      return;
    }
    const ntime = Number.parseInt(ntimeHex!, 16) >>> 0;
    const minTime = Math.min(s.job.template.mintime || s.ntime, s.ntime);
    if (ntime < minTime || ntime > s.ntime + (this.o.ntimeWindowSec ?? 7000)) {
      this.reject(c, id, worker, jobId, ERR.OTHER, 'Ntime out of range');
      return;
    }
    const jobVersion = Number.parseInt(s.job.version, 16) >>> 0;
    let version = jobVersion;
    if (vbHex !== undefined) {
      if (!/^[0-9a-fA-F]{8}$/.test(vbHex)) {
        this.reject(c, id, worker, jobId, ERR.OTHER, 'Invalid version bits');
        return;
      }
      const vb = Number.parseInt(vbHex, 16) >>> 0;
      const mask = c.rolling ? c.versionMask : 0;
      if ((vb & ~mask) >>> 0 !== 0) {
        this.reject(c, id, worker, jobId, ERR.OTHER, 'Version bits outside the mask');
        return;
      }
      version = ((jobVersion & ~mask) | (vb & mask)) >>> 0;
    }
    let hashHex: string;
    let shareDiff: number;
    let root: Uint8Array;
    try {
      const t = buildTemplate(
        notifyOf(s.job, s.id, false),
        { extranonce1: c.extranonce1, extranonce2Size: this.extranonce2Size },
        { difficulty, versionMask: c.rolling ? c.versionMask : 0 },
      );
      const work = makeWork(t, en2!.toLowerCase());
      const chk = checkNonce(work, Number.parseInt(nonceHex!, 16) >>> 0, { version, ntime });
      hashHex = chk.hashHex;
      shareDiff = chk.difficulty;
      root = work.merkleRoot;
    } catch (e) {
      this.reject(
        c,
        id,
        worker,
        jobId,
        ERR.OTHER,
        e instanceof WorkError ? `Invalid share (${e.message})` : 'Invalid share',
      );
      return;
    }
    const hash = BigInt(`0x${hashHex}`);
    if (hash > diffTarget(difficulty)) {
      this.reject(c, id, worker, jobId, ERR.LOW_DIFFICULTY, 'Low difficulty share');
      return;
    }
    if (s.seen.has(hashHex)) {
      this.reject(c, id, worker, jobId, ERR.DUPLICATE, 'Duplicate share');
      return;
    }
    s.seen.add(hashHex);
    this.totals.accepted++;
    const w = this.stats(worker, c);
    const now = this.clock.now();
    w.accepted++;
    w.acceptedDifficulty += difficulty;
    w.bestDifficulty = Math.max(w.bestDifficulty, shareDiff);
    w.lastShareAt = now;
    w.recent.push([now, difficulty]);
    if (w.recent.length > 10_000) w.recent.shift();
    this.reply(c, id, true);
    this.emit('share', {
      conn: c.id,
      worker,
      jobId,
      accepted: true,
      difficulty,
      shareDifficulty: shareDiff,
      hash: hashHex,
      extranonce1: c.extranonce1,
      extranonce2: en2!.toLowerCase(),
      ntime: ntimeHex!.toLowerCase(),
      nonce: nonceHex!.toLowerCase(),
      version: hex32(version),
    });
    if (hash <= s.job.networkTarget) {
      this.totals.blocks++;
      w.blocks++;
      this.log.info('block_solved', { worker, hash: hashHex, height: s.job.height });
      this.emit('block', {
        worker,
        conn: c.id,
        job: s.job,
        share: {
          extranonce1: c.extranonce1,
          extranonce2: en2!.toLowerCase(),
          ntime,
          nonce: Number.parseInt(nonceHex!, 16) >>> 0,
          version,
        },
        merkleRoot: root,
        hash: hashHex,
      });
    }
    if (this.o.vardiff !== false && c.vardiff.onShare(now) !== undefined) this.retarget(c);
  }
}

const targetCache = new Map<number, bigint>();
function diffTarget(d: number): bigint {
  let t = targetCache.get(d);
  if (t === undefined) {
    t = difficultyToTarget(d);
    if (targetCache.size > 1024) targetCache.clear();
    targetCache.set(d, t);
  }
  return t;
}
