/**
 * The loaded configuration (host/config.ts, `gateway.*` keys) → GatewayOptions, with the checks that
 * involve more than one value. Shared by `asicd gateway` and the in-process gateway of `asicd run`.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { type Config, ConfigError, sourceOf, splitListen } from '../config.ts';
import type { GatewayOptions } from './gateway.ts';

/** Keys `asicd gateway` acts on besides gateway.*; other keys may sit in a shared config file. */
export const GATEWAY_SHARED_KEYS: readonly string[] = [
  'metrics.listen',
  'mqtt.url',
  'mqtt.user',
  'mqtt.pass',
  'mqtt.ca',
  'log.format',
  'log.level',
  'duration',
];

export const isGatewayCommandKey = (key: string) =>
  key.startsWith('gateway.') || GATEWAY_SHARED_KEYS.includes(key);

/** Default found-blocks list: $XDG_STATE_HOME/asicd/found-blocks.json (as the daemon's state file). */
export const defaultFoundBlocks = (env: NodeJS.ProcessEnv = process.env) =>
  join(env.XDG_STATE_HOME || join(homedir(), '.local', 'state'), 'asicd', 'found-blocks.json');

/**
 * `asicd gateway` refuses a flag it would ignore (a run option such as --board); the same key in a
 * config file or the environment is fine (one file may configure both commands).
 */
export function checkGatewayCommandFlags(cfg: Config): void {
  for (const key of Object.keys(cfg)) {
    const src = sourceOf(cfg, key);
    if (src.startsWith('--') && !isGatewayCommandKey(key))
      throw new ConfigError(`${src}: not an option of "asicd gateway" (see asicd gateway --help)`);
  }
  const old = Object.keys(process.env).find((k) => k.startsWith('ASICD_GW_'));
  if (old)
    throw new ConfigError(
      `${old}: renamed to ASICD_GATEWAY_${old.slice('ASICD_GW_'.length)} (see asicd gateway --help)`,
    );
}

/** Whether the configuration asks for a gateway (asicd run: in-process). */
export const gatewayConfigured = (cfg: Config) => typeof cfg['gateway.nodeRpc'] === 'string';

export function gatewayOptionsFromConfig(cfg: Config): Omit<GatewayOptions, 'logger' | 'clock'> {
  const src = (k: string) => sourceOf(cfg, k);
  const url = cfg['gateway.nodeRpc'];
  if (typeof url !== 'string')
    throw new ConfigError(
      'gateway.nodeRpc: required (--node-rpc URL, the node JSON-RPC URL, e.g. http://127.0.0.1:18443)',
    );
  const payout = cfg['gateway.payout'];
  if (typeof payout !== 'string')
    throw new ConfigError(
      `gateway.payout: required with gateway.nodeRpc (${src('gateway.nodeRpc')}) (--payout ADDRESS, where block rewards are paid)`,
    );
  const difficulty = Number(cfg['gateway.difficulty']);
  const min = Number(cfg['gateway.minDifficulty']);
  const shareSeconds = Number(cfg['gateway.shareSeconds']);
  if (shareSeconds > 0 && min > difficulty)
    throw new ConfigError(
      `gateway.minDifficulty (${src('gateway.minDifficulty')}): ${min} is above gateway.difficulty (${src('gateway.difficulty')}) ${difficulty}`,
    );
  if (cfg['gateway.rpcPassword'] !== undefined && cfg['gateway.rpcUser'] === undefined)
    throw new ConfigError(
      `gateway.rpcPassword (${src('gateway.rpcPassword')}): given without gateway.rpcUser (--rpc-user)`,
    );
  const listen = splitListen(String(cfg['gateway.listen']));
  if (!listen) throw new ConfigError(`gateway.listen (${src('gateway.listen')}): expected HOST:PORT`);
  const o: Omit<GatewayOptions, 'logger' | 'clock'> = {
    rpc: {
      url,
      ...(cfg['gateway.rpcUser'] !== undefined
        ? { user: String(cfg['gateway.rpcUser']), password: String(cfg['gateway.rpcPassword'] ?? '') }
        : {}),
      ...(cfg['gateway.rpcCookie'] !== undefined ? { cookieFile: String(cfg['gateway.rpcCookie']) } : {}),
    },
    payout,
    tag: String(cfg['gateway.tag'] ?? '/asicd/'),
    listenHost: listen.host || '0.0.0.0',
    listenPort: listen.port,
    longpoll: cfg['gateway.longpoll'] !== false,
    pollMs: Number(cfg['gateway.pollMs']),
    refreshMs: Number(cfg['gateway.refreshMs']),
    foundBlocksFile: String(cfg['gateway.foundBlocks'] ?? defaultFoundBlocks()),
    server: {
      difficulty,
      extranonce2Size: Number(cfg['gateway.extranonce2Size']),
      maxConnections: Number(cfg['gateway.maxConnections']),
      maxRequestsPerSecond: Number(cfg['gateway.maxRequests']),
      vardiff: shareSeconds > 0 ? { targetSeconds: shareSeconds, min } : false,
    },
  };
  if (typeof cfg['gateway.zmq'] === 'string') o.zmq = cfg['gateway.zmq'];
  const p2p = cfg['gateway.p2p'];
  if (typeof p2p === 'string' && p2p !== 'off') o.p2p = p2p;
  return o;
}

/**
 * A listen failure of the gateway's Stratum port as a ConfigError naming gateway.listen and its source
 * (port in use, not an address of this machine); other errors are returned unchanged.
 */
export function listenFailure(cfg: Config, e: unknown): unknown {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code !== 'EADDRINUSE' && code !== 'EADDRNOTAVAIL' && code !== 'EACCES') return e;
  const at = String(cfg['gateway.listen']);
  const why =
    code === 'EADDRINUSE'
      ? 'port in use; choose another with --listen HOST:PORT'
      : code === 'EACCES'
        ? 'permission denied (ports below 1024 need privileges)'
        : 'not an address of this machine';
  return new ConfigError(
    `gateway.listen (${sourceOf(cfg, 'gateway.listen')}): cannot listen on ${at}: ${code} (${why})`,
  );
}

/** The P2P peer to use when none was configured: the RPC host on the network's default port. */
export function defaultPeer(cfg: Config, rpcUrl: string, port: number): string | undefined {
  if (cfg['gateway.p2p'] !== undefined) return undefined;
  const host = new URL(rpcUrl).hostname;
  return `${host.includes(':') ? `[${host.replace(/^\[|\]$/g, '')}]` : host}:${port}`;
}
