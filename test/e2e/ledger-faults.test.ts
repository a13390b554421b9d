/**
 * The share ledger under a fault mix, end to end: the real daemon (`asicd run --board sim-gamma`, the
 * emulated chip behind the real driver) mining against two hostile pools over real TCP — the primary sends
 * garbage, sends a stale job and rejects its shares, closes its connections with submits unanswered, then
 * freezes (connection open, nothing answered) so the daemon fails over, then recovers (the daemon
 * returns). At the end, paused: every share is in exactly one state (found = submitted + dropped with a
 * reason; submitted = accepted + rejected + no-answer), and the same numbers appear in the cgminer API
 * (summary, pools, devs), the MQTT state (real mosquitto) and Prometheus.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, test } from 'node:test';
import type { LedgerCounts, MinerState } from '../../host/api/types.ts';
import { checkLedger } from '../../host/miner/ledger.ts';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.ts';
import { freePort, waitFor } from '../helpers/net.ts';
import { type AsicdProcess, asicd } from '../helpers/proc.ts';
import { ScriptedServer } from '../stratum/scripted-server.ts';
import { type Watcher, watch } from '../telemetry/mqtt-watch.ts';

let broker: Mosquitto | undefined;
let daemon: AsicdProcess | undefined;
let watcher: Watcher | undefined;
const servers: ScriptedServer[] = [];
after(async () => {
  await daemon?.stop();
  await watcher?.close();
  await broker?.stop();
  for (const s of servers) await s.stop();
});

function cgminer(port: number, command: string): Promise<Record<string, Record<string, unknown>[]>> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port }, () => s.end(JSON.stringify({ command, parameter: '' })));
    let text = '';
    s.on('data', (d) => {
      text += String(d);
    });
    s.on('end', () => resolve(JSON.parse(text.replace(/\0$/, ''))));
    s.on('error', reject);
  });
}

/** `asicd_pool_share_ledger_total{pool="i",state="…"}` values from a Prometheus exposition. */
function promLedger(text: string, pool: number): Record<string, number> {
  const out: Record<string, number> = {};
  const re = new RegExp(`^asicd_pool_share_ledger_total\\{pool="${pool}",state="([a-z_]+)"\\} (\\d+)$`, 'gm');
  for (const m of text.matchAll(re)) out[m[1]!] = Number(m[2]);
  return out;
}

const submits = (s: ScriptedServer) => s.methods('mining.submit');

test('share ledger under garbage, stale jobs, closes and a frozen pool: one state per share, the same numbers everywhere', {
  timeout: 240_000,
}, async () => {
  broker = await startMosquitto();
  const primary = await ScriptedServer.start({ difficulty: 0.0001 });
  const fallback = await ScriptedServer.start({ difficulty: 0.0001 });
  servers.push(primary, fallback);
  // Stale job: the pool rejects every share for it (code 21), as a pool does for a job of an old block.
  primary.onRequest = (conn, m) => {
    if (m.method === 'mining.submit' && m.params?.[1] === 'stale-job') {
      primary.sendTo(conn, JSON.stringify({ id: m.id, result: null, error: [21, 'Stale share', null] }));
      return true;
    }
    return false;
  };
  const apiPort = await freePort();
  const metricsPort = await freePort();
  const base = 'asicd/ledger-dev';
  watcher = await watch(broker.url, [`${base}/#`]);
  const w = watcher;
  daemon = asicd([
    'run',
    ...['--board', 'sim-gamma', '--pool', primary.url, '--pool', fallback.url, '--user', 'ledger.w'],
    ...['--pool-submit-timeout', '2', '--pool-reject-run', '1000'],
    ...['--mqtt', broker.url, '--device-id', 'ledger-dev', '--mqtt-interval', '1', '--mqtt-commands'],
    ...['--api-listen', `127.0.0.1:${apiPort}`, '--metrics-listen', `127.0.0.1:${metricsPort}`],
    ...['--log-format', 'json', '--no-status'],
  ]);
  const d = daemon;
  const out = () => d.output().slice(-3000);
  const more = async (s: ScriptedServer, n: number, what: string, ms = 60_000) => {
    const target = submits(s).length + n;
    await waitFor(() => submits(s).length >= target, `${what} (${out()})`, ms, 20);
  };

  // 1. Mining on the primary.
  await more(primary, 3, 'first shares on the primary');

  // 2. Garbage on the line: the session goes on (or reconnects), shares keep coming.
  primary.send('this is not json\n{"id":1,"result":\n\u0000\u0001garbage', true);
  primary.send('\n', true);
  await more(primary, 3, 'shares after the garbage');

  // 3. A stale job: its shares are rejected as stale; then a fresh job.
  primary.notify({ jobId: 'stale-job', prevhash: `${'22'.repeat(28)}00000000`, clean: false });
  await waitFor(
    () => submits(primary).filter((m) => m.params?.[1] === 'stale-job').length >= 2,
    `shares for the stale job (${out()})`,
    60_000,
    20,
  );
  primary.notify({ jobId: 'fresh-job', clean: true });
  await waitFor(
    () => submits(primary).some((m) => m.params?.[1] === 'fresh-job'),
    `shares for the fresh job (${out()})`,
    60_000,
    20,
  );

  // 4. Closes with submits unanswered: the next submits get no answer, then every connection is closed.
  const unansweredFrom = submits(primary).length;
  primary.onRequest = (_conn, m) => m.method === 'mining.submit';
  await waitFor(
    () => submits(primary).length > unansweredFrom,
    `an unanswered submit (${out()})`,
    60_000,
    20,
  );
  const connsBefore = primary.lastConn;
  primary.closeAll();
  primary.onRequest = undefined;
  await waitFor(() => primary.lastConn > connsBefore, `the daemon reconnects (${out()})`, 60_000, 20);
  await more(primary, 2, 'shares after the reconnect');

  // 5. Frozen: the connection stays open, nothing is answered → submit timeout → failover.
  primary.silent = true;
  await more(fallback, 3, 'shares on the fallback after the freeze', 90_000);

  // 6. The primary recovers: the daemon probes it and returns.
  primary.silent = false;
  const backFrom = submits(primary).length;
  await waitFor(
    () =>
      submits(primary)
        .slice(backFrom)
        .some((m) => m.conn === primary.lastConn),
    `shares on the primary again (${out()})`,
    90_000,
    50,
  );

  // 7. Paused: wait for the books to settle (nothing pending, two equal states in a row).
  await w.publish(`${base}/cmd`, JSON.stringify({ id: 'p1', command: 'pause' }));
  let settled: MinerState | undefined;
  await waitFor(
    () => {
      const states = w.seen.filter((m) => m.topic === `${base}/state`).slice(-2);
      if (states.length < 2) return false;
      const [a, b] = states.map((m) => JSON.parse(m.text) as MinerState);
      if (b!.mining !== 'paused' || b!.shares.ledger!.pending !== 0) return false;
      if (JSON.stringify(a!.shares.ledger) !== JSON.stringify(b!.shares.ledger)) return false;
      settled = b;
      return true;
    },
    `a settled paused state (${out()})`,
    60_000,
    100,
  );
  const s = settled!;
  const total = s.shares.ledger!;
  // Every share in exactly one state, on the board, per pool and per chain.
  assert.deepEqual(checkLedger(total), []);
  for (const p of s.pools) assert.deepEqual(checkLedger(p.ledger!), [], `pool ${p.index}`);
  for (const c of s.chains) assert.deepEqual(checkLedger(c.ledger!), [], `chain ${c.index}`);
  assert.equal(total.found, total.submitted + total.staleLocal + total.belowPoolTarget);
  assert.equal(total.submitted, total.accepted + total.rejected + total.noAnswer);
  const sum = (k: keyof Omit<LedgerCounts, 'rejectedByReason'>) =>
    s.pools.reduce((x, p) => x + (p.ledger![k] as number), 0);
  for (const k of ['found', 'submitted', 'accepted', 'rejected', 'staleLocal', 'noAnswer'] as const)
    assert.equal(sum(k), total[k], `Σ pools ${k} = board ${k} (no unattributed shares here)`);
  assert.equal(
    s.chains.reduce((x, c) => x + c.ledger!.found, 0),
    total.found,
    'Σ chains found = board found',
  );
  // The faults really happened, and each left its mark in the books.
  assert.ok((total.rejectedByReason.stale ?? 0) >= 2, `stale rejects: ${JSON.stringify(total)}`);
  assert.ok(total.noAnswer >= 1, `no-answer shares: ${JSON.stringify(total)}`);
  assert.ok(s.pools[1]!.ledger!.accepted >= 1, 'shares accepted on the fallback');
  // What the pools saw: every submit they received is a submitted share (some sent into a closing
  // connection may never arrive); the accepted ones are at most what they received.
  const received = submits(primary).length + submits(fallback).length;
  assert.ok(received <= total.submitted, `received ${received} ≤ submitted ${total.submitted}`);
  assert.ok(total.accepted + total.rejected <= received, `answered ≤ received ${received}`);

  // The same numbers in the cgminer API…
  const summary = (await cgminer(apiPort, 'summary')).SUMMARY![0]!;
  assert.equal(summary.Accepted, total.accepted);
  assert.equal(summary.Rejected, total.rejected);
  assert.equal(summary.Found, total.found);
  assert.equal(summary.Submitted, total.submitted);
  assert.equal(summary['Stale Local'], total.staleLocal);
  assert.equal(summary['No Answer'], total.noAnswer);
  assert.equal(summary['Remote Failures'], total.noAnswer);
  assert.equal(summary.Pending, 0);
  const pools = (await cgminer(apiPort, 'pools')).POOLS!;
  for (const p of s.pools) {
    const c = pools[p.index]!;
    const l = p.ledger!;
    assert.deepEqual(
      [c.Accepted, c.Rejected, c.Found, c.Submitted, c['Stale Local'], c['No Answer']],
      [l.accepted, l.rejected, l.found, l.submitted, l.staleLocal, l.noAnswer],
      `cgminer pool ${p.index}`,
    );
  }
  const devs = (await cgminer(apiPort, 'devs')).DEVS!;
  assert.equal(devs.length, s.chains.length);
  for (const c of s.chains) {
    const dv = devs[c.index]!;
    assert.deepEqual(
      [dv.Accepted, dv.Rejected, dv.Found, dv['No Answer'], dv['Stale Local']],
      [c.ledger!.accepted, c.ledger!.rejected, c.ledger!.found, c.ledger!.noAnswer, c.ledger!.staleLocal],
      `cgminer dev ${c.index}`,
    );
  }
  // …and in Prometheus.
  const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  for (const p of s.pools) {
    const m = promLedger(metrics, p.index);
    const l = p.ledger!;
    assert.deepEqual(
      [m.found, m.submitted, m.accepted, m.rejected, m.stale_local, m.no_answer, m.below_pool_target],
      [l.found, l.submitted, l.accepted, l.rejected, l.staleLocal, l.noAnswer, l.belowPoolTarget],
      `prometheus pool ${p.index}`,
    );
  }
  assert.match(metrics, new RegExp(`^asicd_shares_accepted_total ${total.accepted}$`, 'm'));
  console.log(`# ledger after the fault mix: ${JSON.stringify(total)}`);
  assert.equal(await d.stop(), 0, out());
});
