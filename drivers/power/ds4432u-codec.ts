/**
 * DS4432U+ current DAC that trims the feedback node of a Bitaxe buck (ESP-Miner DS4432U.c:24-86).
 * The DAC sinks (bit 7 set) or sources (bit 7 clear) up to 127 steps of I_FS/127 into the feedback
 * divider (RA = 4750 Ω, RB = 3320 Ω, VFB = 0.6 V, I_FS = 98.921 µA from the board's RFS):
 *   code = ceil(|(VFB/RB − (V − VFB)/RA) / I_FS × 127|) | (V < 1.451 ? 0x80 : 0)
 * The sign threshold 1.451 V is ESP-Miner's (the true zero crossing is ≈ 1.4584 V); mirrored as is.
 * The DAC reaches 0.989–1.928 V. ESP-Miner range-checks 0.046–2.39 V only, which lets a magnitude
 * above 127 spill into the sign bit; this encoder refuses such voltages instead (REFERENCE.md).
 */
export const DS4432U_ADDRESS = 0x48;
export const DS4432U_OUT0 = 0xf8;

const VFB = 0.6;
const RA = 4750;
const RB = 3320;
const IFS = 98.921e-6;

export function ds4432uCode(volts: number): number {
  if (!Number.isFinite(volts)) throw new RangeError(`DS4432U: not a voltage: ${volts}`);
  const mag = Math.ceil(Math.abs(((VFB / RB - (volts - VFB) / RA) / IFS) * 127) - 1e-9);
  if (mag > 127)
    throw new RangeError(
      `DS4432U: ${volts.toFixed(3)} V is outside what the DAC can reach (${DS4432U_RANGE.min.toFixed(3)}–${DS4432U_RANGE.max.toFixed(3)} V)`,
    );
  return (volts < 1.451 ? 0x80 : 0) | mag;
}

/** The output voltage a code gives (inverse of ds4432uCode, up to rounding). */
export function ds4432uVolts(code: number): number {
  if (!Number.isInteger(code) || code < 0 || code > 0xff)
    throw new RangeError(`DS4432U: not a byte: ${code}`);
  const i = ((code & 0x7f) / 127) * IFS;
  const sink = (code & 0x80) !== 0;
  return VFB + RA * (VFB / RB + (sink ? -i : i));
}

export const DS4432U_RANGE = { min: ds4432uVolts(0xff), max: ds4432uVolts(0x7f) } as const;
