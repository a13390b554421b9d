/**
 * Embedded Stratum V1 server for the demo and for tests. Small but strict:
 *
 * - mining.configure (version-rolling: server mask & miner mask, default server mask 1fffe000;
 *   minimum-difficulty), mining.subscribe (unique 4-byte extranonce1 per connection, extranonce2_size 4
 *   or 8, resume of an extranonce1 it issued and that is not in use), mining.authorize,
 *   mining.suggest_difficulty, mining.extranonce.subscribe.
 * - set_difficulty before the first notify; synthetic jobs (jobs.ts); a new block with clean_jobs every
 *   `blockIntervalMs`; a re-notify at least every `renotifyMs` (≤ 60 s); fractional difficulty.
 * - mining.submit validated in the order of our stratum notes §11: not subscribed (25), unauthorized
 *   worker (24), malformed params (20), job unknown or stale (21), extranonce2 length (20), ntime range
 *   (20), version bits outside the mask (20), hash above the target of the difficulty that applied to
 *   the job (23), duplicate (22). The header is rebuilt and hashed by the work engine (host/work).
 * - Misbehaviour on cue for tests: setVersionMask, reconnect, setDifficulty, newBlock, silent, closeAll,
 *   sendRaw. Counters of accepted/rejected shares (`stats`).
 *
 *   const pool = new StratumServer({ difficulty: 0.001 }); const port = await pool.listen(0); ... await pool.close();
 */
import { randomBytes as cryptoRandomBytes } from 'node:crypto';
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
  type NotifyJob,
  parseLine,
  type StratumId,
} from '../stratum/messages.ts';
import {
  buildTemplate,
  checkNonce,
  difficultyToTarget,
  makeWork,
  nbitsToTarget,
  WorkError,
} from '../work/index.ts';
import { JobFactory, type RandomBytes } from './jobs.ts';
import { serveLines } from './lines.ts';

export interface StratumServerOptions {
  /** Interface to bind (default 127.0.0.1). */
  host?: string;
  /** Initial difficulty per connection (default 1; the demo uses e.g. 0.001). */
  difficulty?: number;
  extranonce2Size?: 4 | 8;
  /** Server version-rolling mask (default 0x1fffe000). */
  versionMask?: number;
  branches?: number | [number, number];
  nbits?: string;
  /** New block (clean_jobs) every this many ms (default 600 000; 0 = never by timer). */
  blockIntervalMs?: number;
  /** Re-notify (new job, same block) at least this often (default 30 000, max 60 000). */
  renotifyMs?: number;
  /** Accepted ntime window after the job's ntime, seconds (default 7000, like ckpool). */
  ntimeWindowSec?: number;
  /** Honour mining.suggest_difficulty (default true). */
  acceptSuggestedDifficulty?: boolean;
  authorize?: (user: string, password: string) => boolean;
  /** extranonce1 of the first connection (then +1 per connection); default random. */
  firstExtranonce1?: number;
  /** Jobs remembered for share validation (default 32). */
  maxJobs?: number;
  clock?: Clock;
  logger?: Logger;
  randomBytes?: RandomBytes;
}

export const ERR = {
  OTHER: 20,
  STALE: 21,
  DUPLICATE: 22,
  LOW_DIFFICULTY: 23,
  UNAUTHORIZED: 24,
  NOT_SUBSCRIBED: 25,
} as const;

export interface ServerStats {
  connections: number;
  accepted: number;
  /** Difficulty-weighted sum of accepted shares. */
  acceptedDifficulty: number;
  rejected: number;
  /** Rejections by classic code. */
  rejectedByCode: Record<number, number>;
  /** Rejections by message text. */
  rejectedByMessage: Record<string, number>;
  blocks: number;
  badMessages: number;
}

interface ServerJob {
  notify: NotifyJob;
  height: number;
  ntime: number;
  seen: Set<string>;
}

interface Conn {
  id: number;
  socket: Socket;
  extranonce1: string;
  subscribed: boolean;
  workers: Set<string>;
  rolling: boolean;
  versionMask: number;
  difficulty: number;
  difficultySent: number | undefined;
  jobDifficulty: Map<string, number>;
  extranonceSubscribed: boolean;
  notified: boolean;
  userAgent: string | undefined;
}

export interface ShareEvent {
  conn: number;
  worker: string;
  jobId: string;
  accepted: boolean;
  code?: number;
  message?: string;
  difficulty?: number;
  hash?: string;
  block?: boolean;
}

export class StratumServer extends EventEmitter<{
  share: [ShareEvent];
  connection: [number];
  block: [string];
}> {
  readonly stats: ServerStats = {
    connections: 0,
    accepted: 0,
    acceptedDifficulty: 0,
    rejected: 0,
    rejectedByCode: {},
    rejectedByMessage: {},
    blocks: 0,
    badMessages: 0,
  };
  /** When true the server reads but answers nothing and sends no work (a "zombie" pool). */
  silent = false;
  private readonly o: StratumServerOptions;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly rnd: RandomBytes;
  private readonly factory: JobFactory;
  private readonly conns = new Map<number, Conn>();
  private readonly jobs = new Map<string, ServerJob>();
  private readonly issuedExtranonce1 = new Set<string>();
  private server: Server | undefined;
  private seq = 0;
  private en1Counter: number;
  private current!: ServerJob;
  private blockTimer: TimerHandle | undefined;
  private renotifyTimer: TimerHandle | undefined;
  private boundPort = 0;

  constructor(opts: StratumServerOptions = {}) {
    super();
    this.o = opts;
    this.clock = opts.clock ?? systemClock;
    this.log = (opts.logger ?? silentLogger).child('pool');
    this.rnd = opts.randomBytes ?? ((n) => cryptoRandomBytes(n));
    const en2 = opts.extranonce2Size ?? 4;
    if (en2 !== 4 && en2 !== 8) throw new Error(`extranonce2Size: ${en2} (must be 4 or 8)`);
    const d = opts.difficulty ?? 1;
    if (!Number.isFinite(d) || d <= 0) throw new Error(`difficulty: ${d} (must be a finite number > 0)`);
    if ((opts.renotifyMs ?? 30_000) > 60_000) throw new Error('renotifyMs: at most 60000');
    this.en1Counter = ((opts.firstExtranonce1 ?? Buffer.from(this.rnd(4)).readUInt32BE(0)) - 1) >>> 0;
    this.factory = new JobFactory({
      extranonceBytes: 4 + en2,
      randomBytes: this.rnd,
      ...(opts.branches !== undefined ? { branches: opts.branches } : {}),
      ...(opts.nbits !== undefined ? { nbits: opts.nbits } : {}),
    });
    this.addJob(true);
  }

  /** Port bound by listen(). */
  get port(): number {
    return this.boundPort;
  }
  get url(): string {
    return `stratum+tcp://${this.o.host ?? '127.0.0.1'}:${this.boundPort}`;
  }
  get currentJob(): NotifyJob {
    return this.current.notify;
  }
  get connectionIds(): number[] {
    return [...this.conns.keys()];
  }
  /** State of one connection, for tests. */
  connection(
    id: number,
  ): { extranonce1: string; versionMask: number; rolling: boolean; difficulty: number } | undefined {
    const c = this.conns.get(id);
    return (
      c && {
        extranonce1: c.extranonce1,
        versionMask: c.versionMask,
        rolling: c.rolling,
        difficulty: c.difficulty,
      }
    );
  }

  async listen(port = 0): Promise<number> {
    const srv = createServer((s) => this.onConnection(s));
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(port, this.o.host ?? '127.0.0.1', () => {
        srv.off('error', reject);
        resolve();
      });
    });
    this.server = srv;
    this.boundPort = (srv.address() as { port: number }).port;
    this.armTimers();
    this.log.info('listening', { port: this.boundPort });
    return this.boundPort;
  }

  async close(): Promise<void> {
    this.clock.clearTimeout(this.blockTimer);
    this.clock.clearTimeout(this.renotifyTimer);
    this.blockTimer = this.renotifyTimer = undefined;
    this.closeAll();
    const srv = this.server;
    this.server = undefined;
    if (srv) await new Promise<void>((resolve) => srv.close(() => resolve()));
  }

  // -------------------------------------------------------------------------------------------------
  // Misbehaviour / control API

  /** Sends mining.set_version_mask to rolling connections; their mask changes at once. */
  setVersionMask(mask: number, connId?: number): void {
    for (const c of this.targets(connId)) {
      if (!c.rolling) continue;
      c.versionMask = mask >>> 0;
      this.write(c, encodeNotification('mining.set_version_mask', [hex32(mask)]));
    }
  }
  /** Sends client.reconnect [host, port, wait]. */
  reconnect(host?: string, port?: number, waitSeconds?: number, connId?: number): void {
    const params: unknown[] = [];
    if (host !== undefined || port !== undefined || waitSeconds !== undefined)
      params.push(host ?? '', port ?? '', waitSeconds ?? 0);
    for (const c of this.targets(connId)) this.write(c, encodeNotification('client.reconnect', params));
  }
  /** Changes the difficulty: set_difficulty now, applies to jobs notified from now on. */
  setDifficulty(d: number, connId?: number): void {
    if (!Number.isFinite(d) || d <= 0) throw new Error(`difficulty: ${d}`);
    for (const c of this.targets(connId)) {
      c.difficulty = d;
      if (c.notified) this.sendDifficulty(c);
    }
  }
  /** A new block: new prevhash, clean job to everyone. */
  newBlock(): void {
    this.factory.newBlock();
    this.addJob(true);
    this.broadcastJob();
    this.armTimers();
  }
  /**
   * Serves an externally made job (e.g. a public test vector) as the current one; `height` is only
   * informative. Its prevhash becomes the current block for the stale check.
   */
  pushJob(notify: NotifyJob, height = 0): void {
    const job: ServerJob = {
      notify,
      height,
      ntime: Number.parseInt(notify.ntime, 16) >>> 0,
      seen: new Set(),
    };
    this.jobs.set(notify.jobId, job);
    this.current = job;
    this.broadcastJob();
  }
  /** A new job on the same block (clean_jobs false). */
  renotify(): void {
    this.addJob(false);
    this.broadcastJob();
    this.armRenotify();
  }
  sendRaw(text: string, connId?: number): void {
    for (const c of this.targets(connId)) if (!c.socket.destroyed) c.socket.write(text);
  }
  closeAll(): void {
    for (const c of this.conns.values()) c.socket.destroy();
    this.conns.clear();
  }

  // -------------------------------------------------------------------------------------------------

  private targets(connId?: number): Conn[] {
    if (connId === undefined) return [...this.conns.values()];
    const c = this.conns.get(connId);
    return c ? [c] : [];
  }

  private armTimers(): void {
    this.clock.clearTimeout(this.blockTimer);
    const every = this.o.blockIntervalMs ?? 600_000;
    if (every > 0 && this.server) this.blockTimer = this.clock.setTimeout(() => this.newBlock(), every);
    this.armRenotify();
  }
  private armRenotify(): void {
    this.clock.clearTimeout(this.renotifyTimer);
    if (this.server)
      this.renotifyTimer = this.clock.setTimeout(() => this.renotify(), this.o.renotifyMs ?? 30_000);
  }

  private addJob(clean: boolean): void {
    const ntime = Math.floor(this.clock.now() / 1000);
    const notify = this.factory.job(ntime, clean);
    const job: ServerJob = { notify, height: this.factory.current.height, ntime, seen: new Set() };
    this.jobs.set(notify.jobId, job);
    const max = this.o.maxJobs ?? 32;
    while (this.jobs.size > max) this.jobs.delete(this.jobs.keys().next().value!);
    this.current = job;
  }

  private broadcastJob(): void {
    for (const c of this.conns.values()) if (c.notified) this.sendJob(c);
  }

  private write(c: Conn, line: string): void {
    if (this.silent || c.socket.destroyed) return;
    c.socket.write(line);
  }

  private sendDifficulty(c: Conn): void {
    c.difficultySent = c.difficulty;
    this.write(c, encodeNotification('mining.set_difficulty', [c.difficulty]));
  }

  private sendJob(c: Conn): void {
    if (c.difficultySent !== c.difficulty) this.sendDifficulty(c);
    const first = !c.notified;
    c.notified = true;
    c.jobDifficulty.set(this.current.notify.jobId, c.difficulty);
    if (c.jobDifficulty.size > (this.o.maxJobs ?? 32) * 2)
      c.jobDifficulty.delete(c.jobDifficulty.keys().next().value!);
    this.write(c, encodeNotify(first ? { ...this.current.notify, cleanJobs: true } : this.current.notify));
  }

  private newExtranonce1(resume: unknown): string {
    if (typeof resume === 'string' && this.issuedExtranonce1.has(resume.toLowerCase())) {
      const r = resume.toLowerCase();
      if (![...this.conns.values()].some((c) => c.extranonce1 === r)) return r;
    }
    for (;;) {
      this.en1Counter = (this.en1Counter + 1) >>> 0;
      const e = hex32(this.en1Counter);
      if (![...this.conns.values()].some((c) => c.extranonce1 === e)) {
        this.issuedExtranonce1.add(e);
        return e;
      }
    }
  }

  private onConnection(socket: Socket): void {
    const c: Conn = {
      id: ++this.seq,
      socket,
      extranonce1: '',
      subscribed: false,
      workers: new Set(),
      rolling: false,
      versionMask: 0,
      difficulty: this.o.difficulty ?? 1,
      difficultySent: undefined,
      jobDifficulty: new Map(),
      extranonceSubscribed: false,
      notified: false,
      userAgent: undefined,
    };
    this.conns.set(c.id, c);
    this.stats.connections++;
    serveLines(socket, {
      onLine: (line) => this.onLine(c, line),
      onClose: () => this.conns.delete(c.id),
      onOverflow: () => this.stats.badMessages++,
    });
    this.emit('connection', c.id);
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
      this.stats.badMessages++;
      return;
    }
    const m = r.value;
    if (m.type === 'response') return; // answers to our pings / get_version
    const id = m.type === 'request' ? m.id : null;
    const p = m.params;
    if (this.silent) return;
    switch (m.method) {
      case 'mining.configure':
        this.onConfigure(c, id, p);
        return;
      case 'mining.subscribe': {
        c.userAgent = typeof p[0] === 'string' ? p[0] : undefined;
        c.extranonce1 = this.newExtranonce1(p[1]);
        c.subscribed = true;
        const sid = c.extranonce1;
        this.reply(c, id, [
          [
            ['mining.set_difficulty', sid],
            ['mining.notify', sid],
          ],
          c.extranonce1,
          this.o.extranonce2Size ?? 4,
        ]);
        this.maybeStartWork(c);
        return;
      }
      case 'mining.authorize': {
        const [user, pass] = p;
        if (typeof user !== 'string' || user.length === 0) {
          this.error(c, id, ERR.OTHER, 'No username');
          return;
        }
        const ok = this.o.authorize ? this.o.authorize(user, typeof pass === 'string' ? pass : '') : true;
        if (!ok) {
          this.error(c, id, ERR.UNAUTHORIZED, 'Unauthorized worker');
          return;
        }
        c.workers.add(user);
        this.reply(c, id, true);
        this.maybeStartWork(c);
        return;
      }
      case 'mining.suggest_difficulty': {
        const d = p[0];
        if (
          this.o.acceptSuggestedDifficulty !== false &&
          typeof d === 'number' &&
          Number.isFinite(d) &&
          d > 0
        ) {
          c.difficulty = d;
          if (c.notified) this.sendDifficulty(c);
        }
        this.reply(c, id, true);
        return;
      }
      case 'mining.extranonce.subscribe':
        c.extranonceSubscribed = true;
        this.reply(c, id, true);
        return;
      case 'mining.submit':
        this.onSubmit(c, id, p);
        return;
      case 'mining.ping':
        this.reply(c, id, 'pong');
        return;
      default:
        if (m.method === 'pong') return; // ESP-Miner answers a ping with a request-shaped "pong"
        this.error(c, id, ERR.OTHER, `Unknown method ${m.method.slice(0, 64)}`);
    }
  }

  private onConfigure(c: Conn, id: StratumId | null, p: unknown[]): void {
    const exts = Array.isArray(p[0]) ? p[0] : [];
    const params = typeof p[1] === 'object' && p[1] !== null ? (p[1] as Record<string, unknown>) : {};
    const result: Record<string, unknown> = {};
    for (const ext of exts) {
      if (ext === 'version-rolling') {
        const m = params['version-rolling.mask'];
        const minerMask =
          typeof m === 'string' && /^[0-9a-fA-F]{1,8}$/.test(m) ? Number.parseInt(m, 16) >>> 0 : 0xffffffff;
        c.versionMask = ((this.o.versionMask ?? 0x1fffe000) & minerMask) >>> 0;
        c.rolling = true;
        result['version-rolling'] = true;
        result['version-rolling.mask'] = hex32(c.versionMask);
      } else if (ext === 'minimum-difficulty') {
        result['minimum-difficulty'] = true;
      } else if (typeof ext === 'string') {
        result[ext] = false;
      }
    }
    this.reply(c, id, result);
  }

  private maybeStartWork(c: Conn): void {
    if (c.subscribed && c.workers.size > 0 && !c.notified) this.sendJob(c);
  }

  private reject(
    c: Conn,
    id: StratumId | null,
    worker: string,
    jobId: string,
    code: number,
    message: string,
  ): void {
    this.stats.rejected++;
    this.stats.rejectedByCode[code] = (this.stats.rejectedByCode[code] ?? 0) + 1;
    this.stats.rejectedByMessage[message] = (this.stats.rejectedByMessage[message] ?? 0) + 1;
    this.error(c, id, code, message);
    this.emit('share', { conn: c.id, worker, jobId, accepted: false, code, message });
  }

  private onSubmit(c: Conn, id: StratumId | null, p: unknown[]): void {
    const worker = typeof p[0] === 'string' ? p[0] : '';
    const jobId = typeof p[1] === 'string' ? p[1] : '';
    const v = this.validateSubmit(c, worker, jobId, p);
    if ('code' in v) {
      this.reject(c, id, worker, jobId, v.code, v.message);
      return;
    }
    v.job.seen.add(v.hashHex);
    this.stats.accepted++;
    this.stats.acceptedDifficulty += v.difficulty;
    this.reply(c, id, true);
    const net = nbitsToTarget(Number.parseInt(v.job.notify.nbits, 16) >>> 0);
    const block = !net.negative && !net.overflow && BigInt(`0x${v.hashHex}`) <= net.target;
    this.emit('share', {
      conn: c.id,
      worker,
      jobId,
      accepted: true,
      difficulty: v.shareDiff,
      hash: v.hashHex,
      block,
    });
    if (block) {
      this.stats.blocks++;
      this.log.info('block_found', { hash: v.hashHex, height: v.job.height });
      this.emit('block', v.hashHex);
      this.newBlock();
    }
  }

  /** The checks of our stratum notes §11, in order; the first failure decides the code. */
  private validateSubmit(
    c: Conn,
    worker: string,
    jobId: string,
    p: unknown[],
  ):
    | { code: number; message: string }
    | { job: ServerJob; difficulty: number; hashHex: string; shareDiff: number } {
    if (!c.subscribed) return { code: ERR.NOT_SUBSCRIBED, message: 'Not subscribed' };
    if (!c.workers.has(worker)) return { code: ERR.UNAUTHORIZED, message: 'Unauthorized worker' };
    if (p.length < 5 || p.length > 6 || p.some((x) => typeof x !== 'string')) {
      return { code: ERR.OTHER, message: 'Invalid params' };
    }
    const [, , en2, ntimeHex, nonceHex, vbHex] = p as string[];
    const job = this.jobs.get(jobId);
    if (!job) return { code: ERR.STALE, message: 'Job not found' };
    if (job.notify.prevhash !== this.current.notify.prevhash) return { code: ERR.STALE, message: 'Stale' };
    const difficulty = c.jobDifficulty.get(jobId);
    if (difficulty === undefined) return { code: ERR.STALE, message: 'Job not found' };
    const size = this.o.extranonce2Size ?? 4;
    if (!/^[0-9a-fA-F]*$/.test(en2!) || en2!.length !== size * 2) {
      return { code: ERR.OTHER, message: 'Invalid nonce2 length' };
    }
    if (!/^[0-9a-fA-F]{8}$/.test(ntimeHex!)) return { code: ERR.OTHER, message: 'Invalid ntime' };
    if (!/^[0-9a-fA-F]{8}$/.test(nonceHex!)) return { code: ERR.OTHER, message: 'Invalid nonce' };
    const ntime = Number.parseInt(ntimeHex!, 16);
    if (ntime < job.ntime || ntime > job.ntime + (this.o.ntimeWindowSec ?? 7000)) {
      return { code: ERR.OTHER, message: 'Ntime out of range' };
    }
    const jobVersion = Number.parseInt(job.notify.version, 16) >>> 0;
    let version = jobVersion;
    if (vbHex !== undefined) {
      if (!/^[0-9a-fA-F]{8}$/.test(vbHex)) return { code: ERR.OTHER, message: 'Invalid version bits' };
      const vb = Number.parseInt(vbHex, 16) >>> 0;
      const mask = c.rolling ? c.versionMask : 0;
      if ((vb & ~mask) >>> 0 !== 0) return { code: ERR.OTHER, message: 'Version bits outside the mask' };
      version = ((jobVersion & ~mask) | (vb & mask)) >>> 0;
    }
    let hashHex: string;
    let shareDiff: number;
    try {
      const t = buildTemplate(
        job.notify,
        { extranonce1: c.extranonce1, extranonce2Size: size },
        {
          difficulty,
          versionMask: c.rolling ? c.versionMask : 0,
        },
      );
      const work = makeWork(t, en2!.toLowerCase());
      const chk = checkNonce(work, Number.parseInt(nonceHex!, 16) >>> 0, { version, ntime });
      hashHex = chk.hashHex;
      shareDiff = chk.difficulty;
    } catch (e) {
      const msg = e instanceof WorkError ? `Invalid share (${e.message})` : 'Invalid share';
      return { code: ERR.OTHER, message: msg };
    }
    const hash = BigInt(`0x${hashHex}`);
    if (hash > difficultyToTarget(difficulty))
      return { code: ERR.LOW_DIFFICULTY, message: 'Low difficulty share' };
    if (job.seen.has(hashHex)) return { code: ERR.DUPLICATE, message: 'Duplicate share' };
    return { job, difficulty, hashHex, shareDiff };
  }
}
