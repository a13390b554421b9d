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
  | { kind: 'sim' }
  /** The data CDC port of a USB bridge (its control port is in `bridge`), found by VID/PID/product. */
  | { kind: 'usb-bridge'; baud: number };

/**
 * A USB bridge MCU between the host and the chips (bitaxe-raw on a Bitaxe's ESP32-S3, the QAxe's
 * STM32L072, emberOne's RP2040). Ports are found by VID/PID/product string and USB interface number,
 * never by ttyACM number (drivers/bridge/discover.ts).
 */
export interface UsbBridgeSpec {
  protocol: 'bitaxe-raw' | 'qaxe';
  /** USB vendor/product id; absent = any (mujina matches a Gamma's bitaxe-raw by strings only). */
  vid?: number;
  pid?: number;
  /** USB product string (also selects the GPIO map and framing of bitaxe-raw firmwares). */
  product: string;
  manufacturer?: string;
  /** bInterfaceNumber of the control and data CDC ACM interfaces. */
  controlInterface: number;
  dataInterface: number;
  /** bitaxe-raw reply framing (v0: EF main / Gamma; v1: bcdDevice ≥ 0x0510). */
  replyVersion?: 0 | 1;
}

/** Where a board's GPIO lines live: the Pi's own controller (chardev, found by label) or the bridge. */
export type GpioSource =
  | {
      kind: 'pi' /** gpiochip labels to look for, first match wins (Pi 5 moved the header). */;
      labels: string[];
    }
  | { kind: 'bridge' };

/** One digital line. `activeLow`: the asserted state (power on, reset held, good) is electrical low. */
export interface LineSpec {
  line: number;
  activeLow: boolean;
  /** Header name for messages, e.g. "SDN (BCM17, pin 11)". */
  label: string;
}

export interface ResetSpec extends LineSpec {
  /** Reset asserted this long, then released and this long before the first command (ms). */
  assertMs: number;
  releaseMs: number;
}

/** One register write of a regulator init table, in order. `value` per the command's format. */
export interface Tps546InitStep {
  cmd: string;
  /** 'byte' | 'word' raw; 'slinear11' / 'slinear11-int' / 'ulinear16' in engineering units. */
  format: 'byte' | 'word' | 'slinear11' | 'slinear11-int' | 'ulinear16' | 'send';
  value?: number;
}

export type RegulatorSpec =
  /** TI TPS546D24A over PMBus: identified, configured from `init` with the output off, then VOUT_COMMAND. */
  | {
      kind: 'tps546';
      address: number;
      init: Tps546InitStep[];
      /** Core voltage window the regulator itself is programmed to allow (VOUT_MIN/VOUT_MAX), V. */
      voutMinV: number;
      voutMaxV: number;
      /** Over-temperature fault limit the regulator enforces, °C. */
      otFaultC: number;
    }
  /** Maxim DS4432U+ current DAC trimming a buck's feedback (Bitaxe Max/Ultra/Supra). */
  | { kind: 'ds4432u'; address: number }
  /** Fixed core voltage (PiAxe's 1.2 V buck, QAxe's buck): only on/off. */
  | { kind: 'fixed'; mv: number }
  /** The bridge firmware owns the power sequence (QAxe Reset/Shutdown). */
  | { kind: 'bridge'; mv: number };

export type MonitorSpec =
  | { kind: 'ina260'; address: number }
  /** The regulator's own READ_VIN/VOUT/IOUT/TEMPERATURE (TPS546). */
  | { kind: 'regulator' }
  | { kind: 'none' };

/**
 * Power and reset capabilities, as data. Bring-up (host/power) follows: regulator identified and
 * configured with the output off → enable → voltage set and PGOOD → reset pulse → chip init → ramp.
 */
export interface PowerSpec {
  gpio: GpioSource;
  /** Core regulator. */
  regulator: RegulatorSpec;
  monitor: MonitorSpec;
  /** Buck enable (PiAxe SDN, Bitaxe ASIC_ENABLE, QAxe RUN): asserted = power on. */
  enable?: LineSpec;
  /** Regulator power-good input: asserted = good. */
  pgood?: LineSpec;
  /** Chip reset: asserted = chips held in reset. */
  reset?: ResetSpec;
  /** Wait after enabling / setting the voltage before checking PGOOD and releasing reset (ms). */
  settleMs: number;
  /** Give up waiting for PGOOD after this long (ms). */
  pgoodTimeoutMs: number;
  /** Regulator (VR) temperature limit for the thermal monitor, °C. */
  vrMaxTempC?: number;
  /**
   * Host-side over-current stop from the power monitor's input readings (host/power/input-limit.ts), for
   * boards whose regulator reports no fault and that have no PGOOD line (DS4432U-trimmed Bitaxes).
   */
  inputLimit?: InputLimitSpec;
}

/** A board's input limits (the supply / connector rating; `source` says where the numbers come from). */
export interface InputLimitSpec {
  /** Input current limit, A. */
  maxA: number;
  /** Input power limit, W. */
  maxW: number;
  /** How long the input must stay above a limit before the board is stopped (ms). */
  debounceMs: number;
  /** How often the monitor is read while the core is on (ms). */
  sampleMs: number;
  /** Where the numbers come from. */
  source: string;
}

/** How the fan is driven. */
export type FanSpec =
  | { kind: 'emc2101' }
  /** Pi hardware PWM via sysfs (dtoverlay=pwm): chip, channel, frequency; tach on a GPIO. */
  | { kind: 'pi-pwm'; chip: number; channel: number; hz: number; tachLine?: number; fixedPercent?: number }
  /** The bridge firmware drives the fan (QAxe Control pwm1/pwm2). */
  | { kind: 'bridge-pwm' }
  | { kind: 'none' };

/**
 * Thermal parts on the board's I2C bus (drivers/sensors SensorSpec: EMC2101 with its fan, TMP1075 /
 * TMP75 / LM75). Every listed temperature counts as a chip temperature; the hottest governs.
 */
export interface I2cSpec {
  /** Bus number: /dev/i2c-N; 'bridge' = the I2C page of the board's USB bridge. */
  bus: number | 'bridge';
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
  /** USB bridge of the board (transport kind 'usb-bridge'). */
  bridge?: UsbBridgeSpec;
  /** Power and reset capabilities; absent = chips already powered and out of reset (legacy profiles). */
  power?: PowerSpec;
  fan?: FanSpec;
  /** Runs entirely on the emulators in firmware/. */
  simulated: boolean;
  /** Emulated chips report hashes with this many leading zero bits (easy mode; sim boards only). */
  easyBits?: number;
}
