/**
 * The Miner's lifecycle around its pure parts:
 * - the pool session comes up while the chains ramp (real TCP pool, sim-gamma chain over the real driver),
 *   and the first job goes to the chips the moment the chain is ready — not before, and once;
 * - fire-and-forget chain work (init, resume, idle, frequency changes) never turns a UART write failure
 *   into an unhandled rejection or an emergency exit: it is a fault, retried on the injected clock, and a
 *   frequency is recorded only once the chains took it (fake chains under the ManualClock: a unit test of
 *   the Miner's wiring; the real chain paths are in the e2e tests).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { findBoard } from '../../boards/index.ts';
import { MODELS } from '../../drivers/bm13xx/index.ts';
import type { FanDriver, TemperatureSensor } from '../../drivers/sensors/types.ts';
import type { MinerEvent } from '../../host/api/types.ts';
import { type BoardHardware, type ChainRuntime, Miner } from '../../host/miner/daemon.ts';
import { openBoardHardware } from '../../host/miner/hardware.ts';
import type { ChipNonce } from '../../host/miner/scheduler.ts';
import { ManualClock, systemClock } from '../../lib/clock.ts';
import { memoryLogger } from '../../lib/log.ts';
import { freePort, waitFor } from '../helpers/net.ts';
import { ScriptedServer } from '../stratum/scripted-server.ts';

const unhandled: unknown[] = [];
const onUnhandled = (r: unknown) => unhandled.push(r);
before(() => process.on('unhandledRejection', onUnhandled));
after(() => process.off('unhandledRejection', onUnhandled));
const settle = async () => {
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
};

describe('pool while the chains ramp', () => {
  it('the pool is subscribed and authorized before the chain is ready; the first job is fed right when it is', {
    timeout: 60_000,
  }, async () => {
    const server = await ScriptedServer.start({ difficulty: 1 });
    const board = findBoard('sim-gamma')!;
    const logger = memoryLogger('debug');
    const hardware = await openBoardHardware(board, { clock: systemClock, logger, frequencyMhz: 525 });
    const sim = hardware.sim!;
    // The chain's init (reset, enumeration, ramp) runs for real, but ends only when the test says so: a
    // ramp as long as the test needs, whatever the machine's load.
    const chain = hardware.chains[0]!;
    const realInit = chain.init.bind(chain);
    let release!: () => void;
    const released = new Promise<void>((r) => {
      release = r;
    });
    let inits = 0;
    chain.init = async (mhz: number) => {
      inits++;
      await Promise.all([realInit(mhz), released]);
    };
    const miner = new Miner({
      board,
      hardware,
      pools: [{ url: server.url, user: 'lc.ramp' }],
      deviceId: 'lifecycle-ramp',
      logger,
      thermal: false,
    });
    const started = miner.start();
    try {
      await waitFor(() => logger.records.some((l) => l.event === 'pools.active'), 'the pool active', 30_000);
      assert.equal(server.methods('mining.subscribe').length, 1);
      assert.equal(server.methods('mining.authorize').length, 1);
      assert.equal(miner.supervisor.phase(0), 'init', 'the chain is still ramping');
      assert.equal(sim.chain.stats.jobs, 0, 'no job frame before the chain is ready');
      assert.equal(miner.schedulers[0]!.counters.jobsSent, 0);
      assert.equal(miner.getState().mining, 'idle');
      release();
      await started;
      await waitFor(() => miner.schedulers[0]!.counters.jobsSent >= 1, 'the first job frame', 30_000);
      const events = logger.records.map((l) => l.event);
      const iActive = events.indexOf('pools.active');
      const iReady = events.indexOf('chain.ready');
      const iRunning = events.indexOf('mining.running');
      assert.ok(iActive >= 0 && iReady > iActive && iRunning > iReady, events.join(' '));
      assert.equal(miner.schedulers[0]!.currentJobId, 'bf', 'the pool job waiting since the ramp');
      assert.equal(inits, 1, 'the chain just initialised is not initialised again when the gate opens');
      assert.equal(miner.getState().mining, 'running');
    } finally {
      release();
      await miner.stop();
      await server.stop();
    }
  });
});

/** A chain that does what the test says (a unit-test stand-in for the driver). */
class FakeChain implements ChainRuntime {
  readonly name: string;
  readonly model = MODELS.BM1370;
  readonly chipCount = 1;
  readonly canHoldReset = true;
  readonly ticketDifficulty = 256;
  initFails = 0;
  setFrequencyFails = false;
  idleFails = false;
  frequency = 0;
  inits = 0;
  idles = 0;
  jobs = 0;
  private readonly down = new Set<() => void>();
  constructor(name: string) {
    this.name = name;
  }
  async init(mhz: number): Promise<void> {
    this.inits++;
    if (this.initFails > 0) {
      this.initFails--;
      throw new Error('UART write failed (EIO)');
    }
    this.frequency = mhz;
  }
  async setFrequency(mhz: number): Promise<void> {
    if (this.setFrequencyFails) throw new Error('UART write failed (EIO)');
    this.frequency = mhz;
  }
  async setVersionMask(): Promise<void> {}
  async idle(): Promise<void> {
    this.idles++;
    if (this.idleFails) throw new Error('UART write failed (EIO)');
  }
  async sendJob(_job: unknown, beforeWrite?: (id: number) => void): Promise<number> {
    const id = (this.jobs++ * 8) % 128;
    beforeWrite?.(id);
    return id;
  }
  onNonce(_l: (n: ChipNonce) => void) {
    return () => {};
  }
  onFault(_l: (m: string) => void) {
    return () => {};
  }
  onDown(l: () => void) {
    this.down.add(l);
    return () => this.down.delete(l);
  }
  goDown(): void {
    for (const l of this.down) l();
  }
  async close(): Promise<void> {}
}

class FakeSensor implements TemperatureSensor {
  readonly name = 'fake-chip';
  celsius = 50;
  async readTemperature(): Promise<number> {
    return this.celsius;
  }
}
class FakeFan implements FanDriver {
  readonly name = 'fake-fan';
  duty = 0;
  async setDuty(p: number): Promise<void> {
    this.duty = p;
  }
  async readRpm(): Promise<number | undefined> {
    return 5000;
  }
}

async function fakeMiner(o: { chains?: number; thermal?: boolean; poolUrl?: string } = {}) {
  const clock = new ManualClock();
  const chains = Array.from({ length: o.chains ?? 1 }, (_, i) => new FakeChain(`fake${i}`));
  const sensor = new FakeSensor();
  const fan = new FakeFan();
  const hardware: BoardHardware = {
    chains,
    sensors: o.thermal ? [sensor] : [],
    ...(o.thermal ? { fan } : {}),
    expectedGhs: () => 100,
    close: async () => {},
  };
  const logger = memoryLogger('debug');
  // By default a pool port nothing listens on (the manager retries on the ManualClock): these tests are
  // about chains.
  const poolUrl = o.poolUrl ?? `stratum+tcp://127.0.0.1:${await freePort()}`;
  const miner = new Miner({
    board: findBoard('sim-gamma')!,
    hardware,
    pools: [{ url: poolUrl, user: 'lc.fake' }],
    deviceId: 'lifecycle-fake',
    logger,
    clock,
    thermal: o.thermal ?? false,
    thermalTuning: { minCooldownMs: 1000 },
    chainRetryMs: 10_000,
  });
  const events: MinerEvent[] = [];
  miner.onEvent((e) => events.push(e));
  const faults = () =>
    events.filter((e) => e.type === 'fault').map((e) => (e as { message: string }).message);
  return { clock, chains, sensor, fan, miner, logger, events, faults };
}

describe('fire-and-forget chain work never crashes the daemon', () => {
  it('an init that fails on a UART write is a fault, retried on the injected clock', async () => {
    const { clock, chains, miner, faults } = await fakeMiner();
    const chain = chains[0]!;
    chain.initFails = 2;
    try {
      await miner.start();
      await settle();
      assert.equal(chain.inits, 1);
      assert.equal(miner.supervisor.phase(0), 'retry');
      assert.match(faults().join('\n'), /fake0: init failed: UART write failed \(EIO\); retrying in 10 s/);
      await clock.advanceAsync(9_999);
      assert.equal(chain.inits, 1, 'no retry before chainRetryMs');
      await clock.advanceAsync(1);
      assert.equal(chain.inits, 2);
      assert.equal(miner.supervisor.phase(0), 'retry');
      await clock.advanceAsync(10_000);
      assert.equal(chain.inits, 3);
      assert.equal(miner.supervisor.phase(0), 'ready');
      assert.equal(faults().length, 2, 'one fault per failure');
      assert.deepEqual(unhandled, []);
    } finally {
      await miner.stop();
      assert.equal(clock.pending(), 0, 'no timer left on the clock after stop()');
    }
  });

  it('a chain that goes down is retried; a frequency the chains refuse is not recorded', async () => {
    const { clock, chains, miner, faults } = await fakeMiner({ chains: 2 });
    try {
      await miner.start();
      await settle();
      assert.equal(miner.supervisor.phase(0), 'ready');
      assert.equal(miner.supervisor.phase(1), 'ready');
      const before = miner.getState().frequencyMhz;
      chains[1]!.setFrequencyFails = true;
      await assert.rejects(
        miner.control.setFrequency(before - 25),
        /setting \d+ MHz failed: UART write failed/,
      );
      assert.equal(miner.getState().frequencyMhz, before, 'not recorded: chain 1 did not take it');
      chains[1]!.setFrequencyFails = false;
      assert.equal(await miner.control.setFrequency(before - 25), before - 25);
      assert.equal(miner.getState().frequencyMhz, before - 25);
      chains[0]!.goDown();
      assert.equal(miner.supervisor.phase(0), 'down');
      assert.equal(miner.supervisor.phase(1), 'ready', 'the other chain is left alone');
      await clock.advanceAsync(10_000);
      assert.equal(miner.supervisor.phase(0), 'ready');
      assert.equal(chains[0]!.frequency, before - 25, 're-initialised at the recorded frequency');
      assert.deepEqual(faults(), []);
      assert.deepEqual(unhandled, []);
    } finally {
      await miner.stop();
      assert.equal(clock.pending(), 0, 'no timer left on the clock after stop()');
    }
  });

  it('a thermal throttle the chains refuse is a fault and the old frequency stays; a failing idle on pause is a fault', async () => {
    const server = await ScriptedServer.start({ difficulty: 1 });
    const { clock, chains, sensor, miner, faults } = await fakeMiner({ thermal: true, poolUrl: server.url });
    try {
      await miner.start();
      await clock.advanceAsync(1000, 100); // first readings: thermal allows hashing
      await waitFor(() => miner.getState().mining === 'running', 'hashing (pool over real TCP)', 30_000);
      const before = miner.getState().frequencyMhz;
      chains[0]!.setFrequencyFails = true;
      const limit = findBoard('sim-gamma')!.limits.maxTempC;
      sensor.celsius = limit - 2; // within the throttle margin, below the trip
      await clock.advanceAsync(15_000, 250);
      assert.match(
        faults().join('\n'),
        /frequency \d+ MHz not applied: setting \d+ MHz failed: UART write failed/,
      );
      assert.equal(miner.getState().frequencyMhz, before, 'the refused frequency is not recorded');
      chains[0]!.idleFails = true;
      const idles = chains[0]!.idles;
      await miner.control.pause();
      await settle();
      assert.equal(chains[0]!.idles, idles + 1, 'the pause idled the chain');
      assert.match(faults().join('\n'), /fake0: idle failed: UART write failed/);
      assert.equal(miner.getState().mining, 'paused');
      assert.deepEqual(unhandled, [], 'no unhandled rejection');
    } finally {
      sensor.celsius = 50;
      await miner.stop();
      assert.equal(clock.pending(), 0, 'no timer left on the clock after stop()');
      await server.stop();
    }
  });

  it('an overheat resume re-initialises the parked chain straight at the reduced clock, recorded once it took it', async () => {
    const server = await ScriptedServer.start({ difficulty: 1 });
    const { clock, chains, sensor, miner, logger } = await fakeMiner({ thermal: true, poolUrl: server.url });
    const chain = chains[0]!;
    const inits: number[] = [];
    const realInit = chain.init.bind(chain);
    chain.init = (mhz: number) => {
      inits.push(mhz);
      return realInit(mhz);
    };
    try {
      await miner.start();
      await clock.advanceAsync(1000, 100);
      await waitFor(() => miner.getState().mining === 'running', 'hashing (pool over real TCP)', 30_000);
      const before = miner.getState().frequencyMhz;
      const limit = findBoard('sim-gamma')!.limits.maxTempC;
      sensor.celsius = limit + 1;
      await clock.advanceAsync(1000, 100);
      assert.equal(miner.getState().mining, 'overheat');
      assert.equal(miner.supervisor.phase(0), 'idle', 'the chain is parked');
      sensor.celsius = 40;
      await clock.advanceAsync(5000, 100);
      await waitFor(() => miner.getState().mining === 'running', 'resumed', 30_000);
      const reduced = miner.getState().frequencyMhz;
      assert.ok(reduced < before, `resumed at ${reduced} < ${before} MHz`);
      assert.deepEqual(
        inits,
        [before, reduced],
        'one init at start, one at the resume: at the reduced clock',
      );
      assert.equal(chain.frequency, reduced);
      const set = logger.records.filter((l) => l.event === 'frequency.set');
      assert.equal(set.at(-1)?.mhz, reduced);
      assert.deepEqual(unhandled, []);
    } finally {
      sensor.celsius = 40;
      await miner.stop();
      assert.equal(clock.pending(), 0, 'no timer left on the clock after stop()');
      await server.stop();
    }
  });

  it('restart (cgminer restart): every chain idled and initialised once, then fed again without a second init', async () => {
    const server = await ScriptedServer.start({ difficulty: 1 });
    const { clock, chains, miner } = await fakeMiner({ chains: 2, poolUrl: server.url });
    try {
      await miner.start();
      await waitFor(() => miner.getState().mining === 'running', 'hashing (pool over real TCP)', 30_000);
      const inits = chains.map((c) => c.inits);
      const idles = chains.map((c) => c.idles);
      const jobs = chains.map((c) => c.jobs);
      chains[1]!.idleFails = true; // a chain that cannot be idled does not stop the restart
      await miner.control.restart();
      assert.deepEqual(
        chains.map((c) => c.inits - inits[chains.indexOf(c)]!),
        [1, 1],
        'one init per chain',
      );
      assert.ok(
        chains.every((c, i) => c.idles > idles[i]!),
        'each chain was idled first',
      );
      assert.equal(miner.getState().mining, 'running');
      await waitFor(() => chains.every((c, i) => c.jobs > jobs[i]!), 'work again on both chains', 30_000);
      assert.deepEqual(unhandled, []);
    } finally {
      await miner.stop();
      assert.equal(clock.pending(), 0, 'no timer left on the clock after stop()');
      await server.stop();
    }
  });
});
