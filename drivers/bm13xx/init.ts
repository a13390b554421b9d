/**
 * Initialisation sequences per model as data: the frames ESP-Miner sends, in order, with the kind of
 * pause after each. The chain actor runs them (pauses on its Clock) around the interactive step —
 * enumeration by chip-id read — so tests can check the exact byte sequence without any I/O.
 */
import {
  chainInactiveFrame,
  readRegisterAllFrame,
  setAddressFrame,
  writeRegisterAllFrame,
  writeRegisterFrame,
} from './codec.ts';
import type { ModelInfo } from './models.ts';
import { frequencyRamp, pllFor, pllRegisterValue } from './pll.ts';
import { hashCountingNumber, REG, ticketMaskValue, versionMaskValue } from './registers.ts';

/** Pause classes; the chain maps them to milliseconds (shortened for emulators). */
export type PauseKind = 'none' | 'gap' | 'ramp' | 'settle';

export interface InitStep {
  frame: Uint8Array;
  /** Pause after sending. 'gap' ≈ 10–20 ms, 'ramp' = 100 ms per frequency step, 'settle' = 500 ms. */
  pause: PauseKind;
  what: string;
}

export interface InitParams {
  chipCount: number;
  frequencyMHz: number;
  /** BIP320 version mask for 0xA4 (BM1366+). Default 0x1fffe000. */
  versionMask?: number;
  /** Ticket difficulty for 0x14. Default 256. */
  ticketDifficulty?: number;
  /** Frequency the chips run at now (50 MHz after reset). */
  fromMHz?: number;
}

export const DEFAULT_VERSION_MASK = 0x1fffe000;
export const RESET_MHZ = 50;

/** floor(256 / chips): the spacing of chip addresses and so of the nonce-space split. */
export function addressInterval(chipCount: number): number {
  return Math.floor(256 / Math.max(1, chipCount));
}

const hex = (v: number) => v.toString(16).padStart(8, '0');
const all = (reg: number, value: number, pause: PauseKind = 'none'): InitStep => ({
  frame: writeRegisterAllFrame(reg, value),
  pause,
  what: `write all 0x${reg.toString(16).padStart(2, '0')}=${hex(value)}`,
});
const one = (addr: number, reg: number, value: number): InitStep => ({
  frame: writeRegisterFrame(addr, reg, value),
  pause: 'none',
  what: `write chip@${addr} 0x${reg.toString(16).padStart(2, '0')}=${hex(value)}`,
});

/** Frames sent before enumeration (BM1366+ enable version rolling first, which makes replies 11 bytes). */
export function preEnumeration(m: ModelInfo, versionMask = DEFAULT_VERSION_MASK): InitStep[] {
  const times = m.model === 'BM1368' ? 4 : m.model === 'BM1397' ? 0 : 3;
  return Array.from({ length: times }, () => all(REG.VERSION_ROLLING, versionMaskValue(versionMask)));
}

/** The enumeration frame: read register 0x00 from all chips. */
export function enumerationFrame(): Uint8Array {
  return readRegisterAllFrame(REG.CHIP_ID);
}

/** Chain inactive, then set-address once per chip at i · floor(256/n). */
export function addressingSteps(chipCount: number): InitStep[] {
  const step = addressInterval(chipCount);
  const out: InitStep[] = [{ frame: chainInactiveFrame(), pause: 'none', what: 'chain inactive' }];
  for (let i = 0; i < chipCount; i++) {
    out.push({ frame: setAddressFrame(i * step), pause: 'none', what: `set address ${i * step}` });
  }
  return out;
}

/** One frequency step: BM1397 brackets 0x08 with 0x70 writes and sends each twice. */
export function frequencySteps(m: ModelInfo, mhz: number): InitStep[] {
  const pll = pllRegisterValue(m, pllFor(m, mhz));
  if (m.model === 'BM1397') {
    return [
      all(REG.PLL0_DIVIDER, 0x0f0f0f00, 'gap'),
      all(REG.PLL0_DIVIDER, 0x0f0f0f00, 'gap'),
      all(REG.PLL0, pll, 'gap'),
      all(REG.PLL0, pll, 'ramp'),
    ];
  }
  return [all(REG.PLL0, pll, 'ramp')];
}

/** Ramp from one frequency to another in 6.25 MHz steps, then the hash counting number (BM1366+). */
export function rampSteps(m: ModelInfo, fromMHz: number, toMHz: number, chipCount: number): InitStep[] {
  const out = frequencyRamp(fromMHz, toMHz).flatMap((f) => frequencySteps(m, f));
  const hcn = hashCountingNumber(m, chipCount, toMHz);
  if (hcn !== undefined) out.push(all(REG.HASH_COUNTING_NUMBER, hcn));
  return out;
}

/** Frames after enumeration, per model (ESP BMxxxx_init order). Max baud is separate (chain actor). */
export function postEnumeration(m: ModelInfo, p: InitParams): InitStep[] {
  const n = p.chipCount;
  const step = addressInterval(n);
  const addrs = Array.from({ length: n }, (_, i) => i * step);
  const ticket = all(REG.TICKET_MASK, ticketMaskValue(p.ticketDifficulty ?? 256));
  const vmask = all(REG.VERSION_ROLLING, versionMaskValue(p.versionMask ?? DEFAULT_VERSION_MASK));
  const ramp = rampSteps(m, p.fromMHz ?? RESET_MHZ, p.frequencyMHz, n);
  switch (m.model) {
    case 'BM1397':
      return [
        { frame: chainInactiveFrame(), pause: 'none', what: 'chain inactive' },
        ...addressingSteps(n).slice(1),
        all(REG.CLOCK_ORDER_0, 0),
        all(REG.CLOCK_ORDER_1, 0),
        all(REG.ORDERED_CLOCK_ENABLE, 0x00000001),
        all(REG.CORE_REGISTER_CONTROL, 0x80008074),
        ticket,
        all(REG.PLL3, 0xc0700111),
        all(REG.FAST_UART, 0x0600000f),
        all(REG.MISC_CONTROL, 0x00007a31),
        ...ramp,
      ];
    case 'BM1366':
      return [
        all(REG.REG_A8, 0x00070000),
        all(REG.MISC_CONTROL, 0xff0fc100),
        ...addressingSteps(n),
        all(REG.CORE_REGISTER_CONTROL, 0x80008540),
        all(REG.CORE_REGISTER_CONTROL, 0x80008020),
        ticket,
        all(REG.ANALOG_MUX, 0x00000003),
        all(REG.IO_DRIVER_STRENGTH, 0x02111111),
        one(0, REG.UART_RELAY, 0x007c0003),
        ...addrs.flatMap((a) => [
          one(a, REG.REG_A8, 0x000701f0),
          one(a, REG.MISC_CONTROL, 0xf000c100),
          one(a, REG.CORE_REGISTER_CONTROL, 0x80008540),
          one(a, REG.CORE_REGISTER_CONTROL, 0x80008020),
          one(a, REG.CORE_REGISTER_CONTROL, 0x800082aa),
        ]),
        ...ramp,
        vmask,
      ];
    case 'BM1368':
      return [
        { frame: chainInactiveFrame(), pause: 'none', what: 'chain inactive' },
        all(REG.REG_A8, 0x00070000),
        all(REG.MISC_CONTROL, 0xff0fc100),
        all(REG.CORE_REGISTER_CONTROL, 0x80008b00),
        all(REG.CORE_REGISTER_CONTROL, 0x80008018),
        ticket,
        all(REG.ANALOG_MUX, 0x00000003),
        all(REG.IO_DRIVER_STRENGTH, 0x02111111),
        ...addressingSteps(n).slice(1),
        ...addrs.flatMap((a) => {
          const s = [
            one(a, REG.REG_A8, 0x000701f0),
            one(a, REG.MISC_CONTROL, 0xf000c100),
            one(a, REG.CORE_REGISTER_CONTROL, 0x80008b00),
            one(a, REG.CORE_REGISTER_CONTROL, 0x80008018),
            one(a, REG.CORE_REGISTER_CONTROL, 0x800082aa),
          ];
          s[4]!.pause = 'settle';
          return s;
        }),
        ticket,
        ...ramp,
        vmask,
      ];
    case 'BM1370':
      return [
        vmask,
        all(REG.REG_A8, 0x00070000),
        all(REG.MISC_CONTROL, 0xf000c100),
        ...addressingSteps(n),
        all(REG.CORE_REGISTER_CONTROL, 0x80008b00),
        all(REG.CORE_REGISTER_CONTROL, 0x8000800c),
        ticket,
        all(REG.IO_DRIVER_STRENGTH, 0x00011111),
        ...addrs.flatMap((a) => [
          one(a, REG.REG_A8, 0x000701f0),
          one(a, REG.MISC_CONTROL, 0xf000c100),
          one(a, REG.CORE_REGISTER_CONTROL, 0x80008b00),
          one(a, REG.CORE_REGISTER_CONTROL, 0x8000800c),
          one(a, REG.CORE_REGISTER_CONTROL, 0x800082aa),
        ]),
        all(REG.REG_B9, 0x00004480),
        all(REG.ANALOG_MUX, 0x00000002),
        all(REG.REG_B9, 0x00004480),
        all(REG.CORE_REGISTER_CONTROL, 0x80008dee),
        ...ramp,
      ];
  }
}

/** The max-baud register write for the model (send after init, then switch the host UART). */
export function maxBaudStep(m: ModelInfo): InitStep {
  return all(m.maxBaud.reg, m.maxBaud.value, 'gap');
}
