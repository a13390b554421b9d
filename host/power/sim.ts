/**
 * An emulated board's power parts from its profile (sim-* twins, tests, `asicd sim --board`): the
 * electrical model (firmware/power) on the emulated I2C bus and GPIO lines, and the real host drivers
 * and PowerController on top — the same code path as on hardware.
 */
import type { BoardProfile } from '../../boards/types.ts';
import type { EmulatedChain } from '../../firmware/bm13xx/chain.ts';
import { EmulatedPowerBoard } from '../../firmware/power/board.ts';
import { EmulatedGpio } from '../../firmware/power/gpio.ts';
import { EmulatedI2cBus } from '../../firmware/sensors/i2c-bus.ts';
import type { ThermalModel } from '../../firmware/sensors/thermal-model.ts';
import type { Clock } from '../../lib/clock.ts';
import type { Logger } from '../../lib/log.ts';
import { PowerController } from './controller.ts';
import { monitorFor, regulatorFor } from './parts.ts';

export interface SimPower {
  board: EmulatedPowerBoard;
  gpio: EmulatedGpio;
  bus: EmulatedI2cBus;
  controller: PowerController;
}

/** Input supply per board family: Bitaxe 5 V, PiAxe and QAxe 12 V. */
function vinOf(b: BoardProfile): number {
  return b.power?.regulator.kind === 'tps546' || b.power?.regulator.kind === 'ds4432u' ? 5 : 12;
}

export function createSimPower(
  profile: BoardProfile,
  o: {
    clock: Clock;
    chain: EmulatedChain;
    model?: ThermalModel;
    bus?: EmulatedI2cBus;
    logger?: Logger;
    voltageMv?: number;
  },
): SimPower {
  const spec = profile.power;
  if (!spec) throw new Error(`${profile.id}: no power capabilities to emulate`);
  const bus = o.bus ?? new EmulatedI2cBus(`sim:${profile.id}:i2c`);
  // Power-on levels of the host's lines (choice, REFERENCE.md): enables off, reset asserted.
  const pulls: Record<number, boolean> = {};
  if (spec.enable) pulls[spec.enable.line] = spec.enable.activeLow;
  if (spec.reset) pulls[spec.reset.line] = !spec.reset.activeLow;
  const gpio = new EmulatedGpio(`sim:${profile.id}:gpio`, pulls);
  const r = spec.regulator;
  const lim = profile.limits.voltageMv;
  const board = new EmulatedPowerBoard({
    clock: o.clock,
    chain: o.chain,
    ...(o.model ? { model: o.model } : {}),
    bus,
    gpio,
    regulator:
      r.kind === 'tps546' || r.kind === 'ds4432u'
        ? { kind: r.kind, address: r.address }
        : { kind: r.kind, volts: r.mv / 1000 },
    monitor: spec.monitor,
    ...(spec.enable ? { enable: spec.enable } : {}),
    ...(spec.pgood ? { pgood: spec.pgood } : {}),
    ...(spec.reset ? { reset: spec.reset } : {}),
    minVolts: (lim.min * 0.85) / 1000,
    // Over-voltage damage is modelled where the host sequences the buck (an enable line); a Pi-wired
    // Bitaxe profile has no known enable line, so its DAC starts at the power-on 1.458 V as on the bench.
    ...(spec.enable ? { maxVolts: (lim.max * 1.1) / 1000 } : {}),
    vin: vinOf(profile),
  });
  const controller = new PowerController({
    spec,
    clock: o.clock,
    ...(o.logger ? { logger: o.logger } : {}),
    gpio,
    ...(() => {
      const reg = regulatorFor(spec, bus);
      const mon = monitorFor(spec, bus);
      return { ...(reg ? { regulator: reg } : {}), ...(mon ? { monitor: mon } : {}) };
    })(),
    windowMv: { min: lim.min, max: lim.max },
    voltageMv: o.voltageMv ?? (r.kind === 'fixed' || r.kind === 'bridge' ? r.mv : lim.default),
  });
  return { board, gpio, bus, controller };
}
