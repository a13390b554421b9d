/**
 * The frequency book (pure): the target moves at once, each chain's clock is what it took, and the
 * recorded frequency (what the state shows) follows the target only once every running chain took it; a
 * refused clock sends the target back unless a later request moved it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FrequencyBook } from '../../host/miner/frequency.ts';

const book = (chains = 2, initial = 500) =>
  new FrequencyBook({ limits: { min: 400, max: 625 }, initial, chains });

describe('FrequencyBook', () => {
  it('clamps the start and every request to the board limits (never above the maximum)', () => {
    assert.equal(book(1, 900).recorded, 625);
    assert.equal(book(1, 100).target, 400);
    const b = book();
    assert.deepEqual(b.request(10_000), { mhz: 625, before: 500 });
    assert.equal(b.request(Number.POSITIVE_INFINITY).mhz, 625);
    assert.equal(b.request(Number.NaN).mhz, 400, 'NaN never reaches a chain above the minimum');
  });

  it('records the target only once every running chain took it', () => {
    const b = book(2);
    b.took(0, 500);
    b.took(1, 500);
    const { mhz } = b.request(550);
    assert.equal(b.target, 550);
    assert.equal(b.recorded, 500);
    assert.equal(b.offTarget(0), true);
    b.took(0, 550);
    assert.equal(b.settle([true, true]), undefined, 'chain 1 still runs 500 MHz');
    assert.equal(b.recorded, 500);
    b.took(1, mhz);
    assert.equal(b.settle([true, true]), 550);
    assert.equal(b.recorded, 550);
    assert.equal(b.settle([true, true]), undefined, 'recorded once');
  });

  it('a chain that is not running does not hold the record back; no running chain records nothing', () => {
    const b = book(2);
    b.request(525);
    b.took(0, 525);
    assert.equal(b.settle([false, false]), undefined);
    assert.equal(b.settle([true, false]), 525);
    assert.equal(b.chain(1), undefined);
  });

  it('a refused clock: the target goes back, unless a later request moved it meanwhile', () => {
    const b = book(1);
    const r1 = b.request(600);
    b.refused(r1.mhz, r1.before);
    assert.equal(b.target, 500);
    assert.equal(b.recorded, 500);
    const r2 = b.request(600);
    b.request(450); // a thermal throttle while the 600 MHz write was in flight
    b.refused(r2.mhz, r2.before);
    assert.equal(b.target, 450, 'the later request stands');
  });
});
