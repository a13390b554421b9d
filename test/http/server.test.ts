/**
 * The HTTP server over real TCP on loopback, driven by the in-memory FakeMiner: AxeOS field names and
 * units, every refused write (no token, wrong token, writes disabled, cross-origin, open-loopback from a
 * non-loopback peer), PATCH validation against the board limits (nothing applied when refused), pool
 * and temperature-target changes saved to the state file, CORS closed by default, the OpenAPI document,
 * the event stream, the statistics layout.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { DeviceContext } from '../../host/http/axeos.ts';
import {
  type HttpServer,
  type HttpServerOptions,
  startHttpServer,
  tokenMatches,
} from '../../host/http/server.ts';
import { PersistentSource } from '../../host/state/persistent.ts';
import { ManualClock } from '../../lib/clock.ts';
import { FakeMiner } from '../helpers/fake-miner.ts';

const TOKEN = 'correct-horse-battery';
const dir = mkdtempSync(join(tmpdir(), 'asicd-http-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function device(): DeviceContext {
  return {
    hostname: 'testhost',
    macAddr: 'AA:BB:CC:DD:EE:FF',
    boardId: 'sim-chain',
    boardName: 'Simulated chain',
    chip: 'BM1370',
    chips: 4,
    frequencyMhz: { min: 200, max: 800, default: 525 },
    voltageMv: { min: 1000, max: 1300, default: 1150 },
    targetTempC: 60,
    maxTempC: 75,
    pools: [
      { url: 'stratum+tcp://pool.example:3333', user: 'bc1qexample.worker1', pass: 'x' },
      { url: 'stratum+tcp://backup.example:3333', user: 'bc1qexample.worker1', pass: 'secret' },
    ],
  };
}

async function start(o: Partial<HttpServerOptions> = {}, file?: string) {
  const miner = new FakeMiner();
  const clock = new ManualClock();
  const persistent = new PersistentSource(miner, file ? { file, clock } : { clock });
  const http = await startHttpServer({
    source: persistent,
    persistent,
    device: device(),
    host: '127.0.0.1',
    port: 0,
    token: TOKEN,
    clock,
    ...o,
  });
  return { miner, http, clock, persistent };
}

async function call(
  http: HttpServer,
  method: string,
  path: string,
  o: { body?: unknown; token?: string; headers?: Record<string, string> } = {},
) {
  const headers: Record<string, string> = { ...o.headers };
  if (o.token !== undefined) headers.authorization = `Bearer ${o.token}`;
  if (o.body !== undefined) headers['content-type'] = 'application/json';
  const r = await fetch(`${http.url.replace(/\/$/, '')}${path}`, {
    method,
    headers,
    ...(o.body !== undefined ? { body: typeof o.body === 'string' ? o.body : JSON.stringify(o.body) } : {}),
  });
  const text = await r.text();
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {}
  return { status: r.status, headers: r.headers, text, json };
}

const WRITES: Array<[string, string, unknown?]> = [
  ['PATCH', '/api/system', { frequency: 550 }],
  ['POST', '/api/system/restart'],
  ['POST', '/api/system/pause'],
  ['POST', '/api/system/resume'],
  ['POST', '/api/system/identify'],
];

describe('HTTP server', () => {
  test('GET /api/system/info: AxeOS names, types and units', async () => {
    const { http } = await start();
    try {
      const r = await call(http, 'GET', '/api/system/info');
      assert.equal(r.status, 200);
      const i = r.json!;
      assert.equal(i.hashRate, 1200.25, 'GH/s (1 min average)');
      assert.equal(i.expectedHashrate, 1228.8);
      assert.equal(i.ASICModel, 'BM1370');
      assert.equal(i.asicCount, 4);
      assert.equal(i.smallCoreCount, 2040);
      assert.equal(i.temp, 61.25, 'hottest chip-side sensor, °C');
      assert.equal(i.vrTemp, undefined, 'no VR sensor on this board: absent, not 0');
      assert.equal(i.power, 18.4, 'W');
      assert.equal(i.coreVoltageActual, 1150, 'mV');
      assert.equal(i.fanspeed, 55, '% duty');
      assert.equal(i.fanrpm, 4200);
      assert.equal(i.autofanspeed, 1);
      assert.equal(i.frequency, 525);
      assert.equal(i.sharesAccepted, 120);
      assert.equal(i.sharesRejected, 5);
      assert.deepEqual(i.sharesRejectedReasons, [
        { message: 'duplicate', count: 1 },
        { message: 'low difficulty', count: 1 },
        { message: 'stale', count: 3 },
      ]);
      assert.equal(i.bestDiff, 98_765_432);
      assert.equal(i.bestSessionDiff, 1_234_567);
      assert.equal(i.uptimeSeconds, 3600);
      assert.equal(i.stratumURL, 'pool.example');
      assert.equal(i.stratumPort, 3333);
      assert.equal(i.stratumUser, 'bc1qexample.worker1');
      assert.equal(i.fallbackStratumURL, 'backup.example');
      assert.equal(i.isUsingFallbackStratum, 0);
      assert.equal(i.overheat_mode, 0);
      assert.equal(i.hostname, 'testhost');
      assert.equal(i.macAddr, 'AA:BB:CC:DD:EE:FF');
      assert.ok(!r.text.includes('secret') && !/"\w*[Pp]ass\w*"/.test(r.text), 'no password field');
    } finally {
      await http.close();
    }
  });

  test('every write route is refused without a valid token, and nothing reaches the miner', async () => {
    const { http, miner } = await start();
    try {
      for (const [method, path, body] of WRITES) {
        const none = await call(http, method, path, { body });
        assert.equal(none.status, 401, `${method} ${path} without a token`);
        assert.match(none.headers.get('www-authenticate') ?? '', /Bearer/);
        const wrong = await call(http, method, path, { body, token: `${TOKEN}x` });
        assert.equal(wrong.status, 401, `${method} ${path} with a wrong token`);
        assert.equal((wrong.json as { error: string }).error, 'invalid token');
        const short = await call(http, method, path, { body, token: '' });
        assert.equal(short.status, 401, `${method} ${path} with an empty token`);
        const xorigin = await call(http, method, path, {
          body,
          token: TOKEN,
          headers: { origin: 'http://evil.example' },
        });
        assert.equal(xorigin.status, 403, `${method} ${path} from another origin, even with the token`);
      }
      assert.deepEqual(miner.calls, [], 'no control call was made');
      // The same writes with the token go through.
      for (const [method, path, body] of WRITES) {
        const ok = await call(http, method, path, { body, token: TOKEN });
        assert.equal(ok.status, 200, `${method} ${path} with the token: ${ok.text}`);
      }
      const calls = miner.calls as Array<{ method: string }>;
      assert.deepEqual(
        calls.map((c) => c.method),
        ['setFrequency', 'restart', 'pause', 'resume'],
      );
    } finally {
      await http.close();
    }
  });

  test('without a configured token writes are off; open-loopback is explicit and loopback-only', async () => {
    const off = await start({ token: undefined });
    try {
      for (const [method, path, body] of WRITES) {
        const r = await call(off.http, method, path, { body, token: 'anything' });
        assert.equal(r.status, 401);
        assert.match(String(r.json?.error), /writes are disabled/);
      }
      assert.deepEqual(off.miner.calls, []);
    } finally {
      await off.http.close();
    }
    const open = await start({ token: undefined, openLoopback: true });
    try {
      const r = await call(open.http, 'POST', '/api/system/pause');
      assert.equal(r.status, 200, 'loopback peer may write without a token when configured');
      for (const [method, url, body] of WRITES) {
        const remote = await open.http.app.inject({
          method: method as 'POST',
          url,
          remoteAddress: '192.168.1.50',
          ...(body !== undefined ? { payload: body as object } : {}),
        });
        assert.equal(remote.statusCode, 401, `${method} ${url} from a LAN peer`);
      }
      assert.deepEqual(
        (open.miner.calls as Array<{ method: string }>).map((c) => c.method),
        ['pause'],
      );
    } finally {
      await open.http.close();
    }
    await assert.rejects(
      start({ token: undefined, openLoopback: true, host: '0.0.0.0' }),
      /only allowed when listening on loopback/,
    );
  });

  test('PATCH is validated against the board limits; a refused PATCH applies nothing', async () => {
    const { http, miner } = await start();
    try {
      const bad: Array<[unknown, RegExp]> = [
        [{ frequency: 801 }, /frequency 801 MHz is outside the board's range 200\.\.800/],
        [{ frequency: 100 }, /outside the board's range/],
        [{ frequency: '550' }, /must be number/],
        [{ fanspeed: 10 }, /manualFanSpeed 10 % is outside the board's range 20\.\.100/],
        [{ manualFanSpeed: 10 }, /manualFanSpeed 10 % is outside/],
        [{ autofanspeed: 0, fanspeed: 101 }, /manualFanSpeed/],
        [{ manualFanSpeed: 50, fanspeed: 60 }, /disagree/],
        [{ minFanSpeed: 5 }, /minFanSpeed 5 % is below the board's minimum airflow/],
        [{ temptarget: 90 }, /temptarget 90 °C/],
        [{ coreVoltage: 1500 }, /coreVoltage 1500 mV is outside/],
        [{ coreVoltage: 1200 }, /core voltage cannot be set/],
        [{ pools: [{ id: 2, stratumURL: 'x.example' }] }, /primary \(id 0\) and fallback \(id 1\)/],
        [{ pools: [{ stratumURL: 'x.example' }] }, /must have required property 'id'/],
        [
          { stratumURL: 'a.example', pools: [{ id: 0, stratumURL: 'b.example' }] },
          /both directly and in pools/,
        ],
        [{ stratumProtocol: 'SV2' }, /SV2 pools are set with their URL/],
        [{ primaryPoolIndex: 3 }, /primaryPoolIndex/],
        [{ stratumPort: 70000 }, /stratumPort/],
        [{ stratumURL: 'bad host/with path' }, /not a host name/],
        [{ frequncy: 500 }, /must NOT have additional properties/],
        [{ frequency: 550, overheat_mode: 1 }, /overheat_mode can only be cleared/],
        ['{"frequency": 5', /JSON|Unexpected/i],
      ];
      for (const [body, msg] of bad) {
        const r = await call(http, 'PATCH', '/api/system', { body, token: TOKEN });
        assert.ok(r.status === 400 || r.status === 409, `${JSON.stringify(body)} → ${r.status} ${r.text}`);
        assert.match(String(r.json?.error), msg, JSON.stringify(body));
      }
      assert.deepEqual(miner.calls, [], 'nothing applied');
      const big = await call(http, 'PATCH', '/api/system', {
        body: { stratumUser: 'x'.repeat(20_000) },
        token: TOKEN,
      });
      assert.equal(big.status, 413, 'body limit');
      const ok = await call(http, 'PATCH', '/api/system', {
        body: { frequency: 600, autofanspeed: 0, fanspeed: 70, ssid: 'ignored', hostname: 'x' },
        token: TOKEN,
      });
      assert.equal(ok.status, 200, ok.text);
      assert.deepEqual(ok.json?.applied, { frequency: 600, fan: { mode: 'manual', percent: 70 } });
      assert.deepEqual(ok.json?.ignored, ['ssid', 'hostname']);
      assert.equal(miner.state.frequencyMhz, 600);
      assert.equal(miner.state.fan.dutyPercent, 70);
      const info = await call(http, 'GET', '/api/system/info');
      assert.equal(info.json?.frequency, 600);
      assert.equal(info.json?.autofanspeed, 0);
    } finally {
      await http.close();
    }
  });

  test('ESP-Miner v2.15 pools[] and stratumTLS map onto the primary and fallback pools', async () => {
    const file = join(dir, 'pools.state.json');
    const { http } = await start({}, file);
    try {
      const r = await call(http, 'PATCH', '/api/system', {
        body: {
          pools: [
            { id: 0, stratumURL: 'tls.example', stratumPort: 4443, stratumTLS: 1, stratumUser: 'bc1q.a' },
            {
              id: 1,
              stratumURL: 'plain.example',
              stratumPort: 3334,
              stratumUser: 'bc1q.b',
              stratumPassword: 'p',
            },
          ],
          primaryPoolIndex: 0,
          secondaryPoolIndex: 1,
          useFallbackStratum: 1,
          minFanSpeed: 30,
        },
        token: TOKEN,
      });
      assert.equal(r.status, 200, r.text);
      const saved = JSON.parse(readFileSync(file, 'utf8')) as { settings: Record<string, unknown> };
      assert.deepEqual(saved.settings.pools, [
        { url: 'stratum+ssl://tls.example:4443', user: 'bc1q.a', pass: 'x' },
        { url: 'stratum+tcp://plain.example:3334', user: 'bc1q.b', pass: 'p' },
      ]);
      assert.deepEqual([...((r.json?.ignored as string[]) ?? [])].sort(), [
        'minFanSpeed',
        'primaryPoolIndex',
        'secondaryPoolIndex',
        'useFallbackStratum',
      ]);
      const act = await call(http, 'POST', '/api/system/pause', { token: TOKEN });
      assert.deepEqual(act.json, { message: 'Mining paused' }, 'ESP-Miner answers actions with JSON');
    } finally {
      await http.close();
    }
  });

  test('pool and temperature-target changes are saved to the state file (applied at restart)', async () => {
    const file = join(dir, 'patch.state.json');
    const { http } = await start({}, file);
    try {
      const r = await call(http, 'PATCH', '/api/system', {
        body: {
          stratumURL: 'solo.example',
          stratumPort: 4334,
          stratumUser: 'bc1qnew.rig',
          stratumPassword: 'pw1',
          fallbackStratumURL: '',
          temptarget: 55,
          frequency: 500,
        },
        token: TOKEN,
      });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json?.restartRequired, ['temptarget', 'stratum']);
      const saved = JSON.parse(readFileSync(file, 'utf8')) as { settings: Record<string, unknown> };
      assert.deepEqual(saved.settings.pools, [
        { url: 'stratum+tcp://solo.example:4334', user: 'bc1qnew.rig', pass: 'pw1' },
      ]);
      assert.equal(saved.settings['thermal.targetTemp'], 55);
      assert.equal(saved.settings.frequency, 500, 'a live change is saved too');
      const info = await call(http, 'GET', '/api/system/info');
      assert.ok(!info.text.includes('pw1'));
    } finally {
      await http.close();
    }
  });

  test('CORS is closed by default and opens only for configured origins', async () => {
    const closed = await start();
    try {
      const r = await call(closed.http, 'GET', '/api/system/info', {
        headers: { origin: 'http://other.example' },
      });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('access-control-allow-origin'), null);
      const pre = await call(closed.http, 'OPTIONS', '/api/system', {
        headers: { origin: 'http://other.example', 'access-control-request-method': 'PATCH' },
      });
      assert.equal(pre.headers.get('access-control-allow-origin'), null);
    } finally {
      await closed.http.close();
    }
    const open = await start({ corsOrigins: ['http://swarm.local'] });
    try {
      const r = await call(open.http, 'GET', '/api/system/info', {
        headers: { origin: 'http://swarm.local' },
      });
      assert.equal(r.headers.get('access-control-allow-origin'), 'http://swarm.local');
      const w = await call(open.http, 'POST', '/api/system/pause', {
        token: TOKEN,
        headers: { origin: 'http://swarm.local' },
      });
      assert.equal(w.status, 200, 'a configured origin may write with the token');
    } finally {
      await open.http.close();
    }
  });

  test('OpenAPI document lists the routes with their schemas', async () => {
    const { http } = await start();
    try {
      const r = await call(http, 'GET', '/api/openapi.json');
      const doc = r.json as { paths: Record<string, Record<string, { requestBody?: unknown }>> };
      for (const p of [
        '/api/system/info',
        '/api/system/asic',
        '/api/system/statistics',
        '/api/system',
        '/api/system/restart',
      ])
        assert.ok(doc.paths[p], p);
      assert.ok(doc.paths['/api/system']!.patch!.requestBody, 'PATCH body schema');
    } finally {
      await http.close();
    }
  });

  test('event stream: state first, then pushes on change, log lines and miner events', async () => {
    const { http, miner } = await start();
    try {
      const got: string[] = [];
      const req = request(`${http.url}api/asicd/events`);
      const done = new Promise<void>((resolve, reject) => {
        req.on('response', (res) => {
          assert.equal(res.headers['content-type'], 'text/event-stream; charset=utf-8');
          res.setEncoding('utf8');
          let buf = '';
          res.on('data', (d: string) => {
            buf += d;
            let k = buf.indexOf('\n\n');
            while (k >= 0) {
              got.push(buf.slice(0, k));
              buf = buf.slice(k + 2);
              k = buf.indexOf('\n\n');
            }
            if (got.some((g) => g.startsWith('event: miner'))) resolve();
          });
        });
        req.on('error', reject);
      });
      req.end();
      while (!got.some((g) => g.startsWith('event: state'))) await new Promise((r) => setTimeout(r, 10));
      const first = JSON.parse(got[0]!.split('data: ')[1]!) as { shares: { accepted: number } };
      assert.equal(first.shares.accepted, 120);
      miner.emit({ type: 'fault', time: 1, component: 'fan', severity: 'warning', message: 'tach lost' });
      await done;
      assert.ok(got.some((g) => g.includes('tach lost')));
      req.destroy();
    } finally {
      await http.close();
    }
  });

  test('statistics: ESP-Miner layout, rows end with ms since start', async () => {
    const { http, clock } = await start();
    try {
      clock.advance(10_000);
      clock.advance(10_000);
      const r = await call(http, 'GET', '/api/system/statistics?columns=hashrate,asicTemp,nonsense');
      const s = r.json as { labels: string[]; statistics: number[][]; currentTimestamp: number };
      assert.deepEqual(s.labels, ['hashrate', 'asicTemp', 'timestamp']);
      assert.equal(s.statistics.length, 3);
      assert.deepEqual(s.statistics[2], [1210.5, 61.25, 20_000]);
      assert.equal(s.currentTimestamp, 20_000);
    } finally {
      await http.close();
    }
  });

  test('token compare', () => {
    assert.ok(tokenMatches('abc', 'abc'));
    assert.ok(!tokenMatches('abd', 'abc'));
    assert.ok(!tokenMatches('ab', 'abc'));
    assert.ok(!tokenMatches('', 'abc'));
  });
});
