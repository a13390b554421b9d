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
 */ import type { Duplex } from 'node:stream';
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
  type NotifyJob,
  parseConfigureResult,
  parseLine,
  parseSubscribeResult,
  type Result,
  type ServerMessage,
  type StratumMessage,
} from './messages.ts';
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
  type TlsOptions,
} from './session.ts';

export {
  type ClientState,
  type Connector,
  type ConnectTarget,
  defaultConnector,
  type PoolEndpoint,
  type ShareOutcome,
} from './session.ts';

/** Parses stratum+tcp:// (or tcp://, or bare host:port), stratum+ssl:// / stratum+tls://, IPv6 in [ ]. */
export function parsePoolUrl(url: string): PoolEndpoint {
  return parseEndpoint(url, (scheme) => {
    if (scheme === 'stratum+tcp' || scheme === 'tcp' || scheme === 'stratum') return { tls: false };
    if (scheme === 'stratum+ssl' || scheme === 'stratum+tls' || scheme === 'ssl' || scheme === 'tls')
      return { tls: true };
    throw new Error(`pool url: scheme "${scheme}" is not stratum+tcp, stratum+ssl or stratum+tls`);
  });
}

// ---------------------------------------------------------------------------------------------------
// Public types

export interface StratumClientOptions extends SessionClientOptions, TlsOptions {
  /** Version-rolling mask the chips can roll (e.g. 0x1fffe000); omitted → no version rolling. */
  versionRollingMask?: number;
  /** Ask for BIP310 minimum-difficulty with this value. */
  minimumDifficulty?: number;
  /** Send mining.suggest_difficulty after authorize. */
  suggestDifficulty?: number;
  /** Send mining.extranonce.subscribe after authorize (opt-in per pool). */
  extranonceSubscribe?: boolean;
  /** Extranonce1 of an earlier session to resume. */
  resumeExtranonce1?: string;
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

export type ShareResultEvent = ShareResultOf<ShareSubmission>;

export type DisconnectReason = CommonDisconnectReason | 'unauthorized' | 'subscribe-failed';

export type DisconnectEvent = DisconnectOf<DisconnectReason>;

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

// ---------------------------------------------------------------------------------------------------
// Internals

interface JobInfo {
  difficulty: number;
  extranonce2Size: number;
}

interface V1Types {
  share: ShareSubmission;
  kind: 'configure' | 'subscribe' | 'authorize' | 'other';
  job: JobInfo;
  message: StratumMessage;
  reason: DisconnectReason;
}

const MAX_JOBS_KEPT = 256;

interface Session extends ClientSession<V1Types> {
  latestAuthorizeId: number;
  extranonce1: string;
  extranonce2Size: number;
  nextExtranonce: { extranonce1: string; extranonce2Size: number } | undefined;
  /** Difficulty for the next job (set_difficulty) and the one of the last job. */
  nextDifficulty: number;
  versionRolling: boolean;
  versionMask: number;
  lastPrevhash: string | undefined;
}

export class StratumClient extends PoolSessionClient<V1Types, Session, ClientEvents> {
  declare protected readonly o: StratumClientOptions;
  private resumeExtranonce1: string | undefined;
  private difficultyCarry = 1;

  constructor(opts: StratumClientOptions) {
    super(opts, { endpoint: parsePoolUrl(opts.url), logName: 'stratum', maxJobsKept: MAX_JOBS_KEPT });
    this.resumeExtranonce1 = opts.resumeExtranonce1;
  }

  /** Extranonce1 to resume with on the next connection. */
  get lastExtranonce1(): string | undefined {
    return this.resumeExtranonce1;
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
    if (this.state !== 'idle') return;
    this.dial((token, socket, target) => this.startSession(token, socket, target));
  }

  /** Submits a share on the session that issued its job. Resolves exactly once. */
  submit(share: ShareSubmission): Promise<ShareOutcome> {
    const found = this.sessionForShare(share);
    if (typeof found === 'string') return this.refuseLocally(share, found);
    const { s, job } = found;
    if (share.extranonce2.length !== job.extranonce2Size * 2 || !/^[0-9a-f]*$/.test(share.extranonce2)) {
      return this.refuseLocally(
        share,
        `extranonce2 "${share.extranonce2}" is not ${job.extranonce2Size} bytes of lower-case hex`,
        job.difficulty,
      );
    }
    const vb = share.versionBits ?? 0;
    if (vb !== 0 && (!s.versionRolling || (vb & ~s.versionMask) >>> 0 !== 0)) {
      return this.refuseLocally(share, 'version bits outside the current mask', job.difficulty);
    }
    // The same header twice (a chip restarting its search after a mask write, a nonce reported twice):
    // send it once. Version bits are compared as sent; under one job they fix the rolled version.
    if (!this.firstSubmission(s, `${share.jobId}/${share.extranonce2}/${share.ntime}/${share.nonce}/${vb}`)) {
      return this.refuseLocally(share, 'duplicate: this share was already submitted', job.difficulty);
    }
    return this.sendSubmit(s, share, job.difficulty, (id) =>
      encodeSubmit(id, this.user, {
        jobId: share.jobId,
        extranonce2: share.extranonce2,
        ntime: share.ntime,
        nonce: share.nonce,
        ...(s.versionRolling ? { versionBits: vb } : {}),
      }),
    );
  }

  // -------------------------------------------------------------------------------------------------

  protected override parse(line: string): Result<StratumMessage> {
    return parseLine(line);
  }

  private startSession(token: string, socket: Duplex, target: { host: string; port: number }): void {
    const s: Session = {
      ...this.baseSession(token, socket, target),
      latestAuthorizeId: 0,
      extranonce1: '',
      extranonce2Size: 0,
      nextExtranonce: undefined,
      nextDifficulty: 1,
      versionRolling: false,
      versionMask: 0,
      lastPrevhash: undefined,
    };
    this.attach(s);
    this.log.info('connected', { host: target.host, port: target.port, token });
    this.emit('connected', { poolToken: token, host: target.host, port: target.port });
    if (this.session !== s) return;
    if (this.o.versionRollingMask !== undefined || this.o.minimumDifficulty !== undefined) {
      this.request(s, 'configure', (id) =>
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
    this.request(
      s,
      'subscribe',
      (id) => encodeSubscribe(id, this.o.userAgent ?? USER_AGENT, resume),
      !!resume,
    );
  }

  private sendAuthorize(s: Session): void {
    this.request(s, 'authorize', (id) => {
      s.latestAuthorizeId = id;
      return encodeAuthorize(id, this.user, this.o.password ?? '');
    });
  }

  protected override onMessage(s: Session, m: StratumMessage): void {
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
        // Authorized (the usual case): emitted at once, without a closure on the hot path.
        if (s.subscribed && s.authorized) this.emitJob(s, msg.job);
        else this.whenAuthorized(s, () => this.emitJob(s, msg.job));
        return;
      case 'set_difficulty':
        this.chatter.note('difficulty', { difficulty: msg.difficulty });
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
        this.chatter.note('version_mask', { mask: `0x${msg.mask.toString(16).padStart(8, '0')}` });
        s.versionMask = msg.mask;
        if (s.versionRolling) this.emit('versionMask', { poolToken: s.token, mask: msg.mask });
        return;
      case 'reconnect':
        this.followReconnect(s, msg.request, this.endpoint);
        return;
      case 'show_message':
        this.chatter.note('message', { text: msg.text.slice(0, 500) });
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
    s.lastPrevhash = job.prevhash;
    const cleanJobs = this.rememberJob(
      s,
      job.jobId,
      { difficulty: s.nextDifficulty, extranonce2Size: s.extranonce2Size },
      job.cleanJobs || prevChanged,
    );
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
    if (this.becameReady(s)) {
      this.log.info('ready', {
        token: s.token,
        extranonce1: s.extranonce1,
        extranonce2Size: s.extranonce2Size,
      });
      this.emit('ready', { poolToken: s.token });
    }
  }

  private onResponse(s: Session, m: Extract<StratumMessage, { type: 'response' }>): void {
    const p = this.answered(s, m.id);
    if (!p) return;
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
          const d = this.o.suggestDifficulty;
          this.request(s, 'other', (id) => encodeSuggestDifficulty(id, d));
        }
        if (this.o.extranonceSubscribe) this.request(s, 'other', (id) => encodeExtranonceSubscribe(id));
        this.afterHandshakeStep(s);
        return;
      }
      case 'other':
        return;
    }
  }
}
