/**
 * Control of a running Miner: the commands that MQTT, the HTTP APIs, the cgminer API and Node-RED send
 * (pause, resume, fan, frequency, voltage, temperature target, pools, restart).
 *
 * Two parts:
 * - **pure checks** (`checkFan`, `checkFrequency`, `checkTargetTemp`, `checkPoolIndex`, `resumeRefusal`,
 *   `poolsFromCommand`): what is refused and why, with the board's limits, before anything reaches a bus.
 *   Nothing dangerous is writable: a value outside the limits is an error, never clamped silently into
 *   a write (the fan's floor is the one exception: a duty below the board's minimum airflow is raised);
 * - **makeMinerControl(host)**: the MinerControl the interfaces call, carrying the checked commands out
 *   through the Miner (host/miner/daemon.ts implements ControlHost). The frequency is recorded only once
 *   the chains took it (frequency.ts); a refused write rejects the command, it never crashes the daemon.
 */
import type { FanSetting, MinerControl, MinerLimits, NewPool } from '../api/types.ts';
import type { PoolConfig } from '../stratum/pool-manager.ts';

/** A checked fan command: auto, or a manual duty within the board's limits. */
export function checkFan(
  s: FanSetting,
  limits: MinerLimits['fanPercent'],
): { mode: 'auto' } | { mode: 'manual'; percent: number } {
  if (s.mode === 'auto') return { mode: 'auto' };
  const { min, max } = limits;
  if (!Number.isFinite(s.percent) || s.percent < 0 || s.percent > max) {
    throw new Error(`fan percent ${s.percent} outside ${0}..${max}`);
  }
  // Below the board's minimum airflow is raised to it (the chips still need air).
  return { mode: 'manual', percent: Math.max(min, s.percent) };
}

/** A frequency command must be a number (the Miner clamps it to the board's limits). */
export function checkFrequency(mhz: number): number {
  if (!Number.isFinite(mhz)) throw new Error(`frequency ${mhz} is not a number`);
  return mhz;
}

/** A temperature target between 30 °C and 1 °C below the overheat limit. */
export function checkTargetTemp(c: number, overheatLimitC: number): number {
  if (!Number.isFinite(c) || c < 30 || c > overheatLimitC - 1)
    throw new Error(
      `temperature target ${c} °C outside 30..${overheatLimitC - 1} °C (overheat limit ${overheatLimitC} °C)`,
    );
  return c;
}

/** A pool index in the configured list. */
export function checkPoolIndex(index: number, pools: number): number {
  if (!Number.isInteger(index) || index < 0 || index >= pools)
    throw new Error(`pool index ${index} out of range 0..${pools - 1}`);
  return index;
}

/** Why a resume is refused now (undefined: it may resume). */
export function resumeRefusal(s: {
  overheat: { active: boolean; reason?: string | undefined };
  thermalFault: string | undefined;
}): string | undefined {
  if (s.overheat.active) return `cannot resume during overheat protection (${s.overheat.reason})`;
  if (s.thermalFault) return `cannot resume while the temperature is unknown (${s.thermalFault})`;
  return undefined;
}

/** A new pool list from a command: at least one pool; the first pool's suggested difficulty is kept. */
export function poolsFromCommand(pools: NewPool[], keep: PoolConfig | undefined): PoolConfig[] {
  if (pools.length === 0) throw new Error('at least one pool is needed');
  return pools.map((p) => ({
    ...(keep?.suggestDifficulty !== undefined ? { suggestDifficulty: keep.suggestDifficulty } : {}),
    url: p.url,
    user: p.user,
    password: p.pass,
  }));
}

/** What the control needs from the Miner. */
export interface ControlHost {
  readonly limits: MinerLimits;
  /** Overheat limit (°C) the temperature target must stay under. */
  readonly overheatLimitC: number;
  resumeState(): {
    overheat: { active: boolean; reason?: string | undefined };
    thermalFault: string | undefined;
  };
  /** Pause or resume hashing (re-evaluates the gate). */
  setPaused(paused: boolean): void;
  setFan(s: { mode: 'auto' } | { mode: 'manual'; percent: number }): void;
  /** Sets the chains' clock; resolves with the frequency once every running chain took it. */
  applyFrequency(mhz: number, why: string): Promise<number>;
  poolCount(): number;
  switchPool(index: number): void;
  setPools(pools: PoolConfig[]): Promise<void>;
  firstPool(): PoolConfig | undefined;
  setTargetTemp(c: number): void;
  /** Board power, when the board has it. */
  readonly power?: { setVoltage(mv: number): Promise<number>; clearFault(): Promise<void> } | undefined;
  /** After a cleared power fault: the chains that failed get their init again now. */
  retryChains(): void;
  /** Re-initialises every chain (idle, init, feed); resolves when the inits ended. */
  restartChains(): Promise<void>;
  changed(): void;
}

/** The Miner's control: every MinerControl command, the temperature target and the pool list included. */
export type MinerControlAll = MinerControl & Required<Pick<MinerControl, 'setTargetTemp' | 'setPools'>>;

export function makeMinerControl(h: ControlHost): MinerControlAll {
  return {
    pause: async () => {
      h.setPaused(true);
    },
    resume: async () => {
      const refusal = resumeRefusal(h.resumeState());
      if (refusal) throw new Error(refusal);
      h.setPaused(false);
    },
    setFan: async (s: FanSetting) => {
      h.setFan(checkFan(s, h.limits.fanPercent));
      h.changed();
    },
    setFrequency: (mhz: number) => {
      try {
        return h.applyFrequency(checkFrequency(mhz), 'command');
      } catch (err) {
        return Promise.reject(err);
      }
    },
    switchPool: async (index: number) => {
      h.switchPool(checkPoolIndex(index, h.poolCount()));
      h.changed();
    },
    ...(h.power
      ? {
          setVoltage: async (mv: number) => {
            // Range-checked by the board's power (host/power) before it reaches the regulator.
            const applied = await h.power!.setVoltage(mv);
            h.changed();
            return applied;
          },
          clearFault: async () => {
            await h.power!.clearFault();
            h.retryChains();
          },
        }
      : {}),
    setTargetTemp: async (c: number) => {
      h.setTargetTemp(checkTargetTemp(c, h.overheatLimitC));
      h.changed();
      return c;
    },
    setPools: async (pools: NewPool[]) => {
      await h.setPools(poolsFromCommand(pools, h.firstPool()));
      h.changed();
    },
    restart: () => h.restartChains(),
  };
}
