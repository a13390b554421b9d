/**
 * asicd's AxeOS routes compared with ESP-Miner's own field set (test/fixtures/axeos/esp-miner-v2.15.0.json,
 * extracted from ESP-Miner v2.15.0's system_api_json.c, asic_settings.c, http_server.c and nvs_config.c):
 * every field asicd serves under an ESP-Miner name has ESP-Miner's JSON type, every other field is a
 * declared asicd extension, the fields AxeOS clients read are all there, and the power figures are in
 * ESP-Miner's units (input voltage mV, current mA, power W, core voltage mV) — over real TCP.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import type { MinerState } from '../../host/api/types.ts';
import { type DeviceContext, INFO_EXTENSIONS } from '../../host/http/axeos.ts';
import { startHttpServer } from '../../host/http/server.ts';
import { ManualClock } from '../../lib/clock.ts';
import { FakeMiner, sampleState } from '../helpers/fake-miner.ts';

interface Reference {
  source: { commit: string; tag: string };
  systemInfo: { types: Record<string, string>; conditional: string[] };
  pool: { types: Record<string, string> };
  systemAsic: { types: Record<string, string> };
  statistics: { labels: string[]; lastLabel: string };
  actions: Record<string, { message: string }>;
  exampleInfo: Record<string, unknown>;
}

const ref = JSON.parse(
  readFileSync(new URL('../fixtures/axeos/esp-miner-v2.15.0.json', import.meta.url), 'utf8'),
) as Reference;

const jsonType = (v: unknown) => (Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v);

/** What pyasic/hass-miner, swarm pages and the AxeOS home page read (and the issue lists). */
const CLIENT_FIELDS = [
  'hashRate',
  'expectedHashrate',
  'power',
  'voltage',
  'current',
  'temp',
  'vrTemp',
  'fanrpm',
  'fanspeed',
  'frequency',
  'coreVoltage',
  'coreVoltageActual',
  'smallCoreCount',
  'ASICModel',
  'bestDiff',
  'bestSessionDiff',
  'sharesAccepted',
  'sharesRejected',
  'sharesRejectedReasons',
  'uptimeSeconds',
  'hostname',
  'version',
  'macAddr',
  'stratumURL',
  'stratumPort',
  'stratumUser',
  'fallbackStratumURL',
  'fallbackStratumPort',
  'fallbackStratumUser',
  'isUsingFallbackStratum',
  'miningPaused',
  'overheat_mode',
  'autofanspeed',
  'temptarget',
];

function device(): DeviceContext {
  return {
    hostname: 'gamma',
    macAddr: 'AA:BB:CC:DD:EE:FF',
    boardId: 'sim-gamma-usb',
    boardName: 'Bitaxe Gamma (emulated)',
    chip: 'BM1370',
    chips: 1,
    frequencyMhz: { min: 400, max: 625, default: 525 },
    voltageMv: { min: 1000, max: 1300, default: 1150 },
    targetTempC: 60,
    maxTempC: 75,
    pools: [{ url: 'stratum+tcp://pool.example:3333', user: 'bc1qexample.worker1', pass: 'x' }],
  };
}

function poweredState(): MinerState {
  const s = sampleState();
  return {
    ...s,
    temperatures: [...s.temperatures, { name: 'vr', celsius: 47.5, limit: 105 }],
    power: {
      state: 'on',
      setMv: 1150,
      inputV: 5.1,
      coreV: 1.148,
      currentA: 3.2,
      powerW: 16.32,
      vrTempC: 47.5,
      efficiencyJth: 13.6,
    },
    powerW: 16.32,
    voltageMv: 1148,
    limits: { ...s.limits, voltageMv: { min: 1000, max: 1300 } },
  };
}

async function serve(state: MinerState) {
  const http = await startHttpServer({
    source: new FakeMiner('ref', state),
    device: device(),
    host: '127.0.0.1',
    port: 0,
    token: 'token-token',
    clock: new ManualClock(),
  });
  const get = async (path: string) => {
    const r = await fetch(`${http.url.replace(/\/$/, '')}${path}`);
    assert.equal(r.status, 200, path);
    return (await r.json()) as Record<string, unknown>;
  };
  return { http, get };
}

describe('AxeOS compatibility against ESP-Miner v2.15.0', () => {
  test('the reference fixture is the real field set (sanity of the copy)', () => {
    assert.match(ref.source.commit, /^[0-9a-f]{40}$/);
    for (const f of ['hashRate', 'power', 'voltage', 'current', 'coreVoltage', 'coreVoltageActual', 'vrTemp'])
      assert.equal(ref.systemInfo.types[f], 'number', f);
    assert.equal(ref.systemInfo.types.miningPaused, 'boolean');
    // AxeOS's own sample response uses the same names and types as the C source.
    for (const [k, v] of Object.entries(ref.exampleInfo)) {
      const t = ref.systemInfo.types[k];
      if (t === undefined || k.startsWith('stratumTLS') || k.startsWith('fallbackStratumTLS')) continue;
      assert.equal(jsonType(v), t, `exampleInfo.${k}`);
    }
  });

  test('GET /api/system/info: ESP-Miner names with ESP-Miner types; the rest are declared extensions', async () => {
    const { http, get } = await serve(poweredState());
    try {
      const info = await get('/api/system/info');
      const extensions = new Set<string>(INFO_EXTENSIONS);
      for (const [k, v] of Object.entries(info)) {
        const t = ref.systemInfo.types[k];
        if (t === undefined) {
          assert.ok(extensions.has(k), `${k} is neither an ESP-Miner field nor a declared extension`);
          continue;
        }
        assert.equal(jsonType(v), t, `${k}: ESP-Miner sends a ${t}, asicd sent ${JSON.stringify(v)}`);
      }
      for (const f of CLIENT_FIELDS) assert.ok(f in info, `${f} missing`);
      for (const p of info.pools as Array<Record<string, unknown>>) {
        for (const [k, v] of Object.entries(p)) {
          assert.ok(k in ref.pool.types, `pools[].${k} is not an ESP-Miner pool field`);
          assert.equal(jsonType(v), ref.pool.types[k], `pools[].${k}`);
        }
      }
      // Units as ESP-Miner: input mV, current mA, power W, core mV, °C.
      assert.equal(info.voltage, 5100);
      assert.equal(info.current, 3200);
      assert.equal(info.power, 16.32);
      assert.equal(info.coreVoltage, 1150);
      assert.equal(info.coreVoltageActual, 1148);
      assert.equal(info.vrTemp, 47.5);
      assert.equal(info.efficiency, 13.6, 'J/TH (asicd extension)');
      assert.equal(info.temp, 61.25, 'the VR sensor is not a chip temperature');
      assert.equal(info.miningPaused, false);
    } finally {
      await http.close();
    }
  });

  test('a board without power measurement: power fields absent, never a made-up 0', async () => {
    const s = sampleState();
    const { powerW: _p, voltageMv: _v, ...bare } = s;
    const { http, get } = await serve(bare as MinerState);
    try {
      const info = await get('/api/system/info');
      for (const f of [
        'power',
        'voltage',
        'current',
        'coreVoltage',
        'coreVoltageActual',
        'vrTemp',
        'efficiency',
      ])
        assert.ok(!(f in info), `${f} served without a measurement`);
    } finally {
      await http.close();
    }
  });

  test('GET /api/system/asic and /api/system/statistics: ESP-Miner fields and labels', async () => {
    const { http, get } = await serve(poweredState());
    try {
      const asic = await get('/api/system/asic');
      for (const [k, t] of Object.entries(ref.systemAsic.types)) {
        if (k === 'swarmColor' || k === 'hashDomains') continue; // documented as not served
        assert.equal(jsonType(asic[k]), t, `asic.${k}`);
      }
      const stats = await get('/api/system/statistics');
      const labels = stats.labels as string[];
      assert.equal(labels.at(-1), ref.statistics.lastLabel);
      for (const l of labels.slice(0, -1)) assert.ok(ref.statistics.labels.includes(l), `label ${l}`);
      for (const l of ['hashrate', 'asicTemp', 'vrTemp', 'power', 'voltage', 'current', 'asicVoltage'])
        assert.ok(labels.includes(l), `label ${l} missing`);
      const row = (stats.statistics as number[][])[0]!;
      assert.equal(row.length, labels.length);
      assert.equal(row[labels.indexOf('voltage')], 5100, 'mV');
      assert.equal(row[labels.indexOf('current')], 3200, 'mA');
      assert.equal(row[labels.indexOf('asicVoltage')], 1148, 'mV');
    } finally {
      await http.close();
    }
  });
});
