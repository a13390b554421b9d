/**
 * Prometheus: a real HTTP scrape of /metrics returns the state's figures with labels, reflects
 * changes at the next scrape, leaves optional figures out, and uses a private registry.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { register as globalRegistry } from 'prom-client';
import { startMetricsServer } from '../../host/telemetry/metrics.ts';
import { FakeMiner } from '../helpers/fake-miner.ts';

function value(body: string, series: string): number | undefined {
  for (const line of body.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

test('GET /metrics over HTTP exposes the state', async () => {
  const miner = new FakeMiner('prom');
  const srv = await startMetricsServer(miner, { port: 0 });
  try {
    const res = await fetch(`http://127.0.0.1:${srv.port}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
    const body = await res.text();
    assert.equal(value(body, 'asicd_hashrate_ghs{window="now"}'), 1210.5);
    assert.equal(value(body, 'asicd_hashrate_ghs{window="1h"}'), 1185.75);
    assert.equal(value(body, 'asicd_shares_accepted_total'), 120);
    assert.equal(value(body, 'asicd_shares_rejected_total{reason="low difficulty"}'), 1);
    assert.equal(value(body, 'asicd_shares_rejected_total{reason="stale"}'), 3);
    assert.equal(value(body, 'asicd_chip_hashrate_ghs{chain="0",chip="2"}'), 302.625);
    assert.equal(value(body, 'asicd_chip_errors_total{chain="0",chip="2"}'), 7);
    assert.equal(value(body, 'asicd_chain_frequency_mhz{chain="0"}'), 525);
    assert.equal(value(body, 'asicd_temperature_celsius{sensor="chip"}'), 61.25);
    assert.equal(value(body, 'asicd_fan_rpm{fan="0"}'), 4200);
    assert.equal(value(body, 'asicd_power_watts{rail="input"}'), 18.4);
    assert.equal(value(body, 'asicd_mining_state{state="running"}'), 1);
    assert.equal(value(body, 'asicd_mining_state{state="paused"}'), 0);
    assert.equal(
      value(
        body,
        'asicd_pool_info{pool="0",url="stratum+tcp://pool.example:3333",user="bc1qexample.worker1",status="alive"}',
      ),
      1,
    );
    assert.match(body, /# TYPE asicd_shares_accepted_total counter/);
    assert.match(body, /asicd_info\{device_id="prom"/);

    // Changes show at the next scrape; unreadable sensors and unmeasured power disappear.
    const { powerW: _p, ...rest } = miner.state;
    miner.state = {
      ...rest,
      mining: 'paused',
      temperatures: [{ name: 'board', celsius: null }],
      shares: { ...miner.state.shares, accepted: 121 },
    };
    const body2 = await (await fetch(`http://127.0.0.1:${srv.port}/metrics`)).text();
    assert.equal(value(body2, 'asicd_mining_state{state="paused"}'), 1);
    assert.equal(value(body2, 'asicd_shares_accepted_total'), 121);
    assert.equal(value(body2, 'asicd_power_watts{rail="input"}'), undefined);
    assert.ok(!body2.includes('asicd_temperature_celsius{'));

    assert.equal((await fetch(`http://127.0.0.1:${srv.port}/other`)).status, 404);
    assert.equal((await fetch(`http://127.0.0.1:${srv.port}/metrics`, { method: 'POST' })).status, 405);
    assert.equal(
      globalRegistry.getSingleMetric('asicd_hashrate_ghs'),
      undefined,
      'global registry untouched',
    );
  } finally {
    await srv.close();
  }
});

test('series exist from the start (every reject reason at 0) and base units sit beside _ghs/_mhz', async () => {
  const miner = new FakeMiner('fresh');
  miner.quietPatch({
    shares: { ...miner.state.shares, rejected: 0, rejectedByReason: {}, stale: 0 },
  });
  const srv = await startMetricsServer(miner, { port: 0 });
  try {
    const body = await (await fetch(`http://127.0.0.1:${srv.port}/metrics`)).text();
    for (const reason of ['stale', 'duplicate', 'low-difficulty', 'unauthorized', 'not-subscribed', 'other'])
      assert.equal(value(body, `asicd_shares_rejected_total{reason="${reason}"}`), 0, reason);
    assert.equal(value(body, 'asicd_hashrate_hashes_per_second{window="now"}'), 1210.5e9);
    assert.equal(value(body, 'asicd_frequency_hertz'), 525e6);
    assert.equal(value(body, 'asicd_voltage_volts{rail="core"}'), 1.15);
    assert.equal(value(body, 'asicd_chip_hashrate_hashes_per_second{chain="0",chip="1"}'), 302.625e9);
    assert.equal(value(body, 'asicd_best_difficulty_lifetime'), 98_765_432);
  } finally {
    await srv.close();
  }
});
