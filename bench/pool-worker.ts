/**
 * The embedded Stratum server in its own process, for the daemon latency bench.
 *
 * In the field the pool is another machine: its parsing, bookkeeping and garbage never run in the
 * daemon's process. In one process the pool's allocations (≈ 11 KB per notify with the bench harness)
 * made the shared heap collect more often and the daemon's p99 included the pool's GC pauses. A child
 * process has its own heap, so only the daemon's own work and garbage land in the window being measured;
 * the socket between them is still real TCP on 127.0.0.1. (A worker thread would do as well, but Node 20
 * does not apply the bench's `--import tsx` loader inside workers.)
 *
 * Main side: `RemotePool.start(opts)`; child side: this file forked with ASICD_BENCH_POOL=1 (it answers
 * requests sent as `{ id, op }` over the IPC channel).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ServerStats, StratumServerOptions } from '../host/pool/server.ts';
import type { NotifyJob } from '../host/stratum/messages.ts';

const POOL_ENV = 'ASICD_BENCH_POOL';

interface Request {
  id: number;
  op: 'newBlock' | 'stats' | 'info' | 'close';
}

export interface PoolInfo {
  job: NotifyJob;
  extranonce1: string;
  difficulty: number;
  versionMask: number;
}

/** The main thread's handle on the pool worker. */
export class RemotePool {
  readonly url: string;
  private readonly child: ChildProcess;
  private next = 1;
  private readonly waiting = new Map<number, (v: unknown) => void>();

  private constructor(child: ChildProcess, url: string) {
    this.child = child;
    this.url = url;
    child.on('message', (m: { id: number; result: unknown }) => {
      const r = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      r?.(m.result);
    });
  }

  static async start(opts: StratumServerOptions): Promise<RemotePool> {
    const child = fork(fileURLToPath(import.meta.url), [], {
      env: { ...process.env, [POOL_ENV]: '1', POOL_OPTS: JSON.stringify(opts) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const url = await new Promise<string>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`bench pool exited (${code}) before listening`)));
      child.once('message', (m: { url: string }) => resolve(m.url));
    });
    child.removeAllListeners('exit');
    return new RemotePool(child, url);
  }

  private request<T>(op: Request['op']): Promise<T> {
    const id = this.next++;
    return new Promise<T>((resolve) => {
      this.waiting.set(id, resolve as (v: unknown) => void);
      this.child.send({ id, op } satisfies Request);
    });
  }

  /**
   * A new block: a clean notify to every connection. One-way (no answer), so no IPC message arrives
   * in the daemon's process while the notify is being measured.
   */
  newBlock(): void {
    this.child.send({ id: 0, op: 'newBlock' } satisfies Request);
  }
  stats(): Promise<ServerStats> {
    return this.request('stats');
  }
  /** The current job and the first connection's session (extranonce1, difficulty, version mask). */
  info(): Promise<PoolInfo> {
    return this.request('info');
  }
  async close(): Promise<void> {
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    await this.request('close');
    this.child.disconnect();
    await exited;
  }
}

if (process.env[POOL_ENV] === '1' && process.send) {
  const send = process.send.bind(process);
  const { StratumServer } = await import('../host/pool/server.ts');
  const server = new StratumServer(JSON.parse(process.env.POOL_OPTS ?? '{}') as StratumServerOptions);
  await server.listen(0);
  send({ url: server.url });
  process.on('message', async (req: Request) => {
    let result: unknown;
    switch (req.op) {
      case 'newBlock':
        server.newBlock();
        return;
      case 'stats':
        result = server.stats;
        break;
      case 'info': {
        const id = server.connectionIds[0];
        const c = id === undefined ? undefined : server.connection(id);
        if (!c) throw new Error('bench pool: no connection');
        result = {
          job: server.currentJob,
          extranonce1: c.extranonce1,
          difficulty: c.difficulty,
          versionMask: c.versionMask,
        } satisfies PoolInfo;
        break;
      }
      case 'close':
        await server.close();
        break;
    }
    send({ id: req.id, result });
  });
  // The bench's end (or its crash) closes the channel: leave with it.
  process.on('disconnect', () => process.exit(0));
}
