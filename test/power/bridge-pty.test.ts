/**
 * A whole emulated bitaxe-raw board served by `asicd sim --board` (its own process, real ptys), driven by
 * the host's own drivers in this process: the bridge driver on PATH.control, the BM13xx chain driver on
 * PATH.data. Bring-up in the wrong order is refused by the emulator exactly as on the bench (chips silent
 * while unpowered or in reset; a DAC-trimmed buck enabled before its DAC is written over-volts the chips);
 * the documented order through the power controller gets the chips to answer.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { findBoard } from '../../boards/index.ts';
import { Bm13xxChain, FAST_TIMING } from '../../drivers/bm13xx/chain.ts';
import { BitaxeRawBridge } from '../../drivers/bridge/bitaxe-raw.ts';
import { Ds4432u } from '../../drivers/power/ds4432u.ts';
import { UartTransport } from '../../drivers/transport/uart.ts';
import { PowerController } from '../../host/power/controller.ts';
import { doctor, formatReport } from '../../host/power/doctor.ts';
import { monitorFor, regulatorFor } from '../../host/power/parts.ts';
import { systemClock } from '../../lib/clock.ts';
import { memoryLogger } from '../../lib/log.ts';
import { waitFor } from '../helpers/net.ts';

const BIN = fileURLToPath(new URL('../../bin/asicd.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'asicd-bridge-pty-'));
const cleanups: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
});

async function serve(board: string, link: string) {
  const proc: ChildProcess = spawn(process.execPath, [BIN, 'sim', '--board', board, '--link', link], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout?.on('data', (d) => {
    out += String(d);
  });
  proc.stderr?.on('data', (d) => {
    out += String(d);
  });
  const exited = new Promise((r) => proc.once('exit', r));
  cleanups.push(async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
    await exited;
  });
  await waitFor(
    () => out.includes(' ready: control ') || proc.exitCode !== null,
    'asicd sim --board',
    30_000,
  );
  let asked = 0;
  return {
    status: async (): Promise<Record<string, unknown>> => {
      const n = ++asked;
      proc.stdin?.write('status\n');
      let line: string | undefined;
      await waitFor(
        () => {
          line = out.split('\n').filter((l) => l.startsWith('asicd sim: status '))[n - 1];
          return line !== undefined;
        },
        'a status line',
        20_000,
      );
      return JSON.parse(line!.slice('asicd sim: status '.length));
    },
  };
}

async function open(link: string) {
  const control = new UartTransport({ path: `${link}.control`, baudRate: 115200 });
  const data = new UartTransport({ path: `${link}.data`, baudRate: 115200 });
  const bridge = new BitaxeRawBridge({ transport: control, version: 0, clock: systemClock, timeoutMs: 3000 });
  await bridge.open();
  await data.open();
  const log = memoryLogger('debug');
  const chain = new Bm13xxChain({
    model: 'BM1366',
    transport: data,
    expectedChips: 1,
    ticketDifficulty: 1,
    timing: FAST_TIMING,
    pollIntervalMs: 0,
    logger: log,
  });
  cleanups.push(async () => {
    await chain.stop().catch(() => {});
    await bridge.close();
    await data.close();
  });
  return { bridge, data, chain };
}

const board = findBoard('bitaxe-ultra-usb')!;
const spec = board.power!;
const RESET = spec.reset!.line; // bridge GPIO 0, active-low
const ENABLE = spec.enable!.line; // bridge GPIO 1 (ASIC_ENABLE), active-low

describe('bitaxe-raw board on ptys: bring-up order enforced by the emulator', () => {
  it('reset released with the buck off: no chip answers; the documented order through the power controller: chips answer', {
    timeout: 90_000,
  }, async () => {
    const link = join(dir, 'ultra-a');
    const sim = await serve('bitaxe-ultra-usb', link);
    const { bridge, chain } = await open(link);
    await bridge.gpio.set(RESET, true); // released (active-low), buck never enabled
    await assert.rejects(chain.init(), /no BM1366 answered/);
    const s0 = await sim.status();
    assert.equal(s0.coreV, 0);
    assert.equal(s0.answering, false);

    const power = new PowerController({
      spec,
      clock: systemClock,
      gpio: bridge.gpio,
      regulator: regulatorFor(spec, bridge.i2c)!,
      monitor: monitorFor(spec, bridge.i2c)!,
      windowMv: board.limits.voltageMv,
      voltageMv: 1200,
    });
    await power.bringUp();
    assert.deepEqual(
      power.trace.map((t) => t.replace(/@.*$/, '')),
      ['reset held', 'identified DS4432U', 'dac 1200 mV', 'monitor INA260', 'enable asserted', 'power good'],
    );
    // The chain driver's own reset pulse, through the bridge GPIO.
    await bridge.gpio.set(RESET, false);
    await bridge.gpio.set(RESET, true);
    await chain.init();
    assert.equal(chain.state, 'ready');
    const s1 = await sim.status();
    assert.ok(Math.abs((s1.coreV as number) - 1.2) < 0.02, `core ${s1.coreV} V`);
    assert.equal(s1.answering, true);
    assert.equal(s1.damaged, null);
    await power.powerOff();
    const s2 = await sim.status();
    assert.equal(s2.coreV, 0, 'core off');
    assert.equal(s2.resetHeld, true, 'chips held in reset');
  });

  it('buck enabled before its DAC is written: the core over-volts, the chips are damaged and never answer', {
    timeout: 90_000,
  }, async () => {
    const link = join(dir, 'ultra-b');
    const sim = await serve('bitaxe-ultra-usb', link);
    const { bridge, chain } = await open(link);
    await bridge.gpio.set(ENABLE, false); // ASIC_ENABLE asserted (active-low) with the DAC at power-on
    await bridge.gpio.set(RESET, true);
    const s = await sim.status();
    assert.ok(typeof s.damaged === 'string' && /above the chips/.test(s.damaged), JSON.stringify(s));
    // Even the right voltage afterwards does not bring them back.
    await new Ds4432u(bridge.i2c, 0x48).setVout(1.2, { minV: 1.1, maxV: 1.3 });
    await assert.rejects(chain.init(), /no BM1366 answered/);
  });
});

describe('asicd doctor on a bridge board served on ptys', () => {
  it('reads the regulator ID and voltages through the bridge with the core left off; missing ports → FAIL with the fix', {
    timeout: 90_000,
  }, async () => {
    const link = join(dir, 'gamma-doctor');
    const sim = await serve('bitaxe-gamma-usb', link);
    const empty = mkdtempSync(join(tmpdir(), 'asicd-doctor-root-'));
    cleanups.push(async () => rmSync(empty, { recursive: true, force: true }));
    const roots = { dev: join(empty, 'dev'), sys: join(empty, 'sys'), cmdline: join(empty, 'cmdline') };
    const gamma = findBoard('bitaxe-gamma-usb')!;
    const r = await doctor(gamma, roots, { bridgeLink: link });
    const b = r.checks.find((c) => c.what === 'board');
    assert.ok(b?.ok, JSON.stringify(r.checks));
    assert.match(b!.detail, /regulator TPS546D24A, core 0\.000 V read back, input 5\.00 V/);
    assert.equal(r.ready, true, formatReport(r, gamma));
    const s = await sim.status();
    assert.equal(s.coreV, 0, 'the doctor does not switch the core on');
    assert.equal(s.resetHeld, true);
    const missing = await doctor(gamma, roots, { bridgeLink: join(dir, 'nothing-here') });
    const u = missing.checks.find((c) => c.what === 'usb' && !c.ok);
    assert.match(u?.detail ?? '', /no such ports/);
    assert.match(u?.fix ?? '', /asicd sim --board bitaxe-gamma-usb/);
    assert.equal(missing.ready, false);
  });
});
