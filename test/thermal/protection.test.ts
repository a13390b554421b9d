/**
 * The pure pieces of host/thermal with explicit time: the protection state machine (trip, hysteresis
 * and minimum cool-down, reduced-frequency resume, fault grace and recovery, progressive throttle), the
 * PID and fan controller (ESP-Miner defaults, clamps, manual mode, EMA), config validation.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  FanController,
  Pid,
  Protection,
  ThermalConfigError,
  type ThermalDecision,
} from '../../host/thermal/index.ts';

const T0 = 1_000_000;

function started(opts: Partial<ConstructorParameters<typeof Protection>[0]> = {}) {
  const p = new Protection({ limitC: 75, frequencyMHz: 525, throttle: false, ...opts }, T0);
  const d = p.update(T0, 50);
  assert.deepEqual(kinds(d), ['resume:startup']);
  assert.equal(d[0]?.kind === 'resume' && d[0].frequencyMHz, opts.frequencyMHz ?? 525);
  return p;
}

const kinds = (ds: ThermalDecision[]) => ds.map((d) => `${d.kind}:${d.reason}`);

describe('Protection state machine', () => {
  it('does not allow hashing before the first valid reading', () => {
    const p = new Protection({ limitC: 75, frequencyMHz: 525 }, T0);
    assert.equal(p.snapshot().state, 'starting');
    assert.equal(p.snapshot().hashingAllowed, false);
    p.update(T0 + 100, 40);
    assert.equal(p.snapshot().hashingAllowed, true);
  });

  it('trips at the limit: stop-hashing, fans forced, frequency reduced by 100 MHz', () => {
    const p = started();
    assert.deepEqual(p.update(T0 + 500, 74.9), []);
    const d = p.update(T0 + 1000, 75.1);
    assert.deepEqual(kinds(d), ['stop-hashing:overheat']);
    const s = p.snapshot();
    assert.equal(s.state, 'overheat');
    assert.equal(s.fanForced, true);
    assert.equal(s.hashingAllowed, false);
    assert.equal(s.frequencyMHz, 425);
    assert.equal(s.trips.overheat, 1);
    // Staying hot does not emit again.
    assert.deepEqual(p.update(T0 + 1500, 80), []);
  });

  it('cools down with hysteresis AND a minimum time, then resumes at the reduced frequency', () => {
    const p = started();
    p.update(T0 + 1000, 76);
    // Below the resume threshold (min(target 60, 75 − 15) = 60) but too early.
    assert.deepEqual(p.update(T0 + 10_000, 55), []);
    // Long enough but not cool enough.
    assert.deepEqual(p.update(T0 + 40_000, 61), []);
    const d = p.update(T0 + 40_500, 59.9);
    assert.deepEqual(d, [{ kind: 'resume', reason: 'cooled', frequencyMHz: 425, reducedFromMHz: 525 }]);
    assert.equal(p.snapshot().state, 'normal');
    assert.equal(p.snapshot().fanForced, false);
  });

  it('holds the board stopped while a resume is blocked (fan stalled)', () => {
    const p = started();
    p.update(T0 + 1000, 80);
    p.blockResume('fan stalled');
    assert.deepEqual(p.update(T0 + 60_000, 40), []);
    assert.equal(p.snapshot().resumeBlocked, 'fan stalled');
    p.blockResume(null);
    assert.equal(p.update(T0 + 60_500, 40)[0]?.kind, 'resume');
  });

  it('repeated trips keep lowering the frequency down to the floor; voltage steps when configured', () => {
    const p = started({ frequencyMHz: 400, minFrequencyMHz: 250, voltageMv: 1200, tripStepMv: 50 });
    let t = T0;
    const resumes: number[] = [];
    for (let i = 0; i < 3; i++) {
      t += 1000;
      p.update(t, 80);
      t += 31_000;
      const d = p.update(t, 40);
      assert.equal(d[0]?.kind, 'resume');
      if (d[0]?.kind === 'resume') resumes.push(d[0].frequencyMHz);
    }
    assert.deepEqual(resumes, [300, 250, 250]);
    assert.equal(p.snapshot().voltageMv, 1050);
    assert.equal(p.snapshot().trips.overheat, 3);
  });

  it('unknown temperature: fans forced at once, stop-hashing after the grace period (≤ 2 s)', () => {
    const p = started();
    p.update(T0 + 500, 60);
    assert.deepEqual(p.update(T0 + 1000, undefined, 'NACK'), []);
    assert.equal(p.snapshot().fanForced, true, 'fan forced on the first failed read');
    assert.equal(p.snapshot().hashingAllowed, true);
    const d = p.update(T0 + 1500, undefined, 'NACK');
    assert.deepEqual(kinds(d), ['stop-hashing:sensor-fault']);
    assert.equal(p.snapshot().state, 'sensor-fault');
    assert.equal(p.snapshot().trips.sensorFault, 1);
  });

  it('a hung read (no result at all) still trips through the deadline check', () => {
    const p = started();
    p.update(T0 + 500, 60);
    assert.deepEqual(p.update(T0 + 1000, undefined), []);
    assert.deepEqual(kinds(p.update(T0 + 1500, undefined)), ['stop-hashing:sensor-fault']);
  });

  it('recovers from a sensor fault only after valid readings for faultRecoverMs, at the same frequency', () => {
    const p = started();
    p.update(T0 + 2000, undefined, 'gone');
    assert.equal(p.snapshot().state, 'sensor-fault');
    assert.deepEqual(p.update(T0 + 3000, 50), []);
    assert.deepEqual(p.update(T0 + 12_000, 50), []);
    assert.deepEqual(p.update(T0 + 13_000, 50), [
      { kind: 'resume', reason: 'sensor-recovered', frequencyMHz: 525 },
    ]);
  });

  it('a sensor that comes back hot goes straight to overheat without a second stop', () => {
    const p = started();
    p.update(T0 + 2000, undefined, 'gone');
    assert.deepEqual(p.update(T0 + 2500, 90), []);
    assert.equal(p.snapshot().state, 'overheat');
  });

  it('throttles progressively near the limit and recovers slowly', () => {
    const p = started({ throttle: { marginC: 5, stepMHz: 25, intervalMs: 10_000, recoverAfterMs: 60_000 } });
    const d1 = p.update(T0 + 1000, 71);
    assert.deepEqual(d1, [
      { kind: 'throttle', reason: 'approaching-limit', frequencyMHz: 500, fromMHz: 525 },
    ]);
    assert.equal(p.snapshot().state, 'throttled');
    assert.equal(p.snapshot().hashingAllowed, true);
    assert.deepEqual(p.update(T0 + 5000, 72), [], 'rate-limited');
    assert.equal(p.update(T0 + 11_000, 72)[0]?.kind, 'throttle');
    assert.equal(p.snapshot().frequencyMHz, 475);
    // Cool (≤ 65 °C) for 60 s → one step back up, another 60 s → back to nominal.
    assert.deepEqual(p.update(T0 + 20_000, 64), []);
    assert.deepEqual(p.update(T0 + 80_000, 64), [
      { kind: 'throttle', reason: 'recovered', frequencyMHz: 500, fromMHz: 475 },
    ]);
    assert.equal(p.update(T0 + 140_000, 64)[0]?.kind, 'throttle');
    assert.equal(p.snapshot().state, 'normal');
    assert.equal(p.snapshot().frequencyMHz, 525);
  });

  it('validates configuration with messages naming the field and range', () => {
    assert.throws(
      () => new Protection({ limitC: 300, frequencyMHz: 500 }, T0),
      /thermal.limitC: must be a number in \[40, 150\]/,
    );
    assert.throws(
      () => new Protection({ limitC: 75, frequencyMHz: 500, faultGraceMs: 5000 }, T0),
      ThermalConfigError,
    );
    assert.throws(
      () => new Protection({ limitC: 75, targetC: 80, frequencyMHz: 500 }, T0),
      /thermal.targetC/,
    );
  });
});

describe('PID and fan controller', () => {
  it('PID is direct acting for cooling and clamps its output', () => {
    const pid = new Pid({ kp: 5, ki: 0.1, kd: 0 }, 25, 100);
    pid.reset(50);
    assert.equal(pid.step(60, 60, 0.5), 50);
    assert.ok(pid.step(65, 60, 0.5) > 70);
    assert.equal(pid.step(200, 60, 0.5), 100);
    assert.equal(pid.step(-50, 60, 0.5), 25);
  });
  it('runs 70 % until the first valid reading (ESP "startup"), then PID within [min, 100]', () => {
    const f = new FanController();
    assert.equal(f.update(undefined, 0), 70);
    assert.equal(f.mode, 'startup');
    const d = f.update(30, 500);
    assert.equal(f.mode, 'auto');
    assert.ok(d >= 25 && d < 70, `${d}`);
    let out = d;
    for (let t = 1000; t < 60_000; t += 500) out = f.update(30, t);
    assert.equal(out, 25, 'cold board → minimum duty');
    for (let t = 60_000; t < 70_000; t += 500) out = f.update(90, t);
    assert.equal(out, 100, 'hot board → full duty');
  });
  it('filters its input with an EMA (α = 0.2)', () => {
    const f = new FanController();
    f.update(50, 0);
    f.update(60, 500);
    assert.equal(f.filteredC, 52);
  });
  it('manual mode holds the given duty; back to auto continues without a bump', () => {
    const f = new FanController({ manualDuty: 40 });
    assert.equal(f.update(90, 0), 40);
    f.setManual(undefined);
    assert.equal(f.mode, 'auto');
    assert.ok(f.update(90, 500) > 40);
    assert.throws(() => f.setManual(120), /fan.manualDuty: must be a number in \[0, 100\]/);
  });
  it('validates settings', () => {
    assert.throws(() => new FanController({ targetC: 10 }), /fan.targetC/);
    assert.throws(() => new FanController({ minDuty: Number.NaN }), /fan.minDuty/);
  });
});
