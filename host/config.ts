/**
 * Configuration: defaults < config file (YAML) < ASICD_* environment < command-line flags.
 * One table describes every option (key, flag, environment variable, type, range, help), so the
 * parser, the validation messages and `--help` can't drift apart. Every error names the key and the
 * allowed values; secrets (passwords) are never printed.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';

type Kind = 'string' | 'number' | 'boolean' | 'list';

interface OptionSpec {
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
}

const listenCheck = (v: unknown) =>
  v === 'off' || /^(?:\[[^\]]+\]|[^:\s]*):\d{1,5}$/.test(String(v))
    ? undefined
    : 'expected HOST:PORT (e.g. 127.0.0.1:4028) or "off"';
const mqttUrlCheck = (v: unknown) =>
  /^(mqtts?|wss?|tcp|ssl):\/\/[^/\s]+/.test(String(v))
    ? undefined
    : 'expected mqtt://host[:port] or mqtts://host[:port]';

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
    help: 'pool URL, repeatable in priority order (stratum+tcp://host:port, stratum+ssl://…)',
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
    key: 'frequency',
    flag: 'frequency',
    kind: 'number',
    help: 'chip frequency in MHz (clamped to the board limits)',
    min: 50,
    max: 1000,
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
    help: 'accept MQTT commands (off by default)',
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
];

export type Config = Record<string, unknown>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const envName = (o: OptionSpec) =>
  `ASICD_${o.key
    .replace(/\./g, '_')
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .toUpperCase()}`;

function coerce(o: OptionSpec, raw: unknown, from: string): unknown {
  const v = coerceKind(o, raw, from);
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

export interface LoadOptions {
  argv: string[];
  env?: NodeJS.ProcessEnv;
  command: string;
  /** Command-specific defaults (e.g. the demo's board). */
  defaults?: Config;
}

/** Parses flags of the form --name value, --name=value, --flag / --no-flag; --pool repeats. */
export function parseFlags(argv: string[], command: string): { values: Config; configFile?: string } {
  const values: Config = {};
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
      throw new ConfigError(`--${name}: unknown option for "asicd ${command}" (see asicd ${command} --help)`);
    }
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
  return configFile === undefined ? { values } : { values, configFile };
}

/** Builds the configuration for a command from all sources, validated. */
export function loadConfig(o: LoadOptions): Config {
  const { values: flags, configFile } = parseFlags(o.argv, o.command);
  const env = o.env ?? process.env;
  const cfg: Config = {};
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
        throw new ConfigError(`${file}: expected a mapping of keys`);
      for (const key of fileKeys(doc)) {
        if (!OPTIONS.some((x) => x.key === key)) throw new ConfigError(`${file}: unknown key "${key}"`);
      }
      for (const opt of OPTIONS) {
        let raw = getPath(doc as Record<string, unknown>, opt.key);
        if (raw === undefined) continue;
        // pools may be given as objects { url, user, pass } in the file.
        if (opt.key === 'pools' && Array.isArray(raw))
          raw = raw.map((p) => (typeof p === 'string' ? p : poolFromObject(p, file)));
        cfg[opt.key] = opt.key === 'pools' ? raw : coerce(opt, raw, file);
      }
    }
  }
  for (const opt of OPTIONS) {
    const raw = env[envName(opt)];
    if (raw !== undefined && raw !== '') cfg[opt.key] = coerce(opt, raw, envName(opt));
  }
  Object.assign(cfg, flags);
  validateFan(cfg.fan);
  return cfg;
}

export interface PoolConfig {
  url: string;
  user?: string;
  pass?: string;
}

function poolFromObject(p: unknown, file: string): PoolConfig {
  if (!p || typeof p !== 'object' || typeof (p as PoolConfig).url !== 'string') {
    throw new ConfigError(`${file}: pools: each entry needs a "url"`);
  }
  const { url, user, pass } = p as PoolConfig;
  return {
    url,
    ...(user !== undefined ? { user: String(user) } : {}),
    ...(pass !== undefined ? { pass: String(pass) } : {}),
  };
}

function validateFan(fan: unknown): void {
  if (fan === undefined || fan === 'auto') return;
  const n = Number(fan);
  if (!Number.isFinite(n) || n < 0 || n > 100)
    throw new ConfigError(`fan: "${fan}" must be "auto" or a duty from 0 to 100`);
}

/** The pool list with per-pool credentials resolved (file entries may carry their own). */
export function poolsOf(cfg: Config): Required<PoolConfig>[] {
  const list = (cfg.pools as Array<string | PoolConfig> | undefined) ?? [];
  return list.map((p) => {
    const o = typeof p === 'string' ? { url: p } : p;
    return { url: o.url, user: o.user ?? String(cfg.user ?? ''), pass: o.pass ?? String(cfg.pass ?? 'x') };
  });
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
export function optionsHelp(command: string): string {
  const rows = OPTIONS.filter((o) => !o.commands || o.commands.includes(command)).map((o) => {
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
