/**
 * EthStratumClient is a ManagedClient (host/stratum/pool-manager.ts) for its own job and share types, so
 * the PoolManager drives it through createEthPoolManager. The assignments below are checked by `tsc`
 * (ManagedEventsMismatch checks the event payloads, which the EventEmitter's generic `on` cannot); the
 * test checks the same at run time, and that the factory builds one client per pool with its dialect.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ManagedClient, ManagedEventsMismatch } from '../../host/stratum/pool-manager.ts';
import {
  type EthClientEvents,
  type EthClientJob,
  type EthShareSubmission,
  EthStratumClient,
} from '../../host/stratum-eth/client.ts';
import { createEthManagedClient, createEthPoolManager } from '../../host/stratum-eth/pool-manager.ts';
import { ManualClock } from '../../lib/clock.ts';
import { silentLogger } from '../../lib/log.ts';

const eventsFit: [ManagedEventsMismatch<EthClientEvents, EthClientJob, EthShareSubmission>] extends [never]
  ? true
  : false = true;

test('EthStratumClient has the pool-manager client surface', () => {
  assert.equal(eventsFit, true);
  const c = new EthStratumClient({ url: 'stratum3+tcp://127.0.0.1:1', user: 'u', label: 'pool0' });
  const s: ManagedClient<EthClientJob, EthShareSubmission> = c;
  assert.equal(s.state, 'idle');
  assert.equal(s.versionMask, 0);
  assert.equal(s.poolToken, undefined);
  assert.equal(c.difficulty, 1);
  assert.equal(c.label, 'pool0');
  for (const m of ['connect', 'close', 'drain', 'submit', 'on', 'off'] as const)
    assert.equal(typeof c[m], 'function');
  assert.equal(c.dialect, 'v2');
  assert.equal(new EthStratumClient({ url: 'stratum2+ssl://h:1', user: 'u' }).endpoint.tls, true);
  assert.equal(new EthStratumClient({ url: 'stratum+tcp://h:1', user: 'u' }).dialect, 'auto');
  assert.throws(() => new EthStratumClient({ url: 'stratum1+tcp://h:1', user: 'u' }), /eth-proxy/);
  assert.throws(() => new EthStratumClient({ url: 'http://h:1', user: 'u' }), /scheme/);
});

test('createEthManagedClient maps the manager settings and the pool entry onto the client', () => {
  const clock = new ManualClock();
  const c = createEthManagedClient(
    { url: 'stratum2+tcp://127.0.0.1:1', user: 'w1' },
    { label: 'pool3', clock, logger: silentLogger },
  );
  assert.ok(c instanceof EthStratumClient);
  assert.equal(c.label, 'pool3');
  assert.equal(c.user, 'w1');
  assert.equal(c.dialect, 'v1');
});

test('createEthPoolManager: one client per pool, status lists them without passwords', () => {
  const pm = createEthPoolManager({
    pools: [
      { url: 'stratum3+tcp://127.0.0.1:1', user: 'a', password: 'pa55' },
      { url: 'stratum2+tcp://127.0.0.1:2', user: 'b', algo: 'etchash' },
    ],
    clock: new ManualClock(),
  });
  const st = pm.getStatus();
  assert.equal(st.state, 'stopped');
  assert.deepEqual(
    st.pools.map((p) => [p.url, p.user, p.connection]),
    [
      ['stratum3+tcp://127.0.0.1:1', 'a', 'idle'],
      ['stratum2+tcp://127.0.0.1:2', 'b', 'idle'],
    ],
  );
  assert.ok(!JSON.stringify(st).includes('pa55'));
});
