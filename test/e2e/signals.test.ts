/**
 * Signals at any moment (issue 12 item 6) and the shutdown budget (issue 11 item 6), with real processes
 * and real signals: `asicd run` gets SIGTERM during chain init, during the PLL ramp (a pty chain served by
 * `asicd sim`, driven with the hardware timing: 100 ms per ramp step), during a failover, and a second
 * signal during the stop. Every time: the orderly stop (chips idled — `chains.idle` in the log), exit 0.
 * Then every simulated board is stopped while mining and its stop (signal → miner stopped, measured by
 * the daemon) must fit the shutdown budget.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { BOARDS } from '../../boards/index.ts';
import { SHUTDOWN_BUDGET_MS } from '../../host/miner/shutdown.ts';
import { StratumServer } from '../../host/pool/server.ts';
import { freePort, waitFor } from '../helpers/net.ts';
import { type AsicdProcess, asicd } from '../helpers/proc.ts';

const dir = mkdtempSync(join(tmpdir(), 'asicd-signals-'));
const procs: AsicdProcess[] = [];
const pools: StratumServer[] = [];
after(async () => {
  for (const p of procs) await p.stop(1000);
  for (const p of pools) await p.close();
  rmSync(dir, { recursive: true, force: true });
});

function spawn(args: string[]): AsicdProcess {
  const p = asicd(args);
  procs.push(p);
  return p;
}

async function pool(port = 0): Promise<StratumServer> {
  const p = new StratumServer({ difficulty: 0.0002, blockIntervalMs: 0 });
  pools.push(p);
  await p.listen(port);
  return p;
}

type Line = { event: string; time: string; ms?: number; [k: string]: unknown };
const events = (p: AsicdProcess): Line[] =>
  p
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Line);
const saw = (p: AsicdProcess, event: string) => p.output().includes(`"event":"${event}"`);

function assertOrderlyStop(p: AsicdProcess, code: number | string, stage: string): void {
  const tail = p.output().slice(-2500);
  assert.equal(code, 0, `${stage}: exit 0 for a requested stop\n${tail}`);
  assert.ok(saw(p, 'chains.idle'), `${stage}: the chips were idled\n${tail}`);
  assert.ok(
    !saw(p, 'asicd.crash') && !saw(p, 'asicd.stop_timeout'),
    `${stage}: no crash, no timeout\n${tail}`,
  );
  const stopped = events(p).find((e) => e.event === 'miner.stopped');
  if (stopped)
    assert.ok(
      stopped.ms! <= SHUTDOWN_BUDGET_MS,
      `${stage}: the stop took ${stopped.ms} ms > ${SHUTDOWN_BUDGET_MS} ms`,
    );
  else assert.ok(saw(p, 'asicd.second_signal'), `${stage}: the miner reports its stop time\n${tail}`);
}

/** `asicd sim` serving one chain on a pty; resolves once the link exists. */
async function simChain(chip: string, link: string): Promise<AsicdProcess> {
  const p = spawn(['sim', '--chip', chip, '--chips', '1', '--link', link, '--easy-bits', '16']);
  await waitFor(() => existsSync(link), `asicd sim to create ${link}`, 20_000);
  return p;
}

/** `asicd run` on a pty chain with the hardware (ESP-Miner) timing. */
function runOnPty(link: string, urls: string[], extra: string[] = []): AsicdProcess {
  return spawn([
    'run',
    ...['--board', 'generic', '--chip', 'BM1370', '--chips', '1', '--device', link, '--easy-bits', '16'],
    ...urls.flatMap((u) => ['--pool', u]),
    ...['--user', 'sig.worker', '--api-listen', 'off', '--log-format', 'json', '--no-thermal', ...extra],
  ]);
}

test('SIGTERM during chain init and during the PLL ramp: orderly stop, chips idle, exit 0', {
  timeout: 120_000,
}, async () => {
  const server = await pool();
  const link = join(dir, 'chain-init');
  const sim = await simChain('BM1370', link);
  // During init: the signal as soon as the daemon starts opening the chain (reset, enumeration).
  const a = runOnPty(link, [server.url]);
  await waitFor(() => saw(a, 'asicd.start'), 'the daemon to start', 30_000, 5);
  a.proc.kill('SIGTERM');
  assertOrderlyStop(a, await a.exited, 'init');
  // The pool connects while the chains initialise (by design), so only the chain side tells where it landed.
  assert.ok(!saw(a, 'chains.ready') && !saw(a, 'mining.running'), 'stopped before the chains were ready');

  // During the ramp (hardware timing: 100 ms per 6.25 MHz step, several seconds to 525 MHz).
  const b = runOnPty(link, [server.url]);
  await waitFor(
    () => saw(b, 'chain.enumerated'),
    () => `enumeration\n${b.output().slice(-1500)}`,
    30_000,
    5,
  );
  b.proc.kill('SIGTERM');
  const t0 = Date.now();
  assertOrderlyStop(b, await b.exited, 'ramp');
  console.log(`# stop during the ramp: exit after ${Date.now() - t0} ms of wall time`);
  assert.ok(!saw(b, 'chains.ready'), 'the signal landed during the ramp');
  assert.equal(await sim.stop(), 0);
});

test('SIGTERM during a failover, and a second SIGTERM during the stop: exit 0, chips idle', {
  timeout: 150_000,
}, async () => {
  const primaryPort = await freePort();
  const primary = await pool(primaryPort);
  const fallback = await pool();
  const link = join(dir, 'chain-failover');
  const sim = await simChain('BM1370', link);
  const a = runOnPty(link, [primary.url, fallback.url]);
  await waitFor(
    () => primary.stats.accepted >= 1,
    () => `a share on the primary\n${a.output().slice(-1500)}`,
    90_000,
    50,
  );
  await primary.close();
  await waitFor(() => saw(a, 'pool_failed') || saw(a, 'pools.idle'), 'the primary to fail', 30_000, 5);
  a.proc.kill('SIGTERM');
  assertOrderlyStop(a, await a.exited, 'failover');

  // A second signal while stopping exits at once, with the chips already idle.
  const b = runOnPty(link, [fallback.url]);
  await waitFor(
    () => fallback.stats.accepted >= 1,
    () => `a share on the fallback\n${b.output().slice(-1500)}`,
    90_000,
    50,
  );
  b.proc.kill('SIGTERM');
  await waitFor(() => saw(b, 'asicd.stopping'), 'the stop to begin', 10_000, 1);
  b.proc.kill('SIGTERM');
  const code = await b.exited;
  assertOrderlyStop(b, code, 'second signal');
  assert.ok(
    saw(b, 'asicd.second_signal') || saw(b, 'asicd.stopped'),
    'the second signal was seen (or the stop was already done)',
  );
  assert.equal(await sim.stop(), 0);
});

test(`every sim board stops within the shutdown budget (${SHUTDOWN_BUDGET_MS} ms) while mining`, {
  timeout: 300_000,
}, async () => {
  const server = await pool();
  const sims = BOARDS.filter((b) => b.simulated);
  assert.ok(sims.length >= 6);
  const figures: string[] = [];
  for (const b of sims) {
    const p = spawn([
      'run',
      ...['--board', b.id, '--pool', server.url, '--user', 'sig.sim', '--api-listen', 'off'],
      ...['--log-format', 'json', '--max-hashrate', '200000'],
    ]);
    await waitFor(
      () => saw(p, 'mining.running'),
      () => `${b.id} mining\n${p.output().slice(-1500)}`,
      60_000,
      20,
    );
    p.proc.kill('SIGTERM');
    const code = await p.exited;
    assertOrderlyStop(p, code, b.id);
    const stopped = events(p).find((e) => e.event === 'miner.stopped');
    assert.ok(stopped && typeof stopped.ms === 'number', `${b.id}: the miner reports its stop time`);
    figures.push(`${b.id} ${Math.round(stopped.ms!)} ms`);
    assert.ok(
      stopped.ms! <= SHUTDOWN_BUDGET_MS,
      `${b.id}: stop took ${stopped.ms} ms > ${SHUTDOWN_BUDGET_MS} ms`,
    );
  }
  console.log(`# miner stop: ${figures.join(', ')}`);
});

test('the shutdown budget is the one in --help, the README and the systemd unit', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const unit = readFileSync(new URL('../../deploy/systemd/asicd.service', import.meta.url), 'utf8');
  const secs = SHUTDOWN_BUDGET_MS / 1000;
  assert.match(readme, new RegExp(`stopped within ${secs} s \\(the shutdown`));
  const stopSec = Number(/TimeoutStopSec=(\d+)/.exec(unit)?.[1]);
  assert.ok(stopSec > secs + 1, `TimeoutStopSec=${stopSec} leaves the daemon its budget + hard limit`);
  assert.match(readme, new RegExp(`TimeoutStopSec=${stopSec}`), 'the README quotes the unit');
  const help = spawn(['run', '--help']);
  return help.exited.then(() => assert.match(help.output(), new RegExp(`stopped within ${secs} s`)));
});
