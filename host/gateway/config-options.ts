/**
 * The gateway's options in the one configuration table (host/config.ts): `gateway.*` keys in the YAML
 * file, ASICD_GATEWAY_* variables, and the flags `asicd gateway` always had (--node-rpc, --payout,
 * --listen, …). `asicd run` takes the same options: with `gateway.nodeRpc` set it starts the gateway
 * in-process and mines through it (host/gateway/in-process.ts). Validation is the table's: type, range,
 * choices, and the checks below, every error naming the key and its source.
 */
import { splitUserInfo } from '../../lib/redact.ts';
import { AddressError, decodeAddress } from '../bitcoin/address.ts';
import { type OptionSpec, splitListen } from '../config.ts';

/** Commands that take the gateway options. */
const GW: readonly string[] = ['gateway', 'run'];

const hostPort = (v: unknown) =>
  splitListen(String(v)) ? undefined : 'expected HOST:PORT (e.g. 127.0.0.1:3333, 0.0.0.0:3333 for the LAN)';

const peerCheck = (v: unknown) => {
  if (v === 'off') return undefined;
  const hp = splitListen(String(v));
  return hp && hp.host !== '' && hp.port > 0 ? undefined : 'expected HOST:PORT of a Bitcoin node, or "off"';
};

/** The node RPC URL: http(s)://host:port; a password in the URL is registered as a secret. */
function rpcUrlCheck(v: unknown): string | undefined {
  let url: string;
  try {
    url = splitUserInfo(String(v)).url;
  } catch (e) {
    return (e as Error).message;
  }
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'not a URL (expected http://host:port, e.g. http://127.0.0.1:8332)';
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    return `scheme "${u.protocol.replace(/:$/, '')}" is not http or https (expected http://host:port)`;
  if (!u.hostname) return 'no host (expected http://host:port)';
  return undefined;
}

/** Any address of the four networks that a wallet can spend; the node's network is checked at start. */
function payoutCheck(v: unknown): string | undefined {
  try {
    const d = decodeAddress(String(v));
    if (d.type === 'witness-unknown')
      return `witness v${d.witnessVersion} with a ${d.program?.length ?? 0}-byte program is not spendable safely today; use P2PKH, P2SH, P2WPKH, P2WSH or P2TR`;
    return undefined;
  } catch (e) {
    return e instanceof AddressError ? e.message : String(e);
  }
}

/** The coinbase tag: printable text, at most 60 bytes (the scriptSig holds 100 with height and extranonce). */
function tagCheck(v: unknown): string | undefined {
  const s = String(v);
  if (Buffer.byteLength(s, 'utf8') > 60) return `${Buffer.byteLength(s, 'utf8')} bytes (at most 60)`;
  if (/[\u0000-\u001f\u007f]/.test(s)) return 'control characters are not allowed';
  return undefined;
}

export const GATEWAY_OPTIONS: readonly OptionSpec[] = [
  {
    key: 'gateway.nodeRpc',
    flag: 'node-rpc',
    kind: 'string',
    help: 'gateway: the node JSON-RPC URL, e.g. http://127.0.0.1:8332 (asicd run: starts the gateway in-process and mines through it)',
    commands: GW,
    check: rpcUrlCheck,
  },
  {
    key: 'gateway.rpcCookie',
    flag: 'rpc-cookie',
    kind: 'string',
    help: "gateway: the node's cookie file (<datadir>/[regtest/].cookie); used when no rpc user is given",
    commands: GW,
  },
  { key: 'gateway.rpcUser', flag: 'rpc-user', kind: 'string', help: 'gateway: RPC user', commands: GW },
  {
    key: 'gateway.rpcPassword',
    flag: 'rpc-password',
    kind: 'string',
    help: 'gateway: RPC password (prefer the environment or the config file)',
    secret: true,
    commands: GW,
  },
  {
    key: 'gateway.payout',
    flag: 'payout',
    kind: 'string',
    help: "gateway: address the block reward is paid to (P2PKH, P2SH, P2WPKH, P2WSH or P2TR of the node's network)",
    commands: GW,
    check: payoutCheck,
  },
  {
    key: 'gateway.listen',
    flag: 'listen',
    kind: 'string',
    help: 'gateway: Stratum listen address HOST:PORT (0.0.0.0:3333 serves the LAN; port 0 = any free port)',
    default: '127.0.0.1:3333',
    commands: GW,
    check: hostPort,
  },
  {
    key: 'gateway.p2p',
    flag: 'p2p',
    kind: 'string',
    help: 'gateway: P2P peer HOST:PORT, or "off" (default: the RPC host on the network\'s default port)',
    commands: GW,
    check: peerCheck,
  },
  {
    key: 'gateway.tag',
    flag: 'tag',
    kind: 'string',
    help: 'gateway: text in the coinbase scriptSig (≤ 60 bytes)',
    default: '/asicd/',
    commands: GW,
    check: tagCheck,
  },
  {
    key: 'gateway.difficulty',
    flag: 'difficulty',
    kind: 'number',
    help: 'gateway: starting share difficulty of a miner',
    min: 1e-12,
    max: 1e15,
    default: 1000,
    commands: GW,
  },
  {
    key: 'gateway.minDifficulty',
    flag: 'min-difficulty',
    kind: 'number',
    help: 'gateway: vardiff floor',
    min: 1e-12,
    max: 1e15,
    default: 1e-6,
    commands: GW,
  },
  {
    key: 'gateway.shareSeconds',
    flag: 'share-seconds',
    kind: 'number',
    help: 'gateway: vardiff aim, seconds between shares per worker (0 = fixed difficulty)',
    min: 0,
    max: 3600,
    default: 10,
    commands: GW,
  },
  {
    key: 'gateway.extranonce2Size',
    flag: 'extranonce2-size',
    kind: 'number',
    help: 'gateway: extranonce2 bytes per miner',
    min: 2,
    max: 8,
    integer: true,
    default: 4,
    commands: GW,
  },
  {
    key: 'gateway.maxConnections',
    flag: 'max-connections',
    kind: 'number',
    help: 'gateway: miner connections at most',
    min: 1,
    max: 100_000,
    integer: true,
    default: 256,
    commands: GW,
  },
  {
    key: 'gateway.maxRequests',
    flag: 'max-requests',
    kind: 'number',
    help: 'gateway: requests per second per miner before it is dropped',
    min: 1,
    max: 100_000,
    default: 50,
    commands: GW,
  },
  {
    key: 'gateway.pollMs',
    flag: 'poll-ms',
    kind: 'number',
    help: 'gateway: poll the node for a new tip this often, ms (0 = off)',
    min: 0,
    max: 600_000,
    integer: true,
    default: 1000,
    commands: GW,
  },
  {
    key: 'gateway.refreshMs',
    flag: 'refresh-ms',
    kind: 'number',
    help: 'gateway: refresh the template (new transactions, no clean_jobs), ms',
    min: 1000,
    max: 600_000,
    integer: true,
    default: 30_000,
    commands: GW,
  },
  {
    key: 'gateway.longpoll',
    flag: 'longpoll',
    kind: 'boolean',
    help: 'gateway: getblocktemplate long-polling',
    default: true,
    commands: GW,
  },
  {
    key: 'gateway.zmq',
    flag: 'zmq',
    kind: 'string',
    help: "gateway: the node's zmqpubhashblock endpoint tcp://HOST:PORT (new blocks beside P2P; bitcoind -zmqpubhashblock=tcp://127.0.0.1:28332)",
    commands: GW,
    check: (v) =>
      /^tcp:\/\/(\[[0-9a-f:.]+\]|[a-z0-9._-]+):\d{1,5}$/i.test(String(v)) &&
      Number(/:(\d+)$/.exec(String(v))![1]) > 0 &&
      Number(/:(\d+)$/.exec(String(v))![1]) < 65536
        ? undefined
        : 'expected tcp://HOST:PORT, e.g. tcp://127.0.0.1:28332',
  },
  {
    key: 'gateway.foundBlocks',
    flag: 'found-blocks',
    kind: 'string',
    help: 'gateway: file keeping the list of found blocks (default: $XDG_STATE_HOME/asicd/found-blocks.json)',
    commands: GW,
  },
  {
    key: 'gateway.mqttId',
    flag: 'mqtt-id',
    kind: 'string',
    help: 'gateway: MQTT topic id (asicd/gateway/<id>/)',
    default: 'gateway',
    commands: GW,
  },
  {
    key: 'gateway.metricsListen',
    flag: 'gateway-metrics-listen',
    kind: 'string',
    help: 'asicd run: HTTP HOST:PORT for the in-process gateway\'s /metrics (Prometheus), /workers and /found-blocks, or "off"',
    default: 'off',
    commands: ['run'],
    check: (v) => (v === 'off' ? undefined : hostPort(v)),
  },
  {
    key: 'gateway.statsSeconds',
    flag: 'stats-seconds',
    kind: 'number',
    help: 'gateway: log per-worker statistics this often (0 = never)',
    min: 0,
    max: 86_400,
    default: 60,
    commands: GW,
  },
];
