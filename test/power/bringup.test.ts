/**
 * Bring-up, shutdown and protection (host/power) against the emulated board (firmware/power): the real
 * drivers on the emulated I2C bus and GPIO lines, sequenced on a ManualClock. The emulator enforces
 * the physics, so a wrong order fails here as on the bench.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findBoard } from '../../boards/index.ts';
import type { BoardProfile } from '../../boards/types.ts';
import { Bm13xxChain, FAST_TIMING } from '../../drivers/bm13xx/chain.ts';
import { PMBUS } from '../../drivers/power/pmbus.ts';
import { createSimBoardChain } from '../../firmware/bm13xx/index.ts';
import { BringUpError } from '../../host/power/controller.ts';
import { createSimPower } from '../../host/power/sim.ts';
import { ManualClock, systemClock } from '../../lib/clock.ts';

function rig(id: string, clock = new ManualClock()) {
  const profile = findBoard(id)!;
  assert.ok(profile, id);
  const chain = createSimBoardChain({ model: profile.chip, chips: profile.chips, clock, autoHash: false });
  const p = createSimPower(profile, { clock, chain });
  return { clock, chain, profile, ...p };
}

/** Runs an async call to completion on the manual clock. */
async function drive<T>(clock: ManualClock, p: Promise<T>, maxMs = 20_000): Promise<T> {
  let done = false;
  const r = p.finally(() => {
    done = true;
  });
  r.catch(() => {}); // handled by the caller; keeps the rejection from counting as unhandled meanwhile
  for (let t = 0; t < maxMs && !done; t += 50) await clock.advanceAsync(50);
  return r;
}

const cmdName = (c: number) => Object.entries(PMBUS).find(([, v]) => v === c)?.[0] ?? c.toString(16);

describe('bring-up in the documented order', () => {
  it('TPS546 board: reset held → identified and configured with output off → VOUT → on → PGOOD; chips answer only after reset is released', async () => {
    const r = rig('bitaxe-gamma-usb');
    assert.equal(r.chain.answering, false, 'held/unpowered before bring-up');
    await drive(r.clock, r.controller.bringUp());
    assert.deepEqual(r.controller.trace, [
      'reset held',
      'identified TPS546D24A',
      'configured, output off',
      'vout 1150 mV, output on',
      'power good',
    ]);
    const cmds = r.board.tps546!.log.map((e) => cmdName(e.cmd));
    assert.equal(cmds[0], 'OPERATION');
    assert.deepEqual(r.board.tps546!.log[0]!.data, [0x00]);
    const vout = cmds.indexOf('VOUT_COMMAND');
    const on = cmds.lastIndexOf('OPERATION');
    assert.ok(cmds.indexOf('VOUT_MAX') < vout && vout < on, 'limits, then VOUT_COMMAND, then OPERATION on');
    assert.deepEqual(r.board.tps546!.log[on]!.data, [0x80]);
    assert.ok(Math.abs(r.board.coreVolts() - 1.15) < 0.003);
    assert.equal(r.chain.powered, true);
    assert.equal(r.chain.answering, false, 'still held in reset');
    await r.controller.setReset(false);
    assert.equal(r.chain.answering, true);
    await r.controller.powerOff();
    assert.equal(r.board.coreVolts(), 0);
    assert.equal(r.chain.answering, false);
    r.board.close();
    assert.equal(r.clock.pending(), 0, 'no timers left');
  });

  it('DS4432U board: the DAC is written before the buck is enabled; the wrong order over-volts the chips', async () => {
    const r = rig('bitaxe-ultra-usb');
    await drive(r.clock, r.controller.bringUp());
    assert.deepEqual(r.controller.trace.slice(0, 4), [
      'reset held',
      'identified DS4432U',
      'dac 1200 mV',
      'monitor INA260@sim:bitaxe-ultra-usb:i2c:0x40',
    ]);
    assert.equal(r.board.ds4432u!.code, 0xc6);
    assert.equal(r.board.damaged, undefined);
    await r.controller.powerOff();
    r.board.close();

    // Wrong order (ESP-Miner's race, boards.md §5.9): enable first, DAC later → ≈1.458 V on a 1.3 V chip.
    const w = rig('bitaxe-ultra-usb');
    const en = w.profile.power!.enable!;
    await w.gpio.set(en.line, !en.activeLow);
    w.board.update();
    assert.match(String(w.board.damaged), /above the chips/);
    w.board.close();
  });

  it('chip init before power (wrong order) fails: unpowered chips do not answer', async () => {
    const clock = systemClock;
    const profile = findBoard('bitaxe-gamma-usb')!;
    const chain = createSimBoardChain({ model: profile.chip, chips: 1 });
    const p = createSimPower(profile, { clock, chain });
    const driver = new Bm13xxChain({
      model: profile.chip,
      transport: chain,
      clock,
      timing: { ...FAST_TIMING, enumerateTimeoutMs: 300 },
      reset: (hold) => p.controller.setReset(hold),
    });
    await chain.open();
    await assert.rejects(driver.init(), /no BM1370 answered/);
    assert.ok(chain.stats.deadBytes > 0, 'the frames went into an unpowered chip');
    // The right order: the same driver then finds its chip.
    await p.controller.bringUp();
    const info = await driver.init();
    assert.equal(info.chips, 1);
    await driver.stop({ holdReset: true });
    await p.controller.powerOff();
    p.board.close();
    await chain.close();
  });

  it('a chip that lost power forgets its address and configuration', async () => {
    const r = rig('piaxe');
    await drive(r.clock, r.controller.bringUp());
    await r.controller.setReset(false);
    r.chain.chips[0]!.address = 0x20;
    await r.controller.powerOff();
    await r.controller.setReset(false);
    assert.equal(r.chain.answering, false, 'no core: silent even out of reset');
    await drive(r.clock, r.controller.bringUp());
    await r.controller.setReset(false);
    assert.equal(r.chain.chips[0]!.address, 0, 'back at power-on reset state');
    await r.controller.powerOff();
    r.board.close();
  });
});

describe('failures name the step and leave power off', () => {
  it('regulator missing at start', async () => {
    const r = rig('bitaxe-gamma-usb');
    r.bus.detach(0x24);
    const err = await drive(
      r.clock,
      r.controller.bringUp().catch((e) => e),
    );
    assert.ok(err instanceof BringUpError);
    assert.equal(err.step, 'regulator');
    assert.match(err.message, /no regulator answering/);
    assert.equal(r.chain.powered, false);
    assert.equal(r.board.resetHeld, true);
    r.board.close();
  });

  it('PGOOD never high (PiAxe): step "pgood", SDN released again', async () => {
    const r = rig('piaxe');
    r.board.pgoodStuckLow = true;
    const err = await drive(
      r.clock,
      r.controller.bringUp().catch((e) => e),
    );
    assert.ok(err instanceof BringUpError);
    assert.equal(err.step, 'pgood');
    assert.equal(r.board.enabled, false, 'buck switched off again');
    assert.equal(r.board.resetHeld, true);
    r.board.close();
  });

  it('wrong part at the regulator address', async () => {
    const clock = new ManualClock();
    const profile: BoardProfile = findBoard('bitaxe-gamma-usb')!;
    const chain = createSimBoardChain({ model: profile.chip, chips: 1, clock, autoHash: false });
    const p = createSimPower(profile, { clock, chain });
    (p.board.tps546 as unknown as { deviceId: number[] }).deviceId.splice(0, 6, 1, 2, 3, 4, 5, 6);
    const err = await drive(
      clock,
      p.controller.bringUp().catch((e) => e),
    );
    assert.equal(err.step, 'regulator');
    assert.match(err.message, /not a TPS546D24A/);
    p.board.close();
  });
});

describe('nothing dangerous is writable', () => {
  it('a voltage outside the window is refused before the bus; fixed boards refuse any change', async () => {
    const r = rig('bitaxe-gamma-usb');
    await drive(r.clock, r.controller.bringUp());
    const writes = r.board.tps546!.log.length;
    await assert.rejects(r.controller.setVoltage(1300), /outside this board's 1000–1250 mV/);
    await assert.rejects(r.controller.setVoltage(Number.NaN), /outside/);
    assert.equal(r.board.tps546!.log.length, writes, 'regulator untouched');
    assert.equal(await r.controller.setVoltage(1200), 1200);
    assert.ok(Math.abs(r.board.coreVolts() - 1.2) < 0.003);
    await r.controller.powerOff();
    r.board.close();
    const f = rig('piaxe');
    await assert.rejects(f.controller.setVoltage(1250), /fixed at 1200 mV/);
    f.board.close();
  });
});

describe('protection: latched until cleared', () => {
  it('over-current at full load → regulator latches off, reset held, listeners told, bring-up refused until clear', async () => {
    const r = rig('bitaxe-gamma-usb');
    await drive(r.clock, r.controller.bringUp());
    await r.controller.setReset(false);
    const faults: string[] = [];
    r.controller.onFault((f) => faults.push(f.reason));
    r.board.tps546!.setExtraLoad(35); // above IOUT_OC_FAULT_LIMIT 30 A
    await r.clock.advanceAsync(300);
    assert.equal(faults.length, 1);
    assert.match(faults[0]!, /IOUT_OC/);
    assert.equal(r.controller.state, 'fault');
    assert.equal(r.board.coreVolts(), 0);
    assert.equal(r.board.resetHeld, true);
    assert.equal(r.chain.answering, false);
    await assert.rejects(drive(r.clock, r.controller.bringUp()), /fault latched/);
    r.board.tps546!.setExtraLoad(0);
    await r.controller.clearFault();
    await drive(r.clock, r.controller.bringUp());
    assert.equal(r.controller.state, 'on');
    await r.controller.powerOff();
    r.board.close();
  });

  it('over-temperature (hiccup response) trips protection too', async () => {
    const r = rig('bitaxe-gamma-usb');
    await drive(r.clock, r.controller.bringUp());
    r.board.tps546!.forceTemperature(150);
    await r.clock.advanceAsync(300);
    assert.match(r.controller.fault?.reason ?? '', /TEMPERATURE/);
    r.board.close();
  });

  it('PGOOD drop (PiAxe) → latched stop', async () => {
    const r = rig('piaxe');
    await drive(r.clock, r.controller.bringUp());
    r.board.pgoodStuckLow = true;
    r.board.update();
    await r.clock.advanceAsync(300);
    assert.match(r.controller.fault?.reason ?? '', /PGOOD lost/);
    assert.equal(r.board.enabled, false);
    r.board.close();
  });

  it('telemetry from the electrical model (regulator and INA260)', async () => {
    const r = rig('bitaxe-gamma-usb');
    await drive(r.clock, r.controller.bringUp());
    await r.clock.advanceAsync(1100);
    const s = r.controller.snapshot();
    assert.equal(s.state, 'on');
    assert.ok(s.reading && Math.abs((s.reading.voutV ?? 0) - 1.15) < 0.01);
    assert.equal(s.reading.vinV, 5);
    assert.ok((s.reading.vrTempC ?? 0) >= 25);
    await r.controller.powerOff();
    r.board.close();
  });
});
