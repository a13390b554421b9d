/**
 * Config edges (issue 12 item 7): every value, key and address is validated before anything is opened,
 * errors name the key and its source (file, env, flag), near misses get a "did you mean", and secrets
 * in URLs are taken out as credentials and never printed.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  ConfigError,
  checkListenAddresses,
  describeConfig,
  loadConfig,
  poolsOf,
  sourceOf,
} from '../../host/config.ts';

const dir = mkdtempSync(join(tmpdir(), 'asicd-validate-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const file = (text: string) => {
  const p = join(dir, `c${n++}.yaml`);
  writeFileSync(p, text);
  return p;
};
const load = (argv: string[], env: Record<string, string> = {}, command = 'run') =>
  loadConfig({ command, argv, env });
const fails = (argv: string[], env: Record<string, string>, re: RegExp, secret?: string) =>
  assert.throws(
    () => load(argv, env),
    (e: Error) => {
      assert.ok(e instanceof ConfigError, `${e.name}: ${e.message}`);
      assert.match(e.message, re);
      if (secret) assert.ok(!e.message.includes(secret), `secret in: ${e.message}`);
      return true;
    },
  );

describe('config validated up front', () => {
  it('pools: 5 is a clear error naming the key and the file', () => {
    const f = file('pools: 5\n');
    fails(['--config', f], {}, new RegExp(`^pools \\(${f}\\): expected a list of pool URLs .*got number`));
  });

  it('a misspelt key inside a pool entry is refused with a did-you-mean', () => {
    const f = file('pools:\n  - url: stratum+tcp://p:1\n    usr: me.w\n');
    fails(
      ['--config', f],
      {},
      /^pools\[0\] \(.*\): unknown key "usr" \(did you mean "user"\?\); a pool entry takes url, user, pass/,
    );
    fails(['--config', file('pools:\n  - [1, 2]\n')], {}, /pools\[0\].*expected a pool URL or a mapping/);
    fails(['--config', file('pools:\n  - user: a\n')], {}, /pools\[0\].*needs a "url"/);
  });

  it('unknown keys, flags and near-miss env names get a did-you-mean; sections must be mappings', () => {
    fails(['--config', file('frequncy: 500\n')], {}, /unknown key "frequncy" \(did you mean "frequency"\?\)/);
    fails(
      ['--config', file('mqtt:\n  ur: mqtt://h\n')],
      {},
      /unknown key "mqtt.ur" \(did you mean "mqtt.url"\?\)/,
    );
    fails(
      ['--config', file('mqtt: 5\n')],
      {},
      /^mqtt \(.*\): expected a mapping with mqtt.url, .*got number/,
    );
    fails(
      ['--frequncy', '500'],
      {},
      /--frequncy: unknown option for "asicd run" \(did you mean "--frequency"\?\)/,
    );
    fails(
      [],
      { ASICD_FREQUNCY: '500' },
      /ASICD_FREQUNCY: unknown environment variable \(did you mean "ASICD_FREQUENCY"\?\)/,
    );
    // Unrelated ASICD_* variables (benches, tests) are no error.
    assert.doesNotThrow(() => load([], { ASICD_FUZZ_LINES: '5' }));
  });

  it('listen addresses: shape checked at load, naming key and source', () => {
    fails(
      ['--api-listen', 'not a host:4028'],
      {},
      /^api\.listen \(--api-listen\): "not a host:4028" is invalid/,
    );
    fails([], { ASICD_API_LISTEN: '127.0.0.1:99999' }, /^api\.listen \(ASICD_API_LISTEN\)/);
    fails(['--metrics-listen', '[::zz]:9100'], {}, /^metrics\.listen \(--metrics-listen\)/);
    fails(['--config', file('api:\n  listen: 300.1.1.1:1\n')], {}, /^api\.listen \(.*c\d+\.yaml\)/);
    assert.equal(load(['--api-listen', '[::1]:0'])['api.listen'], '[::1]:0');
    assert.equal(load(['--api-listen', 'localhost:0'])['api.listen'], 'localhost:0');
  });

  it('listen addresses are tried before any device is opened: port in use, foreign address', async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as { port: number }).port;
    try {
      await assert.rejects(
        checkListenAddresses(load(['--api-listen', 'off', '--metrics-listen', `127.0.0.1:${port}`])),
        (e: Error) =>
          e instanceof ConfigError &&
          /^metrics\.listen \(--metrics-listen\): cannot listen on .*EADDRINUSE/.test(e.message),
      );
    } finally {
      await new Promise((r) => busy.close(r));
    }
    await assert.rejects(
      checkListenAddresses(load(['--api-listen', '192.0.2.1:0'])),
      /^ConfigError: api\.listen \(--api-listen\): cannot listen on 192\.0\.2\.1:0: EADDRNOTAVAIL/,
    );
    await checkListenAddresses(load(['--api-listen', '127.0.0.1:0', '--metrics-listen', '127.0.0.1:0']));
  });

  it('pool URL with user-info: user and password taken out, password never printed', () => {
    const cfg = load([
      '--pool',
      'stratum+tcp://bc1q.w7:Pw%2FUrl55@pool.example:3333',
      '--pool',
      'stratum+tcp://w8@p2:1',
    ]);
    assert.deepEqual(poolsOf(cfg), [
      { url: 'stratum+tcp://pool.example:3333', user: 'bc1q.w7', pass: 'Pw/Url55' },
      { url: 'stratum+tcp://p2:1', user: 'w8', pass: 'x' },
    ]);
    assert.ok(!JSON.stringify(describeConfig(cfg)).includes('Pw'));
    // A URL that is still bad after the user-info is taken out: refused, the secret masked.
    fails(
      ['--pool', 'stratum+tcp://w:TopSecret9@bad host:1'],
      {},
      /^pools\[0\] \(--pool\): "stratum\+tcp:\/\/bad host:1" is not a pool URL/,
      'TopSecret9',
    );
    fails(['--pool', 'http://w:TopSecret9@h:1'], {}, /scheme "http" is not a Stratum scheme/, 'TopSecret9');
    fails(['--pool', 'stratum+tcp://h:0'], {}, /is not a pool URL/);
    // Credentials in the URL and in the entry: ambiguous.
    fails(
      ['--config', file('pools:\n  - url: stratum+tcp://u:Abc12345@h:1\n    pass: Other999\n')],
      {},
      /give them once/,
      'Abc12345',
    );
  });

  it('MQTT URL with user-info: taken out as mqtt.user/mqtt.pass (source: the URL option), never printed', () => {
    const cfg = load(['--mqtt', 'mqtt://mq-user:MqSecret42@127.0.0.1:1883']);
    assert.equal(cfg['mqtt.url'], 'mqtt://127.0.0.1:1883');
    assert.equal(cfg['mqtt.user'], 'mq-user');
    assert.equal(cfg['mqtt.pass'], 'MqSecret42');
    assert.equal(sourceOf(cfg, 'mqtt.pass'), '--mqtt');
    assert.ok(!JSON.stringify(describeConfig(cfg)).includes('MqSecret42'));
    fails(
      ['--mqtt', 'mqtt://u:MqSecret42@h', '--mqtt-pass', 'Other4444'],
      {},
      /^mqtt\.url \(--mqtt\) carries a password and mqtt\.pass \(--mqtt-pass\)/,
      'MqSecret42',
    );
    fails(
      [],
      { ASICD_MQTT_URL: 'http://u:EnvSecret1@h' },
      /^mqtt\.url \(ASICD_MQTT_URL\): ".*\*\*\*@h" is invalid/,
      'EnvSecret1',
    );
  });

  it('types, ranges and relations name the key and the source', () => {
    fails(
      ['--config', file('thermal:\n  targetTemp: 70\n  maxTemp: 60\n')],
      {},
      /thermal\.targetTemp \(.*\): 70 °C must be below thermal\.maxTemp/,
    );
    fails(['--mqtt-ca', join(dir, 'nope.pem')], {}, /^mqtt\.ca \(--mqtt-ca\): file ".*nope\.pem" not found/);
    fails(['--api-allow', '10.0.0.0/40'], {}, /^api\.allow \(--api-allow\): "10\.0\.0\.0\/40"/);
    fails(['--config', file('chips: many\n')], {}, /^chips \(.*\): expected a number/);
    fails([], { ASICD_FAN: '140' }, /^fan \(ASICD_FAN\)/);
    assert.doesNotThrow(() => load(['--api-allow', 'W:10.0.0.0/24,127.0.0.1,::1']));
  });
});
