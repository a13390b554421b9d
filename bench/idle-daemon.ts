/**
 * Child process of bench/mqtt-farm.bench.ts: the idle daemon. A Miner on the sim-gamma board (emulated
 * BM1370 chain and emulated EMC2101 on its thermal model, in this process as `asicd demo` runs them)
 * whose only pool is a closed port on 127.0.0.1, so it retries with backoff and never hashes. After a
 * settling period it measures its own CPU (% of one core) and RSS over a window and reports them.
 *
 * argv[2]: JSON { settleMs, windowMs }.  → {type:'idle', cpuPercent, rssMaxMB, rssEndMB, mining, wallMs}
 */
import { createServer } from 'node:net';
import { findBoard } from '../boards/index.ts';
import { Miner } from '../host/miner/daemon.ts';
import { openBoardHardware } from '../host/miner/hardware.ts';
import { systemClock } from '../lib/clock.ts';
import { benchLogger, ProcessMeter, sleep } from './rig.ts';

const { settleMs, windowMs } = JSON.parse(process.argv[2] ?? '{}') as { settleMs: number; windowMs: number };

// A port nothing listens on: bind, read it, close.
const port = await new Promise<number>((resolve) => {
  const srv = createServer();
  srv.listen(0, '127.0.0.1', () => {
    const p = (srv.address() as { port: number }).port;
    srv.close(() => resolve(p));
  });
});

const board = findBoard('sim-gamma');
if (!board) throw new Error('idle bench: no sim-gamma board');
const log = benchLogger();
const frequencyMhz = board.limits.frequencyMhz.default;
const hardware = await openBoardHardware(board, { clock: systemClock, logger: log, frequencyMhz });
const miner = new Miner({
  board,
  hardware,
  pools: [{ url: `stratum+tcp://127.0.0.1:${port}`, user: 'bench.idle', password: 'x' }],
  deviceId: 'bench-idle',
  frequencyMhz,
  logger: log,
});
await miner.start();
await sleep(settleMs);
const meter = new ProcessMeter();
meter.start(200);
await sleep(windowMs);
const r = meter.stop();
process.send?.({ type: 'idle', ...r, mining: miner.miningState, logLines: log.lines() });
await miner.stop();
process.disconnect?.();
