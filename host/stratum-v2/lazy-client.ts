/**
 * A Stratum V2 pool's managed client that loads the V2 stack (client.ts: Noise, secp256k1, ChaCha20) the
 * first time it connects, so a daemon whose pools are all V1 never loads it (≈ 7 MB of RSS on Node 24).
 * PoolManager creates clients synchronously; this stand-in forwards every call and event to the real
 * Sv2Client once the module is in. Until then it is 'connecting' (after connect()) or 'idle', has no
 * session token, and close() simply cancels the pending connect — as the real client's close() does
 * while it is still connecting.
 */
import { EventEmitter } from 'node:events';
import type { ShareSubmission } from '../stratum/client.ts';
import type { ClientState, ShareOutcome } from '../stratum/session.ts';
import type { createSv2Client, Sv2Client, Sv2PoolEntry } from './client.ts';

type Common = Parameters<typeof createSv2Client>[2];
type ClientModule = typeof import('./client.ts');

const EVENTS = [
  'connected',
  'ready',
  'job',
  'difficulty',
  'target',
  'versionMask',
  'message',
  'shareResult',
  'disconnected',
  'handshake',
] as const;

let loaded: ClientModule | undefined;
let loading: Promise<ClientModule> | undefined;

/** Loads the V2 client module once per process (also used to check V2 pool URLs up front). */
export function loadSv2Client(): Promise<ClientModule> {
  loading ??= import('./client.ts').then((m) => {
    loaded = m;
    return m;
  });
  return loading;
}

export class LazySv2Client extends EventEmitter {
  private inner: Sv2Client | undefined;
  private wanted = false;
  private seq = 0;
  private readonly pool: Sv2PoolEntry;
  private readonly index: number;
  private readonly common: Common;

  constructor(pool: Sv2PoolEntry, index: number, common: Common) {
    super();
    this.pool = pool;
    this.index = index;
    this.common = common;
    if (loaded) this.attach(loaded);
  }

  get state(): ClientState {
    return this.inner?.state ?? (this.wanted ? 'connecting' : 'idle');
  }
  get poolToken(): string | undefined {
    return this.inner?.poolToken;
  }
  get versionMask(): number {
    return this.inner?.versionMask ?? 0;
  }

  connect(): void {
    if (this.inner) {
      this.inner.connect();
      return;
    }
    if (this.wanted) return;
    this.wanted = true;
    const attempt = ++this.seq;
    loadSv2Client().then(
      (m) => {
        if (!this.inner) this.attach(m);
        if (this.wanted && attempt === this.seq) {
          this.wanted = false;
          this.inner!.connect();
        }
      },
      (err: Error) => this.failed(attempt, err),
    );
  }

  close(detail?: string): void {
    this.wanted = false;
    this.inner?.close(detail);
  }

  drain(timeoutMs: number): Promise<void> {
    this.wanted = false;
    return this.inner ? this.inner.drain(timeoutMs) : Promise.resolve();
  }

  submit(share: ShareSubmission): Promise<ShareOutcome> {
    if (this.inner) return this.inner.submit(share);
    // No session can exist yet, so no job of this pool: what the real client answers for a dead session.
    const outcome: ShareOutcome = { status: 'stale-local', detail: 'session of the job has ended' };
    this.emit('shareResult', { poolToken: share.poolToken, share, outcome, jobDifficulty: 0 });
    return Promise.resolve(outcome);
  }

  private attach(m: ClientModule): void {
    try {
      this.inner = m.createSv2Client(this.pool, this.index, this.common);
    } catch (err) {
      // A pool URL the V2 client refuses (the daemon checks them before start; a direct caller may not).
      this.failed(this.seq, err as Error);
      return;
    }
    for (const ev of EVENTS) this.inner.on(ev, (...a: unknown[]) => this.emit(ev, ...a));
  }

  private failed(attempt: number, err: Error): void {
    if (!this.wanted || attempt !== this.seq) return;
    this.wanted = false;
    this.emit('disconnected', {
      poolToken: `${this.common.label}#lazy${attempt}`,
      reason: 'connect-failed',
      detail: err.message,
      wasReady: false,
    });
  }
}
