/**
 * A farm on one broker, and the idle daemon:
 *
 * - 100 devices at 1 Hz: 100 MqttTelemetry publishers (each its own MQTT connection, state every 1 s,
 *   Home Assistant discovery on) through a real mosquitto on 127.0.0.1, one subscriber on
 *   `asicd/+/state` as a farm view (Home Assistant, Node-RED) would. The devices are in-memory
 *   MinerSources (test/helpers/fake-miner.ts) whose state carries the publish time (getState is called
 *   when the publisher builds the message), so the subscriber measures publish → receive lag. No
 *   backlog means: every message published in the window is received (counts match, per device too)
 *   and the lag stays far below the 1 s period. Baseline: one mqtt.js client publishing the same payload
 *   at the same total rate (100/s) to the same subscriber.
 * - Idle daemon (bench/idle-daemon.ts, its own process): a Miner on the sim-gamma board with its pool
 *   unreachable: CPU % of one core and RSS over the window. It runs during the MQTT window (its CPU
 *   time is its own; only wall-clock contention is shared). Baseline: a bare node + tsx process's RSS.
 */
import { fork } from 'node:child_process';
import mqtt from 'mqtt';
import type { MinerState } from '../host/api/types.ts';
import { MqttTelemetry, publicState } from '../host/telemetry/mqtt.ts';
import { FakeMiner } from '../test/helpers/fake-miner.ts';
import { startMosquitto } from '../test/helpers/mosquitto.ts';
import type { BenchRow, BenchSuite } from './harness.ts';
import { pUs, sleep, until } from './rig.ts';

const DEVICES = 100;
const nowMs = () => performance.timeOrigin + performance.now();

/** A device whose state is stamped with the time it is read (= when the publisher builds the message). */
class StampedMiner extends FakeMiner {
  override getState(): MinerState {
    return { ...super.getState(), time: nowMs() };
  }
}

interface IdleResult {
  cpuPercent: number;
  rssMaxMB: number;
  rssEndMB: number;
  mining: string;
  wallMs: number;
}

function runIdle(settleMs: number, windowMs: number): Promise<IdleResult> {
  const child = fork(
    new URL('./idle-daemon.ts', import.meta.url).pathname,
    [JSON.stringify({ settleMs, windowMs })],
    {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    },
  );
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-2000);
  });
  return new Promise((resolve, reject) => {
    let result: IdleResult | undefined;
    child.on('message', (m: { type: string } & IdleResult) => {
      if (m.type === 'idle') result = m;
    });
    child.on('exit', (code) =>
      result ? resolve(result) : reject(new Error(`idle daemon exited ${code}: ${err}`)),
    );
  });
}

function bareRss(): Promise<number> {
  const child = fork(new URL('./rig.ts', import.meta.url).pathname, [], {
    execArgv: [
      '--import',
      'tsx',
      '--eval',
      'setTimeout(() => process.send({ rss: process.memoryUsage.rss() }), 1000)',
    ],
    stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
  });
  return new Promise((resolve) => {
    child.once('message', (m: { rss: number }) => {
      child.kill('SIGTERM');
      resolve(m.rss / 2 ** 20);
    });
  });
}

const suite: BenchSuite = {
  name: 'mqtt-farm',
  async run(ctx) {
    const seconds = ctx.scale >= 1 ? 30 : 5;
    const broker = await startMosquitto();
    const rows: BenchRow[] = [];
    const devices: MqttTelemetry[] = [];
    const sub = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
    try {
      let window: { start: number; end: number } | undefined;
      const lags: number[] = [];
      const perDevice = new Map<string, number>();
      let received = 0;
      let rawLags: number[] | undefined;
      sub.on('message', (topic, payload) => {
        const t = nowMs();
        if (topic === 'bench/raw/state') {
          const time = (JSON.parse(payload.toString()) as { time: number }).time;
          rawLags?.push(t - time);
          return;
        }
        const st = JSON.parse(payload.toString()) as MinerState;
        if (!window || st.time < window.start || st.time > window.end) return;
        received++;
        lags.push(t - st.time);
        perDevice.set(st.device.id, (perDevice.get(st.device.id) ?? 0) + 1);
      });
      await sub.subscribeAsync(['asicd/+/state', 'bench/raw/state'], { qos: 0 });

      for (let i = 0; i < DEVICES; i++) {
        const id = `farm${String(i).padStart(3, '0')}`;
        const t = new MqttTelemetry(new StampedMiner(id), {
          url: broker.url,
          deviceId: id,
          intervalMs: 1000,
          discovery: true,
        });
        devices.push(t);
        t.start();
        await sleep(10); // devices boot at different moments: their 1 s ticks spread over the second
      }
      await until(() => devices.every((d) => d.connected), `${DEVICES} publishers connected`, 30_000);
      await sleep(ctx.scale >= 1 ? 2000 : 1000);

      const idle = runIdle(ctx.scale >= 1 ? 2000 : 1000, seconds * 1000);
      const pub0 = devices.map((d) => d.stats().statePublished);
      window = { start: nowMs(), end: Number.POSITIVE_INFINITY };
      await sleep(seconds * 1000);
      window.end = nowMs();
      const published = devices.reduce((a, d, i) => a + d.stats().statePublished - pub0[i]!, 0);
      await sleep(1000); // anything still in flight arrives now or is backlog
      const short = devices.filter(
        (d, i) => (perDevice.get(d.deviceId) ?? 0) < d.stats().statePublished - pub0[i]! - 1,
      );
      ctx.log(
        `  mqtt: ${DEVICES} devices, ${published} state messages published in ${seconds} s, ${received} received; devices short by > 1: ${short.length}`,
      );

      // Baseline: one raw client, same payload, same total rate.
      const payload = publicState(new StampedMiner('raw').getState());
      const raw = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
      (raw.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true); // as MqttTelemetry does
      rawLags = [];
      const rawSeconds = Math.min(seconds / 2, 5);
      const rawStart = performance.now();
      while (performance.now() - rawStart < rawSeconds * 1000) {
        raw.publish('bench/raw/state', JSON.stringify({ ...payload, time: nowMs() }), { qos: 0 });
        await sleep(1000 / DEVICES);
      }
      await sleep(500);
      await raw.endAsync(true);

      const idleR = await idle;
      const bare = await bareRss();
      const p99 = pUs(lags, 99) / 1000;
      const rawP99 = pUs(rawLags, 99) / 1000;
      rows.push(
        {
          suite: 'mqtt-farm',
          name: `${DEVICES} devices × 1 Hz state: messages received / published (${seconds} s)`,
          value: received / Math.max(1, published),
          unit: 'ratio',
          better: 'higher',
          target: { op: '>=', value: 1 },
          note: `${received} / ${published}`,
        },
        {
          suite: 'mqtt-farm',
          name: `${DEVICES} devices × 1 Hz state: publish → receive lag p50`,
          value: pUs(lags, 50) / 1000,
          unit: 'ms',
          baseline: { name: 'raw mqtt.js publish, 100 msg/s', value: pUs(rawLags, 50) / 1000 },
          ratio: pUs(lags, 50) / pUs(rawLags, 50),
          better: 'lower',
        },
        {
          suite: 'mqtt-farm',
          name: `${DEVICES} devices × 1 Hz state: publish → receive lag p99`,
          value: p99,
          unit: 'ms',
          baseline: { name: 'raw mqtt.js publish, 100 msg/s', value: rawP99 },
          ratio: p99 / rawP99,
          better: 'lower',
          // "No backlog": a message is delivered well within the 1 s publishing period.
          target: { op: '<=', value: 100 },
        },
        {
          suite: 'mqtt-farm',
          name: `idle daemon CPU (sim-gamma, no pool reachable, ${(idleR.wallMs / 1000).toFixed(0)} s, ${idleR.mining})`,
          value: idleR.cpuPercent,
          unit: '% of a core',
          better: 'lower',
        },
        {
          suite: 'mqtt-farm',
          name: 'idle daemon RSS (max)',
          value: idleR.rssMaxMB,
          unit: 'MB',
          baseline: { name: 'idle node + tsx process', value: bare },
          ratio: idleR.rssMaxMB / bare,
          better: 'lower',
        },
      );
    } finally {
      await Promise.all(devices.map((d) => d.stop()));
      await sub.endAsync(true);
      await broker.stop();
    }
    return rows;
  },
};

export default suite;
