/**
 * The embedded aedes broker: starts on loopback, serves an MQTT 3.1.1 client and the publisher, stops.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test } from 'node:test';
import mqtt from 'mqtt';
import { startEmbeddedBroker } from '../../host/telemetry/broker.ts';
import { MqttTelemetry } from '../../host/telemetry/mqtt.ts';
import { FakeMiner } from '../helpers/fake-miner.ts';
import { watch } from './mqtt-watch.ts';

test('embedded aedes broker: 3.1.1 client round trip, telemetry retained state, stop frees the port', async () => {
  const b = await startEmbeddedBroker();
  assert.match(b.url, /^mqtt:\/\/127\.0\.0\.1:\d+$/);
  const c = await mqtt.connectAsync(b.url, { protocolVersion: 4, reconnectPeriod: 0 });
  const got = new Promise<string>((resolve) => c.on('message', (_t, p) => resolve(p.toString())));
  await c.subscribeAsync('x/y', { qos: 1 });
  await c.publishAsync('x/y', 'hello', { qos: 1 });
  assert.equal(await got, 'hello');

  const miner = new FakeMiner('emb');
  const t = new MqttTelemetry(miner, { url: b.url, deviceId: 'emb', intervalMs: 60_000 });
  t.start();
  await t.waitConnected();
  const w = await watch(b.url, ['asicd/emb/state']);
  const st = await w.waitFor(() => true, 'retained state from aedes');
  assert.equal(st.retain, true);
  assert.equal(JSON.parse(st.text).device.id, 'emb');
  await t.stop();
  await w.close();
  await c.endAsync(true);
  await b.stop();
  const refused = await new Promise<boolean>((resolve) => {
    const s = connect({ host: '127.0.0.1', port: b.port }, () => {
      s.destroy();
      resolve(false);
    });
    s.on('error', () => resolve(true));
  });
  assert.equal(refused, true, 'port closed after stop');
});
