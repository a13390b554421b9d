/**
 * New-block notifications from the node's ZeroMQ publisher (`bitcoind -zmqpubhashblock=tcp://…`), a
 * fallback beside the P2P peer: a pure ZMTP 3.0 codec (greeting, NULL mechanism, READY, frames) and a
 * SUB actor on a TCP socket. Written here rather than taken from the `zeromq` npm package: that package
 * is a native addon whose prebuilt binaries cover x64 only, so on a Raspberry Pi (arm64/armhf) it builds
 * libzmq from source at install time (cmake, a toolchain, downloads) — too much for the Pi this daemon
 * runs on, for one topic of 3 frames. The codec is tested against a real libzmq publisher (Debian's
 * python3-zmq) in test/gateway/zmq.test.ts.
 *
 * Wire facts (ZMTP 3.0, rfc.zeromq.org spec 23; Bitcoin Core doc/zmq.md, zmqpublishnotifier.cpp):
 * - greeting, 64 bytes: signature FF 00×8 7F, version 03 00, mechanism "NULL" padded to 20 bytes,
 *   as-server 00, 31 zero bytes of filler;
 * - frame: flags (bit 0 MORE, bit 1 LONG = 8-byte big-endian size, else 1 byte; bit 2 COMMAND), size, body;
 * - NULL handshake: each side sends a READY command: name length 5, "READY", then properties
 *   (name length 1 byte, name, value length 4 bytes big-endian, value), here Socket-Type = SUB;
 * - ZMTP 3.0 subscription: a message frame 0x01 ‖ topic prefix (we announce 3.0, so a 3.1 peer uses it);
 * - Core's hashblock message: ["hashblock", 32-byte hash in display order (reversed), sequence uint32 LE].
 */
import { EventEmitter } from 'node:events';
import { connect, type Socket } from 'node:net';
import { type Clock, systemClock, type TimerHandle } from '../../lib/clock.ts';
import { type Logger, silentLogger } from '../../lib/log.ts';

export class ZmtpError extends Error {
  override readonly name = 'ZmtpError';
}

export const GREETING_BYTES = 64;
const MORE = 0x01;
const LONG = 0x02;
const COMMAND = 0x04;
/** Largest frame accepted (hashblock frames are ≤ 32 bytes; anything big is not what we subscribed to). */
export const MAX_FRAME = 1 << 20;

/** Our greeting: ZMTP 3.0, NULL mechanism, as-server 0. */
export function encodeGreeting(): Uint8Array {
  const g = new Uint8Array(GREETING_BYTES);
  g[0] = 0xff;
  g[9] = 0x7f;
  g[10] = 3;
  g[11] = 0;
  g.set([0x4e, 0x55, 0x4c, 0x4c], 12); // "NULL"
  return g;
}

export interface Greeting {
  major: number;
  minor: number;
  mechanism: string;
  asServer: boolean;
}

export function parseGreeting(g: Uint8Array): Greeting {
  if (g.length < GREETING_BYTES) throw new ZmtpError(`greeting of ${g.length} bytes (expected 64)`);
  if (g[0] !== 0xff || g[9] !== 0x7f)
    throw new ZmtpError('not a ZeroMQ peer (greeting signature is not FF … 7F)');
  const major = g[10]!;
  const minor = g[11]!;
  if (major < 3) throw new ZmtpError(`ZMTP ${major}.${minor} peer (3.0 or later needed)`);
  let end = 12;
  while (end < 32 && g[end] !== 0) end++;
  const mechanism = Buffer.from(g.subarray(12, end)).toString('latin1');
  if (mechanism !== 'NULL')
    throw new ZmtpError(`security mechanism ${mechanism || '(none)'} is not supported (only NULL)`);
  return { major, minor, mechanism, asServer: g[32] === 1 };
}

export function encodeFrame(body: Uint8Array, o: { more?: boolean; command?: boolean } = {}): Uint8Array {
  const long = body.length > 255;
  const head = long ? 9 : 2;
  const f = new Uint8Array(head + body.length);
  f[0] = (o.more ? MORE : 0) | (long ? LONG : 0) | (o.command ? COMMAND : 0);
  if (long) new DataView(f.buffer).setBigUint64(1, BigInt(body.length));
  else f[1] = body.length;
  f.set(body, head);
  return f;
}

/** A command frame: name length, name, then the body. */
export function encodeCommand(name: string, body: Uint8Array = new Uint8Array(0)): Uint8Array {
  const n = Buffer.from(name, 'latin1');
  if (n.length > 255) throw new ZmtpError('command name too long');
  const b = new Uint8Array(1 + n.length + body.length);
  b[0] = n.length;
  b.set(n, 1);
  b.set(body, 1 + n.length);
  return encodeFrame(b, { command: true });
}

/** READY with its metadata properties (name ≤ 255 bytes, value with a 4-byte big-endian length). */
export function encodeReady(props: Record<string, string>): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const [k, v] of Object.entries(props)) {
    const name = Buffer.from(k, 'latin1');
    const value = Buffer.from(v, 'latin1');
    const p = Buffer.alloc(1 + name.length + 4 + value.length);
    p[0] = name.length;
    name.copy(p, 1);
    p.writeUInt32BE(value.length, 1 + name.length);
    value.copy(p, 5 + name.length);
    parts.push(p);
  }
  return encodeCommand('READY', Buffer.concat(parts));
}

/** ZMTP 3.0 subscription: a message whose first byte is 1, then the topic prefix. */
export function encodeSubscribe(topic: string): Uint8Array {
  return encodeFrame(Buffer.concat([Buffer.of(1), Buffer.from(topic, 'latin1')]));
}

export interface Command {
  name: string;
  body: Uint8Array;
}

export function parseCommand(body: Uint8Array): Command {
  if (body.length < 1 || body.length < 1 + body[0]!) throw new ZmtpError('truncated command');
  const len = body[0]!;
  return { name: Buffer.from(body.subarray(1, 1 + len)).toString('latin1'), body: body.subarray(1 + len) };
}

/** READY's properties (lower-cased names: ZMTP property names are case-insensitive). */
export function parseProperties(b: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < b.length) {
    const nl = b[i]!;
    if (i + 1 + nl + 4 > b.length) throw new ZmtpError('truncated READY property');
    const name = Buffer.from(b.subarray(i + 1, i + 1 + nl)).toString('latin1');
    const vl = Buffer.from(b.subarray(i + 1 + nl, i + 5 + nl)).readUInt32BE(0);
    if (i + 5 + nl + vl > b.length) throw new ZmtpError(`truncated READY property ${name}`);
    out[name.toLowerCase()] = Buffer.from(b.subarray(i + 5 + nl, i + 5 + nl + vl)).toString('latin1');
    i += 5 + nl + vl;
  }
  return out;
}

export type ZmtpEvent =
  | { type: 'greeting'; greeting: Greeting }
  | { type: 'command'; command: Command }
  | { type: 'message'; frames: Uint8Array[] };

/** Incremental decoder: greeting first, then frames, whole messages out. Throws ZmtpError on bad input. */
export class ZmtpDecoder {
  private buf: Uint8Array = new Uint8Array(0);
  private greeted = false;
  private parts: Uint8Array[] = [];
  private partBytes = 0;

  push(chunk: Uint8Array): ZmtpEvent[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: ZmtpEvent[] = [];
    if (!this.greeted) {
      // The signature alone tells a non-ZMTP peer early (libzmq sends it before the rest).
      if (this.buf.length >= 10 && (this.buf[0] !== 0xff || this.buf[9] !== 0x7f))
        throw new ZmtpError('not a ZeroMQ peer (greeting signature is not FF … 7F)');
      if (this.buf.length < GREETING_BYTES) return out;
      out.push({ type: 'greeting', greeting: parseGreeting(this.buf.subarray(0, GREETING_BYTES)) });
      this.buf = this.buf.subarray(GREETING_BYTES);
      this.greeted = true;
    }
    for (;;) {
      if (this.buf.length < 2) break;
      const flags = this.buf[0]!;
      if (flags & 0xf8) throw new ZmtpError(`reserved frame flag bits set (0x${flags.toString(16)})`);
      let size: number;
      let head: number;
      if (flags & LONG) {
        if (this.buf.length < 9) break;
        const big = new DataView(this.buf.buffer, this.buf.byteOffset + 1, 8).getBigUint64(0);
        if (big > BigInt(MAX_FRAME)) throw new ZmtpError(`frame of ${big} bytes (limit ${MAX_FRAME})`);
        size = Number(big);
        head = 9;
      } else {
        size = this.buf[1]!;
        head = 2;
      }
      if (this.buf.length < head + size) break;
      const body = this.buf.slice(head, head + size);
      this.buf = this.buf.subarray(head + size);
      if (flags & COMMAND) {
        if (flags & MORE) throw new ZmtpError('command frame with the MORE flag');
        out.push({ type: 'command', command: parseCommand(body) });
        continue;
      }
      this.parts.push(body);
      this.partBytes += body.length;
      if (this.partBytes > MAX_FRAME || this.parts.length > 64)
        throw new ZmtpError('message too large (more than 1 MiB or 64 frames)');
      if (!(flags & MORE)) {
        out.push({ type: 'message', frames: this.parts });
        this.parts = [];
        this.partBytes = 0;
      }
    }
    return out;
  }
}

/** Core's hashblock message → the block hash (display hex) and the publisher's sequence number. */
export function parseHashblock(frames: Uint8Array[]): { hash: string; sequence: number | undefined } {
  if (frames.length < 2 || Buffer.from(frames[0]!).toString('latin1') !== 'hashblock')
    throw new ZmtpError('not a hashblock message');
  const h = frames[1]!;
  if (h.length !== 32) throw new ZmtpError(`hashblock body of ${h.length} bytes (expected 32)`);
  const seq = frames[2];
  return {
    hash: Buffer.from(h).toString('hex'),
    sequence: seq && seq.length === 4 ? Buffer.from(seq).readUInt32LE(0) : undefined,
  };
}

export interface ZmqSubscriberOptions {
  /** tcp://host:port */
  endpoint: string;
  clock?: Clock;
  logger?: Logger;
  /** Reconnect delay after a failure: doubles from 1 s up to this (default 30 s). */
  maxBackoffMs?: number;
}

/**
 * A SUB socket on `hashblock`: connects, handshakes, subscribes, emits `hashblock`; on any error or
 * close it logs once and reconnects with backoff (a node restart is routine). Never throws at callers.
 */
export class ZmqBlockSubscriber extends EventEmitter<{
  ready: [];
  hashblock: [{ hash: string; sequence: number | undefined }];
}> {
  private readonly host: string;
  private readonly port: number;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly maxBackoff: number;
  private socket: Socket | undefined;
  private timer: TimerHandle | undefined;
  private backoff = 1000;
  private stopped = false;
  private lastSeq: number | undefined;
  ready = false;
  readonly counters = { messages: 0, gaps: 0, errors: 0, connects: 0 };

  constructor(o: ZmqSubscriberOptions) {
    super();
    const m = /^tcp:\/\/(\[[^\]]+\]|[^:/\s]+):(\d{1,5})$/i.exec(o.endpoint);
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535)
      throw new ZmtpError(`ZMQ endpoint "${o.endpoint}" is not tcp://HOST:PORT`);
    this.host = m[1]!.replace(/^\[|\]$/g, '');
    this.port = Number(m[2]);
    this.clock = o.clock ?? systemClock;
    this.log = (o.logger ?? silentLogger).child('zmq');
    this.maxBackoff = o.maxBackoffMs ?? 30_000;
  }

  start(): void {
    this.stopped = false;
    this.open();
  }

  stop(): void {
    this.stopped = true;
    this.clock.clearTimeout(this.timer);
    this.socket?.destroy();
    this.socket = undefined;
    this.ready = false;
  }

  private open(): void {
    const dec = new ZmtpDecoder();
    const s = connect({ host: this.host, port: this.port });
    this.socket = s;
    s.setNoDelay(true);
    let failed = false;
    const fail = (why: string) => {
      if (failed) return;
      failed = true;
      this.ready = false;
      s.destroy();
      if (this.stopped) return;
      this.counters.errors++;
      this.log.warn('zmq_down', {
        endpoint: `tcp://${this.host}:${this.port}`,
        error: why,
        retryMs: this.backoff,
      });
      this.timer = this.clock.setTimeout(() => {
        if (!this.stopped) this.open();
      }, this.backoff);
      this.backoff = Math.min(this.backoff * 2, this.maxBackoff);
    };
    s.on('connect', () => {
      s.write(encodeGreeting());
    });
    s.on('data', (chunk: Buffer) => {
      let events: ZmtpEvent[];
      try {
        events = dec.push(chunk);
      } catch (e) {
        fail((e as Error).message);
        return;
      }
      for (const ev of events) {
        if (ev.type === 'greeting') {
          s.write(encodeReady({ 'Socket-Type': 'SUB' }));
        } else if (ev.type === 'command') {
          if (ev.command.name === 'READY') {
            let props: Record<string, string>;
            try {
              props = parseProperties(ev.command.body);
            } catch (e) {
              fail((e as Error).message);
              return;
            }
            const type = props['socket-type'];
            if (type !== 'PUB' && type !== 'XPUB') {
              fail(
                `peer is a ${type ?? 'socket of unknown type'}, not a PUB (is this the zmqpubhashblock port?)`,
              );
              return;
            }
            s.write(encodeSubscribe('hashblock'));
            this.ready = true;
            this.backoff = 1000;
            this.counters.connects++;
            this.log.info('zmq_ready', { endpoint: `tcp://${this.host}:${this.port}` });
            this.emit('ready');
          } else if (ev.command.name === 'ERROR') {
            fail(`peer error: ${Buffer.from(ev.command.body.subarray(1)).toString('latin1')}`);
            return;
          }
          // PING/PONG and others (3.1) are ignored: libzmq does not require an answer from a SUB.
        } else if (this.ready) {
          let hb: { hash: string; sequence: number | undefined };
          try {
            hb = parseHashblock(ev.frames);
          } catch {
            continue; // another topic (a shared endpoint): not ours
          }
          this.counters.messages++;
          if (
            hb.sequence !== undefined &&
            this.lastSeq !== undefined &&
            hb.sequence !== (this.lastSeq + 1) >>> 0
          ) {
            this.counters.gaps++;
            this.log.warn('zmq_gap', { expected: (this.lastSeq + 1) >>> 0, got: hb.sequence });
          }
          if (hb.sequence !== undefined) this.lastSeq = hb.sequence;
          this.emit('hashblock', hb);
        }
      }
    });
    s.on('error', (e) => fail(e.message));
    s.on('close', () => fail('connection closed'));
  }
}
