/**
 * Rate-limited logging of pool chatter (client.show_message, mining.set_version_mask, set_difficulty…):
 * at most one line per kind per interval. The first message of a kind is logged at once; the ones that
 * follow within `intervalMs` are only counted, and the next line of that kind (or flush(), when the
 * session ends) carries `repeated` = how many were not logged and the latest value. A pool that sends
 * 1 000 messages a second therefore costs one line per kind per interval instead of 1 000.
 *
 * Pure apart from the logger: time comes from the injected clock, no timers.
 */
import type { Clock } from '../../lib/clock.ts';
import type { Logger } from '../../lib/log.ts';

interface KindState {
  /** When the last line of this kind was logged. */
  loggedAt: number;
  /** Messages since then that were not logged. */
  repeated: number;
  /** Fields of the latest message not logged. */
  latest: Record<string, unknown> | undefined;
}

export class ChatterLog {
  private readonly kinds = new Map<string, KindState>();

  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly intervalMs: number;
  constructor(log: Logger, clock: Clock, intervalMs = 60_000) {
    this.log = log;
    this.clock = clock;
    this.intervalMs = intervalMs;
  }

  /** One message of `kind` (logged as event `pool_<kind>`), or counted when one was logged recently. */
  note(kind: string, fields: Record<string, unknown>): void {
    const now = this.clock.now();
    const k = this.kinds.get(kind);
    if (k && now - k.loggedAt < this.intervalMs) {
      k.repeated++;
      k.latest = fields;
      return;
    }
    const repeated = k?.repeated ?? 0;
    this.kinds.set(kind, { loggedAt: now, repeated: 0, latest: undefined });
    this.log.info(`pool_${kind}`, repeated > 0 ? { ...fields, repeated, note: RATE_NOTE } : fields);
  }

  /** Logs what is still only counted (one line per kind), e.g. when the session ends. */
  flush(): void {
    for (const [kind, k] of this.kinds) {
      if (k.repeated > 0 && k.latest) {
        this.log.info(`pool_${kind}`, { ...k.latest, repeated: k.repeated, note: RATE_NOTE });
      }
    }
    this.kinds.clear();
  }
}

const RATE_NOTE = 'rate-limited: `repeated` messages of this kind were not logged since the last line';
