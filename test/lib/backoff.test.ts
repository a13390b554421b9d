import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Backoff, backoffDelay, withDefaults } from '../../lib/backoff.ts';

describe('backoffDelay', () => {
  it('grows by factor from initialMs (attempt 1 = initialMs) and caps at maxMs', () => {
    const p = { initialMs: 100, maxMs: 1000, random: () => 0 };
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, p)),
      [100, 200, 400, 800, 1000, 1000],
    );
    assert.deepEqual(
      [1, 2, 3].map((n) => backoffDelay(n, { ...p, factor: 3 })),
      [100, 300, 900],
    );
    // Attempts below 1 are the first retry, not a fraction of it.
    assert.equal(backoffDelay(0, p), 100);
    assert.equal(backoffDelay(-5, p), 100);
  });

  it('jitter reduces by up to the fraction, after the cap, rounded to whole ms', () => {
    const at = (random: number, n = 1) =>
      backoffDelay(n, { initialMs: 1000, maxMs: 30_000, jitter: 0.3, random: () => random });
    assert.equal(at(0), 1000);
    assert.equal(at(0.5), 850);
    assert.equal(at(0.5, 2), 1700);
    assert.equal(at(1), 700);
    assert.equal(at(0.5, 10), 25_500, 'capped at 30 000, then reduced');
    assert.equal(backoffDelay(1, { initialMs: 3, maxMs: 10, jitter: 0.5, random: () => 0.5 }), 2); // 2.25
  });

  it('clamps jitter to 0..1 so a delay is never negative nor above the cap', () => {
    const p = { initialMs: 1000, maxMs: 1000, random: () => 1 };
    assert.equal(backoffDelay(1, { ...p, jitter: 5 }), 0);
    assert.equal(backoffDelay(1, { ...p, jitter: -1 }), 1000);
  });

  it('calls random exactly once per delay, also without jitter', () => {
    let calls = 0;
    const random = () => {
      calls++;
      return 0.25;
    };
    backoffDelay(3, { initialMs: 10, maxMs: 100, random });
    backoffDelay(3, { initialMs: 10, maxMs: 100, jitter: 0.2, random });
    assert.equal(calls, 2);
  });

  it('property: the delay lies in [(1 − jitter)·d, d] with d = min(max, initial·factor^(n−1))', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.double({ min: 1, max: 4, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (n, initialMs, maxMs, factor, jitter, r) => {
          const d = Math.min(maxMs, initialMs * factor ** (n - 1));
          const got = backoffDelay(n, { initialMs, maxMs, factor, jitter, random: () => r });
          assert.ok(got <= Math.round(d) && got >= Math.round((1 - jitter) * d) - 1, `${got} vs ${d}`);
        },
      ),
    );
  });
});

describe('withDefaults', () => {
  it('fills only the unset fields; an explicit undefined keeps the default', () => {
    const d = { initialMs: 500, maxMs: 30_000, factor: 2, jitter: 0 };
    assert.deepEqual(withDefaults(undefined, d), d);
    assert.deepEqual(withDefaults({ maxMs: undefined, jitter: 0.5 }, d), { ...d, jitter: 0.5 });
    const random = () => 0.1;
    assert.equal(withDefaults({ random }, d).random, random);
    assert.equal('random' in withDefaults({}, d), false);
  });
});

describe('Backoff', () => {
  it('steps one attempt per next(), counts attempts, and starts over after reset()', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000, jitter: 0.5, random: () => 1 });
    assert.equal(b.attempts, 0);
    assert.deepEqual([b.next(), b.next(), b.next(), b.next(), b.next()], [50, 100, 200, 400, 500]);
    assert.equal(b.attempts, 5);
    b.reset();
    assert.equal(b.attempts, 0);
    assert.equal(b.next(), 50);
  });

  it('gives the same delays as backoffDelay for attempts 1, 2, 3 …', () => {
    const p = { initialMs: 250, maxMs: 5000, factor: 1.5, jitter: 0.2, random: () => 0.3 };
    const b = new Backoff(p);
    for (let n = 1; n <= 12; n++) assert.equal(b.next(), backoffDelay(n, p));
  });
});
