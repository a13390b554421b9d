/**
 * End to end with real processes: `asicd sim` serves an emulated BM1370 chain on a pseudo-terminal,
 * `asicd run --board generic` opens it with serialport like hardware, and mines on the embedded Stratum
 * server on loopback. Every share the daemon submits must be valid at the server; SIGTERM stops it
 * cleanly with exit 0.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { StratumServer } from '../../host/pool/server.ts';
import { waitFor } from '../helpers/net.ts';
import { type AsicdProcess, asicd } from '../helpers/proc.ts';

const dir = mkdtempSync(join(tmpdir(), 'asicd-e2e-'));
const procs: AsicdProcess[] = [];
after(async () => {
  for (const p of procs) await p.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('daemon + emulator on a pty + embedded pool: shares accepted, all valid, clean SIGTERM', {
  timeout: 120_000,
}, async () => {
  const link = join(dir, 'chain0');
  const sim = asicd(['sim', '--chip', 'BM1370', '--chips', '2', '--link', link, '--easy-bits', '16']);
  procs.push(sim);
  await waitFor(() => existsSync(link), `asicd sim to create ${link}`, 20_000);

  const pool = new StratumServer({ difficulty: 0.0002, blockIntervalMs: 0 });
  await pool.listen(0);
  try {
    const miner = asicd([
      'run',
      ...['--board', 'generic', '--chip', 'BM1370', '--chips', '2', '--device', link, '--easy-bits', '16'],
      ...[
        '--pool',
        pool.url,
        '--user',
        'e2e.worker',
        '--pass',
        's3cret-pw',
        '--no-thermal',
        '--api-listen',
        'off',
        '--log-format',
        'json',
      ],
    ]);
    procs.push(miner);
    await waitFor(
      () => pool.stats.accepted >= 3,
      `3 accepted shares (daemon output:\n${miner.output().slice(-2000)})`,
      90_000,
      100,
    );
    const code = await miner.stop();
    assert.equal(code, 0, `exit code after SIGTERM (output:\n${miner.output().slice(-2000)})`);
    assert.ok(pool.stats.accepted >= 3);
    assert.equal(
      pool.stats.rejected,
      0,
      `every submitted share is valid at the server: ${JSON.stringify(pool.stats)}`,
    );
    const lines = miner
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { event: string; [k: string]: unknown });
    assert.ok(
      lines.some((l) => l.event === 'chains.ready'),
      'the chain was enumerated over the pty',
    );
    assert.ok(lines.filter((l) => l.event === 'share.accepted').length >= 3);
    assert.ok(
      lines.some((l) => l.event === 'thermal.disabled'),
      '--no-thermal is announced with a warning',
    );
    assert.ok(!miner.output().includes('s3cret-pw'), 'the pool password is never logged');
  } finally {
    await pool.close();
  }
});

test('thermal through johnny-five: asicd run reads the emulated Firmata board served by asicd sim --mcu-link', {
  timeout: 120_000,
}, async () => {
  const link = join(dir, 'chain1');
  const mcu = join(dir, 'mcu1');
  const sim = asicd([
    'sim',
    '--chip',
    'BM1366',
    '--chips',
    '1',
    '--link',
    link,
    '--mcu-link',
    mcu,
    '--easy-bits',
    '16',
  ]);
  procs.push(sim);
  await waitFor(() => existsSync(link) && existsSync(mcu), `asicd sim to create ${link} and ${mcu}`, 20_000);
  const pool = new StratumServer({ difficulty: 0.0002, blockIntervalMs: 0 });
  await pool.listen(0);
  try {
    const miner = asicd([
      'run',
      ...['--board', 'generic', '--chip', 'BM1366', '--chips', '1', '--device', link, '--easy-bits', '16'],
      ...[
        '--firmata',
        mcu,
        '--pool',
        pool.url,
        '--user',
        'e2e.worker',
        '--api-listen',
        'off',
        '--log-format',
        'json',
      ],
    ]);
    procs.push(miner);
    await waitFor(() => pool.stats.accepted >= 2, 'shares with thermal protection on', 90_000, 100);
    assert.equal(await miner.stop(), 0);
    assert.equal(pool.stats.rejected, 0);
    const events = miner
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { event: string; sensors?: string[]; reason?: string });
    const start = events.find((e) => e.event === 'thermal-start');
    assert.ok(
      start?.sensors?.some((s) => s.includes('firmata')),
      `Firmata sensor in use: ${JSON.stringify(start)}`,
    );
    assert.ok(
      events.some((e) => e.event === 'thermal-resume' && e.reason === 'startup'),
      'hashing began only after a valid reading',
    );
    assert.ok(!events.some((e) => e.event === 'thermal.disabled'));
  } finally {
    await pool.close();
  }
});

test('device unplugged mid-run: the daemon keeps running, says which device, and resumes when it is back', {
  timeout: 150_000,
}, async () => {
  const link = join(dir, 'chain2');
  const simArgs = ['sim', '--chip', 'BM1368', '--chips', '1', '--link', link, '--easy-bits', '16'];
  let sim = asicd(simArgs);
  procs.push(sim);
  await waitFor(() => existsSync(link), 'the emulated chain', 20_000);
  const pool = new StratumServer({ difficulty: 0.0002, blockIntervalMs: 0 });
  await pool.listen(0);
  try {
    const miner = asicd([
      'run',
      ...['--board', 'generic', '--chip', 'BM1368', '--chips', '1', '--device', link, '--easy-bits', '16'],
      ...[
        '--pool',
        pool.url,
        '--user',
        'e2e.worker',
        '--no-thermal',
        '--api-listen',
        'off',
        '--log-format',
        'json',
      ],
    ]);
    procs.push(miner);
    await waitFor(() => pool.stats.accepted >= 1, 'a first share', 60_000, 100);
    assert.equal(await sim.stop(), 0, 'asicd sim stops cleanly');
    await waitFor(
      () => miner.output().includes('"event":"chain.down"'),
      'the daemon to notice the unplug',
      20_000,
    );
    assert.equal(miner.proc.exitCode, null, 'the daemon keeps running');
    assert.match(miner.output(), new RegExp(`${link.replace(/[/.]/g, '\\$&')}`), 'the log names the device');
    const before = pool.stats.accepted;
    sim = asicd(simArgs);
    procs.push(sim);
    await waitFor(
      () => pool.stats.accepted > before,
      `shares again after the device came back (${miner.output().slice(-1500)})`,
      90_000,
      200,
    );
    assert.equal(await miner.stop(), 0);
    assert.equal(pool.stats.rejected, 0);
  } finally {
    await pool.close();
  }
});
