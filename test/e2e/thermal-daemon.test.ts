/**
 * Thermal protection through the whole daemon on a simulated board: the emulated chip heats a thermal
 * model that the emulated EMC2101 reads, over the real sensor driver and thermal monitor. A dying fan
 * must stop hashing and drive the fan to 100 % before the limit is exceeded by more than a small margin;
 * an unplugged sensor must stop hashing too (unknown temperature = hot). Real time, real TCP pool.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { findBoard } from '../../boards/index.ts';
import type { MinerEvent } from '../../host/api/types.ts';
import { Miner } from '../../host/miner/daemon.ts';
import { openBoardHardware } from '../../host/miner/hardware.ts';
import { StratumServer } from '../../host/pool/server.ts';
import { systemClock } from '../../lib/clock.ts';
import { memoryLogger } from '../../lib/log.ts';
import { waitFor } from '../helpers/net.ts';

const pool = new StratumServer({ difficulty: 0.0002, blockIntervalMs: 0 });
before(() => pool.listen(0));
after(() => pool.close());

async function simMiner(thermalModel: Record<string, number>) {
  const board = findBoard('sim-gamma')!;
  const logger = memoryLogger('info');
  const hardware = await openBoardHardware(board, {
    clock: systemClock,
    logger,
    frequencyMhz: 525,
    maxHashesPerSecond: 300_000,
    thermalModel,
  });
  const miner = new Miner({
    board,
    hardware,
    pools: [{ url: pool.url, user: 't.w' }],
    deviceId: 'thermal-e2e',
    logger,
  });
  const events: MinerEvent[] = [];
  miner.onEvent((e) => events.push(e));
  await miner.start();
  return { miner, sim: hardware.sim!, events, logger };
}

test('a dying fan: hashing stops and the fan goes to 100 % within a small margin of the limit', {
  timeout: 90_000,
}, async () => {
  // Small thermal mass: the chip heats at several °C per second once the fan dies.
  const { miner, sim, events } = await simMiner({ thermalMass: 4, ambientC: 30, initialC: 40 });
  try {
    await waitFor(() => miner.getState().mining === 'running', 'mining to start', 20_000);
    await waitFor(() => miner.getState().shares.accepted >= 1, 'a first accepted share', 30_000);
    const limit = findBoard('sim-gamma')!.limits.maxTempC;
    let peak = 0;
    const probe = setInterval(() => {
      peak = Math.max(peak, sim.model.chipTempC());
    }, 20);
    sim.model.fanFailed = true;
    await waitFor(() => events.some((e) => e.type === 'overheat' && e.active), 'the overheat trip', 30_000);
    const s = miner.getState();
    assert.equal(s.mining, 'overheat');
    assert.equal(s.fan.dutyPercent, 100, 'fans forced to 100 %');
    assert.equal(sim.model.hashing, false, 'the emulated chips stopped hashing (heat source off)');
    assert.equal(miner.schedulers[0]!.hasWork, false, 'no more work goes to the chips');
    await new Promise((r) => setTimeout(r, 1500));
    clearInterval(probe);
    assert.ok(peak <= limit + 3, `peak ${peak.toFixed(2)} °C must stay within 3 °C of the ${limit} °C limit`);
    await assert.rejects(miner.control.resume(), /overheat/);
  } finally {
    await miner.stop();
  }
});

test('an unplugged temperature sensor stops hashing (fail-safe) and it resumes when the sensor is back', {
  timeout: 90_000,
}, async () => {
  const { miner, sim, events } = await simMiner({ ambientC: 25, initialC: 45 });
  try {
    await waitFor(() => miner.getState().mining === 'running', 'mining to start', 20_000);
    const t0 = Date.now();
    sim.emc2101!.unplugged = true;
    await waitFor(() => miner.getState().mining !== 'running', 'the fail-safe', 10_000);
    const elapsed = Date.now() - t0;
    const s = miner.getState();
    // The EMC2101 also drives the fan: with the part gone the fan cannot be commanded. Hashing (the heat
    // source) stops regardless, and the fan fault is reported.
    const fan = miner.thermal.status().fan;
    assert.ok(
      fan.duty === 100 || fan.error !== null,
      `fan forced or its fault reported: ${JSON.stringify(fan)}`,
    );
    assert.equal(sim.model.hashing, false);
    assert.ok(events.some((e) => e.type === 'fault' && e.component === 'sensor'));
    assert.ok(
      s.temperatures.some((t) => t.celsius === null),
      'the unreadable sensor reports null, never a made-up value',
    );
    await assert.rejects(miner.control.resume(), /temperature is unknown/);
    // Informational (timing is a benchmark matter; the 2 s bound is tested on a ManualClock in test/thermal).
    console.log(`# fail-safe after ${elapsed} ms of wall time`);
    sim.emc2101!.unplugged = false;
    await waitFor(
      () => miner.getState().mining === 'running',
      'mining to resume after the sensor returns',
      30_000,
    );
  } finally {
    await miner.stop();
  }
});

test('a board without temperature sensors is refused unless --no-thermal is explicit', async () => {
  const board = findBoard('sim-gamma')!;
  const logger = memoryLogger('info');
  const hardware = await openBoardHardware(board, {
    clock: systemClock,
    logger,
    frequencyMhz: 525,
    noThermal: true,
  });
  const pools = [{ url: pool.url, user: 't.w' }];
  try {
    assert.equal(hardware.sensors.length, 0);
    assert.throws(
      () => new Miner({ board, hardware, pools, deviceId: 'no-sensor', logger }),
      /at least one temperature sensor is required \(or run with --no-thermal\)/,
    );
    const m = new Miner({ board, hardware, pools, deviceId: 'no-sensor', thermal: false, logger });
    assert.equal(m.thermal.status().state, 'unmonitored');
  } finally {
    for (const c of hardware.chains) await c.close();
    await hardware.close();
  }
});

test('emergency stop (the crash path): fans to 100 % and the chips stop', { timeout: 60_000 }, async () => {
  const { miner, sim } = await simMiner({ ambientC: 25, initialC: 40 });
  try {
    await waitFor(
      () => miner.getState().mining === 'running' && sim.model.hashing,
      'mining to start',
      20_000,
    );
    await miner.emergencyStop('test');
    assert.equal(sim.model.fanDuty(), 100, 'the emulated EMC2101 drives the fan at 100 %');
    const hashes = sim.chain.stats.hashes;
    await new Promise((r) => setTimeout(r, 1000));
    assert.ok(sim.chain.stats.hashes - hashes < 50_000, 'the emulated chip is held idle');
  } finally {
    await miner.stop();
  }
});
