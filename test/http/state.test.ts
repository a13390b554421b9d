/**
 * The state file: atomic save (no temp file left, mode 0600), a truncated or corrupted file moved aside
 * with a clear reason and an empty state used (config and flags still apply), the documented
 * precedence (defaults < config file < state file < env < flags), lifetime totals across restarts
 * (all-time best, shares, blocks) and settings changed through `control` (any channel) being saved.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadConfigWithState, PersistentSource } from '../../host/state/persistent.ts';
import { emptyState, loadState, saveState } from '../../host/state/store.ts';
import { ManualClock } from '../../lib/clock.ts';
import { memoryLogger } from '../../lib/log.ts';
import { FakeMiner } from '../helpers/fake-miner.ts';

const dir = mkdtempSync(join(tmpdir(), 'asicd-state-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('save is atomic: content complete, no temp file left, mode 0600; load reads it back', () => {
  const file = join(dir, 'a', 'state.json');
  const s = emptyState(1000);
  s.settings.frequency = 550;
  s.lifetime.bestDifficulty = 123;
  saveState(file, s);
  assert.ok(!existsSync(`${file}.tmp`));
  assert.equal(statSync(file).mode & 0o777, 0o600);
  const r = loadState(file);
  assert.equal(r.status, 'ok');
  assert.equal(r.state.settings.frequency, 550);
  assert.equal(r.state.lifetime.bestDifficulty, 123);
  assert.equal(loadState(join(dir, 'nope.json')).status, 'missing');
});

test('a truncated or corrupted file is moved aside with a reason; an empty state is used', () => {
  const file = join(dir, 'corrupt.json');
  const good = emptyState(1000);
  good.lifetime.accepted = 77;
  saveState(file, good);
  const whole = readFileSync(file, 'utf8');
  const cases: Array<[string, RegExp]> = [
    [whole.slice(0, Math.floor(whole.length / 2)), /not valid JSON/], // power cut mid-write on a lying card
    ['', /not valid JSON/],
    ['\0\0\0\0', /not valid JSON/],
    [JSON.stringify({ ...good, version: 99 }), /version 99/],
    [JSON.stringify({ ...good, lifetime: { ...good.lifetime, accepted: -1 } }), /lifetime\.accepted/],
    [
      JSON.stringify({ ...good, settings: { 'http.token': 'x' } }),
      /settings\.http\.token is not a persisted key/,
    ],
    [JSON.stringify({ ...good, settings: { pools: 'x' } }), /settings\.pools/],
  ];
  for (const [text, reason] of cases) {
    writeFileSync(file, text);
    const log = memoryLogger();
    const r = loadState(file, log, 5000);
    assert.equal(r.status, 'corrupt', text.slice(0, 40));
    assert.match(r.reason!, reason);
    assert.equal(r.state.lifetime.accepted, 0);
    assert.ok(existsSync(r.movedTo!), 'the bad file is kept for inspection');
    assert.ok(!existsSync(file));
    assert.equal(log.records.filter((x) => x.event === 'state.corrupt').length, 1);
    rmSync(r.movedTo!);
  }
});

test('a saved value the config validation refuses is dropped with its reason; the rest applies', () => {
  const file = join(dir, 'badvalue.json');
  const s = emptyState();
  s.settings = { frequency: 5000, 'thermal.targetTemp': 50 };
  saveState(file, s);
  const c = loadConfigWithState({ command: 'run', argv: ['--state-file', file], env: {} });
  assert.equal(c.cfg.frequency, undefined);
  assert.equal(c.cfg['thermal.targetTemp'], 50);
  assert.equal(c.dropped?.length, 1);
  assert.match(c.dropped![0]!, /frequency \(state file\): 5000 is outside the allowed range/);
});

test('precedence: defaults < config file < state file < env < flags', () => {
  const cfgFile = join(dir, 'asicd.yaml');
  writeFileSync(cfgFile, 'frequency: 400\nfan: auto\nthermal:\n  targetTemp: 65\n');
  const stateFile = join(dir, 'asicd.state.json');
  const s = emptyState();
  s.settings = { frequency: 450, fan: 70, 'thermal.targetTemp': 58 };
  saveState(stateFile, s);
  const base = { command: 'run', argv: ['--config', cfgFile] };
  const a = loadConfigWithState({ ...base, env: {} });
  assert.equal(a.file, stateFile, 'beside the config by default');
  assert.equal(a.cfg.frequency, 450, 'state file over config file');
  assert.equal(a.cfg.fan, '70');
  assert.equal(a.cfg['thermal.targetTemp'], 58);
  assert.deepEqual(a.shadowed, []);
  const b = loadConfigWithState({ ...base, env: { ASICD_FREQUENCY: '480' } });
  assert.equal(b.cfg.frequency, 480, 'env over state file');
  assert.deepEqual(b.shadowed, ['frequency']);
  const c = loadConfigWithState({
    command: 'run',
    argv: ['--config', cfgFile, '--frequency', '500'],
    env: { ASICD_FREQUENCY: '480' },
  });
  assert.equal(c.cfg.frequency, 500, 'flags over everything');
  const none = loadConfigWithState({ command: 'demo', argv: [], env: {} });
  assert.equal(none.file, undefined, 'no config, no --state-file: persistence off');
});

test('lifetime totals and all-time best survive a restart; control changes from any channel are saved', async () => {
  const file = join(dir, 'life.json');
  const clock = new ManualClock();
  const m1 = new FakeMiner();
  m1.state.shares.blocksFound = 1;
  const p1 = new PersistentSource(m1, { file, clock });
  p1.start(60_000);
  await p1.control.setFrequency(600); // e.g. from MQTT or the cgminer API: same control
  await p1.control.setFan({ mode: 'manual', percent: 80 });
  clock.advance(60_000);
  await p1.stop();
  const saved = loadState(file);
  assert.equal(saved.status, 'ok');
  assert.deepEqual(saved.state.settings, { frequency: 600, fan: 80 });
  assert.equal(saved.state.lifetime.accepted, 120);
  assert.equal(saved.state.lifetime.bestDifficulty, 98_765_432);
  assert.equal(saved.state.lifetime.blocksFound, 1);

  // Second run: a fresh daemon with smaller session figures.
  const m2 = new FakeMiner();
  m2.state = {
    ...m2.state,
    shares: { ...m2.state.shares, accepted: 3, rejected: 1, blocksFound: 0 },
    bestDifficulty: { session: 10, allTime: 10 },
  };
  const p2 = new PersistentSource(m2, { file, clock, state: saved.state });
  const s = p2.getState();
  assert.equal(s.bestDifficulty.allTime, 98_765_432, 'all-time best kept across restarts');
  assert.equal(s.bestDifficulty.session, 10);
  assert.deepEqual(s.lifetime, {
    bestDifficulty: 98_765_432,
    accepted: 123,
    rejected: 6,
    blocksFound: 1,
    since: saved.state.lifetime.since,
  });
  p2.start(60_000);
  m2.emit({ type: 'block_found', time: 1, pool: 0, hash: '00', difficulty: 1e12 });
  m2.state = { ...m2.state, shares: { ...m2.state.shares, blocksFound: 1 } };
  m2.emit({ type: 'block_found', time: 2, pool: 0, hash: '00', difficulty: 1e12 });
  assert.equal(loadState(file).state.lifetime.blocksFound, 2, 'saved at once when a block is found');
  await p2.stop();
  assert.equal(clock.pending(), 0, 'no timer left');
});
