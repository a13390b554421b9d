/**
 * Every exit path of the Miner survives hardware that throws synchronously (a driver bug, a closed
 * port): stop() and emergencyStop() still resolve, the chips are asked to idle, and nothing becomes an
 * uncaught exception or an unhandled rejection. Fake chains and fan under the ManualClock.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { findBoard } from '../../boards/index.ts';
import { MODELS } from '../../drivers/bm13xx/index.ts';
import type { FanDriver } from '../../drivers/sensors/types.ts';
import type { BoardHardware, ChainRuntime } from '../../host/miner/daemon.ts';
import { Miner } from '../../host/miner/daemon.ts';
import { ManualClock } from '../../lib/clock.ts';
import { memoryLogger } from '../../lib/log.ts';
import { freePort } from '../helpers/net.ts';

const unhandled: unknown[] = [];
const onUnhandled = (r: unknown) => unhandled.push(r);
before(() => process.on('unhandledRejection', onUnhandled));
after(() => process.off('unhandledRejection', onUnhandled));

/** A chain whose idle, close and frequency writes throw synchronously (not a rejected promise). */
class ThrowingChain implements ChainRuntime {
  readonly name = 'throwing';
  readonly model = MODELS.BM1370;
  readonly chipCount = 1;
  readonly canHoldReset = true;
  readonly ticketDifficulty = 256;
  idleCalls = 0;
  async init(): Promise<void> {}
  setFrequency(): Promise<void> {
    throw new Error('port closed (sync)');
  }
  async setVersionMask(): Promise<void> {}
  idle(): Promise<void> {
    this.idleCalls++;
    throw new Error('port closed (sync)');
  }
  async sendJob(_job: unknown, beforeWrite?: (id: number) => void): Promise<number> {
    beforeWrite?.(0);
    return 0;
  }
  onNonce() {
    return () => {};
  }
  onFault() {
    return () => {};
  }
  onDown() {
    return () => {};
  }
  close(): Promise<void> {
    throw new Error('port closed (sync)');
  }
}

class ThrowingFan implements FanDriver {
  readonly name = 'throwing-fan';
  setDuty(): Promise<void> {
    throw new Error('fan bus gone (sync)');
  }
  async readRpm(): Promise<number | undefined> {
    return undefined;
  }
}

async function miner() {
  const chain = new ThrowingChain();
  const hardware: BoardHardware = {
    chains: [chain],
    sensors: [],
    fan: new ThrowingFan(),
    expectedGhs: () => 1,
    close: () => {
      throw new Error('board close (sync)');
    },
  };
  const m = new Miner({
    board: findBoard('sim-gamma')!,
    hardware,
    pools: [{ url: `stratum+tcp://127.0.0.1:${await freePort()}`, user: 'stop.safety' }],
    deviceId: 'stop-safety',
    clock: new ManualClock(),
    logger: memoryLogger('debug'),
    thermal: false,
  });
  return { m, chain };
}

describe('exit paths with hardware that throws synchronously', () => {
  it('stop() resolves, the chips were asked to idle, nothing unhandled', async () => {
    const { m, chain } = await miner();
    await m.start();
    await assert.doesNotReject(m.stop());
    assert.ok(chain.idleCalls >= 1, 'the chips were asked to idle');
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(unhandled, []);
  });

  it('emergencyStop() resolves (fans first, then the chips), nothing unhandled', async () => {
    const { m, chain } = await miner();
    await m.start();
    await assert.doesNotReject(m.emergencyStop('test'));
    assert.ok(chain.idleCalls >= 1);
    await m.stop();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(unhandled, []);
  });
});
