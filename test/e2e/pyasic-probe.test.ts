/**
 * What pyasic (and so hass-miner) does to find and read a Bitaxe, done against the real daemon
 * (`asicd demo` as a process, real TCP). Written from pyasic's documented behaviour, not its code:
 * 1. detection: the web root answers and mentions AxeOS; `GET /api/system/info` is JSON whose
 *    `ASICModel` names a BM13xx chip (pyasic maps BM1397/1366/1368/1370 to BitAxe Max/Ultra/Supra/Gamma);
 * 2. data: hashrate (`hashRate`, GH/s), expected hashrate (`expectedHashrate` GH/s, or smallCoreCount ×
 *    asicCount × frequency / 1000), temperatures (`temp`, `vrTemp`), fans (`fanrpm`, `fanspeed` %),
 *    power (`power` W, `voltage` mV, `current` mA, `coreVoltage`/`coreVoltageActual` mV), uptime (`uptimeSeconds`), pools (`stratumURL`/`stratumPort`/`stratumUser`,
 *    `sharesAccepted`/`sharesRejected`, `isUsingFallbackStratum`), best difficulty (`bestDiff`,
 *    `bestSessionDiff`), identity (`hostname`, `macAddr`, `version`), chips (`asicCount`) via
 *    `/api/system/asic` too.
 * Every figure is cross-checked against an independent channel of the same daemon (the cgminer API).
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, test } from 'node:test';
import { freePort, waitFor } from '../helpers/net.ts';
import { type AsicdProcess, asicd } from '../helpers/proc.ts';

let daemon: AsicdProcess | undefined;
after(async () => {
  await daemon?.stop();
});

const PYASIC_MODELS: Record<string, string> = {
  BM1397: 'BitAxe Max',
  BM1366: 'BitAxe Ultra',
  BM1368: 'BitAxe Supra',
  BM1370: 'BitAxe Gamma',
};

function cgminer(port: number, command: string): Promise<Record<string, Array<Record<string, unknown>>>> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port }, () => s.end(JSON.stringify({ command })));
    let text = '';
    s.on('data', (d) => {
      text += String(d);
    });
    s.on('end', () => resolve(JSON.parse(text.replace(/\0$/, ''))));
    s.on('error', reject);
  });
}

test('pyasic-style probe finds asicd as an ESPMiner (Bitaxe) and reads its figures', {
  timeout: 120_000,
}, async () => {
  const httpPort = await freePort();
  const apiPort = await freePort();
  daemon = asicd([
    'demo',
    // The emulated Gamma over bitaxe-raw: TPS546 + INA260, so power is measured as on a real Gamma.
    ...['--board', 'sim-gamma-usb'],
    ...['--http-listen', `127.0.0.1:${httpPort}`, '--api-listen', `127.0.0.1:${apiPort}`],
    ...['--device-id', 'pyasic-dev', '--no-status', '--log-format', 'json'],
  ]);
  const d = daemon;
  const base = `http://127.0.0.1:${httpPort}`;
  await waitFor(
    () => d.output().includes('Dashboard:'),
    () => `dashboard line (${d.output().slice(-2000)})`,
    60_000,
  );

  // 1. detection
  const root = await fetch(`${base}/`);
  assert.equal(root.status, 200);
  assert.match(await root.text(), /AxeOS/);
  const get = async () => {
    const r = await fetch(`${base}/api/system/info`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /application\/json/);
    return (await r.json()) as Record<string, unknown>;
  };
  let info = await get();
  assert.equal(typeof info.ASICModel, 'string');
  const model = PYASIC_MODELS[info.ASICModel as string];
  assert.equal(model, 'BitAxe Gamma', 'sim-gamma is a BM1370 board');

  // Wait until some shares went through, then read like pyasic does.
  const end = Date.now() + 60_000;
  while ((info.sharesAccepted as number) < 2 && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 500));
    info = await get();
  }
  assert.ok(
    (info.sharesAccepted as number) >= 2,
    `2 accepted shares within 60 s: ${JSON.stringify(info)}\n${d.output().slice(-3000)}`,
  );
  const num = (k: string) => {
    assert.equal(typeof info[k], 'number', `${k} is a number (${JSON.stringify(info[k])})`);
    return info[k] as number;
  };
  const hashrateGhs = num('hashRate');
  assert.ok(hashrateGhs > 0, 'hashing');
  const expected = num('expectedHashrate');
  assert.ok(
    expected > 0,
    `expected hashrate ${expected}: ${JSON.stringify(info)}\n${d
      .output()
      .split('\n')
      .filter((l) => /mining\.|chain\.|thermal|pool/.test(l))
      .join('\n')}`,
  );
  assert.equal(num('smallCoreCount'), 2040);
  assert.equal(num('asicCount'), 1);
  assert.equal(num('frequency'), 525);
  const temp = num('temp');
  assert.ok(temp > 0 && temp < 100, `ASIC temperature ${temp} °C`);
  const vrTemp = num('vrTemp');
  assert.ok(vrTemp > 0 && vrTemp < 125, `VR temperature ${vrTemp} °C`);
  assert.ok(num('fanrpm') > 0, 'fan rpm');
  const fanPct = num('fanspeed');
  assert.ok(fanPct >= 0 && fanPct <= 100);
  // Power as ESP-Miner sends it: W, input mV, mA, core mV.
  assert.ok(num('power') > 0, 'power W');
  assert.ok(num('voltage') > 4000 && num('voltage') < 6000, `input ${info.voltage} mV on a 5 V board`);
  assert.ok(num('current') > 0, 'current mA');
  assert.equal(num('coreVoltage'), 1150, 'the board default core voltage, mV');
  assert.ok(Math.abs(num('coreVoltageActual') - 1150) < 60, `core ${info.coreVoltageActual} mV`);
  const uptime = num('uptimeSeconds');
  assert.ok(uptime >= 1 && uptime < 600);
  assert.equal(info.stratumURL, '127.0.0.1');
  assert.ok(num('stratumPort') > 0);
  assert.equal(info.stratumUser, 'demo.worker');
  assert.equal(info.isUsingFallbackStratum, 0);
  assert.ok(num('sharesAccepted') >= 2);
  assert.equal(typeof num('sharesRejected'), 'number');
  assert.ok(num('bestDiff') >= num('bestSessionDiff'));
  assert.ok(num('bestSessionDiff') > 0);
  assert.equal(typeof info.hostname, 'string');
  assert.match(String(info.macAddr), /^([0-9A-F]{2}:){5}[0-9A-F]{2}$/);
  assert.equal(typeof info.version, 'string');
  const asic = (await (await fetch(`${base}/api/system/asic`)).json()) as Record<string, unknown>;
  assert.equal(asic.ASICModel, 'BM1370');
  assert.equal(asic.asicCount, 1);

  // Cross-check against the cgminer API of the same daemon (independent code path).
  const summary = (await cgminer(apiPort, 'summary')).SUMMARY![0]!;
  const pools = (await cgminer(apiPort, 'pools')).POOLS!;
  const after = await get();
  assert.ok((summary.Accepted as number) >= (info.sharesAccepted as number));
  assert.ok((summary.Accepted as number) <= (after.sharesAccepted as number));
  // Best share only grows; a better share may land between the reads, so bracket it like the counts.
  assert.ok((summary['Best Share'] as number) >= (info.bestSessionDiff as number));
  assert.ok((summary['Best Share'] as number) <= (after.bestSessionDiff as number));
  assert.match(String(pools[0]!.URL), /127\.0\.0\.1/);
  assert.equal(pools[0]!.User, 'demo.worker');
  // GH/s on this API vs MH/s on cgminer's: the same 1-minute figure, read moments apart.
  const ratio = (summary['MHS 1m'] as number) / 1000 / hashrateGhs;
  assert.ok(ratio > 0.5 && ratio < 2, `cgminer MHS 1m / 1000 vs hashRate: ratio ${ratio}`);
  assert.equal(await d.stop(), 0);
});
