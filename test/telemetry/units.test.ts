/**
 * Unit tests of the pure telemetry pieces: command parsing, device id, backoff, URL sanitising,
 * and the reconnect schedule driven by a ManualClock.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sanitizePoolUrl } from '../../host/api/sanitize.ts';
import { applyCommand, parseCommand } from '../../host/telemetry/commands.ts';
import { deriveDeviceId, sanitizeDeviceId } from '../../host/telemetry/device-id.ts';
import { MqttTelemetry } from '../../host/telemetry/mqtt.ts';
import { validateBaseTopic } from '../../host/telemetry/topics.ts';
import { Backoff } from '../../lib/backoff.ts';
import { ManualClock } from '../../lib/clock.ts';
import { FakeMiner, sampleState } from '../helpers/fake-miner.ts';
import { freePort, waitFor } from '../helpers/net.ts';

const limits = sampleState().limits;

test('parseCommand accepts the schema and names the field on errors', () => {
  assert.deepEqual(parseCommand('{"command":"pause"}', limits, 2), {
    ok: true,
    id: null,
    cmd: { command: 'pause' },
  });
  const fan = parseCommand('{"id":7,"command":"fan","percent":40}', limits, 2);
  assert.deepEqual(fan, {
    ok: true,
    id: 7,
    cmd: { command: 'fan', setting: { mode: 'manual', percent: 40 } },
  });
  const cases: Array<[string, RegExp]> = [
    ['not json', /malformed JSON/],
    ['[1,2]', /must be a JSON object/],
    ['{"command":3}', /'command' must be a string/],
    ['{"id":{},"command":"pause"}', /'id' must be/],
    ['{"command":"frequency"}', /'mhz' is missing/],
    ['{"command":"frequency","mhz":199.9}', /out of range 200\.\.800/],
    ['{"command":"frequency","mhz":null}', /'mhz' must be a number/],
    ['{"command":"fan","mode":"turbo"}', /'mode' must be 'auto' or 'manual'/],
    ['{"command":"pool","index":0.5}', /'index' must be an integer/],
    ['{"command":"pool","index":2}', /out of range 0\.\.1/],
    ['{"command":"reboot"}', /unknown command 'reboot'/],
    [`{"command":"pause","pad":"${'x'.repeat(5000)}"}`, /too large/],
  ];
  for (const [payload, re] of cases) {
    const r = parseCommand(payload, limits, 2);
    assert.equal(r.ok, false, payload.slice(0, 40));
    if (!r.ok) assert.match(r.error, re, payload.slice(0, 40));
  }
  const none = parseCommand('{"command":"pool","index":0}', limits, 0);
  assert.ok(!none.ok && /no pools/.test(none.error));
});

test('applyCommand drives MinerControl and reports the applied frequency', async () => {
  const m = new FakeMiner();
  const r = parseCommand('{"command":"frequency","mhz":333}', limits, 2);
  assert.ok(r.ok);
  assert.deepEqual(await applyCommand(r.cmd, m.control), { mhz: 333 });
  assert.deepEqual(m.calls, [{ method: 'setFrequency', args: [333] }]);
  m.state = { ...m.state, overheat: { active: true } };
  await assert.rejects(applyCommand({ command: 'resume' }, m.control), /overheat/);
});

test('device id: configured wins, then serial, then first physical MAC (sorted), then hostname', () => {
  const ifaces = {
    wlan0: [{ mac: 'b8:27:eb:00:00:02', internal: false }],
    eth0: [{ mac: 'b8:27:eb:00:00:01', internal: false }],
    lo: [{ mac: '00:00:00:00:00:00', internal: true }],
  } as unknown as NodeJS.Dict<import('node:os').NetworkInterfaceInfo[]>;
  assert.equal(deriveDeviceId({ configured: 'Garage Miner #1', interfaces: ifaces }), 'garage_miner_1');
  assert.equal(deriveDeviceId({ serial: '10000000abcdef', interfaces: ifaces }), 's10000000abcdef');
  assert.equal(deriveDeviceId({ serial: '', interfaces: ifaces }), 'b827eb000001');
  assert.equal(
    deriveDeviceId({ serial: '', interfaces: { lo: ifaces.lo }, hostname: 'Pi-4.local' }),
    'pi-4_local',
  );
  assert.throws(() => deriveDeviceId({ configured: '###' }), /device id "###" is invalid/);
  assert.equal(sanitizeDeviceId('A'.repeat(80)).length, 48);
  assert.throws(() => validateBaseTopic('asicd/+/x'), /invalid/);
});

test('backoff grows exponentially with jitter, capped, and resets', () => {
  const b = new Backoff({ initialMs: 100, maxMs: 1000, factor: 2, jitter: 0.5, random: () => 1 });
  assert.deepEqual([b.next(), b.next(), b.next(), b.next(), b.next()], [50, 100, 200, 400, 500]);
  const nj = new Backoff({ initialMs: 100, maxMs: 1000, jitter: 0, random: () => 0.7 });
  assert.deepEqual([nj.next(), nj.next(), nj.next()], [100, 200, 400]);
  nj.reset();
  assert.equal(nj.next(), 100);
});

test('sanitizePoolUrl strips credentials', () => {
  assert.equal(sanitizePoolUrl('stratum+tcp://user.w:p%40ss@pool:3333'), 'stratum+tcp://pool:3333');
  assert.equal(sanitizePoolUrl('stratum+ssl://pool:443/x'), 'stratum+ssl://pool:443/x');
});

test('reconnect follows our backoff on the injected clock (no broker listening)', async () => {
  const port = await freePort(); // nothing listens here
  const clock = new ManualClock();
  const m = new FakeMiner('rc');
  const t = new MqttTelemetry(m, {
    url: `mqtt://127.0.0.1:${port}`,
    deviceId: 'rc',
    clock,
    reconnect: { initialMs: 1000, factor: 2, maxMs: 8000, jitter: 0 },
  });
  t.start();
  await waitFor(() => t.stats().reconnectAttempts === 1, 'first failure scheduled a retry');
  clock.advance(999);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(t.stats().reconnectAttempts, 1, 'no retry before the delay');
  clock.advance(1);
  await waitFor(() => t.stats().reconnectAttempts === 2, 'retry after 1000 ms');
  clock.advance(1999);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(t.stats().reconnectAttempts, 2, 'second delay is 2000 ms');
  clock.advance(1);
  await waitFor(() => t.stats().reconnectAttempts === 3, 'retry after 2000 ms');
  // Mining side unaffected: events while down are queued (bounded), nothing throws.
  m.emit({ type: 'share_accepted', time: 0, pool: 0, difficulty: 1 });
  assert.equal(t.stats().eventsQueued, 1);
  await t.stop();
  assert.equal(clock.pending(), 0, 'stop() cleared every timer');
});
