/**
 * End to end with real processes: `asicd sim` serves an emulated chain (and, with --mcu-link, an emulated
 * Firmata I/O board) on pseudo-terminals, `asicd run --board generic` opens them with serialport and
 * johnny-five like hardware, and mines on the embedded Stratum server on loopback. Every share the daemon
 * submits must be valid at the server; SIGTERM stops it cleanly with exit 0.
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
const pools: StratumServer[] = [];
after(async () => {
  for (const p of procs) await p.stop();
  for (const p of pools) await p.close();
  rmSync(dir, { recursive: true, force: true });
});

function spawnTracked(args: string[]): AsicdProcess {
  const p = asicd(args);
  procs.push(p);
  return p;
}

/** `asicd sim` on pty links in the test folder; resolves once every link exists. */
async function sim(chip: string, chips: number, link: string, extra: string[] = []): Promise<AsicdProcess> {
  const p = spawnTracked([
    'sim',
    '--chip',
    chip,
    '--chips',
    String(chips),
    '--link',
    link,
    '--easy-bits',
    '16',
    ...extra,
  ]);
  const links = [link, ...extra.filter((_, i) => extra[i - 1] === '--mcu-link')];
  await waitFor(() => links.every((l) => existsSync(l)), `asicd sim to create ${links.join(', ')}`, 20_000);
  return p;
}

async function pool(): Promise<StratumServer> {
  const p = new StratumServer({ difficulty: 0.0002, blockIntervalMs: 0 });
  pools.push(p);
  await p.listen(0);
  return p;
}

/** `asicd run --board generic` on a chain link, JSON logs, no cgminer API. */
function run(chip: string, chips: number, link: string, url: string, extra: string[]): AsicdProcess {
  return spawnTracked([
    'run',
    ...[
      '--board',
      'generic',
      '--chip',
      chip,
      '--chips',
      String(chips),
      '--device',
      link,
      '--easy-bits',
      '16',
    ],
    ...['--pool', url, '--user', 'e2e.worker', '--api-listen', 'off', '--log-format', 'json', ...extra],
  ]);
}

type LogLine = { event: string; sensors?: string[]; reason?: string };
const events = (p: AsicdProcess): LogLine[] =>
  p
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);

test('daemon + emulator on a pty + embedded pool: shares accepted, all valid, clean SIGTERM', {
  timeout: 120_000,
}, async () => {
  const link = join(dir, 'chain0');
  await sim('BM1370', 2, link);
  const server = await pool();
  const miner = run('BM1370', 2, link, server.url, ['--pass', 's3cret-pw', '--no-thermal']);
  await waitFor(
    () => server.stats.accepted >= 3,
    () => `3 accepted shares (daemon output:\n${miner.output().slice(-2000)})`,
    90_000,
    100,
  );
  assert.equal(await miner.stop(), 0, `exit code after SIGTERM (output:\n${miner.output().slice(-2000)})`);
  assert.ok(server.stats.accepted >= 3);
  assert.equal(
    server.stats.rejected,
    0,
    `every submitted share is valid at the server: ${JSON.stringify(server.stats)}`,
  );
  const log = events(miner);
  assert.ok(
    log.some((l) => l.event === 'chains.ready'),
    'the chain was enumerated over the pty',
  );
  assert.ok(log.filter((l) => l.event === 'share.accepted').length >= 3);
  // The pool session came up while the chain ramped (hardware timing: seconds), so the job was waiting
  // when the chain was ready: the first frame went out with mining.running, not a pool handshake later.
  const at = (e: string) => log.findIndex((l) => l.event === e);
  assert.ok(
    at('pools.active') >= 0 && at('pools.active') < at('chains.ready'),
    `the pool was active before the chain finished its ramp: ${log.map((l) => l.event).join(' ')}`,
  );
  assert.ok(at('mining.running') > at('chains.ready'));
  const t = (e: string) => Date.parse((log[at(e)] as LogLine & { time: string }).time);
  console.log(
    `# pool active ${t('chains.ready') - t('pools.active')} ms before the chain was ready; first share accepted ${t('share.accepted') - t('chains.ready')} ms after it`,
  );
  assert.ok(
    log.some((l) => l.event === 'thermal.disabled'),
    '--no-thermal is announced with a warning',
  );
  assert.ok(!miner.output().includes('s3cret-pw'), 'the pool password is never logged');
});

test('thermal through johnny-five: asicd run reads the emulated Firmata board served by asicd sim --mcu-link', {
  timeout: 120_000,
}, async () => {
  const link = join(dir, 'chain1');
  const mcu = join(dir, 'mcu1');
  await sim('BM1366', 1, link, ['--mcu-link', mcu]);
  const server = await pool();
  const miner = run('BM1366', 1, link, server.url, ['--firmata', mcu]);
  await waitFor(() => server.stats.accepted >= 2, 'shares with thermal protection on', 90_000, 100);
  assert.equal(await miner.stop(), 0);
  assert.equal(server.stats.rejected, 0);
  const log = events(miner);
  const start = log.find((e) => e.event === 'thermal-start');
  assert.ok(
    start?.sensors?.some((s) => s.includes('firmata')),
    `Firmata sensor in use: ${JSON.stringify(start)}`,
  );
  assert.ok(
    log.some((e) => e.event === 'thermal-resume' && e.reason === 'startup'),
    'hashing began only after a valid reading',
  );
  assert.ok(!log.some((e) => e.event === 'thermal.disabled'));
});

test('device unplugged mid-run: the daemon keeps running, says which device, and resumes when it is back', {
  timeout: 150_000,
}, async () => {
  const link = join(dir, 'chain2');
  const chain = await sim('BM1368', 1, link);
  const server = await pool();
  const miner = run('BM1368', 1, link, server.url, ['--no-thermal']);
  await waitFor(() => server.stats.accepted >= 1, 'a first share', 60_000, 100);
  assert.equal(await chain.stop(), 0, 'asicd sim stops cleanly');
  await waitFor(
    () => miner.output().includes('"event":"chain.down"'),
    'the daemon to notice the unplug',
    20_000,
  );
  assert.equal(miner.proc.exitCode, null, 'the daemon keeps running');
  assert.ok(miner.output().includes(link), 'the log names the device');
  const before = server.stats.accepted;
  await sim('BM1368', 1, link);
  await waitFor(
    () => server.stats.accepted > before,
    () => `shares again after the device came back (${miner.output().slice(-1500)})`,
    90_000,
    200,
  );
  assert.equal(await miner.stop(), 0);
  assert.equal(server.stats.rejected, 0);
});
