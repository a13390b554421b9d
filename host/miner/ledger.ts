/**
 * The share ledger: one per pool. Every share the host found (a nonce that met the job's pool target on
 * the host's re-check, or was dropped only because the pool raised its difficulty) ends in exactly one
 * state:
 *
 *   found     = submitted + staleLocal + belowPoolTarget
 *   submitted = accepted + rejected + noAnswer + pending
 *
 * - `belowPoolTarget`: met the job's difficulty but not the pool's latest set_difficulty (vardiff pools
 *   apply it at once), so it was not sent (it would only come back "low difficulty").
 * - `staleLocal`: not sent because the connection that issued its job is gone (failover, reconnect).
 * - `noAnswer`: sent, but the pool never answered (timeout, disconnect).
 * - `blockCandidates` counts shares that met the network target; `blocksAccepted` those the pool accepted.
 *
 * Pure bookkeeping, no I/O and no clock of its own: times come in from the caller. Per-device ledgers
 * (one per chain) use the same class. `check()` returns the invariant violations (empty when the books
 * balance) so tests and the soak bench can assert them.
 */
import type { LedgerCounts } from '../api/types.ts';

export type ShareFate =
  | { status: 'accepted' }
  | { status: 'rejected'; reason: string }
  | { status: 'stale-local' }
  | { status: 'no-answer' };

export class ShareLedger {
  found = 0;
  submitted = 0;
  accepted = 0;
  rejected = 0;
  readonly rejectedByReason: Record<string, number> = {};
  staleLocal = 0;
  noAnswer = 0;
  belowPoolTarget = 0;
  pending = 0;
  blockCandidates = 0;
  blocksAccepted = 0;
  acceptedDifficulty = 0;
  rejectedDifficulty = 0;
  lastAcceptedAt: number | undefined;

  /** A share the host found and is about to hand to the pool manager. */
  add(block: boolean): void {
    this.found++;
    this.pending++;
    if (block) this.blockCandidates++;
  }

  /** Found, but not sent: below the pool's latest difficulty. */
  below(block: boolean): void {
    this.found++;
    this.belowPoolTarget++;
    if (block) this.blockCandidates++;
  }

  /**
   * The single final outcome of a share recorded with found_(). `difficulty` is the pool difficulty of
   * the share's job (cgminer's "Difficulty Accepted" sums these).
   */
  settle(fate: ShareFate, o: { difficulty: number; block: boolean; at: number }): void {
    this.pending = Math.max(0, this.pending - 1);
    switch (fate.status) {
      case 'accepted':
        this.submitted++;
        this.accepted++;
        this.acceptedDifficulty += o.difficulty;
        this.lastAcceptedAt = o.at;
        if (o.block) this.blocksAccepted++;
        break;
      case 'rejected':
        this.submitted++;
        this.rejected++;
        this.rejectedDifficulty += o.difficulty;
        this.rejectedByReason[fate.reason] = (this.rejectedByReason[fate.reason] ?? 0) + 1;
        break;
      case 'no-answer':
        this.submitted++;
        this.noAnswer++;
        break;
      case 'stale-local':
        this.staleLocal++;
        break;
    }
  }

  /** Shares sent and waiting for an answer count as submitted. */
  counts(): LedgerCounts {
    return {
      found: this.found,
      submitted: this.submitted + this.pending,
      accepted: this.accepted,
      rejected: this.rejected,
      rejectedByReason: { ...this.rejectedByReason },
      staleLocal: this.staleLocal,
      noAnswer: this.noAnswer,
      belowPoolTarget: this.belowPoolTarget,
      pending: this.pending,
      blockCandidates: this.blockCandidates,
      blocksAccepted: this.blocksAccepted,
      acceptedDifficulty: this.acceptedDifficulty,
      rejectedDifficulty: this.rejectedDifficulty,
    };
  }

  /** Invariant violations (empty when every share is in exactly one state). */
  check(): string[] {
    return checkLedger(this.counts());
  }
}

/** The ledger invariants over plain counts (what the API shows), for tests and tools. */
export function checkLedger(c: LedgerCounts): string[] {
  const bad: string[] = [];
  if (c.found !== c.submitted + c.staleLocal + c.belowPoolTarget)
    bad.push(
      `found ${c.found} ≠ submitted ${c.submitted} + stale-local ${c.staleLocal} + below-pool-target ${c.belowPoolTarget}`,
    );
  if (c.submitted !== c.accepted + c.rejected + c.noAnswer + c.pending)
    bad.push(
      `submitted ${c.submitted} ≠ accepted ${c.accepted} + rejected ${c.rejected} + no-answer ${c.noAnswer} + pending ${c.pending}`,
    );
  const byReason = Object.values(c.rejectedByReason).reduce((a, b) => a + b, 0);
  if (byReason !== c.rejected) bad.push(`rejected ${c.rejected} ≠ sum by reason ${byReason}`);
  if (c.blocksAccepted > c.blockCandidates)
    bad.push(`blocks accepted ${c.blocksAccepted} > block candidates ${c.blockCandidates}`);
  return bad;
}

/** Sum of several ledgers' counts (the board total, or several pools). */
export function sumLedgers(list: readonly LedgerCounts[]): LedgerCounts {
  const out: LedgerCounts = emptyLedgerCounts();
  for (const c of list) {
    out.found += c.found;
    out.submitted += c.submitted;
    out.accepted += c.accepted;
    out.rejected += c.rejected;
    for (const [k, v] of Object.entries(c.rejectedByReason))
      out.rejectedByReason[k] = (out.rejectedByReason[k] ?? 0) + v;
    out.staleLocal += c.staleLocal;
    out.noAnswer += c.noAnswer;
    out.belowPoolTarget += c.belowPoolTarget;
    out.pending += c.pending;
    out.blockCandidates += c.blockCandidates;
    out.blocksAccepted += c.blocksAccepted;
    out.acceptedDifficulty += c.acceptedDifficulty;
    out.rejectedDifficulty += c.rejectedDifficulty;
  }
  return out;
}

export function emptyLedgerCounts(): LedgerCounts {
  return {
    found: 0,
    submitted: 0,
    accepted: 0,
    rejected: 0,
    rejectedByReason: {},
    staleLocal: 0,
    noAnswer: 0,
    belowPoolTarget: 0,
    pending: 0,
    blockCandidates: 0,
    blocksAccepted: 0,
    acceptedDifficulty: 0,
    rejectedDifficulty: 0,
  };
}
