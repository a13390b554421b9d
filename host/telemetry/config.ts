/**
 * Telemetry configuration: command-line flags and config-file keys for MQTT, the cgminer API and
 * Prometheus, validated with errors that name the flag or key. `asicd run` / `asicd demo` parse their
 * argv through parseTelemetryFlags (unknown flags are returned untouched for the caller) and merge
 * the config file's `telemetry`-related keys through telemetryConfigFromObject.
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
  api: { listen: string; allow: string[] } | null;
  /** Prometheus endpoint; off unless configured. */
  metrics?: { listen: string };
}

export const DEFAULT_API_LISTEN = '127.0.0.1:4028';

export function defaultTelemetryConfig(): TelemetryConfig {
  return { api: { listen: DEFAULT_API_LISTEN, allow: [] } };
}

export const TELEMETRY_FLAGS_HELP = `Telemetry options:
  --mqtt URL               publish to an MQTT broker (mqtt://host:1883, mqtts://host:8883)
  --mqtt-user USER         broker username
  --mqtt-pass PASS         broker password (or env ASICD_MQTT_PASS, which keeps it out of ps)
  --mqtt-ca FILE           CA certificate (PEM) for mqtts://
  --mqtt-base TOPIC        base topic (default asicd/<device-id>)
  --mqtt-interval SEC      state publish interval (default 10)
  --mqtt-commands          accept commands on <base>/cmd (off by default)
  --no-ha-discovery        do not publish Home Assistant discovery
  --ha-prefix PREFIX       Home Assistant discovery prefix (default homeassistant)
  --device-id ID           stable device id (default from board serial / MAC)
  --api-listen HOST:PORT   cgminer-compatible API (default ${DEFAULT_API_LISTEN})
  --api-allow LIST         addresses allowed privileged API commands, e.g. W:127.0.0.1,W:10.0.0.0/24
  --no-api                 disable the cgminer API
  --metrics-listen HOST:PORT  Prometheus /metrics endpoint (off by default)`;

function positiveNumber(v: string, what: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${what} "${v}" is invalid: expected a positive number`);
  return n;
}

function ensureMqtt(c: TelemetryConfig, flag: string): MqttConfig {
  if (!c.mqtt) throw new Error(`${flag} needs --mqtt URL (or mqtt.url in the config file)`);
  return c.mqtt;
}

/**
 * Parses telemetry flags out of argv. Returns the config (starting from `base`) and the arguments it
 * did not recognise, in order.
 */
export function parseTelemetryFlags(
  argv: string[],
  base: TelemetryConfig = defaultTelemetryConfig(),
  env: NodeJS.ProcessEnv = process.env,
): { config: TelemetryConfig; rest: string[] } {
  const c: TelemetryConfig = structuredClone(base);
  const rest: string[] = [];
  const pending: Array<() => void> = []; // flags that need --mqtt, applied after it is known
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const flag = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const inline = arg.startsWith('--') && eq > 0 ? arg.slice(eq + 1) : undefined;
    const value = (): string => {
      if (inline !== undefined) return inline;
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new Error(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--mqtt': {
        const url = value();
        if (!/^(mqtts?|wss?):\/\/[^/]+/.test(url)) {
          throw new Error(`--mqtt "${url}" is invalid: expected mqtt://host[:port] or mqtts://host[:port]`);
        }
        c.mqtt = { ...(c.mqtt ?? { commands: false, discovery: true }), url };
        break;
      }
      case '--mqtt-user': {
        const v = value();
        pending.push(() => {
          ensureMqtt(c, flag).username = v;
        });
        break;
      }
      case '--mqtt-pass': {
        const v = value();
        pending.push(() => {
          ensureMqtt(c, flag).password = v;
        });
        break;
      }
      case '--mqtt-ca': {
        const v = value();
        pending.push(() => {
          ensureMqtt(c, flag).caFile = v;
        });
        break;
      }
      case '--mqtt-base': {
        const v = value();
        pending.push(() => {
          ensureMqtt(c, flag).baseTopic = v;
        });
        break;
      }
      case '--mqtt-interval': {
        const ms = positiveNumber(value(), flag) * 1000;
        pending.push(() => {
          ensureMqtt(c, flag).intervalMs = ms;
        });
        break;
      }
      case '--mqtt-commands':
        pending.push(() => {
          ensureMqtt(c, flag).commands = true;
        });
        break;
      case '--no-ha-discovery':
        pending.push(() => {
          ensureMqtt(c, flag).discovery = false;
        });
        break;
      case '--ha-prefix': {
        const v = value();
        pending.push(() => {
          ensureMqtt(c, flag).discoveryPrefix = v;
        });
        break;
      }
      case '--device-id':
        c.deviceId = value();
        break;
      case '--api-listen':
        c.api = { listen: value(), allow: c.api?.allow ?? [] };
        break;
      case '--api-allow': {
        const list = value()
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
        c.api = { listen: c.api?.listen ?? DEFAULT_API_LISTEN, allow: list };
        break;
      }
      case '--no-api':
        c.api = null;
        break;
      case '--metrics-listen':
        c.metrics = { listen: value() };
        break;
      default:
        rest.push(arg);
    }
  }
  for (const p of pending) p();
  if (c.mqtt && c.mqtt.password === undefined && env.ASICD_MQTT_PASS) c.mqtt.password = env.ASICD_MQTT_PASS;
  return { config: c, rest };
}

function str(obj: Record<string, unknown>, key: string, path: string): string | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new Error(`config ${path}${key} must be a string`);
  return v;
}

function bool(obj: Record<string, unknown>, key: string, path: string): boolean | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new Error(`config ${path}${key} must be true or false`);
  return v;
}

/**
 * Reads the telemetry keys of a parsed config file:
 * `device_id`, `mqtt: { url, user, pass, ca, base_topic, interval_s, commands, discovery, discovery_prefix }`,
 * `api: { listen, allow: [..] } | false`, `metrics: { listen }`.
 */
export function telemetryConfigFromObject(obj: Record<string, unknown>): TelemetryConfig {
  const c = defaultTelemetryConfig();
  const id = str(obj, 'device_id', '');
  if (id !== undefined) c.deviceId = id;
  const m = obj.mqtt;
  if (m !== undefined && m !== null) {
    if (typeof m !== 'object' || Array.isArray(m)) throw new Error('config mqtt must be a mapping');
    const mm = m as Record<string, unknown>;
    const url = str(mm, 'url', 'mqtt.');
    if (!url) throw new Error('config mqtt.url is missing');
    if (!/^(mqtts?|wss?):\/\/[^/]+/.test(url)) throw new Error(`config mqtt.url "${url}" is invalid`);
    const cfg: MqttConfig = {
      url,
      commands: bool(mm, 'commands', 'mqtt.') ?? false,
      discovery: bool(mm, 'discovery', 'mqtt.') ?? true,
    };
    const set = <K extends keyof MqttConfig>(k: K, v: MqttConfig[K] | undefined) => {
      if (v !== undefined) cfg[k] = v;
    };
    set('username', str(mm, 'user', 'mqtt.'));
    set('password', str(mm, 'pass', 'mqtt.'));
    set('caFile', str(mm, 'ca', 'mqtt.'));
    set('baseTopic', str(mm, 'base_topic', 'mqtt.'));
    set('discoveryPrefix', str(mm, 'discovery_prefix', 'mqtt.'));
    if (mm.interval_s !== undefined) {
      if (typeof mm.interval_s !== 'number' || !(mm.interval_s > 0)) {
        throw new Error('config mqtt.interval_s must be a positive number');
      }
      cfg.intervalMs = mm.interval_s * 1000;
    }
    c.mqtt = cfg;
  }
  const a = obj.api;
  if (a === false) c.api = null;
  else if (a !== undefined && a !== null) {
    if (typeof a !== 'object' || Array.isArray(a)) throw new Error('config api must be a mapping or false');
    const aa = a as Record<string, unknown>;
    const allow = aa.allow ?? [];
    if (!Array.isArray(allow) || !allow.every((x) => typeof x === 'string')) {
      throw new Error('config api.allow must be a list of addresses');
    }
    c.api = { listen: str(aa, 'listen', 'api.') ?? DEFAULT_API_LISTEN, allow: allow as string[] };
  }
  const me = obj.metrics;
  if (me !== undefined && me !== null) {
    if (typeof me !== 'object' || Array.isArray(me)) throw new Error('config metrics must be a mapping');
    const listen = str(me as Record<string, unknown>, 'listen', 'metrics.');
    if (!listen) throw new Error('config metrics.listen is missing');
    c.metrics = { listen };
  }
  return c;
}
