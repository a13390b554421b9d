/**
 * Real-board bring-up and shutdown (issue 13), with real processes over real ptys as on the bench:
 * `asicd sim --board ID` serves the emulated board (bridge MCU, regulator, monitor, sensors, chips) and
 * `asicd run --board ID --bridge LINK` drives it. Figures per emulated profile:
 *   - bring-up to first job: `asicd run` spawned → its `mining.running` line (power bring-up through the
 *     bridge, reset pulse, chip init, PLL ramp at the ESP-Miner pace, pool job) — the daemon's own
 *     timestamp, so polling adds nothing;
 *   - shutdown: SIGTERM → process exit, and whether the board was left safe (core off, reset held).
 * Baseline, same run: the `generic` board on a plain `asicd sim --chip` pty (same chip, same ramp, no
 * power parts), so the ratio is the cost of the power sequencing.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findBoard } from '../boards/index.ts';
import { StratumServer } from '../host/pool/server.ts';
import type { BenchRow, BenchSuite } from './harness.ts';

const BIN = fileURLToPath(new URL('../bin/asicd.js', import.meta.url));

interface Proc {
  p: ChildProcess;
  out(): string;
  exited: Promise<number | string>;
}

function start(args: string[], stdin = false): Proc {
  const p = spawn(process.execPath, [BIN, ...args], {
    stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    env: { ...process.env, XDG_STATE_HOME: mkdtempSync(join(tmpdir(), 'asicd-bench-state-')) },
  });
  let o = '';
  p.stdout?.on('data', (d) => {
    o += String(d);
  });
  p.stderr?.on('data', (d) => {
    o += String(d);
  });
  const exited = new Promise<number | string>((r) => p.once('exit', (c, s) => r(c ?? s ?? -1)));
  return { p, out: () => o, exited };
}

async function until(cond: () => boolean, what: string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`bench power: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function stop(x: Proc): Promise<number> {
  const t0 = performance.now();
  x.p.kill('SIGTERM');
  const kill = setTimeout(() => x.p.kill('SIGKILL'), 15_000);
  const code = await x.exited;
  clearTimeout(kill);
  if (code !== 0) throw new Error(`bench power: exit ${code} after SIGTERM:\n${x.out().slice(-1500)}`);
  return performance.now() - t0;
}

/** ms from spawn to the daemon's `mining.running` line (its own timestamp). */
function firstJobMs(x: Proc, spawnedAt: number): number | undefined {
  for (const l of x.out().split('\n')) {
    if (!l.includes('"event":"mining.running"')) continue;
    return Date.parse((JSON.parse(l) as { time: string }).time) - spawnedAt;
  }
  return undefined;
}

const runArgs = (url: string) => [
  '--easy-bits',
  '16',
  '--pool',
  url,
  '--user',
  'bench.power',
  '--api-listen',
  'off',
  '--log-format',
  'json',
];

async function measure(
  sim: Proc,
  daemonArgs: string[],
  url: string,
): Promise<{ upMs: number; downMs: number; daemon: Proc }> {
  const t0 = Date.now();
  const daemon = start(['run', ...daemonArgs, ...runArgs(url)]);
  try {
    await until(
      () => firstJobMs(daemon, t0) !== undefined,
      `the first job (${daemon.out().slice(-800)})`,
      120_000,
    );
  } catch (e) {
    daemon.p.kill('SIGKILL');
    sim.p.kill('SIGTERM');
    throw e;
  }
  const upMs = firstJobMs(daemon, t0)!;
  // Mine for a moment, then stop.
  await new Promise((r) => setTimeout(r, 1500));
  const downMs = await stop(daemon);
  return { upMs, downMs, daemon };
}

async function boardStatus(sim: Proc): Promise<Record<string, unknown>> {
  const n = sim
    .out()
    .split('\n')
    .filter((l) => l.startsWith('asicd sim: status ')).length;
  sim.p.stdin?.write('status\n');
  let line: string | undefined;
  await until(
    () => {
      line = sim
        .out()
        .split('\n')
        .filter((l) => l.startsWith('asicd sim: status '))[n];
      return line !== undefined;
    },
    'a status line',
    20_000,
  );
  return JSON.parse(line!.slice('asicd sim: status '.length));
}

const suite: BenchSuite = {
  name: 'power',
  async run(ctx) {
    const rows: BenchRow[] = [];
    const dir = mkdtempSync(join(tmpdir(), 'asicd-bench-power-'));
    const pool = new StratumServer({ difficulty: 0.0002, blockIntervalMs: 0 });
    await pool.listen(0);
    const profiles =
      ctx.scale < 1 ? ['bitaxe-gamma-usb', 'qaxe'] : ['bitaxe-gamma-usb', 'bitaxe-ultra-usb', 'qaxe'];
    try {
      for (const id of profiles) {
        const board = findBoard(id)!;
        const link = join(dir, id);
        const sim = start(['sim', '--board', id, '--link', link, '--max-hashrate', '300000'], true);
        await until(() => sim.out().includes(' ready: control '), `asicd sim --board ${id}`, 30_000);
        const m = await measure(sim, ['--board', id, '--bridge', link], pool.url);
        const safe = await boardStatus(sim);
        sim.p.kill('SIGTERM');
        await sim.exited;
        // Baseline: the same chips on a plain pty, no power parts.
        const plain = join(dir, `${id}-plain`);
        const bsim = start([
          'sim',
          '--chip',
          board.chip,
          '--chips',
          String(board.chips),
          '--link',
          plain,
          '--easy-bits',
          '16',
          '--max-hashrate',
          '300000',
          '--stats-every',
          '0',
        ]);
        await until(() => bsim.out().includes(' ready on '), 'asicd sim --chip', 30_000);
        const b = await measure(
          bsim,
          [
            '--board',
            'generic',
            '--chip',
            board.chip,
            '--chips',
            String(board.chips),
            '--device',
            plain,
            '--frequency',
            String(board.limits.frequencyMhz.default),
            '--no-thermal',
          ],
          pool.url,
        );
        bsim.p.kill('SIGTERM');
        await bsim.exited;
        ctx.log(
          `  ${id}: first job ${m.upMs} ms (plain ${b.upMs} ms); SIGTERM → exit ${m.downMs.toFixed(0)} ms (plain ${b.downMs.toFixed(0)} ms); after exit core ${safe.coreV} V, reset held ${safe.resetHeld}`,
        );
        rows.push({
          suite: 'power',
          name: `${id}: asicd run start → first job (bring-up via the bridge, reset, init, ramp to ${board.limits.frequencyMhz.default} MHz)`,
          value: m.upMs / 1000,
          unit: 's',
          baseline: { name: 'generic board on a plain pty, no power parts', value: b.upMs / 1000 },
          ratio: m.upMs / b.upMs,
          better: 'lower',
        });
        rows.push({
          suite: 'power',
          name: `${id}: SIGTERM → exit 0 (board left: core ${safe.coreV} V, reset held ${safe.resetHeld})`,
          value: m.downMs / 1000,
          unit: 's',
          baseline: { name: 'generic board on a plain pty', value: b.downMs / 1000 },
          ratio: m.downMs / b.downMs,
          better: 'lower',
          target: { op: '<=', value: 2 },
        });
      }
    } finally {
      await pool.close();
      rmSync(dir, { recursive: true, force: true });
    }
    return rows;
  },
};

export default suite;
