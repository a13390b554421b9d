/**
 * The board table. `asicd boards` lists it; `--board ID` picks one; `generic` is built from flags
 * (--chip, --chips, --device, --baud) for repurposed hardware. Sources for the chip counts, sensors
 * and defaults: ESP-Miner device_config.h (Bitaxe family), NerdQAxe++ (4 × BM1370) hardware notes.
 */
import { CHIP_MODELS, MODELS } from '../drivers/bm13xx/models.ts';
import type { BoardLimits, BoardProfile, ChipModel, SensorSpec } from './types.ts';

export type * from './types.ts';

/** Frequency / voltage ranges per chip family (ESP-Miner frequency and voltage option lists). */
const CHIP_LIMITS: Record<ChipModel, Pick<BoardLimits, 'frequencyMhz' | 'voltageMv'>> = {
  BM1397: {
    frequencyMhz: { min: 50, max: 650, default: 425 },
    voltageMv: { min: 1100, max: 1500, default: 1400 },
  },
  BM1366: {
    frequencyMhz: { min: 50, max: 575, default: 485 },
    voltageMv: { min: 1000, max: 1300, default: 1200 },
  },
  BM1368: {
    frequencyMhz: { min: 50, max: 575, default: 490 },
    voltageMv: { min: 1000, max: 1300, default: 1166 },
  },
  BM1370: {
    frequencyMhz: { min: 50, max: 625, default: 525 },
    voltageMv: { min: 1000, max: 1300, default: 1150 },
  },
};

function limits(chip: ChipModel, extra: Partial<BoardLimits> = {}): BoardLimits {
  return {
    ...CHIP_LIMITS[chip],
    targetTempC: 60,
    maxTempC: 75,
    maxVrTempC: 105,
    minFanPercent: 25,
    ...extra,
  };
}

const BITAXE_UART = { kind: 'uart' as const, path: '/dev/ttyS0', baud: 115200 };
const emcExternal: SensorSpec = {
  kind: 'emc2101',
  bus: '/dev/i2c-1',
  address: 0x4c,
  channel: 'external',
  role: 'chip',
};
const emcInternal: SensorSpec = {
  kind: 'emc2101',
  bus: '/dev/i2c-1',
  address: 0x4c,
  channel: 'internal',
  role: 'chip',
};
const emcFan = { kind: 'emc2101' as const, bus: '/dev/i2c-1', address: 0x4c };

function real(
  id: string,
  name: string,
  description: string,
  chip: ChipModel,
  chips: number,
  sensors: SensorSpec[],
): BoardProfile {
  return {
    id,
    name,
    description,
    chip,
    chips,
    transport: BITAXE_UART,
    reset: { gpio: 1 },
    sensors,
    fan: emcFan,
    limits: limits(chip),
    simulated: false,
  };
}

const REAL: BoardProfile[] = [
  real('bitaxe-max', 'Bitaxe Max', '1 × BM1397 (GekkoScience Compac F class)', 'BM1397', 1, [emcExternal]),
  real('bitaxe-ultra', 'Bitaxe Ultra', '1 × BM1366', 'BM1366', 1, [emcInternal]),
  real('bitaxe-supra', 'Bitaxe Supra', '1 × BM1368', 'BM1368', 1, [emcExternal]),
  real('bitaxe-gamma', 'Bitaxe Gamma', '1 × BM1370', 'BM1370', 1, [emcExternal]),
  real('nerdqaxe-pp', 'NerdQAxe++', '4 × BM1370 on one chain', 'BM1370', 4, [
    { kind: 'tmp1075', bus: '/dev/i2c-1', address: 0x48, role: 'chip' },
    { kind: 'tmp1075', bus: '/dev/i2c-1', address: 0x4c, role: 'chip' },
  ]),
  real('bitaxe-hex', 'Bitaxe Hex', '6 × BM1366 on one chain', 'BM1366', 6, [
    { kind: 'tmp1075', bus: '/dev/i2c-1', address: 0x4a, role: 'chip' },
    { kind: 'tmp1075', bus: '/dev/i2c-1', address: 0x4b, role: 'chip' },
  ]),
];

/** Simulated boards: emulated chips (easy mode), emulated sensors and fan driven by a thermal model. */
function sim(real: BoardProfile): BoardProfile {
  return {
    ...real,
    id: `sim-${real.id.replace(/^bitaxe-/, '')}`,
    name: `Simulated ${real.name}`,
    description: `${real.description}, emulated (firmware/): no hardware needed`,
    transport: { kind: 'sim' },
    reset: undefined,
    sensors: real.sensors.map((_, i) => ({ kind: 'sim', role: 'chip', name: `chip${i}` })),
    fan: { kind: 'sim' },
    simulated: true,
    easyBits: 16,
  } as BoardProfile;
}

export const BOARDS: readonly BoardProfile[] = Object.freeze([...REAL, ...REAL.map(sim)]);

export interface GenericOptions {
  chip: string;
  chips: number;
  device: string;
  baud?: number;
}

/** The `generic` profile for repurposed hardware: one chain on a UART, sensors configured separately. */
export function genericBoard(o: GenericOptions): BoardProfile {
  const chip = o.chip.toUpperCase() as ChipModel;
  if (!CHIP_MODELS.includes(chip))
    throw new Error(`--chip: "${o.chip}" is not one of ${CHIP_MODELS.join(', ')}`);
  if (!Number.isInteger(o.chips) || o.chips < 1 || o.chips > 256) {
    throw new Error(`--chips: must be a whole number from 1 to 256, got ${o.chips}`);
  }
  if (!o.device) throw new Error('--device: required with --board generic (e.g. /dev/ttyUSB0)');
  return {
    id: 'generic',
    name: `Generic ${o.chips} × ${chip}`,
    description: 'built from --chip/--chips/--device flags',
    chip,
    chips: o.chips,
    transport: { kind: 'uart', path: o.device, baud: o.baud ?? MODELS[chip].resetBaud },
    sensors: [],
    fan: { kind: 'none' },
    limits: limits(chip),
    simulated: false,
  };
}

export function findBoard(id: string): BoardProfile | undefined {
  return BOARDS.find((b) => b.id === id);
}

export function boardIds(): string[] {
  return [...BOARDS.map((b) => b.id), 'generic'];
}
