/**
 * Telemetry configuration as startTelemetry() takes it. The command line, the config file and the
 * ASICD_* environment are parsed (and validated) once, by host/config.ts, for every part of asicd;
 * host/miner/app.ts maps that configuration to this shape.
 */

export interface MqttConfig {
  url: string;
  username?: string;
  password?: string;
  caFile?: string;
  baseTopic?: string;
  intervalMs?: number;
  commands: boolean;
  discovery: boolean;
  discoveryPrefix?: string;
}

export interface TelemetryConfig {
  /** Configured device id (else derived from board serial / MAC). */
  deviceId?: string;
  mqtt?: MqttConfig;
  /** cgminer API; null = disabled. Default on at 127.0.0.1:4028. */
  api: { listen: string; allow: string[]; anyPortIfTaken?: boolean } | null;
  /** The dashboard's address (HA discovery's configuration_url), when the HTTP server runs. */
  dashboardUrl?: string;
  /** Prometheus endpoint; off unless configured. */
  metrics?: { listen: string };
}

export const DEFAULT_API_LISTEN = '127.0.0.1:4028';
