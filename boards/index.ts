/**
 * The board table. `asicd boards` lists it; `--board ID` picks one; `generic` is built from flags
 * (--chip, --chips, --device, --baud) for repurposed hardware. Sources for chip counts, thermal parts
 * and defaults: ESP-Miner device_config.h (Bitaxe family); NerdQAxe++ is 4 × BM1370 on one chain.
 */
import { CHIP_MODELS, MODELS } from '../drivers/bm13xx/models.ts';
import {
  BITAXE_RAW_BRIDGE,
  bitaxeRawPower,
  DS4432U_BITAXE_INPUT_LIMIT,
  PIAXE_POWER,
  QAXE_BRIDGE,
  QAXE_POWER,
  TPS546_GAMMA,
} from './power-parts.ts';
import type { BoardLimits, BoardProfile, ChipModel, PowerSpec, SensorSpec } from './types.ts';

export type * from './types.ts';

/**
 * Frequency / voltage ranges per chip family. Voltage windows: ESP-Miner device_config.h:91-95
 * (BM1397 1100–1500, BM1366/1368 1100–1300, BM1370 1000–1250 mV); defaults per board below.
 */
const CHIP_LIMITS: Record<ChipModel, Pick<BoardLimits, 'frequencyMhz' | 'voltageMv'>> = {
  BM1397: {
    frequencyMhz: { min: 50, max: 650, default: 425 },
    voltageMv: { min: 1100, max: 1500, default: 1400 },
  },
  BM1366: {
    frequencyMhz: { min: 50, max: 575, default: 485 },
    voltageMv: { min: 1100, max: 1300, default: 1200 },
  },
  BM1368: {
    frequencyMhz: { min: 50, max: 575, default: 490 },
    voltageMv: { min: 1100, max: 1300, default: 1166 },
  },
  BM1370: {
    frequencyMhz: { min: 50, max: 625, default: 525 },
    voltageMv: { min: 1000, max: 1250, default: 1150 },
  },
};

function limits(chip: ChipModel): BoardLimits {
  return { ...CHIP_LIMITS[chip], targetTempC: 60, maxTempC: 75, minFanPercent: 25 };
}

const BITAXE_UART = { kind: 'uart' as const, path: '/dev/ttyS0', baud: 115200 };
// EMC2101 at 0x4c: the chip's diode on the external channel, and the fan (ESP-Miner device_config.h;
// Gamma-class boards use ideality 0x24 and beta compensation 0). TMP1075s sit next to the chips.
const emcExternal: SensorSpec = { part: 'EMC2101', address: 0x4c, channel: 'external' };
const emcGamma: SensorSpec = { part: 'EMC2101', address: 0x4c, channel: 'external', ideality: 0x24, beta: 0 };
const emcInternal: SensorSpec = { part: 'EMC2101', address: 0x4c, channel: 'internal' };
const tmp1075 = (address: number): SensorSpec => ({ part: 'TMP1075', address });

function real(
  id: string,
  name: string,
  chip: ChipModel,
  chips: number,
  parts: SensorSpec[],
  extra: Partial<BoardProfile> = {},
): BoardProfile {
  return {
    id,
    name,
    description: `${chips} × ${chip}`,
    chip,
    chips,
    transport: BITAXE_UART,
    i2c: { bus: 1, parts },
    limits: limits(chip),
    simulated: false,
    ...extra,
  };
}

/** Board limits with this board's default core voltage (device_config.h per-board defaults). */
function withVoltage(chip: ChipModel, mv: number): BoardLimits {
  const l = limits(chip);
  return { ...l, voltageMv: { ...l.voltageMv, default: mv } };
}

const ds4432u = { kind: 'ds4432u' as const, address: 0x48 };
/** Regulator and monitor on the Pi's I2C, no GPIO lines known for a Pi-wired Bitaxe (chips already out of reset). */
function i2cPower(regulator: PowerSpec['regulator'], monitor: PowerSpec['monitor']): PowerSpec {
  return {
    gpio: { kind: 'pi', labels: [] },
    regulator,
    monitor,
    settleMs: 500,
    pgoodTimeoutMs: 2000,
    vrMaxTempC: 105,
    // DS4432U + INA260: the host watches the input (no regulator status, no PGOOD).
    ...(regulator.kind === 'ds4432u' && monitor.kind === 'ina260'
      ? { inputLimit: DS4432U_BITAXE_INPUT_LIMIT }
      : {}),
  };
}

/** A Bitaxe running bitaxe-raw: the ESP32-S3 is only a USB bridge (I2C, GPIO), the host runs the board. */
function bitaxeUsb(
  id: string,
  name: string,
  chip: ChipModel,
  mv: number,
  tps546: boolean,
  parts: SensorSpec[],
): BoardProfile {
  return {
    id,
    name: `${name} (bitaxe-raw USB)`,
    description: `1 × ${chip}`,
    chip,
    chips: 1,
    transport: { kind: 'usb-bridge', baud: 115200 },
    bridge: BITAXE_RAW_BRIDGE,
    i2c: { bus: 'bridge', parts },
    power: bitaxeRawPower(tps546 ? TPS546_GAMMA : ds4432u, !tps546),
    fan: { kind: 'emc2101' },
    limits: withVoltage(chip, mv),
    simulated: false,
  };
}

const REAL: BoardProfile[] = [
  real('bitaxe-max', 'Bitaxe Max (Compac F class)', 'BM1397', 1, [emcExternal], {
    limits: withVoltage('BM1397', 1400),
    power: i2cPower(ds4432u, { kind: 'ina260', address: 0x40 }),
    fan: { kind: 'emc2101' },
  }),
  real('bitaxe-ultra', 'Bitaxe Ultra', 'BM1366', 1, [emcInternal], {
    limits: withVoltage('BM1366', 1200),
    power: i2cPower(ds4432u, { kind: 'ina260', address: 0x40 }),
    fan: { kind: 'emc2101' },
  }),
  real('bitaxe-supra', 'Bitaxe Supra', 'BM1368', 1, [emcExternal], {
    limits: withVoltage('BM1368', 1166),
    power: i2cPower(ds4432u, { kind: 'ina260', address: 0x40 }),
    fan: { kind: 'emc2101' },
  }),
  real('bitaxe-gamma', 'Bitaxe Gamma', 'BM1370', 1, [emcGamma], {
    limits: withVoltage('BM1370', 1150),
    power: i2cPower(TPS546_GAMMA, { kind: 'regulator' }),
    fan: { kind: 'emc2101' },
  }),
  real('nerdqaxe-pp', 'NerdQAxe++', 'BM1370', 4, [emcGamma, tmp1075(0x4a), tmp1075(0x4b)]),
  real('bitaxe-hex', 'Bitaxe Hex', 'BM1366', 6, [emcInternal, tmp1075(0x4a), tmp1075(0x4b)]),
  {
    id: 'piaxe',
    name: 'PiAxe (Pi HAT)',
    description: '1 × BM1366',
    chip: 'BM1366',
    chips: 1,
    transport: { kind: 'uart', path: '/dev/serial0', baud: 115200 },
    i2c: { bus: 1, parts: [tmp1075(0x48)] },
    power: PIAXE_POWER,
    fan: { kind: 'pi-pwm', chip: 0, channel: 0, hz: 1000, tachLine: 24 },
    limits: withVoltage('BM1366', 1200),
    simulated: false,
  },
  {
    id: 'qaxe',
    name: 'QAxe (USB)',
    description: '4 × BM1366',
    chip: 'BM1366',
    chips: 4,
    transport: { kind: 'usb-bridge', baud: 115200 },
    bridge: QAXE_BRIDGE,
    power: QAXE_POWER,
    fan: { kind: 'bridge-pwm' },
    limits: withVoltage('BM1366', 1200),
    simulated: false,
  },
  {
    id: 'qaxe-plus',
    name: 'QAxe+ (USB)',
    description: '4 × BM1368',
    chip: 'BM1368',
    chips: 4,
    transport: { kind: 'usb-bridge', baud: 115200 },
    bridge: QAXE_BRIDGE,
    power: QAXE_POWER,
    fan: { kind: 'bridge-pwm' },
    limits: { ...withVoltage('BM1368', 1200), frequencyMhz: { min: 50, max: 575, default: 490 } },
    simulated: false,
  },
  bitaxeUsb('bitaxe-gamma-usb', 'Bitaxe Gamma', 'BM1370', 1150, true, [emcGamma]),
  bitaxeUsb('bitaxe-supra-usb', 'Bitaxe Supra', 'BM1368', 1166, false, [emcInternal]),
  bitaxeUsb('bitaxe-ultra-usb', 'Bitaxe Ultra', 'BM1366', 1200, false, [emcInternal]),
  bitaxeUsb('bitaxe-max-usb', 'Bitaxe Max', 'BM1397', 1400, false, [emcExternal]),
];

/** Simulated boards: emulated chips (easy mode) and the same thermal parts, emulated over a thermal model. */
function sim(b: BoardProfile): BoardProfile {
  return {
    ...b,
    id: `sim-${b.id.replace(/^bitaxe-/, '')}`,
    name: `Simulated ${b.name}`,
    description: `${b.description}, emulated (firmware/): no hardware needed`,
    transport: { kind: 'sim' },
    simulated: true,
    easyBits: 16,
  };
}

export const BOARDS: readonly BoardProfile[] = Object.freeze([...REAL, ...REAL.map(sim)]);

export interface GenericOptions {
  chip: string;
  chips: number;
  device: string;
  baud?: number;
}

/** The `generic` profile for repurposed hardware: one chain on a UART; thermal parts configured separately. */
export function genericBoard(o: GenericOptions): BoardProfile {
  const chip = String(o.chip).toUpperCase() as ChipModel;
  if (!CHIP_MODELS.includes(chip))
    throw new Error(`chip: "${o.chip}" is not one of ${CHIP_MODELS.join(', ')}`);
  if (!Number.isInteger(o.chips) || o.chips < 1 || o.chips > 256) {
    throw new Error(`chips: must be a whole number from 1 to 256, got ${o.chips}`);
  }
  if (!o.device) throw new Error('device: required with --board generic (e.g. --device /dev/ttyUSB0)');
  return {
    id: 'generic',
    name: `Generic ${o.chips} × ${chip}`,
    description: 'built from --chip/--chips/--device flags',
    chip,
    chips: o.chips,
    transport: { kind: 'uart', path: o.device, baud: o.baud ?? MODELS[chip].resetBaud },
    limits: limits(chip),
    simulated: false,
  };
}

/** What a board's regulator is, for listings: "TPS546@0x24", "DS4432U@0x48", "fixed 1200 mV", "–". */
export function regulatorName(b: BoardProfile): string {
  const r = b.power?.regulator;
  if (!r) return '–';
  if (r.kind === 'tps546') return `TPS546@0x${r.address.toString(16)}`;
  if (r.kind === 'ds4432u') return `DS4432U@0x${r.address.toString(16)}`;
  if (r.kind === 'fixed') return `fixed ${r.mv} mV`;
  return 'bridge firmware';
}

export function monitorName(b: BoardProfile): string {
  const m = b.power?.monitor;
  if (!m || m.kind === 'none') return '–';
  if (m.kind === 'ina260') return `INA260@0x${m.address.toString(16)}`;
  return 'regulator telemetry';
}

export function findBoard(id: string): BoardProfile | undefined {
  return BOARDS.find((b) => b.id === id);
}

export function boardIds(): string[] {
  return [...BOARDS.map((b) => b.id), 'generic'];
}
