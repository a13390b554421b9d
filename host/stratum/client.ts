/**
 * Stratum V1 client: one pool, one connection at a time (an actor over a pluggable connector).
 *
 *   const c = new StratumClient({ url: 'stratum+tcp://pool:3333', user, password, versionRollingMask });
 *   c.on('job', (j) => ...); c.on('shareResult', ...); c.connect();
 *   const outcome = await c.submit({ poolToken: j.poolToken, jobId, extranonce2, ntime, nonce, versionBits });
 *
 * Session: mining.configure (version rolling with the chips' mask, minimum-difficulty when asked) →
 * mining.subscribe (user agent, resume with the last extranonce1) → mining.authorize → optional
 * suggest_difficulty and extranonce.subscribe. The client is *ready* (healthy) once subscribed, authorized
 * and the first valid notify has been emitted as a job; it closes the connection itself when that does not
 * happen within `readyTimeoutMs`, when the pool is silent (no notify and no response) for `silenceMs`, on
 * a line over 64 KiB, or after too many bad messages. Every connection has an opaque `poolToken`; jobs
 * carry it and submit() refuses shares whose token is not the live session's (status 'stale-local').
 * Every submit resolves exactly once: accepted / rejected(reason) / no-answer (timeout, disconnect) /
 * stale-local. The client never reconnects by itself except to follow the timing of a client.reconnect
 * request: it then emits 'disconnected' with `reconnectAfterMs`, and the next connect() goes to the
 * allowed target. Retry policy lives in the pool manager.
 *
 * Events: connected, ready, job, difficulty, versionMask, extranonce, message, shareResult, disconnected.
 * All timers go through the injected Clock. Facts: REFERENCE.md.
 */
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import { type Clock, systemClock, type TimerHandle } from '../../lib/clock.ts';
import { type Logger, silentLogger } from '../../lib/log.ts';
import { USER_AGENT } from '../version.ts';
import {
  classifyReject,
  decodeServerMessage,
  encodeAuthorize,
  encodeConfigure,
  encodeExtranonceSubscribe,
  encodeResult,
  encodeSubmit,
  encodeSubscribe,
  encodeSuggestDifficulty,
  LineDecoder,
  LineTooLongError,
  type NotifyJob,
  parseConfigureResult,
  parseLine,
  parseSubscribeResult,
  type RejectReason,
  type RpcError,
  type ServerMessage,
  type StratumMessage,
} from './messages.ts';

// ---------------------------------------------------------------------------------------------------
// URLs and connectors

export interface PoolEndpoint {
  /** As configured, e.g. "stratum+ssl://pool.example:4333". */
  url: string;
  host: string;
  port: number;
  tls: boolean;
}

/** Parses stratum+tcp:// (or tcp://, or bare host:port), stratum+ssl:// / stratum+tls://, IPv6 in [ ]. */
export function parsePoolUrl(url: string): PoolEndpoint {
  const m = /^(?:([a-z0-9+.-]+):\/\/)?(\[[0-9a-fA-F:.]+\]|[^\s:/[\]]+):(\d{1,5})\/?$/i.exec(url.trim());
  if (!m) throw new Error(`pool url: "${url}" is not scheme://host:port`);
  const scheme = (m[1] ?? 'stratum+tcp').toLowerCase();
  let tls: boolean;
  if (scheme === 'stratum+tcp' || scheme === 'tcp' || scheme === 'stratum') tls = false;
  else if (scheme === 'stratum+ssl' || scheme === 'stratum+tls' || scheme === 'ssl' || scheme === 'tls')
    tls = true;
  else throw new Error(`pool url: scheme "${scheme}" is not stratum+tcp, stratum+ssl or stratum+tls`);
  const port = Number(m[3]);
  if (port < 1 || port > 65535) throw new Error(`pool url: port ${port} out of range`);
  const host = m[2]!.startsWith('[') ? m[2]!.slice(1, -1) : m[2]!;
  return { url, host, port, tls };
}

export interface ConnectTarget {
  host: string;
  port: number;
  tls: boolean;
  /** PEM text of extra trusted CAs (replaces the system store, like Node's `ca`). */
  ca?: string;
  /** Skip certificate verification (explicit opt-in only). */
  insecure?: boolean;
}

/** Opens a connected duplex byte stream; aborting the signal must destroy it. */
export type Connector = (target: ConnectTarget, signal: AbortSignal) => Promise<Duplex>;

const IP_RE = /^(\d{1,3}(\.\d{1,3}){3}|[0-9a-fA-F:]*:[0-9a-fA-F:.]*)$/;

/** TCP or TLS through node:net / node:tls (DNS, IPv4, IPv6). TLS verifies against system CAs by default. */
export const defaultConnector: Connector = (t, signal) =>
  new Promise<Duplex>((resolve, reject) => {
    const sock = t.tls
      ? tlsConnect({
          host: t.host,
          port: t.port,
          ...(IP_RE.test(t.host) ? {} : { servername: t.host }),
          ...(t.ca ? { ca: t.ca } : {}),
          rejectUnauthorized: !t.insecure,
        })
      : netConnect({ host: t.host, port: t.port });
    const onAbort = () => {
      sock.destroy();
      reject(new Error('connect aborted'));
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    sock.once(t.tls ? 'secureConnect' : 'connect', () => {
      signal.removeEventListener('abort', onAbort);
      sock.removeListener('error', reject);
      sock.setNoDelay?.(true);
      resolve(sock);
    });
    sock.once('error', (e) => {
      signal.removeEventListener('abort', onAbort);
      reject(e);
    });
  });

// ---------------------------------------------------------------------------------------------------
// Public types

export interface StratumClientOptions {
  url: string;
  user: string;
  password?: string;
  /** Name used in logs and tokens (default: the url). */
  label?: string;
  /** Version-rolling mask the chips can roll (e.g. 0x1fffe000); omitted → no version rolling. */
  versionRollingMask?: number;
  /** Ask for BIP310 minimum-difficulty with this value. */
  minimumDifficulty?: number;
  /** Send mining.suggest_difficulty after authorize. */
  suggestDifficulty?: number;
  /** Send mining.extranonce.subscribe after authorize (opt-in per pool). */
  extranonceSubscribe?: boolean;
  /** Follow client.reconnect to another host (default false: same host only). */
  allowRedirect?: boolean;
  tlsCaFile?: string;
  tlsInsecure?: boolean;
  /** Extranonce1 of an earlier session to resume. */
  resumeExtranonce1?: string;
  connectTimeoutMs?: number;
  /** Subscribe + authorize + first notify must complete within this (default 30 s). */
  readyTimeoutMs?: number;
  /** No notify and no response for this long → the connection is closed (default 120 s). */
  silenceMs?: number;
  /** A submit without an answer after this is given up as no-answer/timeout (default 60 s). */
  submitTimeoutMs?: number;
  /** Bad messages on one connection before it is dropped (default 100). */
  badInputLimit?: number;
  userAgent?: string;
  clock?: Clock;
  logger?: Logger;
  connector?: Connector;
}

/** A job as the work engine needs it. */
export interface ClientJob {
  job: NotifyJob;
  extranonce1: string;
  extranonce2Size: number;
  /** Pool difficulty that applies to shares of this job. */
  difficulty: number;
  /** Granted version-rolling mask (0 = no rolling). */
  versionMask: number;
  /** True if older jobs must be abandoned (pool said so, prevhash changed, or first job of a session). */
  cleanJobs: boolean;
  /** Opaque id of the session that issued the job; shares must carry it back. */
  poolToken: string;
  /** Username shares of this job are submitted with. */
  user: string;
  receivedAt: number;
}

export interface ShareSubmission {
  poolToken: string;
  jobId: string;
  /** Hex, 2·extranonce2Size digits. */
  extranonce2: string;
  ntime: number;
  nonce: number;
  /** Rolled version bits (under the mask), sent as the 6th param when rolling is active. */
  versionBits?: number;
  /** Difficulty the share's hash reached (for best-share accounting). */
  difficulty?: number;
}

export type ShareOutcome =
  | { status: 'accepted' }
  | { status: 'rejected'; reason: RejectReason; code: number; poolCode: number | undefined; message: string }
  | { status: 'no-answer'; cause: 'timeout' | 'disconnect' }
  | { status: 'stale-local'; detail: string };

export interface ShareResultEvent {
  poolToken: string;
  share: ShareSubmission;
  outcome: ShareOutcome;
  /** Pool difficulty of the share's job (0 when the job was unknown). */
  jobDifficulty: number;
}

export type DisconnectReason =
  | 'connect-failed'
  | 'connect-timeout'
  | 'closed-by-pool'
  | 'socket-error'
  | 'not-ready'
  | 'silence'
  | 'unauthorized'
  | 'subscribe-failed'
  | 'line-too-long'
  | 'bad-input'
  | 'reconnect-request'
  | 'local';

export interface DisconnectEvent {
  poolToken: string;
  reason: DisconnectReason;
  detail?: string;
  /** The session had become ready before it ended. */
  wasReady: boolean;
  /** Set for a client.reconnect: connect() again after this delay. */
  reconnectAfterMs?: number;
}

export interface ClientEvents {
  connected: [{ poolToken: string; host: string; port: number }];
  ready: [{ poolToken: string }];
  job: [ClientJob];
  difficulty: [{ poolToken: string; difficulty: number }];
  versionMask: [{ poolToken: string; mask: number }];
  extranonce: [{ poolToken: string; extranonce1: string; extranonce2Size: number }];
  message: [{ poolToken: string; text: string }];
  shareResult: [ShareResultEvent];
  disconnected: [DisconnectEvent];
}

export type ClientState = 'idle' | 'connecting' | 'handshake' | 'ready';

// ---------------------------------------------------------------------------------------------------
// Internals

type Pending =
  | { kind: 'configure' | 'subscribe' | 'authorize' | 'other'; resumed?: boolean }
  | {
      kind: 'submit';
      share: ShareSubmission;
      jobDifficulty: number;
      resolve: (o: ShareOutcome) => void;
      timer: TimerHandle;
    };

interface JobInfo {
  difficulty: number;
  extranonce2Size: number;
}

const MAX_JOBS_KEPT = 256;

interface Session {
  token: string;
  socket: Duplex;
  decoder: LineDecoder;
  nextId: number;
  pending: Map<number | string, Pending>;
  subscribed: boolean;
  authorized: boolean;
  ready: boolean;
  latestAuthorizeId: number;
  extranonce1: string;
  extranonce2Size: number;
  nextExtranonce: { extranonce1: string; extranonce2Size: number } | undefined;
  /** Difficulty for the next job (set_difficulty) and the one of the last job. */
  nextDifficulty: number;
  versionRolling: boolean;
  versionMask: number;
  jobs: Map<string, JobInfo>;
  lastPrevhash: string | undefined;
  heldJob: NotifyJob | undefined;
  jobsEmitted: number;
  badInputs: number;
  readyTimer: TimerHandle | undefined;
  silenceTimer: TimerHandle | undefined;
  reconnect: { host: string; port: number; waitMs: number } | undefined;
}

export class StratumClient extends EventEmitter<ClientEvents> {
  readonly endpoint: PoolEndpoint;
  readonly user: string;
  readonly label: string;
  /** Bad input counted per kind over the client's life. */
  readonly badInput: Record<string, number> = {};
  private readonly o: StratumClientOptions;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly connector: Connector;
  private readonly loggedKinds = new Set<string>();
  private session: Session | undefined;
  private connecting: { abort: AbortController; timer: TimerHandle } | undefined;
  private connSeq = 0;
  private resumeExtranonce1: string | undefined;
  private redirect: { host: string; port: number } | undefined;
  private difficultyCarry = 1;

  constructor(opts: StratumClientOptions) {
    super();
    this.o = opts;
    this.endpoint = parsePoolUrl(opts.url);
    this.user = opts.user;
    this.label = opts.label ?? opts.url;
    this.clock = opts.clock ?? systemClock;
    this.log = (opts.logger ?? silentLogger).child('stratum', { pool: this.label });
    this.connector = opts.connector ?? defaultConnector;
    this.resumeExtranonce1 = opts.resumeExtranonce1;
  }

  get state(): ClientState {
    if (this.session) return this.session.ready ? 'ready' : 'handshake';
    return this.connecting ? 'connecting' : 'idle';
  }
  /** Token of the live session, if any. */
  get poolToken(): string | undefined {
    return this.session?.token;
  }
  /** Extranonce1 to resume with on the next connection. */
  get lastExtranonce1(): string | undefined {
    return this.resumeExtranonce1;
  }
  /** Submits waiting for an answer on the live session. */
  get pendingSubmits(): number {
    let n = 0;
    for (const p of this.session?.pending.values() ?? []) if (p.kind === 'submit') n++;
    return n;
  }
  /** Difficulty that the next job will carry. */
  get difficulty(): number {
    return this.session?.nextDifficulty ?? this.difficultyCarry;
  }
  get versionMask(): number {
    return this.session?.versionRolling ? this.session.versionMask : 0;
  }

  /** Opens a connection (no-op if one is open or opening). Outcome arrives as events. */
  connect(): void {
    if (this.session || this.connecting) return;
    const target = this.redirect ?? { host: this.endpoint.host, port: this.endpoint.port };
    this.redirect = undefined;
    const token = `${this.label}#${++this.connSeq}`;
    const abort = new AbortController();
    const timer = this.clock.setTimeout(() => {
      if (this.connecting?.abort !== abort) return;
      this.connecting = undefined;
      abort.abort();
      this.emitDisconnect({ poolToken: token, reason: 'connect-timeout', wasReady: false });
    }, this.o.connectTimeoutMs ?? 15_000);
    this.connecting = { abort, timer };
    let ca: string | undefined;
    try {
      if (this.o.tlsCaFile) ca = readFileSync(this.o.tlsCaFile, 'utf8');
    } catch (e) {
      this.connecting = undefined;
      this.clock.clearTimeout(timer);
      this.log.error('tls_ca_unreadable', { file: this.o.tlsCaFile, error: e as Error });
      queueMicrotask(() =>
        this.emitDisconnect({
          poolToken: token,
          reason: 'connect-failed',
          detail: 'CA file unreadable',
          wasReady: false,
        }),
      );
      return;
    }
    const ct: ConnectTarget = { host: target.host, port: target.port, tls: this.endpoint.tls };
    if (ca) ct.ca = ca;
    if (this.o.tlsInsecure) ct.insecure = true;
    this.connector(ct, abort.signal).then(
      (socket) => {
        if (this.connecting?.abort !== abort) {
          socket.destroy();
          return;
        }
        this.clock.clearTimeout(timer);
        this.connecting = undefined;
        this.startSession(token, socket, target);
      },
      (err: Error) => {
        if (this.connecting?.abort !== abort) return;
        this.clock.clearTimeout(timer);
        this.connecting = undefined;
        this.log.warn('connect_failed', { host: target.host, port: target.port, error: err });
        this.emitDisconnect({
          poolToken: token,
          reason: 'connect-failed',
          detail: err.message,
          wasReady: false,
        });
      },
    );
  }

  /** Closes the connection now; pending submits end as no-answer/disconnect. */
  close(detail = 'closed locally'): void {
    if (this.connecting) {
      const { abort, timer } = this.connecting;
      this.connecting = undefined;
      this.clock.clearTimeout(timer);
      abort.abort();
    }
    if (this.session) this.endSession('local', detail);
  }

  /** Waits until every pending submit is answered (or `timeoutMs` passes), then closes. */
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

  /** Submits a share on the session that issued its job. Resolves exactly once. */
  submit(share: ShareSubmission): Promise<ShareOutcome> {
    const s = this.session;
    const local = (detail: string, jobDifficulty = 0): Promise<ShareOutcome> => {
      const outcome: ShareOutcome = { status: 'stale-local', detail };
      this.emit('shareResult', { poolToken: share.poolToken, share, outcome, jobDifficulty });
      return Promise.resolve(outcome);
    };
    if (!s || s.token !== share.poolToken) return local('session of the job has ended');
    if (!s.authorized) return local('not authorized');
    const job = s.jobs.get(share.jobId);
    if (!job) return local('job unknown or superseded by a clean job');
    if (share.extranonce2.length !== job.extranonce2Size * 2 || !/^[0-9a-f]*$/.test(share.extranonce2)) {
      return local(
        `extranonce2 "${share.extranonce2}" is not ${job.extranonce2Size} bytes of lower-case hex`,
        job.difficulty,
      );
    }
    const vb = share.versionBits ?? 0;
    if (vb !== 0 && (!s.versionRolling || (vb & ~s.versionMask) >>> 0 !== 0)) {
      return local('version bits outside the current mask', job.difficulty);
    }
    const id = s.nextId++;
    const line = encodeSubmit(id, this.user, {
      jobId: share.jobId,
      extranonce2: share.extranonce2,
      ntime: share.ntime,
      nonce: share.nonce,
      ...(s.versionRolling ? { versionBits: vb } : {}),
    });
    return new Promise<ShareOutcome>((resolve) => {
      const timer = this.clock.setTimeout(() => {
        if (s.pending.delete(id))
          this.finishShare(s, share, job.difficulty, resolve, { status: 'no-answer', cause: 'timeout' });
      }, this.o.submitTimeoutMs ?? 60_000);
      s.pending.set(id, { kind: 'submit', share, jobDifficulty: job.difficulty, resolve, timer });
      s.socket.write(line);
    });
  }

  // -------------------------------------------------------------------------------------------------

  private finishShare(
    s: Session,
    share: ShareSubmission,
    jobDifficulty: number,
    resolve: (o: ShareOutcome) => void,
    outcome: ShareOutcome,
  ): void {
    resolve(outcome);
    this.emit('shareResult', { poolToken: s.token, share, outcome, jobDifficulty });
  }

  private startSession(token: string, socket: Duplex, target: { host: string; port: number }): void {
    const s: Session = {
      token,
      socket,
      decoder: new LineDecoder(),
      nextId: 1,
      pending: new Map(),
      subscribed: false,
      authorized: false,
      ready: false,
      latestAuthorizeId: 0,
      extranonce1: '',
      extranonce2Size: 0,
      nextExtranonce: undefined,
      nextDifficulty: 1,
      versionRolling: false,
      versionMask: 0,
      jobs: new Map(),
      lastPrevhash: undefined,
      heldJob: undefined,
      jobsEmitted: 0,
      badInputs: 0,
      readyTimer: undefined,
      silenceTimer: undefined,
      reconnect: undefined,
    };
    this.session = s;
    socket.on('data', (chunk: Buffer) => this.onData(s, chunk));
    socket.on('error', (e: Error) => {
      if (this.session === s) this.endSession('socket-error', e.message);
    });
    socket.on('close', () => {
      if (this.session === s) this.endSession('closed-by-pool', 'connection closed by the pool');
    });
    s.readyTimer = this.clock.setTimeout(() => {
      if (this.session === s && !s.ready) {
        const missing = [
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
    this.log.info('connected', { host: target.host, port: target.port, token });
    this.emit('connected', { poolToken: token, host: target.host, port: target.port });
    if (this.session !== s) return;
    if (this.o.versionRollingMask !== undefined || this.o.minimumDifficulty !== undefined) {
      const id = s.nextId++;
      s.pending.set(id, { kind: 'configure' });
      s.socket.write(
        encodeConfigure(id, {
          ...(this.o.versionRollingMask !== undefined
            ? { versionRollingMask: this.o.versionRollingMask }
            : {}),
          ...(this.o.minimumDifficulty !== undefined ? { minimumDifficulty: this.o.minimumDifficulty } : {}),
        }),
      );
    }
    this.sendSubscribe(s, this.resumeExtranonce1);
    this.sendAuthorize(s);
  }

  private sendSubscribe(s: Session, resume: string | undefined): void {
    const id = s.nextId++;
    s.pending.set(id, { kind: 'subscribe', resumed: !!resume });
    s.socket.write(encodeSubscribe(id, this.o.userAgent ?? USER_AGENT, resume));
  }

  private sendAuthorize(s: Session): void {
    const id = s.nextId++;
    s.latestAuthorizeId = id;
    s.pending.set(id, { kind: 'authorize' });
    s.socket.write(encodeAuthorize(id, this.user, this.o.password ?? ''));
  }

  private armSilence(s: Session): void {
    this.clock.clearTimeout(s.silenceTimer);
    const ms = this.o.silenceMs ?? 120_000;
    s.silenceTimer = this.clock.setTimeout(() => {
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
    for (const line of lines) {
      if (this.session !== s) return;
      const r = parseLine(line);
      if (!r.ok) {
        this.bad(s, r.error.kind, r.error.message);
        continue;
      }
      this.onMessage(s, r.value);
    }
  }

  private onMessage(s: Session, m: StratumMessage): void {
    if (m.type === 'response') {
      this.onResponse(s, m);
      return;
    }
    const d = decodeServerMessage(m);
    if (!d.ok) {
      this.bad(s, `${m.method}`, d.error.message);
      return;
    }
    this.onServerMessage(s, d.value);
  }

  private onServerMessage(s: Session, msg: ServerMessage): void {
    switch (msg.kind) {
      case 'notify':
        this.armSilence(s);
        if (!s.subscribed || !s.authorized) {
          // Keep the newest; emitted once the session is subscribed and authorized.
          s.heldJob = msg.job;
          return;
        }
        this.emitJob(s, msg.job);
        return;
      case 'set_difficulty':
        s.nextDifficulty = msg.difficulty;
        this.difficultyCarry = msg.difficulty;
        this.emit('difficulty', { poolToken: s.token, difficulty: msg.difficulty });
        return;
      case 'set_extranonce':
        s.nextExtranonce = { extranonce1: msg.extranonce1, extranonce2Size: msg.extranonce2Size };
        this.resumeExtranonce1 = msg.extranonce1;
        this.emit('extranonce', { poolToken: s.token, ...s.nextExtranonce });
        return;
      case 'set_version_mask':
        s.versionMask = msg.mask;
        if (s.versionRolling) this.emit('versionMask', { poolToken: s.token, mask: msg.mask });
        return;
      case 'reconnect': {
        const req = msg.request;
        const sameHost = req.host === undefined || req.host === this.endpoint.host;
        let host = this.endpoint.host;
        let port = this.endpoint.port;
        if (this.o.allowRedirect) {
          host = req.host ?? host;
          port = req.port ?? port;
        } else if (sameHost) {
          port = req.port ?? port;
        }
        if (!sameHost && !this.o.allowRedirect) {
          this.log.warn('reconnect_redirect_refused', {
            host: req.host,
            port: req.port,
            note: 'allowRedirect is off',
          });
        }
        s.reconnect = { host, port, waitMs: Math.round((req.waitSeconds ?? 0) * 1000) };
        this.endSession('reconnect-request', `pool asked to reconnect to ${host}:${port}`);
        return;
      }
      case 'show_message':
        this.log.info('pool_message', { text: msg.text });
        this.emit('message', { poolToken: s.token, text: msg.text });
        return;
      case 'get_version':
        if (msg.id !== null) s.socket.write(encodeResult(msg.id, this.o.userAgent ?? USER_AGENT));
        return;
      case 'ping':
        if (msg.id !== null) s.socket.write(encodeResult(msg.id, 'pong'));
        return;
      case 'unknown':
        this.bad(s, 'unknown-method', msg.method);
        return;
    }
  }

  private emitJob(s: Session, job: NotifyJob): void {
    if (s.nextExtranonce) {
      s.extranonce1 = s.nextExtranonce.extranonce1;
      s.extranonce2Size = s.nextExtranonce.extranonce2Size;
      s.nextExtranonce = undefined;
      s.jobs.clear();
    }
    const prevChanged = s.lastPrevhash !== undefined && s.lastPrevhash !== job.prevhash;
    const cleanJobs = job.cleanJobs || prevChanged || s.jobsEmitted === 0;
    s.lastPrevhash = job.prevhash;
    if (cleanJobs) s.jobs.clear();
    s.jobs.delete(job.jobId);
    s.jobs.set(job.jobId, { difficulty: s.nextDifficulty, extranonce2Size: s.extranonce2Size });
    if (s.jobs.size > MAX_JOBS_KEPT) s.jobs.delete(s.jobs.keys().next().value!);
    s.jobsEmitted++;
    this.emit('job', {
      job,
      extranonce1: s.extranonce1,
      extranonce2Size: s.extranonce2Size,
      difficulty: s.nextDifficulty,
      versionMask: s.versionRolling ? s.versionMask : 0,
      cleanJobs,
      poolToken: s.token,
      user: this.user,
      receivedAt: this.clock.now(),
    });
    if (this.session === s && !s.ready) {
      s.ready = true;
      this.clock.clearTimeout(s.readyTimer);
      s.readyTimer = undefined;
      this.log.info('ready', {
        token: s.token,
        extranonce1: s.extranonce1,
        extranonce2Size: s.extranonce2Size,
      });
      this.emit('ready', { poolToken: s.token });
    }
  }

  private onResponse(s: Session, m: Extract<StratumMessage, { type: 'response' }>): void {
    const p = s.pending.get(m.id);
    if (!p) {
      this.bad(s, 'unknown-id', `response to id ${JSON.stringify(m.id)} that is not pending`);
      return;
    }
    s.pending.delete(m.id);
    this.armSilence(s);
    switch (p.kind) {
      case 'submit': {
        this.clock.clearTimeout(p.timer);
        let outcome: ShareOutcome;
        if (m.result === true && !m.error) outcome = { status: 'accepted' };
        else {
          const c = classifyReject(m.error, m.rejectReason);
          outcome = {
            status: 'rejected',
            reason: c.reason,
            code: c.code,
            poolCode: c.poolCode,
            message: c.message,
          };
        }
        this.finishShare(s, p.share, p.jobDifficulty, p.resolve, outcome);
        return;
      }
      case 'configure': {
        const r = m.error ? undefined : parseConfigureResult(m.result);
        if (r && !r.ok) this.bad(s, 'result', r.error.message);
        if (r?.ok && r.value.versionRolling) {
          s.versionRolling = true;
          const chips = this.o.versionRollingMask ?? 0xffffffff;
          s.versionMask = (r.value.versionMask! & chips) >>> 0;
          this.emit('versionMask', { poolToken: s.token, mask: s.versionMask });
        } else {
          this.log.info('version_rolling_off', {
            detail: m.error?.message ?? (r?.ok ? r.value.versionRollingError : undefined),
          });
        }
        return;
      }
      case 'subscribe': {
        if (m.error || m.result === null) {
          if (p.resumed) {
            this.log.info('resume_refused', { error: m.error?.message });
            this.resumeExtranonce1 = undefined;
            this.sendSubscribe(s, undefined);
            this.sendAuthorize(s);
            return;
          }
          this.endSession('subscribe-failed', rpcText(m.error) || 'no result');
          return;
        }
        const r = parseSubscribeResult(m.result);
        if (!r.ok) {
          this.bad(s, 'result', r.error.message);
          if (this.session === s) this.endSession('subscribe-failed', r.error.message);
          return;
        }
        s.subscribed = true;
        s.extranonce1 = r.value.extranonce1;
        s.extranonce2Size = r.value.extranonce2Size;
        this.resumeExtranonce1 = r.value.extranonce1;
        this.afterHandshakeStep(s);
        return;
      }
      case 'authorize': {
        if (m.id !== s.latestAuthorizeId) return;
        if (m.result !== true || m.error) {
          this.log.warn('authorize_refused', { user: this.user, error: rpcText(m.error) });
          this.endSession('unauthorized', rpcText(m.error) || 'authorize returned false');
          return;
        }
        s.authorized = true;
        if (this.o.suggestDifficulty !== undefined) {
          const id = s.nextId++;
          s.pending.set(id, { kind: 'other' });
          s.socket.write(encodeSuggestDifficulty(id, this.o.suggestDifficulty));
        }
        if (this.o.extranonceSubscribe) {
          const id = s.nextId++;
          s.pending.set(id, { kind: 'other' });
          s.socket.write(encodeExtranonceSubscribe(id));
        }
        this.afterHandshakeStep(s);
        return;
      }
      case 'other':
        return;
    }
  }

  private afterHandshakeStep(s: Session): void {
    if (s.subscribed && s.authorized && s.heldJob) {
      const job = s.heldJob;
      s.heldJob = undefined;
      this.emitJob(s, job);
    }
  }

  private endSession(reason: DisconnectReason, detail: string): void {
    const s = this.session;
    if (!s) return;
    this.session = undefined;
    this.clock.clearTimeout(s.readyTimer);
    this.clock.clearTimeout(s.silenceTimer);
    s.socket.removeAllListeners('data');
    s.socket.on('error', () => {});
    s.socket.destroy();
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
    const ev: DisconnectEvent = { poolToken: s.token, reason, detail, wasReady: s.ready };
    if (s.reconnect) {
      this.redirect = { host: s.reconnect.host, port: s.reconnect.port };
      ev.reconnectAfterMs = s.reconnect.waitMs;
    }
    const level = reason === 'local' || reason === 'reconnect-request' ? 'info' : 'warn';
    this.log[level]('disconnected', { token: s.token, reason, detail });
    this.emitDisconnect(ev);
  }

  private emitDisconnect(ev: DisconnectEvent): void {
    this.emit('disconnected', ev);
  }
}

function rpcText(e: RpcError | null): string {
  if (!e) return '';
  return e.code !== undefined ? `${e.code} ${e.message}` : e.message;
}
