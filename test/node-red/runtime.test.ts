/**
 * A real Node-RED runtime — the 4.1 of package.json, or the install ASICD_NODE_RED_DIR names (CI runs
 * Node-RED 5 that way on Node 24; see .ci/run) — (child process, temp userDir, loopback, free port) with the package
 * installed by symlink: the three example flows are deployed through the admin API and checked to run
 * against mosquitto and the real publisher over a FakeMiner (farm view serves the miner's state, the
 * overheat alert fires, the curtailment flow pauses and resumes the miner), then against the real daemon
 * (a Miner on a simulated board mining on the embedded pool).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { findBoard } from '../../boards/index.ts';
import { Miner } from '../../host/miner/daemon.ts';
import { openBoardHardware } from '../../host/miner/hardware.ts';
import { StratumServer } from '../../host/pool/server.ts';
import { MqttTelemetry } from '../../host/telemetry/mqtt.ts';
import { systemClock } from '../../lib/clock.ts';
import { silentLogger } from '../../lib/log.ts';
import { FakeMiner } from '../helpers/fake-miner.ts';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.ts';
import { freePort, waitFor } from '../helpers/net.ts';
import { type Watcher, watch } from '../telemetry/mqtt-watch.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const redDir = process.env.ASICD_NODE_RED_DIR ?? join(root, 'node_modules/node-red');
const redVersion = (JSON.parse(readFileSync(join(redDir, 'package.json'), 'utf8')) as { version: string })
  .version;
type FlowNode = Record<string, unknown> & { id: string; type: string };

let broker: Mosquitto;
let red: ChildProcess | undefined;
let redLog = '';
let dir: string;
let port: number;
let telemetry: MqttTelemetry;
let miner: FakeMiner;
let alerts: Watcher;
const deviceId = `rt_${process.pid}`;

async function api(path: string, init?: RequestInit): Promise<Response> {
  return fetch(`http://127.0.0.1:${port}${path}`, init);
}

before(async () => {
  broker = await startMosquitto();
  miner = new FakeMiner(deviceId);
  telemetry = new MqttTelemetry(miner, {
    url: broker.url,
    deviceId,
    commandsEnabled: true,
    intervalMs: 1000,
    debounceMs: 10,
  });
  telemetry.start();
  await telemetry.waitConnected();
  alerts = await watch(broker.url, ['test/alerts']);

  dir = mkdtempSync(join(tmpdir(), 'asicd-nodered-'));
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(join(root, 'node-red'), join(dir, 'node_modules', 'node-red-contrib-asicd'), 'dir');
  port = await freePort();
  writeFileSync(
    join(dir, 'settings.js'),
    `module.exports = ${JSON.stringify({
      uiHost: '127.0.0.1',
      uiPort: port,
      flowFile: 'flows.json',
      credentialSecret: false,
      logging: { console: { level: 'warn', metrics: false, audit: false } },
      telemetry: { enabled: false },
      externalModules: { autoInstall: false, palette: { allowInstall: false } },
    })};\n`,
  );
  red = spawn(
    process.execPath,
    [join(redDir, 'red.js'), '--userDir', dir, '--settings', join(dir, 'settings.js')],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: dir,
    },
  );
  red.stdout!.on('data', (d: Buffer) => {
    redLog += d.toString();
  });
  red.stderr!.on('data', (d: Buffer) => {
    redLog += d.toString();
  });
  let up = false;
  const end = Date.now() + 60_000;
  while (!up) {
    if (red.exitCode !== null) throw new Error(`node-red exited: ${redLog}`);
    if (Date.now() > end) throw new Error(`node-red did not start: ${redLog}`);
    try {
      up = (await api('/settings')).ok;
    } catch {}
    if (!up) await new Promise((r) => setTimeout(r, 200));
  }
});

after(async () => {
  if (red && red.exitCode === null) {
    const p = red;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGTERM');
    });
  }
  await alerts?.close();
  await telemetry?.stop();
  await broker?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function example(name: string): FlowNode[] {
  return JSON.parse(readFileSync(join(root, 'node-red/examples', `${name}.json`), 'utf8')) as FlowNode[];
}

test(`real Node-RED ${redVersion}: package loads, example flows deploy and run`, async () => {
  const nodesRes = await api('/nodes', { headers: { accept: 'application/json' } });
  assert.equal(nodesRes.status, 200);
  const sets = (await nodesRes.json()) as Array<{
    module: string;
    types: string[];
    enabled: boolean;
    err?: string;
  }>;
  const ours = sets.filter((s) => s.module === 'node-red-contrib-asicd');
  assert.equal(ours.length, 4, `package nodes registered: ${redLog}`);
  assert.deepEqual(ours.flatMap((s) => s.types).sort(), [
    'asicd command',
    'asicd event',
    'asicd status',
    'asicd-device',
  ]);
  for (const s of ours) assert.ok(s.enabled && !s.err, `${s.types} loaded without error`);

  // The examples as shipped, pointed at the test broker and miner.
  const flows: FlowNode[] = [
    ...example('overheat-alert'),
    ...example('solar-curtailment'),
    ...example('farm-view'),
  ];
  for (const n of flows) {
    if (n.type === 'asicd-device') {
      n.broker = broker.url;
      if (n.deviceId !== '+') n.deviceId = deviceId;
    }
    if (n.type === 'mqtt-broker') n.port = String(broker.port);
    if (n.type === 'tab' && Array.isArray(n.env)) {
      for (const e of n.env as Array<{ name: string; value: string }>)
        if (e.name === 'MIN_DWELL_S') e.value = '0';
    }
  }
  // Test probe: the overheat alert text also goes to an MQTT topic the test watches.
  flows.push({
    id: 'probe_alert_out',
    type: 'mqtt out',
    z: 'asicd_ov_tab',
    topic: 'test/alerts',
    qos: '1',
    retain: 'false',
    broker: 'asicd_cu_broker',
    wires: [],
  });
  const fmt = flows.find((n) => n.id === 'asicd_ov_fmt')!;
  (fmt.wires as string[][])[0]!.push('probe_alert_out');

  const dep = await api('/flows', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'Node-RED-Deployment-Type': 'full' },
    body: JSON.stringify(flows),
  });
  assert.ok(dep.status === 204 || dep.status === 200, `deploy status ${dep.status}: ${await dep.text()}`);
  const deployed = (await (await api('/flows')).json()) as FlowNode[];
  for (const id of ['asicd_ov_tab', 'asicd_cu_tab', 'asicd_fa_tab', 'asicd_fa_status', 'asicd_cu_cmd']) {
    assert.ok(
      deployed.some((n) => n.id === id),
      `${id} deployed`,
    );
  }

  // Farm view: the status node emitted the publisher's state; the flow's HTTP endpoint serves it.
  let farm:
    | { devices: Record<string, { hashrateGhs: number; mining: string }>; totals: { devices: number } }
    | undefined;
  await waitFor(
    () => {
      void api('/asicd/farm')
        .then((r) => r.json())
        .then((j) => {
          farm = j as typeof farm;
        })
        .catch(() => {});
      return farm?.devices?.[deviceId] !== undefined;
    },
    'farm view shows the miner',
    20_000,
    200,
  );
  assert.equal(farm!.devices[deviceId]!.hashrateGhs, 1210.5);
  assert.equal(farm!.devices[deviceId]!.mining, 'running');

  // Overheat alert from a daemon event.
  miner.emit({ type: 'overheat', time: Date.now(), active: true, sensor: 'chip', celsius: 92.5, limit: 90 });
  const alert = await alerts.waitFor(
    (m) => /OVERHEAT on chip at 92\.5/.test(m.text),
    'overheat alert',
    15_000,
  );
  assert.match(alert.text, new RegExp(`asicd ${deviceId}`));

  // Curtailment: surplus drops → pause; comes back → resume (through the asicd command node).
  await alerts.publish('home/solar/surplus_w', '10');
  await waitFor(() => miner.state.mining === 'paused', 'miner paused by the curtailment flow', 15_000);
  await alerts.publish('home/solar/surplus_w', '50'); // inside the hysteresis band: no change
  await alerts.publish('home/solar/surplus_w', '400');
  await waitFor(() => miner.state.mining === 'running', 'miner resumed by the curtailment flow', 15_000);
  assert.deepEqual(
    miner.calls.map((c) => c.method),
    ['pause', 'resume'],
  );
});

test(`real Node-RED ${redVersion} with the real daemon: farm view shows its state, curtailment pauses and resumes it`, {
  timeout: 120_000,
}, async () => {
  // The same flows, now pointed at a real Miner (simulated board, embedded pool) behind the real publisher.
  const realId = `daemon_${process.pid}`;
  const pool = new StratumServer({ difficulty: 0.0002, blockIntervalMs: 0 });
  await pool.listen(0);
  const board = findBoard('sim-gamma')!;
  const hardware = await openBoardHardware(board, {
    clock: systemClock,
    logger: silentLogger,
    frequencyMhz: 525,
    maxHashesPerSecond: 300_000,
  });
  const daemon = new Miner({ board, hardware, pools: [{ url: pool.url, user: 'nr.w' }], deviceId: realId });
  const pub = new MqttTelemetry(daemon, {
    url: broker.url,
    deviceId: realId,
    commandsEnabled: true,
    intervalMs: 1000,
  });
  try {
    await daemon.start();
    pub.start();
    await pub.waitConnected();
    const flows: FlowNode[] = [...example('solar-curtailment'), ...example('farm-view')];
    for (const n of flows) {
      if (n.type === 'asicd-device') {
        n.broker = broker.url;
        if (n.deviceId !== '+') n.deviceId = realId;
      }
      if (n.type === 'mqtt-broker') n.port = String(broker.port);
      if (n.type === 'tab' && Array.isArray(n.env)) {
        for (const e of n.env as Array<{ name: string; value: string }>)
          if (e.name === 'MIN_DWELL_S') e.value = '0';
      }
    }
    const dep = await api('/flows', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'Node-RED-Deployment-Type': 'full' },
      body: JSON.stringify(flows),
    });
    assert.ok(dep.status === 204 || dep.status === 200, `deploy status ${dep.status}`);

    let farm: { devices: Record<string, { hashrateGhs: number; mining: string }> } | undefined;
    await waitFor(
      () => {
        void api('/asicd/farm')
          .then((r) => r.json())
          .then((j) => {
            farm = j as typeof farm;
          })
          .catch(() => {});
        return (farm?.devices?.[realId]?.hashrateGhs ?? 0) > 0;
      },
      'farm view shows the daemon hashing',
      60_000,
      250,
    );
    assert.equal(farm!.devices[realId]!.mining, 'running');

    await alerts.publish('home/solar/surplus_w', '10');
    await waitFor(
      () => daemon.getState().mining === 'paused',
      'the daemon paused by the curtailment flow',
      20_000,
    );
    await alerts.publish('home/solar/surplus_w', '400');
    await waitFor(
      () => daemon.getState().mining === 'running',
      'the daemon resumed by the curtailment flow',
      30_000,
    );
  } finally {
    await pub.stop();
    await daemon.stop();
    await pool.close();
  }
});
