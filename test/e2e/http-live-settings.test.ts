/**
 * PATCH /api/system and POST /api/system/restart against the real daemon on the emulated Bitaxe Gamma over
 * bitaxe-raw (TPS546 + INA260, chips that do not answer unpowered or in reset), with two real Stratum pools
 * on loopback and the state file in a temp dir:
 * - a pool change reconnects at once: the next accepted shares arrive at the new pool with the new worker;
 * - a temperature-target change reaches the fan controller; one beyond the overheat limit is refused;
 * - coreVoltage sets the emulated regulator's output; one outside the regulator window is refused and the
 *   regulator keeps its voltage; frequency and fan outside the board's limits are refused;
 * - every live change is saved to the state file;
 * - restart puts the board in its safe state (reset held, core off) and brings it up again: shares resume.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { findBoard } from '../../boards/index.ts';
import type { DeviceContext } from '../../host/http/axeos.ts';
import { type HttpServer, startHttpServer } from '../../host/http/server.ts';
import { Miner } from '../../host/miner/daemon.ts';
import { openBoardHardware } from '../../host/miner/hardware.ts';
import { StratumServer } from '../../host/pool/server.ts';
import { PersistentSource } from '../../host/state/persistent.ts';
import { systemClock } from '../../lib/clock.ts';
import { memoryLogger } from '../../lib/log.ts';
import { waitFor } from '../helpers/net.ts';

const TOKEN = 'live-settings-token';
const poolA = new StratumServer({ difficulty: 0.0002, blockIntervalMs: 0 });
const poolB = new StratumServer({ difficulty: 0.0002, blockIntervalMs: 0 });
const dir = mkdtempSync(join(tmpdir(), 'asicd-live-'));
before(async () => {
  await poolA.listen(0);
  await poolB.listen(0);
});
after(async () => {
  await poolA.close();
  await poolB.close();
  rmSync(dir, { recursive: true, force: true });
});

test('PATCH applies pools, temperature target and core voltage live, within limits; restart re-brings the board up', {
  timeout: 180_000,
}, async () => {
  const board = findBoard('sim-gamma-usb')!;
  const logger = memoryLogger('info');
  const hardware = await openBoardHardware(board, {
    clock: systemClock,
    logger,
    frequencyMhz: board.limits.frequencyMhz.default,
    maxHashesPerSecond: 300_000,
  });
  const sim = hardware.sim!.power!;
  const miner = new Miner({
    board,
    hardware,
    pools: [{ url: poolA.url, user: 'old.worker', password: 'x' }],
    deviceId: 'live',
    logger,
  });
  const file = join(dir, 'state.json');
  const source = new PersistentSource(miner, { file, logger });
  let http: HttpServer | undefined;
  const acceptedBy = new Map<string, number>();
  const count = (server: string) => (e: { accepted: boolean; worker: string }) => {
    if (!e.accepted) return;
    const k = `${server}:${e.worker}`;
    acceptedBy.set(k, (acceptedBy.get(k) ?? 0) + 1);
  };
  poolA.on('share', count('A'));
  poolB.on('share', count('B'));
  try {
    await miner.start();
    const device: DeviceContext = {
      hostname: 'live',
      macAddr: '00:00:00:00:00:00',
      boardId: board.id,
      boardName: board.name,
      chip: board.chip,
      chips: board.chips,
      frequencyMhz: board.limits.frequencyMhz,
      voltageMv: board.limits.voltageMv,
      targetTempC: board.limits.targetTempC,
      maxTempC: board.limits.maxTempC,
      pools: [{ url: poolA.url, user: 'old.worker', pass: 'x' }],
    };
    http = await startHttpServer({
      source,
      persistent: source,
      device,
      host: '127.0.0.1',
      port: 0,
      token: TOKEN,
      logger,
    });
    const h = http;
    const call = async (method: string, path: string, body?: unknown) => {
      const r = await fetch(`${h.url.replace(/\/$/, '')}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${TOKEN}`,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      return { status: r.status, json: (await r.json()) as Record<string, unknown> };
    };
    await waitFor(() => (acceptedBy.get('A:old.worker') ?? 0) >= 1, 'a share at pool A', 60_000);

    // ---- pool change: live reconnect to B with the new worker ------------------------------------
    const acceptedBeforeChange = source.getState().shares.accepted;
    const r1 = await call('PATCH', '/api/system', {
      stratumURL: '127.0.0.1',
      stratumPort: poolB.port,
      stratumUser: 'new.worker',
      stratumPassword: 'pw',
    });
    assert.equal(r1.status, 200, JSON.stringify(r1.json));
    assert.deepEqual(r1.json.restartRequired, [], 'applied live, nothing waits for a restart');
    assert.deepEqual(r1.json.applied, { pools: [`stratum+tcp://127.0.0.1:${poolB.port}`] });
    await waitFor(() => (acceptedBy.get('B:new.worker') ?? 0) >= 1, 'a share at pool B', 60_000);
    const s1 = source.getState();
    assert.equal(s1.pool?.url, `stratum+tcp://127.0.0.1:${poolB.port}`);
    assert.equal(s1.pools.length, 1);
    // The new pool's ledger starts at zero; the board's totals keep pool A's shares.
    assert.ok(
      s1.pools[0]!.accepted <= (acceptedBy.get('B:new.worker') ?? 0),
      `pool B's ledger (${s1.pools[0]!.accepted}) holds only B's shares`,
    );
    assert.ok(
      s1.shares.accepted >= acceptedBeforeChange,
      `totals never go down (${acceptedBeforeChange} → ${s1.shares.accepted})`,
    );
    assert.equal(poolA.connectionIds.length, 0, 'the old pool connection is closed');
    const info = (await (await fetch(`${h.url}api/system/info`)).json()) as Record<string, unknown>;
    assert.equal(info.stratumPort, poolB.port);
    assert.equal(info.stratumUser, 'new.worker');

    // ---- temperature target: reaches the fan controller; beyond the overheat limit refused ---------
    const r2 = await call('PATCH', '/api/system', { temptarget: 52 });
    assert.equal(r2.status, 200, JSON.stringify(r2.json));
    assert.equal(miner.thermal.status().targetC, 52);
    const r3 = await call('PATCH', '/api/system', { temptarget: board.limits.maxTempC + 5 });
    assert.equal(r3.status, 400);
    assert.match(String(r3.json.error), /temptarget/);
    assert.equal(miner.thermal.status().targetC, 52, 'a refused target changes nothing');

    // ---- core voltage: within the regulator window only ---------------------------------------------
    const w = source.getState().limits.voltageMv!;
    assert.ok(w, 'the Gamma has a settable core voltage');
    const target = Math.min(w.max, (source.getState().power?.setMv ?? w.min) + 50);
    const r4 = await call('PATCH', '/api/system', { coreVoltage: target });
    assert.equal(r4.status, 200, JSON.stringify(r4.json));
    assert.equal(r4.json.applied && (r4.json.applied as Record<string, unknown>).coreVoltage, target);
    await waitFor(
      () => Math.abs(sim.board.coreVolts() * 1000 - target) < 15,
      `regulator output at ${target} mV (now ${sim.board.coreVolts()} V)`,
      20_000,
    );
    const before = sim.board.coreVolts();
    for (const bad of [w.max + 100, w.min - 100, 5000]) {
      const r = await call('PATCH', '/api/system', { coreVoltage: bad });
      assert.equal(r.status, 400, `coreVoltage ${bad}`);
      assert.match(String(r.json.error), /coreVoltage .* outside/);
    }
    assert.equal(sim.board.coreVolts(), before, 'the regulator is untouched by refused writes');
    assert.equal(source.getState().power?.setMv, target);
    for (const bad of [
      { frequency: board.limits.frequencyMhz.max + 100 },
      { autofanspeed: 0, manualFanSpeed: 1 },
      { minFanSpeed: 0 },
    ]) {
      const r = await call('PATCH', '/api/system', bad);
      assert.equal(r.status, 400, JSON.stringify(bad));
    }

    // ---- persisted: the next start uses them ------------------------------------------------------
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { settings: Record<string, unknown> };
    assert.deepEqual(saved.settings.pools, [
      { url: `stratum+tcp://127.0.0.1:${poolB.port}`, user: 'new.worker', pass: 'pw' },
    ]);
    assert.equal(saved.settings['thermal.targetTemp'], 52);
    assert.equal(saved.settings.voltage, target);

    // ---- restart: safe state (reset held, core off), bring-up again, mining again --------------------
    // Observed on the emulated board right after the power controller's safe-state step returns.
    let sawSafe = false;
    const powerOff = sim.controller.powerOff.bind(sim.controller);
    sim.controller.powerOff = async () => {
      await powerOff();
      if (sim.board.resetHeld && sim.board.coreVolts() === 0) sawSafe = true;
    };
    const powerOns = () => logger.records.filter((x) => x.event === 'power.on').length;
    const onsBefore = powerOns();
    const sharesBefore = acceptedBy.get('B:new.worker') ?? 0;
    const r5 = await fetch(`${h.url}api/system/restart`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    assert.equal(r5.status, 200);
    assert.deepEqual(await r5.json(), { message: 'System will restart shortly.' });
    await waitFor(() => powerOns() > onsBefore, 'a second power bring-up', 30_000);
    assert.ok(sawSafe, 'the board went through its safe state (reset held, core off)');
    await waitFor(
      () => (acceptedBy.get('B:new.worker') ?? 0) > sharesBefore,
      'a share after the restart',
      60_000,
    );
    assert.equal(source.getState().mining, 'running');
  } finally {
    await http?.close();
    await source.stop();
    await miner.stop();
  }
});
