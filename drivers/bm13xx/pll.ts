/**
 * PLL0 parameter search (ESP-Miner's pll_get_parameters), its register 0x08 encoding per model and the
 * 6.25 MHz frequency ramp. f = 25 MHz · FBDIV / (REFDIV · POSTDIV1 · POSTDIV2).
 */
import type { ModelInfo } from './models.ts';

export interface PllParams {
  fb: number;
  refdiv: number;
  postdiv1: number;
  postdiv2: number;
  /** Frequency these parameters produce (MHz). */
  actualMHz: number;
  /** VCO frequency 25 · fb / refdiv (MHz). */
  vcoMHz: number;
}

const REF_MHZ = 25;

/**
 * Searches refdiv 2→1, postdiv1 7→1, postdiv2 7→1 with postdiv1 > postdiv2 and fb in [fbMin, fbMax];
 * keeps the closest frequency, on a tie (within 1e-4 MHz) the lower VCO, then the smaller p1·p2.
 * Undefined when no combination fits the range.
 */
export function pllSearch(targetMHz: number, fbMin: number, fbMax: number): PllParams | undefined {
  let best: PllParams | undefined;
  let bestDiff = Number.POSITIVE_INFINITY;
  for (let refdiv = 2; refdiv >= 1; refdiv--) {
    for (let p1 = 7; p1 >= 1; p1--) {
      for (let p2 = 7; p2 >= 1; p2--) {
        if (!(p1 > p2)) continue;
        const fb = Math.round((targetMHz / REF_MHZ) * refdiv * p1 * p2);
        if (fb < fbMin || fb > fbMax) continue;
        const actualMHz = (REF_MHZ * fb) / (refdiv * p1 * p2);
        const vcoMHz = (REF_MHZ * fb) / refdiv;
        const diff = Math.abs(actualMHz - targetMHz);
        const cand = { fb, refdiv, postdiv1: p1, postdiv2: p2, actualMHz, vcoMHz };
        if (!best || diff < bestDiff - 1e-4) {
          best = cand;
          bestDiff = diff;
        } else if (Math.abs(diff - bestDiff) < 1e-4) {
          if (vcoMHz < best.vcoMHz || (vcoMHz === best.vcoMHz && p1 * p2 < best.postdiv1 * best.postdiv2)) {
            best = cand;
            bestDiff = diff;
          }
        }
      }
    }
  }
  return best;
}

/** PLL parameters for a model's fb range; throws naming the frequency when none fit. */
export function pllFor(m: ModelInfo, targetMHz: number): PllParams {
  const p = pllSearch(targetMHz, m.fbMin, m.fbMax);
  if (!p)
    throw new Error(`frequency: no ${m.model} PLL setting for ${targetMHz} MHz (fb ${m.fbMin}..${m.fbMax})`);
  return p;
}

/**
 * Register 0x08 value. BM1397: 0x40 | fb | refdiv | (p1 << 4 | p2). BM1366/68/70: 0x50 when the VCO is
 * at or above 2400 MHz else 0x40 | fb | refdiv | ((p1 − 1) << 4 | (p2 − 1)).
 */
export function pllRegisterValue(m: ModelInfo, p: PllParams): number {
  if (m.model === 'BM1397') {
    return ((0x40 << 24) | (p.fb << 16) | (p.refdiv << 8) | (p.postdiv1 << 4) | p.postdiv2) >>> 0;
  }
  const top = p.vcoMHz >= 2400 ? 0x50 : 0x40;
  return ((top << 24) | (p.fb << 16) | (p.refdiv << 8) | ((p.postdiv1 - 1) << 4) | (p.postdiv2 - 1)) >>> 0;
}

export const RAMP_STEP_MHZ = 6.25;

/**
 * Frequencies to set, in order, to move from `fromMHz` to `toMHz`: first onto the 6.25 MHz grid, then
 * one grid step at a time, ending exactly at the target (ESP frequency_transition). Empty when equal.
 */
export function frequencyRamp(fromMHz: number, toMHz: number): number[] {
  const out: number[] = [];
  if (fromMHz === toMHz) return out;
  const up = toMHz > fromMHz;
  let cur = fromMHz;
  const onGrid = Math.abs(cur / RAMP_STEP_MHZ - Math.round(cur / RAMP_STEP_MHZ)) < 1e-9;
  if (!onGrid) {
    cur = (up ? Math.ceil(cur / RAMP_STEP_MHZ) : Math.floor(cur / RAMP_STEP_MHZ)) * RAMP_STEP_MHZ;
    if (up ? cur < toMHz : cur > toMHz) out.push(cur);
  }
  for (;;) {
    const next = up ? cur + RAMP_STEP_MHZ : cur - RAMP_STEP_MHZ;
    if (up ? next >= toMHz : next <= toMHz) break;
    out.push(next);
    cur = next;
  }
  out.push(toMHz);
  return out;
}
