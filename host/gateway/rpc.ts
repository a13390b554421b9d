/**
 * Bitcoin Core JSON-RPC client (HTTP POST, JSON-RPC 1.0 shape as Core speaks it). Auth: a cookie file
 * (`<datadir>/.cookie`, "__cookie__:<hex>", re-read after a 401 because the node writes a new one at
 * each start) or user/password (rpcuser/rpcpassword or rpcauth). Every failure is a NodeRpcError with a
 * kind a caller can act on: 'unreachable' (node down or restarting), 'auth', 'http', 'rpc' (Core's
 * error code and message), 'timeout', 'shape'. Credentials never appear in errors or logs.
 */
import { readFileSync } from 'node:fs';

export type NodeRpcErrorKind = 'unreachable' | 'auth' | 'http' | 'rpc' | 'timeout' | 'shape';

export class NodeRpcError extends Error {
  override readonly name = 'NodeRpcError';
  readonly kind: NodeRpcErrorKind;
  /** Core's RPC error code, for kind 'rpc' (e.g. -8, -9 "not connected", -10 "in initial download", -28 warming up). */
  readonly code: number | undefined;
  constructor(kind: NodeRpcErrorKind, message: string, code?: number) {
    super(message);
    this.kind = kind;
    this.code = code;
  }
}

export interface NodeRpcOptions {
  /** http://host:port (credentials in the URL are accepted and removed from anything printed). */
  url: string;
  cookieFile?: string;
  user?: string;
  password?: string;
  /** Per-call timeout, ms (default 30 000; long-polls pass their own). */
  timeoutMs?: number;
}

/** The URL as printable text (no credentials). */
export function redactUrl(u: string): string {
  try {
    const x = new URL(u);
    x.username = '';
    x.password = '';
    return x.toString().replace(/\/$/, '');
  } catch {
    return '<invalid url>';
  }
}

export class NodeRpc {
  private readonly url: string;
  private auth: string | undefined;
  private seq = 0;
  readonly printable: string;
  private readonly o: NodeRpcOptions;
  constructor(o: NodeRpcOptions) {
    this.o = o;
    let u: URL;
    try {
      u = new URL(o.url);
    } catch {
      throw new NodeRpcError(
        'shape',
        `node RPC URL "${redactUrl(o.url)}" is not a URL (expected http://host:port)`,
      );
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:')
      throw new NodeRpcError('shape', `node RPC URL must start with http:// (got ${u.protocol})`);
    const user = o.user ?? (u.username ? decodeURIComponent(u.username) : undefined);
    const pass = o.password ?? (u.password ? decodeURIComponent(u.password) : undefined);
    u.username = '';
    u.password = '';
    this.url = u.toString();
    this.printable = redactUrl(this.url);
    if (user !== undefined) this.auth = `Basic ${Buffer.from(`${user}:${pass ?? ''}`).toString('base64')}`;
    else if (o.cookieFile) this.readCookie();
  }

  private readCookie(): void {
    if (!this.o.cookieFile) return;
    let text: string;
    try {
      text = readFileSync(this.o.cookieFile, 'utf8').trim();
    } catch (e) {
      throw new NodeRpcError(
        'auth',
        `cannot read the node's cookie file ${this.o.cookieFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      );
    }
    if (!text.includes(':'))
      throw new NodeRpcError('auth', `cookie file ${this.o.cookieFile} is not "user:password"`);
    this.auth = `Basic ${Buffer.from(text).toString('base64')}`;
  }

  /** Aborts every call in flight (shutdown). */
  private readonly closing = new AbortController();
  close(): void {
    this.closing.abort();
  }

  async call<T = unknown>(
    method: string,
    params: unknown[] = [],
    timeoutMs = this.o.timeoutMs ?? 30_000,
    retriedAuth = false,
  ): Promise<T> {
    const id = ++this.seq;
    const body = JSON.stringify({ jsonrpc: '1.0', id, method, params });
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.auth) headers.authorization = this.auth;
    let res: Response;
    try {
      res = await fetch(this.url, {
        method: 'POST',
        body,
        headers,
        signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), this.closing.signal]),
      });
    } catch (e) {
      const err = e as Error & { cause?: { code?: string } };
      if (this.closing.signal.aborted) throw new NodeRpcError('unreachable', `${method}: gateway stopping`);
      if (err.name === 'TimeoutError' || err.name === 'AbortError')
        throw new NodeRpcError(
          'timeout',
          `${method}: no answer from the node at ${this.printable} within ${timeoutMs} ms`,
        );
      throw new NodeRpcError(
        'unreachable',
        `${method}: node at ${this.printable} unreachable (${err.cause?.code ?? err.message})`,
      );
    }
    const text = await res.text().catch(() => '');
    if (res.status === 401) {
      if (!retriedAuth && this.o.cookieFile && this.o.user === undefined) {
        this.readCookie();
        return this.call<T>(method, params, timeoutMs, true);
      }
      throw new NodeRpcError(
        'auth',
        `${method}: the node at ${this.printable} refused the credentials (HTTP 401); check the cookie file or rpcuser/rpcpassword`,
      );
    }
    let doc: { result?: unknown; error?: { code?: number; message?: string } | null; id?: unknown };
    try {
      doc = JSON.parse(text);
    } catch {
      if (res.status === 403)
        throw new NodeRpcError(
          'auth',
          `${method}: forbidden (HTTP 403): is this host allowed by the node's rpcallowip/rpcwhitelist?`,
        );
      throw new NodeRpcError(
        res.ok ? 'shape' : 'http',
        `${method}: HTTP ${res.status} with a body that is not JSON (${text.slice(0, 80)})`,
      );
    }
    if (doc === null || typeof doc !== 'object')
      throw new NodeRpcError('shape', `${method}: answer is not a JSON object`);
    if (doc.error) {
      const code = typeof doc.error.code === 'number' ? doc.error.code : undefined;
      throw new NodeRpcError(
        'rpc',
        `${method}: ${String(doc.error.message ?? 'error')}${code !== undefined ? ` (code ${code})` : ''}`,
        code,
      );
    }
    if (!res.ok) throw new NodeRpcError('http', `${method}: HTTP ${res.status}`);
    return doc.result as T;
  }
}
