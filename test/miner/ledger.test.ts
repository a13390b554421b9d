import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkLedger, ShareLedger, sumLedgers } from '../../host/miner/ledger.ts';

describe('ShareLedger', () => {
  it('every share ends in exactly one state; found = submitted + stale-local + below-pool-target', () => {
    const l = new ShareLedger();
    const at = 1000;
    for (let i = 0; i < 5; i++) l.add(false);
    l.add(true); // a block candidate
    l.below(false);
    l.settle({ status: 'accepted' }, { difficulty: 2, block: false, at });
    l.settle({ status: 'accepted' }, { difficulty: 2, block: true, at });
    l.settle({ status: 'rejected', reason: 'stale' }, { difficulty: 2, block: false, at });
    l.settle({ status: 'rejected', reason: 'duplicate' }, { difficulty: 2, block: false, at });
    l.settle({ status: 'stale-local' }, { difficulty: 2, block: false, at });
    // one still pending
    const c = l.counts();
    assert.deepEqual(l.check(), []);
    assert.equal(c.found, 7);
    assert.equal(c.submitted, 5, '4 answered + 1 pending');
    assert.equal(c.pending, 1);
    assert.equal(c.accepted, 2);
    assert.equal(c.rejected, 2);
    assert.deepEqual(c.rejectedByReason, { stale: 1, duplicate: 1 });
    assert.equal(c.staleLocal, 1);
    assert.equal(c.belowPoolTarget, 1);
    assert.equal(c.blockCandidates, 1);
    assert.equal(c.blocksAccepted, 1);
    assert.equal(c.acceptedDifficulty, 4);
    l.settle({ status: 'no-answer' }, { difficulty: 2, block: false, at });
    assert.deepEqual(l.check(), []);
    assert.equal(l.counts().noAnswer, 1);
    assert.equal(l.counts().pending, 0);
  });

  it('checkLedger names the broken invariant', () => {
    const c = new ShareLedger().counts();
    assert.deepEqual(checkLedger(c), []);
    assert.match(checkLedger({ ...c, found: 1 }).join(';'), /found 1 ≠ submitted 0/);
    assert.match(checkLedger({ ...c, submitted: 1, found: 1 }).join(';'), /submitted 1 ≠ accepted 0/);
    assert.match(
      checkLedger({ ...c, blocksAccepted: 1 }).join(';'),
      /blocks accepted 1 > block candidates 0/,
    );
  });

  it('sums ledgers (board total = Σ pools)', () => {
    const a = new ShareLedger();
    const b = new ShareLedger();
    a.add(false);
    a.settle({ status: 'rejected', reason: 'stale' }, { difficulty: 1, block: false, at: 0 });
    b.add(false);
    b.settle({ status: 'rejected', reason: 'stale' }, { difficulty: 1, block: false, at: 0 });
    b.below(false);
    const t = sumLedgers([a.counts(), b.counts()]);
    assert.equal(t.found, 3);
    assert.deepEqual(t.rejectedByReason, { stale: 2 });
    assert.deepEqual(checkLedger(t), []);
  });
});
