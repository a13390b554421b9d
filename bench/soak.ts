/**
 * Soak bench (`npm run soak`): runs the real daemon (startApp, as `asicd run`) for a configurable time
 * against the embedded Stratum pool, an emulated BM1366 chain served on a real socat pty (`serialport`
 * on both ends) and an embedded MQTT broker, with a fault mix cycling through:
 *   pool restart (the pool goes away for a few seconds and comes back on the same port),
 *   serial corruption (a burst of corrupted reply frames on the chain link),
 *   broker restart (the MQTT broker goes away and comes back on the same port).
 * It samples RSS, heap, active handles and timers, and at the end reports the RSS slope after warm-up
 * (least squares, MB/h), what is still open after the stop, and the share ledger per pool, checking
 * that every share ended in exactly one state (found = submitted + stale-local + below-target;
 * submitted = accepted + rejected + no-answer + pending; nothing pending after the stop).
 *
 *   npm run soak                            # 1 h, a fault every 60 s
 *   npm run soak -- --minutes 1             # a one-minute smoke (faults every 10 s)
 *   npm run soak -- --minutes 240 --fault-every 120 --json soak.json
 * Exit code 1 when the ledger has unaccounted shares or something stayed open.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { serveOnPty } from '../firmware/bm13xx/pty.ts';
import { loadConfig } from '../host/config.ts';
import { startApp } from '../host/miner/app.ts';
import { StratumServer } from '../host/pool/server.ts';
import { startEmbeddedBroker } from '../host/telemetry/broker.ts';
import { createLogger } from '../lib/log.ts';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '60' },
    'fault-every': { type: 'string' },
    corrupt: { type: 'string', default: '0.05' },
    'sample-every': { type: 'string' },
    json: { type: 'string' },
    verbose: { type: 'boolean', default: false },
  },
});
const durationMs = Number(values.minutes) * 60_000;
const faultEveryMs = Number(values['fault-every'] ?? Math.max(10, Math.min(60, durationMs / 6000))) * 1000;
const sampleEveryMs = Number(values['sample-every'] ?? (durationMs <= 5 * 60_000 ? 1 : 5)) * 1000;
const corruptRate = Number(values.corrupt);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MB = 1024 * 1024;

interface Sample {
  t: number;
  rss: number;
  heap: number;
  handles: number;
  timers: number;
}

function resources(): { handles: number; timers: number; byType: Record<string, number> } {
  const byType: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) byType[r] = (byType[r] ?? 0) + 1;
  const timers = byType.Timeout ?? 0;
  return { handles: Object.values(byType).reduce((a, b) => a + b, 0) - timers, timers, byType };
}

function slopePerHour(xs: Sample[], pick: (s: Sample) => number): number {
  if (xs.length < 3) return Number.NaN;
  const n = xs.length;
  const mx = xs.reduce((a, s) => a + s.t, 0) / n;
  const my = xs.reduce((a, s) => a + pick(s), 0) / n;
  let num = 0;
  let den = 0;
  for (const s of xs) {
    num += (s.t - mx) * (pick(s) - my);
    den += (s.t - mx) ** 2;
  }
  return (num / den) * 3_600_000;
}

function windows(xs: Sample[], durationMs: number): Array<{ fromS: number; rssMB: number; heapMB: number }> {
  const med = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1] ?? Number.NaN;
  return Array.from({ length: 10 }, (_, k) => {
    const from = (durationMs * k) / 10;
    const w = xs.filter((s) => s.t >= from && s.t < from + durationMs / 10);
    return {
      fromS: Math.round(from / 1000),
      rssMB: med(w.map((s) => s.rss / MB)),
      heapMB: med(w.map((s) => s.heap / MB)),
    };
  });
}

async function main(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'asicd-soak-'));
  const baseline = resources();
  const logCounts: Record<string, number> = {};
  const events: Record<string, number> = {};
  const log = createLogger({
    level: 'info',
    format: 'json',
    write: (line) => {
      const rec = JSON.parse(line) as { level: string; event: string };
      logCounts[rec.level] = (logCounts[rec.level] ?? 0) + 1;
      events[rec.event] = (events[rec.event] ?? 0) + 1;
      if (values.verbose) process.stderr.write(`${line}\n`);
    },
  });

  let pool = new StratumServer({ difficulty: 0.0002, blockIntervalMs: 60_000 });
  await pool.listen(0);
  const poolPort = Number(new URL(pool.url.replace('stratum+tcp', 'http')).port);
  const poolTotals = { accepted: 0, rejected: 0 };
  const foldPool = () => {
    poolTotals.accepted += pool.stats.accepted;
    poolTotals.rejected += pool.stats.rejected;
  };
  let broker = await startEmbeddedBroker();
  const brokerPort = broker.port;
  const link = join(dir, 'chain0');
  const chain = await serveOnPty({
    link,
    model: 'BM1366',
    chips: 2,
    easyBits: 16,
    seed: 1,
    maxHashesPerSecond: 400_000,
  });

  const cfg = loadConfig({
    command: 'run',
    env: {},
    argv: [
      ...['--board', 'generic', '--chip', 'BM1366', '--chips', '2', '--device', link, '--easy-bits', '16'],
      ...['--pool', pool.url, '--user', 'soak.worker', '--no-thermal', '--status=false'],
      ...['--mqtt', broker.url, '--mqtt-interval', '2', '--device-id', 'soak'],
      ...['--api-listen', '127.0.0.1:0', '--http-listen', 'off'],
    ],
  });
  const app = await startApp({ cfg, log });
  const t0 = Date.now();
  const samples: Sample[] = [];
  const faults: string[] = [];
  const sample = () => {
    const m = process.memoryUsage();
    const r = resources();
    samples.push({ t: Date.now() - t0, rss: m.rss, heap: m.heapUsed, handles: r.handles, timers: r.timers });
  };
  const sampler = setInterval(sample, sampleEveryMs);
  const kinds = ['pool restart', 'serial corruption', 'broker restart'] as const;
  let k = 0;
  process.stdout.write(
    `soak: ${values.minutes} min, a fault every ${faultEveryMs / 1000} s (${kinds.join(', ')}), corruption ${corruptRate}\n`,
  );
  while (Date.now() - t0 < durationMs) {
    await sleep(Math.min(faultEveryMs, Math.max(0, durationMs - (Date.now() - t0))));
    if (Date.now() - t0 >= durationMs - 2000) break;
    const kind = kinds[k++ % kinds.length]!;
    const at = ((Date.now() - t0) / 1000).toFixed(0);
    faults.push(`${at} s ${kind}`);
    if (kind === 'pool restart') {
      foldPool();
      await pool.close();
      await sleep(3000);
      pool = new StratumServer({ difficulty: 0.0002, blockIntervalMs: 60_000 });
      await pool.listen(poolPort);
    } else if (kind === 'serial corruption') {
      chain.chain.setFaults({ corruptProbability: corruptRate });
      await sleep(Math.min(20_000, faultEveryMs / 2));
      chain.chain.setFaults({ corruptProbability: 0 });
    } else {
      await broker.stop();
      await sleep(3000);
      broker = await startEmbeddedBroker({ port: brokerPort });
    }
    if (values.verbose) process.stdout.write(`  ${faults.at(-1)}\n`);
  }
  clearInterval(sampler);
  sample();
  const state = app.miner.getState();
  const stopT = Date.now();
  await app.stop();
  const stopMs = Date.now() - stopT;
  const final = app.miner.getState();
  foldPool();
  await pool.close();
  await broker.stop();
  await chain.stop();
  await sleep(200);
  const after = resources();
  rmSync(dir, { recursive: true, force: true });

  // The share ledger: every share in exactly one state.
  const problems: string[] = [];
  const ledgers = final.pools.map((p) => ({ index: p.index, url: p.url, ledger: p.ledger }));
  for (const { index, ledger: l } of ledgers) {
    if (!l) {
      problems.push(`pool ${index}: no ledger in the state`);
      continue;
    }
    if (l.found !== l.submitted + l.staleLocal + l.belowPoolTarget)
      problems.push(`pool ${index}: found ${l.found} ≠ submitted + stale-local + below-target`);
    if (l.submitted !== l.accepted + l.rejected + l.noAnswer + l.pending)
      problems.push(`pool ${index}: submitted ${l.submitted} ≠ accepted + rejected + no-answer + pending`);
    if (l.pending !== 0) problems.push(`pool ${index}: ${l.pending} shares still pending after the stop`);
  }
  const warm = samples.filter((s) => s.t >= Math.min(durationMs * 0.2, 10 * 60_000));
  const leftover = Object.entries(after.byType)
    .map(([type, n]) => [type, n - (baseline.byType[type] ?? 0)] as const)
    .filter(([, n]) => n > 0);
  if (leftover.length)
    problems.push(`still open after the stop: ${leftover.map(([t, n]) => `${n} ${t}`).join(', ')}`);
  const link0 = state.chains[0]?.link;
  const report = {
    minutes: Number(values.minutes),
    faults,
    samples: samples.length,
    rssMB: {
      first: samples[0]!.rss / MB,
      last: samples.at(-1)!.rss / MB,
      max: Math.max(...samples.map((s) => s.rss)) / MB,
    },
    rssSlopeMBPerHourAfterWarmup: slopePerHour(warm, (s) => s.rss / MB),
    // Median RSS / heap per tenth of the run: whether memory levels off, which one slope cannot show.
    windows: windows(samples, durationMs),
    heapSlopeMBPerHourAfterWarmup: slopePerHour(warm, (s) => s.heap / MB),
    handles: {
      min: Math.min(...samples.map((s) => s.handles)),
      max: Math.max(...samples.map((s) => s.handles)),
    },
    timers: {
      min: Math.min(...samples.map((s) => s.timers)),
      max: Math.max(...samples.map((s) => s.timers)),
    },
    afterStop: { leftover: Object.fromEntries(leftover), stopMs },
    poolSide: poolTotals,
    ledger: ledgers,
    link: link0,
    hashrateGhs: state.hashrate.avg1m,
    logLines: logCounts,
    events: Object.fromEntries(
      Object.entries(events).filter(([e]) => /pool|mqtt|link|chain|share|fault/.test(e)),
    ),
    problems,
  };
  const f = (x: number) => x.toFixed(1);
  const l0 = ledgers[0]?.ledger;
  process.stdout.write(
    [
      `soak done: ${faults.length} faults (${faults.join('; ')})`,
      `  RSS ${f(report.rssMB.first)} → ${f(report.rssMB.last)} MB (max ${f(report.rssMB.max)}); slope after warm-up ${f(report.rssSlopeMBPerHourAfterWarmup)} MB/h, heap ${f(report.heapSlopeMBPerHourAfterWarmup)} MB/h`,
      `  RSS / heap median per tenth of the run (MB): ${report.windows.map((w) => `${f(w.rssMB)}/${f(w.heapMB)}`).join(' ')}`,
      `  handles ${report.handles.min}–${report.handles.max}, timers ${report.timers.min}–${report.timers.max} while running; after the stop (${stopMs} ms): ${leftover.length ? JSON.stringify(report.afterStop.leftover) : 'nothing left open'}`,
      `  link: ${JSON.stringify(link0)}`,
      l0
        ? `  ledger pool 0: found ${l0.found} = submitted ${l0.submitted} + stale-local ${l0.staleLocal} + below-target ${l0.belowPoolTarget}; submitted = accepted ${l0.accepted} + rejected ${l0.rejected} + no-answer ${l0.noAnswer} + pending ${l0.pending}; pool side accepted ${poolTotals.accepted}, rejected ${poolTotals.rejected}`
        : '  ledger: none',
      `  log lines: ${JSON.stringify(logCounts)}`,
      problems.length
        ? `  PROBLEMS: ${problems.join('; ')}`
        : '  every share accounted for; nothing left open',
    ].join('\n') + '\n',
  );
  if (values.json) writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
  return problems.length ? 1 : 0;
}

process.exitCode = await main();
