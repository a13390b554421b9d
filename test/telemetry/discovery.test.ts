/**
 * Home Assistant discovery: payloads as published through mosquitto are valid JSON with unique,
 * stable ids, wired availability, limits from the board, and command templates that produce commands
 * our own parser accepts.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { parseCommand } from '../../host/telemetry/commands.ts';
import { buildDiscovery } from '../../host/telemetry/discovery.ts';
import { MqttTelemetry } from '../../host/telemetry/mqtt.ts';
import { topicsFor } from '../../host/telemetry/topics.ts';
import { FakeMiner, sampleState } from '../helpers/fake-miner.ts';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/net.ts';
import { watch } from './mqtt-watch.ts';

let broker: Mosquitto;
before(async () => {
  broker = await startMosquitto();
});
after(async () => {
  await broker.stop();
});

type Cfg = Record<string, unknown> & { unique_id: string };

test('discovery through mosquitto: one device, unique ids, availability, controls', async () => {
  const id = `disc${process.pid}`;
  const miner = new FakeMiner(id);
  const prefix = `ha${process.pid}`;
  const t = new MqttTelemetry(miner, {
    url: broker.url,
    deviceId: id,
    commandsEnabled: true,
    discoveryPrefix: prefix,
  });
  t.start();
  await t.waitConnected();
  const w = await watch(broker.url, [`${prefix}/#`]);
  await waitFor(() => w.seen.length >= 20, 'discovery configs');
  await new Promise((r) => setTimeout(r, 100));
  const configs = new Map<string, Cfg>();
  for (const m of w.seen) {
    assert.equal(m.retain, true, `${m.topic} retained`);
    assert.match(
      m.topic,
      new RegExp(
        `^${prefix}/(sensor|binary_sensor|switch|number|select|button|event)/asicd_${id}/[a-z0-9_]+/config$`,
      ),
    );
    const cfg = JSON.parse(m.text) as Cfg; // throws on invalid JSON
    configs.set(m.topic, cfg);
  }
  const ids = [...configs.values()].map((c) => c.unique_id);
  assert.equal(new Set(ids).size, ids.length, 'unique ids are unique');
  for (const [topic, c] of configs) {
    const key = topic.split('/')[3];
    assert.equal(c.unique_id, `asicd_${id}_${key}`);
    assert.equal(c.availability_topic, `asicd/${id}/availability`);
    assert.equal(c.payload_available, 'online');
    assert.equal(c.payload_not_available, 'offline');
    assert.deepEqual((c.device as { identifiers: string[] }).identifiers, [`asicd_${id}`]);
  }
  const get = (component: string, key: string) =>
    configs.get(`${prefix}/${component}/asicd_${id}/${key}/config`);
  for (const key of [
    'hashrate',
    'temp_board',
    'temp_chip',
    'fan_rpm_0',
    'fan_duty',
    'shares_accepted',
    'shares_rejected',
    'best_difficulty',
  ]) {
    assert.ok(get('sensor', key), `sensor ${key}`);
    assert.equal(get('sensor', key)!.state_topic, `asicd/${id}/state`);
  }
  assert.ok(get('binary_sensor', 'mining'));
  assert.ok(get('binary_sensor', 'overheat'));
  const sw = get('switch', 'mining_switch')!;
  assert.equal(sw.command_topic, `asicd/${id}/cmd`);
  const lim = miner.state.limits;
  assert.ok(parseCommand(sw.payload_on as string, lim, 2).ok);
  assert.ok(parseCommand(sw.payload_off as string, lim, 2).ok);
  const fan = get('number', 'fan_percent')!;
  assert.deepEqual([fan.min, fan.max], [lim.fanPercent.min, lim.fanPercent.max]);
  const fanCmd = parseCommand((fan.command_template as string).replace('{{ value }}', '65'), lim, 2);
  assert.ok(fanCmd.ok && fanCmd.cmd.command === 'fan');
  const freq = get('number', 'frequency_set')!;
  assert.deepEqual([freq.min, freq.max], [lim.frequencyMhz.min, lim.frequencyMhz.max]);
  assert.ok(parseCommand((freq.command_template as string).replace('{{ value }}', '600'), lim, 2).ok);
  const sel = get('select', 'pool_select')!;
  assert.deepEqual(sel.options, [
    '0: stratum+tcp://pool.example:3333',
    '1: stratum+tcp://backup.example:3333',
  ]);
  // The select's template takes the index before the colon (HA renders the Jinja; we check its shape).
  const rendered = (sel.command_template as string).replace("{{ value.split(':')[0] | int }}", '1');
  assert.ok(parseCommand(rendered, lim, 2).ok);
  for (const b of ['fan_auto', 'restart'])
    assert.ok(parseCommand(get('button', b)!.payload_press as string, lim, 2).ok);
  await t.stop();
  await w.close();
});

test('discovery with commands disabled removes the control entities', () => {
  const state = sampleState('nocmd');
  const msgs = buildDiscovery(state, {
    deviceId: 'nocmd',
    prefix: 'homeassistant',
    topics: topicsFor('asicd/nocmd'),
    commandsEnabled: false,
  });
  const controls = msgs.filter((m) => ['switch', 'number', 'select', 'button'].includes(m.component));
  assert.ok(controls.length >= 5);
  for (const c of controls) assert.equal(c.payload, '', `${c.topic} removed`);
  const sensors = msgs.filter((m) => m.component === 'sensor');
  for (const s of sensors) assert.ok(!('command_topic' in JSON.parse(s.payload)));
  // Optional figures: no power sensor when power is not measured.
  const { powerW: _p, ...noPower } = state;
  const without = buildDiscovery(noPower, {
    deviceId: 'nocmd',
    prefix: 'homeassistant',
    topics: topicsFor('asicd/nocmd'),
    commandsEnabled: false,
  });
  assert.ok(msgs.some((m) => m.key === 'power'));
  assert.ok(!without.some((m) => m.key === 'power'));
});

test('discovery: origin block, configuration_url, entity categories, rpm, HA event entities', () => {
  const state = sampleState('ha2');
  const msgs = buildDiscovery(state, {
    deviceId: 'ha2',
    prefix: 'homeassistant',
    topics: topicsFor('asicd/ha2'),
    commandsEnabled: true,
    configurationUrl: 'http://miner.local:8080/',
  });
  const cfg = (component: string, key: string) => {
    const m = msgs.find((x) => x.component === component && x.key === key);
    assert.ok(m, `${component} ${key}`);
    return JSON.parse(m.payload) as Record<string, unknown> & {
      device: Record<string, unknown>;
      origin: Record<string, unknown>;
    };
  };
  for (const m of msgs) {
    const c = JSON.parse(m.payload) as {
      origin: { name: string; sw_version: string };
      device: Record<string, unknown>;
    };
    assert.equal(c.origin.name, 'asicd', m.topic);
    assert.equal(c.origin.sw_version, state.device.version);
    assert.equal(c.device.configuration_url, 'http://miner.local:8080/');
    assert.equal(c.device.name, state.device.name, 'the configured --name');
  }
  assert.equal(cfg('sensor', 'fan_rpm_0').unit_of_measurement, 'rpm');
  assert.equal(cfg('sensor', 'uptime').entity_category, 'diagnostic');
  assert.equal(cfg('sensor', 'frequency').entity_category, 'diagnostic');
  assert.equal(cfg('sensor', 'hashrate').entity_category, undefined, 'primary sensors stay primary');
  for (const [c, k] of [
    ['number', 'fan_percent'],
    ['number', 'frequency_set'],
    ['select', 'pool_select'],
    ['button', 'restart'],
  ] as const)
    assert.equal(cfg(c, k).entity_category, 'config', `${c} ${k}`);
  const block = cfg('event', 'block_found');
  assert.equal(block.state_topic, 'asicd/ha2/event/block_found');
  assert.deepEqual(block.event_types, ['block_found']);
  // HA renders value_template with Jinja; the template's JSON shape must name an allowed event_type.
  const rendered = String(block.value_template).replace('{{ value_json.hash }}', '00ab');
  assert.equal((JSON.parse(rendered) as { event_type: string }).event_type, 'block_found');
  assert.equal(cfg('event', 'overheat_event').state_topic, 'asicd/ha2/event/overheat');
  assert.deepEqual(cfg('event', 'overheat_event').event_types, ['tripped', 'cleared']);
  const fo = cfg('event', 'failover');
  assert.equal(fo.state_topic, 'asicd/ha2/event/pool_switched');
  assert.equal(
    (JSON.parse(String(fo.value_template).replace('{{ value_json.to }}', '1')) as { event_type: string })
      .event_type,
    'pool_switched',
  );
  const without = buildDiscovery(state, {
    deviceId: 'ha2',
    prefix: 'homeassistant',
    topics: topicsFor('asicd/ha2'),
    commandsEnabled: true,
  });
  assert.ok(
    without.every((m) => !('configuration_url' in (JSON.parse(m.payload) as { device: object }).device)),
  );
});

test('discovery: board power entities with HA device classes; the core-voltage number parses as a command', () => {
  const base = sampleState('pw');
  const state = {
    ...base,
    power: { state: 'on', setMv: 1150, inputV: 5.1, coreV: 1.148, currentA: 3.2, powerW: 16.3, vrTempC: 47 },
    limits: { ...base.limits, voltageMv: { min: 1000, max: 1300 } },
  };
  const opts = {
    deviceId: 'pw',
    prefix: 'homeassistant',
    topics: topicsFor('asicd/pw'),
    commandsEnabled: true,
  };
  const msgs = buildDiscovery(state, opts);
  const cfg = (key: string) =>
    JSON.parse(msgs.find((m) => m.key === key)!.payload) as Record<string, unknown>;
  for (const [key, cls, unit] of [
    ['power', 'power', 'W'],
    ['input_voltage', 'voltage', 'V'],
    ['current', 'current', 'A'],
    ['vr_temperature', 'temperature', '°C'],
    ['core_voltage_setting', 'voltage', 'mV'],
  ] as const) {
    assert.equal(cfg(key).device_class, cls, key);
    assert.equal(cfg(key).unit_of_measurement, unit, key);
  }
  assert.equal(cfg('efficiency').unit_of_measurement, 'J/TH');
  assert.equal(cfg('power_fault').device_class, 'problem');
  const num = cfg('core_voltage_set');
  assert.equal(num.min, 1000);
  assert.equal(num.max, 1300);
  const cmd = String(num.command_template).replace('{{ value }}', '1200');
  const parsed = parseCommand(cmd, state.limits, 1);
  assert.ok(parsed.ok, JSON.stringify(parsed));
  assert.ok(!parseCommand(String(num.command_template).replace('{{ value }}', '1400'), state.limits, 1).ok);
  // A board without power parts: none of them, and no core-voltage control.
  const bare = buildDiscovery(sampleState('bare'), { ...opts, deviceId: 'bare' });
  for (const k of [
    'input_voltage',
    'current',
    'vr_temperature',
    'efficiency',
    'power_fault',
    'core_voltage_set',
  ])
    assert.ok(!bare.some((m) => m.key === k), k);
});
