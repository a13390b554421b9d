/**
 * runEthashDemo end to end (pool + pool manager + emulated worker + host check), once per dialect choice:
 * accepted shares arrive, every one was checked by the host and by the pool, nothing is left running.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runEthashDemo } from '../../host/pool-eth/demo.ts';
import { memoryLogger } from '../../lib/log.ts';
import { TEST_CACHE_DIR } from '../ethash/shared-cache.ts';

for (const dialect of ['v1', 'v2', 'auto'] as const) {
  test(`demo (${dialect}) gets accepted shares through the whole path`, async () => {
    const logger = memoryLogger('info');
    const r = await runEthashDemo({
      dialect,
      shares: 2,
      difficulty: 2 ** -28,
      durationMs: 60_000,
      cacheDir: TEST_CACHE_DIR,
      logger,
    });
    assert.ok(r.accepted >= 2, `accepted ${r.accepted}`);
    assert.equal(r.shares.filter((s) => s.status === 'accepted').length, r.accepted);
    assert.equal(r.rejected, 0);
    assert.equal(r.hostRejected, 0);
    assert.ok(r.hashes > 0);
    const accepted = logger.records.filter((x) => x.event === 'share_accepted');
    // Each share is logged by the demo and by the pool that re-checked it.
    assert.ok(accepted.filter((x) => x.component === 'ethash-demo').length >= 2);
    assert.ok(accepted.filter((x) => x.component === 'pool-eth').length >= 2);
    const ready = logger.records.find((x) => x.event === 'pool_ready');
    assert.equal(ready?.dialect, dialect === 'v1' ? 'v1' : 'v2');
    // The work came through the ethash pool manager (failover / accounting), not a bare client.
    assert.ok(logger.records.some((x) => x.component === 'pools' && x.event === 'pool_active'));
  });
}
