/**
 * MQTT over TLS against a real mosquitto: a throw-away CA (openssl) signs the broker's certificate for
 * 127.0.0.1; the broker listens with TLS only on a free loopback port. `asicd demo --mqtt mqtts://… --mqtt-ca
 * <ca.pem>` connects and publishes its state (read back by a TLS subscriber that trusts the same CA); with
 * another CA it does not connect and says why (`mqtt_tls_error` naming --mqtt-ca and the file).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import type { MinerState } from '../../host/api/types.ts';
import { tlsHint } from '../../host/telemetry/mqtt.ts';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/net.ts';
import { type AsicdProcess, asicd } from '../helpers/proc.ts';

const dir = mkdtempSync(join(tmpdir(), 'asicd-tls-'));
const f = (name: string) => join(dir, name);
let broker: Mosquitto | undefined;
let sub: MqttClient | undefined;
const daemons: AsicdProcess[] = [];

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A CA (EC P-256, self-signed, 2 days). */
function makeCa(name: string): void {
  openssl(
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.pem`,
    '-days',
    '2',
    '-subj',
    `/CN=asicd test ${name}`,
  );
}

before(async () => {
  makeCa('ca');
  makeCa('other-ca');
  openssl(
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    'broker.key',
    '-out',
    'broker.csr',
    '-subj',
    '/CN=127.0.0.1',
  );
  writeFileSync(f('san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl(
    'x509',
    '-req',
    '-in',
    'broker.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'broker.pem',
    '-days',
    '2',
    '-extfile',
    'san.ext',
  );
  // mosquitto started as root drops to its own user before it reads the certificates: let it read
  // these throw-away files.
  chmodSync(dir, 0o755);
  for (const n of ['ca.pem', 'broker.pem', 'broker.key']) chmodSync(f(n), 0o644);
  broker = await startMosquitto({
    tls: { cafile: f('ca.pem'), certfile: f('broker.pem'), keyfile: f('broker.key') },
  });
});

after(async () => {
  for (const d of daemons) await d.stop();
  await sub?.endAsync();
  await broker?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('mqtts:// with the CA that signed the broker: connected, state published', {
  timeout: 120_000,
}, async () => {
  const b = broker!;
  assert.match(b.url, /^mqtts:\/\/127\.0\.0\.1:\d+$/);
  const seen: Array<{ topic: string; text: string }> = [];
  sub = mqtt.connect(b.url, { ca: readFileSync(f('ca.pem')), reconnectPeriod: 200 });
  sub.on('error', () => {});
  sub.on('message', (topic, payload) => seen.push({ topic, text: payload.toString() }));
  await sub.subscribeAsync(['asicd/tls-ok/#', 'asicd/tls-bad/#'], { qos: 1 });

  const d = asicd([
    'demo',
    ...['--mqtt', b.url, '--mqtt-ca', f('ca.pem'), '--device-id', 'tls-ok', '--mqtt-interval', '1'],
    ...['--log-format', 'json', '--no-status'],
  ]);
  daemons.push(d);
  await waitFor(
    () => seen.some((m) => m.topic === 'asicd/tls-ok/availability' && m.text === 'online'),
    () => `online over TLS (${d.output().slice(-2000)} | broker: ${b.log()})`,
    60_000,
  );
  await waitFor(
    () => seen.some((m) => m.topic === 'asicd/tls-ok/state'),
    () => `state over TLS (${d.output().slice(-2000)})`,
    60_000,
  );
  const st = JSON.parse(seen.find((m) => m.topic === 'asicd/tls-ok/state')!.text) as MinerState;
  assert.equal(st.device.id, 'tls-ok');
  assert.ok(!d.output().includes('mqtt_tls_error'));
});

test('mqtts:// with a CA that did not sign the broker: no connection, a clear error', {
  timeout: 120_000,
}, async () => {
  const b = broker!;
  const d = asicd([
    'demo',
    ...['--mqtt', b.url, '--mqtt-ca', f('other-ca.pem'), '--device-id', 'tls-bad', '--mqtt-interval', '1'],
    ...['--log-format', 'json', '--no-status'],
  ]);
  daemons.push(d);
  await waitFor(
    () => d.output().includes('"mqtt_tls_error"'),
    () => `the TLS error line (${d.output().slice(-2000)})`,
    60_000,
  );
  const line = d
    .output()
    .split('\n')
    .find((l) => l.includes('"mqtt_tls_error"'))!;
  const rec = JSON.parse(line.slice(line.indexOf('{'))) as { hint: string; url: string; level: string };
  assert.equal(rec.level, 'error');
  assert.equal(rec.url, b.url);
  assert.match(rec.hint, /not signed by the CA in --mqtt-ca/);
  assert.ok(rec.hint.includes(f('other-ca.pem')), 'names the CA file');
  // Mining goes on without the broker (the demo keeps running), and nothing reached the broker.
  assert.equal(d.proc.exitCode, null);
  const retained = await new Promise<number>((resolve) => {
    const c = mqtt.connect(b.url, { ca: readFileSync(f('ca.pem')) });
    let n = 0;
    c.on('message', (t) => {
      if (t.startsWith('asicd/tls-bad/')) n++;
    });
    c.on('connect', () => {
      // The broker sends retained messages right after the SUBACK; a publish to ourselves marks the end.
      void c
        .subscribeAsync(['asicd/tls-bad/#', 'asicd/tls-probe'], { qos: 1 })
        .then(() => c.publish('asicd/tls-probe', 'x', { qos: 1 }));
    });
    c.on('message', (t) => {
      if (t === 'asicd/tls-probe') void c.endAsync().then(() => resolve(n));
    });
  });
  assert.equal(retained, 0, 'nothing from the daemon with the wrong CA reached the broker');
});

test('TLS refusal hints name the fix (pure)', () => {
  const e = (code: string) => Object.assign(new Error(code), { code });
  const o = { url: 'mqtts://broker.lan:8883', caFile: '/etc/asicd/ca.pem' };
  assert.match(
    tlsHint(e('SELF_SIGNED_CERT_IN_CHAIN'), o)!,
    /not signed by the CA in --mqtt-ca \(\/etc\/asicd\/ca\.pem\)/,
  );
  assert.match(tlsHint(e('UNABLE_TO_GET_ISSUER_CERT_LOCALLY'), { url: o.url })!, /the system's CAs/);
  assert.match(
    tlsHint(e('ERR_TLS_CERT_ALTNAME_INVALID'), o)!,
    /does not name the host in mqtts:\/\/broker\.lan:8883/,
  );
  assert.match(tlsHint(e('CERT_HAS_EXPIRED'), o)!, /validity period/);
  assert.equal(
    tlsHint(e('ECONNREFUSED'), o),
    undefined,
    'not a certificate problem: the plain mqtt_error line',
  );
});
