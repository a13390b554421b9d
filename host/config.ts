/**
 * Configuration: defaults < config file (YAML) < ASICD_* environment < command-line flags.
 * One table describes every option (key, flag, environment variable, type, range, help), so the
 * parser, the validation messages and `--help` can't drift apart. Every error names the key and the
 * allowed values; secrets (passwords) are never printed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import { redactText, registerSecret, splitUserInfo } from '../lib/redact.ts';
import { GATEWAY_OPTIONS } from './gateway/config-options.ts';

/** The YAML parser loads only when a config file is read (most runs take flags only). */
const parseYaml = (text: string): unknown =>
  (createRequire(import.meta.url)('yaml') as typeof import('yaml')).parse(text);

type Kind = 'string' | 'number' | 'boolean' | 'list';

export interface OptionSpec {
  /** Dotted key in the config file, e.g. "mqtt.url". */
  key: string;
  flag: string;
  kind: Kind;
  help: string;
  default?: unknown;
  min?: number;
  max?: number;
  integer?: boolean;
  choices?: readonly string[];
  secret?: boolean;
  /** Only for the commands listed (default: all). */
  commands?: readonly string[];
  /** Extra validation of the coerced value: a message saying what is wrong, or undefined. */
  check?: (value: unknown) => string | undefined;
  /** Replaces the kind's coercion (values with structure, e.g. pool entries). */
  parse?: (raw: unknown, from: string) => unknown;
}

/** HOST:PORT of a listener, split; undefined when malformed (IPv6 in [ ], empty host = all addresses). */
export function splitListen(spec: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:\s[\]]*)):(\d{1,5})$/.exec(spec.trim());
  if (!m) return undefined;
  const port = Number(m[3]);
  const host = m[1] ?? m[2] ?? '';
  if (port > 65535) return undefined;
  if (m[1] !== undefined && isIP(host) !== 6) return undefined;
  if (
    m[1] === undefined &&
    host !== '' &&
    isIP(host) === 0 &&
    (!HOSTNAME.test(host) || /^[\d.]+$/.test(host))
  )
    return undefined;
  return { host, port };
}
const HOSTNAME =
  /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i;
const listenCheck = (v: unknown) =>
  v === 'off' || splitListen(String(v))
    ? undefined
    : 'expected HOST:PORT with an IP address or host name and a port 0–65535 (e.g. 127.0.0.1:4028) or "off"';
const mqttUrlCheck = (v: unknown) => {
  let url: string;
  try {
    url = splitUserInfo(String(v)).url;
  } catch (err) {
    return (err as Error).message;
  }
  return /^(mqtts?|wss?|tcp|ssl):\/\/(\[[0-9a-f:.]+\]|[a-z0-9._-]+)(:\d{1,5})?(\/\S*)?$/i.test(url)
    ? undefined
    : 'expected mqtt://host[:port] or mqtts://host[:port]';
};

export const OPTIONS: readonly OptionSpec[] = [
  {
    key: 'board',
    flag: 'board',
    kind: 'string',
    help: 'board profile id (`asicd boards`); "generic" with --chip/--chips/--device',
  },
  {
    key: 'chip',
    flag: 'chip',
    kind: 'string',
    help: 'generic board: chip model',
    choices: ['BM1397', 'BM1366', 'BM1368', 'BM1370'],
  },
  {
    key: 'chips',
    flag: 'chips',
    kind: 'number',
    help: 'generic board: chips on the chain',
    min: 1,
    max: 256,
    integer: true,
  },
  { key: 'device', flag: 'device', kind: 'string', help: 'generic board: serial device, e.g. /dev/ttyUSB0' },
  {
    key: 'bridge',
    flag: 'bridge',
    kind: 'string',
    help: 'USB-bridge boards: use the ports LINK.control and LINK.data (a board served by `asicd sim --board ID --link LINK`) instead of finding the board on USB',
  },
  {
    key: 'baud',
    flag: 'baud',
    kind: 'number',
    help: 'generic board: initial baud rate',
    min: 9600,
    max: 6_250_000,
    integer: true,
  },
  {
    key: 'pools',
    flag: 'pool',
    kind: 'list',
    help: 'pool URL, repeatable in priority order (stratum+tcp://host:port, stratum+ssl://…; user:pass@ taken as the credentials); stratum2+tcp://host:port/<authority key> is Stratum V2 under --algo sha256d (under --algo ethash, stratum2+tcp means EthereumStratum/1.0.0)',
    parse: parsePools,
  },
  { key: 'user', flag: 'user', kind: 'string', help: 'worker name for every pool (usually address.worker)' },
  { key: 'pass', flag: 'pass', kind: 'string', help: 'pool password', secret: true, default: 'x' },
  {
    key: 'suggestDifficulty',
    flag: 'suggest-difficulty',
    kind: 'number',
    help: 'send mining.suggest_difficulty',
    min: 1e-12,
    max: 1e15,
  },
  {
    key: 'pool.silenceTimeout',
    flag: 'pool-silence-timeout',
    kind: 'number',
    help: 'seconds without a new job before a pool is left (other traffic does not count)',
    min: 5,
    max: 3600,
    default: 120,
  },
  {
    key: 'pool.submitTimeout',
    flag: 'pool-submit-timeout',
    kind: 'number',
    help: 'seconds a share may wait for its answer; then the pool is suspect and left',
    min: 1,
    max: 300,
    default: 10,
  },
  {
    key: 'pool.probeInterval',
    flag: 'pool-probe-interval',
    kind: 'number',
    help: 'while on a fallback, the preferred pool is probed after 5 s, then less often up to every this many seconds',
    min: 5,
    max: 3600,
    default: 60,
  },
  {
    key: 'pool.standbyProbeInterval',
    flag: 'pool-standby-probe-interval',
    kind: 'number',
    help: 'seconds between short probes of each standby pool, so it shows Alive or Dead (0 = never)',
    min: 0,
    max: 86400,
    default: 60,
    check: (v) =>
      Number(v) > 0 && Number(v) < 5 ? 'must be 0 (never probe) or at least 5 seconds' : undefined,
  },
  {
    key: 'pool.unansweredSubmits',
    flag: 'pool-unanswered-submits',
    kind: 'number',
    help: 'this many shares in a row without an answer → the pool is left',
    min: 1,
    max: 1000,
    integer: true,
    default: 5,
  },
  {
    key: 'pool.rejectRun',
    flag: 'pool-reject-run',
    kind: 'number',
    help: 'this many rejected shares in a row (no accepted one) → the pool is left',
    min: 1,
    max: 100000,
    integer: true,
    default: 10,
  },
  {
    key: 'frequency',
    flag: 'frequency',
    kind: 'number',
    help: "chip frequency in MHz, within the board's limits (`asicd boards`)",
    min: 50,
    max: 1000,
  },
  {
    key: 'voltage',
    flag: 'voltage',
    kind: 'number',
    help: "core voltage in mV (boards with a TPS546 or DS4432U; refused outside the board's window)",
    min: 500,
    max: 2000,
    integer: true,
  },
  {
    key: 'easyBits',
    flag: 'easy-bits',
    kind: 'number',
    help: 'emulated chips report hashes with this many leading zero bits (sim-* boards: default 16; with --device: a chain served by `asicd sim --easy-bits N`)',
    min: 8,
    max: 32,
    integer: true,
  },
  {
    key: 'maxHashrate',
    flag: 'max-hashrate',
    kind: 'number',
    help: "simulated boards: cap on the emulated chips' hashes per second (CPU left for the rest)",
    min: 1000,
    max: 1e9,
  },
  {
    key: 'thermal.enabled',
    flag: 'thermal',
    kind: 'boolean',
    help: 'thermal protection (--no-thermal only for test rigs without sensors)',
    default: true,
  },
  {
    key: 'thermal.targetTemp',
    flag: 'target-temp',
    kind: 'number',
    help: 'fan PID target °C',
    min: 35,
    max: 80,
  },
  {
    key: 'thermal.maxTemp',
    flag: 'max-temp',
    kind: 'number',
    help: 'stop hashing above this chip °C',
    min: 40,
    max: 100,
  },
  { key: 'fan', flag: 'fan', kind: 'string', help: '"auto" (PID) or a fixed duty 0–100 %', default: 'auto' },
  {
    key: 'firmata.path',
    flag: 'firmata',
    kind: 'string',
    help: 'Firmata I/O board (Arduino) with thermistor, PWM fan and tach, e.g. /dev/ttyACM0 (replaces I2C sensors)',
  },
  {
    key: 'firmata.thermistor',
    flag: 'firmata-thermistor',
    kind: 'number',
    help: 'Firmata: thermistor analog channel',
    min: 0,
    max: 15,
    integer: true,
    default: 0,
  },
  {
    key: 'firmata.fanPin',
    flag: 'firmata-fan-pin',
    kind: 'number',
    help: 'Firmata: fan PWM pin',
    min: 0,
    max: 69,
    integer: true,
    default: 9,
  },
  {
    key: 'firmata.tachPin',
    flag: 'firmata-tach-pin',
    kind: 'number',
    help: 'Firmata: fan tach pin',
    min: 0,
    max: 69,
    integer: true,
    default: 2,
  },
  { key: 'log.format', flag: 'log-format', kind: 'string', help: 'log format', choices: ['json', 'pretty'] },
  {
    key: 'log.level',
    flag: 'log-level',
    kind: 'string',
    help: 'log level',
    choices: ['debug', 'info', 'warn', 'error'],
    default: 'info',
  },
  {
    key: 'status',
    flag: 'status',
    kind: 'boolean',
    help: 'live status line on a terminal (default: on when stdout is a TTY)',
  },
  {
    key: 'mqtt.url',
    flag: 'mqtt',
    kind: 'string',
    help: 'MQTT broker URL (mqtt://, mqtts://); demo: an embedded broker when absent',
    check: mqttUrlCheck,
  },
  { key: 'mqtt.user', flag: 'mqtt-user', kind: 'string', help: 'MQTT username' },
  { key: 'mqtt.pass', flag: 'mqtt-pass', kind: 'string', help: 'MQTT password', secret: true },
  { key: 'mqtt.ca', flag: 'mqtt-ca', kind: 'string', help: 'CA file for mqtts://' },
  {
    key: 'mqtt.deviceId',
    flag: 'device-id',
    kind: 'string',
    help: 'stable device id (default: from the MAC address)',
  },
  {
    key: 'mqtt.commands',
    flag: 'mqtt-commands',
    kind: 'boolean',
    help: 'accept MQTT commands (off by default; the demo turns them on only for its embedded loopback broker)',
    default: false,
  },
  {
    key: 'mqtt.interval',
    flag: 'mqtt-interval',
    kind: 'number',
    help: 'state publish interval, seconds',
    min: 1,
    max: 3600,
    default: 10,
  },
  {
    key: 'api.listen',
    flag: 'api-listen',
    kind: 'string',
    help: 'cgminer-compatible API HOST:PORT, or "off"',
    default: '127.0.0.1:4028',
    check: listenCheck,
  },
  {
    key: 'api.allow',
    flag: 'api-allow',
    kind: 'list',
    help: 'addresses allowed privileged API commands',
    default: [],
  },
  {
    key: 'metrics.listen',
    flag: 'metrics-listen',
    kind: 'string',
    help: 'Prometheus /metrics HOST:PORT',
    check: listenCheck,
  },
  {
    key: 'name',
    flag: 'name',
    kind: 'string',
    help: 'device name shown in Home Assistant, the dashboard and AxeOS tools',
  },
  {
    key: 'http.listen',
    flag: 'http-listen',
    kind: 'string',
    help: 'HTTP server (AxeOS-compatible API, dashboard) HOST:PORT, or "off"; demo: a free loopback port',
    check: listenCheck,
  },
  {
    key: 'http.token',
    flag: 'http-token',
    kind: 'string',
    help: 'token for HTTP write routes (Authorization: Bearer TOKEN); without one, writes are refused',
    secret: true,
  },
  {
    key: 'http.openLoopback',
    flag: 'http-open-loopback',
    kind: 'boolean',
    help: 'HTTP writes without a token from loopback peers (only allowed when listening on loopback)',
    default: false,
  },
  {
    key: 'http.cors',
    flag: 'http-cors',
    kind: 'list',
    help: 'origins allowed to call the HTTP API from a browser (default: none)',
    default: [],
  },
  {
    key: 'state.file',
    flag: 'state-file',
    kind: 'string',
    help: 'state file for run-time settings and lifetime totals (default: <config>.state.json beside --config)',
  },
  { key: 'mqtt.base', flag: 'mqtt-base', kind: 'string', help: 'base topic (default asicd/<device-id>)' },
  {
    key: 'mqtt.discovery',
    flag: 'ha-discovery',
    kind: 'boolean',
    help: 'publish Home Assistant discovery',
    default: true,
  },
  {
    key: 'mqtt.haPrefix',
    flag: 'ha-prefix',
    kind: 'string',
    help: 'Home Assistant discovery prefix (default homeassistant)',
  },
  {
    key: 'pool.difficulty',
    flag: 'pool-difficulty',
    kind: 'number',
    help: 'demo: embedded pool share difficulty',
    min: 1e-12,
    max: 1e12,
    commands: ['demo'],
  },
  {
    key: 'pool.port',
    flag: 'pool-port',
    kind: 'number',
    help: 'demo: embedded pool port (0 = any free port)',
    min: 0,
    max: 65535,
    integer: true,
    commands: ['demo'],
  },
  {
    key: 'sv2.allowUnauthenticated',
    flag: 'sv2-allow-unauthenticated',
    kind: 'boolean',
    help: 'accept stratum2+tcp:// pools without an authority key in the URL (pool identity NOT checked)',
    default: false,
  },
  {
    key: 'sv2.channel',
    flag: 'sv2-channel',
    kind: 'string',
    help: 'Stratum V2 pools: extended channel (coinbase with extranonce, like V1) or standard (header-only: the pool fixes the merkle root, the chips roll ntime and version)',
    choices: ['extended', 'standard'],
    default: 'extended',
  },
  {
    key: 'pool.protocol',
    flag: 'pool-protocol',
    kind: 'string',
    help: 'demo: embedded pool protocol, v1 (Stratum V1) or sv2 (Stratum V2, Noise-encrypted)',
    choices: ['v1', 'sv2'],
    default: 'v1',
    commands: ['demo'],
  },
  {
    key: 'algo',
    flag: 'algo',
    kind: 'string',
    help: 'demo: sha256d (Bitcoin, the default) or ethash (EthereumStratum with host-side ethash checks)',
    choices: ['sha256d', 'ethash'],
    default: 'sha256d',
    commands: ['demo'],
  },
  {
    key: 'duration',
    flag: 'duration',
    kind: 'number',
    help: 'stop after this many seconds (0 = run until signalled)',
    min: 0,
    max: 1e9,
    default: 0,
  },
  ...GATEWAY_OPTIONS,
];

export type Config = Record<string, unknown>;

/** A configuration problem; the message names the key and its source, secrets masked. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(message: string) {
    super(redactText(message));
  }
}

export const envName = (o: { key: string }) =>
  `ASICD_${o.key
    .replace(/\./g, '_')
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .toUpperCase()}`;

function coerce(o: OptionSpec, raw: unknown, from: string): unknown {
  if (o.secret && (typeof raw === 'string' || typeof raw === 'number')) registerSecret(raw);
  const v = o.parse ? o.parse(raw, from) : coerceKind(o, raw, from);
  const problem = o.check?.(v);
  if (problem) throw new ConfigError(`${o.key} (${from}): "${String(v)}" is invalid: ${problem}`);
  return v;
}

function coerceKind(o: OptionSpec, raw: unknown, from: string): unknown {
  const where = `${o.key} (${from})`;
  switch (o.kind) {
    case 'string': {
      if (typeof raw !== 'string' && typeof raw !== 'number')
        throw new ConfigError(`${where}: expected text, got ${typeof raw}`);
      const s = String(raw);
      if (o.choices && !o.choices.some((c) => c.toLowerCase() === s.toLowerCase())) {
        throw new ConfigError(`${where}: "${s}" is not one of ${o.choices.join(', ')}`);
      }
      return o.choices ? o.choices.find((c) => c.toLowerCase() === s.toLowerCase()) : s;
    }
    case 'number': {
      const n =
        typeof raw === 'number'
          ? raw
          : typeof raw === 'string' && raw.trim() !== ''
            ? Number(raw)
            : Number.NaN;
      const range = `${o.min ?? '-∞'} to ${o.max ?? '∞'}`;
      if (!Number.isFinite(n))
        throw new ConfigError(`${where}: expected a number from ${range}, got ${JSON.stringify(raw)}`);
      if (o.integer && !Number.isInteger(n))
        throw new ConfigError(`${where}: expected a whole number from ${range}, got ${n}`);
      if ((o.min !== undefined && n < o.min) || (o.max !== undefined && n > o.max)) {
        throw new ConfigError(`${where}: ${n} is outside the allowed range ${range}`);
      }
      return n;
    }
    case 'boolean': {
      if (typeof raw === 'boolean') return raw;
      const s = String(raw).toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(s)) return true;
      if (['0', 'false', 'no', 'off'].includes(s)) return false;
      throw new ConfigError(`${where}: expected true or false, got ${JSON.stringify(raw)}`);
    }
    case 'list': {
      const items = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(',') : undefined;
      if (!items) throw new ConfigError(`${where}: expected a list, got ${typeof raw}`);
      return items.map((x) => (typeof x === 'string' ? x.trim() : x)).filter((x) => x !== '');
    }
  }
}

function getPath(obj: Record<string, unknown>, key: string): unknown {
  let cur: unknown = obj;
  for (const part of key.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function fileKeys(obj: unknown, prefix = ''): string[] {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return [prefix];
  return Object.entries(obj as Record<string, unknown>).flatMap(([k, v]) => {
    const key = prefix ? `${prefix}.${k}` : k;
    return OPTIONS.some((o) => o.key === key) ? [key] : fileKeys(v, key);
  });
}

function typeOf(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'a mapping' : typeof v;
}

/** Levenshtein distance, case-insensitive (for "did you mean"). */
function distance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const cur = [i];
    for (let j = 1; j <= y.length; j++)
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[y.length]!;
}

/** ` (did you mean "user"?)` for a near miss among `known`, else ''. */
export function didYouMean(word: string, known: readonly string[]): string {
  let best: string | undefined;
  let bestD = Number.POSITIVE_INFINITY;
  for (const k of known) {
    const d = distance(word, k);
    if (d < bestD) {
      best = k;
      bestD = d;
    }
  }
  const limit = Math.max(1, Math.min(3, Math.floor(word.length / 3)));
  return best !== undefined && bestD <= limit ? ` (did you mean "${best}"?)` : '';
}

/** Keys of a pool entry given as a mapping (file: `pools: [{ url, user, pass }]`). */
export const POOL_KEYS: readonly string[] = ['url', 'user', 'pass'];

/** A pool URL as asicd takes it: [scheme://]host:port[/path], scheme a Stratum one (or tcp/ssl/tls). */
function checkPoolUrl(url: string, where: string): void {
  const m = /^(?:([a-z][a-z0-9+.-]*):\/\/)?(\[[0-9a-f:.]+\]|[^\s:/[\]@]+):(\d{1,5})(\/\S*)?$/i.exec(url);
  const port = m ? Number(m[3]) : 0;
  if (!m || port < 1 || port > 65535)
    throw new ConfigError(`${where}: "${url}" is not a pool URL (stratum+tcp://host:port, stratum+ssl://…)`);
  const scheme = (m[1] ?? 'stratum+tcp').toLowerCase();
  if (!/stratum|^(tcp|ssl|tls)$/.test(scheme))
    throw new ConfigError(
      `${where}: scheme "${scheme}" is not a Stratum scheme (stratum+tcp, stratum+ssl, …)`,
    );
}

/** One pool entry (URL text or mapping) → a plain URL, or { url, user, pass } with user-info taken out. */
function poolEntry(item: unknown, where: string): string | PoolConfig | undefined {
  if (typeof item === 'string') {
    const text = item.trim();
    if (text === '') return undefined;
    const split = splitUrl(text, where);
    checkPoolUrl(split.url, where);
    return split.user === undefined && split.pass === undefined ? split.url : split;
  }
  if (item === null || typeof item !== 'object' || Array.isArray(item))
    throw new ConfigError(
      `${where}: expected a pool URL or a mapping { url, user, pass }, got ${typeOf(item)}`,
    );
  const o = item as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (!POOL_KEYS.includes(k))
      throw new ConfigError(
        `${where}: unknown key "${k}"${didYouMean(k, POOL_KEYS)}; a pool entry takes ${POOL_KEYS.join(', ')}`,
      );
  if (typeof o.pass === 'string' || typeof o.pass === 'number') registerSecret(o.pass);
  if (typeof o.url !== 'string') throw new ConfigError(`${where}: each pool entry needs a "url" (text)`);
  for (const k of ['user', 'pass'] as const)
    if (o[k] !== undefined && typeof o[k] !== 'string' && typeof o[k] !== 'number')
      throw new ConfigError(`${where}.${k}: expected text, got ${typeOf(o[k])}`);
  const split = splitUrl(o.url.trim(), `${where}.url`);
  checkPoolUrl(split.url, `${where}.url`);
  if (
    (split.user !== undefined && o.user !== undefined) ||
    (split.pass !== undefined && o.pass !== undefined)
  )
    throw new ConfigError(`${where}: credentials both in the URL and in user/pass; give them once`);
  const user = split.user ?? (o.user !== undefined ? String(o.user) : undefined);
  const pass = split.pass ?? (o.pass !== undefined ? String(o.pass) : undefined);
  return { url: split.url, ...(user !== undefined ? { user } : {}), ...(pass !== undefined ? { pass } : {}) };
}

function splitUrl(text: string, where: string): PoolConfig {
  try {
    return splitUserInfo(text);
  } catch (err) {
    throw new ConfigError(`${where}: ${(err as Error).message}`);
  }
}

/** The `pools` option from any source: a list (or comma-separated text) of URLs or pool mappings. */
function parsePools(raw: unknown, from: string): Array<string | PoolConfig> {
  const items = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(',') : undefined;
  if (!items)
    throw new ConfigError(
      `pools (${from}): expected a list of pool URLs or { url, user, pass } entries, got ${typeOf(raw)}`,
    );
  const out: Array<string | PoolConfig> = [];
  items.forEach((item, i) => {
    const e = poolEntry(item, `pools[${i}] (${from})`);
    if (e !== undefined) out.push(e);
  });
  return out;
}

export interface LoadOptions {
  argv: string[];
  env?: NodeJS.ProcessEnv;
  command: string;
  /** Command-specific defaults (e.g. the demo's board). */
  defaults?: Config;
  /** Settings saved at run time (the state file): override the config file, not env or flags. */
  state?: Config;
}

/** Where each value of a loaded configuration came from ("--pool", "ASICD_USER", "a.yaml", "default"). */
const SOURCES = new WeakMap<Config, Record<string, string>>();

/** The source of a configuration value: the flag, the environment variable, the file, or "default". */
export function sourceOf(cfg: Config, key: string): string {
  return SOURCES.get(cfg)?.[key] ?? 'default';
}

/** Parses flags of the form --name value, --name=value, --flag / --no-flag; --pool repeats. */
export function parseFlags(argv: string[], command: string): { values: Config; configFile?: string } {
  return parseFlagsWithSources(argv, command).parsed;
}

function parseFlagsWithSources(
  argv: string[],
  command: string,
): { parsed: { values: Config; configFile?: string }; sources: Record<string, string> } {
  const values: Config = {};
  const sources: Record<string, string> = {};
  let configFile: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new ConfigError(`unexpected argument "${arg}" (options start with --)`);
    let name = arg.slice(2);
    let value: string | undefined;
    const eq = name.indexOf('=');
    if (eq >= 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    if (name === 'config') {
      configFile = value ?? argv[++i];
      if (!configFile) throw new ConfigError('--config: needs a file path');
      continue;
    }
    const negated =
      name.startsWith('no-') && OPTIONS.some((o) => o.flag === name.slice(3) && o.kind === 'boolean');
    const o = OPTIONS.find((x) => x.flag === (negated ? name.slice(3) : name));
    if (!o || (o.commands && !o.commands.includes(command))) {
      const flags = OPTIONS.filter((x) => !x.commands || x.commands.includes(command)).map((x) => x.flag);
      const hint = didYouMean(name, [...flags, 'config']).replace(/"([^"]+)"/, '"--$1"');
      throw new ConfigError(
        `--${name}: unknown option for "asicd ${command}"${hint} (see asicd ${command} --help)`,
      );
    }
    sources[o.key] = `--${o.flag}`;
    if (o.kind === 'boolean') {
      values[o.key] = negated ? false : value === undefined ? true : coerce(o, value, `--${name}`);
      continue;
    }
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined || value.startsWith('--')) throw new ConfigError(`--${name}: needs a value`);
    }
    const v = coerce(o, value, `--${name}`);
    values[o.key] = o.kind === 'list' ? [...((values[o.key] as unknown[]) ?? []), ...(v as unknown[])] : v;
  }
  return { parsed: configFile === undefined ? { values } : { values, configFile }, sources };
}

/**
 * Builds the configuration for a command from all sources and validates all of it before anything is
 * opened: every value's type and range, unknown keys (also inside pool entries, with "did you mean"),
 * URLs (user-info taken out as user and password, the password registered as a secret) and listen
 * addresses. Errors are ConfigErrors naming the key and its source (file, environment variable, flag).
 */
export function loadConfig(o: LoadOptions): Config {
  const { parsed, sources: flagSources } = parseFlagsWithSources(o.argv, o.command);
  const { values: flags, configFile } = parsed;
  const env = o.env ?? process.env;
  const cfg: Config = {};
  const sources: Record<string, string> = {};
  SOURCES.set(cfg, sources);
  for (const opt of OPTIONS) if (opt.default !== undefined) cfg[opt.key] = opt.default;
  Object.assign(cfg, o.defaults ?? {});
  const file = configFile ?? env.ASICD_CONFIG;
  if (file) {
    let doc: unknown;
    try {
      doc = parseYaml(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new ConfigError(`--config ${file}: ${(err as Error).message.split('\n')[0]}`);
    }
    if (doc !== null && doc !== undefined) {
      if (typeof doc !== 'object' || Array.isArray(doc))
        throw new ConfigError(`${file}: expected a mapping of keys, got ${typeOf(doc)}`);
      const known = OPTIONS.map((x) => x.key);
      for (const key of fileKeys(doc)) {
        if (known.includes(key)) continue;
        const section = known.filter((k) => k.startsWith(`${key}.`));
        if (section.length > 0)
          throw new ConfigError(
            `${key} (${file}): expected a mapping with ${section.join(', ')}, got ${typeOf(getPath(doc as Record<string, unknown>, key))}`,
          );
        throw new ConfigError(`${file}: unknown key "${key}"${didYouMean(key, known)}`);
      }
      for (const opt of OPTIONS) {
        const raw = getPath(doc as Record<string, unknown>, opt.key);
        if (raw === undefined) continue;
        cfg[opt.key] = coerce(opt, raw, file);
        sources[opt.key] = file;
      }
    }
  }
  // Run-time settings from the state file (host/state/): above the config file, below env and flags.
  for (const [key, raw] of Object.entries(o.state ?? {})) {
    const opt = OPTIONS.find((x) => x.key === key);
    if (!opt || raw === undefined) continue;
    cfg[key] = coerce(opt, raw, 'state file');
    sources[key] = 'state file';
  }
  const envNames = OPTIONS.map(envName);
  // Other ASICD_* variables exist (tests, benches); only a near miss of an option's name is an error.
  for (const name of Object.keys(env)) {
    if (!name.startsWith('ASICD_') || envNames.includes(name) || name === 'ASICD_CONFIG') continue;
    const hint = didYouMean(name, envNames);
    if (hint) throw new ConfigError(`${name}: unknown environment variable${hint}`);
  }
  for (const opt of OPTIONS) {
    const raw = env[envName(opt)];
    if (raw !== undefined && raw !== '') {
      cfg[opt.key] = coerce(opt, raw, envName(opt));
      sources[opt.key] = envName(opt);
    }
  }
  Object.assign(cfg, flags);
  Object.assign(sources, flagSources);
  validateAll(cfg);
  return cfg;
}

/** Checks that involve more than one value, or the machine (files), after all sources are merged. */
function validateAll(cfg: Config): void {
  const src = (k: string) => sourceOf(cfg, k);
  validateFan(cfg.fan, src('fan'));
  // MQTT credentials inside the URL: taken out, unless also given on their own.
  const mqttUrl = cfg['mqtt.url'];
  if (typeof mqttUrl === 'string') {
    const split = splitUrl(mqttUrl, `mqtt.url (${src('mqtt.url')})`);
    if (split.user !== undefined || split.pass !== undefined) {
      for (const [part, key] of [
        ['user', 'mqtt.user'],
        ['pass', 'mqtt.pass'],
      ] as const) {
        if (split[part] === undefined) continue;
        if (cfg[key] !== undefined)
          throw new ConfigError(
            `mqtt.url (${src('mqtt.url')}) carries a ${part === 'user' ? 'user name' : 'password'} and ${key} (${src(key)}) gives one too; give it once`,
          );
        cfg[key] = split[part];
        SOURCES.get(cfg)![key] = src('mqtt.url');
      }
      cfg['mqtt.url'] = split.url;
    }
  }
  const target = cfg['thermal.targetTemp'];
  const max = cfg['thermal.maxTemp'];
  if (typeof target === 'number' && typeof max === 'number' && target >= max)
    throw new ConfigError(
      `thermal.targetTemp (${src('thermal.targetTemp')}): ${target} °C must be below thermal.maxTemp (${src('thermal.maxTemp')}) ${max} °C`,
    );
  const ca = cfg['mqtt.ca'];
  if (typeof ca === 'string' && !existsSync(ca))
    throw new ConfigError(`mqtt.ca (${src('mqtt.ca')}): file "${ca}" not found`);
  const allow = cfg['api.allow'];
  if (Array.isArray(allow))
    for (const a of allow as string[]) {
      const entry = String(a).replace(/^[wW]:/, '');
      const [ip, bits] = entry.split('/');
      const okV4 = isIP(ip ?? '') === 4 || /^\d{1,3}(\.\d{1,3}){0,2}$/.test(ip ?? '');
      const okBits = bits === undefined || (/^\d{1,2}$/.test(bits) && Number(bits) <= 32);
      if (!((okV4 && okBits) || (bits === undefined && isIP(entry) === 6)))
        throw new ConfigError(
          `api.allow (${src('api.allow')}): "${a}" is not an IPv4 address/prefix (10.0.0.0/24) or IPv6 address`,
        );
    }
}

/** Keys of options that are listen addresses (HOST:PORT or "off"). */
export function listenKeys(): string[] {
  return OPTIONS.filter((o) => o.check === listenCheck).map((o) => o.key);
}

/**
 * Tries every configured listen address (bind, then close at once), so a bad host, a foreign address or
 * a port in use is a ConfigError naming the key and its source before any device is opened.
 */
export async function checkListenAddresses(cfg: Config, skip: readonly string[] = []): Promise<void> {
  const { createServer } = await import('node:net');
  for (const key of listenKeys()) {
    if (skip.includes(key)) continue;
    const v = cfg[key];
    if (typeof v !== 'string' || v === 'off') continue;
    const hp = splitListen(v);
    if (!hp) throw new ConfigError(`${key} (${sourceOf(cfg, key)}): "${v}" is not HOST:PORT`);
    await new Promise<void>((resolve, reject) => {
      const srv = createServer();
      srv.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          new ConfigError(
            `${key} (${sourceOf(cfg, key)}): cannot listen on ${v}: ${err.code ?? err.message}${
              err.code === 'EADDRINUSE'
                ? ` (port in use; choose another with --${OPTIONS.find((o) => o.key === key)?.flag ?? key} HOST:PORT, or "off")`
                : err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN'
                  ? ' (not an address of this machine)'
                  : ''
            }`,
          ),
        ),
      );
      srv.listen({ host: hp.host || undefined, port: hp.port, exclusive: true }, () =>
        srv.close(() => resolve()),
      );
    });
  }
}

export interface PoolConfig {
  url: string;
  user?: string;
  pass?: string;
}

function validateFan(fan: unknown, from = 'config'): void {
  if (fan === undefined || fan === 'auto') return;
  const n = Number(fan);
  if (!Number.isFinite(n) || n < 0 || n > 100)
    throw new ConfigError(`fan (${from}): "${fan}" must be "auto" or a duty from 0 to 100`);
}

/** The pool list with per-pool credentials resolved (file entries may carry their own). */
export function poolsOf(cfg: Config): Required<PoolConfig>[] {
  const raw = cfg.pools ?? [];
  if (!Array.isArray(raw))
    throw new ConfigError(
      `pools (${sourceOf(cfg, 'pools')}): expected a list of pool URLs, got ${typeOf(raw)}`,
    );
  return (raw as Array<string | PoolConfig>).map((p) => {
    const o = typeof p === 'string' ? { url: p } : p;
    return { url: o.url, user: o.user ?? String(cfg.user ?? ''), pass: o.pass ?? String(cfg.pass ?? 'x') };
  });
}

/** The pool policy settings of the configuration (pool.* keys, seconds) as PoolManager options (ms). */
export function poolPolicyOf(cfg: Config): {
  silenceMs?: number;
  submitTimeoutMs?: number;
  probeIntervalMs?: number;
  probeFirstMs?: number;
  unansweredSubmits?: number;
  rejectRun?: number;
  standbyProbeMs?: number;
} {
  const sec = (k: string) => (cfg[k] === undefined ? undefined : Math.round(Number(cfg[k]) * 1000));
  const silenceMs = sec('pool.silenceTimeout');
  const submitTimeoutMs = sec('pool.submitTimeout');
  const probeIntervalMs = sec('pool.probeInterval');
  const standbyProbeMs = sec('pool.standbyProbeInterval');
  return {
    ...(standbyProbeMs !== undefined ? { standbyProbeMs } : {}),
    ...(silenceMs !== undefined ? { silenceMs } : {}),
    ...(submitTimeoutMs !== undefined ? { submitTimeoutMs } : {}),
    ...(probeIntervalMs !== undefined
      ? { probeIntervalMs, probeFirstMs: Math.min(5000, probeIntervalMs) }
      : {}),
    ...(cfg['pool.unansweredSubmits'] !== undefined
      ? { unansweredSubmits: Number(cfg['pool.unansweredSubmits']) }
      : {}),
    ...(cfg['pool.rejectRun'] !== undefined ? { rejectRun: Number(cfg['pool.rejectRun']) } : {}),
  };
}

/** The configuration as printable text, secrets replaced. */
export function describeConfig(cfg: Config): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(cfg)) {
    const spec = OPTIONS.find((o) => o.key === k);
    if (spec?.secret) out[k] = v ? '***' : v;
    else if (k === 'pools') out[k] = poolsOf(cfg).map((p) => ({ url: p.url, user: p.user }));
    else out[k] = v;
  }
  return out;
}

/** Help text for a command's options. */
export function optionsHelp(command: string, only?: (key: string) => boolean): string {
  const rows = OPTIONS.filter(
    (o) => (!o.commands || o.commands.includes(command)) && (only === undefined || only(o.key)),
  ).map((o) => {
    const flag =
      o.kind === 'boolean'
        ? `--[no-]${o.flag}`
        : `--${o.flag} ${o.kind === 'number' ? 'N' : o.kind === 'list' ? 'A[,B]' : 'X'}`;
    const range = o.choices ? ` (${o.choices.join('|')})` : o.min !== undefined ? ` (${o.min}–${o.max})` : '';
    const def =
      o.default !== undefined && !o.secret && !(Array.isArray(o.default) && o.default.length === 0)
        ? ` [${o.default}]`
        : '';
    return `  ${flag.padEnd(28)} ${o.help}${range}${def}\n  ${''.padEnd(28)} config: ${o.key}, env: ${envName(o)}`;
  });
  return ['  --config FILE                YAML configuration file (env: ASICD_CONFIG)', ...rows].join('\n');
}
