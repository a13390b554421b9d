/**
 * The Node-RED nodes under node-red-node-test-helper (Node-RED 4.1 runtime in-process) against a real
 * mosquitto, fed by the real MQTT publisher over a FakeMiner: status, event, command (ok, error,
 * timeout, disabled), and the "+" farm config following several devices.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, afterEach, before, describe, test } from 'node:test';
import { MqttTelemetry } from '../../host/telemetry/mqtt.ts';
import { FakeMiner } from '../helpers/fake-miner.ts';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.ts';

const require = createRequire(import.meta.url);
// biome-ignore lint/suspicious/noExplicitAny: the helper is untyped CommonJS
const helper: any = require('node-red-node-test-helper');
const deviceNode = require('../../node-red/nodes/asicd-device.js');
const statusNode = require('../../node-red/nodes/asicd-status.js');
const eventNode = require('../../node-red/nodes/asicd-event.js');
const commandNode = require('../../node-red/nodes/asicd-command.js');
const nodes = [deviceNode, statusNode, eventNode, commandNode];

helper.init(require.resolve('node-red'));

type Msg = Record<string, unknown> & { payload: Record<string, unknown> };

function nextMessage(
  node: { on(ev: string, fn: (m: Msg) => void): void },
  pred: (m: Msg) => boolean = () => true,
  timeoutMs = 10_000,
): Promise<Msg> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no matching message from node')), timeoutMs);
    node.on('input', (m: Msg) => {
      if (pred(m)) {
        clearTimeout(t);
        resolve(m);
      }
    });
  });
}

describe('node-red-contrib-asicd nodes (test helper + mosquitto)', () => {
  let broker: Mosquitto;
  const publishers: MqttTelemetry[] = [];
  before(async () => {
    broker = await startMosquitto();
    await new Promise<void>((resolve) => helper.startServer(resolve));
  });
  afterEach(async () => {
    await helper.unload();
    await Promise.all(publishers.splice(0).map((p) => p.stop()));
  });
  after(async () => {
    await new Promise<void>((resolve) => helper.stopServer(resolve));
    await broker.stop();
  });

  async function publisher(id: string, commandsEnabled = true): Promise<FakeMiner> {
    const miner = new FakeMiner(id);
    const t = new MqttTelemetry(miner, {
      url: broker.url,
      deviceId: id,
      commandsEnabled,
      intervalMs: 60_000,
      debounceMs: 10,
    });
    publishers.push(t);
    t.start();
    await t.waitConnected();
    return miner;
  }

  function flow(deviceId: string, extra: Record<string, unknown>[]) {
    return [
      { id: 'dev', type: 'asicd-device', broker: broker.url, deviceId, baseTopic: '' },
      ...extra,
      { id: 'out', type: 'helper' },
    ];
  }

  test('all nodes load', async () => {
    await helper.load(nodes, flow('x', [{ id: 's', type: 'asicd status', device: 'dev', wires: [['out']] }]));
    assert.ok(helper.getNode('dev'));
    assert.ok(helper.getNode('s'));
  });

  test('asicd status emits the retained state, then changes', async () => {
    const miner = await publisher('nrstatus');
    await helper.load(
      nodes,
      flow('nrstatus', [{ id: 's', type: 'asicd status', device: 'dev', wires: [['out']] }]),
      {
        dev: { username: '', password: '' },
      },
    );
    const out = helper.getNode('out');
    const first = await nextMessage(out);
    assert.equal(first.deviceId, 'nrstatus');
    assert.equal((first.payload.device as { id: string }).id, 'nrstatus');
    assert.equal((first.payload.hashrate as { now: number }).now, 1210.5);
    const changed = nextMessage(out, (m) => m.payload.mining === 'paused');
    await miner.control.pause();
    assert.equal((await changed).payload.mining, 'paused');
  });

  test('asicd event emits only the chosen event type', async () => {
    const miner = await publisher('nrevent');
    await helper.load(
      nodes,
      flow('nrevent', [
        { id: 'e', type: 'asicd event', device: 'dev', eventType: 'block_found', wires: [['out']] },
      ]),
    );
    const out = helper.getNode('out');
    const got = nextMessage(out);
    await new Promise((r) => setTimeout(r, 200)); // subscription in place
    miner.emit({ type: 'share_accepted', time: 1, pool: 0, difficulty: 1 });
    miner.emit({ type: 'block_found', time: 2, pool: 0, hash: '00'.repeat(32), difficulty: 1e12 });
    const m = await got;
    assert.equal(m.eventType, 'block_found');
    assert.equal(m.payload.hash, '00'.repeat(32));
  });

  test('asicd command: ok reply, out-of-range error, shorthand payloads', async () => {
    const miner = await publisher('nrcmd');
    await helper.load(
      nodes,
      flow('nrcmd', [
        { id: 'c', type: 'asicd command', device: 'dev', command: '', timeout: 5, wires: [['out']] },
        { id: 'f', type: 'asicd command', device: 'dev', command: 'frequency', timeout: 5, wires: [['out']] },
      ]),
    );
    const out = helper.getNode('out');
    await new Promise((r) => setTimeout(r, 200));
    let reply = nextMessage(out);
    helper.getNode('c').receive({ payload: { command: 'pause' } });
    let m = await reply;
    assert.equal(m.payload.ok, true);
    assert.equal(miner.state.mining, 'paused');

    reply = nextMessage(out);
    helper.getNode('f').receive({ payload: 600 });
    m = await reply;
    assert.deepEqual(m.payload.result, { mhz: 600 });
    assert.equal(miner.state.frequencyMhz, 600);

    reply = nextMessage(out);
    helper.getNode('f').receive({ payload: 9999 });
    m = await reply;
    assert.equal(m.payload.ok, false);
    assert.match(String(m.payload.error), /out of range/);
    assert.equal(miner.state.frequencyMhz, 600, 'nothing changed');
  });

  test('asicd command: disabled on the miner, timeout, not connected', async () => {
    await publisher('nroff', false);
    await helper.load(
      nodes,
      flow('nroff', [
        { id: 'c', type: 'asicd command', device: 'dev', command: 'pause', timeout: 5, wires: [['out']] },
        { id: 'dev2', type: 'asicd-device', broker: broker.url, deviceId: 'nobody_here', baseTopic: '' },
        { id: 't', type: 'asicd command', device: 'dev2', command: 'pause', timeout: 0.3, wires: [['out']] },
        { id: 'dev3', type: 'asicd-device', broker: 'mqtt://127.0.0.1:1', deviceId: 'x', baseTopic: '' },
        { id: 'n', type: 'asicd command', device: 'dev3', command: 'pause', timeout: 5, wires: [['out']] },
      ]),
    );
    const out = helper.getNode('out');
    await new Promise((r) => setTimeout(r, 200));
    let reply = nextMessage(out);
    helper.getNode('c').receive({ payload: true });
    assert.match(String((await reply).payload.error), /commands disabled/);
    reply = nextMessage(out);
    helper.getNode('t').receive({ payload: true });
    assert.match(String((await reply).payload.error), /timeout/);
    reply = nextMessage(out);
    helper.getNode('n').receive({ payload: true });
    assert.match(String((await reply).payload.error), /not connected/);
  });

  test('device "+" follows every miner (farm)', async () => {
    await publisher('farm_a');
    await publisher('farm_b');
    await helper.load(nodes, flow('+', [{ id: 's', type: 'asicd status', device: 'dev', wires: [['out']] }]));
    const out = helper.getNode('out');
    const seen = new Set<string>();
    await nextMessage(out, (m) => {
      seen.add(String(m.deviceId));
      return seen.has('farm_a') && seen.has('farm_b');
    });
    assert.ok(seen.has('farm_a') && seen.has('farm_b'));
  });

  test('asicd status: a stale or offline device is offline, with one message on each change', async () => {
    const miner = await publisher('nrstale');
    const t = publishers.at(-1)!;
    await helper.load(
      nodes,
      flow('nrstale', [
        { id: 's', type: 'asicd status', device: 'dev', staleAfter: 1, wires: [['out'], ['changes']] },
        { id: 'changes', type: 'helper' },
      ]),
      { dev: { username: '', password: '' } },
    );
    const out = helper.getNode('out');
    const changes = helper.getNode('changes');
    const seen: Msg[] = [];
    changes.on('input', (m: Msg) => seen.push(m));
    await nextMessage(out); // the retained state (not proof of life)
    const live = nextMessage(out, (m) => m.payload.mining === 'paused');
    await miner.control.pause(); // a live state
    assert.equal((await live).online, true);
    // No live state for > 1 s: stale → offline, one message.
    const stale = await nextMessage(changes, (m) => m.payload.online === false, 5000);
    assert.equal(stale.deviceId, 'nrstale');
    assert.equal(stale.payload.reason, 'stale');
    const back = nextMessage(changes, (m) => m.payload.online === true, 5000);
    const flagged = nextMessage(out, (m) => m.payload.mining === 'running');
    await miner.control.resume();
    assert.equal((await back).payload.reason, 'state');
    assert.equal((await flagged).availability, 'online');
    // The miner stops: its last will / offline message → offline, one message.
    const gone = nextMessage(
      changes,
      (m) => m.payload.online === false && m.payload.reason === 'offline',
      5000,
    );
    await t.stop();
    await gone;
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual(
      seen.map((m) => `${m.payload.online}:${m.payload.reason}`),
      ['false:stale', 'true:state', 'false:offline'],
      'one message per change, none repeated while offline',
    );
  });
});
