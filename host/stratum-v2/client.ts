/**
 * Stratum V2 mining client: one pool, one connection at a time, behind the PoolManager like the V1
 * StratumClient (it is a `ManagedClient<ClientJob, ShareSubmission>`: the manager, the scheduler and the
 * chips see the same job and share types whichever protocol a pool speaks).
 *
 *   const c = new Sv2Client({ url: 'stratum2+tcp://pool:3336/9auq…PH72', user: 'addr.worker' });
 *   c.on('job', (j) => ...); c.connect();
 *   await c.submit({ poolToken: j.poolToken, jobId, extranonce2, ntime, nonce, versionBits });
 *
 * Session: TCP → Noise NX handshake (the pool's certificate checked against the authority key of the
 * URL; a missing key is refused unless `allowUnauthenticated`) → SetupConnection (mining protocol,
 * version 2) → OpenExtendedMiningChannel (default: coinbase with extranonce, like V1) or
 * OpenStandardMiningChannel (header-only: the pool gives the merkle root) → jobs. A job becomes
 * work when its block is known: a NewExtendedMiningJob / NewMiningJob with min_ntime, or a future job
 * (no min_ntime) activated by SetNewPrevHash (which also makes older jobs stale: cleanJobs). The client
 * is *ready* when the first job is emitted. Targets are 256-bit values; jobs carry the difficulty the
 * target stands for (the manager's accounting unit) and `target` itself.
 *
 * Shares: SubmitSharesExtended (extranonce = the miner's part) or SubmitSharesStandard, with the full
 * rolled version, ntime and nonce; a sequence number per channel. SubmitSharesSuccess acknowledges every
 * pending share up to last_sequence_number; SubmitSharesError rejects one (error code → reject reason).
 * Every submit resolves exactly once (accepted / rejected / no-answer / stale-local).
 *
 * Errors on the wire (wrong MAC, oversized frame, malformed payload) close the connection with a clear
 * reason; unknown messages and extensions are counted and skipped. All timers use the injected Clock.
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { type Clock, systemClock, type TimerHandle } from '../../lib/clock.ts';
import { type Logger, silentLogger } from '../../lib/log.ts';
import type { ClientJob, ShareSubmission } from '../stratum/client.ts';
import { REJECT_CODES, type RejectReason } from '../stratum/messages.ts';
import {
  type ClientState,
  type Connector,
  type DisconnectOf,
  defaultConnector,
  type ShareOutcome,
  type ShareResultOf,
} from '../stratum/session.ts';
import { USER_AGENT } from '../version.ts';
import { swapWords } from '../work/hex.ts';
import { targetToDifficulty } from '../work/target.ts';
import { CertificateError, decodeAuthorityKey } from './certificate.ts';
import { CodecError } from './codec.ts';
import {
  decodeFrame,
  encodeFrame,
  encryptFrame,
  type Frame,
  FrameDecoder,
  type FrameError,
} from './framing.ts';
import { PROTOCOL_MINING, SETUP_FLAGS, type Sv2Message } from './messages.ts';
import { ACT2_LEN, type CipherState, NoiseError, NoiseInitiator } from './noise.ts';
import { isSv2Url } from './url.ts';

export { isSv2Url };

/** BIP 320: the header version bits a miner may roll (SV2 has no mask negotiation). */
export const SV2_VERSION_ROLLING_MASK = 0x1fffe000;
const MAX_TARGET = (1n << 256n) - 1n;

export interface Sv2Endpoint {
  url: string;
  host: string;
  port: number;
  /** x-only authority key from the URL path (undefined when the URL has none). */
  authorityKey: Uint8Array | undefined;
}

/** `stratum2+tcp://host:port[/authority key]` → endpoint; a malformed key is an error naming it. */
export function parseSv2Url(url: string): Sv2Endpoint {
  const m = /^stratum2\+tcp:\/\/(\[[0-9a-fA-F:.]+\]|[^\s:/[\]@]+):(\d{1,5})(?:\/([^/?#\s]*))?$/i.exec(
    url.trim(),
  );
  if (!m) throw new Error(`pool url: "${url}" is not stratum2+tcp://host:port/<authority key>`);
  const port = Number(m[2]);
  if (port < 1 || port > 65535) throw new Error(`pool url: port ${port} out of range`);
  const host = m[1]!.startsWith('[') ? m[1]!.slice(1, -1) : m[1]!;
  let authorityKey: Uint8Array | undefined;
  if (m[3]) {
    try {
      authorityKey = decodeAuthorityKey(m[3]);
    } catch (e) {
      throw new Error(`pool url ${url}: ${(e as Error).message}`);
    }
  }
  return { url, host, port, authorityKey };
}

export interface Sv2ClientOptions {
  url: string;
  user: string;
  password?: string;
  label?: string;
  /** Mine without checking the pool's identity when the URL has no key (explicit opt-in). */
  allowUnauthenticated?: boolean;
  /** 'extended' (default: coinbase with extranonce) or 'standard' (header-only). */
  channel?: 'extended' | 'standard';
  /** Mask the chips can roll (intersected with BIP 320's bits); omitted → no rolling. */
  versionRollingMask?: number;
  /** Extranonce bytes the miner wants to roll on an extended channel (default 8, range 2..16). */
  minExtranonceSize?: number;
  /** Hash rate announced when opening the channel (h/s; default 1e12). */
  nominalHashRate?: number;
  connectTimeoutMs?: number;
  readyTimeoutMs?: number;
  silenceMs?: number;
  submitTimeoutMs?: number;
  /** Largest frame payload accepted (default 1 MiB). */
  maxFramePayload?: number;
  /** Bad/unknown messages tolerated per connection (default 100). */
  badInputLimit?: number;
  userAgent?: string;
  connector?: Connector;
  clock?: Clock;
  logger?: Logger;
  /** Unix seconds for the certificate check (default: wall clock). */
  now?: () => number;
}

/** A job of a standard channel: the pool fixed the merkle root (header-only). */
export interface Sv2StandardWork {
  /** Merkle root in header byte order. */
  merkleRoot: Uint8Array;
}

/** ClientJob plus what SV2 adds; the scheduler only needs the ClientJob part. */
export interface Sv2ClientJob extends ClientJob {
  /** The channel's 256-bit target when the job was issued. */
  target: bigint;
  protocol: 'sv2';
  /** Set on standard channels (header-only). */
  standard?: Sv2StandardWork;
}

export type Sv2DisconnectReason =
  | 'connect-failed'
  | 'connect-timeout'
  | 'closed-by-pool'
  | 'socket-error'
  | 'not-ready'
  | 'silence'
  | 'bad-input'
  | 'reconnect-request'
  | 'local'
  | 'handshake-failed'
  | 'unauthenticated'
  | 'setup-failed'
  | 'channel-refused'
  | 'channel-closed'
  | 'frame-error';

export interface Sv2ClientEvents {
  connected: [{ poolToken: string; host: string; port: number }];
  ready: [{ poolToken: string }];
  job: [Sv2ClientJob];
  difficulty: [{ poolToken: string; difficulty: number }];
  target: [{ poolToken: string; target: bigint }];
  versionMask: [{ poolToken: string; mask: number }];
  message: [{ poolToken: string; text: string }];
  shareResult: [ShareResultOf<ShareSubmission>];
  disconnected: [DisconnectOf<Sv2DisconnectReason>];
  handshake: [{ poolToken: string; ms: number; authenticated: boolean; bytesOut: number; bytesIn: number }];
}

interface JobState {
  id: number;
  version: number;
  versionRollingAllowed: boolean;
  merklePath: Uint8Array[];
  coinbasePrefix: Uint8Array;
  coinbaseSuffix: Uint8Array;
  merkleRoot: Uint8Array | undefined;
  minNtime: number | undefined;
  /** Extranonce prefix at the time the job came (a SetExtranoncePrefix applies to later jobs). */
  extranoncePrefix: Uint8Array;
}

interface ActiveJob {
  job: JobState;
  difficulty: number;
  versionMask: number;
}

interface PendingShare {
  share: ShareSubmission;
  jobDifficulty: number;
  resolve: (o: ShareOutcome) => void;
  timer: TimerHandle;
}

interface Session {
  token: string;
  socket: Duplex;
  target: { host: string; port: number };
  phase: 'handshake' | 'setup' | 'open' | 'mining';
  noise: NoiseInitiator;
  hsBuf: Uint8Array;
  hsStart: number;
  send: CipherState | undefined;
  decoder: FrameDecoder | undefined;
  channelId: number;
  channelTarget: bigint;
  extranoncePrefix: Uint8Array;
  extranonceSize: number;
  /** Jobs by id (future and active), bounded. */
  jobs: Map<number, JobState>;
  /** Jobs a share may reference (emitted, not made stale). */
  active: Map<string, ActiveJob>;
  prevHash: { prevHash: Uint8Array; minNtime: number; nbits: number; jobId: number } | undefined;
  seq: number;
  pending: Map<number, PendingShare>;
  ready: boolean;
  jobsEmitted: number;
  badInputs: number;
  timers: { ready?: TimerHandle; silence?: TimerHandle };
  reconnect: { host: string; port: number } | undefined;
  bytesOut: number;
  bytesIn: number;
}

const MAX_JOBS = 64;

/** SV2 error codes → the reject reasons the accounting uses (matched by category, not exact text). */
export function classifySv2Error(code: string): RejectReason {
  if (/stale|invalid-job-id|job/i.test(code)) return 'stale';
  if (/duplicate/i.test(code)) return 'duplicate';
  if (/difficulty|target/i.test(code)) return 'low-difficulty';
  if (/user|auth|channel-id/i.test(code)) return code.includes('channel') ? 'other' : 'unauthorized';
  return 'other';
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const hex32 = (n: number) => (n >>> 0).toString(16).padStart(8, '0');

export class Sv2Client extends EventEmitter<Sv2ClientEvents> {
  readonly endpoint: Sv2Endpoint;
  readonly user: string;
  readonly label: string;
  readonly badInput: Record<string, number> = {};
  /** Bytes on the wire over the client's life (handshake included). */
  readonly traffic = { bytesOut: 0, bytesIn: 0, handshakeBytes: 0, frames: 0 };
  private readonly o: Sv2ClientOptions;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly connector: Connector;
  private session: Session | undefined;
  private connecting: { abort: AbortController; timer: TimerHandle } | undefined;
  private connSeq = 0;
  private redirect: { host: string; port: number } | undefined;
  private targetCarry = MAX_TARGET;

  constructor(opts: Sv2ClientOptions) {
    super();
    this.o = opts;
    this.endpoint = parseSv2Url(opts.url);
    if (!this.endpoint.authorityKey && !opts.allowUnauthenticated) {
      throw new Error(
        `pool url ${opts.url}: no authority key — add the pool's public key (stratum2+tcp://host:port/<key>) or allow an unauthenticated pool explicitly (--sv2-allow-unauthenticated)`,
      );
    }
    const en = opts.minExtranonceSize ?? 8;
    if (!Number.isInteger(en) || en < 2 || en > 16) throw new Error(`minExtranonceSize ${en}: must be 2..16`);
    this.user = opts.user;
    this.label = opts.label ?? opts.url;
    this.clock = opts.clock ?? systemClock;
    this.log = (opts.logger ?? silentLogger).child('sv2', { pool: this.label });
    this.connector = opts.connector ?? defaultConnector;
  }

  get state(): ClientState {
    if (this.session) return this.session.ready ? 'ready' : 'handshake';
    return this.connecting ? 'connecting' : 'idle';
  }
  get poolToken(): string | undefined {
    return this.session?.token;
  }
  /** Version bits the chips may roll on this connection (0 when rolling is off). */
  get versionMask(): number {
    return this.o.versionRollingMask !== undefined
      ? (this.o.versionRollingMask & SV2_VERSION_ROLLING_MASK) >>> 0
      : 0;
  }
  /** The channel's current 256-bit target. */
  get target(): bigint {
    return this.session?.channelTarget ?? this.targetCarry;
  }
  get difficulty(): number {
    return targetToDifficulty(this.target);
  }
  get pendingSubmits(): number {
    return this.session?.pending.size ?? 0;
  }

  connect(): void {
    if (this.state !== 'idle') return;
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
    this.connector({ host: target.host, port: target.port, tls: false }, abort.signal).then(
      (socket) => {
        if (this.connecting?.abort !== abort) {
          socket.destroy();
          return;
        }
        this.clock.clearTimeout(timer);
        this.connecting = undefined;
        this.start(token, socket, target);
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

  close(detail = 'closed locally'): void {
    if (this.connecting) {
      const { abort, timer } = this.connecting;
      this.connecting = undefined;
      this.clock.clearTimeout(timer);
      abort.abort();
    }
    const s = this.session;
    if (s) {
      if (s.phase === 'mining' && s.send) {
        try {
          this.send(s, { type: 'CloseChannel', channelId: s.channelId, reasonCode: 'shutdown' });
        } catch {
          // the socket is going away anyway
        }
      }
      this.end('local', detail);
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

  submit(share: ShareSubmission): Promise<ShareOutcome> {
    const s = this.session;
    if (!s || s.token !== share.poolToken || s.phase !== 'mining') {
      return this.refuse(share, 'session of the job has ended');
    }
    const aj = s.active.get(share.jobId);
    if (!aj) return this.refuse(share, 'job unknown or made stale by a new block');
    const vb = share.versionBits ?? 0;
    if ((vb & ~aj.versionMask) >>> 0 !== 0) {
      return this.refuse(share, 'version bits outside the allowed mask', aj.difficulty);
    }
    const version = ((aj.job.version & ~aj.versionMask) | (vb & aj.versionMask)) >>> 0;
    s.seq = (s.seq + 1) >>> 0;
    const seq = s.seq;
    let msg: Sv2Message;
    if (aj.job.merkleRoot) {
      msg = {
        type: 'SubmitSharesStandard',
        channelId: s.channelId,
        sequenceNumber: seq,
        jobId: aj.job.id,
        nonce: share.nonce >>> 0,
        ntime: share.ntime >>> 0,
        version,
      };
    } else {
      const size = s.extranonceSize;
      if (share.extranonce2.length !== size * 2 || !/^[0-9a-f]*$/.test(share.extranonce2)) {
        return this.refuse(
          share,
          `extranonce "${share.extranonce2}" is not ${size} bytes of lower-case hex`,
          aj.difficulty,
        );
      }
      msg = {
        type: 'SubmitSharesExtended',
        channelId: s.channelId,
        sequenceNumber: seq,
        jobId: aj.job.id,
        nonce: share.nonce >>> 0,
        ntime: share.ntime >>> 0,
        version,
        extranonce: Buffer.from(share.extranonce2, 'hex'),
      };
    }
    return new Promise<ShareOutcome>((resolve) => {
      const timer = this.clock.setTimeout(() => {
        const p = s.pending.get(seq);
        if (!p) return;
        s.pending.delete(seq);
        this.finish(s, p, { status: 'no-answer', cause: 'timeout' });
      }, this.o.submitTimeoutMs ?? 60_000);
      s.pending.set(seq, { share, jobDifficulty: aj.difficulty, resolve, timer });
      this.send(s, msg);
    });
  }

  // -------------------------------------------------------------------------------------------------

  private refuse(share: ShareSubmission, detail: string, jobDifficulty = 0): Promise<ShareOutcome> {
    const outcome: ShareOutcome = { status: 'stale-local', detail };
    this.emit('shareResult', { poolToken: share.poolToken, share, outcome, jobDifficulty });
    return Promise.resolve(outcome);
  }

  private finish(s: Session, p: PendingShare, outcome: ShareOutcome): void {
    this.clock.clearTimeout(p.timer);
    p.resolve(outcome);
    this.emit('shareResult', { poolToken: s.token, share: p.share, outcome, jobDifficulty: p.jobDifficulty });
  }

  private start(token: string, socket: Duplex, target: { host: string; port: number }): void {
    const s: Session = {
      token,
      socket,
      target,
      phase: 'handshake',
      noise: new NoiseInitiator({
        authorityKey: this.endpoint.authorityKey,
        now: this.o.now ?? (() => Date.now() / 1000),
      }),
      hsBuf: new Uint8Array(0),
      hsStart: this.clock.now(),
      send: undefined,
      decoder: undefined,
      channelId: 0,
      channelTarget: this.targetCarry,
      extranoncePrefix: new Uint8Array(0),
      extranonceSize: 0,
      jobs: new Map(),
      active: new Map(),
      prevHash: undefined,
      seq: 0,
      pending: new Map(),
      ready: false,
      jobsEmitted: 0,
      badInputs: 0,
      timers: {},
      reconnect: undefined,
      bytesOut: 0,
      bytesIn: 0,
    };
    this.session = s;
    socket.on('data', (chunk: Buffer) => this.onData(s, chunk));
    socket.on('error', (e: Error) => {
      if (this.session === s) this.end('socket-error', e.message);
    });
    socket.on('close', () => {
      if (this.session === s) this.end('closed-by-pool', 'connection closed by the pool');
    });
    s.timers.ready = this.clock.setTimeout(() => {
      if (this.session === s && !s.ready) {
        this.end(
          'not-ready',
          `no ${s.phase === 'mining' ? 'first job' : s.phase} within ${this.o.readyTimeoutMs ?? 30_000} ms`,
        );
      }
    }, this.o.readyTimeoutMs ?? 30_000);
    this.armSilence(s);
    this.log.info('connected', { host: target.host, port: target.port, token });
    this.emit('connected', { poolToken: token, host: target.host, port: target.port });
    if (this.session !== s) return;
    this.write(s, s.noise.act1());
  }

  private write(s: Session, bytes: Uint8Array): void {
    s.bytesOut += bytes.length;
    this.traffic.bytesOut += bytes.length;
    s.socket.write(bytes);
  }

  private send(s: Session, m: Sv2Message): void {
    const send = s.send!;
    this.write(
      s,
      encryptFrame(encodeFrame(m), (b) => send.encrypt(b)),
    );
  }

  private armSilence(s: Session): void {
    this.clock.clearTimeout(s.timers.silence);
    const ms = this.o.silenceMs ?? 120_000;
    s.timers.silence = this.clock.setTimeout(() => {
      if (this.session === s) this.end('silence', `no message for ${ms} ms`);
    }, ms);
  }

  private bad(s: Session, kind: string, detail: string): void {
    this.badInput[kind] = (this.badInput[kind] ?? 0) + 1;
    if (this.badInput[kind] === 1)
      this.log.warn('bad_input', {
        kind,
        detail: detail.slice(0, 200),
        note: 'logged once per kind; counted',
      });
    s.badInputs++;
    if (s.badInputs > (this.o.badInputLimit ?? 100) && this.session === s) {
      this.end('bad-input', `more than ${this.o.badInputLimit ?? 100} bad messages`);
    }
  }

  private onData(s: Session, chunk: Buffer): void {
    if (this.session !== s) return;
    s.bytesIn += chunk.length;
    this.traffic.bytesIn += chunk.length;
    let data: Uint8Array = chunk;
    if (s.phase === 'handshake') {
      const b = new Uint8Array(s.hsBuf.length + data.length);
      b.set(s.hsBuf);
      b.set(data, s.hsBuf.length);
      if (b.length < ACT2_LEN) {
        s.hsBuf = b;
        return;
      }
      s.hsBuf = new Uint8Array(0);
      let res: ReturnType<NoiseInitiator['act2']>;
      try {
        res = s.noise.act2(b.subarray(0, ACT2_LEN));
      } catch (e) {
        const reason = e instanceof CertificateError ? 'unauthenticated' : 'handshake-failed';
        const msg = e instanceof NoiseError || e instanceof CertificateError ? e.message : String(e);
        this.log.error('handshake_failed', { reason, error: msg });
        this.end(reason, msg);
        return;
      }
      const recv = res.recv;
      s.send = res.send;
      s.decoder = new FrameDecoder((ct) => recv.decrypt(ct), this.o.maxFramePayload ?? 1 << 20);
      s.phase = 'setup';
      const ms = this.clock.now() - s.hsStart;
      this.traffic.handshakeBytes += s.bytesOut + ACT2_LEN;
      this.log.info('handshake', {
        ms,
        authenticated: res.certificate.authenticated,
        validUntil: res.certificate.notValidAfter,
      });
      if (!res.certificate.authenticated) {
        this.log.warn('unauthenticated_pool', {
          note: 'no authority key: the pool identity is not checked (explicitly allowed)',
        });
      }
      this.emit('handshake', {
        poolToken: s.token,
        ms,
        authenticated: res.certificate.authenticated,
        bytesOut: s.bytesOut,
        bytesIn: ACT2_LEN,
      });
      this.send(s, {
        type: 'SetupConnection',
        protocol: PROTOCOL_MINING,
        minVersion: 2,
        maxVersion: 2,
        flags:
          (this.o.channel === 'standard' ? SETUP_FLAGS.REQUIRES_STANDARD_JOBS : 0) |
          (this.versionMask !== 0 ? SETUP_FLAGS.REQUIRES_VERSION_ROLLING : 0),
        endpointHost: s.target.host.slice(0, 255),
        endpointPort: s.target.port,
        vendor: 'asicd',
        hardwareVersion: 'asicd-host',
        firmware: (this.o.userAgent ?? USER_AGENT).slice(0, 255),
        deviceId: this.label.slice(0, 255),
      });
      data = b.subarray(ACT2_LEN);
      if (data.length === 0) return;
    }
    let frames: Frame[];
    try {
      frames = s.decoder!.push(data);
    } catch (e) {
      const err = e as FrameError;
      this.bad(s, `frame-${err.kind ?? 'error'}`, err.message);
      if (this.session === s) this.end('frame-error', err.message);
      return;
    }
    for (const f of frames) {
      if (this.session !== s) return;
      this.traffic.frames++;
      let m: ReturnType<typeof decodeFrame>;
      try {
        m = decodeFrame(f);
      } catch (e) {
        this.bad(s, 'malformed', e instanceof CodecError ? e.message : String(e));
        continue;
      }
      this.armSilence(s);
      if (m.type === 'unknown') {
        this.bad(
          s,
          'unknown-message',
          `extension ${m.extensionType} type 0x${m.msgType.toString(16)} (${m.length} bytes) skipped`,
        );
        continue;
      }
      this.onMessage(s, m);
    }
  }

  private onMessage(s: Session, m: Sv2Message): void {
    switch (m.type) {
      case 'SetupConnectionSuccess':
        if (s.phase !== 'setup') {
          this.bad(s, 'unexpected', m.type);
          return;
        }
        s.phase = 'open';
        if (this.o.channel === 'standard') {
          this.send(s, {
            type: 'OpenStandardMiningChannel',
            requestId: 1,
            userIdentity: this.user.slice(0, 255),
            nominalHashRate: this.o.nominalHashRate ?? 1e12,
            maxTarget: MAX_TARGET,
          });
        } else {
          this.send(s, {
            type: 'OpenExtendedMiningChannel',
            requestId: 1,
            userIdentity: this.user.slice(0, 255),
            nominalHashRate: this.o.nominalHashRate ?? 1e12,
            maxTarget: MAX_TARGET,
            minExtranonceSize: this.o.minExtranonceSize ?? 8,
          });
        }
        return;
      case 'SetupConnectionError':
        this.end('setup-failed', `SetupConnection refused: ${m.errorCode} (flags ${m.flags})`);
        return;
      case 'OpenStandardMiningChannelSuccess':
      case 'OpenExtendedMiningChannelSuccess': {
        if (s.phase !== 'open') {
          this.bad(s, 'unexpected', m.type);
          return;
        }
        if (m.type === 'OpenExtendedMiningChannelSuccess') {
          if (m.extranonceSize < 2 || m.extranonceSize > 16) {
            this.end('channel-refused', `extranonce_size ${m.extranonceSize} is outside 2..16`);
            return;
          }
          s.extranonceSize = m.extranonceSize;
        }
        s.phase = 'mining';
        s.channelId = m.channelId;
        s.channelTarget = m.target;
        s.extranoncePrefix = m.extranoncePrefix;
        this.targetCarry = m.target;
        this.log.info('channel_open', {
          kind: m.type === 'OpenExtendedMiningChannelSuccess' ? 'extended' : 'standard',
          channel: m.channelId,
          difficulty: targetToDifficulty(m.target),
          extranoncePrefix: hex(m.extranoncePrefix),
          extranonceSize: s.extranonceSize,
        });
        this.emit('target', { poolToken: s.token, target: m.target });
        this.emit('difficulty', { poolToken: s.token, difficulty: targetToDifficulty(m.target) });
        if (this.versionMask !== 0) this.emit('versionMask', { poolToken: s.token, mask: this.versionMask });
        return;
      }
      case 'OpenMiningChannelError':
        this.end('channel-refused', `channel refused: ${m.errorCode}`);
        return;
      case 'NewExtendedMiningJob':
      case 'NewMiningJob': {
        if (s.phase !== 'mining' || m.channelId !== s.channelId) {
          this.bad(s, 'wrong-channel', m.type);
          return;
        }
        const job: JobState = {
          id: m.jobId,
          version: m.version,
          versionRollingAllowed: m.type === 'NewExtendedMiningJob' ? m.versionRollingAllowed : true,
          merklePath: m.type === 'NewExtendedMiningJob' ? m.merklePath : [],
          coinbasePrefix: m.type === 'NewExtendedMiningJob' ? m.coinbaseTxPrefix : new Uint8Array(0),
          coinbaseSuffix: m.type === 'NewExtendedMiningJob' ? m.coinbaseTxSuffix : new Uint8Array(0),
          merkleRoot: m.type === 'NewMiningJob' ? m.merkleRoot : undefined,
          minNtime: m.minNtime,
          extranoncePrefix: s.extranoncePrefix,
        };
        s.jobs.set(job.id, job);
        if (s.jobs.size > MAX_JOBS) s.jobs.delete(s.jobs.keys().next().value!);
        // A job with min_ntime is for the current block: work at once (if that block is known).
        if (m.minNtime !== undefined) {
          if (!s.prevHash) {
            this.bad(s, 'job-without-block', `job ${m.jobId} before any SetNewPrevHash`);
            return;
          }
          this.emitJob(s, job, false, Math.max(m.minNtime, s.prevHash.minNtime));
        }
        return;
      }
      case 'SetNewPrevHash': {
        if (s.phase !== 'mining' || m.channelId !== s.channelId) {
          this.bad(s, 'wrong-channel', m.type);
          return;
        }
        s.prevHash = { prevHash: m.prevHash, minNtime: m.minNtime, nbits: m.nbits, jobId: m.jobId };
        const job = s.jobs.get(m.jobId);
        // Every job of the old block is stale now; only future jobs stay for the next SetNewPrevHash.
        s.active.clear();
        for (const [id, j] of s.jobs) if (j.minNtime !== undefined || id === m.jobId) s.jobs.delete(id);
        if (!job) {
          this.bad(s, 'unknown-job', `SetNewPrevHash for job ${m.jobId} that was never sent`);
          return;
        }
        s.jobs.set(job.id, { ...job, minNtime: m.minNtime });
        this.emitJob(s, job, true, m.minNtime);
        return;
      }
      case 'SetTarget': {
        if (m.channelId !== s.channelId) {
          this.bad(s, 'wrong-channel', m.type);
          return;
        }
        s.channelTarget = m.maximumTarget;
        this.targetCarry = m.maximumTarget;
        const d = targetToDifficulty(m.maximumTarget);
        // SV2: the new target applies to every share from now on, including jobs already received.
        for (const aj of s.active.values()) aj.difficulty = d;
        for (const p of s.pending.values()) p.jobDifficulty = Math.min(p.jobDifficulty, d);
        this.log.info('set_target', { difficulty: d });
        this.emit('target', { poolToken: s.token, target: m.maximumTarget });
        this.emit('difficulty', { poolToken: s.token, difficulty: d });
        return;
      }
      case 'SetExtranoncePrefix':
        if (m.channelId !== s.channelId) {
          this.bad(s, 'wrong-channel', m.type);
          return;
        }
        s.extranoncePrefix = m.extranoncePrefix;
        return;
      case 'SubmitSharesSuccess': {
        if (m.channelId !== s.channelId) {
          this.bad(s, 'wrong-channel', m.type);
          return;
        }
        // Acknowledges every pending share up to last_sequence_number (sequence numbers wrap at 2^32).
        for (const [seq, p] of [...s.pending]) {
          if ((m.lastSequenceNumber - seq) >>> 0 < 0x80000000) {
            s.pending.delete(seq);
            this.finish(s, p, { status: 'accepted' });
          }
        }
        return;
      }
      case 'SubmitSharesError': {
        const p = s.pending.get(m.sequenceNumber);
        if (!p) {
          this.bad(s, 'unknown-sequence', `SubmitSharesError for ${m.sequenceNumber}`);
          return;
        }
        s.pending.delete(m.sequenceNumber);
        const reason = classifySv2Error(m.errorCode);
        this.finish(s, p, {
          status: 'rejected',
          reason,
          code: REJECT_CODES[reason],
          poolCode: undefined,
          message: m.errorCode,
        });
        return;
      }
      case 'UpdateChannelError':
        this.log.warn('update_channel_error', { error: m.errorCode });
        return;
      case 'CloseChannel':
        this.end('channel-closed', `pool closed the channel: ${m.reasonCode}`);
        return;
      case 'Reconnect': {
        // Empty host / port 0 keep the current ones. Another host is followed only on an authenticated
        // pool: the new host must then present a certificate signed by the same authority key (checked
        // by the handshake of the next connection), so a redirect cannot hand the miner to a stranger.
        // Without an authority key (allowUnauthenticated) only the port of the same host may change.
        const host = m.newHost === '' ? s.target.host : m.newHost;
        const port = m.newPort === 0 ? s.target.port : m.newPort;
        if (host !== this.endpoint.host && !this.endpoint.authorityKey) {
          this.log.warn('reconnect_redirect_refused', {
            host,
            port,
            note: 'another host is followed only on a pool with an authority key (its certificate proves the new host)',
          });
          s.reconnect = { host: s.target.host, port: s.target.port };
        } else {
          s.reconnect = { host, port };
          if (host !== s.target.host)
            this.log.info('reconnect_redirect', {
              host,
              port,
              note: 'used once: the next connection goes there and must pass the same authority check',
            });
        }
        this.end('reconnect-request', `pool asked to reconnect to ${s.reconnect.host}:${s.reconnect.port}`);
        return;
      }
      default:
        this.bad(s, 'unexpected', `${m.type} from a pool`);
    }
  }

  private emitJob(s: Session, job: JobState, clean: boolean, ntime: number): void {
    const ph = s.prevHash!;
    const difficulty = targetToDifficulty(s.channelTarget);
    const versionMask = job.versionRollingAllowed ? this.versionMask : 0;
    const key = String(job.id);
    if (clean) s.active.clear();
    s.active.set(key, { job, difficulty, versionMask });
    const cleanJobs = clean || s.jobsEmitted === 0;
    s.jobsEmitted++;
    const out: Sv2ClientJob = {
      job: {
        jobId: key,
        // V1 prevhash text: the header bytes with each 4-byte word reversed (the work engine undoes it).
        prevhash: hex(swapWords(ph.prevHash)),
        coinb1: hex(job.coinbasePrefix),
        coinb2: hex(job.coinbaseSuffix),
        merkleBranch: job.merklePath.map(hex),
        version: hex32(job.version),
        nbits: hex32(ph.nbits),
        ntime: hex32(ntime),
        cleanJobs,
        // Standard channel: header-only work; the work engine rolls ntime instead of an extranonce.
        ...(job.merkleRoot ? { merkleRoot: hex(job.merkleRoot) } : {}),
      },
      extranonce1: hex(job.extranoncePrefix),
      extranonce2Size: s.extranonceSize,
      difficulty,
      versionMask,
      cleanJobs,
      poolToken: s.token,
      user: this.user,
      receivedAt: this.clock.now(),
      target: s.channelTarget,
      protocol: 'sv2',
      ...(job.merkleRoot ? { standard: { merkleRoot: job.merkleRoot } } : {}),
    };
    this.emit('job', out);
    if (this.session === s && !s.ready) {
      s.ready = true;
      this.clock.clearTimeout(s.timers.ready);
      s.timers.ready = undefined;
      this.log.info('ready', { token: s.token, channel: s.channelId });
      this.emit('ready', { poolToken: s.token });
    }
  }

  private end(reason: Sv2DisconnectReason, detail: string): void {
    const s = this.session;
    if (!s) return;
    this.session = undefined;
    this.clock.clearTimeout(s.timers.ready);
    this.clock.clearTimeout(s.timers.silence);
    s.socket.removeAllListeners('data');
    s.socket.on('error', () => {});
    s.socket.destroy();
    for (const [seq, p] of [...s.pending]) {
      s.pending.delete(seq);
      this.finish(s, p, { status: 'no-answer', cause: 'disconnect' });
    }
    const ev: DisconnectOf<Sv2DisconnectReason> = { poolToken: s.token, reason, detail, wasReady: s.ready };
    if (s.reconnect) {
      this.redirect = s.reconnect;
      ev.reconnectAfterMs = 0;
    }
    const quiet = reason === 'local' || reason === 'reconnect-request';
    this.log[quiet ? 'info' : 'warn']('disconnected', { token: s.token, reason, detail });
    this.emit('disconnected', ev);
  }
}

/** What the manager's pool entries may add for SV2 pools. */
export interface Sv2PoolEntry {
  url: string;
  user: string;
  password?: string;
  /** Mine on a pool whose URL has no authority key (identity unchecked; explicit opt-in). */
  allowUnauthenticated?: boolean;
  /** 'extended' (default) or 'standard' (header-only) channel. */
  channel?: 'extended' | 'standard';
}

/** The managed client of one `stratum2+tcp://` pool, with the manager's shared settings. */
export function createSv2Client(
  p: Sv2PoolEntry,
  _index: number,
  c: {
    label: string;
    versionRollingMask?: number;
    readyTimeoutMs?: number;
    silenceMs?: number;
    connectTimeoutMs?: number;
    submitTimeoutMs?: number;
    userAgent?: string;
    connector?: Connector;
    clock: Clock;
    logger: Logger;
  },
): Sv2Client {
  return new Sv2Client({
    url: p.url,
    user: p.user,
    label: c.label,
    ...(p.password !== undefined ? { password: p.password } : {}),
    ...(p.allowUnauthenticated ? { allowUnauthenticated: true } : {}),
    ...(p.channel ? { channel: p.channel } : {}),
    ...(c.versionRollingMask !== undefined ? { versionRollingMask: c.versionRollingMask } : {}),
    ...(c.readyTimeoutMs !== undefined ? { readyTimeoutMs: c.readyTimeoutMs } : {}),
    ...(c.silenceMs !== undefined ? { silenceMs: c.silenceMs } : {}),
    ...(c.connectTimeoutMs !== undefined ? { connectTimeoutMs: c.connectTimeoutMs } : {}),
    ...(c.submitTimeoutMs !== undefined ? { submitTimeoutMs: c.submitTimeoutMs } : {}),
    ...(c.userAgent !== undefined ? { userAgent: c.userAgent } : {}),
    ...(c.connector ? { connector: c.connector } : {}),
    clock: c.clock,
    logger: c.logger,
  });
}

/** Up-front check of the stratum2+tcp:// entries of a pool list (a ConfigError-style message per pool). */
export function checkSv2Pools(pools: ReadonlyArray<{ url: string }>, allowUnauthenticated: boolean): void {
  for (const p of pools) {
    if (!isSv2Url(p.url)) continue;
    let ep: Sv2Endpoint;
    try {
      ep = parseSv2Url(p.url);
    } catch (e) {
      throw new Error((e as Error).message);
    }
    if (!ep.authorityKey && !allowUnauthenticated) {
      throw new Error(
        `pool url ${p.url}: no authority key — add the pool's public key (stratum2+tcp://host:port/<key>) or pass --sv2-allow-unauthenticated to mine without checking the pool's identity`,
      );
    }
  }
}
