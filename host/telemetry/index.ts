/**
 * Telemetry entry point for `asicd run` / `asicd demo`: starts MQTT (or, for the demo, an embedded
 * aedes broker when no --mqtt is given), the cgminer API and the Prometheus endpoint over one
 * MinerSource, and stops them all. Nothing here can stop mining: failures to start a listener are
 * reported (thrown at start, so the user sees a bad --api-listen), broker trouble is handled inside
 * MqttTelemetry.
 */

import type { Clock } from '../../lib/clock.ts';
import { type Logger, silentLogger } from '../../lib/log.ts';
import type { MinerSource } from '../api/types.ts';
import type { EmbeddedBroker } from './broker.ts';
import type { CgminerApi } from './cgminer-api.ts';
import type { TelemetryConfig } from './config.ts';
import type { MetricsServer } from './metrics.ts';
import type { MqttTelemetry } from './mqtt.ts';

// The listeners load on first use (import them from their own modules): a daemon without MQTT does not
// load mqtt.js, without --metrics-listen not prom-client, and only the demo loads the aedes broker.
export { DEFAULT_API_LISTEN, type MqttConfig, type TelemetryConfig } from './config.ts';
export { deriveDeviceId } from './device-id.ts';
export type { MqttTelemetryOptions } from './mqtt.ts';

export interface TelemetryHandle {
  mqtt?: MqttTelemetry;
  broker?: EmbeddedBroker;
  api?: CgminerApi;
  metrics?: MetricsServer;
  /** Human-readable lines saying where to look (printed by the demo). */
  hints: string[];
  stop(): Promise<void>;
}

export async function startTelemetry(
  source: MinerSource,
  config: TelemetryConfig,
  opts: {
    logger?: Logger;
    clock?: Clock;
    embeddedBrokerWhenNoMqtt?: boolean;
    /** MQTT commands through the embedded broker (loopback only; default true). */
    embeddedCommands?: boolean;
  } = {},
): Promise<TelemetryHandle> {
  const logger = opts.logger ?? silentLogger;
  const h: TelemetryHandle = { hints: [], stop: async () => {} };
  const stops: Array<() => Promise<void>> = [];
  try {
    let mqttCfg = config.mqtt;
    if (!mqttCfg && opts.embeddedBrokerWhenNoMqtt) {
      const { startEmbeddedBroker } = await import('./broker.ts');
      h.broker = await startEmbeddedBroker();
      stops.push(() => h.broker!.stop());
      mqttCfg = { url: h.broker.url, commands: opts.embeddedCommands !== false, discovery: true };
    }
    if (mqttCfg) {
      const { MqttTelemetry } = await import('./mqtt.ts');
      const m = new MqttTelemetry(source, {
        url: mqttCfg.url,
        ...(mqttCfg.username !== undefined && { username: mqttCfg.username }),
        ...(mqttCfg.password !== undefined && { password: mqttCfg.password }),
        ...(mqttCfg.caFile !== undefined && { caFile: mqttCfg.caFile }),
        ...(mqttCfg.baseTopic !== undefined && { baseTopic: mqttCfg.baseTopic }),
        ...(mqttCfg.intervalMs !== undefined && { intervalMs: mqttCfg.intervalMs }),
        ...(mqttCfg.discoveryPrefix !== undefined && { discoveryPrefix: mqttCfg.discoveryPrefix }),
        ...(config.deviceId !== undefined && { deviceId: config.deviceId }),
        ...(config.dashboardUrl !== undefined && { configurationUrl: config.dashboardUrl }),
        ...(opts.clock !== undefined && { clock: opts.clock }),
        commandsEnabled: mqttCfg.commands,
        discovery: mqttCfg.discovery,
        logger,
      });
      m.start();
      h.mqtt = m;
      stops.unshift(() => m.stop()); // stop the client before the embedded broker
      if (h.broker) {
        h.hints.push(
          `MQTT: embedded broker at ${h.broker.url}; watch with: mosquitto_sub -h ${h.broker.host} -p ${h.broker.port} -t '${m.topics.base}/#' -v`,
        );
      } else h.hints.push(`MQTT: publishing to ${mqttCfg.url} under ${m.topics.base}/`);
      h.hints.push(
        mqttCfg.commands
          ? `MQTT commands: ON (${h.broker ? 'embedded broker, loopback only; --no-mqtt-commands turns them off' : '--mqtt-commands'}) on ${m.topics.base}/cmd/#`
          : 'MQTT commands: off (--mqtt-commands to accept them)',
      );
    }
    if (config.api) {
      const { parseListen, startCgminerApi } = await import('./cgminer-api.ts');
      const { host, port } = parseListen(config.api.listen, '--api-listen');
      h.api = await startCgminerApi(source, {
        host,
        port,
        allow: config.api.allow,
        logger,
        ...(config.api.anyPortIfTaken ? { anyPortIfTaken: true } : {}),
      });
      stops.unshift(() => h.api!.close());
      h.hints.push(
        `cgminer API: ${h.api.host}:${h.api.port} (try: echo -n summary | nc ${h.api.host} ${h.api.port})`,
      );
    }
    if (config.metrics) {
      const { parseListen } = await import('./cgminer-api.ts');
      const { startMetricsServer } = await import('./metrics.ts');
      const { host, port } = parseListen(config.metrics.listen, '--metrics-listen');
      h.metrics = await startMetricsServer(source, { host, port, logger });
      stops.unshift(() => h.metrics!.close());
      h.hints.push(`Prometheus: http://${h.metrics.host}:${h.metrics.port}/metrics`);
    }
  } catch (err) {
    for (const s of stops) await s().catch(() => {});
    throw err;
  }
  h.stop = async () => {
    for (const s of stops)
      await s().catch((err) => logger.warn('telemetry_stop_failed', { error: err as Error }));
  };
  return h;
}
