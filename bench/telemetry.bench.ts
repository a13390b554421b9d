/**
 * Telemetry through a real mosquitto on loopback:
 * - state messages/s the MqttTelemetry publisher sustains (received by a subscriber), against raw
 *   mqtt.js publishing the same payload with the same one-in-flight discipline;
 * - command round trip (publish command → reply received) p50 / p99, against a plain
 *   publish → echo → receive round trip between two mqtt.js clients.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { MqttTelemetry, publicState } from '../host/telemetry/mqtt.ts';
import { FakeMiner } from '../test/helpers/fake-miner.ts';
import { startMosquitto } from '../test/helpers/mosquitto.ts';
import { type BenchRow, type BenchSuite, percentile } from './harness.ts';

async function counter(url: string, topic: string): Promise<{ client: MqttClient; count: () => number }> {
  const client = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
  let n = 0;
  client.on('message', () => {
    n++;
  });
  await client.subscribeAsync(topic, { qos: 0 });
  return { client, count: () => n };
}

async function drain(count: () => number, settleMs = 200): Promise<number> {
  let last = -1;
  while (count() !== last) {
    last = count();
    await new Promise((r) => setTimeout(r, settleMs));
  }
  return last;
}

const suite: BenchSuite = {
  name: 'telemetry',
  async run(ctx) {
    const broker = await startMosquitto();
    const rows: BenchRow[] = [];
    const ms = Math.max(500, 3000 * ctx.scale);
    try {
      // ---- state publish rate
      const miner = new FakeMiner('bench');
      const t = new MqttTelemetry(miner, {
        url: broker.url,
        deviceId: 'bench',
        intervalMs: 3_600_000,
        commandsEnabled: true,
        discovery: false,
      });
      t.start();
      await t.waitConnected();
      const sub = await counter(broker.url, 'asicd/bench/state');
      await drain(sub.count);
      const before = sub.count();
      const t0 = performance.now();
      while (performance.now() - t0 < ms) {
        t.publishState(); // coalesces: one in flight, the next queued as "dirty"
        await new Promise((r) => setImmediate(r));
      }
      const got = (await drain(sub.count)) - before;
      const rate = got / (ms / 1000);

      const payload = JSON.stringify(publicState(miner.getState()));
      const raw = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0, queueQoSZero: false });
      const rawSub = await counter(broker.url, 'bench/raw/state');
      let rawRunning = true;
      const pump = () => {
        if (rawRunning)
          raw.publish('bench/raw/state', payload, { qos: 0, retain: true }, () => setImmediate(pump));
      };
      pump();
      await new Promise((r) => setTimeout(r, ms));
      rawRunning = false;
      const rawRate = (await drain(rawSub.count)) / (ms / 1000); // same window and counting as above
      rows.push({
        suite: 'telemetry',
        name: `state messages/s through mosquitto (${payload.length} B JSON)`,
        value: rate,
        unit: 'msg/s',
        baseline: { name: 'raw mqtt.js publish', value: rawRate },
        ratio: rate / rawRate,
        better: 'higher',
      });
      ctx.log(`state: ${rate.toFixed(0)} msg/s vs raw ${rawRate.toFixed(0)} msg/s`);

      // ---- command round trip
      const n = Math.max(50, Math.round(500 * ctx.scale));
      const cli = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
      const nodelay = (c: MqttClient) =>
        (c.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
      nodelay(cli);
      const waiting = new Map<string, () => void>();
      cli.on('message', (topic, p) => {
        if (topic !== 'asicd/bench/cmd/reply') return;
        const r = JSON.parse(p.toString()) as { id: string };
        waiting.get(r.id)?.();
      });
      await cli.subscribeAsync('asicd/bench/cmd/reply', { qos: 1 });
      const cmdTimes: number[] = [];
      for (let i = 0; i < n; i++) {
        const id = `b${i}`;
        const start = performance.now();
        await new Promise<void>((resolve) => {
          waiting.set(id, resolve);
          cli.publish('asicd/bench/cmd', JSON.stringify({ id, command: 'frequency', mhz: 400 + (i % 100) }), {
            qos: 1,
          });
        });
        waiting.delete(id);
        cmdTimes.push(performance.now() - start);
      }
      // Baseline: publish → echo client → receive, QoS 1 both ways.
      const echo = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
      nodelay(echo);
      echo.on('message', (_topic, p) => echo.publish('bench/pong', p, { qos: 1 }));
      await echo.subscribeAsync('bench/ping', { qos: 1 });
      await cli.subscribeAsync('bench/pong', { qos: 1 });
      const pongs = new Map<string, () => void>();
      cli.on('message', (topic, p) => {
        if (topic === 'bench/pong') pongs.get(p.toString())?.();
      });
      const echoTimes: number[] = [];
      for (let i = 0; i < n; i++) {
        const id = `e${i}`;
        const start = performance.now();
        await new Promise<void>((resolve) => {
          pongs.set(id, resolve);
          cli.publish('bench/ping', id, { qos: 1 });
        });
        pongs.delete(id);
        echoTimes.push(performance.now() - start);
      }
      cmdTimes.sort((a, b) => a - b);
      echoTimes.sort((a, b) => a - b);
      for (const p of [50, 99]) {
        const v = percentile(cmdTimes, p);
        const b = percentile(echoTimes, p);
        rows.push({
          suite: 'telemetry',
          name: `command round trip p${p} (${n} commands)`,
          value: v,
          unit: 'ms',
          baseline: { name: 'plain publish→echo', value: b },
          ratio: v / b,
          better: 'lower',
        });
      }
      await t.stop();
      await Promise.all([sub.client, raw, rawSub.client, cli, echo].map((c) => c.endAsync(true)));
    } finally {
      await broker.stop();
    }
    return rows;
  },
};

export default suite;
