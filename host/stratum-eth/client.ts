/**
 * Ethereum Stratum client: one pool, one connection at a time, speaking EthereumStratum/1.0.0 (NiceHash)
 * or EthereumStratum/2.0.0 (EIP-1571), chosen by URL scheme (`stratum2+tcp` → 1.0.0, `stratum3+tcp` →
 * 2.0.0, as ethminer names them) or detected: 2.0.0 first (`mining.hello`), and if the pool answers it
 * with an error, closes, or stays silent for `helloTimeoutMs`, the same connect() retries with 1.0.0.
 *
 *   const c = new EthStratumClient({ url: 'stratum3+tcp://pool:4444', user, algo: 'ethash' });
 *   c.on('job', (j) => ...);                       // header hash, epoch, target, extranonce, poolToken
 *   c.connect();
 *   const outcome = await c.submit({ poolToken: j.poolToken, jobId: j.jobId, nonce });
 *
 * Same shape as the Bitcoin StratumClient (host/stratum/client.ts): events connected / ready / job /
 * difficulty / extranonce / message / shareResult / disconnected, opaque poolToken per connection,
 * every submit resolves exactly once (accepted / rejected(reason) / no-answer / stale-local), an injected
 * Clock for every timer, bad input counted per kind and logged once per kind, and no reconnect policy of
 * its own (the pool manager owns retries). Per-reason reject counts are kept in `stats`.
 * Facts: host/stratum-eth/REFERENCE.md.
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { type Clock, systemClock, type TimerHandle } from '../../lib/clock.ts';
import { type Logger, silentLogger } from '../../lib/log.ts';
import {
  DIFF1_TARGET,
  type EpochRule,
  ETCHASH,
  ETHASH,
  epochFromSeed,
  epochLengthAt,
  seedRounds,
  shareDifficultyFromTarget,
  targetFromShareDifficulty,
} from '../ethash/index.ts';
import {
  type ClientState,
  type Connector,
  type ConnectTarget,
  defaultConnector,
  type PoolEndpoint,
  type ShareOutcome,
} from '../stratum/client.ts';
import { USER_AGENT } from '../version.ts';
import {
  classifyEthError,
  decodeV1ServerMessage,
  decodeV2ServerMessage,
  type EthDialect,
  type EthMessage,
  type EthRejectReason,
  encodeBye,
  encodeHello,
  encodeNoop,
  encodeV1Authorize,
  encodeV1ExtranonceSubscribe,
  encodeV1Result,
  encodeV1Submit,
  encodeV1Subscribe,
  encodeV2Authorize,
  encodeV2Submit,
  encodeV2Subscribe,
  LineDecoder,
  LineTooLongError,
  minerNonceHex,
  nonceSegment,
  PROTO_V1,
  PROTO_V2,
  parseEthLine,
  parseHelloResult,
  parseTokenResult,
  parseV1SubscribeResult,
  type RpcError,
  type V2Set,
} from './messages.ts';

export type EthDialectChoice = EthDialect | 'auto';

export interface EthPoolEndpoint extends PoolEndpoint {
  dialect: EthDialectChoice;
}

/**
 * `stratum2+tcp` → 1.0.0, `stratum3+tcp` → 2.0.0, `stratum+tcp` / `tcp` / none → auto-detect;
 * `+ssl` / `+tls` variants use TLS. `stratum1+tcp` (eth-proxy) is refused: not supported.
 */
export function parseEthPoolUrl(url: string): EthPoolEndpoint {
  const m = /^(?:([a-z0-9+.-]+):\/\/)?(\[[0-9a-fA-F:.]+\]|[^\s:/[\]]+):(\d{1,5})\/?$/i.exec(url.trim());
  if (!m) throw new Error(`pool url: "${url}" is not scheme://host:port`);
  const scheme = (m[1] ?? 'stratum+tcp').toLowerCase();
  const s = /^(stratum([123]?))\+(tcp|ssl|tls)$|^(tcp|ssl|tls)$/.exec(scheme);
  if (!s)
    throw new Error(
      `pool url: scheme "${scheme}" is not stratum[2|3]+tcp, stratum[2|3]+ssl or stratum[2|3]+tls`,
    );
  const ver = s[2] ?? '';
  if (ver === '1')
    throw new Error('pool url: stratum1+tcp (eth-proxy) is not supported; use stratum2+tcp or stratum3+tcp');
  const transport = s[3] ?? s[4]!;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) throw new Error(`pool url: port ${port} out of range`);
  const host = m[2]!.startsWith('[') ? m[2]!.slice(1, -1) : m[2]!;
  return {
    url,
    host,
    port,
    tls: transport !== 'tcp',
    dialect: ver === '2' ? 'v1' : ver === '3' ? 'v2' : 'auto',
  };
}

export interface EthClientOptions {
  url: string;
  user: string;
  password?: string;
  label?: string;
  /** Epoch rule: 'etchash' = ETC (60000-block epochs from ECIP-1099); default 'ethash'. */
  algo?: 'ethash' | 'etchash';
  /** Overrides the ECIP-1099 activation block (testnets). */
  ecip1099Block?: number;
  /** 1.0.0: send mining.extranonce.subscribe after authorize (default true). */
  extranonceSubscribe?: boolean;
  allowRedirect?: boolean;
  connectTimeoutMs?: number;
  /** Auto-detect: no mining.hello answer within this → fall back to 1.0.0 (default 5 s). */
  helloTimeoutMs?: number;
  readyTimeoutMs?: number;
  silenceMs?: number;
  submitTimeoutMs?: number;
  badInputLimit?: number;
  userAgent?: string;
  clock?: Clock;
  logger?: Logger;
  connector?: Connector;
}

/** A job as the ethash work side needs it. */
export interface EthClientJob {
  dialect: EthDialect;
  jobId: string;
  headerHash: string;
  seedHash: string | undefined;
  epoch: number;
  epochLength: number;
  /** 2.0.0 only. */
  blockNumber: number | undefined;
  /** Shares must hash ≤ target. */
  target: bigint;
  /** Stratum share difficulty of the target (DIFF1_TARGET / target). */
  difficulty: number;
  /** Pool's nonce prefix (hex digits); the miner searches below it. */
  extranonce: string;
  cleanJobs: boolean;
  poolToken: string;
  user: string;
  receivedAt: number;
}

export interface EthShareSubmission {
  poolToken: string;
  jobId: string;
  /** Full 64-bit nonce (extranonce prefix included). */
  nonce: bigint;
  /** Share difficulty the result reached (best-share accounting). */
  difficulty?: number;
}

export interface EthShareResultEvent {
  poolToken: string;
  share: EthShareSubmission;
  outcome: ShareOutcome;
  jobDifficulty: number;
}

export type EthDisconnectReason =
  | 'connect-failed'
  | 'connect-timeout'
  | 'closed-by-pool'
  | 'socket-error'
  | 'not-ready'
  | 'silence'
  | 'unauthorized'
  | 'subscribe-failed'
  | 'protocol-mismatch'
  | 'line-too-long'
  | 'bad-input'
  | 'reconnect-request'
  | 'bye'
  | 'server-error'
  | 'local';

export interface EthDisconnectEvent {
  poolToken: string;
  reason: EthDisconnectReason;
  detail?: string;
  wasReady: boolean;
  reconnectAfterMs?: number;
}

export interface EthClientEvents {
  connected: [{ poolToken: string; host: string; port: number; dialect: EthDialect }];
  ready: [{ poolToken: string; dialect: EthDialect }];
  job: [EthClientJob];
  difficulty: [{ poolToken: string; difficulty: number }];
  extranonce: [{ poolToken: string; extranonce: string }];
  message: [{ poolToken: string; text: string }];
  shareResult: [EthShareResultEvent];
  disconnected: [EthDisconnectEvent];
  /** Never emitted (ethash has no version rolling); declared for the pool manager's client surface. */
  versionMask: [{ poolToken: string; mask: number }];
}

export interface EthClientStats {
  accepted: number;
  /** Accepted with a 2xx caveat other than stale. */
  acceptedWithCaveat: number;
  rejected: number;
  rejectedByReason: Record<EthRejectReason, number>;
  staleLocal: number;
  noAnswer: number;
}

type Pending =
  | { kind: 'hello' | 'subscribe' | 'authorize' | 'other'; resumed?: boolean }
  | {
      kind: 'submit';
      share: EthShareSubmission;
      jobDifficulty: number;
      resolve: (o: ShareOutcome) => void;
      timer: TimerHandle;
    };

interface JobInfo {
  target: bigint;
  extranonce: string;
}

interface Session {
  token: string;
  dialect: EthDialect;
  socket: Duplex;
  decoder: LineDecoder;
  nextId: number;
  pending: Map<number | string, Pending>;
  helloDone: boolean;
  subscribed: boolean;
  authorized: boolean;
  ready: boolean;
  workerToken: string | undefined;
  extranonce: string;
  nextExtranonce: string | undefined;
  /** 1.0.0 difficulty for the next job. */
  nextDifficulty: number;
  /** 2.0.0 values for next jobs. */
  set: V2Set;
  jobs: Map<string, JobInfo>;
  heldJob: (() => void) | undefined;
  jobsEmitted: number;
  badInputs: number;
  timers: { ready?: TimerHandle; silence?: TimerHandle; hello?: TimerHandle; noop?: TimerHandle };
  reconnect: { host: string; port: number; waitMs: number } | undefined;
  target: { host: string; port: number };
}

const MAX_JOBS_KEPT = 64;

export class EthStratumClient extends EventEmitter<EthClientEvents> {
  readonly endpoint: EthPoolEndpoint;
  readonly user: string;
  readonly label: string;
  readonly badInput: Record<string, number> = {};
  readonly stats: EthClientStats = {
    accepted: 0,
    acceptedWithCaveat: 0,
    rejected: 0,
    rejectedByReason: {
      other: 0,
      stale: 0,
      duplicate: 0,
      'low-difficulty': 0,
      unauthorized: 0,
      'not-subscribed': 0,
    },
    staleLocal: 0,
    noAnswer: 0,
  };
  private readonly o: EthClientOptions;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly connector: Connector;
  private readonly rule: EpochRule;
  private readonly loggedKinds = new Set<string>();
  private session: Session | undefined;
  private connecting: { abort: AbortController; timer: TimerHandle } | undefined;
  private connSeq = 0;
  private redirect: { host: string; port: number } | undefined;
  /** Dialect found by auto-detection (kept for later connects). */
  private detected: EthDialect | undefined;
  private resumeSession: string | undefined;
  private difficultyCarry = 1;

  constructor(opts: EthClientOptions) {
    super();
    this.o = opts;
    this.endpoint = parseEthPoolUrl(opts.url);
    this.user = opts.user;
    this.label = opts.label ?? opts.url;
    this.clock = opts.clock ?? systemClock;
    this.log = (opts.logger ?? silentLogger).child('stratum-eth', { pool: this.label });
    this.connector = opts.connector ?? defaultConnector;
    this.rule =
      opts.ecip1099Block !== undefined
        ? { ecip1099Block: opts.ecip1099Block }
        : opts.algo === 'etchash'
          ? ETCHASH
          : ETHASH;
  }

  get state(): ClientState {
    if (this.session) return this.session.ready ? 'ready' : 'handshake';
    return this.connecting ? 'connecting' : 'idle';
  }
  get poolToken(): string | undefined {
    return this.session?.token;
  }
  /** Dialect of the live session, or the one the next connect will use. */
  get dialect(): EthDialectChoice {
    return this.session?.dialect ?? this.detected ?? this.endpoint.dialect;
  }
  get pendingSubmits(): number {
    let n = 0;
    for (const p of this.session?.pending.values() ?? []) if (p.kind === 'submit') n++;
    return n;
  }
  /** Stratum share difficulty of the next job. */
  get difficulty(): number {
    const s = this.session;
    if (!s) return this.difficultyCarry;
    return s.dialect === 'v1' ? s.nextDifficulty : shareDifficultyFromTarget(s.set.target ?? DIFF1_TARGET);
  }
  /** No version rolling in ethash; here for interface parity with the Bitcoin client. */
  get versionMask(): number {
    return 0;
  }

  connect(): void {
    if (this.session || this.connecting) return;
    const dialect: EthDialect =
      this.endpoint.dialect === 'auto' ? (this.detected ?? 'v2') : this.endpoint.dialect;
    this.open(dialect, this.endpoint.dialect === 'auto' && this.detected === undefined);
  }

  close(detail = 'closed locally'): void {
    if (this.connecting) {
      const { abort, timer } = this.connecting;
      this.connecting = undefined;
      this.clock.clearTimeout(timer);
      abort.abort();
    }
    if (this.session) {
      if (this.session.dialect === 'v2' && this.session.helloDone) this.session.socket.write(encodeBye());
      this.endSession('local', detail);
    }
  }

  async drain(timeoutMs: number): Promise<void> {
    if (this.session && this.pendingSubmits > 0) {
      await new Promise<void>((resolve) => {
        const finish = () => {
          this.clock.clearTimeout(h);
          this.off('shareResult', check);
          this.off('disconnected', finish);
          resolve();
        };
        const check = () => {
          if (!this.session || this.pendingSubmits === 0) finish();
        };
        const h = this.clock.setTimeout(finish, timeoutMs);
        this.on('shareResult', check);
        this.on('disconnected', finish);
      });
    }
    this.close('drained');
  }

  submit(share: EthShareSubmission): Promise<ShareOutcome> {
    const s = this.session;
    const local = (detail: string, jobDifficulty = 0): Promise<ShareOutcome> => {
      const outcome: ShareOutcome = { status: 'stale-local', detail };
      this.stats.staleLocal++;
      this.emit('shareResult', { poolToken: share.poolToken, share, outcome, jobDifficulty });
      return Promise.resolve(outcome);
    };
    if (!s || s.token !== share.poolToken) return local('session of the job has ended');
    if (!s.authorized) return local('not authorized');
    const job = s.jobs.get(share.jobId);
    if (!job) return local('job unknown or superseded by a clean job');
    const jobDifficulty = shareDifficultyFromTarget(job.target);
    const minerHex = minerNonceHex(nonceSegment(job.extranonce), share.nonce);
    if (minerHex === undefined)
      return local(`nonce outside the extranonce "${job.extranonce}" segment`, jobDifficulty);
    const id = this.takeId(s);
    const line =
      s.dialect === 'v1'
        ? encodeV1Submit(id, this.user, share.jobId, minerHex)
        : encodeV2Submit(id, share.jobId, minerHex, s.workerToken!);
    return new Promise<ShareOutcome>((resolve) => {
      const timer = this.clock.setTimeout(() => {
        if (s.pending.delete(id))
          this.finishShare(s, share, jobDifficulty, resolve, { status: 'no-answer', cause: 'timeout' });
      }, this.o.submitTimeoutMs ?? 60_000);
      s.pending.set(id, { kind: 'submit', share, jobDifficulty, resolve, timer });
      s.socket.write(line);
    });
  }

  // -------------------------------------------------------------------------------------------------

  private open(dialect: EthDialect, probing: boolean): void {
    const target = this.redirect ?? { host: this.endpoint.host, port: this.endpoint.port };
    this.redirect = undefined;
    const token = `${this.label}#${++this.connSeq}`;
    const abort = new AbortController();
    const timer = this.clock.setTimeout(() => {
      if (this.connecting?.abort !== abort) return;
      this.connecting = undefined;
      abort.abort();
      this.emit('disconnected', { poolToken: token, reason: 'connect-timeout', wasReady: false });
    }, this.o.connectTimeoutMs ?? 15_000);
    this.connecting = { abort, timer };
    const ct: ConnectTarget = { host: target.host, port: target.port, tls: this.endpoint.tls };
    this.connector(ct, abort.signal).then(
      (socket) => {
        if (this.connecting?.abort !== abort) {
          socket.destroy();
          return;
        }
        this.clock.clearTimeout(timer);
        this.connecting = undefined;
        this.startSession(token, socket, target, dialect, probing);
      },
      (err: Error) => {
        if (this.connecting?.abort !== abort) return;
        this.clock.clearTimeout(timer);
        this.connecting = undefined;
        this.log.warn('connect_failed', { host: target.host, port: target.port, error: err });
        this.emit('disconnected', {
          poolToken: token,
          reason: 'connect-failed',
          detail: err.message,
          wasReady: false,
        });
      },
    );
  }

  private takeId(s: Session): number {
    const id = s.nextId;
    // EIP-1571 ids are 0..65535; 1.0.0 has no limit but wrapping is harmless.
    s.nextId = (s.nextId + 1) % 65536;
    return id;
  }

  private startSession(
    token: string,
    socket: Duplex,
    target: { host: string; port: number },
    dialect: EthDialect,
    probing: boolean,
  ): void {
    const s: Session = {
      token,
      dialect,
      socket,
      decoder: new LineDecoder(),
      nextId: dialect === 'v2' ? 0 : 1,
      pending: new Map(),
      helloDone: dialect === 'v1',
      subscribed: false,
      authorized: false,
      ready: false,
      workerToken: undefined,
      extranonce: '',
      nextExtranonce: undefined,
      nextDifficulty: 1,
      set: {},
      jobs: new Map(),
      heldJob: undefined,
      jobsEmitted: 0,
      badInputs: 0,
      timers: {},
      reconnect: undefined,
      target,
    };
    this.session = s;
    const probe = probing && dialect === 'v2';
    socket.on('data', (chunk: Buffer) => this.onData(s, chunk));
    socket.on('error', (e: Error) => {
      if (this.session !== s) return;
      if (probe && !s.helloDone) {
        this.fallback(s, `socket error before the hello answer (${e.message})`);
        return;
      }
      this.endSession('socket-error', e.message);
    });
    socket.on('close', () => {
      if (this.session !== s) return;
      if (probe && !s.helloDone) {
        this.fallback(s, 'pool closed the connection on mining.hello');
        return;
      }
      this.endSession('closed-by-pool', 'connection closed by the pool');
    });
    s.timers.ready = this.clock.setTimeout(() => {
      if (this.session === s && !s.ready) {
        const missing = [
          !s.helloDone && 'hello',
          !s.subscribed && 'subscribe',
          !s.authorized && 'authorize',
          s.jobsEmitted === 0 && 'first notify',
        ]
          .filter(Boolean)
          .join(', ');
        this.endSession('not-ready', `no ${missing} within ${this.o.readyTimeoutMs ?? 30_000} ms`);
      }
    }, this.o.readyTimeoutMs ?? 30_000);
    this.armSilence(s);
    this.log.info('connected', { host: target.host, port: target.port, token, dialect });
    this.emit('connected', { poolToken: token, host: target.host, port: target.port, dialect });
    if (this.session !== s) return;
    const agent = this.o.userAgent ?? USER_AGENT;
    if (dialect === 'v1') {
      this.send(s, 'subscribe', (id) => encodeV1Subscribe(id, agent));
      this.send(s, 'authorize', (id) => encodeV1Authorize(id, this.user, this.o.password ?? ''));
    } else {
      this.send(s, 'hello', (id) => encodeHello(id, { agent, host: target.host, port: target.port }));
      if (probe) {
        s.timers.hello = this.clock.setTimeout(() => {
          if (this.session === s && !s.helloDone)
            this.fallback(s, `no mining.hello answer within ${this.o.helloTimeoutMs ?? 5000} ms`);
        }, this.o.helloTimeoutMs ?? 5000);
      }
    }
  }

  /** Auto-detection: 2.0.0 was refused; reconnect at once with 1.0.0. */
  private fallback(s: Session, why: string): void {
    this.log.info('dialect_fallback', { from: PROTO_V2, to: PROTO_V1, why });
    this.detected = 'v1';
    this.teardown(s);
    this.open('v1', false);
  }

  private send(
    s: Session,
    kind: 'hello' | 'subscribe' | 'authorize' | 'other',
    make: (id: number) => string,
    resumed = false,
  ): void {
    const id = this.takeId(s);
    s.pending.set(id, { kind, resumed });
    s.socket.write(make(id));
  }

  private armSilence(s: Session): void {
    this.clock.clearTimeout(s.timers.silence);
    const ms = this.o.silenceMs ?? 120_000;
    s.timers.silence = this.clock.setTimeout(() => {
      if (this.session === s) this.endSession('silence', `no notify and no response for ${ms} ms`);
    }, ms);
  }

  private bad(s: Session, kind: string, detail: string): void {
    this.badInput[kind] = (this.badInput[kind] ?? 0) + 1;
    if (!this.loggedKinds.has(kind)) {
      this.loggedKinds.add(kind);
      this.log.warn('bad_input', {
        kind,
        detail: detail.slice(0, 200),
        note: 'logged once per kind; counted',
      });
    }
    s.badInputs++;
    if (s.badInputs > (this.o.badInputLimit ?? 100) && this.session === s) {
      this.endSession('bad-input', `more than ${this.o.badInputLimit ?? 100} bad messages`);
    }
  }

  private onData(s: Session, chunk: Buffer): void {
    if (this.session !== s) return;
    let lines: string[];
    try {
      lines = s.decoder.push(chunk);
    } catch (e) {
      if (e instanceof LineTooLongError) {
        this.bad(s, 'line-too-long', e.message);
        if (this.session === s) this.endSession('line-too-long', e.message);
        return;
      }
      throw e;
    }
    for (const l of lines) {
      if (this.session !== s) return;
      const r = parseEthLine(l);
      if (!r.ok) {
        this.bad(s, r.error.kind, r.error.message);
        continue;
      }
      if (r.value.type === 'response') this.onResponse(s, r.value);
      else if (s.dialect === 'v1') this.onV1(s, r.value);
      else this.onV2(s, r.value);
    }
  }

  // ---- 1.0.0 -----------------------------------------------------------------------------------------

  private onV1(s: Session, m: Extract<EthMessage, { type: 'request' | 'notification' }>): void {
    const d = decodeV1ServerMessage(m);
    if (!d.ok) {
      this.bad(s, m.method, d.error.message);
      return;
    }
    const msg = d.value;
    switch (msg.kind) {
      case 'notify': {
        this.armSilence(s);
        const job = msg.job;
        const emit = () => {
          const rounds = seedRounds(job.seedHash);
          if (rounds === undefined) {
            this.bad(s, 'seedhash', `mining.notify.params[1] (seedhash): not the seed of any epoch ≤ 4096`);
            return;
          }
          const per60 =
            this.rule.ecip1099Block !== undefined &&
            rounds * 30_000 >= this.rule.ecip1099Block &&
            rounds % 2 === 0;
          const epochLength = per60 ? 60_000 : 30_000;
          const epoch = epochFromSeed(job.seedHash, epochLength)!;
          if (s.nextExtranonce !== undefined) {
            s.extranonce = s.nextExtranonce;
            s.nextExtranonce = undefined;
            s.jobs.clear();
          }
          this.emitJob(s, {
            jobId: job.jobId,
            headerHash: job.headerHash,
            seedHash: job.seedHash,
            epoch,
            epochLength,
            blockNumber: undefined,
            target: targetFromShareDifficulty(s.nextDifficulty),
            cleanJobs: job.cleanJobs,
          });
        };
        if (!s.subscribed || !s.authorized) s.heldJob = emit;
        else emit();
        return;
      }
      case 'set_difficulty':
        s.nextDifficulty = msg.difficulty;
        this.difficultyCarry = msg.difficulty;
        this.emit('difficulty', { poolToken: s.token, difficulty: msg.difficulty });
        return;
      case 'set_extranonce':
        s.nextExtranonce = msg.extranonce;
        this.emit('extranonce', { poolToken: s.token, extranonce: msg.extranonce });
        return;
      case 'reconnect': {
        this.followReconnect(s, msg.host, msg.port, msg.waitSeconds);
        return;
      }
      case 'ping':
        if (msg.id !== null) s.socket.write(encodeV1Result(msg.id, 'pong'));
        return;
      case 'unknown': {
        this.bad(s, 'unknown-method', msg.method);
        return;
      }
    }
  }

  // ---- 2.0.0 -----------------------------------------------------------------------------------------

  private onV2(s: Session, m: Extract<EthMessage, { type: 'request' | 'notification' }>): void {
    const d = decodeV2ServerMessage(m);
    if (!d.ok) {
      this.bad(s, m.method, d.error.message);
      return;
    }
    const msg = d.value;
    switch (msg.kind) {
      case 'set': {
        Object.assign(s.set, msg.set);
        if (msg.set.target !== undefined) {
          const diff = shareDifficultyFromTarget(msg.set.target);
          this.difficultyCarry = diff;
          this.emit('difficulty', { poolToken: s.token, difficulty: diff });
        }
        if (msg.set.extranonce !== undefined) {
          s.nextExtranonce = msg.set.extranonce;
          this.emit('extranonce', { poolToken: s.token, extranonce: msg.set.extranonce });
        }
        if (msg.set.algo !== undefined && msg.set.algo !== 'ethash' && msg.set.algo !== 'etchash') {
          this.bad(
            s,
            'algo',
            `mining.set.params.algo: "${msg.set.algo}" is not ethash/etchash; jobs are dropped until it is`,
          );
        }
        return;
      }
      case 'notify': {
        this.armSilence(s);
        const job = msg.job;
        const emit = () => {
          const algo = s.set.algo ?? 'ethash';
          if (algo !== 'ethash' && algo !== 'etchash') {
            this.bad(s, 'algo', `job ${job.jobId} for algo ${algo} dropped`);
            return;
          }
          if (s.set.epoch === undefined) {
            this.bad(s, 'epoch', `mining.notify ${job.jobId}: no epoch set by mining.set yet`);
            return;
          }
          const rule = algo === 'etchash' && this.rule.ecip1099Block === undefined ? ETCHASH : this.rule;
          const epochLength = epochLengthAt(job.blockNumber, rule);
          if (Math.floor(job.blockNumber / epochLength) !== s.set.epoch) {
            this.bad(
              s,
              'epoch',
              `mining.notify ${job.jobId}: block ${job.blockNumber} is not in epoch ${s.set.epoch}; using mining.set's epoch`,
            );
          }
          if (s.nextExtranonce !== undefined) {
            s.extranonce = s.nextExtranonce;
            s.nextExtranonce = undefined;
            s.jobs.clear();
          }
          this.emitJob(s, {
            jobId: job.jobId,
            headerHash: job.headerHash,
            seedHash: undefined,
            epoch: s.set.epoch,
            epochLength,
            blockNumber: job.blockNumber,
            target: s.set.target ?? DIFF1_TARGET,
            cleanJobs: job.cleanJobs,
          });
        };
        if (!s.subscribed || !s.authorized) s.heldJob = emit;
        else emit();
        return;
      }
      case 'reconnect': {
        this.followReconnect(s, msg.host, msg.port, 0);
        return;
      }
      case 'bye':
        this.resumeSession = undefined;
        {
          this.endSession('bye', 'pool sent mining.bye');
          return;
        }
      case 'hashrate':
        this.log.debug('pool_hashrate', { params: msg.params });
        return;
      case 'noop':
        return;
      case 'unknown': {
        this.bad(s, 'unknown-method', msg.method);
        return;
      }
    }
  }

  private followReconnect(
    s: Session,
    host: string | undefined,
    port: number | undefined,
    waitSeconds: number | undefined,
  ): void {
    const sameHost = host === undefined || host === this.endpoint.host;
    let h = s.target.host;
    let p = s.target.port;
    if (this.o.allowRedirect || sameHost) {
      h = this.o.allowRedirect ? (host ?? h) : h;
      p = port ?? p;
    } else {
      this.log.warn('reconnect_redirect_refused', { host, port, note: 'allowRedirect is off' });
    }
    s.reconnect = { host: h, port: p, waitMs: Math.round((waitSeconds ?? 0) * 1000) };
    this.endSession('reconnect-request', `pool asked to reconnect to ${h}:${p}`);
  }

  private emitJob(
    s: Session,
    j: Omit<EthClientJob, 'dialect' | 'difficulty' | 'extranonce' | 'poolToken' | 'user' | 'receivedAt'>,
  ): void {
    const cleanJobs = j.cleanJobs || s.jobsEmitted === 0;
    if (cleanJobs) s.jobs.clear();
    s.jobs.delete(j.jobId);
    s.jobs.set(j.jobId, { target: j.target, extranonce: s.extranonce });
    if (s.jobs.size > MAX_JOBS_KEPT) s.jobs.delete(s.jobs.keys().next().value!);
    s.jobsEmitted++;
    this.emit('job', {
      ...j,
      dialect: s.dialect,
      cleanJobs,
      difficulty: shareDifficultyFromTarget(j.target),
      extranonce: s.extranonce,
      poolToken: s.token,
      user: this.user,
      receivedAt: this.clock.now(),
    });
    if (this.session === s && !s.ready) {
      s.ready = true;
      this.clock.clearTimeout(s.timers.ready);
      this.log.info('ready', { token: s.token, dialect: s.dialect, extranonce: s.extranonce });
      this.emit('ready', { poolToken: s.token, dialect: s.dialect });
    }
  }

  // ---- responses -------------------------------------------------------------------------------------

  private onResponse(s: Session, m: Extract<EthMessage, { type: 'response' }>): void {
    const p = s.pending.get(m.id);
    if (!p) {
      this.bad(s, 'unknown-id', `response to id ${JSON.stringify(m.id)} that is not pending`);
      return;
    }
    s.pending.delete(m.id);
    this.armSilence(s);
    switch (p.kind) {
      case 'submit': {
        this.onSubmitResponse(s, p, m.result, m.error);
        return;
      }
      case 'hello': {
        this.clock.clearTimeout(s.timers.hello);
        const probe = this.endpoint.dialect === 'auto' && this.detected === undefined;
        const r = m.error ? undefined : parseHelloResult(m.result);
        if (!r?.ok || r.value.proto !== PROTO_V2) {
          const why = m.error
            ? rpcText(m.error)
            : r && !r.ok
              ? r.error.message
              : `pool speaks ${r?.value.proto}`;
          if (probe) {
            this.fallback(s, `mining.hello refused: ${why}`);
            return;
          }
          this.endSession('protocol-mismatch', `mining.hello: ${why}`);
          return;
        }
        if (r.value.encoding !== 'plain') {
          this.endSession('protocol-mismatch', 'pool wants gzip encoding, which asicd does not speak');
          return;
        }
        s.helloDone = true;
        if (probe) {
          this.detected = 'v2';
          this.log.info('dialect_detected', { dialect: PROTO_V2, node: r.value.node });
        }
        if (r.value.timeoutSeconds > 0) {
          const every = Math.max(1000, (r.value.timeoutSeconds * 1000) / 2);
          s.timers.noop = this.clock.setInterval(() => {
            if (this.session === s) this.send(s, 'other', (id) => encodeNoop(id));
          }, every);
        }
        const resume = r.value.resume ? this.resumeSession : undefined;
        this.send(s, 'subscribe', (id) => encodeV2Subscribe(id, resume), !!resume);
        this.send(s, 'authorize', (id) => encodeV2Authorize(id, this.user, this.o.password ?? ''));
        return;
      }
      case 'subscribe': {
        if (m.error) {
          if (p.resumed) {
            this.resumeSession = undefined;
            this.send(s, 'subscribe', (id) => encodeV2Subscribe(id));
            return;
          }
          this.endSession('subscribe-failed', rpcText(m.error));
          return;
        }
        if (s.dialect === 'v1') {
          const r = parseV1SubscribeResult(m.result);
          if (!r.ok) {
            this.bad(s, 'result', r.error.message);
            if (this.session === s) this.endSession('subscribe-failed', r.error.message);
            return;
          }
          if (r.value.proto !== PROTO_V1) {
            this.bad(
              s,
              'proto',
              `mining.subscribe.result[0][2]: pool echoed ${JSON.stringify(r.value.proto)}, not ${PROTO_V1}`,
            );
          }
          s.extranonce = r.value.extranonce;
        } else {
          const r = parseTokenResult(m.result, 'mining.subscribe.result (session id)');
          if (!r.ok) {
            this.bad(s, 'result', r.error.message);
            if (this.session === s) this.endSession('subscribe-failed', r.error.message);
            return;
          }
          if (p.resumed && r.value === this.resumeSession)
            this.log.info('session_resumed', { session: r.value });
          this.resumeSession = r.value;
        }
        s.subscribed = true;
        this.afterHandshakeStep(s);
        return;
      }
      case 'authorize': {
        if (m.error && !(m.error.code !== undefined && m.error.code >= 200 && m.error.code < 300)) {
          this.log.warn('authorize_refused', { user: this.user, error: rpcText(m.error) });
          this.endSession('unauthorized', rpcText(m.error));
          return;
        }
        if (s.dialect === 'v1') {
          if (m.result !== true) {
            this.endSession('unauthorized', 'authorize returned false');
            return;
          }
        } else {
          const r = parseTokenResult(m.result, 'mining.authorize.result (worker token)');
          if (!r.ok) {
            this.bad(s, 'result', r.error.message);
            if (this.session === s) this.endSession('unauthorized', r.error.message);
            return;
          }
          s.workerToken = r.value;
        }
        s.authorized = true;
        if (s.dialect === 'v1' && this.o.extranonceSubscribe !== false)
          this.send(s, 'other', (id) => encodeV1ExtranonceSubscribe(id));
        this.afterHandshakeStep(s);
        return;
      }
      case 'other':
        return;
    }
  }

  private onSubmitResponse(
    s: Session,
    p: Extract<Pending, { kind: 'submit' }>,
    result: unknown,
    error: RpcError | null,
  ): void {
    this.clock.clearTimeout(p.timer);
    let outcome: ShareOutcome;
    let failover = false;
    const v2ok = s.dialect === 'v2' && !error;
    const v1ok = s.dialect === 'v1' && result === true && !error;
    if (v1ok || v2ok) outcome = { status: 'accepted' };
    else if (error) {
      const c = classifyEthError(error);
      failover = c.failover;
      if (c.accepted) {
        this.stats.acceptedWithCaveat++;
        this.log.info('share_accepted_with_caveat', { code: error.code, message: error.message });
        outcome = { status: 'accepted' };
      } else {
        outcome = {
          status: 'rejected',
          reason: c.reason,
          code: error.code ?? 20,
          poolCode: error.code,
          message: error.message,
        };
      }
    } else
      outcome = {
        status: 'rejected',
        reason: 'other',
        code: 20,
        poolCode: undefined,
        message: `result ${JSON.stringify(result)}`,
      };
    this.finishShare(s, p.share, p.jobDifficulty, p.resolve, outcome);
    if (failover && this.session === s)
      this.endSession('server-error', `submit answered with server error ${error?.code}`);
  }

  private finishShare(
    s: Session,
    share: EthShareSubmission,
    jobDifficulty: number,
    resolve: (o: ShareOutcome) => void,
    outcome: ShareOutcome,
  ): void {
    if (outcome.status === 'accepted') this.stats.accepted++;
    else if (outcome.status === 'rejected') {
      this.stats.rejected++;
      this.stats.rejectedByReason[outcome.reason]++;
    } else if (outcome.status === 'no-answer') this.stats.noAnswer++;
    resolve(outcome);
    this.emit('shareResult', { poolToken: s.token, share, outcome, jobDifficulty });
  }

  private afterHandshakeStep(s: Session): void {
    if (s.subscribed && s.authorized && s.heldJob) {
      const emit = s.heldJob;
      s.heldJob = undefined;
      emit();
    }
  }

  /** Stops timers and the socket of a session without events (used before a fallback reconnect). */
  private teardown(s: Session): void {
    if (this.session === s) this.session = undefined;
    for (const t of Object.values(s.timers)) {
      this.clock.clearTimeout(t);
      this.clock.clearInterval(t);
    }
    s.socket.removeAllListeners('data');
    s.socket.on('error', () => {});
    s.socket.destroy();
  }

  private endSession(reason: EthDisconnectReason, detail: string): void {
    const s = this.session;
    if (!s) return;
    this.teardown(s);
    for (const [id, p] of s.pending) {
      s.pending.delete(id);
      if (p.kind === 'submit') {
        this.clock.clearTimeout(p.timer);
        this.finishShare(s, p.share, p.jobDifficulty, p.resolve, {
          status: 'no-answer',
          cause: 'disconnect',
        });
      }
    }
    const ev: EthDisconnectEvent = { poolToken: s.token, reason, detail, wasReady: s.ready };
    if (s.reconnect) {
      this.redirect = { host: s.reconnect.host, port: s.reconnect.port };
      ev.reconnectAfterMs = s.reconnect.waitMs;
    }
    const level = reason === 'local' || reason === 'reconnect-request' || reason === 'bye' ? 'info' : 'warn';
    this.log[level]('disconnected', { token: s.token, reason, detail });
    this.emit('disconnected', ev);
  }
}

function rpcText(e: RpcError | null): string {
  if (!e) return '';
  return e.code !== undefined ? `${e.code} ${e.message}` : e.message;
}

/** The client for a URL (scheme picks the dialect; see parseEthPoolUrl). */
export function createEthClient(opts: EthClientOptions): EthStratumClient {
  return new EthStratumClient(opts);
}
