/**
 * A test-side MQTT subscriber (plain mqtt.js) that records every message with its retain flag and
 * waits for messages matching a predicate.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { waitFor } from '../helpers/net.ts';

export interface Seen {
  topic: string;
  text: string;
  retain: boolean;
}

export interface Watcher {
  client: MqttClient;
  seen: Seen[];
  waitFor(pred: (m: Seen) => boolean, what: string, timeoutMs?: number): Promise<Seen>;
  publish(topic: string, payload: string, opts?: { retain?: boolean; qos?: 0 | 1 }): Promise<void>;
  close(): Promise<void>;
}

export async function watch(url: string, topics: string[], protocolVersion: 4 | 5 = 4): Promise<Watcher> {
  const client = mqtt.connect(url, { reconnectPeriod: 100, protocolVersion, clean: true });
  client.on('error', () => {});
  const seen: Seen[] = [];
  client.on('message', (topic, payload, packet) =>
    seen.push({ topic, text: payload.toString(), retain: !!packet.retain }),
  );
  await client.subscribeAsync(topics, { qos: 1 });
  return {
    client,
    seen,
    async waitFor(pred, what, timeoutMs = 10_000) {
      let hit: Seen | undefined;
      await waitFor(
        () => {
          hit = seen.find(pred);
          return hit !== undefined;
        },
        what,
        timeoutMs,
      );
      return hit!;
    },
    async publish(topic, payload, opts = {}) {
      await client.publishAsync(topic, payload, { qos: opts.qos ?? 1, retain: opts.retain ?? false });
    },
    async close() {
      await client.endAsync(true);
    },
  };
}
