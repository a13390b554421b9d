/**
 * An in-memory MinerSource for telemetry tests (tests only; the daemon implements the real one).
 * Controls validate and apply like the daemon's contract says (frequency clamps to limits, pool index
 * checked, resume refused during overheat), record every call, and emit state_changed.
 */
import type {
  FanSetting,
  MinerControl,
  MinerEvent,
  MinerLimits,
  MinerSource,
  MinerState,
  NewPool,
  Unsubscribe,
} from '../../host/api/types.ts';

export interface ControlCall {
  method: string;
  args: unknown[];
}

export function sampleState(deviceId = 'test01', now = 1_700_000_000_000): MinerState {
  const limits: MinerLimits = { frequencyMhz: { min: 200, max: 800 }, fanPercent: { min: 20, max: 100 } };
  return {
    time: now,
    device: { id: deviceId, name: `Test miner ${deviceId}`, version: '0.1.0', uptimeS: 3600 },
    board: { name: 'sim-chain', model: 'Simulated BM1370 x4' },
    mining: 'running',
    overheat: { active: false },
    hashrate: {
      now: 1210.5,
      avg1m: 1200.25,
      avg10m: 1190,
      avg1h: 1185.75,
      sinceStart: 1180,
      expected: 1228.8,
    },
    shares: {
      accepted: 120,
      rejected: 5,
      rejectedByReason: { duplicate: 1, 'low difficulty': 1, stale: 3 },
      stale: 3,
      acceptedDifficulty: 122880,
      rejectedDifficulty: 5120,
      hardwareErrors: 7,
      blocksFound: 0,
      lastShareTime: now - 2000,
    },
    bestDifficulty: { session: 1_234_567, allTime: 98_765_432 },
    pool: {
      index: 0,
      url: 'stratum+tcp://pool.example:3333',
      user: 'bc1qexample.worker1',
      status: 'alive',
      difficulty: 1024,
      failover: 'primary',
    },
    pools: [
      {
        index: 0,
        url: 'stratum+tcp://pool.example:3333',
        user: 'bc1qexample.worker1',
        status: 'alive',
        difficulty: 1024,
        priority: 0,
        accepted: 120,
        rejected: 5,
        stale: 3,
      },
      {
        index: 1,
        url: 'stratum+tcp://backup.example:3333',
        user: 'bc1qexample.worker1',
        status: 'alive',
        difficulty: 0,
        priority: 1,
        accepted: 0,
        rejected: 0,
        stale: 0,
      },
    ],
    chains: [
      {
        index: 0,
        chipModel: 'BM1370',
        hashrate: 1210.5,
        errors: 7,
        frequencyMhz: 525,
        voltageMv: 1150,
        accepted: 120,
        rejected: 5,
        chips: [0, 1, 2, 3].map((i) => ({
          index: i,
          hashrate: 302.625,
          errors: i === 2 ? 7 : 0,
          frequencyMhz: 525,
        })),
      },
    ],
    temperatures: [
      { name: 'board', celsius: 48.5, limit: 75 },
      { name: 'chip', celsius: 61.25, limit: 90 },
    ],
    fan: { mode: 'auto', dutyPercent: 55, rpm: [4200] },
    frequencyMhz: 525,
    voltageMv: 1150,
    powerW: 18.4,
    limits,
  };
}

export class FakeMiner implements MinerSource {
  state: MinerState;
  readonly calls: ControlCall[] = [];
  private readonly listeners = new Set<(e: MinerEvent) => void>();
  /** Make the next control call reject with this message (then cleared). */
  failNext: string | undefined;
  readonly control: MinerControl;

  constructor(deviceId = 'test01', state?: MinerState) {
    this.state = state ?? sampleState(deviceId);
    const self = this;
    const record = (method: string, args: unknown[]) => {
      self.calls.push({ method, args });
      if (self.failNext) {
        const msg = self.failNext;
        self.failNext = undefined;
        throw new Error(msg);
      }
    };
    this.control = {
      async pause() {
        record('pause', []);
        self.patch({ mining: 'paused' });
      },
      async resume() {
        record('resume', []);
        if (self.state.overheat.active) throw new Error('cannot resume: overheat protection active');
        self.patch({ mining: 'running' });
      },
      async setFan(setting: FanSetting) {
        record('setFan', [setting]);
        if (setting.mode === 'auto') self.patch({ fan: { ...self.state.fan, mode: 'auto' } });
        else self.patch({ fan: { ...self.state.fan, mode: 'manual', dutyPercent: setting.percent } });
      },
      async setFrequency(mhz: number) {
        record('setFrequency', [mhz]);
        const { min, max } = self.limits.frequencyMhz;
        const applied = Math.min(max, Math.max(min, mhz));
        self.patch({ frequencyMhz: applied });
        return applied;
      },
      async switchPool(index: number) {
        record('switchPool', [index]);
        const pool = self.state.pools[index];
        if (!pool) throw new Error(`pool index ${index} out of range 0..${self.state.pools.length - 1}`);
        const from = self.state.pool?.index ?? null;
        self.patch({ pool: { ...pool, failover: index === 0 ? 'primary' : 'failover' } });
        self.emit({ type: 'pool_switched', time: self.state.time, from, to: index, reason: 'command' });
      },
      async restart() {
        record('restart', []);
      },
      async enablePool(index: number) {
        record('enablePool', [index]);
      },
      async disablePool(index: number) {
        record('disablePool', [index]);
      },
      async addPool(pool: NewPool) {
        record('addPool', [pool]);
        const index = self.state.pools.length;
        self.patch({
          pools: [
            ...self.state.pools,
            {
              index,
              url: pool.url,
              user: pool.user,
              status: 'connecting',
              difficulty: 0,
              priority: index,
              accepted: 0,
              rejected: 0,
              stale: 0,
            },
          ],
        });
        return index;
      },
    };
  }

  get limits(): MinerLimits {
    return this.state.limits;
  }

  getState(): MinerState {
    return this.state;
  }

  onEvent(listener: (event: MinerEvent) => void): Unsubscribe {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  listenerCount(): number {
    return this.listeners.size;
  }

  emit(event: MinerEvent): void {
    for (const l of this.listeners) l(event);
  }

  /** Replaces parts of the state (a new object, like a real snapshot) and emits state_changed. */
  patch(part: Partial<MinerState>): void {
    this.state = { ...this.state, ...part };
    this.emit({ type: 'state_changed', time: this.state.time });
  }

  /** Changes the state without emitting (like a figure that moves between intervals). */
  quietPatch(part: Partial<MinerState>): void {
    this.state = { ...this.state, ...part };
  }
}
