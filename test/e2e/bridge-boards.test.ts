/**
 * Real-board profiles end to end over real ptys, two processes like on the bench: `asicd sim --board ID`
 * serves the whole emulated board (bridge MCU on PATH.control, the chips' UART on PATH.data, regulator,
 * monitor, sensors, fan), and `asicd run --board ID --bridge PATH` drives it through the bitaxe-raw or
 * QAxe control protocol and the host power controller, mining on the embedded Stratum server.
 * Faults are injected through the sim's stdin; the board's state is read back with its `status` line.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { StratumServer } from '../../host/pool/server.ts';
import { waitFor } from '../helpers/net.ts';
import { type AsicdProcess, asicd } from '../helpers/proc.ts';

const BIN = fileURLToPath(new URL('../../bin/asicd.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'asicd-boards-'));
const cleanups: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
});

interface SimBoard {
  proc: ChildProcess;
  output(): string;
  send(line: string): void;
  /** Asks for a status line and resolves with the board state it reports. */
  status(): Promise<Record<string, unknown>>;
  /** Asks for status lines until `pred` holds (or 30 s pass). */
  statusUntil(pred: (s: Record<string, unknown>) => boolean, what: string): Promise<Record<string, unknown>>;
  stop(): Promise<number | string>;
}

async function simBoard(board: string, link: string, extra: string[] = []): Promise<SimBoard> {
  const args = ['sim', '--board', board, '--link', link, '--max-hashrate', '300000', ...extra];
  const proc = spawn(process.execPath, [BIN, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout?.on('data', (d) => {
    out += String(d);
  });
  proc.stderr?.on('data', (d) => {
    out += String(d);
  });
  const exited = new Promise<number | string>((r) => proc.once('exit', (c, s) => r(c ?? s ?? -1)));
  let asked = 0;
  const sim: SimBoard = {
    proc,
    output: () => out,
    send: (l) => proc.stdin?.write(`${l}\n`),
    status: async () => {
      const n = ++asked;
      sim.send('status');
      let line: string | undefined;
      await waitFor(
        () => {
          const all = out.split('\n').filter((l) => l.startsWith('asicd sim: status '));
          line = all[n - 1];
          return line !== undefined;
        },
        `status line ${n} from asicd sim (${out.slice(-500)})`,
        20_000,
      );
      return JSON.parse(line!.slice('asicd sim: status '.length)) as Record<string, unknown>;
    },
    statusUntil: async (pred, what) => {
      const end = Date.now() + 30_000;
      for (;;) {
        const s = await sim.status();
        if (pred(s)) return s;
        if (Date.now() > end)
          throw new Error(`timed out waiting for ${what}: last status ${JSON.stringify(s)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 8000);
        const r = await exited;
        clearTimeout(t);
        return r;
      }
      return exited;
    },
  };
  cleanups.push(() => sim.stop());
  await waitFor(
    () => out.includes(' ready: control ') || proc.exitCode !== null,
    `asicd sim --board ${board} to serve its ports`,
    30_000,
  );
  assert.ok(existsSync(`${link}.control`) && existsSync(`${link}.data`), out);
  return sim;
}

async function pool(): Promise<StratumServer> {
  const p = new StratumServer({ difficulty: 0.0002, blockIntervalMs: 0 });
  await p.listen(0);
  cleanups.push(() => p.close());
  return p;
}

function run(board: string, link: string, url: string, extra: string[] = []): AsicdProcess {
  const p = asicd([
    'run',
    '--board',
    board,
    '--bridge',
    link,
    '--easy-bits',
    '16',
    '--pool',
    url,
    '--user',
    'e2e.boards',
    '--api-listen',
    'off',
    '--log-format',
    'json',
    ...extra,
  ]);
  cleanups.push(() => p.stop());
  return p;
}

type LogLine = { event: string; [k: string]: unknown };
const events = (p: AsicdProcess): LogLine[] =>
  p
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);
const hasEvent = (p: AsicdProcess, name: string, pred: (l: LogLine) => boolean = () => true) =>
  events(p).some((l) => l.event === name && pred(l));

/** waitFor, with both processes' last output in the error (read when it fails, not when it starts). */
async function until(
  cond: () => boolean,
  what: string,
  ms: number,
  procs: { output(): string }[],
): Promise<void> {
  try {
    await waitFor(cond, what, ms, 100);
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${procs.map((p) => p.output().slice(-2500)).join('\n----\n')}`);
  }
}

/**
 * A latched power fault is quiet: one chain.latched line naming what clears it, then no init attempt
 * (no bring-up, no "init failed" fault) for longer than the chain retry period (10 s).
 */
async function assertQuietLatch(p: AsicdProcess): Promise<void> {
  await until(() => hasEvent(p, 'chain.latched'), 'the chain.latched line', 30_000, [p]);
  await new Promise((r) => setTimeout(r, 11_000));
  const lines = events(p);
  const latched = lines.filter((l) => l.event === 'chain.latched');
  assert.equal(latched.length, 1, JSON.stringify(latched));
  assert.match(String(latched[0]!.clears), /restart asicd.*clear_fault/);
  const at = lines.indexOf(latched[0]!);
  const retries = lines
    .slice(at)
    .filter(
      (l) =>
        l.event === 'power.bringup_failed' ||
        l.event === 'power.on' ||
        (l.event === 'fault' && /init failed|could not resume/.test(String(l.message))),
    );
  assert.deepEqual(retries, [], 'no init attempt while latched');
}

/**
 * The latched power stop, seen from both sides: the daemon's power.fault line (`reason`), the board in
 * its safe state (`safe`), nothing hashing, and the fault event every interface shows (`message`).
 * Returns the safe status.
 */
async function assertLatchedStop(
  miner: AsicdProcess,
  sim: SimBoard,
  o: {
    reason: RegExp;
    reasonWhat: string;
    safe: (s: Record<string, unknown>) => boolean;
    safeWhat: string;
    message: RegExp;
  },
): Promise<Record<string, unknown>> {
  await until(
    () => hasEvent(miner, 'power.fault', (l) => o.reason.test(String(l.reason))),
    o.reasonWhat,
    30_000,
    [miner, sim],
  );
  const s = await sim.statusUntil(o.safe, o.safeWhat);
  assert.equal(s.answering, false, 'nothing hashing');
  await until(
    () => hasEvent(miner, 'fault', (l) => o.message.test(String(l.message))),
    'the fault event (MQTT/cgminer/Prometheus see the same event)',
    30_000,
    [miner, sim],
  );
  return s;
}

/** SIGTERM: exit 0 and the time it took (reported, not asserted: timing belongs in the bench). */
async function sigterm(p: AsicdProcess): Promise<number> {
  const t0 = Date.now();
  const code = await p.stop(15_000);
  assert.equal(code, 0, `exit code after SIGTERM (output:\n${p.output().slice(-2000)})`);
  return Date.now() - t0;
}

describe('bitaxe-raw board (bitaxe-gamma-usb) over its USB bridge on ptys', () => {
  it('bring-up to accepted shares; over-current at load → latched stop, core off, reset held, fans 100 %, event; SIGTERM → exit 0, board safe', {
    timeout: 180_000,
  }, async () => {
    const link = join(dir, 'gamma');
    const sim = await simBoard('bitaxe-gamma-usb', link);
    const server = await pool();
    const miner = run('bitaxe-gamma-usb', link, server.url);
    await until(() => server.stats.accepted >= 2, '2 accepted shares', 120_000, [miner, sim]);
    assert.equal(server.stats.rejected, 0);
    assert.ok(hasEvent(miner, 'power.on'), 'the power controller brought the core up');
    const on = await sim.status();
    assert.equal(on.resetHeld, false);
    assert.ok((on.coreV as number) > 1.1 && (on.coreV as number) < 1.2, `core at 1.15 V: ${on.coreV}`);
    assert.equal(on.answering, true);
    // The chips draw ~13 A at 525 MHz / 1.15 V: a short above 5 A fires at once under load.
    sim.send('over-current 5');
    const s = await assertLatchedStop(miner, sim, {
      reason: /IOUT_OC/,
      reasonWhat: 'the power fault in the daemon log',
      safe: (x) => x.fanPercent === 100 && x.resetHeld === true,
      safeWhat: 'fans 100 % and reset held',
      message: /^power fault: regulator fault IOUT_OC/,
    });
    assert.equal(s.coreV, 0, 'core off');
    assert.match(JSON.stringify(s.trips), /over-current/);
    await assertQuietLatch(miner);
    const ms = await sigterm(miner);
    const after = await sim.status();
    assert.equal(after.resetHeld, true, 'chips held in reset after exit');
    assert.equal(after.coreV, 0, 'core off after exit');
    console.log(`# gamma-usb: SIGTERM → exit 0 in ${ms} ms`);
    assert.equal(await sim.stop(), 0);
  });
});

describe('DS4432U boards (no regulator status, no PGOOD) over bitaxe-raw on ptys: input over-current from the INA260', () => {
  for (const board of ['bitaxe-ultra-usb', 'bitaxe-supra-usb', 'bitaxe-max-usb']) {
    it(`${board}: shares; extra load above the 5 A / 25 W input limit for 2 s → latched stop (enable released, core off, reset held), fans 100 %, event; SIGTERM → exit 0`, {
      timeout: 180_000,
    }, async () => {
      const link = join(dir, board);
      const sim = await simBoard(board, link);
      const server = await pool();
      const miner = run(board, link, server.url);
      await until(() => server.stats.accepted >= 1, 'an accepted share', 120_000, [miner, sim]);
      // Under load (the emulator's heat follows the hash counter every 250 ms): a normal draw, below the limit.
      const on = await sim.statusUntil((x) => (x.inputW as number) > 5, 'the board drawing power under load');
      assert.ok((on.inputW as number) < 25, `normal draw: ${on.inputW} W`);
      // +10 A on the core (~1.2 V): ~28 W / 5.6 A at the 5 V input; the buck itself does not trip.
      sim.send('extra-load 10');
      await assertLatchedStop(miner, sim, {
        reason: /^input over-(current|power) /,
        reasonWhat: 'the input over-current stop in the daemon log',
        safe: (x) => x.fanPercent === 100 && x.resetHeld === true && x.coreV === 0,
        safeWhat: 'core off, reset held, fans 100 %',
        message: /^power fault: input over-/,
      });
      await until(() => hasEvent(miner, 'chain.latched'), 'the chain.latched line', 30_000, [miner]);
      await sigterm(miner);
      const after = await sim.status();
      assert.equal(after.resetHeld, true);
      assert.equal(after.coreV, 0);
      assert.equal(await sim.stop(), 0);
    });
  }
});

describe('bitaxe-raw board: faults at start and a bridge unplugged mid-run', () => {
  it('regulator missing at start: bring-up stops at step "regulator" naming the cause, power stays off; SIGTERM → exit 0', {
    timeout: 120_000,
  }, async () => {
    const link = join(dir, 'gamma-noreg');
    const sim = await simBoard('bitaxe-gamma-usb', link, ['--regulator-missing']);
    const server = await pool();
    const miner = run('bitaxe-gamma-usb', link, server.url);
    await until(
      () => /power bring-up failed at step \\"regulator\\"/.test(miner.output()),
      'the bring-up error',
      90_000,
      [miner, sim],
    );
    assert.match(miner.output(), /no regulator answering on the bus\?/);
    assert.equal(miner.proc.exitCode, null, 'the daemon keeps running and retries');
    const s = await sim.status();
    assert.equal(s.coreV, 0, 'power left off');
    assert.equal(s.resetHeld, true, 'chips held in reset');
    assert.equal(server.stats.accepted, 0);
    await sigterm(miner);
  });

  it('bridge silent at start: asicd run stops with an error naming the control port and the fix (exit 1)', {
    timeout: 120_000,
  }, async () => {
    const link = join(dir, 'gamma-silent');
    const sim = await simBoard('bitaxe-gamma-usb', link, ['--bridge-silent']);
    const server = await pool();
    const miner = run('bitaxe-gamma-usb', link, server.url);
    const code = await miner.exited;
    assert.equal(code, 1, miner.output().slice(-1500));
    assert.match(
      miner.output(),
      new RegExp(`${link}\\.control: .*no reply within 1000 ms.*check the USB cable`),
    );
    const s = await sim.status();
    assert.equal(s.coreV, 0);
    assert.equal(s.resetHeld, true);
  });

  it('bridge unplugged mid-run: chips stop, the daemon keeps running and names the port; plugged back → full bring-up and shares again', {
    timeout: 240_000,
  }, async () => {
    const link = join(dir, 'gamma-unplug');
    const sim = await simBoard('bitaxe-gamma-usb', link);
    const server = await pool();
    const miner = run('bitaxe-gamma-usb', link, server.url);
    await until(() => server.stats.accepted >= 1, `a first share`, 120_000, [miner, sim]);
    const powerOns = () => events(miner).filter((l) => l.event === 'power.on').length;
    const ons = powerOns();
    sim.send('unplug');
    await until(
      () => sim.output().includes('unplugged: control and data ports removed'),
      'the unplug',
      20_000,
      [miner, sim],
    );
    await until(() => hasEvent(miner, 'chain.down'), 'the daemon to notice', 30_000, [miner, sim]);
    const off = await sim.statusUntil((s) => s.answering === false, 'chips stopped after the unplug');
    assert.equal(
      off.resetHeld,
      true,
      'the bridge MCU lost USB power: its reset line is back at its power-on level',
    );
    assert.equal(miner.proc.exitCode, null, 'the daemon keeps running');
    assert.ok(miner.output().includes(`${link}.data`), 'the log names the port');
    const before = server.stats.accepted;
    sim.send('replug');
    await until(() => server.stats.accepted > before, 'shares again after the bridge came back', 150_000, [
      miner,
      sim,
    ]);
    assert.ok(powerOns() > ons, 'the power controller ran the bring-up again');
    await sigterm(miner);
    const after = await sim.status();
    assert.equal(after.resetHeld, true);
    assert.equal(after.coreV, 0);
  });
});

describe('QAxe (4 × BM1366) and QAxe+ (4 × BM1368) over their USB bridge on ptys', () => {
  it('bring-up (firmware Reset) to accepted shares; PGOOD drop → latched stop, Shutdown (core off, reset held), fans 100 %, event; SIGTERM → exit 0', {
    timeout: 180_000,
  }, async () => {
    const link = join(dir, 'qaxe');
    const sim = await simBoard('qaxe', link);
    const server = await pool();
    const miner = run('qaxe', link, server.url);
    await until(() => server.stats.accepted >= 2, '2 accepted shares', 120_000, [miner, sim]);
    assert.equal(server.stats.rejected, 0);
    const on = await sim.status();
    assert.equal(on.coreV, 1.2);
    assert.equal(on.resetHeld, false);
    sim.send('pgood-drop');
    await assertLatchedStop(miner, sim, {
      reason: /power good lost/,
      reasonWhat: 'the power fault',
      safe: (x) => x.fanPercent === 100 && x.resetHeld === true && x.coreV === 0,
      safeWhat: 'Shutdown and fans 100 %',
      message: /^power fault: power good lost/,
    });
    await assertQuietLatch(miner);
    const ms = await sigterm(miner);
    const after = await sim.status();
    assert.equal(after.resetHeld, true);
    assert.equal(after.coreV, 0);
    console.log(`# qaxe: SIGTERM → exit 0 in ${ms} ms`);
  });

  for (const board of ['qaxe', 'qaxe-plus']) {
    it(`${board}: bring-up to shares; over-current at load: the buck trips, the host sees it as PGOOD lost in Status → latched stop, Shutdown, fans 100 %, event; SIGTERM → exit 0`, {
      timeout: 180_000,
    }, async () => {
      const link = join(dir, `${board}-oc`);
      const sim = await simBoard(board, link);
      const server = await pool();
      const miner = run(board, link, server.url);
      await until(() => server.stats.accepted >= 1, 'an accepted share', 120_000, [miner, sim]);
      assert.equal(server.stats.rejected, 0);
      const on = await sim.status();
      assert.equal(on.coreV, 1.2);
      // Four chips hashing draw far more than 5 A at 1.2 V: the short fires at once under load.
      sim.send('over-current 5');
      // The buck trips (the host's Shutdown, RUN low, then resets its trip: not readable afterwards).
      await sim.statusUntil((x) => JSON.stringify(x.trips).includes('over-current'), 'the trip');
      await assertLatchedStop(miner, sim, {
        reason: /power good lost/,
        reasonWhat: 'the power fault (PGOOD lost in the bridge Status)',
        safe: (x) => x.fanPercent === 100 && x.resetHeld === true && x.coreV === 0,
        safeWhat: 'Shutdown and fans 100 %',
        message: /^power fault: power good lost/,
      });
      await until(() => hasEvent(miner, 'chain.latched'), 'the chain.latched line', 30_000, [miner]);
      await sigterm(miner);
      const after = await sim.status();
      assert.equal(after.resetHeld, true);
      assert.equal(after.coreV, 0);
      assert.equal(await sim.stop(), 0);
    });
  }
});
