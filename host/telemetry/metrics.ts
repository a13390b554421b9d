/**
 * Prometheus exposition of the miner state (`GET /metrics` on --metrics-listen HOST:PORT) with
 * prom-client on a private Registry (never the global one, so several miners or tests can coexist).
 * Every metric is filled from one getState() snapshot at scrape time: no timers, nothing to leak.
 * Counters mirror the daemon's own monotonically increasing totals.
 */
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { Counter, Gauge, Registry } from 'prom-client';
import { type Logger, silentLogger } from '../../lib/log.ts';
import { redactText } from '../../lib/redact.ts';
import { sanitizePoolUrl } from '../api/sanitize.ts';
import type { MinerSource, MinerState } from '../api/types.ts';
import { emptyRejectCounts } from '../stratum/messages.ts';

export interface MetricsServer {
  host: string;
  port: number;
  registry: Registry;
  close(): Promise<void>;
}

const MINING_STATES = ['running', 'paused', 'idle', 'overheat'] as const;

/** Builds a Registry whose metrics read `source` on every collection. */
export function createMetricsRegistry(source: MinerSource): Registry {
  const registry = new Registry();
  let snap: MinerState | undefined;
  // One snapshot per scrape: the first collector takes it, the others reuse it.
  const state = (first = false): MinerState => {
    if (first || !snap) snap = source.getState();
    return snap;
  };
  const gauge = <L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    fill: (g: Gauge<L>, s: MinerState) => void,
    first = false,
  ) =>
    new Gauge<L>({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        fill(this, state(first));
      },
    });
  const counter = <L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    fill: (set: (labels: Partial<Record<L, string | number>>, v: number) => void, s: MinerState) => void,
  ) =>
    new Counter<L>({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        fill((labels, v) => this.inc(labels, Math.max(0, v)), state());
      },
    });

  gauge(
    'asicd_info',
    'Device information (value is always 1)',
    ['device_id', 'name', 'version', 'board', 'model'],
    (g, s) =>
      g.set(
        {
          device_id: s.device.id,
          name: s.device.name,
          version: s.device.version,
          board: s.board.name,
          model: s.board.model,
        },
        1,
      ),
    true,
  );
  gauge('asicd_uptime_seconds', 'Seconds since the daemon started', [], (g, s) => g.set(s.device.uptimeS));
  gauge('asicd_hashrate_ghs', 'Hashrate in GH/s by averaging window', ['window'], (g, s) => {
    const h = s.hashrate;
    for (const [w, v] of [
      ['now', h.now],
      ['1m', h.avg1m],
      ['10m', h.avg10m],
      ['1h', h.avg1h],
      ['since_start', h.sinceStart],
      ['expected', h.expected],
    ] as const)
      g.set({ window: w }, v);
  });
  // Base units (Prometheus convention) alongside the _ghs/_mhz series above.
  gauge('asicd_hashrate_hashes_per_second', 'Hashrate in H/s by averaging window', ['window'], (g, s) => {
    const h = s.hashrate;
    for (const [w, v] of [
      ['now', h.now],
      ['1m', h.avg1m],
      ['10m', h.avg10m],
      ['1h', h.avg1h],
      ['since_start', h.sinceStart],
      ['expected', h.expected],
    ] as const)
      g.set({ window: w }, v * 1e9);
  });
  gauge('asicd_frequency_hertz', 'Board chip frequency in Hz', [], (g, s) => g.set(s.frequencyMhz * 1e6));
  gauge('asicd_chain_hashrate_hashes_per_second', 'Hashrate per chain in H/s', ['chain'], (g, s) => {
    for (const c of s.chains) g.set({ chain: c.index }, c.hashrate * 1e9);
  });
  gauge('asicd_chip_hashrate_hashes_per_second', 'Hashrate per chip in H/s', ['chain', 'chip'], (g, s) => {
    for (const c of s.chains)
      for (const ch of c.chips) g.set({ chain: c.index, chip: ch.index }, ch.hashrate * 1e9);
  });
  gauge('asicd_voltage_volts', 'Measured board voltage in V (absent when not measured)', ['rail'], (g, s) => {
    if (s.voltageMv !== undefined) g.set({ rail: 'core' }, s.voltageMv / 1000);
    if (s.power?.inputV !== undefined) g.set({ rail: 'input' }, s.power.inputV);
  });
  // Board power (boards with a power monitor or a regulator with telemetry), base units.
  gauge('asicd_core_voltage_setting_volts', 'Core voltage set on the regulator, V', [], (g, s) => {
    if (s.power) g.set(s.power.setMv / 1000);
  });
  gauge('asicd_current_amperes', 'Measured current, A (absent when not measured)', ['rail'], (g, s) => {
    if (s.power?.currentA !== undefined) g.set({ rail: 'core' }, s.power.currentA);
  });
  gauge(
    'asicd_efficiency_joules_per_terahash',
    'J/TH from measured power and the measured 1 min hashrate',
    [],
    (g, s) => {
      if (s.power?.efficiencyJth !== undefined) g.set(s.power.efficiencyJth);
    },
  );
  gauge('asicd_power_fault', '1 while a power fault is latched (chips stopped, core off)', [], (g, s) => {
    if (s.power) g.set(s.power.fault ? 1 : 0);
  });
  gauge('asicd_best_difficulty_lifetime', 'Best share difficulty across restarts (state file)', [], (g, s) =>
    g.set(s.lifetime?.bestDifficulty ?? s.bestDifficulty.allTime),
  );
  gauge('asicd_mining_state', '1 for the current mining state', ['state'], (g, s) => {
    for (const st of MINING_STATES) g.set({ state: st }, s.mining === st ? 1 : 0);
  });
  gauge('asicd_overheat', '1 while overheat protection is active', [], (g, s) =>
    g.set(s.overheat.active ? 1 : 0),
  );
  counter('asicd_shares_accepted_total', 'Accepted shares', [], (set, s) => set({}, s.shares.accepted));
  counter('asicd_shares_rejected_total', 'Rejected shares by reason', ['reason'], (set, s) => {
    // Every known reason from the start (at 0), so rate() and alerts work before the first reject.
    const all: Record<string, number> = { ...emptyRejectCounts(), ...s.shares.rejectedByReason };
    for (const [reason, n] of Object.entries(all)) set({ reason }, n);
  });
  counter('asicd_shares_stale_total', 'Stale shares', [], (set, s) => set({}, s.shares.stale));
  counter('asicd_difficulty_accepted_total', 'Sum of accepted share difficulty', [], (set, s) =>
    set({}, s.shares.acceptedDifficulty),
  );
  counter('asicd_hardware_errors_total', 'Nonces that failed the host check', [], (set, s) =>
    set({}, s.shares.hardwareErrors),
  );
  counter('asicd_blocks_found_total', 'Blocks found', [], (set, s) => set({}, s.shares.blocksFound));
  gauge('asicd_best_difficulty', 'Best share difficulty', ['scope'], (g, s) => {
    g.set({ scope: 'session' }, s.bestDifficulty.session);
    g.set({ scope: 'all_time' }, s.bestDifficulty.allTime);
  });
  gauge(
    'asicd_pool_info',
    'Configured pools (1 = active, 0 = standby)',
    ['pool', 'url', 'user', 'status'],
    (g, s) => {
      for (const p of s.pools) {
        g.set(
          { pool: p.index, url: sanitizePoolUrl(p.url), user: p.user, status: p.status },
          s.pool?.index === p.index ? 1 : 0,
        );
      }
    },
  );
  gauge('asicd_pool_difficulty', 'Share difficulty set by each pool', ['pool'], (g, s) => {
    for (const p of s.pools) g.set({ pool: p.index }, p.difficulty);
  });
  counter('asicd_pool_shares_total', 'Shares per pool by result', ['pool', 'result'], (set, s) => {
    for (const p of s.pools) {
      set({ pool: p.index, result: 'accepted' }, p.accepted);
      set({ pool: p.index, result: 'rejected' }, p.rejected);
      set({ pool: p.index, result: 'stale' }, p.stale);
    }
  });
  counter(
    'asicd_pool_share_ledger_total',
    'Share ledger per pool: every share found in exactly one state (found = submitted + stale_local + below_pool_target)',
    ['pool', 'state'],
    (set, s) => {
      for (const p of s.pools) {
        const l = p.ledger;
        if (!l) continue;
        for (const [state, n] of [
          ['found', l.found],
          ['submitted', l.submitted],
          ['accepted', l.accepted],
          ['rejected', l.rejected],
          ['stale_local', l.staleLocal],
          ['no_answer', l.noAnswer],
          ['below_pool_target', l.belowPoolTarget],
          ['block_candidate', l.blockCandidates],
          ['block_accepted', l.blocksAccepted],
        ] as const)
          set({ pool: p.index, state }, n);
      }
    },
  );
  gauge('asicd_pool_shares_pending', 'Shares sent and awaiting the pool answer', ['pool'], (g, s) => {
    for (const p of s.pools) if (p.ledger) g.set({ pool: p.index }, p.ledger.pending);
  });
  counter(
    'asicd_nonces_unmatched_total',
    'Chip nonces that matched no job slot, by reason',
    ['chain', 'reason'],
    (set, s) => {
      for (const c of s.chains)
        for (const [reason, n] of Object.entries(c.unmatchedNonces ?? {})) set({ chain: c.index, reason }, n);
    },
  );
  gauge('asicd_pool_failover', '1 while mining on a backup pool', [], (g, s) =>
    g.set(s.pool?.failover === 'failover' ? 1 : 0),
  );
  counter(
    'asicd_chain_link_errors_total',
    'Serial link errors per chain: crc (bad reply CRC), resync (frame sync lost), unknown_frame (good CRC, unexpected)',
    ['chain', 'kind'],
    (set, s) => {
      for (const c of s.chains) {
        if (!c.link) continue;
        set({ chain: c.index, kind: 'crc' }, c.link.crcErrors);
        set({ chain: c.index, kind: 'resync' }, c.link.resyncs);
        set({ chain: c.index, kind: 'unknown_frame' }, c.link.unknownFrames);
      }
    },
  );
  counter(
    'asicd_chain_link_dropped_bytes_total',
    'Bytes dropped on the serial link per chain',
    ['chain'],
    (set, s) => {
      for (const c of s.chains) if (c.link) set({ chain: c.index }, c.link.droppedBytes);
    },
  );
  gauge('asicd_chain_hashrate_ghs', 'Hashrate per chain', ['chain'], (g, s) => {
    for (const c of s.chains) g.set({ chain: c.index }, c.hashrate);
  });
  counter('asicd_chain_errors_total', 'Hardware errors per chain', ['chain'], (set, s) => {
    for (const c of s.chains) set({ chain: c.index }, c.errors);
  });
  gauge('asicd_chain_frequency_mhz', 'Frequency per chain', ['chain'], (g, s) => {
    for (const c of s.chains) g.set({ chain: c.index }, c.frequencyMhz);
  });
  gauge('asicd_chain_voltage_mv', 'Measured core voltage per chain', ['chain'], (g, s) => {
    for (const c of s.chains) if (c.voltageMv !== undefined) g.set({ chain: c.index }, c.voltageMv);
  });
  gauge('asicd_chip_hashrate_ghs', 'Hashrate per chip', ['chain', 'chip'], (g, s) => {
    for (const c of s.chains)
      for (const ch of c.chips) g.set({ chain: c.index, chip: ch.index }, ch.hashrate);
  });
  counter('asicd_chip_errors_total', 'Hardware errors per chip', ['chain', 'chip'], (set, s) => {
    for (const c of s.chains) for (const ch of c.chips) set({ chain: c.index, chip: ch.index }, ch.errors);
  });
  gauge(
    'asicd_temperature_celsius',
    'Temperatures (absent while a sensor cannot be read)',
    ['sensor'],
    (g, s) => {
      for (const t of s.temperatures) if (t.celsius !== null) g.set({ sensor: t.name }, t.celsius);
    },
  );
  gauge('asicd_temperature_limit_celsius', 'Overheat limit per sensor', ['sensor'], (g, s) => {
    for (const t of s.temperatures) if (t.limit !== undefined) g.set({ sensor: t.name }, t.limit);
  });
  gauge('asicd_fan_duty_percent', 'Commanded fan duty', [], (g, s) => g.set(s.fan.dutyPercent));
  gauge('asicd_fan_manual', '1 when the fan is in manual mode', [], (g, s) =>
    g.set(s.fan.mode === 'manual' ? 1 : 0),
  );
  gauge('asicd_fan_rpm', 'Fan speed', ['fan'], (g, s) => {
    s.fan.rpm.forEach((r, i) => {
      if (r !== null) g.set({ fan: i }, r);
    });
  });
  gauge('asicd_frequency_mhz', 'Board frequency', [], (g, s) => g.set(s.frequencyMhz));
  // Optional figures carry a label so that "not measured" means "no series" (an unlabelled gauge
  // would always expose 0).
  gauge('asicd_voltage_mv', 'Measured board voltage (absent when not measured)', ['rail'], (g, s) => {
    if (s.voltageMv !== undefined) g.set({ rail: 'core' }, s.voltageMv);
  });
  gauge('asicd_power_watts', 'Measured input power (absent when not measured)', ['rail'], (g, s) => {
    if (s.powerW !== undefined) g.set({ rail: 'input' }, s.powerW);
  });
  return registry;
}

export async function startMetricsServer(
  source: MinerSource,
  opts: { host?: string; port?: number; logger?: Logger } = {},
): Promise<MetricsServer> {
  const log = (opts.logger ?? silentLogger).child('metrics');
  const registry = createMetricsRegistry(source);
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end('method not allowed\n');
      return;
    }
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics\n');
      return;
    }
    registry.metrics().then(
      (body) =>
        res
          .writeHead(200, { 'content-type': registry.contentType })
          .end(req.method === 'HEAD' ? undefined : redactText(body)),
      (err: Error) => {
        log.error('metrics_collect_failed', { error: err });
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`collect failed: ${err.message}\n`);
      },
    );
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 9100, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  const port = addr && typeof addr === 'object' ? addr.port : 0;
  log.info('metrics_listening', { host, port });
  return {
    host,
    port,
    registry,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
