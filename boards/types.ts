/**
 * Boards are data: one typed profile per board (chip model and count, transport, thermal parts, limits,
 * defaults), like ESP-Miner's device_config.h tables but without a global state object. The daemon
 * reads a profile and wires drivers (real boards) or emulators (sim-* boards) from it.
 */
import type { ChipModel } from '../drivers/bm13xx/models.ts';
import type { SensorSpec } from '../drivers/sensors/index.ts';

export type { ChipModel, SensorSpec };

export type TransportSpec =
  /** A UART through `serialport`: /dev/ttyS0, /dev/ttyAMA0, /dev/ttyUSB0, /dev/ttyACM0 … */
  | { kind: 'uart'; path: string; baud: number }
  /** A UART behind an SC16IS752/SC16IS740 SPI-to-UART bridge (Pi HATs with extra chains). */
  | { kind: 'spi-uart'; spiBus: number; spiDevice: number; channel: 0 | 1; crystalHz: number; baud: number }
  /** The project's emulated chain, in process. */
  | { kind: 'sim' };

/**
 * Thermal parts on the board's I2C bus (drivers/sensors SensorSpec: EMC2101 with its fan, TMP1075 /
 * TMP75 / LM75). Every listed temperature counts as a chip temperature; the hottest governs.
 */
export interface I2cSpec {
  /** Bus number: /dev/i2c-N. */
  bus: number;
  parts: SensorSpec[];
}

/** A Firmata I/O board (Arduino-class) with a thermistor, a PWM fan and a tach, via johnny-five. */
export interface FirmataSpec {
  path: string;
  thermistorChannel?: number;
  fanPin?: number;
  tachPin?: number;
}

export interface Range {
  min: number;
  max: number;
  default: number;
}

export interface BoardLimits {
  frequencyMhz: Range;
  voltageMv: Range;
  /** Fan PID setpoint (°C). */
  targetTempC: number;
  /** Hashing stops above this chip temperature (°C). */
  maxTempC: number;
  /** Minimum fan duty in auto mode (%). */
  minFanPercent: number;
}

export interface BoardProfile {
  id: string;
  name: string;
  description: string;
  chip: ChipModel;
  chips: number;
  transport: TransportSpec;
  i2c?: I2cSpec;
  firmata?: FirmataSpec;
  limits: BoardLimits;
  /** Runs entirely on the emulators in firmware/. */
  simulated: boolean;
  /** Emulated chips report hashes with this many leading zero bits (easy mode; sim boards only). */
  easyBits?: number;
}
