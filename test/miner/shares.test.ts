/**
 * ShareBook (host/miner/shares.ts): shares booked under the pool whose connection issued the job (not the
 * active one), per chain too, one final state per share even if a caller settles twice, forgotten
 * connections booked as unattributed, below-target shares counted; the books balance.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkLedger, sumLedgers } from '../../host/miner/ledger.ts';
import { ShareBook } from '../../host/miner/shares.ts';
import { ManualClock } from '../../lib/clock.ts';

describe('ShareBook', () => {
  it('books a share under the pool that issued its job and under its chain; one state per share', () => {
    const clock = new ManualClock();
    const book = new ShareBook({ pools: 2, chains: 2 });
    book.jobFrom('pool0#1', 0);
    book.jobFrom('pool1#1', 1); // failover: pool 1 is active now
    const late = book.found({ token: 'pool0#1', chain: 1, block: false }); // a nonce for pool 0's job
    assert.equal(late.pool, 0);
    const t = book.found({ token: 'pool1#1', chain: 0, block: true });
    assert.equal(t.pool, 1);
    assert.equal(book.pools[0]!.pending, 1);
    assert.equal(book.chains[1]!.pending, 1);
    clock.advance(1000);
    assert.equal(late.settle({ status: 'stale-local' }, { difficulty: 4, at: clock.now() }), true);
    assert.equal(t.settle({ status: 'accepted' }, { difficulty: 4, at: clock.now() }), true);
    assert.equal(
      t.settle({ status: 'no-answer' }, { difficulty: 4, at: clock.now() }),
      false,
      'settled once',
    );
    assert.equal(book.doubleSettles, 1);
    assert.equal(book.pools[0]!.staleLocal, 1);
    assert.equal(book.pools[1]!.accepted, 1);
    assert.equal(book.pools[1]!.noAnswer, 0);
    assert.equal(book.pools[1]!.blocksAccepted, 1);
    assert.equal(book.chains[0]!.accepted, 1);
    assert.equal(book.chains[1]!.staleLocal, 1);
    assert.equal(book.lastAcceptedAt(), clock.now());
    for (const l of [...book.pools, ...book.chains, book.unattributed]) assert.deepEqual(l.check(), []);
  });

  it('a forgotten connection books its shares as unattributed; below-target shares are found, not sent', () => {
    const book = new ShareBook({ pools: 1, chains: 1, maxTokens: 2 });
    book.jobFrom('a', 0);
    book.jobFrom('b', 0);
    book.jobFrom('c', 0); // 'a' forgotten
    assert.equal(book.poolOf('a'), -1);
    assert.equal(book.poolOf('c'), 0);
    const t = book.found({ token: 'a', chain: 0, block: false });
    assert.equal(t.pool, -1);
    t.settle({ status: 'stale-local' }, { difficulty: 1, at: 0 });
    book.below({ token: 'c', chain: 0, block: false });
    assert.equal(book.unattributed.staleLocal, 1);
    assert.equal(book.pools[0]!.belowPoolTarget, 1);
    assert.equal(book.chains[0]!.found, 2);
    const total = sumLedgers([...book.pools.map((l) => l.counts()), book.unattributed.counts()]);
    assert.equal(total.found, book.chains[0]!.found, 'Σ pools + unattributed = Σ chains');
    assert.deepEqual(checkLedger(total), []);
  });

  it('new pools at run time get empty ledgers', () => {
    const book = new ShareBook({ pools: 1, chains: 1 });
    book.ensurePools(3);
    assert.equal(book.pools.length, 3);
    book.jobFrom('x', 2);
    book.found({ token: 'x', chain: 0, block: false }).settle(
      { status: 'rejected', reason: 'duplicate' },
      {
        difficulty: 1,
        at: 0,
      },
    );
    assert.deepEqual(book.pools[2]!.counts().rejectedByReason, { duplicate: 1 });
  });

  it('a live pool change: ledgers follow their pool to its new index, a dropped pool stays in the totals', () => {
    const book = new ShareBook({ pools: 2, chains: 1 });
    const a = { url: 'stratum+tcp://a:3333', user: 'w' };
    const b = { url: 'stratum+tcp://b:3333', user: 'w' };
    const c = { url: 'stratum+tcp://c:3333', user: 'w' };
    book.jobFrom('a#1', 0);
    book.jobFrom('b#1', 1);
    book
      .found({ token: 'a#1', chain: 0, block: false })
      .settle({ status: 'accepted' }, { difficulty: 1, at: 1 });
    book
      .found({ token: 'b#1', chain: 0, block: false })
      .settle({ status: 'accepted' }, { difficulty: 1, at: 2 });
    book
      .found({ token: 'b#1', chain: 0, block: false })
      .settle({ status: 'accepted' }, { difficulty: 1, at: 3 });
    book.repool([a, b], [b, c]); // a dropped, b first, c new
    assert.deepEqual(
      book.pools.map((l) => l.accepted),
      [2, 0, 1],
      'b at 0, c new at 1, a kept after the list',
    );
    assert.equal(book.poolOf('b#1'), 0, "b's old connection points at b's new index");
    assert.equal(book.poolOf('a#1'), 2);
    const late = book.found({ token: 'b#1', chain: 0, block: false });
    assert.equal(late.pool, 0);
    const total = sumLedgers(book.pools.map((l) => l.counts()));
    assert.equal(total.accepted, 3, 'totals never go down');
  });
});
