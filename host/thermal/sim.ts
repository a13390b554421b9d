/**
 * The simulated board's thermal hardware for `asicd sim` / `asicd demo` and sim-* profiles: a thermal
 * model, the emulated EMC2101 (+ optional TMP1075s) on an emulated I2C bus, and the real drivers on
 * top — so the daemon runs the same ThermalMonitor code path as on hardware. The daemon keeps the
 * model in step with the chips (setHashing / setFrequency) when it applies decisions.
 */
import { openI2cSensors, type SensorSpec } from '../../drivers/sensors/index.ts';
import type { FanDriver, TemperatureSensor } from '../../drivers/sensors/types.ts';
import { EmulatedEmc2101 } from '../../firmware/sensors/emc2101.ts';
import { EmulatedI2cBus } from '../../firmware/sensors/i2c-bus.ts';
import { ThermalModel, type ThermalModelOptions } from '../../firmware/sensors/thermal-model.ts';
import { EmulatedTmp1075 } from '../../firmware/sensors/tmp1075.ts';

export interface SimThermalOptions extends Omit<ThermalModelOptions, 'clock'> {
  clock: ThermalModelOptions['clock'];
  /** Add TMP1075s at these addresses (Hex-style boards). */
  tmp1075At?: number[];
}

export interface SimThermal {
  model: ThermalModel;
  bus: EmulatedI2cBus;
  emc2101: EmulatedEmc2101;
  sensors: TemperatureSensor[];
  fan: FanDriver | undefined;
}

export async function createSimThermal(o: SimThermalOptions): Promise<SimThermal> {
  const { tmp1075At = [], ...modelOpts } = o;
  const model = new ThermalModel(modelOpts);
  const bus = new EmulatedI2cBus('sim:i2c-0');
  const emc2101 = new EmulatedEmc2101(model);
  bus.attach(0x4c, emc2101);
  const specs: SensorSpec[] = [{ part: 'EMC2101', address: 0x4c }];
  for (const a of tmp1075At) {
    bus.attach(a, new EmulatedTmp1075(model));
    specs.push({ part: 'TMP1075', address: a });
  }
  const { sensors, fan } = await openI2cSensors(bus, specs);
  return { model, bus, emc2101, sensors, fan };
}
