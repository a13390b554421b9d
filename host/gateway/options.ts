/**
 * `asicd gateway` options: one table (flag, environment variable, kind, range, help) parsed from the
 * command line and ASICD_GW_* variables, every error naming the flag. Kept beside the gateway so the
 * shared host/config.ts stays untouched by this command.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { registerSecret, splitUserInfo } from '../../lib/redact.ts';
import type { GatewayOptions } from './gateway.ts';

interface Spec {
  flag: string;
  kind: 'string' | 'number' | 'boolean';
  help: string;
  min?: number;
  max?: number;
  secret?: boolean;
  default?: string | number | boolean;
}

export const GATEWAY_OPTIONS: readonly Spec[] = [
  { flag: 'node-rpc', kind: 'string', help: 'the node JSON-RPC URL, e.g. http://127.0.0.1:18443 (required)' },
  {
    flag: 'rpc-cookie',
    kind: 'string',
    help: "the node's cookie file (<datadir>/[regtest/].cookie); default when no --rpc-user",
  },
  { flag: 'rpc-user', kind: 'string', help: 'RPC user (rpcuser / rpcauth)' },
  {
    flag: 'rpc-password',
    kind: 'string',
    help: 'RPC password (prefer the environment: ASICD_GW_RPC_PASSWORD)',
    secret: true,
  },
  {
    flag: 'payout',
    kind: 'string',
    help: 'address the block reward is paid to: P2PKH, P2SH, P2WPKH, P2WSH or P2TR of the node network (required)',
  },
  {
    flag: 'listen',
    kind: 'string',
    help: 'Stratum listen address HOST:PORT (0.0.0.0:3333 to serve the LAN)',
    default: '127.0.0.1:3333',
  },
  {
    flag: 'p2p',
    kind: 'string',
    help: 'P2P peer HOST:PORT, or "off" (default: the RPC host on the network default port)',
  },
  { flag: 'tag', kind: 'string', help: 'text in the coinbase scriptSig', default: '/asicd/' },
  {
    flag: 'difficulty',
    kind: 'number',
    help: 'starting share difficulty of a miner',
    min: 1e-12,
    max: 1e15,
    default: 1000,
  },
  { flag: 'min-difficulty', kind: 'number', help: 'vardiff floor', min: 1e-12, max: 1e15, default: 1e-6 },
  {
    flag: 'share-seconds',
    kind: 'number',
    help: 'vardiff aim: seconds between shares per miner (0 = fixed difficulty)',
    min: 0,
    max: 3600,
    default: 10,
  },
  {
    flag: 'extranonce2-size',
    kind: 'number',
    help: 'extranonce2 bytes per miner',
    min: 2,
    max: 8,
    default: 4,
  },
  {
    flag: 'max-connections',
    kind: 'number',
    help: 'miner connections at most',
    min: 1,
    max: 100_000,
    default: 256,
  },
  {
    flag: 'max-requests',
    kind: 'number',
    help: 'requests per second per miner before it is dropped',
    min: 1,
    max: 100_000,
    default: 50,
  },
  {
    flag: 'poll-ms',
    kind: 'number',
    help: 'poll the node for a new tip this often, ms (0 = off)',
    min: 0,
    max: 600_000,
    default: 1000,
  },
  {
    flag: 'refresh-ms',
    kind: 'number',
    help: 'refresh the template (new transactions, no clean_jobs), ms',
    min: 1000,
    max: 600_000,
    default: 30_000,
  },
  { flag: 'longpoll', kind: 'boolean', help: 'getblocktemplate long-polling', default: true },
  {
    flag: 'found-blocks',
    kind: 'string',
    help: 'file keeping the list of found blocks',
    default: join(homedir(), '.local', 'state', 'asicd', 'found-blocks.json'),
  },
  {
    flag: 'metrics-listen',
    kind: 'string',
    help: 'HTTP HOST:PORT for /metrics (Prometheus), /workers and /found-blocks, or "off"',
    default: 'off',
  },
  {
    flag: 'mqtt',
    kind: 'string',
    help: 'MQTT broker URL: publish state, workers and found blocks under asicd/gateway/<id>/',
  },
  { flag: 'mqtt-id', kind: 'string', help: 'MQTT topic id of this gateway', default: 'gateway' },
  { flag: 'log-format', kind: 'string', help: 'json or pretty (default: pretty on a terminal)' },
  { flag: 'log-level', kind: 'string', help: 'debug, info, warn or error', default: 'info' },
  {
    flag: 'stats-seconds',
    kind: 'number',
    help: 'log per-worker statistics this often (0 = never)',
    min: 0,
    max: 86_400,
    default: 60,
  },
  {
    flag: 'duration',
    kind: 'number',
    help: 'stop after this many seconds (0 = run until signalled)',
    min: 0,
    max: 1e9,
    default: 0,
  },
];

export class GatewayConfigError extends Error {
  override readonly name = 'GatewayConfigError';
}

const envName = (flag: string) => `ASICD_GW_${flag.toUpperCase().replace(/-/g, '_')}`;

export function gatewayHelp(): string {
  return GATEWAY_OPTIONS.map((o) => {
    const f = o.kind === 'boolean' ? `--[no-]${o.flag}` : `--${o.flag} ${o.kind === 'number' ? 'N' : 'X'}`;
    const range = o.min !== undefined ? ` (${o.min}–${o.max})` : '';
    const def = o.default !== undefined && !o.secret ? ` [${o.default}]` : '';
    return `  ${f.padEnd(26)} ${o.help}${range}${def}\n  ${''.padEnd(26)} env: ${envName(o.flag)}`;
  }).join('\n');
}

export type GatewayFlags = Record<string, string | number | boolean>;

export function parseGatewayFlags(argv: string[], env: NodeJS.ProcessEnv = process.env): GatewayFlags {
  const out: GatewayFlags = {};
  for (const o of GATEWAY_OPTIONS) if (o.default !== undefined) out[o.flag] = o.default;
  const set = (o: Spec, raw: string, src: string) => {
    // The one redaction step (lib/redact.ts) masks secrets it knows, in logs and errors alike.
    if (o.secret) registerSecret(raw);
    if (o.flag === 'node-rpc') {
      try {
        splitUserInfo(raw); // registers a password in the URL's user-info
      } catch {
        // a malformed URL is reported by the gateway, redacted
      }
    }
    if (o.kind === 'number') {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n))
        throw new GatewayConfigError(`${src}: "${raw}" is not a number`);
      if ((o.min !== undefined && n < o.min) || (o.max !== undefined && n > o.max))
        throw new GatewayConfigError(`${src}: ${n} is outside ${o.min}–${o.max}`);
      out[o.flag] = n;
    } else if (o.kind === 'boolean') {
      if (!/^(true|false|1|0|yes|no)$/i.test(raw))
        throw new GatewayConfigError(`${src}: expected true or false, got "${raw}"`);
      out[o.flag] = /^(true|1|yes)$/i.test(raw);
    } else out[o.flag] = raw;
  };
  for (const o of GATEWAY_OPTIONS) {
    const v = env[envName(o.flag)];
    if (v !== undefined && v !== '') set(o, v, envName(o.flag));
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--'))
      throw new GatewayConfigError(`unexpected argument "${arg}" (options start with --)`);
    let name = arg.slice(2);
    let value: string | undefined;
    const eq = name.indexOf('=');
    if (eq >= 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    const neg =
      name.startsWith('no-') && GATEWAY_OPTIONS.some((o) => o.flag === name.slice(3) && o.kind === 'boolean');
    const o = GATEWAY_OPTIONS.find((x) => x.flag === (neg ? name.slice(3) : name));
    if (!o) {
      const near = GATEWAY_OPTIONS.find((x) => x.flag.startsWith(name.slice(0, 4)));
      throw new GatewayConfigError(
        `--${name}: unknown option for "asicd gateway"${near ? ` (did you mean --${near.flag}?)` : ''}`,
      );
    }
    if (o.kind === 'boolean') {
      if (neg) out[o.flag] = false;
      else if (value === undefined) out[o.flag] = true;
      else set(o, value, `--${name}`);
      continue;
    }
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined || value.startsWith('--'))
        throw new GatewayConfigError(`--${name}: needs a value`);
    }
    set(o, value, `--${name}`);
  }
  if (!out['node-rpc'])
    throw new GatewayConfigError('--node-rpc: required (the node JSON-RPC URL, e.g. http://127.0.0.1:18443)');
  if (!out.payout) throw new GatewayConfigError('--payout: required (the address block rewards are paid to)');
  if (!/^(?:\[[^\]]+\]|[^:\s]+):\d{1,5}$/.test(String(out.listen)))
    throw new GatewayConfigError(`--listen: expected HOST:PORT, got "${out.listen}"`);
  if (out.p2p !== undefined && out.p2p !== 'off' && !/^(?:\[[^\]]+\]|[^:\s]+):\d{1,5}$/.test(String(out.p2p)))
    throw new GatewayConfigError(`--p2p: expected HOST:PORT or "off", got "${out.p2p}"`);
  if (
    out['metrics-listen'] !== 'off' &&
    !/^(?:\[[^\]]+\]|[^:\s]+):\d{1,5}$/.test(String(out['metrics-listen']))
  )
    throw new GatewayConfigError(
      `--metrics-listen: expected HOST:PORT or "off", got "${out['metrics-listen']}"`,
    );
  if (out.mqtt !== undefined && !/^(mqtts?|wss?|tcp|ssl):\/\/[^/\s]+/.test(String(out.mqtt)))
    throw new GatewayConfigError(`--mqtt: expected mqtt://host[:port], got "${out.mqtt}"`);
  if (out['log-format'] !== undefined && !['json', 'pretty'].includes(String(out['log-format'])))
    throw new GatewayConfigError(`--log-format: json or pretty, got "${out['log-format']}"`);
  return out;
}

/** Flags → GatewayOptions (the P2P default needs the network, resolved in the command). */
export function gatewayOptionsOf(f: GatewayFlags): Omit<GatewayOptions, 'logger' | 'clock'> {
  const listen = /^(.*):(\d+)$/.exec(String(f.listen))!;
  const shareSeconds = Number(f['share-seconds']);
  const o: Omit<GatewayOptions, 'logger' | 'clock'> = {
    rpc: {
      url: String(f['node-rpc']),
      ...(f['rpc-user'] !== undefined
        ? { user: String(f['rpc-user']), password: String(f['rpc-password'] ?? '') }
        : {}),
      ...(f['rpc-cookie'] !== undefined ? { cookieFile: String(f['rpc-cookie']) } : {}),
    },
    payout: String(f.payout),
    tag: String(f.tag),
    listenHost: listen[1]!.replace(/^\[|\]$/g, ''),
    listenPort: Number(listen[2]),
    longpoll: f.longpoll !== false,
    pollMs: Number(f['poll-ms']),
    refreshMs: Number(f['refresh-ms']),
    foundBlocksFile: String(f['found-blocks']),
    server: {
      difficulty: Number(f.difficulty),
      extranonce2Size: Number(f['extranonce2-size']),
      maxConnections: Number(f['max-connections']),
      maxRequestsPerSecond: Number(f['max-requests']),
      vardiff: shareSeconds > 0 ? { targetSeconds: shareSeconds, min: Number(f['min-difficulty']) } : false,
    },
  };
  if (f.p2p !== undefined && f.p2p !== 'off') o.p2p = String(f.p2p);
  return o;
}
