/**
 * Integration: johnny-five (through firmata.js on a serialport v13 port) reading the emulated Firmata
 * I/O MCU over a REAL socat pseudo-terminal pair — temperature within tolerance of the model, a PWM
 * write changing the model's fan duty, the tach read back — then the thermal monitor running on it.
 * The board, port and emulator are closed at the end so the runner exits on its own; johnny-five must
 * not install a SIGINT handler nor start a REPL.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FirmataBoard } from '../../drivers/sensors/firmata-board.ts';
import { FirmataMcu } from '../../firmware/io-mcu/firmata-mcu.ts';
import { type ServedMcu, serveFirmataMcu } from '../../firmware/io-mcu/serve.ts';
import { ThermalModel } from '../../firmware/sensors/thermal-model.ts';
import { ThermalMonitor } from '../../host/thermal/index.ts';
import { systemClock } from '../../lib/clock.ts';
import { waitFor } from '../helpers/net.ts';
import { type PtyPair, ptyPair } from '../helpers/pty.ts';

describe('johnny-five ↔ emulated Firmata MCU over a socat pty', () => {
  let pty: PtyPair;
  let served: ServedMcu;
  let board: FirmataBoard;
  let model: ThermalModel;
  const sigintBefore = process.listenerCount('SIGINT');

  before(async () => {
    pty = await ptyPair();
    model = new ThermalModel({
      clock: systemClock,
      ambientC: 25,
      initialC: 48.7,
      hashing: false,
      gPassive: 0.0001,
      gFan: 0.0001,
    });
    served = await serveFirmataMcu(pty.a, new FirmataMcu({ model, clock: systemClock }));
    board = await FirmataBoard.open({ path: pty.b, fanPin: 9, tachPin: 2, openTimeoutMs: 8000 });
  });

  after(async () => {
    await board?.close();
    await served?.close();
    await pty?.close();
  });

  it('handshakes like an Arduino: firmware name and version, no REPL, no SIGINT handler', () => {
    assert.equal(board.firmware, 'StandardFirmata.ino 2.5');
    assert.equal(process.listenerCount('SIGINT'), sigintBefore);
    assert.equal((board.board as unknown as { repl: unknown }).repl, false);
  });

  it('reads the thermistor temperature within 0.5 °C of the model', async () => {
    await waitFor(() => served.mcu.stats.analogReports > 3, 'analog reports', 5000);
    await new Promise((r) => setTimeout(r, 100));
    const got = await board.readTemperature();
    const truth = model.chipTempC();
    assert.ok(Math.abs(got - truth) < 0.5, `read ${got.toFixed(2)} °C, model ${truth.toFixed(2)} °C`);
    model.setTemperature(71.3);
    await new Promise((r) => setTimeout(r, 150));
    const hot = await board.readTemperature();
    assert.ok(Math.abs(hot - 71.3) < 0.6, `read ${hot.toFixed(2)} °C after the model moved to 71.3 °C`);
  });

  it('a PWM write changes the model fan duty; the tach reads the model rpm back', async () => {
    await board.setDuty(60);
    await waitFor(() => Math.abs(model.fanDuty() - 60) < 0.5, 'fan duty 60 % in the model', 3000);
    assert.equal(served.mcu.fanPwm(), 153);
    await board.setDuty(100);
    await waitFor(() => model.fanDuty() === 100, 'fan duty 100 %', 3000);
    // Let the fan spin up (τ 1.5 s), then measure over a fresh window.
    await new Promise((r) => setTimeout(r, 4000));
    // A 3 s window: edges reach the host through the pty with a latency that jitters under load
    // (the window's edges are counted on arrival); 3 s keeps a 300 ms jitter inside the 10 %.
    await board.readRpm();
    await new Promise((r) => setTimeout(r, 3000));
    const rpm = (await board.readRpm()) ?? 0;
    const truth = model.fanRpm();
    assert.ok(truth > 5000, `model at ${truth.toFixed(0)} rpm`);
    assert.ok(
      Math.abs(rpm - truth) / truth < 0.1,
      `tach ${rpm.toFixed(0)} rpm vs model ${truth.toFixed(0)} rpm`,
    );
  });

  it('the thermal monitor runs on the Firmata board; a hung MCU trips the fail-safe', async () => {
    const monitor = new ThermalMonitor({
      sensors: [board],
      fan: board,
      protection: { limitC: 90, frequencyMHz: 500, throttle: false },
      pollMs: 200,
    });
    const kinds: string[] = [];
    monitor.onDecision((d) => kinds.push(`${d.kind}:${d.reason}`));
    monitor.start();
    await waitFor(() => kinds.includes('resume:startup'), 'startup resume', 3000);
    assert.equal(monitor.status().state, 'normal');
    served.mcu.silent = true;
    const t0 = Date.now();
    await waitFor(() => kinds.includes('stop-hashing:sensor-fault'), 'sensor-fault stop', 5000);
    const took = Date.now() - t0;
    served.mcu.silent = false;
    await monitor.stop();
    assert.match(monitor.status().sensors[0]!.error ?? '', /no analog report/);
    assert.ok(took < 5000);
  });
});
