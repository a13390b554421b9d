/**
 * The whole daemon on a simulated board (emulated BM13xx chips) with `--pool stratum2+tcp://…/KEY
 * --pool stratum+tcp://…`: shares found by the chips are accepted by the embedded SV2 pool; the SV2 pool
 * goes away → the V1 pool gets the shares; the SV2 pool returns → back to it. The scheduler and the chips
 * get the same job type from both. Real TCP, real time, short backoff and probe.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findBoard } from '../../boards/index.ts';
import { Miner } from '../../host/miner/daemon.ts';
import { openBoardHardware } from '../../host/miner/hardware.ts';
import { StratumServer } from '../../host/pool/server.ts';
import { ellswiftCreate } from '../../host/stratum-v2/ellswift.ts';
import { Sv2Pool } from '../../host/stratum-v2/pool.ts';
import { systemClock } from '../../lib/clock.ts';
import { memoryLogger } from '../../lib/log.ts';
import { waitFor } from '../helpers/net.ts';

test('daemon: SV2 pool first, V1 fallback, back to SV2 — shares from emulated chips on both', {
  timeout: 240_000,
}, async () => {
  const authorityPrivateKey = ellswiftCreate().privateKey;
  let sv2 = new Sv2Pool({ difficulty: 0.0001, blockIntervalMs: 0, authorityPrivateKey });
  const port = await sv2.listen(0);
  const v1 = new StratumServer({ difficulty: 0.0001, blockIntervalMs: 0 });
  await v1.listen(0);
  const board = findBoard('sim-supra')!;
  const logger = memoryLogger('info');
  const hardware = await openBoardHardware(board, {
    clock: systemClock,
    logger,
    frequencyMhz: 490,
    maxHashesPerSecond: 400_000,
  });
  const miner = new Miner({
    board,
    hardware,
    pools: [
      { url: sv2.url, user: 'sv2.worker' },
      { url: v1.url, user: 'v1.worker' },
    ],
    deviceId: 'sv2-e2e',
    pool: {
      backoff: { baseMs: 200, maxMs: 1000, jitter: 0.1 },
      failuresBeforeSwitch: 1,
      readyTimeoutMs: 20_000,
      probeFirstMs: 1000,
      probeIntervalMs: 2000,
    },
    logger,
  });
  await miner.start();
  try {
    const first = sv2;
    await waitFor(() => first.stats.accepted >= 2, 'shares accepted by the SV2 pool', 90_000);
    assert.equal(miner.pools.getStatus().failover.active, 0);
    await sv2.close();
    await waitFor(() => v1.stats.accepted >= 1, 'shares accepted by the V1 fallback', 90_000);
    assert.equal(miner.pools.getStatus().failover.active, 1);
    sv2 = new Sv2Pool({ difficulty: 0.0001, blockIntervalMs: 0, authorityPrivateKey });
    await sv2.listen(port);
    const again = sv2;
    await waitFor(() => again.stats.accepted >= 1, 'shares accepted by the returned SV2 pool', 90_000);
    const acc = (i: number) => miner.pools.getStatus().pools[i]!.accounting.accepted;
    await waitFor(
      () => acc(0) >= first.stats.accepted + again.stats.accepted,
      'the manager to account them',
      20_000,
    );
    const st = miner.pools.getStatus();
    assert.equal(st.failover.active, 0);
    assert.ok(st.pools[0]!.accounting.accepted >= 3);
    assert.ok(st.pools[1]!.accounting.accepted >= 1);
    assert.equal(st.pools[0]!.accounting.rejected, 0);
  } finally {
    await miner.stop();
    await sv2.close();
    await v1.close();
  }
});
