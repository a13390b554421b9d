/** Test helpers for the embedded pool: a raw line client over TCP and a nonce grinder (work engine). */
import { connect, type Socket } from 'node:net';
import type { NotifyJob } from '../../host/stratum/messages.ts';
import { buildTemplate, checkNonce, makeWork } from '../../host/work/index.ts';
import { waitFor } from '../helpers/net.ts';

export interface Line {
  id?: unknown;
  method?: string;
  params?: unknown[];
  result?: unknown;
  error?: unknown;
}

/** A bare Stratum peer: writes JSON objects, collects every line it receives. */
export class RawClient {
  readonly lines: Line[] = [];
  private buf = '';
  private nextId = 100;
  readonly socket: Socket;
  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (d) => {
      this.buf += String(d);
      for (let nl = this.buf.indexOf('\n'); nl >= 0; nl = this.buf.indexOf('\n')) {
        this.lines.push(JSON.parse(this.buf.slice(0, nl)) as Line);
        this.buf = this.buf.slice(nl + 1);
      }
    });
    socket.on('error', () => {});
  }
  static async open(port: number): Promise<RawClient> {
    const s = connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      s.once('connect', resolve);
      s.once('error', reject);
    });
    return new RawClient(s);
  }
  get closed(): boolean {
    return this.socket.destroyed || this.socket.readableEnded;
  }
  /** Sends a request and waits for its response. */
  async call(method: string, params: unknown[]): Promise<Line> {
    const id = this.nextId++;
    this.socket.write(`${JSON.stringify({ id, method, params })}\n`);
    await waitFor(() => this.lines.some((l) => l.id === id && !('method' in l)), `answer to ${method}`);
    return this.lines.find((l) => l.id === id && !('method' in l))!;
  }
  notifications(method: string): Line[] {
    return this.lines.filter((l) => l.method === method);
  }
  lastJob(): NotifyJob {
    const p = this.notifications('mining.notify').at(-1)!.params!;
    return {
      jobId: p[0] as string,
      prevhash: p[1] as string,
      coinb1: p[2] as string,
      coinb2: p[3] as string,
      merkleBranch: p[4] as string[],
      version: p[5] as string,
      nbits: p[6] as string,
      ntime: p[7] as string,
      cleanJobs: p[8] as boolean,
    };
  }
  close(): void {
    this.socket.destroy();
  }
}

export interface Found {
  nonce: number;
  difficulty: number;
  hash: string;
}

/**
 * Searches nonces from `start` until `accept(difficulty)` holds; uses the work engine to rebuild and hash
 * the header (the same checks the miner side does).
 */
export function grind(
  job: NotifyJob,
  session: { extranonce1: string; extranonce2Size: number },
  en2: string,
  accept: (difficulty: number) => boolean,
  opts: { version?: number; ntime?: number; versionMask?: number; start?: number; limit?: number } = {},
): Found {
  const t = buildTemplate(job, session, { difficulty: 1, versionMask: opts.versionMask ?? 0 });
  const w = makeWork(t, en2);
  const limit = opts.limit ?? 2_000_000;
  for (let i = 0; i < limit; i++) {
    const nonce = ((opts.start ?? 0) + i) >>> 0;
    const c = checkNonce(w, nonce, {
      ...(opts.version !== undefined ? { version: opts.version } : {}),
      ...(opts.ntime !== undefined ? { ntime: opts.ntime } : {}),
    });
    if (accept(c.difficulty)) return { nonce, difficulty: c.difficulty, hash: c.hashHex };
  }
  throw new Error('no nonce found within the limit');
}

export const hex8 = (n: number) => (n >>> 0).toString(16).padStart(8, '0');
