/**
 * Telemetry against the real daemon: `asicd demo` (simulated board, embedded pool) publishing to a real
 * mosquitto, with commands enabled. State, availability, Home Assistant discovery and commands end to
 * end; the broker is killed and restarted mid-run (mining goes on, state is republished); the cgminer
 * API and Prometheus are queried over TCP; SIGTERM leaves `offline` behind.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, test } from 'node:test';
import type { MinerState } from '../../host/api/types.ts';
import { checkLedger } from '../../host/miner/ledger.ts';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.ts';
import { freePort } from '../helpers/net.ts';
import { type AsicdProcess, asicd } from '../helpers/proc.ts';
import { type Seen, type Watcher, watch } from '../telemetry/mqtt-watch.ts';

let broker: Mosquitto | undefined;
let daemon: AsicdProcess | undefined;
let watcher: Watcher | undefined;
after(async () => {
  await daemon?.stop();
  await watcher?.close();
  await broker?.stop();
});

function cgminer(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port }, () => s.end(request));
    let text = '';
    s.on('data', (d) => {
      text += String(d);
    });
    s.on('end', () => resolve(text.replace(/\0$/, '')));
    s.on('error', reject);
  });
}

const latestState = (w: Watcher, base: string): MinerState | undefined => {
  const m = w.seen.filter((x) => x.topic === `${base}/state`).at(-1);
  return m ? (JSON.parse(m.text) as MinerState) : undefined;
};

test('asicd demo → mosquitto: state, discovery, commands, broker restart, cgminer API, Prometheus', {
  timeout: 180_000,
}, async () => {
  broker = await startMosquitto();
  const apiPort = await freePort();
  const metricsPort = await freePort();
  const base = 'asicd/e2e-dev';
  watcher = await watch(broker.url, [`${base}/#`, 'homeassistant/#']);
  const w = watcher;
  daemon = asicd([
    'demo',
    ...['--mqtt', broker.url, '--device-id', 'e2e-dev', '--mqtt-interval', '1', '--mqtt-commands'],
    ...['--api-listen', `127.0.0.1:${apiPort}`, '--metrics-listen', `127.0.0.1:${metricsPort}`],
    ...['--log-format', 'json', '--no-status'],
  ]);
  const d = daemon;
  const out = () => d.output().slice(-3000);

  await w.waitFor((m) => m.topic === `${base}/availability` && m.text === 'online', 'online', 30_000);
  const st = await w.waitFor(
    (m) => m.topic === `${base}/state` && (JSON.parse(m.text) as MinerState).shares.accepted >= 2,
    `state with accepted shares (${out()})`,
    60_000,
  );
  const s = JSON.parse(st.text) as MinerState;
  assert.equal(s.mining, 'running');
  assert.equal(s.device.id, 'e2e-dev');
  assert.equal(s.board.name, 'sim-gamma');
  assert.ok(s.hashrate.now > 0 || s.hashrate.avg1m > 0, 'a hashrate from the emulated chip');
  assert.ok(s.temperatures.length >= 1 && s.temperatures.every((t) => typeof t.celsius === 'number'));
  assert.ok(s.fan.dutyPercent >= 25);
  assert.ok(s.pool && s.pool.status === 'alive');
  assert.ok(!st.text.includes('"pass'), 'no password in the state');
  // The share ledger in the MQTT state: every share in exactly one state, board total = Σ pools.
  assert.ok(s.shares.ledger, 'the state carries the share ledger');
  assert.deepEqual(checkLedger(s.shares.ledger), []);
  assert.equal(s.shares.ledger.accepted, s.shares.accepted);
  for (const p of s.pools) assert.deepEqual(checkLedger(p.ledger!), [], `pool ${p.index} ledger`);
  // A late subscriber gets availability, state and discovery from the broker's retained store.
  const late = await watch(broker.url, [`${base}/availability`, `${base}/state`, 'homeassistant/#']);
  try {
    await late.waitFor(
      (m) => m.topic === `${base}/availability` && m.retain && m.text === 'online',
      'retained online',
    );
    await late.waitFor((m) => m.topic === `${base}/state` && m.retain, 'retained state');
    await late.waitFor((m) => m.topic.startsWith('homeassistant/') && m.retain, 'retained discovery');
  } finally {
    await late.close();
  }

  // Home Assistant discovery: retained configs with unique ids and availability wired.
  const configs = w.seen.filter((m) => m.topic.startsWith('homeassistant/') && m.topic.endsWith('/config'));
  assert.ok(configs.length >= 10, `discovery configs: ${configs.length}`);
  const ids = configs.map((m) => (JSON.parse(m.text) as { unique_id: string }).unique_id);
  assert.equal(new Set(ids).size, ids.length, 'unique ids are unique');
  assert.ok(
    configs.every((m) => m.text.includes(`${base}/availability`)),
    'availability wired',
  );

  // Commands: pause → paused; malformed → error and nothing changes; resume → running.
  const reply = (id: string) => (m: Seen) => m.topic === `${base}/cmd/reply` && m.text.includes(`"${id}"`);
  await w.publish(`${base}/cmd`, JSON.stringify({ id: 'p1', command: 'pause' }));
  assert.match((await w.waitFor(reply('p1'), 'pause reply')).text, /"ok":true/);
  await w.waitFor(
    (m) => m.topic === `${base}/state` && (JSON.parse(m.text) as MinerState).mining === 'paused',
    'paused state',
  );
  await w.publish(`${base}/cmd`, '{"id":"bad1","command":"frequency","mhz":');
  await w.publish(`${base}/cmd`, JSON.stringify({ id: 'f1', command: 'frequency', mhz: 99999 }));
  assert.match((await w.waitFor(reply('f1'), 'out-of-range reply')).text, /"ok":false/);
  await w.publish(`${base}/cmd`, JSON.stringify({ id: 'r1', command: 'resume' }));
  assert.match((await w.waitFor(reply('r1'), 'resume reply')).text, /"ok":true/);
  const before = w.seen.length;
  await w.waitFor(
    (m) =>
      w.seen.indexOf(m) >= before &&
      m.topic === `${base}/state` &&
      (JSON.parse(m.text) as MinerState).mining === 'running',
    'running again',
    30_000,
  );
  assert.equal(latestState(w, base)?.frequencyMhz, 525, 'the out-of-range frequency changed nothing');

  // cgminer API and Prometheus from the same daemon.
  const summary = JSON.parse(
    await cgminer(apiPort, JSON.stringify({ command: 'summary', parameter: '' })),
  ) as {
    STATUS: Array<{ STATUS: string }>;
    SUMMARY: Array<Record<string, number>>;
  };
  assert.equal(summary.STATUS[0]!.STATUS, 'S');
  assert.ok(summary.SUMMARY[0]!.Accepted! >= 2);
  assert.ok('MHS av' in summary.SUMMARY[0]!);
  const sr = summary.SUMMARY[0]!;
  assert.equal(
    sr.Found,
    sr.Submitted! + sr['Stale Local']! + sr['Below Pool Target']!,
    'cgminer summary ledger',
  );
  assert.ok(sr.Submitted! >= sr.Accepted! + sr.Rejected!);
  const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  assert.match(metrics, /asicd_shares_accepted_total|asicd_shares_total|asicd_.*accepted/);
  assert.match(metrics, /asicd_pool_share_ledger_total\{pool="0",state="found"\} \d+/);

  // Broker killed and restarted mid-run: mining goes on; availability and state come back.
  const acceptedBefore = latestState(w, base)!.shares.accepted;
  await broker.kill();
  await new Promise((r) => setTimeout(r, 3000));
  await broker.restart();
  await w.client.subscribeAsync([`${base}/#`], { qos: 1 }).catch(() => {});
  const mark = w.seen.length;
  const again = await w.waitFor(
    (m) =>
      w.seen.indexOf(m) >= mark &&
      m.topic === `${base}/state` &&
      (JSON.parse(m.text) as MinerState).shares.accepted > acceptedBefore,
    `republished state after the broker restart (${out()})`,
    90_000,
  );
  assert.equal((JSON.parse(again.text) as MinerState).mining, 'running');

  // SIGTERM: clean exit and `offline` left behind.
  assert.equal(await d.stop(), 0, out());
  await w.waitFor(
    (m) => m.topic === `${base}/availability` && m.text === 'offline',
    'offline after stop',
    10_000,
  );
});
