/**
 * State projection: a pure function from the Miner's parts (a snapshot of plain numbers the Miner reads
 * from its schedulers, ledgers, pool manager, thermal monitor and supervisor) to the MinerState every
 * interface shows (cgminer API, MQTT, Prometheus, HTTP, Node-RED). No I/O and no clock: the snapshot
 * carries the time. Tested alone (test/miner/project.test.ts).
 */
import type {
  ChainLinkHealth,
  ChainState,
  LedgerCounts,
  MinerLimits,
  MinerState,
  MiningState,
  PoolInfo,
} from '../api/types.ts';
import type { ManagerStatus } from '../stratum/pool-manager.ts';
import type { ThermalStatus } from '../thermal/index.ts';
import { sumLedgers } from './ledger.ts';

/** Hashrate over the windows the API shows, GH/s. */
export interface RateWindows {
  w10s: number;
  w1m: number;
  w5m: number;
  w10m: number;
  w15m: number;
  w1h: number;
  sinceStart: number;
}

export interface ChainParts {
  chipModel: string;
  rate: RateWindows;
  /** Per-chip hashrate over 1 min, GH/s. */
  chipRates1m: number[];
  chipErrors: number[];
  hardwareErrors: number;
  counterHashrate?: number | undefined;
  unmatched: Record<string, number>;
  link?: ChainLinkHealth | undefined;
  ledger?: LedgerCounts | undefined;
}

export interface StateParts {
  /** Clock time (ms). */
  now: number;
  startedAt: number;
  device: { id: string; name: string; version: string };
  board: { id: string; name: string };
  /** The gate is open. */
  gateOpen: boolean;
  /** Some chain takes jobs now (supervisor). */
  chainsHashing: boolean;
  paused: boolean;
  overheat: { active: boolean; since?: number; reason?: string };
  frequencyMhz: number;
  /** What the chips can do at frequencyMhz, GH/s (shown only while hashing). */
  expectedGhs: number;
  fanMode: 'auto' | 'manual';
  limits: MinerLimits;
  pools: ManagerStatus;
  /** One ledger per configured pool (same order as pools.pools). */
  poolLedgers: LedgerCounts[];
  /** Shares whose pool is unknown (its connection token forgotten). */
  unattributed: LedgerCounts;
  /** Clock time of the last accepted share, if any. */
  lastAcceptedAt: number | undefined;
  chains: ChainParts[];
  thermal: ThermalStatus;
  /** The board's sensors' own limits (a regulator's VR temperature), by sensor index. */
  sensorLimits: (number | undefined)[];
  /** Power telemetry (host/miner/power-state.ts), already projected. */
  power: Pick<MinerState, 'power' | 'voltageMv' | 'powerW'>;
}

export function miningState(
  p: Pick<StateParts, 'overheat' | 'paused' | 'gateOpen' | 'chainsHashing'>,
): MiningState {
  if (p.overheat.active) return 'overheat';
  if (p.paused) return 'paused';
  // Running once a chain really takes jobs (not while the chains the gate waits for re-initialise).
  return p.gateOpen && p.chainsHashing ? 'running' : 'idle';
}

export function projectState(p: StateParts): MinerState {
  const st = p.pools;
  const th = p.thermal;
  const total = sumLedgers([...p.poolLedgers, p.unattributed]);
  const unmatched: Record<string, number> = {};
  for (const c of p.chains)
    for (const [k, v] of Object.entries(c.unmatched)) if (v) unmatched[k] = (unmatched[k] ?? 0) + v;
  const chains: ChainState[] = p.chains.map((c, i) => ({
    index: i,
    chipModel: c.chipModel,
    hashrate: c.rate.w1m,
    ...(c.counterHashrate !== undefined ? { counterHashrate: c.counterHashrate } : {}),
    errors: c.hardwareErrors,
    frequencyMhz: p.frequencyMhz,
    accepted: c.ledger?.accepted ?? 0,
    rejected: c.ledger?.rejected ?? 0,
    ...(c.ledger ? { ledger: c.ledger } : {}),
    unmatchedNonces: { ...c.unmatched },
    ...(c.link ? { link: c.link } : {}),
    chips: c.chipErrors.map((errors, k) => ({
      index: k,
      hashrate: c.chipRates1m[k] ?? 0,
      errors,
      frequencyMhz: p.frequencyMhz,
    })),
  }));
  const rate = (k: keyof RateWindows) => p.chains.reduce((x, c) => x + c.rate[k], 0);
  const poolIdx = st.pool?.index;
  const pools: PoolInfo[] = st.pools.map((pool) => {
    const l = p.poolLedgers[pool.index]!;
    return {
      index: pool.index,
      url: pool.url,
      user: pool.user,
      status: poolStatus(pool, st),
      difficulty: pool.index === poolIdx ? (st.difficulty ?? 0) : 0,
      priority: pool.index,
      accepted: l.accepted,
      rejected: l.rejected,
      stale: l.rejectedByReason.stale ?? 0,
      ledger: l,
    };
  });
  const acc = st.pools.map((x) => x.accounting);
  const mining = miningState(p);
  const chipSensors = p.sensorLimits.filter((l) => l === undefined).length;
  return {
    time: p.now,
    device: { ...p.device, uptimeS: Math.floor((p.now - p.startedAt) / 1000) },
    board: { name: p.board.id, model: p.board.name },
    mining,
    overheat: { ...p.overheat },
    hashrate: {
      now: rate('w10s'),
      avg1m: rate('w1m'),
      avg5m: rate('w5m'),
      avg15m: rate('w15m'),
      avg10m: rate('w10m'),
      avg1h: rate('w1h'),
      sinceStart: rate('sinceStart'),
      expected: p.gateOpen ? p.expectedGhs : 0,
    },
    shares: {
      accepted: total.accepted,
      rejected: total.rejected,
      rejectedByReason: total.rejectedByReason,
      stale: total.rejectedByReason.stale ?? 0,
      acceptedDifficulty: total.acceptedDifficulty,
      rejectedDifficulty: total.rejectedDifficulty,
      hardwareErrors: p.chains.reduce((x, c) => x + c.hardwareErrors, 0),
      blocksFound: total.blockCandidates,
      ...(p.lastAcceptedAt !== undefined ? { lastShareTime: p.lastAcceptedAt } : {}),
      ledger: total,
      unmatchedNonces: unmatched,
    },
    bestDifficulty: {
      session: Math.max(0, ...acc.map((a) => a.bestShareSession)),
      allTime: Math.max(0, ...acc.map((a) => a.bestShareAllTime)),
    },
    pool: st.pool
      ? {
          index: st.pool.index,
          url: st.pool.url,
          user: st.pool.user,
          status: st.state === 'active' ? 'alive' : 'connecting',
          difficulty: st.difficulty ?? 0,
          failover: st.failover.onFallback ? 'failover' : 'primary',
        }
      : null,
    pools,
    chains,
    temperatures: th.sensors.map((s, i) => ({
      name: sensorName(i, s.name, p.sensorLimits, chipSensors),
      celsius: s.celsius,
      ...(p.sensorLimits[i] !== undefined
        ? { limit: p.sensorLimits[i] }
        : th.limitC !== null
          ? { limit: th.limitC }
          : {}),
    })),
    fan: {
      mode: p.fanMode,
      // A latched power fault holds the fan at 100 % whatever the fan controller asks (hardware.ts).
      dutyPercent: p.power.power?.fault && th.fan.mode !== 'none' ? 100 : Math.round(th.fan.duty ?? 0),
      rpm: [th.fan.rpm === null ? null : Math.round(th.fan.rpm)],
    },
    frequencyMhz: p.frequencyMhz,
    ...(th.voltageMv !== null ? { voltageMv: th.voltageMv } : {}),
    ...p.power,
    limits: p.limits,
  };
}

function sensorName(i: number, raw: string, limits: (number | undefined)[], chipSensors: number): string {
  // Sensors with their own limit (the regulator's VR temperature) keep their name.
  if (limits[i] !== undefined) return raw;
  return chipSensors === 1 ? 'chip' : `chip${i}` || raw;
}

/**
 * A pool's status for the API: the pool mining now and a session that is up are alive; a standby pool is
 * what its last probe found (alive: it answered subscribe, authorize and sent a job; dead: it did not);
 * a pool whose last attempts failed is dead; a standby pool not probed yet and not known to be down is
 * alive, as cgminer shows it.
 */
export function poolStatus(
  p: {
    index: number;
    connection: string;
    consecutiveFailures: number;
    standby?: { alive: boolean } | undefined;
  },
  st: Pick<ManagerStatus, 'state'> & { failover: { active: number | null; preferred: number } },
): PoolInfo['status'] {
  const active = st.failover.active;
  if (p.index === active || p.connection === 'ready') return 'alive';
  // A standby's last probe says it (also while the next probe is connecting).
  if (p.standby) return p.standby.alive ? 'alive' : 'dead';
  if (p.connection === 'connecting' || p.connection === 'handshake') return 'connecting';
  if (p.consecutiveFailures > 0 || st.state === 'idle') return 'dead';
  // On a fallback the pools preferred over it are down (that is why we left them; probes bring them back).
  if (active !== null && active !== st.failover.preferred && p.index === st.failover.preferred) return 'dead';
  return st.state === 'stopped' && active === null ? 'dead' : 'alive';
}
