/**
 * Two stop/start races a full CI run hit (two suites side by side on 2 cores):
 * - the demo's cgminer API port checked free, then taken by another process before the API listened →
 *   the demo failed to start; with `anyPortIfTaken` (the demo's default port only) it moves to a free port;
 * - the start failed, stop() ended the MQTT client, and the broker's CONNACK arrived after that: the
 *   telemetry published on the ended client and mqtt.js threw from its packet handler, killing the process.
 * Real TCP (cgminer API) and a real mosquitto (MQTT).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { after, before, test } from 'node:test';
import { startCgminerApi } from '../../host/telemetry/cgminer-api.ts';
import { MqttTelemetry } from '../../host/telemetry/mqtt.ts';
import { memoryLogger } from '../../lib/log.ts';
import { FakeMiner } from '../helpers/fake-miner.ts';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/net.ts';

let broker: Mosquitto;
before(async () => {
  broker = await startMosquitto();
});
after(async () => {
  await broker.stop();
});

function occupy(): Promise<{ srv: Server; port: number }> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      resolve({ srv, port: typeof a === 'object' && a ? a.port : 0 });
    });
  });
}

test('cgminer API: a taken port fails the listen, unless anyPortIfTaken (then a free port, logged)', async () => {
  const taken = await occupy();
  try {
    const miner = new FakeMiner('api-race');
    await assert.rejects(startCgminerApi(miner, { port: taken.port }), /EADDRINUSE/);
    const logger = memoryLogger();
    const api = await startCgminerApi(miner, { port: taken.port, anyPortIfTaken: true, logger });
    try {
      assert.notEqual(api.port, taken.port);
      assert.ok(api.port > 0);
      assert.ok(logger.records.some((r) => r.event === 'api.port_in_use' && r.wanted === taken.port));
    } finally {
      await api.close();
    }
  } finally {
    await new Promise<void>((r) => taken.srv.close(() => r()));
  }
});

test('MQTT: a CONNACK that lands after stop() began publishes nothing and throws nothing', async () => {
  const t = new MqttTelemetry(new FakeMiner('mqtt-race'), { url: broker.url, deviceId: 'mqtt-race' });
  t.start();
  await waitFor(() => t.connected, 'connected', 20_000);
  const client = t.mqttClient!;
  await t.stop();
  // The client has ended (mqtt.js dropped its stores); the late CONNACK's 'connect' event reaches us now.
  assert.doesNotThrow(() => client.emit('connect', { cmd: 'connack', returnCode: 0, sessionPresent: false }));
  assert.equal(t.connected, false);
});
