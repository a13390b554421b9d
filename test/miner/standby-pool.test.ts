/**
 * A standby fallback pool that answers its probes is `Alive` in the daemon's state (what MQTT publishes),
 * the HTTP API (`/api/asicd/state`) and the cgminer API's `pools`; one that stops answering becomes `Dead`.
 * Real TCP pools (scripted), the Miner with the sim-gamma chain over the real driver, the cgminer API over
 * TCP, the Fastify HTTP server over HTTP.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test } from 'node:test';
import { findBoard } from '../../boards/index.ts';
import type { MinerState } from '../../host/api/types.ts';
import { startHttpServer } from '../../host/http/server.ts';
import { Miner } from '../../host/miner/daemon.ts';
import { openBoardHardware } from '../../host/miner/hardware.ts';
import { startCgminerApi } from '../../host/telemetry/cgminer-api.ts';
import { systemClock } from '../../lib/clock.ts';
import { memoryLogger } from '../../lib/log.ts';
import { waitFor } from '../helpers/net.ts';
import { ScriptedServer } from '../stratum/scripted-server.ts';

function cgminerPools(port: number): Promise<Array<Record<string, unknown>>> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port }, () => s.end('{"command":"pools"}'));
    let text = '';
    s.on('data', (d) => {
      text += String(d);
    });
    s.on('end', () => resolve(JSON.parse(text.replace(/\0$/, '')).POOLS));
    s.on('error', reject);
  });
}

test('a standby pool that answers its probes is Alive; when it stops answering it is Dead', {
  timeout: 90_000,
}, async () => {
  const primary = await ScriptedServer.start({ difficulty: 1 });
  const fallback = await ScriptedServer.start({ difficulty: 1 });
  const board = findBoard('sim-gamma')!;
  const logger = memoryLogger('debug');
  const hardware = await openBoardHardware(board, { clock: systemClock, logger, frequencyMhz: 525 });
  const miner = new Miner({
    board,
    hardware,
    pools: [
      { url: primary.url, user: 'sb.primary' },
      { url: fallback.url, user: 'sb.fallback' },
    ],
    deviceId: 'standby',
    logger,
    thermal: false,
    pool: { standbyProbeMs: 300, backoff: { baseMs: 50, maxMs: 200, jitter: 0 } },
  });
  const api = await startCgminerApi(miner, { host: '127.0.0.1', port: 0 });
  const http = await startHttpServer({
    source: miner,
    host: '127.0.0.1',
    port: 0,
    device: {
      hostname: 'standby-test',
      macAddr: 'AA:BB:CC:DD:EE:FF',
      boardId: board.id,
      boardName: board.name,
      chip: board.chip,
      chips: board.chips,
      frequencyMhz: { ...board.limits.frequencyMhz },
      voltageMv: { min: 1000, max: 1300, default: 1150 },
      targetTempC: board.limits.targetTempC,
      maxTempC: board.limits.maxTempC,
      pools: [],
    },
  });
  const httpPools = async () =>
    ((await (await fetch(`${http.url.replace(/\/$/, '')}/api/asicd/state`)).json()) as MinerState).pools;
  try {
    await miner.start();
    await waitFor(() => miner.getState().pool?.index === 0, 'the primary active', 30_000);
    // The standby answered a probe: subscribed, authorized, sent its job, and the session was closed.
    await waitFor(
      () => miner.pools.getStatus().pools[1]!.standby?.alive === true,
      'the standby probed alive',
      30_000,
    );
    assert.ok(fallback.methods('mining.authorize').length >= 1, 'the probe authorized on the standby');
    assert.equal(fallback.methods('mining.submit').length, 0, 'no share goes to a standby');
    assert.equal(miner.getState().pools[1]!.status, 'alive');
    const pools = await cgminerPools(api.port);
    assert.equal(pools[0]!.Status, 'Alive');
    assert.equal(pools[1]!.Status, 'Alive', JSON.stringify(pools[1]));
    assert.equal(pools[1]!['Stratum Active'], false);
    assert.deepEqual(
      (await httpPools()).map((p) => p.status),
      ['alive', 'alive'],
      'the HTTP API',
    );
    assert.equal(miner.getState().pool?.index, 0, 'still mining on the primary');

    // The standby goes away: its next probe fails and it shows Dead (the primary is untouched).
    await fallback.stop();
    await waitFor(
      () => miner.pools.getStatus().pools[1]!.standby?.alive === false,
      'the standby probed dead',
      30_000,
    );
    assert.equal(miner.getState().pools[1]!.status, 'dead');
    assert.equal((await cgminerPools(api.port))[1]!.Status, 'Dead');
    assert.equal((await httpPools())[1]!.status, 'dead', 'the HTTP API');
    assert.equal(miner.getState().pool?.index, 0);
    assert.equal(miner.getState().mining, 'running');
  } finally {
    await api.close();
    await http.close();
    await miner.stop();
    await primary.stop();
    await fallback.stop().catch(() => {});
  }
});
