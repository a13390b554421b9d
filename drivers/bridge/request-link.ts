/**
 * The request/reply plumbing both USB bridge drivers share (bitaxe-raw.ts, qaxe.ts): one request
 * outstanding at a time (requests queue in call order), sequential ids from the protocol's range, a
 * timeout per request on the injected Clock, and a resync after a timeout, a reply for another id or a
 * frame the protocol rejects — the protocol's parser is reset and the port flushed before the next
 * request, so a late or corrupted reply is never taken for the answer to a later one. The port is
 * (re)opened on demand, so a bridge unplugged and plugged back is used again without a restart; a close
 * of the port rejects the request in flight as `unplugged`.
 *
 * The protocol stays with the driver: it frames and encodes the request for an id, parses the replies
 * and tells the link what each one is (`settle`, `stray`).
 */
import type { Clock, TimerHandle } from '../../lib/clock.ts';
import type { Logger } from '../../lib/log.ts';
import { type ByteTransport, TransportError } from '../transport/contract.ts';

export interface RequestLinkOptions {
  transport: ByteTransport;
  clock: Clock;
  logger: Logger;
  /** Default reply timeout (ms). */
  timeoutMs: number;
  /** Ids run first, first + 1, …, last, then first again. */
  ids: { first: number; last: number };
  /** What the user should check when the link fails (part of every link error). */
  fix: string;
  /** Drop whatever the protocol parser holds (a resync or the port closing). */
  resetParser: () => void;
}

export interface RequestLinkStats {
  requests: number;
  timeouts: number;
  /** Replies that matched no pending request (late, duplicated or corrupted) and forced a resync. */
  stray: number;
  errors: number;
}

interface Pending<T> {
  id: number;
  what: string;
  resolve: (value: T) => void;
  reject: (err: Error) => void;
  timer: TimerHandle;
}

export class RequestLink<T> {
  readonly path: string;
  readonly stats: RequestLinkStats = { requests: 0, timeouts: 0, stray: 0, errors: 0 };
  private readonly o: RequestLinkOptions;
  private nextId: number;
  private pending: Pending<T> | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private needResync = false;
  private closed = false;

  constructor(o: RequestLinkOptions) {
    this.o = o;
    this.path = o.transport.path;
    this.nextId = o.ids.first;
    o.transport.onClose(() => {
      o.resetParser();
      this.fail(new TransportError('unplugged', this.path, 'control port closed', o.fix));
    });
  }

  /** The request waiting for its reply (the driver matches replies against it). */
  get current(): { id: number; what: string } | undefined {
    return this.pending ? { id: this.pending.id, what: this.pending.what } : undefined;
  }

  async open(): Promise<void> {
    this.closed = false;
    await this.o.transport.open();
  }

  /**
   * Queues one request: `frame(id)` encodes it for its id; `beforeSend` runs just before it goes out
   * (after any resync), e.g. to tell the parser the reply length. Resolves with what `settle` gives.
   */
  request(
    what: string,
    frame: (id: number) => Uint8Array,
    o: { timeoutMs?: number; beforeSend?: () => void } = {},
  ): Promise<T> {
    const run = this.queue.then(() =>
      this.exchange(what, frame, o.timeoutMs ?? this.o.timeoutMs, o.beforeSend),
    );
    this.queue = run.catch(() => {});
    return run;
  }

  private async exchange(
    what: string,
    frame: (id: number) => Uint8Array,
    timeoutMs: number,
    beforeSend: (() => void) | undefined,
  ): Promise<T> {
    const t = this.o.transport;
    if (this.closed) throw new TransportError('closed', this.path, 'bridge is closed');
    if (!t.isOpen) await t.open();
    if (this.needResync) {
      this.needResync = false;
      this.o.resetParser();
      await t.flush().catch(() => {});
    }
    const id = this.nextId;
    this.nextId = id >= this.o.ids.last ? this.o.ids.first : id + 1;
    const bytes = frame(id);
    beforeSend?.();
    this.stats.requests++;
    const reply = new Promise<T>((resolve, reject) => {
      const timer = this.o.clock.setTimeout(() => {
        if (this.pending?.id !== id) return;
        this.pending = undefined;
        this.stats.timeouts++;
        this.needResync = true;
        this.o.logger.warn('bridge.timeout', { what, id, ms: timeoutMs });
        reject(
          new TransportError('timeout', this.path, `${what}: no reply within ${timeoutMs} ms`, this.o.fix),
        );
      }, timeoutMs);
      this.pending = { id, what, resolve, reject, timer };
    });
    // The reply can come back before write() resolves (tcdrain): it is handled by our caller, so mark it
    // handled now or Node would see an unhandled rejection in between.
    reply.catch(() => {});
    try {
      await t.write(bytes);
    } catch (err) {
      this.fail(err as Error);
    }
    return reply;
  }

  /**
   * The reply to the pending request: its value, or the error the bridge reported (counted; with
   * `resync`, the next request starts from a clean buffer — e.g. the bridge could not parse ours).
   */
  settle(outcome: { value: T } | { error: Error; resync?: boolean }): void {
    const p = this.pending;
    if (!p) return;
    this.pending = undefined;
    this.o.clock.clearTimeout(p.timer);
    if ('value' in outcome) {
      p.resolve(outcome.value);
      return;
    }
    this.stats.errors++;
    if (outcome.resync) this.needResync = true;
    p.reject(outcome.error);
  }

  /** A reply for no pending request (late, duplicated, corrupted): dropped with what follows it. */
  stray(fields: Record<string, unknown> = {}): void {
    this.stats.stray++;
    this.o.logger.debug('bridge.stray_reply', { ...fields, pending: this.pending?.id });
    this.o.resetParser();
  }

  /** Rejects the request in flight, if any. */
  fail(err: Error): void {
    const p = this.pending;
    if (!p) return;
    this.pending = undefined;
    this.o.clock.clearTimeout(p.timer);
    p.reject(err);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.fail(new TransportError('closed', this.path, 'bridge is closed'));
    await this.o.transport.close();
  }
}
