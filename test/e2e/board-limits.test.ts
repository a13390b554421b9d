/**
 * Nothing out of the board's range reaches the chips, whatever the source of the setting: a frequency or
 * core voltage the board cannot take is refused (exit 2, naming key, source and range) when it comes from a
 * flag, env or the config file — before any device is opened — and ignored with a warning when it was saved
 * in the state file (perhaps on another board), the board's default applying.
 * Before: `--frequency 900` on a 625 MHz board ramped the PLL to 900 MHz at init (the clamp came after).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { StratumServer } from '../../host/pool/server.ts';
import { emptyState, saveState } from '../../host/state/store.ts';
import { waitFor } from '../helpers/net.ts';
import { type AsicdProcess, asicd } from '../helpers/proc.ts';

const dir = mkdtempSync(join(tmpdir(), 'asicd-limits-'));
const procs: AsicdProcess[] = [];
const pools: StratumServer[] = [];
after(async () => {
  for (const p of procs) await p.stop();
  for (const p of pools) await p.close();
  rmSync(dir, { recursive: true, force: true });
});

const common = (poolUrl: string) => [
  ...['--board', 'sim-gamma', '--pool', poolUrl, '--user', 'lim.worker'],
  ...['--api-listen', 'off', '--no-status', '--log-format', 'json'],
];

test('a frequency or voltage beyond sim-gamma (50–625 MHz, 1000–1250 mV) from a flag or env is refused before the board opens', {
  timeout: 60_000,
}, async () => {
  const url = 'stratum+tcp://127.0.0.1:1';
  const cases: Array<[string[], NodeJS.ProcessEnv, RegExp]> = [
    [
      ['--frequency', '900'],
      {},
      /frequency \(.*--frequency.*\): 900 MHz is outside sim-gamma's 50–625 MHz range/,
    ],
    [[], { ASICD_FREQUENCY: '700' }, /frequency \(.*ASICD_FREQUENCY.*\): 700 MHz is outside sim-gamma's/],
    [
      ['--voltage', '1400'],
      {},
      /voltage \(.*--voltage.*\): 1400 mV is outside sim-gamma's 1000–1250 mV window/,
    ],
  ];
  for (const [args, env, message] of cases) {
    const p = asicd(['run', ...common(url), ...args], env);
    procs.push(p);
    const code = await p.exited;
    assert.equal(code, 2, `exit 2 for ${args.join(' ') || JSON.stringify(env)}\n${p.output()}`);
    assert.match(p.output(), message);
    assert.ok(!p.output().includes('"event":"chain.'), 'no chain was touched');
  }
});

test('a saved frequency and voltage the board cannot take are ignored with a warning; the board defaults apply', {
  timeout: 90_000,
}, async () => {
  const pool = new StratumServer({ difficulty: 0.0002, blockIntervalMs: 0 });
  pools.push(pool);
  await pool.listen(0);
  const stateFile = join(dir, 'state.json');
  const s = emptyState();
  s.settings = { frequency: 900, voltage: 1400 };
  saveState(stateFile, s);
  const p = asicd(['run', ...common(pool.url), '--state-file', stateFile]);
  procs.push(p);
  await waitFor(
    () => p.output().includes('"event":"chain.ready"'),
    () => `chain ready\n${p.output().slice(-2000)}`,
    60_000,
  );
  const lines = p
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const ignored = lines.filter((l) => l.event === 'state.setting_ignored');
  assert.deepEqual(
    ignored.map((l) => [l.key, l.value]),
    [
      ['frequency', 900],
      ['voltage', 1400],
    ],
  );
  const ready = lines.find((l) => l.event === 'chain.ready');
  assert.equal(ready?.frequencyMHz, 525, 'the chain ramped to the board default, not the saved 900 MHz');
  assert.equal(await p.stop(), 0);
});
