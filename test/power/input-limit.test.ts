/**
 * Host-side input over-current stop for DS4432U boards (no regulator status, no PGOOD): the pure
 * decision (host/power/input-limit.ts) on explicit times, and the power controller reading the emulated
 * INA260 on a ManualClock: above the board's limit for the debounce time → the latched safe stop.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findBoard } from '../../boards/index.ts';
import { DS4432U_BITAXE_INPUT_LIMIT } from '../../boards/power-parts.ts';
import { createSimBoardChain } from '../../firmware/bm13xx/index.ts';
import { InputLimitGuard } from '../../host/power/input-limit.ts';
import { createSimPower } from '../../host/power/sim.ts';
import { ManualClock } from '../../lib/clock.ts';

const limit = { maxA: 5, maxW: 25, debounceMs: 2000, sampleMs: 250, source: 'test' };

describe('InputLimitGuard (pure, clocked)', () => {
  it('trips only after the input stayed above the limit for the debounce time', () => {
    const g = new InputLimitGuard(limit);
    assert.equal(g.update(0, { currentA: 5.5, powerW: 27 }), undefined);
    assert.equal(g.overSinceMs, 0);
    assert.equal(g.update(1000, { currentA: 6, powerW: 30 }), undefined);
    assert.equal(g.update(1999, { currentA: 5.2, powerW: 26 }), undefined);
    assert.equal(
      g.update(2000, { currentA: 5.1, powerW: 25.5 }),
      'input over-current 6.00 A > 5 A for 2.0 s (power monitor)',
    );
  });

  it('a reading within the limits ends the run; a transient shorter than the debounce never trips', () => {
    const g = new InputLimitGuard(limit);
    for (let t = 0; t < 60_000; t += 3000) {
      assert.equal(g.update(t, { currentA: 7, powerW: 35 }), undefined);
      assert.equal(g.update(t + 1500, { currentA: 7, powerW: 35 }), undefined);
      assert.equal(g.update(t + 1750, { currentA: 3, powerW: 15 }), undefined);
      assert.equal(g.overSinceMs, undefined);
    }
  });

  it('power alone above its limit trips; a missing reading neither ends nor extends the run', () => {
    const g = new InputLimitGuard(limit);
    assert.equal(g.update(0, { currentA: 4.9, powerW: 26 }), undefined);
    assert.equal(g.update(1000, null), undefined);
    assert.equal(g.update(1500, { currentA: null, powerW: null }), undefined);
    assert.equal(g.overSinceMs, 0);
    assert.match(
      g.update(2500, { currentA: 4.9, powerW: 26 }) ?? '',
      /^input over-power 26.0 W > 25 W for 2.5 s/,
    );
    g.reset();
    assert.equal(g.overSinceMs, undefined);
  });

  it('refuses nonsense limits', () => {
    assert.throws(() => new InputLimitGuard({ ...limit, maxA: 0 }), /maxA and maxW must be > 0/);
    assert.throws(() => new InputLimitGuard({ ...limit, debounceMs: -1 }), /debounceMs/);
  });
});

describe('DS4432U boards: the limit is board data', () => {
  it('Ultra, Supra and Max (USB and Pi-wired) carry the input limit with its source; TPS546 / QAxe / PiAxe do not', () => {
    for (const id of [
      'bitaxe-ultra-usb',
      'bitaxe-supra-usb',
      'bitaxe-max-usb',
      'bitaxe-ultra',
      'sim-ultra-usb',
    ]) {
      const b = findBoard(id)!;
      assert.deepEqual(b.power?.inputLimit, DS4432U_BITAXE_INPUT_LIMIT, id);
    }
    assert.match(DS4432U_BITAXE_INPUT_LIMIT.source, /choice/);
    for (const id of ['bitaxe-gamma-usb', 'qaxe', 'piaxe'])
      assert.equal(findBoard(id)!.power?.inputLimit, undefined, id);
  });
});

describe('power controller: input over-current on a DS4432U board (emulated INA260, ManualClock)', () => {
  function rig() {
    const clock = new ManualClock();
    const profile = findBoard('bitaxe-ultra-usb')!;
    const chain = createSimBoardChain({ model: profile.chip, chips: profile.chips, clock, autoHash: false });
    return { clock, chain, ...createSimPower(profile, { clock, chain }) };
  }
  async function up(r: ReturnType<typeof rig>) {
    const p = r.controller.bringUp();
    let done = false;
    void p.finally(() => {
      done = true;
    });
    for (let t = 0; t < 10_000 && !done; t += 50) await r.clock.advanceAsync(50);
    await p;
    await r.controller.setReset(false);
  }

  it('a load above 5 A at the input for 2 s: latched stop (enable released, core off, reset held), listeners told once; clear → up again', async () => {
    const r = rig();
    await up(r);
    const faults: string[] = [];
    r.controller.onFault((f) => faults.push(f.reason));
    r.board.setExtraLoad(20); // +24 W on the core: ~5.6 A at the 5 V input
    await r.clock.advanceAsync(1750);
    assert.equal(r.controller.state, 'on', 'not before the debounce time');
    assert.deepEqual(faults, []);
    await r.clock.advanceAsync(1000);
    assert.equal(faults.length, 1);
    assert.match(faults[0]!, /^input over-(current|power) .* for 2\.\d s \(power monitor\)$/);
    assert.equal(r.controller.state, 'fault');
    assert.equal(r.board.enabled, false, 'ASIC_ENABLE released');
    assert.equal(r.board.coreVolts(), 0);
    assert.equal(r.board.resetHeld, true);
    assert.equal(r.chain.answering, false);
    await r.clock.advanceAsync(5000);
    assert.equal(faults.length, 1, 'latched: told once');
    r.board.setExtraLoad(0);
    await r.controller.clearFault();
    await up(r);
    assert.equal(r.controller.state, 'on');
    await r.clock.advanceAsync(5000);
    assert.equal(r.controller.state, 'on', 'normal load stays on');
    await r.controller.powerOff();
    r.board.close();
  });

  it('a transient above the limit shorter than the debounce time does not stop the board', async () => {
    const r = rig();
    await up(r);
    r.board.setExtraLoad(20);
    await r.clock.advanceAsync(1000);
    r.board.setExtraLoad(0);
    await r.clock.advanceAsync(5000);
    assert.equal(r.controller.state, 'on');
    assert.equal(r.controller.fault, undefined);
    await r.controller.powerOff();
    r.board.close();
  });
});
