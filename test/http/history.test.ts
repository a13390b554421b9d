/**
 * The dashboard's ring buffer under a ManualClock: one sample per period, the oldest overwritten when
 * full, windows and averages over the samples inside them, "not measured" kept as null (not 0).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HashrateHistory } from '../../host/http/history.ts';
import { ManualClock } from '../../lib/clock.ts';
import { FakeMiner } from '../helpers/fake-miner.ts';

test('ring buffer: sampling, wrap-around, window averages, unmeasured as null', () => {
  const clock = new ManualClock(1_000_000);
  const miner = new FakeMiner('hist');
  const h = new HashrateHistory({ clock, periodMs: 10_000, spanMs: 60_000 });
  assert.equal(h.capacity, 6);
  h.start(miner);
  let rate = 100;
  for (let i = 1; i <= 8; i++) {
    miner.quietPatch({ hashrate: { ...miner.state.hashrate, now: rate } });
    rate += 100;
    clock.advance(10_000);
  }
  assert.equal(h.length, 6, 'capacity reached, oldest overwritten');
  const w = h.window();
  assert.deepEqual(w.series.hashrate, [300, 400, 500, 600, 700, 800]);
  assert.deepEqual(
    w.time.map((t) => t - 1_000_000),
    [30_000, 40_000, 50_000, 60_000, 70_000, 80_000],
  );
  assert.equal(h.average(15_000), 750, 'last 15 s: 700 and 800');
  assert.equal(h.average(20_000), 700, 'the window includes its start: 600, 700, 800');
  assert.equal(h.average(3_600_000), 550, 'everything kept');
  assert.deepEqual(h.window(15_000).series.hashrate, [700, 800]);
  assert.equal(h.window().series.power[0], 18.4);
  const { powerW: _p, ...noPower } = miner.state;
  miner.quietPatch({});
  miner.state = noPower;
  clock.advance(10_000);
  assert.equal(h.window().series.power.at(-1), null, 'not measured stays null');
  h.stop();
  assert.equal(clock.pending(), 0);
});
