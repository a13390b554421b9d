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
import type { Duplex } from 'node:stream';
import type { TimerHandle } from '../../lib/clock.ts';
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
import { emptyRejectCounts } from '../stratum/messages.ts';
import {
  type ClientSession,
  type CommonDisconnectReason,
  type DisconnectOf,
  type PoolEndpoint,
  PoolSessionClient,
  parseEndpoint,
  rpcText,
  type SessionClientOptions,
  type ShareOutcome,
  type ShareResultOf,
  type SubmitPending,
} from '../stratum/session.ts';
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
  minerNonceHex,
  nonceSegment,
  PROTO_V1,
  PROTO_V2,
  parseEthLine,
  parseHelloResult,
  parseTokenResult,
  parseV1SubscribeResult,
  type Result,
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
  return parseEndpoint(url, (scheme): { tls: boolean; dialect: EthDialectChoice } => {
    const s = /^(stratum([123]?))\+(tcp|ssl|tls)$|^(tcp|ssl|tls)$/.exec(scheme);
    if (!s)
      throw new Error(
        `pool url: scheme "${scheme}" is not stratum[2|3]+tcp, stratum[2|3]+ssl or stratum[2|3]+tls`,
      );
    const ver = s[2] ?? '';
    if (ver === '1')
      throw new Error(
        'pool url: stratum1+tcp (eth-proxy) is not supported; use stratum2+tcp or stratum3+tcp',
      );
    const transport = s[3] ?? s[4]!;
    return { tls: transport !== 'tcp', dialect: ver === '2' ? 'v1' : ver === '3' ? 'v2' : 'auto' };
  });
}

export interface EthClientOptions extends SessionClientOptions {
  /** Epoch rule: 'etchash' = ETC (60000-block epochs from ECIP-1099); default 'ethash'. */
  algo?: 'ethash' | 'etchash';
  /** Overrides the ECIP-1099 activation block (testnets). */
  ecip1099Block?: number;
  /** 1.0.0: send mining.extranonce.subscribe after authorize (default true). */
  extranonceSubscribe?: boolean;
  /** Auto-detect: no mining.hello answer within this → fall back to 1.0.0 (default 5 s). */
  helloTimeoutMs?: number;
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

export type EthShareResultEvent = ShareResultOf<EthShareSubmission>;

export type EthDisconnectReason =
  | CommonDisconnectReason
  | 'unauthorized'
  | 'subscribe-failed'
  | 'protocol-mismatch'
  | 'bye'
  | 'server-error';

export type EthDisconnectEvent = DisconnectOf<EthDisconnectReason>;

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

interface JobInfo {
  target: bigint;
  extranonce: string;
}

interface EthTypes {
  share: EthShareSubmission;
  kind: 'hello' | 'subscribe' | 'authorize' | 'other';
  job: JobInfo;
  message: EthMessage;
  reason: EthDisconnectReason;
}

interface Session extends ClientSession<EthTypes> {
  dialect: EthDialect;
  helloDone: boolean;
  /** Auto-detection is trying 2.0.0 on this connection (a refusal falls back to 1.0.0). */
  probe: boolean;
  workerToken: string | undefined;
  extranonce: string;
  nextExtranonce: string | undefined;
  /** 1.0.0 difficulty for the next job. */
  nextDifficulty: number;
  /** 2.0.0 values for next jobs. */
  set: V2Set;
  timers: { ready?: TimerHandle; silence?: TimerHandle; hello?: TimerHandle; noop?: TimerHandle };
}

const MAX_JOBS_KEPT = 64;

export class EthStratumClient extends PoolSessionClient<EthTypes, Session, EthClientEvents> {
  declare readonly endpoint: EthPoolEndpoint;
  declare protected readonly o: EthClientOptions;
  readonly stats: EthClientStats = {
    accepted: 0,
    acceptedWithCaveat: 0,
    rejected: 0,
    rejectedByReason: emptyRejectCounts(),
    staleLocal: 0,
    noAnswer: 0,
  };
  private readonly rule: EpochRule;
  /** Dialect found by auto-detection (kept for later connects). */
  private detected: EthDialect | undefined;
  private resumeSession: string | undefined;
  private difficultyCarry = 1;

  constructor(opts: EthClientOptions) {
    super(opts, { endpoint: parseEthPoolUrl(opts.url), logName: 'stratum-eth', maxJobsKept: MAX_JOBS_KEPT });
    this.rule =
      opts.ecip1099Block !== undefined
        ? { ecip1099Block: opts.ecip1099Block }
        : opts.algo === 'etchash'
          ? ETCHASH
          : ETHASH;
  }

  /** Dialect of the live session, or the one the next connect will use. */
  get dialect(): EthDialectChoice {
    return this.session?.dialect ?? this.detected ?? this.endpoint.dialect;
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
    if (this.state !== 'idle') return;
    const dialect: EthDialect =
      this.endpoint.dialect === 'auto' ? (this.detected ?? 'v2') : this.endpoint.dialect;
    this.open(dialect, this.endpoint.dialect === 'auto' && this.detected === undefined);
  }

  submit(share: EthShareSubmission): Promise<ShareOutcome> {
    const found = this.sessionForShare(share);
    if (typeof found === 'string') return this.refuseLocally(share, found);
    const { s, job } = found;
    const jobDifficulty = shareDifficultyFromTarget(job.target);
    const minerHex = minerNonceHex(nonceSegment(job.extranonce), share.nonce);
    if (minerHex === undefined)
      return this.refuseLocally(
        share,
        `nonce outside the extranonce "${job.extranonce}" segment`,
        jobDifficulty,
      );
    return this.sendSubmit(s, share, jobDifficulty, (id) =>
      s.dialect === 'v1'
        ? encodeV1Submit(id, this.user, share.jobId, minerHex)
        : encodeV2Submit(id, share.jobId, minerHex, s.workerToken!),
    );
  }

  // -------------------------------------------------------------------------------------------------

  protected override parse(line: string): Result<EthMessage> {
    return parseEthLine(line);
  }

  protected override countOutcome(outcome: ShareOutcome): void {
    if (outcome.status === 'accepted') this.stats.accepted++;
    else if (outcome.status === 'rejected') {
      this.stats.rejected++;
      this.stats.rejectedByReason[outcome.reason]++;
    } else if (outcome.status === 'no-answer') this.stats.noAnswer++;
    else this.stats.staleLocal++;
  }

  protected override takeId(s: Session): number {
    const id = s.nextId;
    // EIP-1571 ids are 0..65535; 1.0.0 has no limit but wrapping is harmless.
    s.nextId = (s.nextId + 1) % 65536;
    return id;
  }

  protected override beforeLocalClose(s: Session): void {
    if (s.dialect === 'v2' && s.helloDone) s.socket.write(encodeBye());
  }

  protected override readyMissing(s: Session): Array<string | false> {
    return [!s.helloDone && 'hello', ...super.readyMissing(s)];
  }

  protected override socketLost(s: Session, reason: 'socket-error' | 'closed-by-pool', detail: string): void {
    if (s.probe && !s.helloDone) {
      this.fallback(
        s,
        reason === 'socket-error'
          ? `socket error before the hello answer (${detail})`
          : 'pool closed the connection on mining.hello',
      );
      return;
    }
    super.socketLost(s, reason, detail);
  }

  protected override isQuietEnd(reason: EthDisconnectReason | CommonDisconnectReason): boolean {
    return reason === 'bye' || super.isQuietEnd(reason);
  }

  private open(dialect: EthDialect, probing: boolean): void {
    this.dial((token, socket, target) => this.startSession(token, socket, target, dialect, probing));
  }

  private startSession(
    token: string,
    socket: Duplex,
    target: { host: string; port: number },
    dialect: EthDialect,
    probing: boolean,
  ): void {
    const s: Session = {
      ...this.baseSession(token, socket, target),
      nextId: dialect === 'v2' ? 0 : 1,
      dialect,
      helloDone: dialect === 'v1',
      probe: probing && dialect === 'v2',
      workerToken: undefined,
      extranonce: '',
      nextExtranonce: undefined,
      nextDifficulty: 1,
      set: {},
    };
    this.attach(s);
    this.log.info('connected', { host: target.host, port: target.port, token, dialect });
    this.emit('connected', { poolToken: token, host: target.host, port: target.port, dialect });
    if (this.session !== s) return;
    const agent = this.o.userAgent ?? USER_AGENT;
    if (dialect === 'v1') {
      this.request(s, 'subscribe', (id) => encodeV1Subscribe(id, agent));
      this.request(s, 'authorize', (id) => encodeV1Authorize(id, this.user, this.o.password ?? ''));
    } else {
      this.request(s, 'hello', (id) => encodeHello(id, { agent, host: target.host, port: target.port }));
      if (s.probe) {
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

  protected override onMessage(s: Session, m: EthMessage): void {
    if (m.type === 'response') this.onResponse(s, m);
    else if (s.dialect === 'v1') this.onV1(s, m);
    else this.onV2(s, m);
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
        this.whenAuthorized(s, () => {
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
        });
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
      case 'reconnect':
        this.followReconnect(s, msg, s.target);
        return;
      case 'ping':
        if (msg.id !== null) s.socket.write(encodeV1Result(msg.id, 'pong'));
        return;
      case 'unknown':
        this.bad(s, 'unknown-method', msg.method);
        return;
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
        this.whenAuthorized(s, () => {
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
        });
        return;
      }
      case 'reconnect':
        this.followReconnect(s, { host: msg.host, port: msg.port }, s.target);
        return;
      case 'bye':
        this.resumeSession = undefined;
        this.endSession('bye', 'pool sent mining.bye');
        return;
      case 'hashrate':
        this.log.debug('pool_hashrate', { params: msg.params });
        return;
      case 'noop':
        return;
      case 'unknown':
        this.bad(s, 'unknown-method', msg.method);
        return;
    }
  }

  /** Emits a job (the pending extranonce applies from it on) and marks the session ready on the first. */
  private emitJob(
    s: Session,
    j: Omit<EthClientJob, 'dialect' | 'difficulty' | 'extranonce' | 'poolToken' | 'user' | 'receivedAt'>,
  ): void {
    if (s.nextExtranonce !== undefined) {
      s.extranonce = s.nextExtranonce;
      s.nextExtranonce = undefined;
      s.jobs.clear();
    }
    const cleanJobs = this.rememberJob(
      s,
      j.jobId,
      { target: j.target, extranonce: s.extranonce },
      j.cleanJobs,
    );
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
    if (this.becameReady(s)) {
      this.log.info('ready', { token: s.token, dialect: s.dialect, extranonce: s.extranonce });
      this.emit('ready', { poolToken: s.token, dialect: s.dialect });
    }
  }

  // ---- responses -------------------------------------------------------------------------------------

  private onResponse(s: Session, m: Extract<EthMessage, { type: 'response' }>): void {
    const p = this.answered(s, m.id);
    if (!p) return;
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
            if (this.session === s) this.request(s, 'other', (id) => encodeNoop(id));
          }, every);
        }
        const resume = r.value.resume ? this.resumeSession : undefined;
        this.request(s, 'subscribe', (id) => encodeV2Subscribe(id, resume), !!resume);
        this.request(s, 'authorize', (id) => encodeV2Authorize(id, this.user, this.o.password ?? ''));
        return;
      }
      case 'subscribe': {
        if (m.error) {
          if (p.resumed) {
            this.resumeSession = undefined;
            this.request(s, 'subscribe', (id) => encodeV2Subscribe(id));
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
          this.request(s, 'other', (id) => encodeV1ExtranonceSubscribe(id));
        this.afterHandshakeStep(s);
        return;
      }
      case 'other':
        return;
    }
  }

  private onSubmitResponse(
    s: Session,
    p: SubmitPending<EthShareSubmission>,
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
}

/** The client for a URL (scheme picks the dialect; see parseEthPoolUrl). */
export function createEthClient(opts: EthClientOptions): EthStratumClient {
  return new EthStratumClient(opts);
}
