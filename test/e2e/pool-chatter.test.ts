/**
 * The daemon against a chattering pool (issue 12 item 4): the embedded pool floods
 * `mining.set_version_mask` (alternating masks) and `client.show_message` while a simulated BM1368 board
 * mines, with a new job every second. The chips' version-rolling register is written at most once per
 * job boundary (never per message), the chatter costs a few log lines, no share reaches the pool twice
 * (its duplicate check, code 22, never fires) and shares keep being accepted. Real TCP, real time; the
 * figures are printed as diagnostics, the assertions are counts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findBoard } from '../../boards/index.ts';
import { Miner } from '../../host/miner/daemon.ts';
import { openBoardHardware } from '../../host/miner/hardware.ts';
import { StratumServer } from '../../host/pool/server.ts';
import { systemClock } from '../../lib/clock.ts';
import { memoryLogger } from '../../lib/log.ts';
import { waitFor } from '../helpers/net.ts';

test('set_version_mask + show_message flood: one chip mask write per job at most, no duplicate share', {
  timeout: 180_000,
}, async (t) => {
  const pool = new StratumServer({ difficulty: 0.0002, blockIntervalMs: 0 });
  await pool.listen(0);
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
    pools: [{ url: pool.url, user: 'chatter.test' }],
    deviceId: 'chatter-e2e',
    logger,
  });
  await miner.start();
  try {
    await waitFor(() => pool.stats.accepted >= 1, 'a first accepted share', 60_000);
    const acceptedBefore = pool.stats.accepted;
    const from = logger.records.length;
    let messages = 0;
    let jobs = 0;
    const flood = setInterval(() => {
      const lines: string[] = [];
      for (let i = 0; i < 10; i++) {
        pool.setVersionMask((i + jobs) % 2 ? 0x1fffe000 : 0x00ffe000); // the mask in force flips every job
        lines.push(
          JSON.stringify({
            id: null,
            method: 'client.show_message',
            params: [`maintenance ${messages + i}`],
          }),
        );
      }
      pool.sendRaw(`${lines.join('\n')}\n`);
      messages += 20;
    }, 10);
    const renotify = setInterval(() => {
      pool.renotify();
      jobs++;
    }, 1000);
    // By count, not by time: a busy machine fires the timers less often.
    await waitFor(() => messages >= 2000 && jobs >= 5, 'the flood', 120_000);
    clearInterval(flood);
    clearInterval(renotify);
    pool.setVersionMask(0x1fffe000);
    await waitFor(() => pool.stats.accepted >= acceptedBefore + 2, 'shares accepted after the flood', 60_000);
    const during = logger.records.slice(from);
    const writes = during.filter((r) => r.event === 'chain.version-mask').length;
    const chatter = during.filter(
      (r) => r.event === 'pool_message' || r.event === 'pool_version_mask',
    ).length;
    t.diagnostic(
      `flood: ${messages} messages, ${jobs} new jobs → ${writes} chip mask writes, ${chatter} chatter log lines, ${during.length} log lines in all; pool: ${pool.stats.accepted - acceptedBefore} accepted, rejects by code ${JSON.stringify(pool.stats.rejectedByCode)}`,
    );
    assert.ok(messages >= 2000, `only ${messages} messages sent`);
    assert.ok(writes >= 2, 'mask changes do reach the chips, at job boundaries');
    assert.ok(writes <= jobs + 2, `${writes} chip mask writes for ${jobs} jobs`);
    assert.ok(chatter <= 6, `${chatter} chatter lines`);
    assert.equal(pool.stats.rejectedByCode[22] ?? 0, 0, 'no duplicate share reached the pool');
  } finally {
    await miner.stop();
    await pool.close();
  }
});
