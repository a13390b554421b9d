/**
 * Board power in every interface, on the emulated Bitaxe Gamma over bitaxe-raw (TPS546 regulator + INA260
 * monitor behind the USB bridge): `asicd demo --board sim-gamma-usb` with a real mosquitto, the HTTP API,
 * the cgminer API and Prometheus on free loopback ports. The figures come from the emulated regulator and
 * monitor, in each interface's units: AxeOS mV / mA / W, MQTT state + Home Assistant discovery with the
 * power / voltage / current device classes, cgminer `stats`, Prometheus base units.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, test } from 'node:test';
import type { MinerState } from '../../host/api/types.ts';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.ts';
import { freePort } from '../helpers/net.ts';
import { type AsicdProcess, asicd } from '../helpers/proc.ts';
import { type Watcher, watch } from '../telemetry/mqtt-watch.ts';

let broker: Mosquitto | undefined;
let daemon: AsicdProcess | undefined;
let watcher: Watcher | undefined;
after(async () => {
  await daemon?.stop();
  await watcher?.close();
  await broker?.stop();
});

function cgminer(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port }, () => s.end(request));
    let text = '';
    s.on('data', (d) => {
      text += String(d);
    });
    s.on('end', () => resolve(text.replace(/\0$/, '')));
    s.on('error', reject);
  });
}

function metric(body: string, series: string): number | undefined {
  for (const line of body.split('\n'))
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  return undefined;
}

test('sim-gamma-usb: power, voltage, current, VR temperature and J/TH in HTTP, MQTT + HA, cgminer, Prometheus', {
  timeout: 180_000,
}, async () => {
  broker = await startMosquitto();
  const [apiPort, metricsPort, httpPort] = [await freePort(), await freePort(), await freePort()];
  const base = 'asicd/pwr-dev';
  watcher = await watch(broker.url, [`${base}/#`, 'homeassistant/#']);
  const w = watcher;
  daemon = asicd([
    'demo',
    ...['--board', 'sim-gamma-usb', '--mqtt', broker.url, '--device-id', 'pwr-dev', '--mqtt-interval', '1'],
    '--mqtt-commands',
    ...['--api-listen', `127.0.0.1:${apiPort}`, '--metrics-listen', `127.0.0.1:${metricsPort}`],
    ...['--http-listen', `127.0.0.1:${httpPort}`, '--http-token', 'pwr-token'],
    ...['--log-format', 'json', '--no-status'],
  ]);
  const d = daemon;
  const out = () => d.output().slice(-3000);
  const w2 = (topic: string, payload: string) => w.publish(topic, payload);

  // MQTT state: wait for a loaded reading (the monitor's first sample may predate the ramp).
  const st = await w.waitFor(
    (m) => {
      if (m.topic !== `${base}/state`) return false;
      const s = JSON.parse(m.text) as MinerState;
      return s.shares.accepted >= 1 && (s.power?.powerW ?? 0) > 1 && s.power?.efficiencyJth !== undefined;
    },
    `state with power under load (${out()})`,
    90_000,
  );
  const s = JSON.parse(st.text) as MinerState;
  const p = s.power!;
  assert.equal(p.state, 'on');
  assert.ok(p.inputV! > 4 && p.inputV! < 6, `input ≈ 5 V on a Gamma: ${p.inputV}`);
  assert.ok(p.currentA! > 0, `current: ${p.currentA}`);
  assert.ok(p.coreV! > 1 && p.coreV! < 1.4, `core voltage: ${p.coreV}`);
  assert.ok(p.vrTempC !== undefined, 'VR temperature from the regulator');
  assert.ok(p.efficiencyJth! > 0, 'J/TH');

  // Home Assistant discovery: the power entities with their device classes and units.
  const cfg = async (component: string, key: string) => {
    const m = await w.waitFor(
      (x) => x.topic === `homeassistant/${component}/asicd_pwr-dev/${key}/config` && x.text !== '',
      `discovery ${component}/${key}`,
      30_000,
    );
    return JSON.parse(m.text) as Record<string, unknown>;
  };
  const expect = [
    ['power', 'power', 'W'],
    ['input_voltage', 'voltage', 'V'],
    ['voltage', 'voltage', 'mV'],
    ['current', 'current', 'A'],
    ['vr_temperature', 'temperature', '°C'],
  ] as const;
  for (const [key, cls, unit] of expect) {
    const c = await cfg('sensor', key);
    assert.equal(c.device_class, cls, key);
    assert.equal(c.unit_of_measurement, unit, key);
    assert.equal(c.state_topic, `${base}/state`);
  }
  assert.equal((await cfg('sensor', 'efficiency')).unit_of_measurement, 'J/TH');
  assert.equal((await cfg('binary_sensor', 'power_fault')).device_class, 'problem');

  // HTTP (AxeOS units: input mV, current mA, W, core mV).
  const info = (await (await fetch(`http://127.0.0.1:${httpPort}/api/system/info`)).json()) as Record<
    string,
    number
  >;
  assert.ok(info.voltage! > 4000 && info.voltage! < 6000, `voltage mV: ${info.voltage}`);
  assert.ok(info.current! > 0, `current mA: ${info.current}`);
  assert.ok(info.power! > 0, `power W: ${info.power}`);
  assert.equal(info.coreVoltage, p.setMv, 'coreVoltage is the setting, mV');
  assert.ok(info.coreVoltageActual! > 1000 && info.coreVoltageActual! < 1400);
  assert.equal(typeof info.vrTemp, 'number');

  // cgminer stats (bmminer record + power fields).
  const stats = JSON.parse(await cgminer(apiPort, JSON.stringify({ command: 'stats', parameter: '' }))) as {
    STATS: Array<Record<string, unknown>>;
  };
  const rec = stats.STATS[1]!;
  assert.equal(typeof rec.power, 'number');
  assert.ok((rec.voltage_input as number) > 4, `voltage_input: ${rec.voltage_input}`);
  assert.ok((rec.current as number) > 0);
  assert.equal(rec.voltage_set, p.setMv);
  assert.equal(typeof rec.temp_vr, 'number');
  assert.equal(rec.power_state, 'on');

  // Prometheus, base units.
  // Scraped until the first loaded reading shows (each scrape is a fresh snapshot; no sleeps).
  let body = '';
  for (let i = 0; i < 300 && !((metric(body, 'asicd_current_amperes{rail="core"}') ?? 0) > 0); i++)
    body = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  assert.ok(metric(body, 'asicd_current_amperes{rail="core"}')! > 0, 'current in amperes');
  assert.ok(metric(body, 'asicd_voltage_volts{rail="input"}')! > 4, 'input volts');
  assert.ok(metric(body, 'asicd_voltage_volts{rail="core"}')! > 1, 'core volts');
  assert.ok(metric(body, 'asicd_power_watts{rail="input"}')! > 0, 'watts');
  assert.equal(metric(body, 'asicd_core_voltage_setting_volts'), p.setMv / 1000);
  assert.ok(metric(body, 'asicd_efficiency_joules_per_terahash')! > 0);
  assert.equal(metric(body, 'asicd_power_fault'), 0);

  // The MQTT voltage command sets the regulator within its window; outside it is refused, nothing changes.
  const win = s.limits.voltageMv!;
  assert.ok(win, 'the Gamma has a settable core voltage window');
  const target = p.setMv + 25 <= win.max ? p.setMv + 25 : p.setMv - 25;
  const reply = (id: string) => (m: { topic: string; text: string }) =>
    m.topic === `${base}/cmd/reply` && m.text.includes(`"${id}"`);
  await w2(`${base}/cmd`, JSON.stringify({ id: 'v-bad', command: 'voltage', mv: win.max + 200 }));
  assert.match((await w.waitFor(reply('v-bad'), 'refused voltage reply')).text, /"ok":false/);
  await w2(`${base}/cmd`, JSON.stringify({ id: 'v-ok', command: 'voltage', mv: target }));
  assert.match((await w.waitFor(reply('v-ok'), 'voltage reply')).text, /"ok":true/);
  const after = await w.waitFor(
    (m) => m.topic === `${base}/state` && (JSON.parse(m.text) as MinerState).power?.setMv === target,
    `state with the core set to ${target} mV`,
    30_000,
  );
  const sa = JSON.parse(after.text) as MinerState;
  assert.ok(
    !w.seen.some(
      (m) => m.topic === `${base}/state` && (JSON.parse(m.text) as MinerState).power?.setMv === win.max + 200,
    ),
    'the refused voltage never reached the regulator',
  );
  assert.equal(sa.power?.state, 'on');
  const info2 = (await (await fetch(`http://127.0.0.1:${httpPort}/api/system/info`)).json()) as Record<
    string,
    number
  >;
  assert.equal(info2.coreVoltage, target, 'the HTTP API shows the new setting');
});
