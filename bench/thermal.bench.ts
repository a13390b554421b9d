/**
 * Thermal benchmarks (simulated time, so the figures are deterministic): peak overshoot past the limit
 * when the fan dies on a 4-chip board (our 500 ms poll vs an ESP-Miner-like 100 ms loop as baseline),
 * time from sensor unplug to stop-hashing (target ≤ 2 s), and the host CPU cost of one monitor poll
 * through the real EMC2101 driver and the emulated part (baseline: the bare driver reads).
 */
import { Emc2101 } from '../drivers/sensors/emc2101.ts';
import { EmulatedEmc2101 } from '../firmware/sensors/emc2101.ts';
import { EmulatedI2cBus } from '../firmware/sensors/i2c-bus.ts';
import { ThermalModel } from '../firmware/sensors/thermal-model.ts';
import { ThermalMonitor } from '../host/thermal/index.ts';
import { ManualClock } from '../lib/clock.ts';
import type { BenchRow, BenchSuite } from './harness.ts';

async function rig(pollMs: number) {
  const clock = new ManualClock();
  const model = new ThermalModel({ clock, chips: 4, gPassive: 0.3, gFan: 1.8, initialC: 30 });
  const bus = new EmulatedI2cBus();
  const part = new EmulatedEmc2101(model);
  bus.attach(0x4c, part);
  const d = new Emc2101(bus);
  await d.init();
  const monitor = new ThermalMonitor({
    sensors: [d],
    fan: d,
    clock,
    pollMs,
    protection: { limitC: 75, frequencyMHz: 525, throttle: false },
  });
  let stoppedAt: number | undefined;
  monitor.onDecision((x) => {
    if (x.kind === 'stop-hashing') {
      model.setHashing(false);
      stoppedAt ??= clock.now();
    } else if (x.kind === 'resume') model.setHashing(true);
  });
  return { clock, model, part, d, monitor, stoppedAt: () => stoppedAt };
}

async function overshoot(pollMs: number): Promise<number> {
  const r = await rig(pollMs);
  r.monitor.start();
  await r.clock.advanceAsync(15 * 60_000);
  r.model.setFanFailed(true);
  let peak = Number.NEGATIVE_INFINITY;
  for (let t = 0; t < 120_000; t += 50) {
    await r.clock.advanceAsync(50);
    peak = Math.max(peak, r.model.chipTempC());
  }
  await r.monitor.stop();
  return peak - 75;
}

const suite: BenchSuite = {
  name: 'thermal',
  async run(ctx) {
    const rows: BenchRow[] = [];
    const ours = await overshoot(500);
    const esp = await overshoot(100);
    rows.push({
      suite: 'thermal',
      name: 'overheat peak overshoot, 4 chips, fan dies (500 ms poll)',
      value: Number(ours.toFixed(3)),
      unit: '°C',
      baseline: { name: '100 ms poll (ESP-Miner loop period)', value: Number(esp.toFixed(3)) },
      ratio: esp > 0 ? ours / esp : undefined,
      better: 'lower',
      target: { op: '<=', value: 1 },
    });

    const r = await rig(500);
    r.monitor.start();
    await r.clock.advanceAsync(60_000);
    const t0 = r.clock.now();
    r.part.unplugged = true;
    await r.clock.advanceAsync(5000, 50);
    const latency = (r.stoppedAt() ?? Number.POSITIVE_INFINITY) - t0;
    await r.monitor.stop();
    rows.push({
      suite: 'thermal',
      name: 'sensor unplugged → stop-hashing (clock time)',
      value: latency,
      unit: 'ms',
      better: 'lower',
      target: { op: '<=', value: 2000 },
    });

    // CPU per poll: drive N polls on a fresh rig and time them (wall clock).
    const n = Math.max(200, Math.round(2000 * ctx.scale));
    const c = await rig(500);
    c.monitor.start();
    const start = performance.now();
    for (let i = 0; i < n; i++) await c.clock.advanceAsync(500);
    const perPoll = ((performance.now() - start) * 1000) / n;
    await c.monitor.stop();
    const s2 = performance.now();
    for (let i = 0; i < n; i++) {
      await c.d.readTemperature();
      await c.d.setDuty(50);
      await c.d.readRpm();
    }
    const bare = ((performance.now() - s2) * 1000) / n;
    rows.push({
      suite: 'thermal',
      name: 'monitor poll (read + PID + protection + fan write + tach), incl. test-clock flushes',
      value: Number(perPoll.toFixed(1)),
      unit: 'µs/poll',
      baseline: { name: 'bare driver read + write + tach', value: Number(bare.toFixed(1)) },
      ratio: perPoll / bare,
      better: 'lower',
    });
    ctx.log(
      `thermal: overshoot ${ours.toFixed(3)} °C (100 ms poll: ${esp.toFixed(3)}), fault latency ${latency} ms`,
    );
    return rows;
  },
};

export default suite;
