/**
 * Stop requests from SIGINT/SIGTERM, installed before the first byte goes to hardware so that a signal at
 * any moment — while the chips are enumerated, ramped, during a failover or during the stop itself —
 * leads to the same orderly stop (chips idle first, within the shutdown budget, exit 0).
 *
 * A second signal while stopping exits at once: if the chips are already idle (the first step of every
 * stop) with 0, otherwise as soon as the chips-idle step finishes (at most 1 s), with 0 when it did and 1
 * when not.
 */
import type { Logger } from '../../lib/log.ts';

export type StopListener = (why: string) => void;

export interface SecondSignalHooks {
  /** True when the board is already safe (chips idle). */
  safe(): boolean;
  /** Idles the chips now (bounded by the caller's budget). */
  makeSafe(): Promise<void>;
}

export interface StopRequestsOptions {
  log: Logger;
  /** Process-like target (tests pass an EventEmitter). Default: process. */
  target?: Pick<NodeJS.Process, 'on' | 'off'>;
  /** Leaves the process (default process.exit). */
  exit?: (code: number) => void;
  /** Longest wait for makeSafe() (the chips-idle step, usually already under way) on a second signal (default 1000 ms). */
  secondSignalWaitMs?: number;
}

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

export class StopRequests {
  private why: string | undefined;
  private at: number | undefined;
  private readonly listeners = new Set<StopListener>();
  private readonly o: StopRequestsOptions;
  private hooks: SecondSignalHooks | undefined;
  private installed = false;

  constructor(o: StopRequestsOptions) {
    this.o = o;
  }

  /** Installs the signal handlers (idempotent). Call before opening any device. */
  install(): this {
    if (this.installed) return this;
    this.installed = true;
    const t = this.o.target ?? process;
    for (const s of SIGNALS) t.on(s, this.onSignal);
    return this;
  }

  dispose(): void {
    if (!this.installed) return;
    this.installed = false;
    const t = this.o.target ?? process;
    for (const s of SIGNALS) t.off(s, this.onSignal);
  }

  /** The reason of the first stop request, if any. */
  get requested(): string | undefined {
    return this.why;
  }

  /** When the first stop request came (performance.now() ms), if any. */
  get requestedAt(): number | undefined {
    return this.at;
  }

  /** Requests the stop (a signal, a duration, the cgminer `quit`): listeners run once. */
  request(why: string): void {
    if (this.why !== undefined) return;
    this.why = why;
    this.at = performance.now();
    for (const l of [...this.listeners]) {
      try {
        l(why);
      } catch (err) {
        this.o.log.warn('stop.listener_failed', { error: (err as Error).message });
      }
    }
  }

  /** Runs `l` on the stop request (at once, on a microtask, when one was already made). */
  onStop(l: StopListener): () => void {
    const why = this.why;
    if (why !== undefined) queueMicrotask(() => l(why));
    else this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  /** What a second signal needs to leave the board safe (set once the hardware exists). */
  setSecondSignalHooks(h: SecondSignalHooks | undefined): void {
    this.hooks = h;
  }

  private readonly onSignal = (sig: NodeJS.Signals): void => {
    if (this.why === undefined) {
      this.o.log.info('asicd.signal', { signal: sig });
      this.request(sig);
      return;
    }
    void this.second(sig);
  };

  private async second(sig: string): Promise<void> {
    const exit = this.o.exit ?? ((code: number) => process.exit(code));
    const h = this.hooks;
    if (!h || h.safe()) {
      this.o.log.warn('asicd.second_signal', {
        signal: sig,
        action: 'exit now',
        chipsIdle: h ? true : 'no hardware yet',
      });
      exit(0);
      return;
    }
    this.o.log.warn('asicd.second_signal', { signal: sig, action: 'idle chips, then exit now' });
    const wait = this.o.secondSignalWaitMs ?? 1000;
    let t: NodeJS.Timeout | undefined;
    await Promise.race([h.makeSafe().catch(() => {}), new Promise((r) => (t = setTimeout(r, wait)))]);
    clearTimeout(t);
    exit(h.safe() ? 0 : 1);
  }
}
