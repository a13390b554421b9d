/**
 * Boards are data: one typed profile per board (chip model and count, transport, reset line, sensors,
 * fan, limits, defaults), like ESP-Miner's device_config.h tables but without a global state object.
 * The daemon reads a profile and wires drivers (real boards) or emulators (sim-* boards) from it.
 */
import type { ChipModel } from '../drivers/bm13xx/models.ts';

export type { ChipModel };

export type TransportSpec =
  /** A UART through `serialport`: /dev/ttyS0, /dev/ttyAMA0, /dev/ttyUSB0, /dev/ttyACM0 … */
  | { kind: 'uart'; path: string; baud: number }
  /** A UART behind an SC16IS752/SC16IS740 SPI-to-UART bridge (Pi HATs with extra chains). */
  | { kind: 'spi-uart'; spiPath: string; channel: 0 | 1; crystalHz: number; baud: number }
  /** The project's emulated chain, in process. */
  | { kind: 'sim' };

export type SensorSpec =
  | {
      kind: 'emc2101';
      bus: string;
      address: number;
      channel: 'internal' | 'external';
      role: SensorRole;
      offsetC?: number;
    }
  | { kind: 'tmp1075' | 'lm75'; bus: string; address: number; role: SensorRole; offsetC?: number }
  | { kind: 'firmata-thermistor'; device: string; pin: number; role: SensorRole; offsetC?: number }
  | { kind: 'sim'; role: SensorRole; name: string };

export type SensorRole = 'chip' | 'vr' | 'board';

export type FanSpec =
  | { kind: 'emc2101'; bus: string; address: number }
  | { kind: 'firmata'; device: string; pwmPin: number; tachPin?: number }
  | { kind: 'sim' }
  | { kind: 'none' };

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
  /** Hashing stops above this regulator temperature (°C), where measured. */
  maxVrTempC?: number;
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
  /** GPIO line that holds the chips in reset (active low), where the board has one. */
  reset?: { gpio: number };
  sensors: SensorSpec[];
  fan: FanSpec;
  limits: BoardLimits;
  /** Runs entirely on the emulators in firmware/. */
  simulated: boolean;
  /** Emulated chips report hashes down to this many leading zero bits (easy mode; sim boards only). */
  easyBits?: number;
}
