/**
 * Embedded Ethereum Stratum pool for tests and the demo: listens on 127.0.0.1, speaks
 * EthereumStratum/1.0.0 and 2.0.0 (picked per connection from the first message: `mining.hello` → 2.0.0,
 * `mining.subscribe [agent, "EthereumStratum/1.0.0"]` → 1.0.0), hands out synthetic jobs (random header
 * hashes, a fixed small epoch, a fractional share difficulty) and checks every share with ethash light:
 * job known (else stale), nonce width, duplicate, worker token (2.0.0), hash ≤ the job's target.
 *
 *   const pool = await EthPoolServer.start({ difficulty: 2 ** -22, store });
 *   pool.url('v2')  // "stratum3+tcp://127.0.0.1:<port>"
 *   pool.newJob(); pool.setDifficulty(d); pool.stats; pool.silent = true; await pool.stop();
 *
 * Rejects use each dialect's codes: 1.0.0 classic [21 stale, 22 duplicate, 23 low difficulty, 24
 * unauthorized, 20 other]; 2.0.0 {404 job not found, 409 duplicate, 406 bad nonce, 3xx auth, 400 bad
 * request}. Facts: host/stratum-eth/REFERENCE.md.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { type Logger, silentLogger } from '../../lib/log.ts';
import {
  boundaryWords,
  bytesToHex,
  checkShare,
  EPOCH_LENGTH,
  type EthashCacheStore,
  headerWords,
  seedHash,
  shareDifficultyFromTarget,
  targetFromShareDifficulty,
} from '../ethash/index.ts';
import { serveLines } from '../pool/lines.ts';
import {
  type EthDialect,
  type EthMessage,
  encodeBye,
  encodeHelloResult,
  encodeV1Error,
  encodeV1Notification,
  encodeV1Notify,
  encodeV1Result,
  encodeV1SubscribeResult,
  encodeV2Error,
  encodeV2Notify,
  encodeV2Reconnect,
  encodeV2Result,
  encodeV2Set,
  fullNonce,
  PROTO_V1,
  parseEthLine,
} from '../stratum-eth/messages.ts';

export type ServerRejectReason =
  | 'stale'
  | 'duplicate'
  | 'low-difficulty'
  | 'unauthorized'
  | 'bad-nonce'
  | 'other';

export interface EthPoolServerOptions {
  port?: number;
  /** Dialects served (default both). A refused 2.0.0 hello is answered per `helloRefusal`. */
  dialects?: EthDialect[];
  helloRefusal?: 'error' | 'close' | 'silent';
  /** Stratum share difficulty (fractional allowed; default 2^-22 ≈ one share per 1024 hashes). */
  difficulty?: number;
  epoch?: number;
  /** Ethash cache store for share checking (required unless verifyShares is false). */
  store?: EthashCacheStore;
  verifyShares?: boolean;
  /** New job every this many ms (0 = only when newJob() is called). */
  jobIntervalMs?: number;
  /** Extranonce bytes per connection (default 2). */
  extranonceBytes?: number;
  /** 2.0.0 keep-alive timeout advertised in the hello result (s). */
  timeoutSeconds?: number;
  logger?: Logger;
}

export interface ServerShareEvent {
  dialect: EthDialect;
  conn: number;
  jobId: string;
  nonce: bigint | undefined;
  accepted: boolean;
  reason?: ServerRejectReason;
  difficulty?: number;
}

interface Job {
  id: string;
  headerHash: string;
  blockNumber: number;
  target: bigint;
}

interface Conn {
  id: number;
  socket: Socket;
  dialect: EthDialect | undefined;
  subscribed: boolean;
  authorized: boolean;
  user: string | undefined;
  workerToken: string | undefined;
  sessionId: string | undefined;
  extranonce: string;
  /** Jobs this connection was sent, with the extranonce that applied. */
  jobs: Map<string, { job: Job; extranonce: string }>;
  seen: Set<string>;
  bad: number;
  lastDifficultySent: number | undefined;
  lastTargetSent: bigint | undefined;
}

export class EthPoolServer extends EventEmitter<{
  share: [ServerShareEvent];
  connection: [{ conn: number }];
}> {
  readonly stats = {
    accepted: 0,
    rejected: {
      stale: 0,
      duplicate: 0,
      'low-difficulty': 0,
      unauthorized: 0,
      'bad-nonce': 0,
      other: 0,
    } as Record<ServerRejectReason, number>,
    badMessages: 0,
    connections: 0,
    byDialect: { v1: 0, v2: 0 } as Record<EthDialect, number>,
  };
  /**
   * Tests: a silent pool keeps its connections open but answers nothing and sends no jobs (lines are still
   * recorded in `received`).
   */
  silent = false;
  /** Every line received, per connection (tests assert on the client's wire format). */
  readonly received: Array<{ conn: number; line: string }> = [];
  readonly epoch: number;
  private readonly conns = new Map<number, Conn>();
  private readonly sessions = new Map<string, { extranonce: string; workerToken: string | undefined }>();
  private readonly log: Logger;
  private jobSeq = 0;
  private connSeq = 0;
  private current: Job | undefined;
  private difficulty: number;
  private interval: NodeJS.Timeout | undefined;

  private readonly server: Server;
  readonly port: number;
  private readonly o: EthPoolServerOptions;
  private constructor(server: Server, port: number, o: EthPoolServerOptions) {
    super();
    this.server = server;
    this.port = port;
    this.o = o;
    this.epoch = o.epoch ?? 0;
    this.difficulty = o.difficulty ?? 2 ** -22;
    this.log = (o.logger ?? silentLogger).child('pool-eth');
  }

  static async start(o: EthPoolServerOptions = {}): Promise<EthPoolServer> {
    if (o.verifyShares !== false && !o.store)
      throw new Error('EthPoolServer: a cache store is needed to verify shares');
    if (o.verifyShares !== false) await o.store!.get(o.epoch ?? 0);
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.port ?? 0, '127.0.0.1', () => resolve());
    });
    const addr = server.address();
    if (!addr || typeof addr !== 'object') throw new Error('EthPoolServer: no address');
    const pool = new EthPoolServer(server, addr.port, o);
    server.on('connection', (s) => pool.onConnection(s));
    pool.newJob(true, false);
    if (o.jobIntervalMs) pool.interval = setInterval(() => pool.newJob(false), o.jobIntervalMs);
    return pool;
  }

  /** URL for a client of the given dialect (auto = plain stratum+tcp). */
  url(dialect: EthDialect | 'auto' = 'auto'): string {
    const scheme = dialect === 'v1' ? 'stratum2+tcp' : dialect === 'v2' ? 'stratum3+tcp' : 'stratum+tcp';
    return `${scheme}://127.0.0.1:${this.port}`;
  }

  get seedHashHex(): string {
    return bytesToHex(seedHash(this.epoch));
  }
  get currentJob(): Job | undefined {
    return this.current;
  }
  get connectionCount(): number {
    return this.conns.size;
  }

  /** A new synthetic job (random header hash) to every ready connection. */
  newJob(clean = true, broadcast = true): Job {
    const job: Job = {
      id: (++this.jobSeq).toString(16),
      headerHash: randomBytes(32).toString('hex'),
      blockNumber: this.epoch * EPOCH_LENGTH + this.jobSeq,
      target: targetFromShareDifficulty(this.difficulty),
    };
    this.current = job;
    if (broadcast && !this.silent)
      for (const c of this.conns.values()) if (c.authorized) this.sendJob(c, job, clean);
    return job;
  }

  /** Share difficulty for the next jobs (announced now, applies from the next job). */
  setDifficulty(d: number): void {
    this.difficulty = d;
    for (const c of this.conns.values()) if (c.authorized) this.sendTargets(c, targetFromShareDifficulty(d));
  }

  /** New extranonce for every connection, applying from the next job; returns the new values. */
  rotateExtranonce(): string[] {
    const out: string[] = [];
    for (const c of this.conns.values()) {
      c.extranonce = this.makeExtranonce();
      if (c.dialect === 'v1') c.socket.write(encodeV1Notification('mining.set_extranonce', [c.extranonce]));
      else if (c.dialect === 'v2') c.socket.write(encodeV2Set({ extranonce: c.extranonce }));
      out.push(c.extranonce);
    }
    return out;
  }

  /** Raw line to every connection (tests: garbage, odd messages). */
  sendRaw(line: string): void {
    for (const c of this.conns.values()) c.socket.write(line.endsWith('\n') ? line : `${line}\n`);
  }

  /** 2.0.0 mining.reconnect / 1.0.0 client.reconnect to every connection. */
  requestReconnect(): void {
    for (const c of this.conns.values()) {
      if (c.dialect === 'v2')
        c.socket.write(encodeV2Reconnect({ host: '127.0.0.1', port: this.port, resume: true }));
      else c.socket.write(encodeV1Notification('client.reconnect', ['127.0.0.1', this.port, 0]));
    }
  }

  bye(): void {
    for (const c of this.conns.values()) if (c.dialect === 'v2') c.socket.write(encodeBye());
  }

  dropConnections(): void {
    for (const c of this.conns.values()) c.socket.destroy();
  }

  async stop(): Promise<void> {
    clearInterval(this.interval);
    for (const c of this.conns.values()) c.socket.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  // -------------------------------------------------------------------------------------------------

  private makeExtranonce(): string {
    return randomBytes(this.o.extranonceBytes ?? 2).toString('hex');
  }

  private onConnection(socket: Socket): void {
    const c: Conn = {
      id: ++this.connSeq,
      socket,
      dialect: undefined,
      subscribed: false,
      authorized: false,
      user: undefined,
      workerToken: undefined,
      sessionId: undefined,
      extranonce: this.makeExtranonce(),
      jobs: new Map(),
      seen: new Set(),
      bad: 0,
      lastDifficultySent: undefined,
      lastTargetSent: undefined,
    };
    this.conns.set(c.id, c);
    this.stats.connections++;
    this.emit('connection', { conn: c.id });
    serveLines(socket, {
      onLine: (line) => {
        this.received.push({ conn: c.id, line });
        if (this.silent) return;
        const r = parseEthLine(line);
        if (!r.ok) {
          this.badMessage(c, r.error.message);
          return;
        }
        void this.onMessage(c, r.value);
      },
      onClose: () => this.conns.delete(c.id),
    });
  }

  private badMessage(c: Conn, detail: string): void {
    this.stats.badMessages++;
    this.log.warn('bad_message', { conn: c.id, detail });
    if (++c.bad > 20) c.socket.destroy();
  }

  private allowed(d: EthDialect): boolean {
    return (this.o.dialects ?? ['v1', 'v2']).includes(d);
  }

  private async onMessage(c: Conn, m: EthMessage): Promise<void> {
    if (m.type === 'response') return;
    const id = m.type === 'request' ? m.id : undefined;
    const p = m.params;
    const w = (line: string) => {
      if (!c.socket.destroyed) c.socket.write(line);
    };
    if (m.method === 'mining.hello') {
      if (!this.allowed('v2')) {
        const how = this.o.helloRefusal ?? 'error';
        if (how === 'close') c.socket.destroy();
        else if (how === 'error' && id !== undefined) w(encodeV1Error(id, 20, 'Unknown method mining.hello'));
        return;
      }
      c.dialect = 'v2';
      this.stats.byDialect.v2++;
      if (id !== undefined)
        w(
          encodeHelloResult(id, {
            resume: true,
            timeoutSeconds: this.o.timeoutSeconds ?? 0,
            maxErrors: 10,
            node: 'asicd-pool-eth',
          }),
        );
      return;
    }
    if (c.dialect === undefined && m.method === 'mining.subscribe') {
      if (!Array.isArray(p) || p[1] !== PROTO_V1 || !this.allowed('v1')) {
        if (id !== undefined) w(encodeV1Error(id, 20, `Unsupported protocol (want ${PROTO_V1})`));
        return;
      }
      c.dialect = 'v1';
      this.stats.byDialect.v1++;
    }
    if (c.dialect === 'v1') return this.onV1(c, m.method, Array.isArray(p) ? p : [], id, w);
    if (c.dialect === 'v2') return this.onV2(c, m.method, p, id, w);
    if (id !== undefined) w(encodeV1Error(id, 25, 'Not subscribed'));
  }

  private async onV1(
    c: Conn,
    method: string,
    p: unknown[],
    id: number | string | undefined,
    w: (l: string) => void,
  ): Promise<void> {
    switch (method) {
      case 'mining.subscribe':
        c.subscribed = true;
        if (id !== undefined) w(encodeV1SubscribeResult(id, randomBytes(16).toString('hex'), c.extranonce));
        return;
      case 'mining.extranonce.subscribe':
        if (id !== undefined) w(encodeV1Result(id, true));
        return;
      case 'mining.authorize':
        if (typeof p[0] !== 'string' || p[0] === '') {
          if (id !== undefined) w(encodeV1Error(id, 24, 'Unauthorized worker'));
          return;
        }
        c.user = p[0];
        c.authorized = true;
        if (id !== undefined) w(encodeV1Result(id, true));
        this.sendTargets(c, targetFromShareDifficulty(this.difficulty));
        if (this.current) this.sendJob(c, this.current, true);
        return;
      case 'mining.submit': {
        if (id === undefined) return;
        if (!c.authorized || p[0] !== c.user) return w(encodeV1Error(id, 24, 'Unauthorized worker'));
        const r = await this.checkSubmit(c, String(p[1]), p[2]);
        w(r.accepted ? encodeV1Result(id, true) : encodeV1Error(id, V1_CODES[r.reason!], r.message!));
        return;
      }
      default:
        if (id !== undefined) w(encodeV1Error(id, 20, `Unknown method ${method}`));
    }
  }

  private async onV2(
    c: Conn,
    method: string,
    p: unknown,
    id: number | string | undefined,
    w: (l: string) => void,
  ): Promise<void> {
    switch (method) {
      case 'mining.subscribe': {
        const resume = typeof p === 'string' ? this.sessions.get(p) : undefined;
        if (resume && typeof p === 'string') {
          c.sessionId = p;
          c.extranonce = resume.extranonce;
          c.workerToken = resume.workerToken;
        } else {
          c.sessionId = `s-${randomBytes(4).toString('hex')}`;
          this.sessions.set(c.sessionId, { extranonce: c.extranonce, workerToken: undefined });
        }
        c.subscribed = true;
        if (id !== undefined) w(encodeV2Result(id, c.sessionId));
        return;
      }
      case 'mining.authorize': {
        if (!c.subscribed) return void (id !== undefined && w(encodeV2Error(id, 400, 'Not subscribed')));
        if (!Array.isArray(p) || typeof p[0] !== 'string' || p[0] === '') {
          return void (id !== undefined && w(encodeV2Error(id, 310, 'Invalid worker name')));
        }
        c.user = p[0];
        c.workerToken ??= `w-${randomBytes(3).toString('hex')}`;
        this.sessions.set(c.sessionId!, { extranonce: c.extranonce, workerToken: c.workerToken });
        const first = !c.authorized;
        c.authorized = true;
        if (id !== undefined) w(encodeV2Result(id, c.workerToken));
        if (first) {
          const target = targetFromShareDifficulty(this.difficulty);
          c.lastTargetSent = target;
          w(encodeV2Set({ epoch: this.epoch, target, algo: 'ethash', extranonce: c.extranonce }));
          if (this.current) this.sendJob(c, this.current, true);
        }
        return;
      }
      case 'mining.submit': {
        if (id === undefined) return;
        if (!Array.isArray(p) || p.length < 3) return w(encodeV2Error(id, 400, 'Bad params'));
        if (!c.authorized || p[2] !== c.workerToken) return w(encodeV2Error(id, 310, 'Unauthorized worker'));
        const r = await this.checkSubmit(c, String(p[0]), p[1]);
        w(r.accepted ? encodeV2Result(id) : encodeV2Error(id, V2_CODES[r.reason!], r.message!));
        return;
      }
      case 'mining.noop':
      case 'mining.hashrate':
        if (id !== undefined) w(encodeV2Result(id));
        return;
      case 'mining.bye':
        if (c.sessionId) this.sessions.delete(c.sessionId);
        c.socket.end();
        return;
      default:
        if (id !== undefined) w(encodeV2Error(id, 400, `Unknown method ${method}`));
    }
  }

  private sendTargets(c: Conn, target: bigint): void {
    if (c.dialect === 'v1') {
      const d = shareDifficultyFromTarget(target);
      if (c.lastDifficultySent !== d) {
        c.lastDifficultySent = d;
        c.socket.write(encodeV1Notification('mining.set_difficulty', [d]));
      }
    } else if (c.dialect === 'v2' && c.lastTargetSent !== target) {
      c.lastTargetSent = target;
      c.socket.write(encodeV2Set({ target }));
    }
  }

  private sendJob(c: Conn, job: Job, clean: boolean): void {
    if (clean) c.jobs.clear();
    c.jobs.set(job.id, { job, extranonce: c.extranonce });
    if (c.jobs.size > 16) c.jobs.delete(c.jobs.keys().next().value!);
    if (c.dialect === 'v1') {
      c.socket.write(
        encodeV1Notify({
          jobId: job.id,
          seedHash: this.seedHashHex,
          headerHash: job.headerHash,
          cleanJobs: clean,
        }),
      );
    } else {
      c.socket.write(
        encodeV2Notify({
          jobId: job.id,
          blockNumber: job.blockNumber,
          headerHash: job.headerHash,
          cleanJobs: clean,
        }),
      );
    }
  }

  private async checkSubmit(
    c: Conn,
    jobId: string,
    minerNonce: unknown,
  ): Promise<{ accepted: boolean; reason?: ServerRejectReason; message?: string }> {
    const done = (
      accepted: boolean,
      reason?: ServerRejectReason,
      message?: string,
      nonce?: bigint,
      difficulty?: number,
    ) => {
      if (accepted) this.stats.accepted++;
      else this.stats.rejected[reason!]++;
      const ev: ServerShareEvent = { dialect: c.dialect!, conn: c.id, jobId, nonce, accepted };
      if (reason) ev.reason = reason;
      if (difficulty !== undefined) ev.difficulty = difficulty;
      this.emit('share', ev);
      this.log.info(accepted ? 'share_accepted' : 'share_rejected', {
        conn: c.id,
        jobId,
        reason,
        difficulty,
      });
      return { accepted, ...(reason ? { reason } : {}), ...(message ? { message } : {}) };
    };
    const entry = c.jobs.get(jobId);
    if (!entry) return done(false, 'stale', 'Job not found');
    const nonce = typeof minerNonce === 'string' ? fullNonce(entry.extranonce, minerNonce) : undefined;
    if (nonce === undefined)
      return done(false, 'bad-nonce', `Invalid nonce (want ${16 - entry.extranonce.length} hex digits)`);
    const key = `${jobId}:${nonce}`;
    if (c.seen.has(key)) return done(false, 'duplicate', 'Duplicate share', nonce);
    c.seen.add(key);
    if (c.seen.size > 10_000) c.seen.clear();
    if (this.o.verifyShares === false) return done(true, undefined, undefined, nonce);
    const light = await this.o.store!.get(this.epoch);
    const r = checkShare(light, headerWords(entry.job.headerHash), nonce, boundaryWords(entry.job.target));
    if (!r.meets)
      return done(
        false,
        'low-difficulty',
        c.dialect === 'v2' ? 'Bad nonce' : 'Low difficulty share',
        nonce,
        r.difficulty,
      );
    return done(true, undefined, undefined, nonce, r.difficulty);
  }
}

const V1_CODES: Record<ServerRejectReason, number> = {
  stale: 21,
  duplicate: 22,
  'low-difficulty': 23,
  unauthorized: 24,
  'bad-nonce': 20,
  other: 20,
};
const V2_CODES: Record<ServerRejectReason, number> = {
  stale: 404,
  duplicate: 409,
  'low-difficulty': 406,
  unauthorized: 310,
  'bad-nonce': 400,
  other: 400,
};
