/**
 * Per-model constants of the BM13xx family (BM1397, BM1366, BM1368, BM1370): chip id, reply length,
 * job format and job-id stepping, how a nonce reply's byte 7 splits into job id and sub-id, core counts,
 * PLL feedback-divider range and post-divider encoding, defaults, job timeout, hash-counting-number
 * correction and the max-baud register write. Facts and sources: REFERENCE.md beside this file.
 */

export type ChipModel = 'BM1397' | 'BM1366' | 'BM1368' | 'BM1370';

export const CHIP_MODELS: readonly ChipModel[] = ['BM1397', 'BM1366', 'BM1368', 'BM1370'];

export interface ModelInfo {
  readonly model: ChipModel;
  /** CHIP_ID field of register 0x00 (bits 31..16). */
  readonly chipId: number;
  /** Length of every chip→host frame, preamble included. */
  readonly replyLength: 9 | 11;
  /** 'midstate': BM1397 job with 1..4 midstates; 'header': full-header job, the chip rolls versions. */
  readonly jobFormat: 'midstate' | 'header';
  /** Job ids go id = (id + step) % 128. */
  readonly jobIdStep: number;
  /** Number of distinct job ids the stepping visits. */
  readonly jobIdCount: number;
  /** Job id from byte 7 of a nonce reply. */
  replyJobId(b7: number): number;
  /** Sub-id from byte 7: midstate index (BM1397) or small-core id (others). */
  replySubId(b7: number): number;
  /** The chip rolls version bits itself and reports them in bytes 8..9. */
  readonly rollsVersion: boolean;
  readonly coreCount: number;
  readonly smallCoreCount: number;
  readonly hashDomains: number;
  readonly defaultMHz: number;
  readonly defaultMilliVolts: number;
  readonly fbMin: number;
  readonly fbMax: number;
  /** ESP default_asic_timeout (ms). */
  readonly defaultTimeoutMs: number;
  /** Subtracted from the hash counting number before truncation (BM1370 errata); undefined = no HCN write. */
  readonly hcnCorrection: number | undefined;
  /** Register write that raises the chips' UART rate, and the host rate to switch to afterwards. */
  readonly maxBaud: { readonly reg: number; readonly value: number; readonly baud: number };
  /** Line rate after reset. */
  readonly resetBaud: number;
  /** Registers polled for hashrate/error counting. */
  readonly counterRegisters: readonly number[];
}

function make(m: ModelInfo): ModelInfo {
  return Object.freeze(m);
}

export const MODELS: Readonly<Record<ChipModel, ModelInfo>> = Object.freeze({
  BM1397: make({
    model: 'BM1397',
    chipId: 0x1397,
    replyLength: 9,
    jobFormat: 'midstate',
    jobIdStep: 4,
    jobIdCount: 32,
    replyJobId: (b7) => b7 & 0xfc,
    replySubId: (b7) => b7 & 0x03,
    rollsVersion: false,
    coreCount: 168,
    smallCoreCount: 672,
    hashDomains: 1,
    defaultMHz: 425,
    defaultMilliVolts: 1400,
    fbMin: 60,
    fbMax: 200,
    defaultTimeoutMs: 20,
    hcnCorrection: undefined,
    maxBaud: { reg: 0x18, value: 0x0000_6031, baud: 3_125_000 },
    resetBaud: 115_200,
    counterRegisters: [0x04, 0x4c],
  }),
  BM1366: make({
    model: 'BM1366',
    chipId: 0x1366,
    replyLength: 11,
    jobFormat: 'header',
    jobIdStep: 8,
    jobIdCount: 16,
    replyJobId: (b7) => b7 & 0xf8,
    replySubId: (b7) => b7 & 0x07,
    rollsVersion: true,
    coreCount: 112,
    smallCoreCount: 894,
    hashDomains: 4,
    defaultMHz: 485,
    defaultMilliVolts: 1200,
    fbMin: 144,
    fbMax: 235,
    defaultTimeoutMs: 2000,
    hcnCorrection: 0,
    maxBaud: { reg: 0x28, value: 0x1130_0200, baud: 1_000_000 },
    resetBaud: 115_200,
    counterRegisters: [0x4c, 0x88, 0x89, 0x8a, 0x8b, 0x8c],
  }),
  BM1368: make({
    model: 'BM1368',
    chipId: 0x1368,
    replyLength: 11,
    jobFormat: 'header',
    jobIdStep: 24,
    jobIdCount: 16,
    replyJobId: (b7) => (b7 & 0xf0) >>> 1,
    replySubId: (b7) => b7 & 0x0f,
    rollsVersion: true,
    coreCount: 80,
    smallCoreCount: 1276,
    hashDomains: 4,
    defaultMHz: 490,
    defaultMilliVolts: 1166,
    fbMin: 144,
    fbMax: 235,
    defaultTimeoutMs: 500,
    hcnCorrection: 0,
    maxBaud: { reg: 0x28, value: 0x1130_0200, baud: 1_000_000 },
    resetBaud: 115_200,
    counterRegisters: [0x4c, 0x88, 0x89, 0x8a, 0x8b, 0x8c],
  }),
  BM1370: make({
    model: 'BM1370',
    chipId: 0x1370,
    replyLength: 11,
    jobFormat: 'header',
    jobIdStep: 24,
    jobIdCount: 16,
    replyJobId: (b7) => (b7 & 0xf0) >>> 1,
    replySubId: (b7) => b7 & 0x0f,
    rollsVersion: true,
    coreCount: 128,
    smallCoreCount: 2040,
    hashDomains: 4,
    defaultMHz: 525,
    defaultMilliVolts: 1150,
    fbMin: 160,
    fbMax: 239,
    defaultTimeoutMs: 500,
    hcnCorrection: 268,
    maxBaud: { reg: 0x28, value: 0x1130_0200, baud: 1_000_000 },
    resetBaud: 115_200,
    counterRegisters: [0x4c, 0x88, 0x89, 0x8a, 0x8b, 0x8c],
  }),
});

/** Model info by name; throws a clear error naming the field for an unknown model. */
export function modelInfo(model: string): ModelInfo {
  const m = (MODELS as Record<string, ModelInfo | undefined>)[model.toUpperCase()];
  if (!m) throw new Error(`chip model: unknown "${model}" (expected one of ${CHIP_MODELS.join(', ')})`);
  return m;
}

/** Model whose CHIP_ID matches, if any. */
export function modelByChipId(chipId: number): ModelInfo | undefined {
  return CHIP_MODELS.map((m) => MODELS[m]).find((m) => m.chipId === chipId);
}

/** The job id that follows `prev` for this model (ESP stepping: (prev + step) % 128). */
export function nextJobId(m: ModelInfo, prev: number): number {
  return (prev + m.jobIdStep) % 128;
}

/** Next power of two ≥ x, with np2(0) = np2(1) = 1. */
export function np2(x: number): number {
  let p = 1;
  while (p < x) p *= 2;
  return p;
}

/** Interval between jobs in ms (ESP ASIC_get_asic_job_frequency_ms / calculate_bm_timeout_ms). */
export function jobIntervalMs(m: ModelInfo, chipCount: number, freqMHz = m.defaultMHz): number {
  if (m.jobFormat === 'header') return Math.floor(m.defaultTimeoutMs / np2(chipCount));
  return bmTimeoutMs(
    freqMHz,
    chipCount,
    m.smallCoreCount,
    m.coreCount,
    4,
    1,
    m.defaultTimeoutMs / np2(chipCount),
  );
}

/** ESP calculate_bm_timeout_ms. */
export function bmTimeoutMs(
  freqMHz: number,
  chips: number,
  smallCores: number,
  cores: number,
  versions: number,
  pct: number,
  fallback: number,
): number {
  if (chips === 0 || np2(smallCores) < np2(cores) || freqMHz <= 0) return fallback;
  const midstates = np2(smallCores) / np2(cores);
  const serialVersions = versions / midstates;
  const serialNonces = 2 ** 32 / np2(cores) / np2(chips);
  return (pct * serialVersions * serialNonces) / (freqMHz * 1000);
}
