/**
 * A small scripted Stratum V1 server for client tests (real TCP on 127.0.0.1). By default it replays the
 * slush/braiins example exchange from the public vector (subscribe result with extranonce1 08000002 /
 * size 4, the job "bf" notify) and accepts submits; tests then make it misbehave on cue: queue submit
 * replies (stale, duplicate, ckpool reject-reason…), send raw lines (garbage, set_version_mask,
 * client.reconnect…), go silent, or close connections.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TlsOptions } from 'node:tls';
import { vector } from '../helpers/vectors.ts';

interface SlushVector {
  extranonce1: string;
  extranonce2_size: number;
  raw_messages: { subscribe_result: string; notify: string; submit: string };
}
export const slush = vector<SlushVector>('stratum-v1', 'slush-example-testnet3');

export interface Received {
  conn: number;
  id: unknown;
  method?: string;
  params?: unknown[];
  raw: string;
  result?: unknown;
}

export interface ScriptOptions {
  /** Answer mining.configure with version rolling (mask) or with an error. Default '1fffe000'. */
  configureMask?: string | 'error';
  /** Subscribe result override (JSON value of `result`). Default: the slush vector's. */
  subscribeResult?: unknown;
  authorize?: boolean;
  /** Difficulty sent before the first notify (undefined → none, like the slush log). */
  difficulty?: number;
  /** Send the vector notify after authorize. Default true. */
  notifyOnAuthorize?: boolean;
}

export type Reply = (id: unknown) => string;
export const replies = {
  accept: (id: unknown) => JSON.stringify({ id, result: true, error: null }),
  error: (code: number, msg: string) => (id: unknown) =>
    JSON.stringify({ id, result: null, error: [code, msg, null] }),
  ckpool: (reason: string) => (id: unknown) =>
    JSON.stringify({ id, result: false, error: null, 'reject-reason': reason }),
  none: () => '',
};

export class ScriptedServer {
  readonly received: Received[] = [];
  readonly conns = new Map<number, Socket>();
  /** FIFO of replies to the next submits; empty → accept. */
  readonly submitReplies: Reply[] = [];
  /** When true the server reads but never writes (a "zombie" pool). */
  silent = false;
  /**
   * A hostile script: called for every message received (before the default answer); return true when
   * it answered the message itself (the default answer is then skipped).
   */
  onRequest:
    | ((conn: number, m: { id?: unknown; method?: string; params?: unknown[] }) => boolean)
    | undefined;
  private seq = 0;
  private readonly server: Server;
  readonly port: number;
  readonly opts: ScriptOptions;
  private constructor(server: Server, port: number, opts: ScriptOptions) {
    this.server = server;
    this.port = port;
    this.opts = opts;
  }

  /** Listens on 127.0.0.1:`port` (0 = any); with `tls` (key, cert) it speaks TLS. */
  static async start(opts: ScriptOptions = {}, port = 0, tls?: TlsOptions): Promise<ScriptedServer> {
    const server: Server = tls ? createTlsServer(tls) : createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    const addr = server.address();
    if (!addr || typeof addr !== 'object') throw new Error('no address');
    const s = new ScriptedServer(server, addr.port, opts);
    server.on(tls ? 'secureConnection' : 'connection', (sock: Socket) => s.onConnection(sock));
    if (tls) server.on('tlsClientError', () => {});
    return s;
  }

  get url(): string {
    return `stratum+tcp://127.0.0.1:${this.port}`;
  }
  get lastConn(): number {
    return this.seq;
  }
  methods(method: string): Received[] {
    return this.received.filter((r) => r.method === method);
  }

  private onConnection(sock: Socket): void {
    const conn = ++this.seq;
    this.conns.set(conn, sock);
    sock.on('error', () => {});
    sock.on('close', () => this.conns.delete(conn));
    let buf = '';
    sock.on('data', (d) => {
      buf += String(d);
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const raw = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let m: { id?: unknown; method?: string; params?: unknown[]; result?: unknown };
        try {
          m = JSON.parse(raw);
        } catch {
          continue;
        }
        const rec: Received = { conn, id: m.id, raw };
        if (m.method !== undefined) rec.method = m.method;
        if (m.params !== undefined) rec.params = m.params;
        if ('result' in m) rec.result = m.result;
        this.received.push(rec);
        if (this.silent) continue;
        if (this.onRequest?.(conn, m)) continue;
        this.answer(conn, m);
      }
    });
  }

  /** The default answer to a message (a hostile script may call it, then misbehave). */
  answer(conn: number, m: { id?: unknown; method?: string; params?: unknown[] }): void {
    const o = this.opts;
    const write = (v: unknown) => this.sendTo(conn, typeof v === 'string' ? v : JSON.stringify(v));
    switch (m.method) {
      case 'mining.configure':
        if (o.configureMask === 'error')
          write({ id: m.id, result: null, error: [20, 'Method not found', null] });
        else
          write({
            id: m.id,
            result: { 'version-rolling': true, 'version-rolling.mask': o.configureMask ?? '1fffe000' },
            error: null,
          });
        return;
      case 'mining.subscribe': {
        const result =
          o.subscribeResult ??
          (JSON.parse(slush.raw_messages.subscribe_result) as { result: unknown }).result;
        write({ id: m.id, result, error: null });
        return;
      }
      case 'mining.authorize':
        write({ id: m.id, result: o.authorize ?? true, error: null });
        if ((o.authorize ?? true) && o.notifyOnAuthorize !== false) {
          if (o.difficulty !== undefined)
            this.sendTo(
              conn,
              JSON.stringify({ id: null, method: 'mining.set_difficulty', params: [o.difficulty] }),
            );
          this.sendTo(conn, slush.raw_messages.notify);
        }
        return;
      case 'mining.submit': {
        const reply = this.submitReplies.shift() ?? replies.accept;
        const line = reply(m.id);
        if (line) write(line);
        return;
      }
      default:
        if (m.method !== undefined && m.id !== null && m.id !== undefined)
          write({ id: m.id, result: true, error: null });
    }
  }

  sendTo(conn: number, line: string): void {
    const s = this.conns.get(conn);
    if (s && !s.destroyed) s.write(line.endsWith('\n') ? line : `${line}\n`);
  }
  /** Writes a line (or raw text when `raw`) to every open connection. */
  send(line: string, raw = false): void {
    for (const s of this.conns.values())
      if (!s.destroyed) s.write(raw || line.endsWith('\n') ? line : `${line}\n`);
  }
  notify(params: Partial<Record<'jobId' | 'prevhash' | 'ntime', string>> & { clean?: boolean } = {}): void {
    const p = (JSON.parse(slush.raw_messages.notify) as { params: unknown[] }).params;
    if (params.jobId) p[0] = params.jobId;
    if (params.prevhash) p[1] = params.prevhash;
    if (params.ntime) p[7] = params.ntime;
    if (params.clean !== undefined) p[8] = params.clean;
    this.send(JSON.stringify({ id: null, method: 'mining.notify', params: p }));
  }
  closeAll(): void {
    for (const s of this.conns.values()) s.destroy();
  }
  async stop(): Promise<void> {
    this.closeAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
