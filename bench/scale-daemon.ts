/**
 * The daemon side of the scale bench, run as its own process so `process.cpuUsage()` and RSS are the
 * daemon's alone: a Miner (real PoolManager / StratumClient over TCP, real ChainScheduler, real
 * DriverChain / Bm13xxChain) on N chains, each a real UartTransport (`serialport`) opened on the pty of an
 * emulated chain served by bench/scale-farm.ts — the same path as a board on /dev/ttyS0.
 *
 * Differences from `asicd run`, all stated in the results: no thermal parts (`thermal: false`); the chain
 * init uses FAST_TIMING (emulated chips need no PLL settling); one chip job per pool job (a long job
 * interval) so the replayed nonces stay valid for the header they were computed for. Logging is the
 * daemon's real JSON logger at info level, written to a counter instead of a terminal.
 *
 * IPC: → {type:'ready'} once every chain has its job; ← {type:'start'} begins the CPU/RSS window;
 * ← {type:'end'} closes it → {type:'window', ...}; ← {type:'stats'} → {type:'stats', ...};
 * ← {type:'exit'} stops the Miner and ends the process.
 */
import { FAST_TIMING } from '../drivers/bm13xx/chain.ts';
import { UartTransport } from '../drivers/transport/uart.ts';
import type { BoardHardware } from '../host/miner/daemon.ts';
import { Miner } from '../host/miner/daemon.ts';
import { DriverChain } from '../host/miner/hardware.ts';
import { benchBoard, benchLogger, ProcessMeter, until } from './rig.ts';

export interface DaemonConfig {
  url: string;
  links: string[];
  chips: number;
  hostTicketDifficulty: number;
}

const cfg = JSON.parse(process.argv[2] ?? '{}') as DaemonConfig;
const send = (m: unknown) => process.send?.(m);
const log = benchLogger();

const chains = cfg.links.map((path, i) => {
  const transport = new UartTransport({ path, baudRate: 115200, logger: log.child('uart') });
  return new DriverChain(transport, {
    model: 'BM1370',
    transport,
    logger: log.child(`chain${i}`),
    expectedChips: cfg.chips,
    ticketDifficulty: 1,
    hostTicketDifficulty: cfg.hostTicketDifficulty,
    timing: FAST_TIMING,
  });
});
const hardware: BoardHardware = { chains, sensors: [], expectedGhs: () => 0, close: async () => {} };
const miner = new Miner({
  board: benchBoard('BM1370', cfg.chips),
  hardware,
  pools: [{ url: cfg.url, user: 'bench.scale', password: 'x' }],
  deviceId: 'bench-scale',
  thermal: false,
  jobIntervalMs: 3_600_000,
  logger: log,
});

const counters = () => {
  const s = miner.schedulers;
  const sum = (f: (x: (typeof s)[number]) => number) => s.reduce((a, x) => a + f(x), 0);
  const d = chains.map((c) => c.driver);
  return {
    decodedNonceFrames: d.reduce((a, c) => a + c.decoderStats.nonceFrames, 0),
    decodedRegisterFrames: d.reduce((a, c) => a + c.decoderStats.registerFrames, 0),
    crcErrors: d.reduce((a, c) => a + c.decoderStats.crcErrors, 0),
    garbageBytes: d.reduce((a, c) => a + c.decoderStats.garbageBytes, 0),
    nonceEvents: d.reduce((a, c) => a + c.counts.nonces, 0),
    // Host checks: every classified nonce (share/block, low, hw-error after the hash).
    hostChecks: sum((x) => x.chips.reduce((a, c) => a + c.nonces + c.hardwareErrors, 0)),
    shares: sum((x) => x.counters.shares),
    low: sum((x) => x.counters.low),
    hardwareErrors: sum((x) => x.counters.hardwareErrors),
    unknownSlot: sum((x) => x.counters.unknownSlot),
    jobsSent: sum((x) => x.counters.jobsSent),
    accepted: miner.getState().shares.accepted,
    rejected: miner.getState().shares.rejected,
    logLines: log.lines(),
  };
};

const meter = new ProcessMeter();
process.on('message', (m: { type: string }) => {
  if (m.type === 'start') {
    meter.start(200);
    send({ type: 'started', counters: counters() });
  } else if (m.type === 'end') {
    send({ type: 'window', ...meter.stop(), counters: counters() });
  } else if (m.type === 'stats') {
    send({ type: 'stats', counters: counters(), rssMB: process.memoryUsage.rss() / 2 ** 20 });
  } else if (m.type === 'exit') {
    void miner.stop().then(() => {
      send({ type: 'bye' });
      process.disconnect?.();
    });
  }
});
process.on('disconnect', () => void miner.stop().finally(() => process.exit(0)));

await miner.start();
await until(() => miner.schedulers.every((s) => s.counters.jobsSent > 0), 'a job on every chain', 60_000);
send({ type: 'ready', counters: counters() });
