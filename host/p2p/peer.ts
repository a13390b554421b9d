/**
 * An outbound P2P connection to a Bitcoin node, used by the gateway to learn of new blocks at once and
 * to relay the blocks it finds. Handshake: version → (their version) verack → (their verack); then
 * sendheaders (BIP 130), sendcmpct(announce, v2) (BIP 152 high-bandwidth) and a getheaders from the
 * current tip (so the node knows which headers we have and announces the next one by `headers`).
 * `headers`, block `inv`, `cmpctblock` and `block` become one `announce` event. Pings are answered; a
 * malformed message or a wrong magic ends the connection (logged), and the peer reconnects with backoff.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { connect, type Socket } from 'node:net';
import { type Clock, systemClock, type TimerHandle } from '../../lib/clock.ts';
import { type Logger, silentLogger } from '../../lib/log.ts';
import { headerHash } from '../bitcoin/block.ts';
import { hashToDisplay } from '../bitcoin/bytes.ts';
import {
  decodeMessage,
  encodeFrame,
  encodeGetHeaders,
  encodePing,
  encodeSendCmpct,
  encodeVersion,
  FrameDecoder,
  INV,
  ipv4Addr,
  NODE_WITNESS,
  PROTOCOL_VERSION,
} from './codec.ts';

export interface PeerOptions {
  host: string;
  port: number;
  magic: number;
  userAgent?: string;
  /** Our best height for the version message. */
  startHeight?: () => number;
  /** Tip hash (display hex) for the getheaders after the handshake. */
  tip?: () => string | undefined;
  handshakeTimeoutMs?: number;
  reconnectMs?: number;
  clock?: Clock;
  logger?: Logger;
}

export type AnnounceSource = 'headers' | 'inv' | 'cmpctblock' | 'block';

export class NodePeer extends EventEmitter<{
  ready: [];
  announce: [{ source: AnnounceSource; hash: string }];
  closed: [string];
}> {
  private readonly o: PeerOptions;
  private readonly clock: Clock;
  private readonly log: Logger;
  private socket: Socket | undefined;
  private decoder: FrameDecoder;
  private gotVersion = false;
  private gotVerack = false;
  private stopped = false;
  private timer: TimerHandle | undefined;
  private pingTimer: TimerHandle | undefined;
  private backoff: number;
  connected = false;
  readonly counters = { connects: 0, messages: 0, announcements: 0, badMessages: 0, relayed: 0 };

  constructor(o: PeerOptions) {
    super();
    this.o = o;
    this.clock = o.clock ?? systemClock;
    this.log = (o.logger ?? silentLogger).child('p2p');
    this.decoder = new FrameDecoder(o.magic);
    this.backoff = o.reconnectMs ?? 1000;
  }

  get ready(): boolean {
    return this.connected;
  }

  start(): void {
    this.stopped = false;
    this.open();
  }

  stop(): void {
    this.stopped = true;
    this.clock.clearTimeout(this.timer);
    this.clock.clearInterval(this.pingTimer);
    this.socket?.destroy();
    this.socket = undefined;
  }

  /** Sends a found block to the node (unsolicited `block`, which Core processes when it extends its tip). */
  relayBlock(raw: Uint8Array): boolean {
    if (!this.connected || !this.socket) return false;
    this.send('block', raw);
    this.counters.relayed++;
    return true;
  }

  private send(command: string, payload?: Uint8Array): void {
    this.socket?.write(encodeFrame(this.o.magic, command, payload));
  }

  private open(): void {
    if (this.stopped) return;
    this.gotVersion = false;
    this.gotVerack = false;
    this.connected = false;
    this.decoder = new FrameDecoder(this.o.magic);
    const s = connect({ host: this.o.host, port: this.o.port });
    this.socket = s;
    s.setNoDelay(true);
    const handshake = this.clock.setTimeout(
      () => this.fail(s, `no handshake within ${this.o.handshakeTimeoutMs ?? 10_000} ms`),
      this.o.handshakeTimeoutMs ?? 10_000,
    );
    s.on('connect', () => {
      this.send(
        'version',
        encodeVersion({
          version: PROTOCOL_VERSION,
          services: NODE_WITNESS,
          timestamp: BigInt(Math.floor(Date.now() / 1000)),
          recv: ipv4Addr('127.0.0.1', this.o.port),
          from: ipv4Addr('0.0.0.0', 0),
          nonce: randomBytes(8).readBigUInt64LE(0),
          userAgent: this.o.userAgent ?? '/asicd-gateway/',
          startHeight: this.o.startHeight?.() ?? 0,
          relay: false,
        }),
      );
    });
    s.on('data', (chunk: Buffer) => {
      let frames: ReturnType<FrameDecoder['push']>;
      try {
        frames = this.decoder.push(chunk);
      } catch (e) {
        this.counters.badMessages++;
        this.fail(s, (e as Error).message);
        return;
      }
      for (const f of frames) {
        if (this.socket !== s) return;
        this.counters.messages++;
        let m: ReturnType<typeof decodeMessage>;
        try {
          m = decodeMessage(f);
        } catch (e) {
          this.counters.badMessages++;
          this.fail(s, `malformed ${f.command}: ${(e as Error).message}`);
          return;
        }
        this.onMessage(m, handshake);
      }
    });
    s.on('error', (e) => this.log.debug('p2p_socket_error', { error: e.message }));
    s.on('close', () => {
      this.clock.clearTimeout(handshake);
      if (this.socket !== s) return;
      this.socket = undefined;
      const was = this.connected;
      this.connected = false;
      this.clock.clearInterval(this.pingTimer);
      this.emit('closed', was ? 'disconnected' : 'connect failed');
      if (!this.stopped) {
        this.log.warn('p2p_disconnected', { peer: `${this.o.host}:${this.o.port}`, retryMs: this.backoff });
        this.timer = this.clock.setTimeout(() => this.open(), this.backoff);
        this.backoff = Math.min(this.backoff * 2, 30_000);
      }
    });
  }

  private fail(s: Socket, why: string): void {
    this.log.warn('p2p_error', { peer: `${this.o.host}:${this.o.port}`, error: why });
    s.destroy();
  }

  private onMessage(m: ReturnType<typeof decodeMessage>, handshake: TimerHandle): void {
    switch (m.command) {
      case 'version':
        this.gotVersion = true;
        this.send('verack');
        break;
      case 'verack':
        this.gotVerack = true;
        break;
      case 'ping':
        this.send('pong', encodePing(m.nonce));
        return;
      case 'headers':
        if (m.headers.length > 0)
          this.announce('headers', hashToDisplay(headerHash(m.headers[m.headers.length - 1]!)));
        return;
      case 'inv':
        for (const i of m.items)
          if (i.type === INV.BLOCK || i.type === INV.WITNESS_BLOCK || i.type === INV.CMPCT_BLOCK) {
            this.announce('inv', hashToDisplay(i.hash));
            break;
          }
        return;
      case 'cmpctblock':
        this.announce('cmpctblock', hashToDisplay(headerHash(m.msg.header)));
        return;
      case 'block':
        this.announce('block', hashToDisplay(headerHash(m.block.header)));
        return;
      default:
        return;
    }
    if (this.gotVersion && this.gotVerack && !this.connected) {
      this.clock.clearTimeout(handshake);
      this.connected = true;
      this.counters.connects++;
      this.backoff = this.o.reconnectMs ?? 1000;
      this.send('sendheaders');
      this.send('sendcmpct', encodeSendCmpct({ announce: true, version: 2n }));
      const tip = this.o.tip?.();
      if (tip) {
        const h = Uint8Array.from(Buffer.from(tip, 'hex').reverse());
        this.send(
          'getheaders',
          encodeGetHeaders({ version: PROTOCOL_VERSION, locator: [h], stop: new Uint8Array(32) }),
        );
      }
      this.pingTimer = this.clock.setInterval(
        () => this.send('ping', encodePing(BigInt(Date.now()))),
        120_000,
      );
      this.log.info('p2p_ready', { peer: `${this.o.host}:${this.o.port}` });
      this.emit('ready');
    }
  }

  private announce(source: AnnounceSource, hash: string): void {
    this.counters.announcements++;
    this.emit('announce', { source, hash });
  }
}
