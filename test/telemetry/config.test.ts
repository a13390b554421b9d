/**
 * Telemetry flags / config keys, and startTelemetry wiring everything (embedded broker, API, metrics)
 * over one source and stopping it cleanly.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test } from 'node:test';
import {
  parseTelemetryFlags,
  startTelemetry,
  telemetryConfigFromObject,
} from '../../host/telemetry/index.ts';
import { FakeMiner } from '../helpers/fake-miner.ts';
import { watch } from './mqtt-watch.ts';

test('flags parse, unknown flags pass through, errors name the flag', () => {
  const { config, rest } = parseTelemetryFlags(
    [
      '--board',
      'sim',
      '--mqtt',
      'mqtts://h:8883',
      '--mqtt-user',
      'u',
      '--mqtt-ca=/ca.pem',
      '--mqtt-commands',
      '--device-id',
      'garage',
      '--api-listen',
      '0.0.0.0:4028',
      '--api-allow',
      'W:127.0.0.1, W:10.0.0.0/24',
      '--metrics-listen',
      '127.0.0.1:9100',
      '-v',
    ],
    undefined,
    { ASICD_MQTT_PASS: 'envpass' },
  );
  assert.deepEqual(rest, ['--board', 'sim', '-v']);
  assert.deepEqual(config.mqtt, {
    url: 'mqtts://h:8883',
    username: 'u',
    caFile: '/ca.pem',
    commands: true,
    discovery: true,
    password: 'envpass',
  });
  assert.equal(config.deviceId, 'garage');
  assert.deepEqual(config.api, { listen: '0.0.0.0:4028', allow: ['W:127.0.0.1', 'W:10.0.0.0/24'] });
  assert.deepEqual(config.metrics, { listen: '127.0.0.1:9100' });
  assert.deepEqual(parseTelemetryFlags([]).config, { api: { listen: '127.0.0.1:4028', allow: [] } });
  assert.equal(parseTelemetryFlags(['--no-api']).config.api, null);
  assert.throws(() => parseTelemetryFlags(['--mqtt', 'http://x']), /--mqtt "http:\/\/x" is invalid/);
  assert.throws(() => parseTelemetryFlags(['--mqtt-commands']), /--mqtt-commands needs --mqtt URL/);
  assert.throws(() => parseTelemetryFlags(['--mqtt']), /--mqtt needs a value/);
  assert.throws(
    () => parseTelemetryFlags(['--mqtt', 'mqtt://h', '--mqtt-interval', '0']),
    /--mqtt-interval "0" is invalid/,
  );
});

test('config file keys', () => {
  const c = telemetryConfigFromObject({
    device_id: 'x1',
    mqtt: { url: 'mqtt://b:1883', user: 'u', pass: 'p', interval_s: 5, commands: true },
    api: { listen: '127.0.0.1:4029', allow: ['W:127.0.0.1'] },
    metrics: { listen: '127.0.0.1:9101' },
  });
  assert.deepEqual(c.mqtt, {
    url: 'mqtt://b:1883',
    username: 'u',
    password: 'p',
    intervalMs: 5000,
    commands: true,
    discovery: true,
  });
  assert.equal(telemetryConfigFromObject({ api: false }).api, null);
  assert.throws(
    () => telemetryConfigFromObject({ mqtt: { url: 'mqtt://b', commands: 'yes' } }),
    /config mqtt\.commands must be true or false/,
  );
  assert.throws(() => telemetryConfigFromObject({ mqtt: {} }), /config mqtt\.url is missing/);
  assert.throws(() => telemetryConfigFromObject({ api: { allow: '1.2.3.4' } }), /api\.allow must be a list/);
});

test('startTelemetry: demo wiring with embedded broker, API and metrics; stop releases all', async () => {
  const miner = new FakeMiner('wired');
  const h = await startTelemetry(
    miner,
    { deviceId: 'wired', api: { listen: '127.0.0.1:0', allow: [] }, metrics: { listen: '127.0.0.1:0' } },
    { embeddedBrokerWhenNoMqtt: true },
  );
  assert.ok(h.broker && h.mqtt && h.api && h.metrics);
  assert.equal(h.hints.length, 3);
  assert.match(h.hints[0]!, /mosquitto_sub -h 127\.0\.0\.1 -p \d+ -t 'asicd\/wired\/#'/);
  await h.mqtt.waitConnected();
  const w = await watch(h.broker.url, ['asicd/wired/state']);
  await w.waitFor(() => true, 'state on the embedded broker');
  await w.close();
  const body = await (await fetch(`http://127.0.0.1:${h.metrics.port}/metrics`)).text();
  assert.match(body, /asicd_hashrate_ghs\{window="now"\} 1210\.5/);
  const ports = [h.api.port, h.metrics.port, h.broker.port];
  await h.stop();
  for (const port of ports) {
    const refused = await new Promise<boolean>((resolve) => {
      const s = connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve(false);
      });
      s.on('error', () => resolve(true));
    });
    assert.ok(refused, `port ${port} closed`);
  }
  await assert.rejects(
    startTelemetry(miner, { api: { listen: 'nonsense', allow: [] } }),
    /--api-listen "nonsense" is invalid/,
  );
});
