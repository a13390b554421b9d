/**
 * The chip model table of the emulator: per BM13xx model, the chip-id register, reply length, job
 * format, how job id and sub-id share reply byte 7, which register sets the baud rate, PLL divider
 * encoding and register reset values. Facts and sources are in REFERENCE.md beside this file.
 */

export type ChipModel = 'BM1397' | 'BM1366' | 'BM1368' | 'BM1370';
export const CHIP_MODELS: readonly ChipModel[] = ['BM1397', 'BM1366', 'BM1368', 'BM1370'];

export interface ChipModelInfo {
  model: ChipModel;
  /** CHIP_ID field, reg 0x00 bits 31..16. */
  chipId: number;
  /** CORE_NUM field, reg 0x00 bits 15..8. */
  coreNum: number;
  /** Big cores (7-bit core field of the nonce) and small cores (ESP's counts). */
  coreCount: number;
  smallCoreCount: number;
  /** 'midstate': BM1397 frames carry 1..4 midstates; 'header': BM1366+ frames carry the header fields. */
  jobFormat: 'midstate' | 'header';
  /** Reply length once fully configured (BM1366+: 11 only while version rolling is on, see chip.ts). */
  replyLength: 9 | 11;
  /** Bits of B7 used by the sub-id (midstate index or small core). */
  subIdBits: number;
  /** Register holding the UART divisor. */
  baudRegister: 0x18 | 0x28;
  /** PLL post-divider byte: raw values (BM1397) or value − 1 (BM1366+). */
  postdivMinusOne: boolean;
  /** Counter registers this model answers with modelled values. */
  hashDomains: number;
  defaultMhz: number;
  /** Register reset values (register → 32-bit value). Reg 0x00 is computed (address in bits 7..0). */
  reset: Readonly<Record<number, number>>;
}

const COMMON_RESET: Record<number, number> = {
  20: 0x00000000, // ticket mask: no extra difficulty until the host writes one [inference]
  32: 0x00000000,
  60: 0x00000000,
  76: 0x00000000,
  128: 0x00000000,
  132: 0x00000000,
};

export const MODELS: Readonly<Record<ChipModel, ChipModelInfo>> = {
  BM1397: {
    model: 'BM1397',
    chipId: 0x1397,
    coreNum: 0x18,
    coreCount: 168,
    smallCoreCount: 672,
    jobFormat: 'midstate',
    replyLength: 9,
    subIdBits: 2,
    baudRegister: 0x18,
    postdivMinusOne: false,
    hashDomains: 1,
    defaultMhz: 425,
    reset: {
      ...COMMON_RESET,
      8: 0xc0600161, // SKOT reset value: fb 96, refdiv 1, p1 6, p2 1 → 400 MHz
      24: 0x00003a01, // SKOT misc control reset
      40: 0x0600000f, // SKOT fast UART reset
      88: 0x02112111,
      104: 0x00000000,
      112: 0x00000000,
    },
  },
  BM1366: {
    model: 'BM1366',
    chipId: 0x1366,
    coreNum: 0x00,
    coreCount: 112,
    smallCoreCount: 894,
    jobFormat: 'header',
    replyLength: 11,
    subIdBits: 3,
    baudRegister: 0x28,
    postdivMinusOne: true,
    hashDomains: 4,
    defaultMhz: 485,
    reset: headerReset(),
  },
  BM1368: {
    model: 'BM1368',
    chipId: 0x1368,
    coreNum: 0x00,
    coreCount: 80,
    smallCoreCount: 1276,
    jobFormat: 'header',
    replyLength: 11,
    subIdBits: 4,
    baudRegister: 0x28,
    postdivMinusOne: true,
    hashDomains: 4,
    defaultMhz: 490,
    reset: headerReset(),
  },
  BM1370: {
    model: 'BM1370',
    chipId: 0x1370,
    coreNum: 0x00,
    coreCount: 128,
    smallCoreCount: 2040,
    jobFormat: 'header',
    replyLength: 11,
    subIdBits: 4,
    baudRegister: 0x28,
    postdivMinusOne: true,
    hashDomains: 4,
    defaultMhz: 525,
    reset: headerReset(),
  },
};

function headerReset(): Record<number, number> {
  return {
    ...COMMON_RESET,
    8: 0x40c40266, // [inference] no public reset value; fb 196, refdiv 2, p1 7, p2 7 → 50 MHz (ESP's start)
    16: 0x00000000,
    24: 0x0000c100, // SKOT BM1366 misc control reset
    40: 0x00001a00, // [inference] BT8D 26, BCLK_SEL 0 → 115 740 baud, the documented reset rate
    88: 0x02112111, // SKOT IO driver strength reset
    164: 0x0000ffff, // SKOT version rolling reset: mask 0xFFFF, EN and MID_AUTO_GEN clear
    168: 0x00070000, // SKOT reset
  };
}

export function modelInfo(model: string): ChipModelInfo {
  const m = MODELS[model.toUpperCase() as ChipModel];
  if (!m) throw new Error(`model: unknown chip model "${model}" (expected one of ${CHIP_MODELS.join(', ')})`);
  return m;
}

/** Reply byte 7 for a nonce: job id plus sub-id (midstate index or small core), per model. */
export function encodeB7(info: ChipModelInfo, jobId: number, subId: number): number {
  switch (info.model) {
    case 'BM1397':
      return (jobId & 0xfc) | (subId & 0x03);
    case 'BM1366':
      return (jobId & 0xf8) | (subId & 0x07);
    default:
      return ((jobId << 1) & 0xf0) | (subId & 0x0f);
  }
}

/** PLL reg 0x08 → output frequency in MHz (25 MHz reference). NaN when a divider is 0. */
export function pllFrequencyMhz(info: ChipModelInfo, reg08: number): number {
  const fb = (reg08 >>> 16) & 0xfff;
  const refdiv = (reg08 >>> 8) & 0x3f;
  let p1 = (reg08 >>> 4) & 0x7;
  let p2 = reg08 & 0x7;
  if (info.postdivMinusOne) {
    p1 += 1;
    p2 += 1;
  }
  if (refdiv === 0 || p1 === 0 || p2 === 0) return Number.NaN;
  return (25 * fb) / (refdiv * p1 * p2);
}

/**
 * UART rate from the model's baud register (SKOT: f / ((BT8D + 1) · 8), f = 25 MHz CLKI when
 * BCLK_SEL = 0). Returns undefined when the clock comes from a PLL we do not model.
 */
export function baudFromRegister(info: ChipModelInfo, value: number): number | undefined {
  if (info.baudRegister === 0x18) {
    // BM1397 misc control: BT8D[4:0] in bits 12..8, BT8D[8:5] in bits 27..24, BCLK_SEL bit 16
    const bt8d = ((value >>> 8) & 0x1f) | (((value >>> 24) & 0x0f) << 5);
    if ((value >>> 16) & 1) return undefined;
    return Math.round(25e6 / ((bt8d + 1) * 8));
  }
  // BM1366+ fast UART configuration: BT8D[15:8], BCLK_SEL[27:26]
  const bt8d = (value >>> 8) & 0xff;
  if ((value >>> 26) & 0x3) return undefined;
  return Math.round(25e6 / ((bt8d + 1) * 8));
}
