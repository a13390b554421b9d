/**
 * MQTT telemetry end to end against a real mosquitto: retained state and availability, last will,
 * change-driven publishes, events, commands (enabled, disabled, malformed, out of range, retained),
 * broker killed and restarted, bounded buffering.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { MinerState } from '../../host/api/types.ts';
import type { CommandReply } from '../../host/telemetry/commands.ts';
import { MqttTelemetry, type MqttTelemetryOptions } from '../../host/telemetry/mqtt.ts';
import { FakeMiner } from '../helpers/fake-miner.ts';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/net.ts';
import { type Watcher, watch } from './mqtt-watch.ts';

let broker: Mosquitto;
let seq = 0;

before(async () => {
  broker = await startMosquitto();
});
after(async () => {
  await broker.stop();
});

async function setup(opts: Partial<MqttTelemetryOptions> = {}, miner?: FakeMiner) {
  const id = `dev${++seq}_${process.pid}`;
  const m = miner ?? new FakeMiner(id);
  const t = new MqttTelemetry(m, {
    url: broker.url,
    deviceId: id,
    intervalMs: 60_000,
    debounceMs: 20,
    reconnect: { initialMs: 50, maxMs: 200 },
    discoveryPrefix: `ha_${id}`,
    ...opts,
  });
  return { id, miner: m, t };
}

function parseReply(w: Watcher, id: string): Promise<CommandReply> {
  return w
    .waitFor(
      (m) => m.topic.endsWith('/cmd/reply') && (JSON.parse(m.text) as CommandReply).id === id,
      `reply ${id}`,
    )
    .then((m) => JSON.parse(m.text) as CommandReply);
}

describe('mqtt telemetry (mosquitto)', () => {
  test('retained state and availability; no password; last will on abrupt loss; republish on reconnect', async () => {
    const { id, miner, t } = await setup();
    miner.quietPatch({
      pool: { ...miner.state.pool!, url: 'stratum+tcp://bc1quser:secretpass@pool.example:3333' },
    });
    t.start();
    await t.waitConnected();
    // A late subscriber gets retained state and availability.
    const w = await watch(broker.url, [`asicd/${id}/#`]);
    const st = await w.waitFor((m) => m.topic === `asicd/${id}/state`, 'retained state');
    assert.equal(st.retain, true);
    const state = JSON.parse(st.text) as MinerState;
    assert.equal(state.device.id, id);
    assert.equal(state.hashrate.now, miner.state.hashrate.now);
    assert.equal(state.pool?.url, 'stratum+tcp://pool.example:3333');
    assert.ok(!st.text.includes('secretpass'), 'no password in state');
    const av = await w.waitFor((m) => m.topic === `asicd/${id}/availability`, 'availability');
    assert.equal(av.text, 'online');
    assert.equal(av.retain, true);

    // Abrupt loss of the client's socket: the broker publishes the last will.
    w.seen.length = 0;
    t.mqttClient!.stream.destroy();
    await w.waitFor(
      (m) => m.topic === `asicd/${id}/availability` && m.text === 'offline',
      'last will offline',
    );
    // Our backoff reconnects, says online again and republishes the state.
    await w.waitFor(
      (m, i = w.seen.indexOf(m)) => m.topic === `asicd/${id}/availability` && m.text === 'online' && i > 0,
      'online again',
    );
    await w.waitFor((m) => m.topic === `asicd/${id}/state`, 'state republished after reconnect');
    assert.ok(t.stats().connects >= 2);
    await t.stop();
    // A clean stop leaves a retained offline.
    const w2 = await watch(broker.url, [`asicd/${id}/availability`]);
    const off = await w2.waitFor(() => true, 'retained availability after stop');
    assert.equal(off.text, 'offline');
    assert.equal(off.retain, true);
    await Promise.all([w.close(), w2.close()]);
    assert.equal(miner.listenerCount(), 0, 'stop() removed the event listener');
  });

  test('state publishes on change (debounced) and on the interval', async () => {
    const { id, miner, t } = await setup({ intervalMs: 60_000, debounceMs: 30 });
    t.start();
    await t.waitConnected();
    const w = await watch(broker.url, [`asicd/${id}/state`]);
    await w.waitFor(() => true, 'initial retained state');
    w.seen.length = 0;
    // A burst of changes coalesces into few publishes, the last one carrying the final value.
    for (let i = 0; i < 20; i++) miner.patch({ frequencyMhz: 500 + i });
    await w.waitFor((m) => (JSON.parse(m.text) as MinerState).frequencyMhz === 519, 'changed state');
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(w.seen.length <= 3, `debounced: ${w.seen.length} publishes for 20 changes`);
    await t.stop();
    await w.close();

    const s2 = await setup({ intervalMs: 50 });
    s2.t.start();
    await s2.t.waitConnected();
    await waitFor(() => s2.t.stats().statePublished >= 4, 'interval publishes');
    await s2.t.stop();
  });

  test('events are published not retained; state_changed is not an event', async () => {
    const { id, miner, t } = await setup();
    t.start();
    await t.waitConnected();
    const w = await watch(broker.url, [`asicd/${id}/event/+`]);
    miner.emit({ type: 'share_accepted', time: 1, pool: 0, difficulty: 2048, chain: 0, chip: 3 });
    miner.emit({ type: 'state_changed', time: 2 });
    miner.emit({ type: 'fault', time: 3, component: 'fan', severity: 'error', message: 'fan 0 stalled' });
    const ev = await w.waitFor((m) => m.topic === `asicd/${id}/event/share_accepted`, 'share event');
    assert.equal(ev.retain, false);
    assert.equal(JSON.parse(ev.text).difficulty, 2048);
    await w.waitFor((m) => m.topic === `asicd/${id}/event/fault`, 'fault event');
    assert.ok(!w.seen.some((m) => m.topic.endsWith('state_changed')));
    await t.stop();
    // Not retained: a new subscriber sees nothing.
    const w2 = await watch(broker.url, [`asicd/${id}/event/+`]);
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(w2.seen.length, 0);
    await Promise.all([w.close(), w2.close()]);
  });

  test('commands end to end: ok replies, errors change nothing', async () => {
    const { id, miner, t } = await setup({ commandsEnabled: true });
    t.start();
    await t.waitConnected();
    const w = await watch(broker.url, [`asicd/${id}/cmd/reply`, `asicd/${id}/state`]);
    const cmd = `asicd/${id}/cmd`;

    await w.publish(cmd, JSON.stringify({ id: 'p1', command: 'pause' }));
    let r = await parseReply(w, 'p1');
    assert.deepEqual({ ok: r.ok, command: r.command }, { ok: true, command: 'pause' });
    assert.equal(miner.state.mining, 'paused');
    await w.waitFor(
      (m) => m.topic.endsWith('/state') && JSON.parse(m.text).mining === 'paused',
      'state after pause',
    );

    await w.publish(cmd, JSON.stringify({ id: 'f1', command: 'fan', mode: 'manual', percent: 70 }));
    r = await parseReply(w, 'f1');
    assert.equal(r.ok, true);
    assert.equal(miner.state.fan.mode, 'manual');
    assert.equal(miner.state.fan.dutyPercent, 70);

    await w.publish(cmd, JSON.stringify({ id: 'q1', command: 'frequency', mhz: 550 }));
    r = await parseReply(w, 'q1');
    assert.deepEqual(r.result, { mhz: 550 });
    assert.equal(miner.state.frequencyMhz, 550);

    await w.publish(cmd, JSON.stringify({ id: 's1', command: 'pool', index: 1 }));
    r = await parseReply(w, 's1');
    assert.equal(r.ok, true);
    assert.equal(miner.state.pool?.index, 1);

    const callsBefore = miner.calls.length;
    const stateBefore = JSON.stringify(miner.state);
    // Out of range, malformed, unknown, wrong type: error replies naming the problem, nothing called.
    await w.publish(cmd, JSON.stringify({ id: 'bad1', command: 'frequency', mhz: 5000 }));
    r = await parseReply(w, 'bad1');
    assert.equal(r.ok, false);
    assert.match(r.error!, /mhz.*out of range 200\.\.800/);
    await w.publish(cmd, '{"id":"bad2","command":');
    await w.waitFor(
      (m) => m.topic.endsWith('/cmd/reply') && /malformed JSON/.test(JSON.parse(m.text).error ?? ''),
      'malformed reply',
    );
    await w.publish(cmd, JSON.stringify({ id: 'bad3', command: 'selfdestruct' }));
    assert.match((await parseReply(w, 'bad3')).error!, /unknown command 'selfdestruct'/);
    await w.publish(cmd, JSON.stringify({ id: 'bad4', command: 'fan', mode: 'manual', percent: '70' }));
    assert.match((await parseReply(w, 'bad4')).error!, /percent.*must be a number/);
    await w.publish(cmd, JSON.stringify({ id: 'bad5', command: 'pool', index: 7 }));
    assert.match((await parseReply(w, 'bad5')).error!, /index.*out of range 0\.\.1/);
    await w.publish(cmd, JSON.stringify({ id: 'bad6', command: 'fan', mode: 'manual', percent: 5 }));
    assert.match((await parseReply(w, 'bad6')).error!, /out of range 20\.\.100/);
    assert.equal(miner.calls.length, callsBefore, 'no control call for invalid commands');
    assert.equal(JSON.stringify(miner.state), stateBefore, 'state unchanged');

    // The daemon refusing is reported with its reason.
    miner.failNext = 'chain 0 not responding';
    await w.publish(cmd, JSON.stringify({ id: 'r1', command: 'restart' }));
    r = await parseReply(w, 'r1');
    assert.deepEqual({ ok: r.ok, error: r.error }, { ok: false, error: 'chain 0 not responding' });
    assert.ok(t.stats().commandsFailed >= 7);
    await t.stop();
    await w.close();
  });

  test('commands disabled: error reply, nothing changes', async () => {
    const { id, miner, t } = await setup({ commandsEnabled: false });
    t.start();
    await t.waitConnected();
    const w = await watch(broker.url, [`asicd/${id}/cmd/reply`]);
    await w.publish(`asicd/${id}/cmd`, JSON.stringify({ id: 'x', command: 'pause' }));
    const r = await parseReply(w, 'x');
    assert.equal(r.ok, false);
    assert.match(r.error!, /commands disabled/);
    assert.equal(miner.calls.length, 0);
    assert.equal(miner.state.mining, 'running');
    await t.stop();
    await w.close();
  });

  test('stale commands are not replayed: retained command ignored, no persistent session', async () => {
    const { id, miner, t } = await setup({ commandsEnabled: true });
    const w = await watch(broker.url, [`asicd/${id}/cmd/reply`]);
    await w.publish(`asicd/${id}/cmd`, JSON.stringify({ id: 'old', command: 'pause' }), { retain: true });
    t.start();
    await t.waitConnected();
    await waitFor(() => t.stats().retainedCommandsIgnored === 1, 'retained command seen and ignored');
    // A live command after it is still executed, proving the subscription works.
    await w.publish(`asicd/${id}/cmd`, JSON.stringify({ id: 'live', command: 'frequency', mhz: 400 }));
    await parseReply(w, 'live');
    assert.deepEqual(
      miner.calls.map((c) => c.method),
      ['setFrequency'],
    );
    assert.equal(miner.state.mining, 'running');
    assert.equal(t.mqttClient!.options.clean, true);
    await w.publish(`asicd/${id}/cmd`, '', { retain: true }); // clear the retained message
    await t.stop();
    await w.close();
  });

  test('broker killed and restarted: mining unaffected, bounded queue, state republished', async () => {
    const { id, miner, t } = await setup({ maxQueuedEvents: 10, eventRatePerSec: 1000 });
    t.start();
    await t.waitConnected();
    await broker.kill();
    await waitFor(() => !t.connected, 'telemetry notices the broker is gone');
    // Mining goes on: the source is read and changes while the broker is down.
    for (let i = 0; i < 200; i++) miner.emit({ type: 'share_accepted', time: i, pool: 0, difficulty: 1 });
    miner.patch({ frequencyMhz: 612 });
    t.publishState();
    assert.equal(t.stats().eventsQueued, 10, 'offline event queue is bounded');
    assert.ok(t.stats().eventsDropped >= 190);
    assert.ok(t.mqttClient!.queue.length === 0, 'mqtt.js offline queue stays empty');
    await new Promise((r) => setTimeout(r, 300)); // several failed reconnects
    assert.ok(t.stats().reconnectAttempts >= 2);
    await broker.restart();
    await t.waitConnected(10_000);
    // The restarted broker has no retained messages (persistence false): what we see was republished.
    const w = await watch(broker.url, [`asicd/${id}/#`]);
    const st = await w.waitFor((m) => m.topic === `asicd/${id}/state`, 'state after broker restart');
    assert.equal((JSON.parse(st.text) as MinerState).frequencyMhz, 612);
    await w.waitFor(
      (m) => m.topic === `asicd/${id}/availability` && m.text === 'online',
      'online after restart',
    );
    await waitFor(() => t.stats().eventsQueued === 0, 'queued events flushed');
    await t.stop();
    await w.close();
  });
});
