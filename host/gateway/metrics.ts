/**
 * The gateway's own telemetry over HTTP (`--metrics-listen HOST:PORT`, loopback by default):
 *   GET /metrics       Prometheus text (prom-client, private Registry, filled at scrape time)
 *   GET /workers       per-worker statistics as JSON (shares, hashrate from shares, best, last share)
 *   GET /found-blocks  the persistent list of found blocks with the node's answers
 * Nothing is writable here.
 */
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Registry } from 'prom-client';
import { type Logger, silentLogger } from '../../lib/log.ts';
import type { Gateway } from './gateway.ts';

export function gatewayRegistry(gw: Gateway): Registry {
  const registry = new Registry();
  const gauge = <L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    fill: (g: Gauge<L>) => void,
  ) =>
    new Gauge<L>({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        fill(this);
      },
    });
  const counter = <L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    fill: (c: Counter<L>) => void,
  ) =>
    new Counter<L>({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        fill(this);
      },
    });
  gauge('asicd_gateway_miners', 'Miner connections receiving jobs', [], (g) =>
    g.set(gw.server.notifiedCount),
  );
  gauge('asicd_gateway_p2p_connected', '1 when the P2P peer has completed its handshake', [], (g) =>
    g.set(gw.peer?.ready ? 1 : 0),
  );
  gauge('asicd_gateway_template_height', 'Height of the block being mined', [], (g) =>
    g.set(gw.currentTemplate?.height ?? 0),
  );
  counter('asicd_gateway_worker_shares_total', 'Shares per worker and result', ['worker', 'result'], (c) => {
    for (const w of gw.server.workers()) {
      c.inc({ worker: w.worker, result: 'accepted' }, w.accepted);
      c.inc({ worker: w.worker, result: 'rejected' }, w.rejected);
      c.inc({ worker: w.worker, result: 'stale' }, w.stale);
      c.inc({ worker: w.worker, result: 'duplicate' }, w.duplicates);
    }
  });
  counter(
    'asicd_gateway_worker_difficulty_total',
    'Sum of accepted share difficulty per worker',
    ['worker'],
    (c) => {
      for (const w of gw.server.workers()) c.inc({ worker: w.worker }, w.acceptedDifficulty);
    },
  );
  gauge(
    'asicd_gateway_worker_hashrate_hashes_per_second',
    'Hashrate from accepted shares (10 min)',
    ['worker'],
    (g) => {
      for (const w of gw.server.workers()) g.set({ worker: w.worker }, w.hashrate);
    },
  );
  gauge('asicd_gateway_worker_best_difficulty', 'Best share difficulty per worker', ['worker'], (g) => {
    for (const w of gw.server.workers()) g.set({ worker: w.worker }, w.bestDifficulty);
  });
  gauge(
    'asicd_gateway_worker_last_share_timestamp_seconds',
    'Time of the last accepted share',
    ['worker'],
    (g) => {
      for (const w of gw.server.workers())
        if (w.lastShareAt !== undefined) g.set({ worker: w.worker }, Math.floor(w.lastShareAt / 1000));
    },
  );
  counter('asicd_gateway_blocks_found_total', 'Blocks found, by the node answer', ['result'], (c) => {
    const by = new Map<string, number>();
    for (const b of gw.found.list()) {
      const r = b.result.startsWith('error') ? 'error' : b.result;
      by.set(r, (by.get(r) ?? 0) + 1);
    }
    for (const [result, n] of by) c.inc({ result }, n);
  });
  counter('asicd_gateway_block_announcements_total', 'New-block announcements from the P2P peer', [], (c) =>
    c.inc(gw.counters.announcements),
  );
  counter('asicd_gateway_node_errors_total', 'Failed calls to the node', [], (c) =>
    c.inc(gw.counters.rpcErrors),
  );
  counter(
    'asicd_gateway_miners_dropped_total',
    'Miner connections dropped for breaking a limit or sending garbage',
    [],
    (c) => c.inc(gw.server.totals.dropped),
  );
  return registry;
}

export async function serveGatewayMetrics(
  gw: Gateway,
  host: string,
  port: number,
  logger: Logger = silentLogger,
): Promise<{ port: number; close(): Promise<void> }> {
  const registry = gatewayRegistry(gw);
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') {
      res.writeHead(405).end();
      return;
    }
    if (path === '/metrics') {
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (e: Error) => res.writeHead(500).end(e.message),
      );
    } else if (path === '/workers') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(gw.server.workers()));
    } else if (path === '/found-blocks') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(gw.found.list()));
    } else res.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as { port: number }).port;
  logger.info('gateway_metrics_listening', { host, port: bound });
  return {
    port: bound,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
