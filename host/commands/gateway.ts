/**
 * `asicd gateway`: a Stratum server for the miners of a LAN, bridged to a Bitcoin node (RPC for
 * templates and blocks, P2P for new-block announcements). Solo mining on your own node.
 */
import { createLogger, type LogFormat, type LogLevel } from '../../lib/log.ts';
import { ConfigError, loadConfig, optionsHelp } from '../config.ts';
import { Gateway } from '../gateway/gateway.ts';
import { serveGatewayMetrics } from '../gateway/metrics.ts';
import {
  checkGatewayCommandFlags,
  defaultPeer,
  gatewayOptionsFromConfig,
  isGatewayCommandKey,
  listenFailure,
} from '../gateway/options.ts';
import { DEFAULT_PORT } from '../p2p/codec.ts';

export const summary =
  'solo-mining gateway: Stratum server for LAN miners, fed by your Bitcoin node (RPC + P2P)';
export const usage = `asicd gateway --node-rpc URL --payout ADDRESS [--listen HOST:PORT] [options]

Serves Stratum V1 jobs built from the node's getblocktemplate (segwit) to the miners on your LAN, learns
of new blocks over the P2P protocol (and from the node's ZMQ hashblock with --zmq; then long-polling,
then polling), and submits the blocks your miners find (submitblock + P2P relay), keeping a list of
them. Listens on loopback unless told
otherwise. SIGINT/SIGTERM: stops cleanly. The options also live in the YAML config file (gateway:
section) and in ASICD_GATEWAY_* variables; \`asicd run\` takes them too and then mines through its own
in-process gateway.

Options:
${optionsHelp('gateway', isGatewayCommandKey)}`;

export async function run(argv: string[]): Promise<number> {
  let cfg: ReturnType<typeof loadConfig>;
  let opts: ReturnType<typeof gatewayOptionsFromConfig>;
  try {
    cfg = loadConfig({ command: 'gateway', argv });
    checkGatewayCommandFlags(cfg);
    opts = gatewayOptionsFromConfig(cfg);
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(`asicd gateway: ${e.message}`);
      return 2;
    }
    throw e;
  }
  const flags = {
    'metrics-listen': String(cfg['metrics.listen'] ?? 'off'),
    mqtt: cfg['mqtt.url'] as string | undefined,
    'stats-seconds': Number(cfg['gateway.statsSeconds']),
    duration: Number(cfg.duration ?? 0),
  };
  const log = createLogger({
    format: (cfg['log.format'] as LogFormat | undefined) ?? (process.stderr.isTTY ? 'pretty' : 'json'),
    level: (cfg['log.level'] as LogLevel | undefined) ?? 'info',
  });
  const gw = new Gateway({ ...opts, logger: log });
  let port: number;
  try {
    port = await gw.start();
  } catch (e) {
    const cfgErr = listenFailure(cfg, e);
    console.error(`asicd gateway: ${(cfgErr as Error).message}`);
    await gw.stop().catch(() => {});
    return cfgErr instanceof ConfigError ? 2 : 1;
  }
  // P2P default: the RPC host on the network's default port (known once the node said its chain).
  const peer = gw.network ? defaultPeer(cfg, opts.rpc.url, DEFAULT_PORT[gw.network]) : undefined;
  if (peer) gw.connectPeer(peer);
  process.stdout.write(
    `asicd gateway: serving ${gw.network} work from ${gw.rpc.printable} on stratum+tcp://${opts.listenHost}:${port}, paying ${opts.payout}\n`,
  );
  let metrics: { close(): Promise<void> } | undefined;
  if (flags['metrics-listen'] !== 'off') {
    const m = /^(.*):(\d+)$/.exec(String(flags['metrics-listen']))!;
    try {
      metrics = await serveGatewayMetrics(gw, m[1]!.replace(/^\[|\]$/g, ''), Number(m[2]), log);
    } catch (e) {
      console.error(`asicd gateway: --metrics-listen ${flags['metrics-listen']}: ${(e as Error).message}`);
      await gw.stop();
      return 1;
    }
  }
  const mqtt =
    flags.mqtt !== undefined
      ? new (await import('../gateway/mqtt.ts')).GatewayMqtt(gw, {
          url: String(flags.mqtt),
          id: String(cfg['gateway.mqttId'] ?? 'gateway'),
          ...(cfg['mqtt.user'] !== undefined ? { username: String(cfg['mqtt.user']) } : {}),
          ...(cfg['mqtt.pass'] !== undefined ? { password: String(cfg['mqtt.pass']) } : {}),
          ...(cfg['mqtt.ca'] !== undefined ? { caFile: String(cfg['mqtt.ca']) } : {}),
          logger: log,
        })
      : undefined;
  const statsEvery = Number(flags['stats-seconds']);
  const stats =
    statsEvery > 0
      ? setInterval(() => {
          for (const w of gw.server.workers()) log.info('gateway.worker', { ...w });
          log.info('gateway.stats', {
            miners: gw.server.connectionCount,
            ...gw.server.totals,
            ...gw.counters,
            peer: gw.peer?.ready ?? false,
          });
        }, statsEvery * 1000)
      : undefined;
  await new Promise<void>((resolve) => {
    const done = () => resolve();
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
    const d = Number(flags.duration);
    if (d > 0) setTimeout(done, d * 1000).unref();
  });
  if (stats) clearInterval(stats);
  await metrics?.close();
  await mqtt?.close().catch(() => {});
  await gw.stop();
  log.info('gateway.stopped', { blocksFound: gw.found.list().length });
  return 0;
}
