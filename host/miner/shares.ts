/**
 * The share books: one ledger per pool, one for shares whose pool is no longer known, one per chain
 * (cgminer `devs`). A share is attributed to the pool whose connection issued its job (by the connection
 * token seen on that pool's jobs), not to the pool active when the chip answered. Pure bookkeeping, no I/O
 * and no clock: times come in from the caller.
 *
 * Every share the host found gets a ticket; `settle()` records its one final state in the pool's and the
 * chain's ledger. A second settle of the same ticket changes nothing (it is counted in `doubleSettles`, a
 * bug to look for), so the books balance whatever the callers do.
 */
import { type ShareFate, ShareLedger } from './ledger.ts';

export interface ShareTicket {
  /** Index of the pool that issued the share's job; -1 when its connection is no longer known. */
  readonly pool: number;
  /** Records the share's final state; false (and nothing changes) if it was already settled. */
  settle(fate: ShareFate, o: { difficulty: number; at: number }): boolean;
}

export class ShareBook {
  readonly pools: ShareLedger[];
  readonly unattributed = new ShareLedger();
  readonly chains: ShareLedger[];
  /** Settles of an already settled ticket (ignored). */
  doubleSettles = 0;
  private readonly poolOfToken = new Map<string, number>();
  private readonly maxTokens: number;

  constructor(o: { pools: number; chains: number; maxTokens?: number }) {
    this.pools = Array.from({ length: o.pools }, () => new ShareLedger());
    this.chains = Array.from({ length: o.chains }, () => new ShareLedger());
    this.maxTokens = Math.max(1, o.maxTokens ?? 1024);
  }

  /** A job came from connection `token` of pool `pool` (the last `maxTokens` connections are kept). */
  jobFrom(token: string, pool: number): void {
    if (!this.poolOfToken.has(token) && this.poolOfToken.size >= this.maxTokens)
      this.poolOfToken.delete(this.poolOfToken.keys().next().value!);
    this.poolOfToken.set(token, pool);
  }

  /** The pool whose connection `token` issued a job, or -1. */
  poolOf(token: string): number {
    return this.poolOfToken.get(token) ?? -1;
  }

  /** The pool list grew (pools changed at run time): new pools get empty ledgers. */
  ensurePools(n: number): void {
    while (this.pools.length < n) this.pools.push(new ShareLedger());
  }

  /**
   * The pool list changed at run time: ledgers follow their pool (same URL and user) to its new index, a
   * new pool starts at zero, a dropped pool's ledger stays after the list (the board's totals never go
   * down), and the known connections are re-pointed at their pool's new index.
   */
  repool(
    old: ReadonlyArray<{ url: string; user: string }>,
    next: ReadonlyArray<{ url: string; user: string }>,
  ): void {
    const oldLedgers = this.pools.splice(0);
    const kept = new Set<number>();
    for (const p of next) {
      const k = old.findIndex((q, i) => !kept.has(i) && q.url === p.url && q.user === p.user);
      if (k >= 0) kept.add(k);
      this.pools.push(k >= 0 && oldLedgers[k] ? oldLedgers[k] : new ShareLedger());
    }
    for (const [i, l] of oldLedgers.entries()) if (!kept.has(i)) this.pools.push(l);
    for (const [token, i] of this.poolOfToken) {
      const j = oldLedgers[i] ? this.pools.indexOf(oldLedgers[i]) : -1;
      if (j >= 0) this.poolOfToken.set(token, j);
    }
  }

  private ledgerOf(token: string): ShareLedger {
    return this.pools[this.poolOf(token)] ?? this.unattributed;
  }

  /** A share the host found on chain `chain` for a job of connection `token`, about to be submitted. */
  found(o: { token: string; chain: number; block: boolean }): ShareTicket {
    const pool = this.poolOf(o.token);
    const ledger = this.ledgerOf(o.token);
    const chain = this.chains[o.chain];
    ledger.add(o.block);
    chain?.add(o.block);
    let settled = false;
    return {
      pool,
      settle: (fate, s) => {
        if (settled) {
          this.doubleSettles++;
          return false;
        }
        settled = true;
        const x = { difficulty: s.difficulty, block: o.block, at: s.at };
        ledger.settle(fate, x);
        chain?.settle(fate, x);
        return true;
      },
    };
  }

  /** Found, but not sent: below the pool's latest difficulty. */
  below(o: { token: string; chain: number; block: boolean }): void {
    this.ledgerOf(o.token).below(o.block);
    this.chains[o.chain]?.below(o.block);
  }

  /** Clock time of the last accepted share on any pool. */
  lastAcceptedAt(): number | undefined {
    const last = [...this.pools, this.unattributed]
      .map((l) => l.lastAcceptedAt)
      .filter((x): x is number => x !== undefined);
    return last.length ? Math.max(...last) : undefined;
  }
}
