/**
 * projectState (host/miner/project.ts): the pure projection from the Miner's parts to the MinerState every
 * interface shows. Parts are built by hand (plain numbers), times come from a ManualClock.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LedgerCounts } from '../../host/api/types.ts';
import { checkLedger, emptyLedgerCounts, ShareLedger } from '../../host/miner/ledger.ts';
import { type ChainParts, miningState, projectState, type StateParts } from '../../host/miner/project.ts';
import type { ManagerStatus, PoolStatus } from '../../host/stratum/pool-manager.ts';
import type { ThermalStatus } from '../../host/thermal/index.ts';
import { ManualClock } from '../../lib/clock.ts';

function ledger(o: {
  accepted?: number;
  rejected?: Record<string, number>;
  stale?: number;
  noAnswer?: number;
}) {
  const l = new ShareLedger();
  for (let i = 0; i < (o.accepted ?? 0); i++) {
    l.add(false);
    l.settle({ status: 'accepted' }, { difficulty: 2, block: false, at: 1000 + i });
  }
  for (const [reason, n] of Object.entries(o.rejected ?? {}))
    for (let i = 0; i < n; i++) {
      l.add(false);
      l.settle({ status: 'rejected', reason }, { difficulty: 2, block: false, at: 0 });
    }
  for (let i = 0; i < (o.stale ?? 0); i++) {
    l.add(false);
    l.settle({ status: 'stale-local' }, { difficulty: 2, block: false, at: 0 });
  }
  for (let i = 0; i < (o.noAnswer ?? 0); i++) {
    l.add(false);
    l.settle({ status: 'no-answer' }, { difficulty: 2, block: false, at: 0 });
  }
  return l.counts();
}

function poolStatus(index: number, connection: PoolStatus['connection'], failures = 0): PoolStatus {
  return {
    index,
    url: `stratum+tcp://pool${index}.example:3333`,
    user: `w${index}`,
    connection,
    consecutiveFailures: failures,
    rejectRun: 0,
    accounting: {
      accepted: 0,
      acceptedDifficulty: 0,
      rejected: 0,
      rejectedDifficulty: 0,
      rejectedByReason: {} as PoolStatus['accounting']['rejectedByReason'],
      staleLocal: 0,
      noAnswer: 0,
      bestShareSession: index === 0 ? 64 : 8,
      bestShareAllTime: index === 0 ? 640 : 8,
      lastShareAt: undefined,
    },
  };
}

function manager(pools: PoolStatus[], active: number | null, preferred = 0): ManagerStatus {
  return {
    state: active === null ? 'idle' : 'active',
    pool: active === null ? null : { index: active, url: pools[active]!.url, user: pools[active]!.user },
    difficulty: active === null ? null : 4,
    versionMask: 0x1fffe000,
    failover: {
      preferred,
      current: active ?? preferred,
      active,
      onFallback: active !== null && active !== preferred,
      probing: null,
      nextProbeAt: null,
      lastSwitchAt: null,
      lastSwitchReason: null,
      switches: 0,
    },
    pools,
  };
}

const thermal = (sensors: { name: string; celsius: number | null }[]): ThermalStatus =>
  ({
    state: 'normal',
    since: 0,
    at: 0,
    hashingAllowed: true,
    sensors: sensors.map((s) => ({ ...s, ok: true, error: null })),
    maxC: 55,
    filteredC: 55,
    targetC: 60,
    limitC: 75,
    fan: { duty: 42.4, rpm: 4100.6, mode: 'auto', stalled: false, error: null },
    frequencyMHz: 525,
    voltageMv: null,
    trips: { overheat: 0, sensorFault: 0, throttle: 0 },
    lastTrip: null,
    reason: null,
    resumeBlocked: null,
  }) as unknown as ThermalStatus;

const chain = (ghs: number, ledger?: LedgerCounts): ChainParts => ({
  chipModel: 'BM1370',
  rate: { w10s: ghs, w1m: ghs, w5m: ghs, w10m: ghs, w15m: ghs, w1h: ghs, sinceStart: ghs },
  chipRates1m: [ghs],
  chipErrors: [1],
  hardwareErrors: 1,
  unmatched: { 'unknown-job': 1, invalidated: 0 },
  ...(ledger ? { ledger } : {}),
});

function parts(clock: ManualClock, over: Partial<StateParts> = {}): StateParts {
  const pools = [poolStatus(0, 'ready'), poolStatus(1, 'idle')];
  return {
    now: clock.now(),
    startedAt: clock.now() - 90_500,
    device: { id: 'dev', name: 'Test', version: '0.0.0' },
    board: { id: 'sim-gamma', name: 'Bitaxe Gamma (sim)' },
    gateOpen: true,
    chainsHashing: true,
    paused: false,
    overheat: { active: false },
    frequencyMhz: 525,
    expectedGhs: 1200,
    fanMode: 'auto',
    limits: { frequencyMhz: { min: 400, max: 625 }, fanPercent: { min: 20, max: 100 } },
    pools: manager(pools, 0),
    poolLedgers: [
      ledger({ accepted: 5, rejected: { stale: 1, duplicate: 1 }, noAnswer: 1 }),
      ledger({ stale: 2 }),
    ],
    unattributed: ledger({ stale: 1 }),
    lastAcceptedAt: clock.now() - 5000,
    chains: [chain(600), chain(500)],
    thermal: thermal([{ name: 'emc2101@sim:ext', celsius: 55.5 }]),
    sensorLimits: [undefined],
    power: {},
    ...over,
  };
}

describe('projectState', () => {
  it('mining state: overheat, then paused, then running only while a chain takes jobs', () => {
    const base = { overheat: { active: false }, paused: false, gateOpen: true, chainsHashing: true };
    assert.equal(miningState(base), 'running');
    assert.equal(miningState({ ...base, chainsHashing: false }), 'idle', 'gate open, chains re-initialising');
    assert.equal(miningState({ ...base, gateOpen: false }), 'idle');
    assert.equal(miningState({ ...base, paused: true }), 'paused');
    assert.equal(miningState({ ...base, paused: true, overheat: { active: true } }), 'overheat');
  });

  it('shares: the board total is the sum of the pool ledgers and the unattributed one; the books balance', () => {
    const clock = new ManualClock();
    const p = parts(clock);
    const s = projectState(p);
    const l = s.shares.ledger!;
    assert.equal(l.found, 8 + 2 + 1);
    assert.equal(l.accepted, 5);
    assert.equal(l.rejected, 2);
    assert.equal(l.staleLocal, 3);
    assert.equal(l.noAnswer, 1);
    assert.deepEqual(checkLedger(l), []);
    assert.equal(s.shares.accepted, 5);
    assert.equal(s.shares.stale, 1, 'pool-rejected as stale');
    assert.deepEqual(s.shares.rejectedByReason, { stale: 1, duplicate: 1 });
    assert.equal(s.shares.acceptedDifficulty, 10);
    assert.equal(s.shares.lastShareTime, clock.now() - 5000);
    assert.equal(s.pools[0]!.ledger!.found, 8);
    assert.equal(s.pools[1]!.ledger!.staleLocal, 2);
    for (const pool of s.pools) assert.deepEqual(checkLedger(pool.ledger!), []);
    assert.deepEqual(s.shares.unmatchedNonces, { 'unknown-job': 2 });
    assert.equal(s.shares.hardwareErrors, 2);
  });

  it('hashrate sums the chains; expected only while the gate is open; time and uptime from the clock', () => {
    const clock = new ManualClock();
    const s = projectState(parts(clock));
    assert.equal(s.hashrate.now, 1100);
    assert.equal(s.hashrate.avg1h, 1100);
    assert.equal(s.hashrate.expected, 1200);
    assert.equal(s.time, clock.now());
    assert.equal(s.device.uptimeS, 90);
    assert.equal(projectState(parts(clock, { gateOpen: false })).hashrate.expected, 0);
    assert.equal(s.chains[1]!.hashrate, 500);
    assert.equal(s.chains[0]!.chips[0]!.frequencyMhz, 525);
    assert.equal(s.bestDifficulty.session, 64);
    assert.equal(s.bestDifficulty.allTime, 640);
  });

  it('per-chain ledgers are shown per device', () => {
    const clock = new ManualClock();
    const c0 = ledger({ accepted: 3 });
    const s = projectState(parts(clock, { chains: [chain(1, c0), chain(1, emptyLedgerCounts())] }));
    assert.equal(s.chains[0]!.accepted, 3);
    assert.deepEqual(s.chains[0]!.ledger, c0);
    assert.equal(s.chains[1]!.accepted, 0);
  });

  it('pool status: active alive, a failing pool dead, the preferred pool dead while on a fallback, a probe connecting', () => {
    const clock = new ManualClock();
    const onPrimary = projectState(parts(clock));
    assert.deepEqual(
      onPrimary.pools.map((p) => p.status),
      ['alive', 'alive'],
      'a standby never needed is not known to be down',
    );
    assert.equal(onPrimary.pool?.failover, 'primary');
    const pools = [poolStatus(0, 'idle', 3), poolStatus(1, 'ready')];
    const onFallback = projectState(parts(clock, { pools: manager(pools, 1) }));
    assert.deepEqual(
      onFallback.pools.map((p) => p.status),
      ['dead', 'alive'],
    );
    assert.equal(onFallback.pool?.failover, 'failover');
    const probing = [poolStatus(0, 'handshake'), poolStatus(1, 'ready')];
    assert.equal(projectState(parts(clock, { pools: manager(probing, 1) })).pools[0]!.status, 'connecting');
    const idle = projectState(parts(clock, { pools: manager([poolStatus(0, 'idle', 1)], null) }));
    assert.equal(idle.pool, null);
    assert.equal(idle.pools[0]!.status, 'dead');
  });

  it('temperatures: one chip sensor is "chip"; a sensor with its own limit keeps its name and limit', () => {
    const clock = new ManualClock();
    const s = projectState(
      parts(clock, {
        thermal: thermal([
          { name: 'emc2101@sim:ext', celsius: 55.5 },
          { name: 'tps546@sim:vr', celsius: 70 },
        ]),
        sensorLimits: [undefined, 105],
      }),
    );
    assert.deepEqual(s.temperatures, [
      { name: 'chip', celsius: 55.5, limit: 75 },
      { name: 'tps546@sim:vr', celsius: 70, limit: 105 },
    ]);
    assert.equal(s.fan.dutyPercent, 42);
    assert.deepEqual(s.fan.rpm, [4101]);
  });

  it('a latched power fault shows the fan at 100 % (the board forces it whatever the controller asked)', () => {
    const clock = new ManualClock();
    const fault = { reason: 'input over-current', time: 1, latched: true as const };
    const s = projectState(parts(clock, { power: { power: { state: 'fault', setMv: 1200, fault } } }));
    assert.equal(s.fan.dutyPercent, 100);
    assert.equal(projectState(parts(clock)).fan.dutyPercent, 42);
  });
});
