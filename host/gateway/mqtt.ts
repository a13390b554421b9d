/**
 * The gateway over MQTT (`--mqtt URL`): retained `asicd/gateway/<id>/state` (miners, height, P2P,
 * per-worker statistics, the found-blocks count and the last one) every `intervalMs` and on each new
 * job, one `asicd/gateway/<id>/block` message per found block with the node's answer, and retained
 * `availability` online/offline (last will). Read-only: the gateway takes no commands over MQTT.
 */
import { readFileSync } from 'node:fs';
import mqtt, { type MqttClient } from 'mqtt';
import { type Logger, silentLogger } from '../../lib/log.ts';
import type { Gateway } from './gateway.ts';

export interface GatewayMqttOptions {
  url: string;
  id?: string;
  intervalMs?: number;
  username?: string;
  password?: string;
  /** CA certificate file for mqtts:// */
  caFile?: string;
  logger?: Logger;
}

export function gatewayState(gw: Gateway): Record<string, unknown> {
  const found = gw.found.list();
  return {
    miners: gw.server.notifiedCount,
    height: gw.currentTemplate?.height ?? null,
    network: gw.network ?? null,
    p2p: gw.peer?.ready ?? false,
    totals: { ...gw.server.totals },
    workers: gw.server.workers(),
    blocksFound: found.length,
    lastBlock: found.at(-1) ?? null,
  };
}

export class GatewayMqtt {
  readonly base: string;
  private readonly client: MqttClient;
  private readonly timer: NodeJS.Timeout;
  private readonly gw: Gateway;
  private readonly log: Logger;
  constructor(gw: Gateway, o: GatewayMqttOptions) {
    this.gw = gw;
    this.log = (o.logger ?? silentLogger).child('gateway-mqtt');
    this.base = `asicd/gateway/${(o.id ?? 'gateway').replace(/[^A-Za-z0-9_-]/g, '_')}`;
    this.client = mqtt.connect(o.url, {
      reconnectPeriod: 2000,
      connectTimeout: 10_000,
      ...(o.username !== undefined ? { username: o.username } : {}),
      ...(o.password !== undefined ? { password: o.password } : {}),
      ...(o.caFile !== undefined ? { ca: readFileSync(o.caFile) } : {}),
      will: { topic: `${this.base}/availability`, payload: Buffer.from('offline'), retain: true, qos: 1 },
    });
    this.client.on('connect', () => {
      this.log.info('mqtt_connected', { base: this.base });
      this.client.publish(`${this.base}/availability`, 'online', { retain: true, qos: 1 });
      this.publishState();
    });
    this.client.on('error', (e) => this.log.warn('mqtt_error', { error: e.message }));
    this.timer = setInterval(() => this.publishState(), o.intervalMs ?? 10_000);
    gw.on('job', () => this.publishState());
    gw.on('submitted', (s) => {
      const rec = gw.found.list().findLast((b) => b.hash === s.hash);
      this.client.publish(`${this.base}/block`, JSON.stringify({ ...s, ...(rec ?? {}) }), { qos: 1 });
      this.publishState();
    });
  }

  publishState(): void {
    if (!this.client.connected) return;
    this.client.publish(`${this.base}/state`, JSON.stringify(gatewayState(this.gw)), {
      retain: true,
      qos: 0,
    });
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    if (this.client.connected)
      await new Promise<void>((r) =>
        this.client.publish(`${this.base}/availability`, 'offline', { retain: true, qos: 1 }, () => r()),
      );
    await this.client.endAsync();
  }
}
