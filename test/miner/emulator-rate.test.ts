import assert from 'node:assert/strict';
import { test } from 'node:test';
import { emulatorRate } from '../../host/miner/hardware.ts';
import { ManualClock } from '../../lib/clock.ts';

// The expected hashrate of an emulated board is what its chips measurably do. It used to read 0 until the
// first 2 s window was full, so a client that asked in the first seconds of mining (pyasic in a full
// suite) saw expectedHashrate 0 while shares were already accepted.
test('emulator rate: provisional from 250 ms, then 2 s windows; 0 only before anything is measurable', () => {
  const clock = new ManualClock();
  const emu = { stats: { hashes: 0 } };
  const rate = emulatorRate(emu, clock);
  assert.equal(rate(), 0, 'nothing elapsed');
  clock.advance(100);
  emu.stats.hashes = 100_000;
  assert.equal(rate(), 0, 'under 250 ms: too short to say');
  clock.advance(400); // 500 ms, 1e6 hashes → 2 MH/s
  emu.stats.hashes = 1_000_000;
  assert.ok(Math.abs(rate() - 0.002) < 1e-12, `provisional ${rate()}`);
  clock.advance(1500); // 2 s, 3e6 hashes → 1.5 MH/s over the full window
  emu.stats.hashes = 3_000_000;
  assert.ok(Math.abs(rate() - 0.0015) < 1e-12, `first window ${rate()}`);
  clock.advance(1000); // inside the next window: the last full window's rate holds
  emu.stats.hashes = 9_000_000;
  assert.ok(Math.abs(rate() - 0.0015) < 1e-12, 'held until the window is full');
  clock.advance(1000); // 2 s since the last window: 7e6 more hashes → 3.5 MH/s
  emu.stats.hashes = 10_000_000;
  assert.ok(Math.abs(rate() - 0.0035) < 1e-12, `second window ${rate()}`);
  clock.advance(2000); // chips idle: no hashes in a full window → 0
  assert.equal(rate(), 0);
});
