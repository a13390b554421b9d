/**
 * EthStratumClient offers the surface PoolManager (host/stratum/pool-manager.ts) uses from the Bitcoin
 * StratumClient, so the manager can drive it once it takes a client factory (see the report for issue 8).
 * The assignment below is checked by `tsc`; the test checks the same at run time.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StratumClient } from '../../host/stratum/client.ts';
import { EthStratumClient } from '../../host/stratum-eth/client.ts';

type ManagedSurface = Pick<
  StratumClient,
  | 'connect'
  | 'close'
  | 'drain'
  | 'state'
  | 'versionMask'
  | 'poolToken'
  | 'pendingSubmits'
  | 'difficulty'
  | 'label'
  | 'user'
>;

test('EthStratumClient has the pool-manager surface of StratumClient', () => {
  const c = new EthStratumClient({ url: 'stratum3+tcp://127.0.0.1:1', user: 'u', label: 'pool0' });
  const s: ManagedSurface = c;
  assert.equal(s.state, 'idle');
  assert.equal(s.versionMask, 0);
  assert.equal(s.poolToken, undefined);
  assert.equal(s.difficulty, 1);
  assert.equal(s.label, 'pool0');
  for (const m of ['connect', 'close', 'drain', 'submit', 'on', 'off'] as const)
    assert.equal(typeof c[m], 'function');
  assert.equal(c.dialect, 'v2');
  assert.equal(new EthStratumClient({ url: 'stratum2+ssl://h:1', user: 'u' }).endpoint.tls, true);
  assert.equal(new EthStratumClient({ url: 'stratum+tcp://h:1', user: 'u' }).dialect, 'auto');
  assert.throws(() => new EthStratumClient({ url: 'stratum1+tcp://h:1', user: 'u' }), /eth-proxy/);
  assert.throws(() => new EthStratumClient({ url: 'http://h:1', user: 'u' }), /scheme/);
});
