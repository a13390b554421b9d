/**
 * The pool policy's options reach it from every configuration source (flag, environment, file) with the
 * usual keys, in seconds, range-checked; poolPolicyOf() turns them into PoolManager options (ms).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig, optionsHelp, poolPolicyOf } from '../../host/config.ts';

describe('pool policy options', () => {
  it('defaults: silence 120 s, submit timeout 10 s, probes up to every 60 s (first after 5 s), 5 unanswered, 10 rejects', () => {
    const cfg = loadConfig({ argv: [], env: {}, command: 'run' });
    assert.deepEqual(poolPolicyOf(cfg), {
      silenceMs: 120_000,
      submitTimeoutMs: 10_000,
      probeIntervalMs: 60_000,
      probeFirstMs: 5000,
      unansweredSubmits: 5,
      rejectRun: 10,
      standbyProbeMs: 60_000,
    });
  });

  it('flags, environment and file (flags win over env over file)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'asicd-policy-'));
    try {
      const file = join(dir, 'asicd.yaml');
      writeFileSync(
        file,
        'pool:\n  silenceTimeout: 45\n  submitTimeout: 4\n  probeInterval: 30\n  rejectRun: 7\n',
      );
      const cfg = loadConfig({
        argv: ['--config', file, '--pool-submit-timeout', '2.5', '--pool-unanswered-submits=3'],
        env: { ASICD_POOL_PROBE_INTERVAL: '20', ASICD_POOL_SUBMIT_TIMEOUT: '8' },
        command: 'run',
      });
      assert.deepEqual(poolPolicyOf(cfg), {
        silenceMs: 45_000,
        submitTimeoutMs: 2500,
        probeIntervalMs: 20_000,
        probeFirstMs: 5000,
        unansweredSubmits: 3,
        rejectRun: 7,
        standbyProbeMs: 60_000,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the standby probe interval: flag, environment and file; 0 = never; 1..4 s and out of range refused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'asicd-policy-'));
    try {
      const file = join(dir, 'asicd.yaml');
      writeFileSync(file, 'pool:\n  standbyProbeInterval: 300\n');
      const fromFile = loadConfig({ argv: ['--config', file], env: {}, command: 'run' });
      assert.equal(poolPolicyOf(fromFile).standbyProbeMs, 300_000);
      const fromEnv = loadConfig({
        argv: ['--config', file],
        env: { ASICD_POOL_STANDBY_PROBE_INTERVAL: '0' },
        command: 'run',
      });
      assert.equal(poolPolicyOf(fromEnv).standbyProbeMs, 0);
      const fromFlag = loadConfig({
        argv: ['--config', file, '--pool-standby-probe-interval', '15'],
        env: { ASICD_POOL_STANDBY_PROBE_INTERVAL: '0' },
        command: 'run',
      });
      assert.equal(poolPolicyOf(fromFlag).standbyProbeMs, 15_000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    for (const bad of ['2', '-1', '100000', 'soon'])
      assert.throws(
        () => loadConfig({ argv: ['--pool-standby-probe-interval', bad], env: {}, command: 'run' }),
        (e: unknown) => e instanceof ConfigError && /pool\.standbyProbeInterval/.test(e.message),
        bad,
      );
    const h = optionsHelp('run');
    assert.ok(h.includes('--pool-standby-probe-interval'));
    assert.ok(h.includes('ASICD_POOL_STANDBY_PROBE_INTERVAL'));
  });

  it('out-of-range values are refused with the key named; help lists the keys', () => {
    assert.throws(
      () => loadConfig({ argv: ['--pool-submit-timeout', '0'], env: {}, command: 'run' }),
      ConfigError,
    );
    assert.throws(
      () => loadConfig({ argv: [], env: { ASICD_POOL_SILENCE_TIMEOUT: '1' }, command: 'run' }),
      /silence/i,
    );
    const h = optionsHelp('run');
    for (const k of ['pool-silence-timeout', 'pool-submit-timeout', 'pool-probe-interval', 'pool-reject-run'])
      assert.ok(h.includes(`--${k}`), k);
    assert.ok(h.includes('ASICD_POOL_SUBMIT_TIMEOUT'));
  });
});
