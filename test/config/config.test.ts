import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, describeConfig, loadConfig, optionsHelp, poolsOf } from '../../host/config.ts';

const dir = mkdtempSync(join(tmpdir(), 'asicd-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe('configuration', () => {
  it('precedence: defaults < file < ASICD_* env < flags', () => {
    const f = file(
      'a.yaml',
      'board: bitaxe-gamma\nfrequency: 500\nlog:\n  level: warn\nmqtt:\n  url: mqtt://file:1883\n',
    );
    const cfg = loadConfig({
      command: 'run',
      argv: ['--config', f, '--frequency', '550'],
      env: { ASICD_MQTT_URL: 'mqtt://env:1883', ASICD_LOG_LEVEL: 'debug' },
    });
    assert.equal(cfg.board, 'bitaxe-gamma');
    assert.equal(cfg.frequency, 550);
    assert.equal(cfg['mqtt.url'], 'mqtt://env:1883');
    assert.equal(cfg['log.level'], 'debug');
    assert.equal(cfg['api.listen'], '127.0.0.1:4028');
  });

  it('--pool repeats in priority order; per-pool credentials from the file', () => {
    const cfg = loadConfig({
      command: 'run',
      argv: ['--pool', 'stratum+tcp://a:1', '--pool=stratum+tcp://b:2', '--user', 'bc1q.w1'],
      env: {},
    });
    assert.deepEqual(poolsOf(cfg), [
      { url: 'stratum+tcp://a:1', user: 'bc1q.w1', pass: 'x' },
      { url: 'stratum+tcp://b:2', user: 'bc1q.w1', pass: 'x' },
    ]);
    const f = file(
      'p.yaml',
      'user: main.w\npools:\n  - url: stratum+tcp://p:1\n    user: other.w\n    pass: secret1\n  - stratum+tcp://q:2\n',
    );
    assert.deepEqual(poolsOf(loadConfig({ command: 'run', argv: ['--config', f], env: {} })), [
      { url: 'stratum+tcp://p:1', user: 'other.w', pass: 'secret1' },
      { url: 'stratum+tcp://q:2', user: 'main.w', pass: 'x' },
    ]);
  });

  const bad: Array<[string, string[], Record<string, string>, RegExp]> = [
    [
      'frequency out of range',
      ['--frequency', '5000'],
      {},
      /^frequency \(--frequency\): 5000 is outside the allowed range 50 to 1000/,
    ],
    ['chips not whole', ['--chips', '2.5'], {}, /^chips \(--chips\): expected a whole number/],
    ['log format choice', ['--log-format', 'xml'], {}, /^log\.format .*"xml" is not one of json, pretty/],
    ['unknown flag', ['--frobnicate', '1'], {}, /--frobnicate: unknown option/],
    ['missing value', ['--pool'], {}, /--pool: needs a value/],
    [
      'env bad number',
      [],
      { ASICD_THERMAL_MAX_TEMP: 'hot' },
      /^thermal\.maxTemp \(ASICD_THERMAL_MAX_TEMP\): expected a number/,
    ],
    ['bad fan', ['--fan', '140'], {}, /^fan \(--fan\): "140" must be "auto" or a duty from 0 to 100/],
    ['demo-only flag on run', ['--pool-port', '3333'], {}, /--pool-port: unknown option for "asicd run"/],
    [
      'mqtt URL scheme',
      ['--mqtt', 'http://x'],
      {},
      /^mqtt\.url \(--mqtt\): "http:\/\/x" is invalid: expected mqtt:\/\/host/,
    ],
    ['api listen form', ['--api-listen', 'localhost'], {}, /^api\.listen .* expected HOST:PORT/],
    [
      'metrics listen port',
      ['--metrics-listen', '0.0.0.0:99999x'],
      {},
      /^metrics\.listen .* expected HOST:PORT/,
    ],
  ];
  for (const [name, argv, env, re] of bad) {
    it(`bad input names the key: ${name}`, () => {
      assert.throws(
        () => loadConfig({ command: 'run', argv, env }),
        (err: unknown) => err instanceof ConfigError && re.test(err.message),
      );
    });
  }

  it('a config file with an unknown key or bad YAML is refused with the file name', () => {
    assert.throws(
      () => loadConfig({ command: 'run', argv: ['--config', file('u.yaml', 'bord: x\n')], env: {} }),
      /u\.yaml: unknown key "bord"/,
    );
    assert.throws(
      () => loadConfig({ command: 'run', argv: ['--config', file('y.yaml', 'a: [1,\n')], env: {} }),
      /y\.yaml/,
    );
    assert.throws(
      () => loadConfig({ command: 'run', argv: ['--config', join(dir, 'missing.yaml')], env: {} }),
      /missing\.yaml/,
    );
  });

  it('passwords never appear in the printable configuration', () => {
    const cfg = loadConfig({
      command: 'run',
      argv: ['--pool', 'stratum+tcp://a:1', '--pass', 'hunter2', '--mqtt-pass', 'sekrit'],
      env: {},
    });
    const text = JSON.stringify(describeConfig(cfg));
    assert.ok(!text.includes('hunter2') && !text.includes('sekrit'), text);
    assert.match(text, /\*\*\*/);
  });

  it('--no-thermal turns protection off only when said explicitly', () => {
    assert.equal(loadConfig({ command: 'run', argv: [], env: {} })['thermal.enabled'], true);
    assert.equal(loadConfig({ command: 'run', argv: ['--no-thermal'], env: {} })['thermal.enabled'], false);
  });

  it('help lists every flag with its config key and environment variable', () => {
    const h = optionsHelp('run');
    assert.match(h, /--pool A\[,B\]/);
    assert.match(h, /env: ASICD_MQTT_URL/);
    assert.doesNotMatch(h, /pool-port/);
  });
});
