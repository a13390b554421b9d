/**
 * Embedded Stratum V2 pool (mining protocol, responder side) for the demo and tests.
 *
 * - Noise NX responder (pool-noise.ts, written apart from the client's initiator), with a static key and
 *   a certificate signed by its authority key; `url` carries that key in base58check
 *   (stratum2+tcp://127.0.0.1:port/<key>). The certificate's validity window can be set (expired tests).
 * - SetupConnection (mining protocol, version 2) → OpenExtendedMiningChannel (4-byte unique extranonce
 *   prefix, extranonce_size = the miner's minimum, at least 4, at most 16) or OpenStandardMiningChannel
 *   (header-only: the pool fills the whole extranonce and sends merkle roots).
 * - Work: synthetic blocks (host/pool/jobs.ts); on open and on every new block a future job followed by
 *   SetNewPrevHash; pushJob() sends a job for the current block (min_ntime set).
 * - Shares are rebuilt and hashed with the work engine (host/work) and checked in this order:
 *   channel ('invalid-channel-id'), job of an older block ('stale-share'), job never sent
 *   ('invalid-job-id'), extranonce length ('invalid-extranonce-size'), version outside BIP 320 bits when
 *   rolling is not allowed ('invalid-version'), ntime before min_ntime or > 2 h after
 *   ('invalid-timestamp'), hash above the channel's 256-bit target ('difficulty-too-low'), duplicate
 *   ('duplicate-share'). Accepted shares are acknowledged by SubmitSharesSuccess, one each or in batches (`ackEvery`).
 * - On cue: newBlock, pushJob, setTarget, reconnect, closeAll; counters in `stats`.
 */
import { randomBytes as cryptoRandomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { type Clock, systemClock, type TimerHandle } from '../../lib/clock.ts';
import { type Logger, silentLogger } from '../../lib/log.ts';
import { JobFactory, type RandomBytes } from '../pool/jobs.ts';
import type { NotifyJob } from '../stratum/messages.ts';
import {
  buildTemplate,
  checkNonce,
  difficultyToTarget,
  makeWork,
  swapWords,
  targetToDifficulty,
} from '../work/index.ts';
import { encodeAuthorityKey, signCertificate, xonlyPublicKey } from './certificate.ts';
import { bigToBytes32, ellswiftCreate, publicX } from './ellswift.ts';
import { decodeFrame, encodeFrame, encryptFrame, type Frame, FrameDecoder } from './framing.ts';
import type { Sv2Message } from './messages.ts';
import { type PoolCipher, respondNx } from './pool-noise.ts';

export interface Sv2PoolOptions {
  host?: string;
  /** Initial share difficulty (→ the 256-bit target); default 1. */
  difficulty?: number;
  /** Authority key (32 bytes); default fresh. */
  authorityPrivateKey?: Uint8Array;
  /** Certificate window (unix seconds); default now − 1 h … now + 1 day. */
  validFrom?: number;
  notValidAfter?: number;
  /** New block every this many ms (default 600 000; 0 = never by timer). */
  blockIntervalMs?: number;
  /** Merkle branch count of the synthetic blocks (default [0, 12]). */
  branches?: number | [number, number];
  nbits?: string;
  clock?: Clock;
  logger?: Logger;
  randomBytes?: RandomBytes;
  /** Unix seconds (default wall clock). */
  now?: () => number;
  /** Acknowledge accepted shares in batches of this many (one SubmitSharesSuccess each batch; default 1). */
  ackEvery?: number;
}

export interface Sv2PoolStats {
  connections: number;
  handshakes: number;
  handshakeFailures: number;
  channels: { standard: number; extended: number };
  accepted: number;
  acceptedDifficulty: number;
  rejected: number;
  rejectedByCode: Record<string, number>;
  frameErrors: number;
  bytesIn: number;
  bytesOut: number;
}

export interface Sv2ShareEvent {
  conn: number;
  channelId: number;
  jobId: number;
  accepted: boolean;
  errorCode?: string;
  difficulty?: number;
}

interface ServerJob {
  id: number;
  notify: NotifyJob;
  blockSeq: number;
  minNtime: number;
  /** Header-order prevhash of the job's block. */
  prevHash: Uint8Array;
}

interface Channel {
  id: number;
  kind: 'standard' | 'extended';
  user: string;
  /** Extended: the prefix the miner's extranonce follows. Standard: the whole extranonce. */
  prefix: Uint8Array;
  extranonceSize: number;
  target: bigint;
  jobs: Map<number, ServerJob>;
  seen: Set<string>;
  unacked: { count: number; lastSeq: number; sum: bigint };
}

interface Conn {
  id: number;
  socket: Socket;
  phase: 'handshake' | 'setup' | 'mining';
  hs: Uint8Array;
  toMiner: PoolCipher | undefined;
  decoder: FrameDecoder | undefined;
  channels: Map<number, Channel>;
}

const PREFIX_LEN = 4;
const EXTENSION_BYTES = 12; // prefix (4) + the miner's part (≤ 8) in the synthetic coinbase
const MAX_EXTENDED_EXTRANONCE = EXTENSION_BYTES - PREFIX_LEN;
const NTIME_WINDOW = 7200;

export class Sv2Pool extends EventEmitter<{ share: [Sv2ShareEvent]; connection: [number] }> {
  readonly stats: Sv2PoolStats = {
    connections: 0,
    handshakes: 0,
    handshakeFailures: 0,
    channels: { standard: 0, extended: 0 },
    accepted: 0,
    acceptedDifficulty: 0,
    rejected: 0,
    rejectedByCode: {},
    frameErrors: 0,
    bytesIn: 0,
    bytesOut: 0,
  };
  readonly authorityPublicKey: Uint8Array;
  private readonly o: Sv2PoolOptions;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly rnd: RandomBytes;
  private readonly now: () => number;
  private readonly factory: JobFactory;
  private readonly staticKey: { privateKey: Uint8Array; encoding: Uint8Array };
  private certificate: Uint8Array;
  private readonly authority: Uint8Array;
  private readonly conns = new Map<number, Conn>();
  private server: Server | undefined;
  private boundPort = 0;
  private connSeq = 0;
  private channelSeq = 0;
  private jobSeq = 0;
  private prefixSeq: number;
  private blockSeq = 0;
  private blockNtime = 0;
  private target: bigint;
  private blockTimer: TimerHandle | undefined;

  constructor(o: Sv2PoolOptions = {}) {
    super();
    this.o = o;
    this.clock = o.clock ?? systemClock;
    this.log = (o.logger ?? silentLogger).child('sv2-pool');
    this.rnd = o.randomBytes ?? ((n) => cryptoRandomBytes(n));
    this.now = o.now ?? (() => Math.floor(Date.now() / 1000));
    const d = o.difficulty ?? 1;
    if (!Number.isFinite(d) || d <= 0) throw new Error(`difficulty: ${d} (must be a finite number > 0)`);
    this.target = difficultyToTarget(d);
    this.authority = o.authorityPrivateKey ?? ellswiftCreate(this.rnd).privateKey;
    this.authorityPublicKey = xonlyPublicKey(this.authority);
    this.staticKey = ellswiftCreate(this.rnd);
    this.certificate = this.sign(o.validFrom, o.notValidAfter);
    this.prefixSeq = Buffer.from(this.rnd(4)).readUInt32BE(0);
    this.factory = new JobFactory({
      extranonceBytes: EXTENSION_BYTES,
      randomBytes: this.rnd,
      ...(o.branches !== undefined ? { branches: o.branches } : {}),
      ...(o.nbits !== undefined ? { nbits: o.nbits } : {}),
    });
    this.blockNtime = this.now();
  }

  /** The authority key as pool URLs carry it. */
  get authorityKey(): string {
    return encodeAuthorityKey(this.authorityPublicKey);
  }
  get port(): number {
    return this.boundPort;
  }
  get url(): string {
    return `stratum2+tcp://127.0.0.1:${this.boundPort}/${this.authorityKey}`;
  }
  get difficulty(): number {
    return targetToDifficulty(this.target);
  }

  /** Re-signs the certificate with another validity window (applies to new handshakes). */
  setCertificateWindow(validFrom: number, notValidAfter: number): void {
    this.certificate = this.sign(validFrom, notValidAfter);
  }

  private sign(validFrom?: number, notValidAfter?: number): Uint8Array {
    const now = this.now();
    return signCertificate({
      authorityPrivateKey: this.authority,
      serverStaticKey: bigToBytes32(publicX(this.staticKey.privateKey)),
      validFrom: validFrom ?? now - 3600,
      notValidAfter: notValidAfter ?? now + 86_400,
    });
  }

  async listen(port = 0): Promise<number> {
    const server = createServer((socket) => this.onConnection(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.o.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.boundPort = (server.address() as { port: number }).port;
    const every = this.o.blockIntervalMs ?? 600_000;
    if (every > 0) this.blockTimer = this.clock.setInterval(() => this.newBlock(), every);
    this.log.info('listening', { url: this.url });
    return this.boundPort;
  }

  async close(): Promise<void> {
    this.clock.clearInterval(this.blockTimer);
    this.blockTimer = undefined;
    for (const c of this.conns.values()) c.socket.destroy();
    this.conns.clear();
    const s = this.server;
    this.server = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  /** A new block: every channel gets a future job then SetNewPrevHash; older jobs become stale. */
  newBlock(): void {
    this.factory.newBlock();
    this.blockSeq++;
    this.blockNtime = Math.max(this.now(), this.blockNtime + 1);
    for (const c of this.conns.values()) for (const ch of c.channels.values()) this.sendBlock(c, ch);
  }

  /** A new job for the current block (min_ntime set: work at once, older jobs stay valid). */
  pushJob(): void {
    for (const c of this.conns.values())
      for (const ch of c.channels.values()) {
        const j = this.makeJob(ch, Math.max(this.now(), this.blockNtime));
        this.sendJob(c, ch, j, j.minNtime);
      }
  }

  /** A new share difficulty for every channel (SetTarget). */
  setDifficulty(d: number): void {
    this.target = difficultyToTarget(d);
    for (const c of this.conns.values())
      for (const ch of c.channels.values()) {
        ch.target = this.target;
        this.send(c, { type: 'SetTarget', channelId: ch.id, maximumTarget: ch.target });
      }
  }

  /** Asks every miner to reconnect (empty host / port 0 = same). */
  reconnect(newHost = '', newPort = 0): void {
    for (const c of this.conns.values()) this.send(c, { type: 'Reconnect', newHost, newPort });
  }

  closeAll(): void {
    for (const c of this.conns.values()) c.socket.destroy();
    this.conns.clear();
  }

  /** Writes raw bytes to every connection (fuzz tests). */
  sendRaw(bytes: Uint8Array): void {
    for (const c of this.conns.values()) c.socket.write(bytes);
  }

  /** Sends an encrypted frame with arbitrary header fields (unknown-message tests). */
  sendFrame(frame: Uint8Array): void {
    for (const c of this.conns.values()) {
      if (!c.toMiner) continue;
      const t = c.toMiner;
      this.write(
        c,
        encryptFrame(frame, (b) => t.seal(b)),
      );
    }
  }

  // -------------------------------------------------------------------------------------------------

  private onConnection(socket: Socket): void {
    const c: Conn = {
      id: ++this.connSeq,
      socket,
      phase: 'handshake',
      hs: new Uint8Array(0),
      toMiner: undefined,
      decoder: undefined,
      channels: new Map(),
    };
    this.conns.set(c.id, c);
    this.stats.connections++;
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => this.onData(c, d));
    socket.on('error', () => {});
    socket.on('close', () => this.conns.delete(c.id));
    this.emit('connection', c.id);
  }

  private write(c: Conn, b: Uint8Array): void {
    this.stats.bytesOut += b.length;
    c.socket.write(b);
  }

  private send(c: Conn, m: Sv2Message): void {
    const t = c.toMiner;
    if (!t || c.socket.destroyed) return;
    this.write(
      c,
      encryptFrame(encodeFrame(m), (b) => t.seal(b)),
    );
  }

  private onData(c: Conn, d: Buffer): void {
    this.stats.bytesIn += d.length;
    let data: Uint8Array = d;
    if (c.phase === 'handshake') {
      const b = new Uint8Array(c.hs.length + data.length);
      b.set(c.hs);
      b.set(data, c.hs.length);
      if (b.length < 64) {
        c.hs = b;
        return;
      }
      try {
        const r = respondNx(b.subarray(0, 64), {
          staticPrivateKey: this.staticKey.privateKey,
          staticEncoding: this.staticKey.encoding,
          certificate: this.certificate,
        });
        this.write(c, r.act2);
        c.toMiner = r.toMiner;
        const from = r.fromMiner;
        c.decoder = new FrameDecoder((ct) => from.open(ct), 1 << 20);
        c.phase = 'setup';
        this.stats.handshakes++;
      } catch (e) {
        this.stats.handshakeFailures++;
        this.log.warn('handshake_failed', { conn: c.id, error: (e as Error).message });
        c.socket.destroy();
        return;
      }
      data = b.subarray(64);
      if (data.length === 0) return;
    }
    let frames: Frame[];
    try {
      frames = c.decoder!.push(data);
    } catch (e) {
      this.stats.frameErrors++;
      this.log.warn('frame_error', { conn: c.id, error: (e as Error).message });
      c.socket.destroy();
      return;
    }
    for (const f of frames) {
      let m: ReturnType<typeof decodeFrame>;
      try {
        m = decodeFrame(f);
      } catch (e) {
        this.stats.frameErrors++;
        this.log.warn('bad_message', { conn: c.id, error: (e as Error).message });
        continue;
      }
      if (m.type === 'unknown') continue;
      this.onMessage(c, m);
    }
  }

  private onMessage(c: Conn, m: Sv2Message): void {
    switch (m.type) {
      case 'SetupConnection':
        if (m.protocol !== 0) {
          this.send(c, { type: 'SetupConnectionError', flags: 0, errorCode: 'unsupported-protocol' });
          return;
        }
        if (m.minVersion > 2 || m.maxVersion < 2) {
          this.send(c, { type: 'SetupConnectionError', flags: 0, errorCode: 'protocol-version-mismatch' });
          return;
        }
        c.phase = 'mining';
        this.send(c, { type: 'SetupConnectionSuccess', usedVersion: 2, flags: 0 });
        return;
      case 'OpenExtendedMiningChannel':
      case 'OpenStandardMiningChannel': {
        if (c.phase !== 'mining') return;
        if (m.userIdentity === '') {
          this.send(c, { type: 'OpenMiningChannelError', requestId: m.requestId, errorCode: 'unknown-user' });
          return;
        }
        const ext = m.type === 'OpenExtendedMiningChannel';
        if (ext && m.minExtranonceSize > MAX_EXTENDED_EXTRANONCE) {
          this.send(c, {
            type: 'OpenMiningChannelError',
            requestId: m.requestId,
            errorCode: 'min-extranonce-size-too-large',
          });
          return;
        }
        // biome-ignore lint/complexity/useMathMinMax: bigint targets (Math.min takes numbers)
        const target = m.maxTarget < this.target ? m.maxTarget : this.target;
        const prefix = new Uint8Array(ext ? PREFIX_LEN : EXTENSION_BYTES);
        this.prefixSeq = (this.prefixSeq + 1) >>> 0;
        new DataView(prefix.buffer).setUint32(0, this.prefixSeq, false);
        if (!ext) prefix.set(this.rnd(EXTENSION_BYTES - PREFIX_LEN), PREFIX_LEN);
        const ch: Channel = {
          id: ++this.channelSeq,
          kind: ext ? 'extended' : 'standard',
          user: m.userIdentity,
          prefix,
          extranonceSize: ext ? Math.max(2, m.minExtranonceSize, 4) : 0,
          target,
          jobs: new Map(),
          seen: new Set(),
          unacked: { count: 0, lastSeq: 0, sum: 0n },
        };
        if (ext) ch.extranonceSize = Math.min(ch.extranonceSize, MAX_EXTENDED_EXTRANONCE);
        c.channels.set(ch.id, ch);
        this.stats.channels[ch.kind]++;
        if (ext) {
          this.send(c, {
            type: 'OpenExtendedMiningChannelSuccess',
            requestId: m.requestId,
            channelId: ch.id,
            target,
            extranonceSize: ch.extranonceSize,
            extranoncePrefix: prefix,
          });
        } else {
          this.send(c, {
            type: 'OpenStandardMiningChannelSuccess',
            requestId: m.requestId,
            channelId: ch.id,
            target,
            extranoncePrefix: prefix,
            groupChannelId: 0,
          });
        }
        this.sendBlock(c, ch);
        return;
      }
      case 'SubmitSharesExtended':
      case 'SubmitSharesStandard':
        this.onSubmit(c, m);
        return;
      case 'UpdateChannel': {
        const ch = c.channels.get(m.channelId);
        if (!ch) {
          this.send(c, {
            type: 'UpdateChannelError',
            channelId: m.channelId,
            errorCode: 'invalid-channel-id',
          });
          return;
        }
        if (m.maximumTarget < ch.target) {
          ch.target = m.maximumTarget;
          this.send(c, { type: 'SetTarget', channelId: ch.id, maximumTarget: ch.target });
        }
        return;
      }
      case 'CloseChannel':
        c.channels.delete(m.channelId);
        return;
      default:
        return;
    }
  }

  private makeJob(ch: Channel, minNtime: number): ServerJob {
    const notify = this.factory.job(minNtime, false);
    this.jobSeq = (this.jobSeq + 1) >>> 0;
    const id = this.jobSeq;
    const job: ServerJob = {
      id,
      notify,
      blockSeq: this.blockSeq,
      minNtime,
      prevHash: swapWords(Buffer.from(notify.prevhash, 'hex')),
    };
    ch.jobs.set(id, job);
    if (ch.jobs.size > 64) ch.jobs.delete(ch.jobs.keys().next().value!);
    return job;
  }

  private sendBlock(c: Conn, ch: Channel): void {
    const j = this.makeJob(ch, this.blockNtime);
    this.sendJob(c, ch, j, undefined);
    this.send(c, {
      type: 'SetNewPrevHash',
      channelId: ch.id,
      jobId: j.id,
      prevHash: j.prevHash,
      minNtime: j.minNtime,
      nbits: Number.parseInt(j.notify.nbits, 16),
    });
  }

  /** Standard channels: the merkle root of the coinbase with the channel's whole extranonce. */
  private standardWork(ch: Channel, j: ServerJob) {
    const t = buildTemplate(
      j.notify,
      {
        extranonce1: Buffer.from(ch.prefix.subarray(0, EXTENSION_BYTES - 2)).toString('hex'),
        extranonce2Size: 2,
      },
      {},
    );
    return makeWork(t, Buffer.from(ch.prefix.subarray(EXTENSION_BYTES - 2)).toString('hex'));
  }

  private sendJob(c: Conn, ch: Channel, j: ServerJob, minNtime: number | undefined): void {
    const version = Number.parseInt(j.notify.version, 16);
    if (ch.kind === 'standard') {
      this.send(c, {
        type: 'NewMiningJob',
        channelId: ch.id,
        jobId: j.id,
        minNtime,
        version,
        merkleRoot: this.standardWork(ch, j).merkleRoot,
      });
      return;
    }
    const coinb1 = Buffer.from(j.notify.coinb1, 'hex');
    const coinb2 = Buffer.from(j.notify.coinb2, 'hex');
    // The synthetic coinbase leaves EXTENSION_BYTES for prefix + extranonce; a shorter extranonce is
    // padded with zero bytes at the end of the prefix side of the suffix.
    const pad = MAX_EXTENDED_EXTRANONCE - ch.extranonceSize;
    this.send(c, {
      type: 'NewExtendedMiningJob',
      channelId: ch.id,
      jobId: j.id,
      minNtime,
      version,
      versionRollingAllowed: true,
      merklePath: j.notify.merkleBranch.map((b) => Buffer.from(b, 'hex')),
      coinbaseTxPrefix: coinb1,
      coinbaseTxSuffix: Buffer.concat([Buffer.alloc(pad), coinb2]),
    });
  }

  private reject(c: Conn, ch: number, seq: number, jobId: number, code: string): void {
    this.stats.rejected++;
    this.stats.rejectedByCode[code] = (this.stats.rejectedByCode[code] ?? 0) + 1;
    this.send(c, { type: 'SubmitSharesError', channelId: ch, sequenceNumber: seq, errorCode: code });
    this.emit('share', { conn: c.id, channelId: ch, jobId, accepted: false, errorCode: code });
  }

  private onSubmit(
    c: Conn,
    m: Extract<Sv2Message, { type: 'SubmitSharesExtended' | 'SubmitSharesStandard' }>,
  ): void {
    const ch = c.channels.get(m.channelId);
    if (!ch) {
      this.reject(c, m.channelId, m.sequenceNumber, m.jobId, 'invalid-channel-id');
      return;
    }
    const j = ch.jobs.get(m.jobId);
    if (j && j.blockSeq !== this.blockSeq) {
      this.reject(c, ch.id, m.sequenceNumber, m.jobId, 'stale-share');
      return;
    }
    if (!j) {
      this.reject(c, ch.id, m.sequenceNumber, m.jobId, 'invalid-job-id');
      return;
    }
    let work: ReturnType<typeof makeWork>;
    if (m.type === 'SubmitSharesExtended') {
      if (ch.kind !== 'extended' || m.extranonce.length !== ch.extranonceSize) {
        this.reject(c, ch.id, m.sequenceNumber, m.jobId, 'invalid-extranonce-size');
        return;
      }
      const pad = MAX_EXTENDED_EXTRANONCE - ch.extranonceSize;
      const en = Buffer.concat([Buffer.from(m.extranonce), Buffer.alloc(pad)]);
      const t = buildTemplate(
        j.notify,
        { extranonce1: Buffer.from(ch.prefix).toString('hex'), extranonce2Size: MAX_EXTENDED_EXTRANONCE },
        {},
      );
      work = makeWork(t, en.toString('hex'));
    } else {
      if (ch.kind !== 'standard') {
        this.reject(c, ch.id, m.sequenceNumber, m.jobId, 'invalid-channel-id');
        return;
      }
      work = this.standardWork(ch, j);
    }
    const jobVersion = Number.parseInt(j.notify.version, 16);
    if (((m.version ^ jobVersion) & ~0x1fffe000) >>> 0 !== 0) {
      this.reject(c, ch.id, m.sequenceNumber, m.jobId, 'invalid-version');
      return;
    }
    if (m.ntime < j.minNtime || m.ntime > j.minNtime + NTIME_WINDOW) {
      this.reject(c, ch.id, m.sequenceNumber, m.jobId, 'invalid-timestamp');
      return;
    }
    const check = checkNonce(work, m.nonce, { version: m.version, ntime: m.ntime, ticketDifficulty: 1e-12 });
    const hash = BigInt(`0x${check.hashHex}`);
    if (hash > ch.target) {
      this.reject(c, ch.id, m.sequenceNumber, m.jobId, 'difficulty-too-low');
      return;
    }
    const key = `${m.jobId}/${m.type === 'SubmitSharesExtended' ? Buffer.from(m.extranonce).toString('hex') : ''}/${m.nonce}/${m.ntime}/${m.version}`;
    if (ch.seen.has(key)) {
      this.reject(c, ch.id, m.sequenceNumber, m.jobId, 'duplicate-share');
      return;
    }
    ch.seen.add(key);
    if (ch.seen.size > 100_000) ch.seen.clear();
    const difficulty = targetToDifficulty(ch.target);
    this.stats.accepted++;
    this.stats.acceptedDifficulty += difficulty;
    const u = ch.unacked;
    u.count++;
    u.lastSeq = m.sequenceNumber;
    u.sum += BigInt(Math.max(1, Math.round(difficulty)));
    if (u.count >= (this.o.ackEvery ?? 1)) {
      this.send(c, {
        type: 'SubmitSharesSuccess',
        channelId: ch.id,
        lastSequenceNumber: u.lastSeq,
        newSubmitsAcceptedCount: u.count,
        newSharesSum: u.sum,
      });
      ch.unacked = { count: 0, lastSeq: 0, sum: 0n };
    }
    this.emit('share', {
      conn: c.id,
      channelId: ch.id,
      jobId: m.jobId,
      accepted: true,
      difficulty: check.difficulty,
    });
  }
}
