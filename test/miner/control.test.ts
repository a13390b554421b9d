/**
 * The Miner's control (host/miner/control.ts): every command is checked against the board's limits
 * before anything reaches the hardware, a refused command changes nothing, and a failing hardware write
 * rejects the command instead of crashing the daemon. A fake ControlHost records what reaches it; the
 * Miner's own wiring of it runs in test/miner/lifecycle.test.ts and the e2e tests.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type ControlHost,
  checkFan,
  checkPoolIndex,
  checkTargetTemp,
  makeMinerControl,
  poolsFromCommand,
  resumeRefusal,
} from '../../host/miner/control.ts';
import type { PoolConfig } from '../../host/stratum/pool-manager.ts';

function fakeHost(o: { power?: boolean; frequencyFails?: boolean } = {}) {
  const calls: string[] = [];
  const state = {
    overheat: { active: false } as { active: boolean; reason?: string },
    thermalFault: undefined as string | undefined,
    pools: [{ url: 'stratum+tcp://a:3333', user: 'u', suggestDifficulty: 512 }] as PoolConfig[],
  };
  const host: ControlHost = {
    limits: { frequencyMhz: { min: 400, max: 625 }, fanPercent: { min: 20, max: 100 } },
    overheatLimitC: 70,
    resumeState: () => ({ overheat: state.overheat, thermalFault: state.thermalFault }),
    setPaused: (p) => calls.push(`paused ${p}`),
    setFan: (s) => calls.push(`fan ${s.mode === 'auto' ? 'auto' : s.percent}`),
    applyFrequency: async (mhz, why) => {
      calls.push(`frequency ${mhz} (${why})`);
      if (o.frequencyFails) throw new Error('setting 550 MHz failed: UART write failed (EIO)');
      return mhz;
    },
    poolCount: () => state.pools.length,
    switchPool: (i) => calls.push(`switch ${i}`),
    setPools: async (next) => {
      calls.push(`pools ${next.map((p) => p.url).join(',')}`);
      state.pools = next;
    },
    firstPool: () => state.pools[0],
    setTargetTemp: (c) => calls.push(`target ${c}`),
    ...(o.power
      ? {
          power: {
            setVoltage: async (mv: number) => {
              if (mv > 1300) throw new Error(`core voltage ${mv} mV outside 1000..1300 mV`);
              calls.push(`voltage ${mv}`);
              return mv;
            },
            clearFault: async () => {
              calls.push('clear');
            },
          },
        }
      : {}),
    retryChains: () => calls.push('retry'),
    restartChains: async () => {
      calls.push('restart');
    },
    changed: () => calls.push('changed'),
  };
  return { host, calls, state, control: makeMinerControl(host) };
}

describe('control checks (pure)', () => {
  it('fan: auto, or a manual duty 0..100 raised to the board minimum; anything else refused', () => {
    const lim = { min: 20, max: 100 };
    assert.deepEqual(checkFan({ mode: 'auto' }, lim), { mode: 'auto' });
    assert.deepEqual(checkFan({ mode: 'manual', percent: 5 }, lim), { mode: 'manual', percent: 20 });
    assert.deepEqual(checkFan({ mode: 'manual', percent: 80 }, lim), { mode: 'manual', percent: 80 });
    for (const p of [-1, 101, Number.NaN, Number.POSITIVE_INFINITY])
      assert.throws(() => checkFan({ mode: 'manual', percent: p }, lim), /fan percent/);
  });

  it('temperature target 30..limit−1, pool index in the list, resume refused while hot or blind', () => {
    assert.equal(checkTargetTemp(55, 70), 55);
    for (const c of [29, 70, Number.NaN]) assert.throws(() => checkTargetTemp(c, 70), /outside 30\.\.69/);
    assert.equal(checkPoolIndex(1, 2), 1);
    for (const i of [-1, 2, 0.5]) assert.throws(() => checkPoolIndex(i, 2), /out of range 0\.\.1/);
    assert.equal(resumeRefusal({ overheat: { active: false }, thermalFault: undefined }), undefined);
    assert.match(
      resumeRefusal({ overheat: { active: true, reason: 'overheat at 71 °C' }, thermalFault: undefined })!,
      /overheat protection \(overheat at 71/,
    );
    assert.match(resumeRefusal({ overheat: { active: false }, thermalFault: 'sensor lost' })!, /unknown/);
  });

  it('a pool list needs a pool and keeps the first pool’s suggested difficulty', () => {
    assert.throws(() => poolsFromCommand([], undefined), /at least one pool/);
    assert.deepEqual(
      poolsFromCommand([{ url: 'stratum+tcp://b:3333', user: 'w', pass: 'p' }], {
        url: 'x',
        user: 'y',
        suggestDifficulty: 512,
      }),
      [{ suggestDifficulty: 512, url: 'stratum+tcp://b:3333', user: 'w', password: 'p' }],
    );
  });
});

describe('makeMinerControl', () => {
  it('a refused command changes nothing and reaches no hardware', async () => {
    const { control, calls } = fakeHost();
    await assert.rejects(control.setFan({ mode: 'manual', percent: 150 }), /fan percent 150/);
    await assert.rejects(control.setFrequency(Number.NaN), /not a number/);
    await assert.rejects(control.setTargetTemp(90), /outside/);
    await assert.rejects(control.switchPool(3), /out of range/);
    await assert.rejects(control.setPools([]), /at least one pool/);
    assert.deepEqual(calls, []);
    assert.equal(control.setVoltage, undefined, 'no voltage control on a board without power control');
  });

  it('checked commands reach the Miner in order; the state is announced after each', async () => {
    const { control, calls } = fakeHost({ power: true });
    await control.pause();
    await control.resume();
    await control.setFan({ mode: 'manual', percent: 10 });
    assert.equal(await control.setFrequency(550), 550);
    assert.equal(await control.setTargetTemp(60), 60);
    await control.switchPool(0);
    await control.setPools([{ url: 'stratum+tcp://c:3333', user: 'w', pass: 'x' }]);
    assert.equal(await control.setVoltage!(1200), 1200);
    await assert.rejects(control.setVoltage!(1400), /outside 1000\.\.1300/);
    await control.clearFault!();
    await control.restart();
    assert.deepEqual(calls, [
      'paused true',
      'paused false',
      'fan 20',
      'changed',
      'frequency 550 (command)',
      'target 60',
      'changed',
      'switch 0',
      'changed',
      'pools stratum+tcp://c:3333',
      'changed',
      'voltage 1200',
      'changed',
      'clear',
      'retry',
      'restart',
    ]);
  });

  it('resume is refused during overheat protection or with the temperature unknown', async () => {
    const { control, calls, state } = fakeHost();
    state.overheat = { active: true, reason: 'overheat at 72 °C (limit 70 °C)' };
    await assert.rejects(control.resume(), /overheat protection/);
    state.overheat = { active: false };
    state.thermalFault = 'no reading from fake-chip';
    await assert.rejects(control.resume(), /temperature is unknown/);
    assert.deepEqual(calls, []);
  });

  it('a frequency the chains refuse rejects the command (no unhandled rejection, no crash)', async () => {
    const { control, calls } = fakeHost({ frequencyFails: true });
    const unhandled: unknown[] = [];
    const on = (r: unknown) => unhandled.push(r);
    process.on('unhandledRejection', on);
    try {
      await assert.rejects(control.setFrequency(550), /UART write failed/);
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('unhandledRejection', on);
    }
    assert.deepEqual(unhandled, []);
    assert.deepEqual(calls, ['frequency 550 (command)']);
  });
});
