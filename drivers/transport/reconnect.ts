/**
 * Keeping a device open: retryingOpen() opens a transport, retrying with exponential backoff on the
 * injected Clock while the device is missing, locked or not permitted (each distinct failure is logged
 * once with its fix, repeats at debug level). Reconnector keeps a link up for the daemon's lifetime:
 * it reopens after an unplug and calls back on every up/down so the chain can re-initialise.
 */
import {
  type BackoffPolicy,
  backoffDelay as delayFor,
  type BackoffOptions as LibBackoffOptions,
  withDefaults,
} from '../../lib/backoff.ts';
import type { Clock } from '../../lib/clock.ts';
import type { Logger } from '../../lib/log.ts';
import { silentLogger } from '../../lib/log.ts';
import { type ByteTransport, TransportError, type Unsubscribe } from './contract.ts';
import { transportError } from './errors.ts';

/**
 * Retry backoff (lib/backoff.ts). Defaults here: initialMs 500, maxMs 30 000, factor 2, jitter 0 (the
 * delay is multiplied by 1 − jitter·random()).
 */
export type BackoffOptions = LibBackoffOptions;

const OPEN_BACKOFF: BackoffPolicy = { initialMs: 500, maxMs: 30_000, factor: 2, jitter: 0 };

/** Delay before retry number `attempt` (1 = first retry). */
export function backoffDelay(attempt: number, o: BackoffOptions = {}): number {
  return delayFor(attempt, withDefaults(o, OPEN_BACKOFF));
}

export interface RetryOptions extends BackoffOptions {
  clock: Clock;
  logger?: Logger;
  /** Stop retrying (rejects with code 'closed'). */
  signal?: AbortSignal;
  /** Give up after this many failed attempts (default: never). */
  maxAttempts?: number;
  /** Called after each failed attempt, before waiting. */
  onAttemptFailed?: (err: TransportError, attempt: number, delayMs: number) => void;
}

function aborted(path: string): TransportError {
  return new TransportError('closed', path, 'retrying stopped', undefined);
}

/**
 * Opens `t`, retrying with backoff. Rejects only when aborted, after maxAttempts, or on 'unsupported'
 * (this machine cannot drive the bus at all; retrying would not help).
 */
export async function retryingOpen(t: ByteTransport, o: RetryOptions): Promise<void> {
  const log = (o.logger ?? silentLogger).child('transport', { path: t.path });
  let lastCode: string | undefined;
  for (let attempt = 1; ; attempt++) {
    if (o.signal?.aborted) throw aborted(t.path);
    try {
      await t.open();
      if (attempt > 1) log.info('transport.open.recovered', { attempts: attempt });
      return;
    } catch (err) {
      const te = transportError(t.path, err);
      if (te.code === 'unsupported') throw te;
      if (o.maxAttempts !== undefined && attempt >= o.maxAttempts) throw te;
      const delay = backoffDelay(attempt, o);
      if (te.code !== lastCode)
        log.warn('transport.open.failed', { code: te.code, error: te.message, retryInMs: delay });
      else log.debug('transport.open.retry', { code: te.code, attempt, retryInMs: delay });
      lastCode = te.code;
      o.onAttemptFailed?.(te, attempt, delay);
      await new Promise<void>((resolve, reject) => {
        const h = o.clock.setTimeout(() => {
          o.signal?.removeEventListener('abort', onAbort);
          resolve();
        }, delay);
        const onAbort = () => {
          o.clock.clearTimeout(h);
          reject(aborted(t.path));
        };
        o.signal?.addEventListener('abort', onAbort, { once: true });
      });
    }
  }
}

export interface ReconnectorOptions extends Omit<RetryOptions, 'signal' | 'maxAttempts'> {
  /** Called each time the link is (re)opened. Errors are logged; the link stays up. */
  onUp?: (t: ByteTransport) => void | Promise<void>;
  /** Called when an open link goes down (unplug, I/O error, close by someone else). */
  onDown?: (err: TransportError | undefined) => void;
}

/** Keeps a transport open until stop(): reopens with backoff whenever it closes unexpectedly. */
export class Reconnector {
  private ctrl = new AbortController();
  private running = false;
  private stopped = false;
  private lastError: TransportError | undefined;
  private unsub: Unsubscribe[] = [];
  private readonly log: Logger;
  /** Completes when the current open/onUp cycle settles (tests await it). */
  current: Promise<void> = Promise.resolve();

  readonly transport: ByteTransport;
  private readonly o: ReconnectorOptions;
  constructor(transport: ByteTransport, o: ReconnectorOptions) {
    this.transport = transport;
    this.o = o;
    this.log = (o.logger ?? silentLogger).child('reconnector', { path: transport.path });
  }

  get up(): boolean {
    return this.transport.isOpen;
  }

  start(): void {
    if (this.running || this.stopped) return;
    this.running = true;
    this.unsub.push(
      this.transport.onError((err) => {
        this.lastError = err;
      }),
      this.transport.onClose(() => {
        if (this.stopped) return;
        const err = this.lastError;
        this.lastError = undefined;
        this.log.warn('transport.down', { code: err?.code ?? 'closed', error: err?.message });
        try {
          this.o.onDown?.(err);
        } catch (e) {
          this.log.error('transport.onDown.failed', { error: e });
        }
        this.cycle();
      }),
    );
    this.cycle();
  }

  private cycle(): void {
    this.current = retryingOpen(this.transport, { ...this.o, signal: this.ctrl.signal })
      .then(async () => {
        if (this.stopped) return;
        this.log.info('transport.up');
        try {
          await this.o.onUp?.(this.transport);
        } catch (e) {
          this.log.error('transport.onUp.failed', { error: e });
        }
      })
      .catch((err: TransportError) => {
        if (!this.stopped) this.log.error('transport.giving-up', { code: err.code, error: err.message });
      });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.ctrl.abort();
    for (const u of this.unsub) u();
    this.unsub = [];
    await this.current;
    await this.transport.close();
  }
}
