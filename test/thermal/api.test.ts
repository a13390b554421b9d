/**
 * The daemon-facing helpers: createThermal (real monitor vs the explicit `--no-thermal` stand-in),
 * openI2cSensors from board specs, createSimThermal for sim-* boards, and the bad-config messages.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openI2cSensors, SensorError } from '../../drivers/sensors/index.ts';
import { EmulatedEmc2101 } from '../../firmware/sensors/emc2101.ts';
import { EmulatedI2cBus } from '../../firmware/sensors/i2c-bus.ts';
import { ThermalModel } from '../../firmware/sensors/thermal-model.ts';
import { EmulatedTmp1075 } from '../../firmware/sensors/tmp1075.ts';
import {
  createThermal,
  ThermalMonitor,
  UNMONITORED_WARNING,
  UnmonitoredThermal,
} from '../../host/thermal/index.ts';
import { createSimThermal } from '../../host/thermal/sim.ts';
import { ManualClock } from '../../lib/clock.ts';

describe('thermal API for the daemon', () => {
  it('--no-thermal gives an explicit "unmonitored" status and a warning to print', () => {
    const t = createThermal({ disabled: true, frequencyMHz: 500 });
    assert.ok(t instanceof UnmonitoredThermal);
    const s = t.status();
    assert.equal(s.state, 'unmonitored');
    assert.notEqual(s.state, 'normal');
    assert.equal(s.maxC, null);
    assert.match((t as UnmonitoredThermal).warning, /DISABLED/);
    assert.match(UNMONITORED_WARNING, /--no-thermal/);
  });

  it('createThermal with sensors builds a monitor; no sensors is a clear error', () => {
    const clock = new ManualClock();
    const sensor = { name: 'x', readTemperature: async () => 40 };
    assert.ok(
      createThermal({ sensors: [sensor], clock, protection: { limitC: 75, frequencyMHz: 500 } }) instanceof
        ThermalMonitor,
    );
    assert.throws(
      () => createThermal({ sensors: [], clock, protection: { limitC: 75, frequencyMHz: 500 } }),
      /thermal.sensors: at least one temperature sensor is required \(or run with --no-thermal\)/,
    );
    assert.throws(
      () =>
        createThermal({
          sensors: [sensor],
          clock,
          pollMs: 5000,
          protection: { limitC: 75, frequencyMHz: 500 },
        }),
      /thermal.pollMs: must be a number in \[10, 1000\]/,
    );
  });

  it('openI2cSensors builds and initialises a Hex-style set (EMC2101 fan + 2 × TMP1075)', async () => {
    const clock = new ManualClock();
    const model = new ThermalModel({ clock });
    const bus = new EmulatedI2cBus('sim:i2c-5');
    bus
      .attach(0x4c, new EmulatedEmc2101(model))
      .attach(0x4a, new EmulatedTmp1075(model))
      .attach(0x4b, new EmulatedTmp1075(model));
    const set = await openI2cSensors(bus, [
      { part: 'EMC2101', channel: 'internal' },
      { part: 'TMP1075', address: 0x4a },
      { part: 'TMP1075', address: 0x4b, offsetC: 1 },
    ]);
    assert.deepEqual(
      set.sensors.map((s) => s.name),
      ['emc2101@sim:i2c-5:0x4c/internal', 'tmp1075@sim:i2c-5:0x4a', 'tmp1075@sim:i2c-5:0x4b'],
    );
    assert.equal(set.fan?.name, 'emc2101@sim:i2c-5:0x4c/internal');
    const [a, b] = [await set.sensors[1]!.readTemperature(), await set.sensors[2]!.readTemperature()];
    assert.equal(b - a, 1);
  });

  it('openI2cSensors fails clearly when a part is missing', async () => {
    const bus = new EmulatedI2cBus('sim:i2c-6');
    await assert.rejects(openI2cSensors(bus, [{ part: 'TMP1075', address: 0x48 }]), (e: unknown) => {
      assert.ok(e instanceof SensorError);
      assert.match(e.message, /TMP1075 at sim:i2c-6 0x48/);
      return true;
    });
  });

  it('createSimThermal runs the real monitor path on the emulated board', async () => {
    const clock = new ManualClock();
    const sim = await createSimThermal({ clock, chips: 1, tmp1075At: [0x4a] });
    const monitor = new ThermalMonitor({
      sensors: sim.sensors,
      fan: sim.fan,
      clock,
      protection: { limitC: 75, frequencyMHz: 525 },
    });
    const statuses: string[] = [];
    monitor.onStatus((s) => statuses.push(s.state));
    monitor.start();
    await clock.advanceAsync(5000);
    assert.ok(statuses.length >= 9);
    assert.equal(monitor.status().state, 'normal');
    assert.equal(monitor.status().sensors.length, 2);
    assert.ok(monitor.status().sensors.every((s) => typeof s.celsius === 'number'));
    await monitor.stop();
    assert.equal(clock.pending(), 0);
  });
});
