/**
 * Shared parts of the daemon benchmarks (not a suite: bench/run.ts only loads *.bench.ts):
 * - `benchBoard`: a board profile for a bench chain (limits of the chip family, no thermal parts);
 * - `ProbeTransport`: a ByteTransport over an in-process emulated chain that time-stamps job-frame writes
 *   and lets a bench inject reply bytes ("last byte into the chain transport") at an exact instant;
 * - `probeConnector`: the Stratum client's real TCP connector with time stamps on the socket (a line
 *   arriving, a line written), so latencies are measured at the socket, through the real client;
 * - small helpers (percentiles in µs, CPU/RSS sampling, a quiet JSON logger).
 */
import { findBoard } from '../boards/index.ts';
import type { BoardProfile, ChipModel } from '../boards/types.ts';
import type { ByteTransport, Unsubscribe } from '../drivers/transport/contract.ts';
import type { EmulatedChain } from '../firmware/bm13xx/index.ts';
import { type Connector, defaultConnector } from '../host/stratum/client.ts';
import { createLogger, type Logger } from '../lib/log.ts';
import { percentile } from './harness.ts';

/** A board for bench chains: the family limits of a real board, `chips` chips, no sensors. */
export function benchBoard(chip: ChipModel, chips: number): BoardProfile {
  const base = findBoard(chip === 'BM1370' ? 'nerdqaxe-pp' : 'bitaxe-hex');
  if (!base) throw new Error('bench: board table has no nerdqaxe-pp / bitaxe-hex');
  return {
    ...base,
    id: `bench-${chip.toLowerCase()}x${chips}`,
    name: `Bench ${chips} × ${chip}`,
    chip,
    chips,
    transport: { kind: 'sim' },
    simulated: true,
  };
}

/**
 * The daemon's real logger (JSON, info level) writing nowhere: formatting costs are counted, the
 * bench output stays readable. Lines are counted so a suite can report them.
 */
export function benchLogger(): Logger & { lines: () => number } {
  let n = 0;
  const echo = process.env.ASICD_BENCH_LOG === '1';
  const log = createLogger({
    level: 'info',
    format: 'json',
    write: (line) => {
      n++;
      if (echo) process.stderr.write(`${line}\n`);
    },
  });
  return Object.assign(log, { lines: () => n });
}

const HDR_JOB = 0x21;

/**
 * ByteTransport over an EmulatedChain with probes. Job frames are time-stamped when the driver hands
 * them to write() and reach the emulator on the next turn of the event loop, so the emulator's own work
 * (parsing the job, loading the chips) never lands inside a measured window; other frames go straight
 * through. `inject()` hands bytes to the driver's listeners synchronously, as a UART read would.
 */
export class ProbeTransport implements ByteTransport {
  /** Called with performance.now() and the frame for every job frame written. */
  onJobWrite: ((at: number, frame: Uint8Array) => void) | undefined;
  readonly jobFrames: Uint8Array[] = [];
  /**
   * Whether job frames reach the emulator. Latency benches turn this off once the chain is up: real
   * chips take jobs in silicon, while the emulator's job parsing (and its garbage) would run in the
   * daemon's process and disturb the measurement.
   */
  forwardJobs = true;
  private readonly listeners = new Set<(chunk: Uint8Array) => void>();
  private readonly unsub: Unsubscribe;

  readonly emu: EmulatedChain;
  constructor(emu: EmulatedChain) {
    this.emu = emu;
    this.unsub = emu.onData((chunk) => this.inject(chunk));
  }
  get path(): string {
    return this.emu.path;
  }
  get isOpen(): boolean {
    return this.emu.isOpen;
  }
  get baudRate(): number {
    return this.emu.baudRate;
  }
  open(): Promise<void> {
    return this.emu.open();
  }
  write(data: Uint8Array): Promise<void> {
    if (data.length > 2 && data[2] === HDR_JOB) {
      this.onJobWrite?.(performance.now(), data);
      // The driver reuses its frame buffer: keep a copy (slice is one memcpy; Uint8Array.from iterates).
      const copy = data.slice();
      if (this.jobFrames.length >= 4) this.jobFrames.shift();
      this.jobFrames.push(copy);
      if (!this.emu.isOpen) return this.emu.write(copy);
      if (!this.forwardJobs) return Promise.resolve();
      setImmediate(() => void this.emu.write(copy).catch(() => {}));
      return Promise.resolve();
    }
    return this.emu.write(data);
  }
  onData(listener: (chunk: Uint8Array) => void): Unsubscribe {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  onError(listener: (err: never) => void): Unsubscribe {
    return this.emu.onError(listener as never);
  }
  onClose(listener: () => void): Unsubscribe {
    return this.emu.onClose(listener);
  }
  setBaudRate(baud: number): Promise<void> {
    return this.emu.setBaudRate(baud);
  }
  flush(): Promise<void> {
    return this.emu.flush();
  }
  async close(): Promise<void> {
    this.unsub();
    await this.emu.close();
  }
  /** Bytes from the chips, delivered synchronously to the driver. */
  inject(chunk: Uint8Array): void {
    for (const l of this.listeners) l(chunk);
  }
}

export interface SocketProbe {
  /** A chunk arrived on the pool socket (called before the client sees it). */
  onData?: (chunk: Buffer) => void;
  /** The client wrote to the pool socket. */
  onWrite?: (chunk: unknown) => void;
}

/** The Stratum client's own TCP connector, with probes on the connected socket. */
export function probeConnector(probe: SocketProbe): Connector {
  return async (target, signal) => {
    const sock = await defaultConnector(target, signal);
    sock.prependListener('data', (chunk: Buffer) => probe.onData?.(chunk));
    const write = sock.write.bind(sock) as (...a: unknown[]) => boolean;
    (sock as { write: (...a: unknown[]) => boolean }).write = (...a: unknown[]) => {
      probe.onWrite?.(a[0]);
      return write(...a);
    };
    return sock;
  };
}

/** p-th percentile of a sample in ms, returned in µs. */
export function pUs(samplesMs: number[], p: number): number {
  return (
    percentile(
      [...samplesMs].sort((a, b) => a - b),
      p,
    ) * 1000
  );
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls until `cond` holds; rejects naming `what` after `timeoutMs`. */
export async function until(cond: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`bench: timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

/** CPU (% of one core) and RSS of this process over a window. */
export class ProcessMeter {
  private cpu0 = process.cpuUsage();
  private t0 = performance.now();
  private maxRss = 0;
  private timer: NodeJS.Timeout | undefined;

  start(sampleMs = 250): void {
    this.cpu0 = process.cpuUsage();
    this.t0 = performance.now();
    this.maxRss = process.memoryUsage.rss();
    this.timer = setInterval(() => {
      this.maxRss = Math.max(this.maxRss, process.memoryUsage.rss());
    }, sampleMs);
  }

  /** Stops sampling; CPU as % of one core over the window, RSS in MB (max and now). */
  stop(): { cpuPercent: number; userPercent: number; wallMs: number; rssMaxMB: number; rssEndMB: number } {
    clearInterval(this.timer);
    const d = process.cpuUsage(this.cpu0);
    const wallMs = performance.now() - this.t0;
    const rss = process.memoryUsage.rss();
    this.maxRss = Math.max(this.maxRss, rss);
    return {
      cpuPercent: ((d.user + d.system) / 1000 / wallMs) * 100,
      userPercent: (d.user / 1000 / wallMs) * 100,
      wallMs,
      rssMaxMB: this.maxRss / 2 ** 20,
      rssEndMB: rss / 2 ** 20,
    };
  }
}
