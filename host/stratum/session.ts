/**
 * The connection plumbing every pool client shares, whatever its dialect: Bitcoin Stratum V1
 * (client.ts) and Ethereum Stratum 1.0.0 / 2.0.0 (host/stratum-eth/client.ts) both extend
 * `PoolSessionClient` and keep only their messages and handshake.
 *
 * What lives here:
 * - pool URLs (`parseEndpoint`, scheme rules per dialect) and connectors (TCP / TLS via node:net and
 *   node:tls, `defaultConnector`; an extra CA file or no verification on request);
 * - connect(): one connection at a time, a connect timeout, an opaque `poolToken` per connection
 *   (`label#n`), a client.reconnect redirect used once by the next connection;
 * - one session per connection: LF line framing (a line over 64 KiB ends the session), the ready timer
 *   (subscribe + authorize + first notify within `readyTimeoutMs`), the silence timer (no new job for
 *   `silenceMs`: answers, pings and messages do not count as work), bad input counted per kind, logged
 *   once per kind, and the session dropped after `badInputLimit` bad messages; pool chatter logged at most
 *   once per kind per `chatterIntervalMs` (chatter.ts);
 * - request ids and pending requests; submits that resolve exactly once (answer, timeout, disconnect, or
 *   refused locally as 'stale-local'), and never the same share twice on one session (a repeat is refused
 *   locally as a duplicate); the jobs a share may still reference; jobs held until the session is
 *   subscribed and authorized;
 * - endSession(): timers stopped, socket destroyed, pending submits ended as no-answer/disconnect, one
 *   'disconnected' event; close() and drain().
 *
 * All timers go through the injected Clock. The client never reconnects by itself (the pool manager owns
 * retry policy); after a reconnect request it only reports `reconnectAfterMs`.
 */
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import type { Duplex } from 'node:stream';
import { type Clock, systemClock, type TimerHandle } from '../../lib/clock.ts';
import { type Logger, silentLogger } from '../../lib/log.ts';
import { ChatterLog } from './chatter.ts';
import { LineDecoder, LineTooLongError, type RejectReason, type Result, type RpcError } from './messages.ts';

// ---------------------------------------------------------------------------------------------------
// URLs and connectors

export interface PoolEndpoint {
  /** As configured, e.g. "stratum+ssl://pool.example:4333". */
  url: string;
  host: string;
  port: number;
  tls: boolean;
}

/**
 * `scheme://host:port` (scheme optional, IPv6 in [ ]) → an endpoint. `scheme` gets the lower-cased scheme
 * (default stratum+tcp), throws if the dialect does not take it, and says whether it means TLS (plus any
 * dialect field); the port is checked after the scheme.
 */
export function parseEndpoint<X extends { tls: boolean }>(
  url: string,
  scheme: (scheme: string) => X,
): PoolEndpoint & X {
  const m = /^(?:([a-z0-9+.-]+):\/\/)?(\[[0-9a-fA-F:.]+\]|[^\s:/[\]]+):(\d{1,5})\/?$/i.exec(url.trim());
  if (!m) throw new Error(`pool url: "${url}" is not scheme://host:port`);
  const x = scheme((m[1] ?? 'stratum+tcp').toLowerCase());
  const port = Number(m[3]);
  if (port < 1 || port > 65535) throw new Error(`pool url: port ${port} out of range`);
  const host = m[2]!.startsWith('[') ? m[2]!.slice(1, -1) : m[2]!;
  return { url, host, port, ...x };
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
export const defaultConnector: Connector = async (t, signal) => {
  // node:tls is imported only for a stratum+ssl pool: importing it costs ~9 MB of RSS (Node 24).
  const tlsConnect = t.tls ? (await import('node:tls')).connect : undefined;
  return new Promise<Duplex>((resolve, reject) => {
    const sock = tlsConnect
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
};

// ---------------------------------------------------------------------------------------------------
// Shared public types

export type ClientState = 'idle' | 'connecting' | 'handshake' | 'ready';

export type ShareOutcome =
  | { status: 'accepted' }
  | { status: 'rejected'; reason: RejectReason; code: number; poolCode: number | undefined; message: string }
  | { status: 'no-answer'; cause: 'timeout' | 'disconnect' }
  | { status: 'stale-local'; detail: string };

/** Options every pool client takes. */
export interface SessionClientOptions {
  url: string;
  user: string;
  password?: string;
  /** Name used in logs and tokens (default: the url). */
  label?: string;
  /** Follow a reconnect request to another host (default false: same host only). */
  allowRedirect?: boolean;
  connectTimeoutMs?: number;
  /** Subscribe + authorize + first notify must complete within this (default 30 s). */
  readyTimeoutMs?: number;
  /** No new job for this long → the connection is closed (default 120 s). */
  silenceMs?: number;
  /** A submit without an answer after this is given up as no-answer/timeout (default 60 s). */
  submitTimeoutMs?: number;
  /** Pool chatter (show_message, set_version_mask…) logged once per kind per this interval (default 60 s). */
  chatterIntervalMs?: number;
  /** Bad messages on one connection before it is dropped (default 100). */
  badInputLimit?: number;
  userAgent?: string;
  clock?: Clock;
  logger?: Logger;
  connector?: Connector;
}

/** TLS settings beyond the URL scheme (a dialect opts in by declaring them in its options). */
export interface TlsOptions {
  tlsCaFile?: string;
  tlsInsecure?: boolean;
}

/** Disconnect reasons the shared part produces; each dialect's reason type must include them all. */
export type CommonDisconnectReason =
  | 'connect-failed'
  | 'connect-timeout'
  | 'closed-by-pool'
  | 'socket-error'
  | 'not-ready'
  | 'silence'
  | 'line-too-long'
  | 'bad-input'
  | 'reconnect-request'
  | 'local';

// ---------------------------------------------------------------------------------------------------
// Sessions

/** The types one dialect plugs into the shared client. */
export interface SessionTypes {
  /** What submit() takes. */
  share: { poolToken: string; jobId: string };
  /** Request kinds other than 'submit' (what a response is matched against). */
  kind: string;
  /** What a session remembers per job for checking shares. */
  job: unknown;
  /** One parsed line. */
  message: unknown;
  /** Disconnect reasons of the dialect beyond CommonDisconnectReason. */
  reason: string;
}

export interface SubmitPending<Share> {
  kind: 'submit';
  share: Share;
  jobDifficulty: number;
  resolve: (o: ShareOutcome) => void;
  timer: TimerHandle;
}

export type Pending<T extends SessionTypes> =
  | { kind: T['kind']; resumed?: boolean }
  | SubmitPending<T['share']>;

/** One connection's state; a dialect extends it with its own fields. */
export interface ClientSession<T extends SessionTypes> {
  token: string;
  socket: Duplex;
  decoder: LineDecoder;
  /** Where this connection went (the endpoint, or a redirect). */
  target: { host: string; port: number };
  nextId: number;
  pending: Map<number | string, Pending<T>>;
  subscribed: boolean;
  authorized: boolean;
  ready: boolean;
  /** Jobs a share may still reference (oldest first, bounded). */
  jobs: Map<string, T['job']>;
  /** Keys of the shares submitted on this session (oldest first, bounded): a repeat is not sent. */
  submitted: Set<string>;
  /** The newest job notified before subscribe + authorize completed; emitted once they have. */
  heldJob: (() => void) | undefined;
  jobsEmitted: number;
  badInputs: number;
  /** Every timer of the session (all are stopped when it ends). */
  timers: { ready?: TimerHandle; silence?: TimerHandle };
  /** When the silence window ends (clock time); the silence timer re-arms itself up to it. */
  silenceAt?: number;
  reconnect: { host: string; port: number; waitMs: number } | undefined;
}

/** What a client's 'shareResult' event carries. */
export interface ShareResultOf<Share> {
  poolToken: string;
  share: Share;
  outcome: ShareOutcome;
  /** Pool difficulty of the share's job (0 when the job was unknown). */
  jobDifficulty: number;
}

/** What a client's 'disconnected' event carries. */
export interface DisconnectOf<Reason extends string> {
  poolToken: string;
  reason: Reason;
  detail?: string;
  /** The session had become ready before it ended. */
  wasReady: boolean;
  /** Set for a reconnect request: connect() again after this delay. */
  reconnectAfterMs?: number;
}

/** The events the shared part emits; a dialect's event map has these (with wider payloads if it likes). */
export interface SessionEvents<T extends SessionTypes> {
  ready: [{ poolToken: string }];
  shareResult: [ShareResultOf<T['share']>];
  disconnected: [DisconnectOf<T['reason'] | CommonDisconnectReason>];
}

/** Share keys remembered per session for the duplicate check (far more than shares per job). */
const MAX_SUBMITTED_KEPT = 4096;

function isSubmit<T extends SessionTypes>(p: Pending<T>): p is SubmitPending<T['share']> {
  return p.kind === 'submit';
}

/** `code message` of an RPC error ('' for none). */
export function rpcText(e: RpcError | null): string {
  if (!e) return '';
  return e.code !== undefined ? `${e.code} ${e.message}` : e.message;
}

export abstract class PoolSessionClient<
  T extends SessionTypes,
  S extends ClientSession<T>,
  Events extends SessionEvents<T> & Record<keyof Events, unknown[]>,
> extends EventEmitter<Events> {
  readonly endpoint: PoolEndpoint;
  readonly user: string;
  readonly label: string;
  /** Bad input counted per kind over the client's life. */
  readonly badInput: Record<string, number> = {};
  protected readonly o: SessionClientOptions & TlsOptions;
  protected readonly clock: Clock;
  protected readonly log: Logger;
  /** Rate-limited log of pool chatter. */
  protected readonly chatter: ChatterLog;
  protected session: S | undefined;
  private readonly connector: Connector;
  private readonly maxJobsKept: number;
  private readonly loggedKinds = new Set<string>();
  private connecting: { abort: AbortController; timer: TimerHandle } | undefined;
  private connSeq = 0;
  private redirect: { host: string; port: number } | undefined;

  protected constructor(
    opts: SessionClientOptions & TlsOptions,
    shared: { endpoint: PoolEndpoint; logName: string; maxJobsKept: number },
  ) {
    super();
    this.o = opts;
    this.endpoint = shared.endpoint;
    this.user = opts.user;
    this.label = opts.label ?? opts.url;
    this.clock = opts.clock ?? systemClock;
    this.log = (opts.logger ?? silentLogger).child(shared.logName, { pool: this.label });
    this.connector = opts.connector ?? defaultConnector;
    this.maxJobsKept = shared.maxJobsKept;
    this.chatter = new ChatterLog(this.log, this.clock, opts.chatterIntervalMs ?? 60_000);
  }

  /** The shared events, typed (a dialect's event map extends SessionEvents, so this view is sound). */
  private get events(): EventEmitter<SessionEvents<T>> {
    return this as unknown as EventEmitter<SessionEvents<T>>;
  }

  get state(): ClientState {
    if (this.session) return this.session.ready ? 'ready' : 'handshake';
    return this.connecting ? 'connecting' : 'idle';
  }
  /** Token of the live session, if any. */
  get poolToken(): string | undefined {
    return this.session?.token;
  }
  /** Submits waiting for an answer on the live session. */
  get pendingSubmits(): number {
    let n = 0;
    for (const p of this.session?.pending.values() ?? []) if (p.kind === 'submit') n++;
    return n;
  }

  /** Closes the connection now; pending submits end as no-answer/disconnect. */
  close(detail = 'closed locally'): void {
    if (this.connecting) {
      const { abort, timer } = this.connecting;
      this.connecting = undefined;
      this.clock.clearTimeout(timer);
      abort.abort();
    }
    if (this.session) {
      this.beforeLocalClose(this.session);
      this.endSession('local', detail);
    }
  }

  /** Waits until every pending submit is answered (or `timeoutMs` passes), then closes. */
  async drain(timeoutMs: number): Promise<void> {
    if (this.session && this.pendingSubmits > 0) {
      const ev = this.events;
      await new Promise<void>((resolve) => {
        const finish = () => {
          this.clock.clearTimeout(h);
          ev.off('shareResult', check);
          ev.off('disconnected', finish);
          resolve();
        };
        const check = () => {
          if (!this.session || this.pendingSubmits === 0) finish();
        };
        const h = this.clock.setTimeout(finish, timeoutMs);
        ev.on('shareResult', check);
        ev.on('disconnected', finish);
      });
    }
    this.close('drained');
  }

  // -------------------------------------------------------------------------------------------------
  // For the dialects

  /** Parses one line (never throws). */
  protected abstract parse(line: string): Result<T['message']>;
  /** Handles one well-formed message of the live session `s`. */
  protected abstract onMessage(s: S, m: T['message']): void;

  /** Hook: the session is closed locally (e.g. say goodbye on the wire). */
  protected beforeLocalClose(_s: S): void {}
  /** Hook: per-outcome counters of a dialect, called before a share result is delivered. */
  protected countOutcome(_outcome: ShareOutcome): void {}
  /** Hook: what the ready timer names as missing. */
  protected readyMissing(s: S): Array<string | false> {
    return [
      !s.subscribed && 'subscribe',
      !s.authorized && 'authorize',
      s.jobsEmitted === 0 && 'first notify',
    ];
  }
  /** Hook: the socket failed or the pool closed it (default: the session ends with that reason). */
  protected socketLost(_s: S, reason: 'socket-error' | 'closed-by-pool', detail: string): void {
    this.endSession(reason, detail);
  }
  /** Hook: reasons logged at info level (expected ends); the others at warn. */
  protected isQuietEnd(reason: T['reason'] | CommonDisconnectReason): boolean {
    return reason === 'local' || reason === 'reconnect-request';
  }
  /** Hook: the next request id. */
  protected takeId(s: S): number {
    return s.nextId++;
  }

  /**
   * Opens a connection to the endpoint (or to the redirect of the last reconnect request); `start`
   * gets the socket once connected and must call attach(). Failures arrive as 'disconnected'.
   */
  protected dial(
    start: (token: string, socket: Duplex, target: { host: string; port: number }) => void,
  ): void {
    const target = this.redirect ?? { host: this.endpoint.host, port: this.endpoint.port };
    this.redirect = undefined;
    const token = `${this.label}#${++this.connSeq}`;
    const abort = new AbortController();
    const timer = this.clock.setTimeout(() => {
      if (this.connecting?.abort !== abort) return;
      this.connecting = undefined;
      abort.abort();
      this.events.emit('disconnected', { poolToken: token, reason: 'connect-timeout', wasReady: false });
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
        this.events.emit('disconnected', {
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
        start(token, socket, target);
      },
      (err: Error) => {
        if (this.connecting?.abort !== abort) return;
        this.clock.clearTimeout(timer);
        this.connecting = undefined;
        this.log.warn('connect_failed', { host: target.host, port: target.port, error: err });
        this.events.emit('disconnected', {
          poolToken: token,
          reason: 'connect-failed',
          detail: err.message,
          wasReady: false,
        });
      },
    );
  }

  /** The shared fields of a new session (a dialect adds its own and passes the whole to attach()). */
  protected baseSession(
    token: string,
    socket: Duplex,
    target: { host: string; port: number },
  ): ClientSession<T> {
    return {
      token,
      socket,
      decoder: new LineDecoder(),
      target,
      nextId: 1,
      pending: new Map(),
      subscribed: false,
      authorized: false,
      ready: false,
      jobs: new Map(),
      submitted: new Set(),
      heldJob: undefined,
      jobsEmitted: 0,
      badInputs: 0,
      timers: {},
      reconnect: undefined,
    };
  }

  /** Makes `s` the live session: socket events, the ready timer and the silence timer. */
  protected attach(s: S): void {
    this.session = s;
    s.socket.on('data', (chunk: Buffer) => this.onData(s, chunk));
    s.socket.on('error', (e: Error) => {
      if (this.session === s) this.socketLost(s, 'socket-error', e.message);
    });
    s.socket.on('close', () => {
      if (this.session === s) this.socketLost(s, 'closed-by-pool', 'connection closed by the pool');
    });
    s.timers.ready = this.clock.setTimeout(() => {
      if (this.session === s && !s.ready) {
        const missing = this.readyMissing(s).filter(Boolean).join(', ');
        this.endSession('not-ready', `no ${missing} within ${this.o.readyTimeoutMs ?? 30_000} ms`);
      }
    }, this.o.readyTimeoutMs ?? 30_000);
    this.armSilence(s);
  }

  /** Sends a request and remembers what it was; returns its id. */
  protected request(s: S, kind: T['kind'], make: (id: number) => string, resumed = false): number {
    const id = this.takeId(s);
    s.pending.set(id, { kind, resumed });
    s.socket.write(make(id));
    return id;
  }

  /** Sends a submit; the promise resolves exactly once (answer, timeout or end of the session). */
  protected sendSubmit(
    s: S,
    share: T['share'],
    jobDifficulty: number,
    make: (id: number) => string,
  ): Promise<ShareOutcome> {
    const id = this.takeId(s);
    const line = make(id);
    return new Promise<ShareOutcome>((resolve) => {
      const timer = this.clock.setTimeout(() => {
        if (s.pending.delete(id))
          this.finishShare(s, share, jobDifficulty, resolve, { status: 'no-answer', cause: 'timeout' });
      }, this.o.submitTimeoutMs ?? 60_000);
      s.pending.set(id, { kind: 'submit', share, jobDifficulty, resolve, timer });
      s.socket.write(line);
    });
  }

  /** The live session and the remembered job of a share, or why the share is refused locally. */
  protected sessionForShare(share: T['share']): { s: S; job: T['job'] } | string {
    const s = this.session;
    if (!s || s.token !== share.poolToken) return 'session of the job has ended';
    if (!s.authorized) return 'not authorized';
    const job = s.jobs.get(share.jobId);
    if (!job) return 'job unknown or superseded by a clean job';
    return { s, job };
  }

  /**
   * True the first time `key` (a dialect's identity of a share: job, extranonce, ntime, nonce, version
   * bits…) is seen on session `s`; a repeat must not be sent (the pool would reject it as a duplicate).
   */
  protected firstSubmission(s: S, key: string): boolean {
    if (s.submitted.has(key)) return false;
    s.submitted.add(key);
    if (s.submitted.size > MAX_SUBMITTED_KEPT) s.submitted.delete(s.submitted.values().next().value!);
    return true;
  }

  /** Refuses a share without sending it ('stale-local'). */
  protected refuseLocally(share: T['share'], detail: string, jobDifficulty = 0): Promise<ShareOutcome> {
    const outcome: ShareOutcome = { status: 'stale-local', detail };
    this.countOutcome(outcome);
    this.events.emit('shareResult', { poolToken: share.poolToken, share, outcome, jobDifficulty });
    return Promise.resolve(outcome);
  }

  protected finishShare(
    s: S,
    share: T['share'],
    jobDifficulty: number,
    resolve: (o: ShareOutcome) => void,
    outcome: ShareOutcome,
  ): void {
    this.countOutcome(outcome);
    resolve(outcome);
    this.events.emit('shareResult', { poolToken: s.token, share, outcome, jobDifficulty });
  }

  /** The request a response answers (taken off the pending list), or undefined after counting it as bad. */
  protected answered(s: S, id: number | string): Pending<T> | undefined {
    const p = s.pending.get(id);
    if (!p) {
      this.bad(s, 'unknown-id', `response to id ${JSON.stringify(id)} that is not pending`);
      return undefined;
    }
    s.pending.delete(id);
    return p;
  }

  /** Runs `emit` now, or keeps it (the newest only) until the session is subscribed and authorized. */
  protected whenAuthorized(s: S, emit: () => void): void {
    if (!s.subscribed || !s.authorized) s.heldJob = emit;
    else emit();
  }

  /** After subscribe or authorize succeeded: emits the held job once both have. */
  protected afterHandshakeStep(s: S): void {
    if (s.subscribed && s.authorized && s.heldJob) {
      const emit = s.heldJob;
      s.heldJob = undefined;
      emit();
    }
  }

  /**
   * Remembers a job for share checks. Returns whether older jobs were dropped: `clean`, or the first job
   * of the session.
   */
  protected rememberJob(s: S, jobId: string, info: T['job'], clean: boolean): boolean {
    const cleanJobs = clean || s.jobsEmitted === 0;
    if (cleanJobs) s.jobs.clear();
    s.jobs.delete(jobId);
    s.jobs.set(jobId, info);
    if (s.jobs.size > this.maxJobsKept) s.jobs.delete(s.jobs.keys().next().value!);
    s.jobsEmitted++;
    return cleanJobs;
  }

  /** True exactly once per session, when its first job has been emitted: stops the ready timer. */
  protected becameReady(s: S): boolean {
    if (this.session !== s || s.ready) return false;
    s.ready = true;
    this.clock.clearTimeout(s.timers.ready);
    s.timers.ready = undefined;
    return true;
  }

  /**
   * Ends the session for a reconnect request: same host (any port) always, another host only with
   * allowRedirect; missing fields keep `from` (the endpoint or the current target, per dialect).
   */
  protected followReconnect(
    s: S,
    req: { host?: string | undefined; port?: number | undefined; waitSeconds?: number | undefined },
    from: { host: string; port: number },
  ): void {
    const sameHost = req.host === undefined || req.host === this.endpoint.host;
    let host = from.host;
    let port = from.port;
    if (this.o.allowRedirect) {
      host = req.host ?? host;
      port = req.port ?? port;
    } else if (sameHost) {
      port = req.port ?? port;
    } else {
      this.log.warn('reconnect_redirect_refused', {
        host: req.host,
        port: req.port,
        note: 'allowRedirect is off',
      });
    }
    s.reconnect = { host, port, waitMs: Math.round((req.waitSeconds ?? 0) * 1000) };
    this.endSession('reconnect-request', `pool asked to reconnect to ${host}:${port}`);
  }

  /** (Re)starts the silence window: call it for useful work only (a new job), never for other traffic. */
  protected armSilence(s: S): void {
    const ms = this.o.silenceMs ?? 120_000;
    s.silenceAt = this.clock.now() + ms;
    // A timer already armed fires before the new end and re-arms itself for the rest: one timer operation
    // per silence window, not a clear + set on every notify (the notify → job path is hot).
    if (!s.timers.silence) this.silenceTimer(s, ms, ms);
  }

  private silenceTimer(s: S, ms: number, windowMs: number): void {
    s.timers.silence = this.clock.setTimeout(() => {
      s.timers.silence = undefined;
      if (this.session !== s) return;
      const left = (s.silenceAt ?? 0) - this.clock.now();
      if (left > 0) this.silenceTimer(s, left, windowMs);
      else this.endSession('silence', `no new job for ${windowMs} ms`);
    }, ms);
  }

  /** Counts bad input (logged once per kind); too much of it ends the session. */
  protected bad(s: S, kind: string, detail: string): void {
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

  /** Stops the timers and the socket of a session without any event. */
  protected teardown(s: S): void {
    if (this.session === s) this.session = undefined;
    for (const t of Object.values(s.timers)) {
      this.clock.clearTimeout(t);
      this.clock.clearInterval(t);
    }
    s.socket.removeAllListeners('data');
    s.socket.on('error', () => {});
    s.socket.destroy();
  }

  /** Ends the live session: pending submits become no-answer/disconnect, then one 'disconnected'. */
  protected endSession(reason: T['reason'] | CommonDisconnectReason, detail: string): void {
    const s = this.session;
    if (!s) return;
    this.teardown(s);
    this.chatter.flush();
    for (const [id, p] of s.pending) {
      s.pending.delete(id);
      if (isSubmit(p)) {
        this.clock.clearTimeout(p.timer);
        this.finishShare(s, p.share, p.jobDifficulty, p.resolve, {
          status: 'no-answer',
          cause: 'disconnect',
        });
      }
    }
    const ev: DisconnectOf<T['reason'] | CommonDisconnectReason> = {
      poolToken: s.token,
      reason,
      detail,
      wasReady: s.ready,
    };
    if (s.reconnect) {
      this.redirect = { host: s.reconnect.host, port: s.reconnect.port };
      ev.reconnectAfterMs = s.reconnect.waitMs;
    }
    this.log[this.isQuietEnd(reason) ? 'info' : 'warn']('disconnected', { token: s.token, reason, detail });
    this.events.emit('disconnected', ev);
  }

  private onData(s: S, chunk: Buffer): void {
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
      const r = this.parse(line);
      if (!r.ok) {
        this.bad(s, r.error.kind, r.error.message);
        continue;
      }
      this.onMessage(s, r.value);
    }
  }
}
