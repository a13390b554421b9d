/**
 * Temperature sensors and fan drivers for asicd. Board profiles describe their parts with SensorSpec;
 * openI2cSensors() builds and initialises the drivers on an I2cBus (drivers/transport: openI2c for
 * Linux i2c-dev, or an emulated bus), and openFirmataBoard() gives a Firmata I/O board. Everything is
 * wrapped behind TemperatureSensor / FanDriver for host/thermal.
 */
import type { I2cBus } from '../transport/contract.ts';
import { Emc2101 } from './emc2101.ts';
import type { FirmataBoard, FirmataBoardOptions } from './firmata-board.ts';
import { Lm75Sensor } from './lm75.ts';
import type { FanDriver, TemperatureSensor } from './types.ts';

export { Emc2101, type Emc2101Options } from './emc2101.ts';
export { SensorError, type SensorErrorCode } from './errors.ts';
export type { FirmataBoard, FirmataBoardOptions } from './firmata-board.ts';
export { type Lm75Options, type Lm75Part, Lm75Sensor, lm75, tmp75, tmp1075 } from './lm75.ts';
export { adcToCelsius, celsiusToAdc, DEFAULT_THERMISTOR, type ThermistorParams } from './thermistor.ts';
export type { FanDriver, Initializable, TemperatureSensor } from './types.ts';

export type SensorSpec =
  | {
      part: 'EMC2101';
      address?: number;
      /** Which temperature channel is the chip temperature (default external diode). */
      channel?: 'external' | 'internal';
      ideality?: number;
      beta?: number;
      offsetC?: number;
      /** This EMC2101 drives the board fan (default true). */
      fan?: boolean;
    }
  | { part: 'TMP1075' | 'TMP75' | 'LM75'; address: number; offsetC?: number };

export interface I2cSensorSet {
  sensors: TemperatureSensor[];
  fan: FanDriver | undefined;
}

/** Builds and initialises (id check, fan configuration) the parts of a board on one bus. */
export async function openI2cSensors(bus: I2cBus, specs: SensorSpec[]): Promise<I2cSensorSet> {
  const sensors: TemperatureSensor[] = [];
  let fan: FanDriver | undefined;
  for (const spec of specs) {
    if (spec.part === 'EMC2101') {
      const d = new Emc2101(bus, spec);
      await d.init();
      sensors.push(d);
      if (spec.fan !== false && !fan) fan = d;
    } else {
      const d = new Lm75Sensor(bus, { address: spec.address, part: spec.part, offsetC: spec.offsetC });
      await d.init();
      sensors.push(d);
    }
  }
  return { sensors, fan };
}

/**
 * Opens a Firmata I/O board (thermistor + PWM fan + tach) through johnny-five. Loaded on demand so
 * daemons without a Firmata board never load johnny-five.
 */
export async function openFirmataBoard(opts: FirmataBoardOptions): Promise<FirmataBoard> {
  const { FirmataBoard } = await import('./firmata-board.ts');
  return FirmataBoard.open(opts);
}
