/**
 * The systemd unit: device groups (i2c, gpio, dialout, spi), state and config directories, the
 * command line asicd accepts, hardening that keeps the device classes it opens, and
 * `systemd-analyze security` exposure under 5 (run offline on the unit file where systemd-analyze
 * exists), Node options Node accepts and a compile cache outside the private /tmp. journald priorities
 * on log lines.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../host/config.ts';
import { withPriority } from '../../lib/journal.ts';

const UNIT = fileURLToPath(new URL('../../deploy/systemd/asicd.service', import.meta.url));
const text = readFileSync(UNIT, 'utf8');
const values = (key: string) =>
  text
    .split('\n')
    .filter((l) => l.startsWith(`${key}=`))
    .map((l) => l.slice(key.length + 1));

test('unit: groups, directories, devices, a command line asicd accepts', () => {
  assert.deepEqual(values('SupplementaryGroups'), ['i2c gpio dialout spi']);
  assert.deepEqual(values('User'), ['asicd']);
  assert.deepEqual(values('StateDirectory'), ['asicd']);
  assert.deepEqual(values('DevicePolicy'), ['closed']);
  const devices = values('DeviceAllow').join(' ');
  for (const d of ['char-i2c', 'char-gpiochip', 'char-ttyUSB', 'char-ttyS', 'char-ttyACM'])
    assert.match(devices, new RegExp(d), d);
  assert.deepEqual(values('NoNewPrivileges'), ['yes']);
  assert.deepEqual(values('ProtectSystem'), ['strict']);
  assert.deepEqual(values('MemoryDenyWriteExecute'), ['no'], 'V8 needs W+X pages');
  const exec = values('ExecStart')[0]!.split(' ');
  assert.equal(exec[2], 'run');
  // The flags parse (the config file itself is the user's).
  const argv = exec.slice(3).filter((a, i, all) => a !== '--config' && all[i - 1] !== '--config');
  const cfg = loadConfig({ command: 'run', argv, env: {} });
  assert.equal(cfg['state.file'], '/var/lib/asicd/state.json');
  assert.equal(cfg['log.format'], 'json');
});

test('unit: Node options Node accepts, and a compile cache that survives PrivateTmp', () => {
  const env = Object.fromEntries(
    values('Environment').map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]),
  );
  // Under PrivateTmp every start gets an empty /tmp: the compile cache must live in CacheDirectory.
  assert.deepEqual(values('PrivateTmp'), ['yes']);
  assert.deepEqual(values('CacheDirectory'), ['asicd']);
  assert.equal(env.NODE_COMPILE_CACHE, '/var/cache/asicd');
  // This Node refuses NODE_OPTIONS it does not allow there (exit 9): the unit's must start it.
  assert.ok(env.NODE_OPTIONS, 'NODE_OPTIONS');
  const out = execFileSync(process.execPath, ['-p', '"started"'], {
    env: { PATH: process.env.PATH, NODE_OPTIONS: env.NODE_OPTIONS },
    encoding: 'utf8',
  });
  assert.equal(out.trim(), 'started');
});

const analyze = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((p) => existsSync(p));
test('systemd-analyze security: exposure under 5', {
  skip: analyze ? false : 'systemd-analyze not installed (Debian: systemd)',
}, () => {
  let out: string;
  try {
    out = execFileSync(analyze!, ['security', '--offline=yes', '--no-pager', UNIT], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    out = String((err as { stdout?: string }).stdout ?? '');
  }
  const m = /Overall exposure level for asicd\.service: (\d+(?:\.\d+)?)/.exec(out);
  assert.ok(m, out.slice(-500));
  assert.ok(Number(m[1]) < 5, `exposure ${m[1]}`);
});

test('journald priorities: <3> error, <4> warn, <6> info, <7> debug, JSON and pretty lines', () => {
  assert.equal(
    withPriority('{"time":"t","level":"error","event":"x"}'),
    '<3>{"time":"t","level":"error","event":"x"}',
  );
  assert.equal(withPriority('{"time":"t","level":"warn","event":"x"}').slice(0, 3), '<4>');
  assert.equal(withPriority('{"time":"t","level":"info","event":"x"}').slice(0, 3), '<6>');
  assert.equal(withPriority('12:00:00.000 DEBUG [c] x').slice(0, 3), '<7>');
  assert.equal(withPriority('12:00:00.000 WARN  x').slice(0, 3), '<4>');
});
