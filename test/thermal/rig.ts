/**
 * Test rig for the thermal controller: a ThermalModel on a ManualClock, emulated EMC2101 (fan + chip
 * diode) and TMP1075 on an emulated I2C bus, the real drivers on top, a ThermalMonitor, and a fake
 * "daemon" that applies decisions to the model (stop-hashing → chips idle, resume/throttle → frequency).
 */
import { Emc2101 } from '../../drivers/sensors/emc2101.ts';
import { tmp1075 } from '../../drivers/sensors/lm75.ts';
import type { TemperatureSensor } from '../../drivers/sensors/types.ts';
import { EmulatedEmc2101 } from '../../firmware/sensors/emc2101.ts';
import { EmulatedI2cBus } from '../../firmware/sensors/i2c-bus.ts';
import { ThermalModel, type ThermalModelOptions } from '../../firmware/sensors/thermal-model.ts';
import { EmulatedTmp1075 } from '../../firmware/sensors/tmp1075.ts';
import {
  type ThermalDecision,
  ThermalMonitor,
  type ThermalMonitorOptions,
} from '../../host/thermal/index.ts';
import { ManualClock } from '../../lib/clock.ts';
import { memoryLogger } from '../../lib/log.ts';

export interface RigOptions {
  model?: Omit<ThermalModelOptions, 'clock'>;
  monitor?: Partial<Omit<ThermalMonitorOptions, 'sensors' | 'fan' | 'clock'>>;
  /** Which sensor governs: the EMC2101 external diode (Gamma style) or a TMP1075 (Hex style). */
  sensor?: 'emc2101' | 'tmp1075';
  /** Extra sensor wrappers (e.g. a hanging one). */
  wrap?: (s: TemperatureSensor) => TemperatureSensor;
}

export async function thermalRig(o: RigOptions = {}) {
  const clock = new ManualClock();
  const model = new ThermalModel({ clock, ambientC: 25, initialC: 30, ...o.model });
  const bus = new EmulatedI2cBus('sim:i2c-1');
  const emcChip = new EmulatedEmc2101(model);
  const tmpChip = new EmulatedTmp1075(model, { coupling: 1 });
  bus.attach(0x4c, emcChip).attach(0x4a, tmpChip);
  const emc = new Emc2101(bus);
  await emc.init();
  const tmp = tmp1075(bus, 0x4a);
  await tmp.init();
  const base: TemperatureSensor = o.sensor === 'tmp1075' ? tmp : emc;
  const sensor = o.wrap ? o.wrap(base) : base;
  const logger = memoryLogger('debug');
  const monitor = new ThermalMonitor({
    sensors: [sensor],
    fan: emc,
    clock,
    logger,
    protection: { limitC: 75, frequencyMHz: 525, ...o.monitor?.protection },
    ...o.monitor,
  });
  const decisions: { at: number; d: ThermalDecision; chipC: number }[] = [];
  monitor.onDecision((d) => {
    decisions.push({ at: clock.now(), d, chipC: model.chipTempC() });
    if (d.kind === 'stop-hashing') model.setHashing(false);
    else {
      model.setFrequency(d.frequencyMHz);
      if (d.kind === 'resume') model.setHashing(true);
      monitor.setFrequency(d.frequencyMHz);
    }
  });
  /** Advances simulated time in poll-sized steps, tracking the chip temperature's peak. */
  let peakC = Number.NEGATIVE_INFINITY;
  const run = async (ms: number, each?: () => void) => {
    const end = clock.now() + ms;
    while (clock.now() < end) {
      await clock.advanceAsync(Math.min(100, end - clock.now()));
      peakC = Math.max(peakC, model.chipTempC());
      each?.();
    }
  };
  const resetPeak = () => {
    peakC = Number.NEGATIVE_INFINITY;
  };
  return {
    clock,
    model,
    bus,
    emcChip,
    tmpChip,
    emc,
    tmp,
    monitor,
    logger,
    decisions,
    run,
    resetPeak,
    get peakC() {
      return peakC;
    },
  };
}
