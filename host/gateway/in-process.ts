/**
 * `asicd run` with `gateway.nodeRpc` (--node-rpc): the gateway runs in the daemon's process and the local
 * chips mine through it — solo on your own node, no separate pool — while other miners of the LAN may
 * connect to the same listener (`gateway.listen`, loopback unless told otherwise). The gateway's pool is
 * put first in the pool list; any --pool given stays as a fallback behind it (the PoolManager's failover
 * and probing apply as to any pool). Stopped after the miner (chips idle first).
 */
import type { Logger } from '../../lib/log.ts';
import { type Config, ConfigError, type PoolConfig, sourceOf } from '../config.ts';
import type { Gateway } from './gateway.ts';
import { defaultPeer, gatewayConfigured, gatewayOptionsFromConfig, listenFailure } from './options.ts';

export interface InProcessGateway {
  gateway: Gateway;
  /** The URL the local miner uses (a wildcard listen address becomes loopback). */
  url: string;
  stop(): Promise<void>;
}

/** Connect address for a listen host: the wildcard addresses are reached over loopback. */
export function connectHost(listenHost: string): string {
  if (listenHost === '' || listenHost === '0.0.0.0') return '127.0.0.1';
  if (listenHost === '::') return '[::1]';
  return listenHost.includes(':') ? `[${listenHost}]` : listenHost;
}

/**
 * Starts the gateway when the configuration names a node; undefined otherwise. Gateway options without
 * gateway.nodeRpc are a ConfigError (they would be ignored silently). Node problems at start (down, wrong
 * network for the payout address, no template) reject with an Error saying so; nothing is left running.
 */
export async function startInProcessGateway(cfg: Config, log: Logger): Promise<InProcessGateway | undefined> {
  if (!gatewayConfigured(cfg)) {
    const stray = Object.keys(cfg).find(
      (k) => k.startsWith('gateway.') && sourceOf(cfg, k) !== 'default' && cfg[k] !== undefined,
    );
    if (stray)
      throw new ConfigError(
        `${stray} (${sourceOf(cfg, stray)}): a gateway option, but no gateway.nodeRpc (--node-rpc URL) starts the gateway`,
      );
    return undefined;
  }
  // Loaded only here: `asicd run` without a node never loads the gateway (RPC, P2P, templates).
  const [{ Gateway }, { DEFAULT_PORT }] = await Promise.all([
    import('./gateway.ts'),
    import('../p2p/codec.ts'),
  ]);
  const opts = gatewayOptionsFromConfig(cfg);
  const gateway = new Gateway({ ...opts, logger: log });
  let port: number;
  try {
    port = await gateway.start();
  } catch (e) {
    await gateway.stop().catch(() => {});
    const cfgErr = listenFailure(cfg, e);
    if (cfgErr !== e) throw cfgErr;
    throw new Error(`gateway: ${(e as Error).message}`);
  }
  const peer = gateway.network ? defaultPeer(cfg, opts.rpc.url, DEFAULT_PORT[gateway.network]) : undefined;
  if (peer) gateway.connectPeer(peer);
  const url = `stratum+tcp://${connectHost(opts.listenHost ?? '127.0.0.1')}:${port}`;
  // Its own telemetry, as `asicd gateway` has it: /metrics + /workers + /found-blocks, MQTT under
  // asicd/gateway/<id>/ on the daemon's broker, and per-worker statistics in the log.
  const closers: Array<() => Promise<void>> = [];
  const metricsAt = String(cfg['gateway.metricsListen'] ?? 'off');
  if (metricsAt !== 'off') {
    const m = /^(.*):(\d+)$/.exec(metricsAt)!;
    try {
      const { serveGatewayMetrics } = await import('./metrics.ts');
      const srv = await serveGatewayMetrics(
        gateway,
        m[1]!.replace(/^\[|\]$/g, '') || '0.0.0.0',
        Number(m[2]),
        log,
      );
      closers.push(() => srv.close());
    } catch (e) {
      await gateway.stop().catch(() => {});
      throw new ConfigError(
        `gateway.metricsListen (${sourceOf(cfg, 'gateway.metricsListen')}): cannot listen on ${metricsAt}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      );
    }
  }
  if (typeof cfg['mqtt.url'] === 'string') {
    const { GatewayMqtt } = await import('./mqtt.ts');
    const mq = new GatewayMqtt(gateway, {
      url: cfg['mqtt.url'],
      id: String(cfg['gateway.mqttId'] ?? 'gateway'),
      ...(cfg['mqtt.user'] !== undefined ? { username: String(cfg['mqtt.user']) } : {}),
      ...(cfg['mqtt.pass'] !== undefined ? { password: String(cfg['mqtt.pass']) } : {}),
      ...(cfg['mqtt.ca'] !== undefined ? { caFile: String(cfg['mqtt.ca']) } : {}),
      logger: log,
    });
    closers.push(() => mq.close().catch(() => {}));
  }
  const statsEvery = Number(cfg['gateway.statsSeconds'] ?? 0);
  if (statsEvery > 0) {
    const t = setInterval(() => {
      for (const w of gateway.server.workers()) log.info('gateway.worker', { ...w });
    }, statsEvery * 1000);
    t.unref();
    closers.push(async () => clearInterval(t));
  }
  log.info('gateway.in_process', {
    network: gateway.network,
    node: gateway.rpc.printable,
    listen: `${opts.listenHost}:${port}`,
    payout: opts.payout,
    url,
  });
  let stopping: Promise<void> | undefined;
  return {
    gateway,
    url,
    stop: () => {
      stopping ??= (async () => {
        for (const c of closers.reverse()) await c();
        await gateway.stop();
      })();
      return stopping;
    },
  };
}

/** The pool list with the in-process gateway first (the configured pools stay behind it as fallbacks). */
export function poolsWithGateway(cfg: Config, url: string): Array<string | PoolConfig> {
  const rest = (cfg.pools as Array<string | PoolConfig> | undefined) ?? [];
  const user = typeof cfg.user === 'string' && cfg.user !== '' ? cfg.user : 'asicd';
  return [{ url, user, pass: 'x' }, ...rest];
}
