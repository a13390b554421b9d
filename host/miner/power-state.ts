/**
 * Board power in the miner's state (kept out of daemon.ts, which lifecycle owns): measured rails, VR
 * temperature, efficiency in J/TH from measured power and the measured hashrate, the latched fault.
 */
import type { MinerState, PowerInfo } from '../api/types.ts';
import { POWER_FAULT_CLEARS } from '../power/controller.ts';
import type { BoardPower } from './hardware.ts';

export function powerInfo(
  power: BoardPower | undefined,
  hashrateGhs: number,
): Pick<MinerState, 'power' | 'voltageMv' | 'powerW'> {
  if (!power) return {};
  const s = power.snapshot();
  const r = s.reading;
  const info: PowerInfo = { state: s.state, setMv: s.voltageMv };
  if (r?.vinV != null) info.inputV = round(r.vinV);
  if (r?.voutV != null) info.coreV = round(r.voutV);
  if (r?.currentA != null) info.currentA = round(r.currentA);
  if (r?.powerW != null) info.powerW = round(r.powerW);
  if (r?.vrTempC != null) info.vrTempC = round(r.vrTempC);
  if (info.powerW !== undefined && hashrateGhs > 0)
    info.efficiencyJth = round(info.powerW / (hashrateGhs / 1000));
  if (s.fault)
    info.fault = { reason: s.fault.reason, time: s.fault.at, latched: true, clears: POWER_FAULT_CLEARS };
  return {
    power: info,
    ...(info.coreV !== undefined ? { voltageMv: Math.round(info.coreV * 1000) } : {}),
    ...(info.powerW !== undefined ? { powerW: info.powerW } : {}),
  };
}

function round(x: number): number {
  return Number(x.toFixed(3));
}
