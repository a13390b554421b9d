/**
 * The board table. `asicd boards` lists it; `--board ID` picks one; `generic` is built from flags
 * (--chip, --chips, --device, --baud) for repurposed hardware. Sources for chip counts, thermal parts
 * and defaults: ESP-Miner device_config.h (Bitaxe family); NerdQAxe++ is 4 × BM1370 on one chain.
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

function real(id: string, name: string, chip: ChipModel, chips: number, parts: SensorSpec[]): BoardProfile {
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
  };
}

const REAL: BoardProfile[] = [
  real('bitaxe-max', 'Bitaxe Max (Compac F class)', 'BM1397', 1, [emcExternal]),
  real('bitaxe-ultra', 'Bitaxe Ultra', 'BM1366', 1, [emcInternal]),
  real('bitaxe-supra', 'Bitaxe Supra', 'BM1368', 1, [emcExternal]),
  real('bitaxe-gamma', 'Bitaxe Gamma', 'BM1370', 1, [emcGamma]),
  real('nerdqaxe-pp', 'NerdQAxe++', 'BM1370', 4, [emcGamma, tmp1075(0x4a), tmp1075(0x4b)]),
  real('bitaxe-hex', 'Bitaxe Hex', 'BM1366', 6, [emcInternal, tmp1075(0x4a), tmp1075(0x4b)]),
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

export function findBoard(id: string): BoardProfile | undefined {
  return BOARDS.find((b) => b.id === id);
}

export function boardIds(): string[] {
  return [...BOARDS.map((b) => b.id), 'generic'];
}
