/**
 * The chips idle when no pool is usable and resume by themselves: the daemon on a simulated board loses
 * its only pool (the server goes away), idles the chips (the emulated chip stops hashing), and comes back
 * to mining when the pool returns on the same port. Real TCP, real time, short backoff.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findBoard } from '../../boards/index.ts';
import { Miner } from '../../host/miner/daemon.ts';
import { openBoardHardware } from '../../host/miner/hardware.ts';
import { StratumServer } from '../../host/pool/server.ts';
import { systemClock } from '../../lib/clock.ts';
import { memoryLogger } from '../../lib/log.ts';
import { freePort, waitFor } from '../helpers/net.ts';

test('all pools down → chips idle; pool back → mining resumes on its own', { timeout: 120_000 }, async () => {
  const port = await freePort();
  let pool = new StratumServer({ difficulty: 0.0002, blockIntervalMs: 0 });
  await pool.listen(port);
  const board = findBoard('sim-supra')!;
  const logger = memoryLogger('info');
  const hardware = await openBoardHardware(board, {
    clock: systemClock,
    logger,
    frequencyMhz: 490,
    maxHashesPerSecond: 300_000,
  });
  const miner = new Miner({
    board,
    hardware,
    pools: [{ url: pool.url, user: 'idle.test' }],
    deviceId: 'idle-e2e',
    pool: {
      backoff: { baseMs: 200, maxMs: 1000, jitter: 0.1 },
      failuresBeforeSwitch: 1,
      readyTimeoutMs: 5000,
    },
    logger,
  });
  await miner.start();
  try {
    await waitFor(() => miner.getState().shares.accepted >= 1, 'a first accepted share', 40_000);
    assert.equal(hardware.sim!.model.hashing, true);
    await pool.close();
    await waitFor(() => miner.getState().mining === 'idle', 'chips idle with no pool', 30_000);
    assert.equal(hardware.sim!.model.hashing, false, 'the emulated chip stopped hashing');
    assert.equal(miner.schedulers[0]!.hasWork, false);
    assert.ok(logger.records.some((r) => r.event === 'pools.idle'));
    const hashesWhileIdle = hardware.sim!.chain.stats.hashes;
    await new Promise((r) => setTimeout(r, 1500));
    assert.ok(
      hardware.sim!.chain.stats.hashes - hashesWhileIdle < 50_000,
      'the chip is held idle (reset, no job)',
    );

    pool = new StratumServer({ difficulty: 0.0002, blockIntervalMs: 0 });
    await pool.listen(port);
    await waitFor(() => miner.getState().mining === 'running', 'mining to resume by itself', 30_000);
    const p = pool;
    await waitFor(() => p.stats.accepted >= 1, 'shares accepted by the returned pool', 40_000);
  } finally {
    await miner.stop();
    await pool.close();
  }
});
