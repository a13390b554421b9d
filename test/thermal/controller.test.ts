/**
 * The thermal monitor closed-loop with the emulated board, all on a ManualClock: real drivers over the
 * I2cBus interface, emulated EMC2101 / TMP1075 fed by the thermal model, and a fake daemon applying
 * decisions to the model. Overheat with a failing fan, cool-down and reduced-frequency resume, sensor
 * unplugged / hung → fail-safe within 2 s of clock time, PID holding the target, clean stop.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TemperatureSensor } from '../../drivers/sensors/types.ts';
import { thermalRig } from './rig.ts';

const LIMIT = 75;

describe('thermal monitor on the emulated board (ManualClock)', () => {
  it('PID holds the chip near the 60 °C target with the fan above its 25 % floor', async () => {
    const r = await thermalRig();
    r.monitor.start();
    await r.run(15 * 60_000);
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    await r.run(5 * 60_000, () => {
      const c = r.model.chipTempC();
      lo = Math.min(lo, c);
      hi = Math.max(hi, c);
    });
    assert.ok(lo > 58.5 && hi < 61.5, `chip stayed in [${lo.toFixed(2)}, ${hi.toFixed(2)}]`);
    const s = r.monitor.status();
    assert.equal(s.state, 'normal');
    assert.equal(s.fan.mode, 'auto');
    assert.ok(s.fan.duty! > 25 && s.fan.duty! < 100, `duty ${s.fan.duty}`);
    // The duty the monitor reports is what the part's FAN_SETTING register holds.
    assert.ok(Math.abs((r.emcChip.regs[0x4c]! * 100) / 63 - s.fan.duty!) < 1);
    assert.ok(Math.abs(s.fan.rpm! - r.model.fanRpm()) < 50, 'tach follows the model');
    assert.equal(s.trips.overheat, 0);
    await r.monitor.stop();
    assert.equal(r.clock.pending(), 0, 'no timers left after stop');
  });

  it('fan failure → stop-hashing and fan 100 % before the limit is exceeded by more than 1 °C; cool-down; resume at reduced frequency', async () => {
    // 4 chips (~60 W) on a small heatsink: heats ~0.8 K/s once the fan dies — harsh for a 500 ms poll.
    const r = await thermalRig({
      model: { chips: 4, thermalMass: 60, gPassive: 0.3, gFan: 1.8 },
      monitor: { protection: { limitC: LIMIT, frequencyMHz: 525, throttle: false } },
    });
    r.monitor.start();
    await r.run(20 * 60_000);
    assert.equal(r.monitor.status().state, 'normal');
    r.resetPeak();
    r.model.setFanFailed(true);
    await r.run(5 * 60_000);
    const stop = r.decisions.find((d) => d.d.kind === 'stop-hashing');
    assert.ok(stop, 'stop-hashing emitted');
    assert.equal(stop.d.kind === 'stop-hashing' && stop.d.reason, 'overheat');
    assert.ok(stop.chipC < LIMIT + 1, `chip at ${stop.chipC.toFixed(2)} °C when stopped`);
    const overshoot = r.peakC - LIMIT;
    assert.ok(overshoot < 1, `peak overshoot ${overshoot.toFixed(3)} °C`);
    assert.equal(r.model.hashing, false);
    assert.equal(r.emcChip.regs[0x4c], 63, 'fan setting forced to 100 %');
    assert.equal(r.monitor.status().state, 'overheat');
    assert.equal(r.monitor.status().fan.mode, 'forced');
    assert.equal(r.monitor.status().fan.stalled, true, 'dead fan reported as stalled');
    // Passively cooled below the resume threshold, but the fan is dead: no resume / re-trip loop.
    assert.ok(r.model.chipTempC() < 55);
    assert.equal(r.decisions.filter((d) => d.d.kind === 'stop-hashing').length, 1);
    assert.equal(r.decisions.filter((d) => d.d.kind === 'resume').length, 1, 'only the startup resume');
    assert.match(r.monitor.status().resumeBlocked ?? '', /fan stalled/);
    // Fan repaired: cool-down needs ≥ 30 s and ≤ 60 °C, then resume at 425 MHz.
    r.model.setFanFailed(false);
    await r.run(10 * 60_000);
    const resume = r.decisions.find((d) => d.d.kind === 'resume' && d.d.reason === 'cooled');
    assert.ok(resume, 'resumed after cooling');
    assert.ok(resume.at - stop.at >= 30_000, `cooled for ${(resume.at - stop.at) / 1000} s`);
    assert.ok(resume.chipC <= 60.2, `resumed at ${resume.chipC.toFixed(2)} °C`);
    assert.equal(resume.d.kind === 'resume' && resume.d.frequencyMHz, 425);
    assert.equal(resume.d.kind === 'resume' && resume.d.reducedFromMHz, 525);
    assert.equal(r.model.hashing, true);
    assert.equal(r.model.frequencyMHz, 425);
    const s = r.monitor.status();
    assert.equal(s.state, 'normal');
    assert.equal(s.frequencyMHz, 425);
    assert.equal(s.trips.overheat, 1);
    assert.equal(s.fan.mode, 'auto', 'auto fan kept after recovery (ESP leaves it manual)');
    assert.ok(r.logger.records.some((x) => x.event === 'thermal-stop-hashing' && x.level === 'error'));
    await r.monitor.stop();
    assert.equal(r.clock.pending(), 0);
  });

  it('progressive throttle lowers the frequency before the hard trip', async () => {
    const r = await thermalRig({ model: { chips: 1 } });
    r.monitor.start();
    await r.run(10 * 60_000);
    r.model.setFanFailed(true);
    r.resetPeak();
    await r.run(5 * 60_000);
    const kinds = r.decisions.map((d) => d.d.kind);
    const firstThrottle = kinds.indexOf('throttle');
    const firstStop = kinds.indexOf('stop-hashing');
    assert.ok(firstThrottle >= 0, 'throttled');
    assert.ok(firstStop < 0 || firstThrottle < firstStop, 'throttle came before any trip');
    assert.ok(r.monitor.status().trips.throttle >= 1);
    assert.ok(r.peakC < LIMIT + 1);
    await r.monitor.stop();
  });

  it('sensor unplugged → fan 100 % and stop-hashing within 2 s of clock time; replugged → resume', async () => {
    const r = await thermalRig({ sensor: 'tmp1075' });
    r.monitor.start();
    await r.run(5 * 60_000);
    assert.equal(r.monitor.status().state, 'normal');
    assert.ok(r.emcChip.regs[0x4c]! < 63);
    const t0 = r.clock.now();
    r.tmpChip.unplugged = true;
    let stoppedAt: number | undefined;
    let fanFullAt: number | undefined;
    await r.run(3000, () => {
      if (fanFullAt === undefined && r.emcChip.regs[0x4c] === 63) fanFullAt = r.clock.now();
      if (stoppedAt === undefined && !r.model.hashing) stoppedAt = r.clock.now();
    });
    assert.ok(stoppedAt !== undefined && stoppedAt - t0 <= 2000, `stopped after ${stoppedAt! - t0} ms`);
    assert.ok(fanFullAt !== undefined && fanFullAt - t0 <= 2000, `fan 100 % after ${fanFullAt! - t0} ms`);
    const s = r.monitor.status();
    assert.equal(s.state, 'sensor-fault');
    assert.match(s.sensors[0]!.error!, /TMP1075 at sim:i2c-1 0x4a/);
    assert.equal(s.hashingAllowed, false);
    r.tmpChip.unplugged = false;
    await r.run(15_000);
    assert.equal(r.monitor.status().state, 'normal');
    assert.equal(r.model.hashing, true);
    const resume = r.decisions.at(-1)!.d;
    assert.deepEqual(resume, { kind: 'resume', reason: 'sensor-recovered', frequencyMHz: 525 });
    await r.monitor.stop();
  });

  it('the EMC2101 (sensor and fan) unplugged → stop-hashing within 2 s', async () => {
    const r = await thermalRig();
    r.monitor.start();
    await r.run(60_000);
    const t0 = r.clock.now();
    r.emcChip.unplugged = true;
    await r.run(2000);
    const stop = r.decisions.find((d) => d.d.kind === 'stop-hashing');
    assert.ok(stop && stop.at - t0 <= 2000);
    assert.equal(r.model.hashing, false);
    await r.monitor.stop();
  });

  it('a read that never answers (hung bus) → fail-safe within 2 s', async () => {
    let hang = false;
    const r = await thermalRig({
      wrap: (s): TemperatureSensor => ({
        name: s.name,
        readTemperature: () => (hang ? new Promise<number>(() => {}) : s.readTemperature()),
      }),
    });
    r.monitor.start();
    await r.run(60_000);
    const t0 = r.clock.now();
    hang = true;
    await r.run(2000);
    const stop = r.decisions.find((d) => d.d.kind === 'stop-hashing');
    assert.ok(stop, 'stopped');
    assert.ok(stop.at - t0 <= 2000, `after ${stop.at - t0} ms`);
    assert.equal(r.emcChip.regs[0x4c], 63, 'fan 100 %');
    assert.match(r.monitor.status().sensors[0]!.error!, /no answer within 800 ms/);
    await r.monitor.stop();
    assert.equal(r.clock.pending(), 0);
  });

  it('a stuck-high sensor trips overheat; an implausible value is a sensor fault', async () => {
    const r = await thermalRig();
    r.monitor.start();
    await r.run(30_000);
    r.emcChip.stuckC = 90;
    await r.run(1000);
    assert.equal(r.monitor.status().state, 'overheat');
    r.emcChip.stuckC = undefined;
    r.emcChip.diodeFault = 'open';
    await r.run(60_000);
    // Still not hashing: an open diode is never read as 127 °C nor as "cool".
    assert.equal(r.model.hashing, false);
    assert.match(r.monitor.status().sensors[0]!.error!, /diode open/);
    await r.monitor.stop();
  });

  it('manual fan mode drives the given duty while the protection can still force 100 %', async () => {
    const r = await thermalRig();
    r.monitor.setManualFan(40);
    r.monitor.start();
    await r.run(5000);
    assert.equal(r.monitor.status().fan.mode, 'manual');
    assert.equal(r.emcChip.regs[0x4c], Math.round(0.4 * 63));
    r.emcChip.stuckC = 80;
    await r.run(1000);
    assert.equal(r.emcChip.regs[0x4c], 63);
    await r.monitor.stop();
  });
});
