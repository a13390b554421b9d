/**
 * An emulated chain of N BM13xx chips behind one UART link. The chain object is the link: it
 * satisfies the ByteTransport shape of drivers/transport/contract.ts structurally (path, isOpen,
 * baudRate, open, write, onData, onError, onClose, setBaudRate, flush, close) without importing it,
 * and adds an object API for tests and simulated boards: the chips, their registers and counters,
 * fault knobs, statistics, a replay mode and a synchronous hashing step.
 *
 * Routing: command frames reach every chip (set-address: only the first chip still inactive after
 * chain-inactive, see REFERENCE.md); replies of a read-all come back in chain order; job frames go to
 * every chip, each of which searches its own slice of the nonce space (chip.ts). Hashing runs in
 * small time-sliced batches on setImmediate so the process stays responsive; an optional cap limits
 * hashes per second (measured on the injectable Clock).
 */
import { type Clock, systemClock, type TimerHandle } from '../../lib/clock.ts';
import { type Logger, silentLogger } from '../../lib/log.ts';
import { type ChipSearchConfig, EmulatedChip, type FoundNonce } from './chip.ts';
import { type HostFrame, HostFrameParser, nonceReply, registerReply } from './frames.ts';
import { type ChipModel, type ChipModelInfo, modelInfo } from './models.ts';
import { be32, bswap32 } from './sha256.ts';

export interface ChainFaults {
  /** Probability that a reply frame gets one byte corrupted (XOR with a random non-zero value). */
  corruptProbability: number;
  /** Probability that a reply frame is lost. */
  dropProbability: number;
  /** The whole chain sends nothing (it still takes commands and jobs). */
  silent: boolean;
  /** Probability that a found nonce is reported wrong (a hardware error); counted in reg 0x4C. */
  nonceErrorProbability: number;
}

export interface ReplayNonce {
  /** Nonce as a pool sees it (uint32 stored little-endian in header bytes 76..79). */
  nonce: number;
  /** BM1366+: rolled version bits (version = job version | bits << 13). */
  versionBits?: number;
  /** Sub-id for B7 (BM1397: midstate index). Default: small core from the nonce, midstate 0. */
  subId?: number;
}

export interface ReplayOptions {
  /** Pre-computed valid nonces, replayed round-robin with the latest job id. */
  nonces: readonly ReplayNonce[];
  /** Nonce frames per second. */
  perSecond: number;
  /** Emission tick on the clock (default 10 ms). */
  tickMs?: number;
}

/**
 * Answer mode (tests of job boundaries): the moment a job frame is complete, each entry's nonce is reported
 * for that job — synchronously, inside the host's write() (before the write resolves), as a real chain
 * can answer within a millisecond. The chips do not hash meanwhile. The nonces are the caller's (valid for
 * the job it expects, e.g. a public block rebuilt as a pool job).
 */
export interface AnswerOptions {
  nonces: readonly ReplayNonce[];
}

export interface EmulatedChainOptions {
  model: ChipModel | string;
  /** Chips in the chain (1..256). */
  chips: number;
  /**
   * Easy mode: leading zero bits that replace the difficulty-1 floor (32). E.g. 16 → a CPU finds
   * shares in seconds. The ticket mask still applies on top (see applyTicketMaskInEasyMode).
   */
  easyBits?: number;
  /** Apply the ticket mask to the bits after the easy floor (default true). */
  applyTicketMaskInEasyMode?: boolean;
  clock?: Clock;
  logger?: Logger;
  /** Link name for errors and logs (default "sim:<model>x<chips>"). */
  path?: string;
  /** Seed for the fault-knob random numbers (default random). */
  seed?: number;
  /** Hash in the background while a job is loaded (default true). */
  autoHash?: boolean;
  /** Cap on hashes per second for the whole chain (default: as fast as the CPU allows). */
  maxHashesPerSecond?: number;
  /** Longest synchronous hashing slice before yielding to the event loop, ms (default 8). */
  sliceMs?: number;
  /** Nonces per version/midstate before rolling on (default 4096). */
  rollChunk?: number;
  /** BM1366+: 9-byte replies until reg 0xA4 enables rolling, as SKOT describes (default true). */
  shortRepliesUntilRolling?: boolean;
  /** Drop bytes both ways while host and chip baud rates differ by more than 5 % (default false). */
  strictBaud?: boolean;
  faults?: Partial<ChainFaults>;
  replay?: ReplayOptions;
  answer?: AnswerOptions;
}

export interface ChainStats {
  bytesIn: number;
  bytesOut: number;
  framesIn: number;
  crcErrors: number;
  badFrames: number;
  garbageBytes: number;
  commands: number;
  jobs: number;
  jobErrors: number;
  registerReplies: number;
  nonceReplies: number;
  nonceErrors: number;
  droppedReplies: number;
  corruptedReplies: number;
  silencedReplies: number;
  baudMismatchBytes: number;
  replayed: number;
  /** Nonce frames sent by answer mode. */
  answered: number;
  hashes: number;
  /** Bytes the host sent while the chips were unpowered or held in reset (lost). */
  deadBytes: number;
}

export interface FoundEvent extends FoundNonce {
  chipIndex: number;
  chipAddress: number;
  /** The reply frame as sent (before line faults), or undefined when the chip is silent. */
  frame: Uint8Array | undefined;
}

type Unsubscribe = () => void;

/** Error shape of the transport contract (code, path, fix), without importing drivers/. */
export class EmulatorLinkError extends Error {
  override readonly name = 'TransportError';
  readonly code: 'closed' | 'unplugged' | 'io';
  readonly path: string;
  readonly fix?: string;
  constructor(code: 'closed' | 'unplugged' | 'io', path: string, message: string, fix?: string) {
    super(`${path}: ${message}${fix ? ` (${fix})` : ''}`);
    this.code = code;
    this.path = path;
    this.fix = fix;
  }
}

/** Small seeded PRNG (mulberry32) so fault tests are reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class EmulatedChain {
  readonly path: string;
  readonly info: ChipModelInfo;
  readonly chips: EmulatedChip[] = [];
  readonly faults: ChainFaults = {
    corruptProbability: 0,
    dropProbability: 0,
    silent: false,
    nonceErrorProbability: 0,
  };
  /** Leading zero bits of every reported hash (32 = real chips). */
  readonly floorBits: number;

  private open_ = false;
  private hostBaud = 115200;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly rnd: () => number;
  private readonly parser: HostFrameParser;
  private readonly dataListeners = new Set<(chunk: Uint8Array) => void>();
  private readonly errorListeners = new Set<(err: EmulatorLinkError) => void>();
  private readonly closeListeners = new Set<() => void>();
  private readonly foundListeners = new Set<(e: FoundEvent) => void>();
  private out: Uint8Array[] = [];
  private deliverImmediate: NodeJS.Immediate | undefined;
  private hashImmediate: NodeJS.Immediate | undefined;
  private capTimer: TimerHandle | undefined;
  private replayTimer: TimerHandle | undefined;
  private running = false;
  private tokens = 0;
  private tokenTime = 0;
  private replay: ReplayOptions | undefined;
  private answer: AnswerOptions | undefined;
  private replayStart = 0;
  private replayEmitted = 0;
  private replayIndex = 0;
  private readonly autoHash: boolean;
  private readonly maxHps: number | undefined;
  private readonly sliceMs: number;
  private readonly strictBaud: boolean;
  private readonly chipConfig: ChipSearchConfig;
  private readonly s = {
    bytesIn: 0,
    bytesOut: 0,
    commands: 0,
    jobs: 0,
    jobErrors: 0,
    registerReplies: 0,
    nonceReplies: 0,
    nonceErrors: 0,
    droppedReplies: 0,
    corruptedReplies: 0,
    silencedReplies: 0,
    baudMismatchBytes: 0,
    replayed: 0,
    answered: 0,
    deadBytes: 0,
  };
  private supplyV = Number.POSITIVE_INFINITY;
  private minSupplyV = 0;
  private resetHeld = false;

  constructor(opts: EmulatedChainOptions) {
    this.info = modelInfo(String(opts.model));
    const n = opts.chips;
    if (!Number.isInteger(n) || n < 1 || n > 256)
      throw new Error(`chips: must be an integer 1..256, got ${n}`);
    const easy = opts.easyBits;
    if (easy !== undefined && (!Number.isInteger(easy) || easy < 1 || easy > 32)) {
      throw new Error(`easyBits: must be an integer 1..32, got ${easy}`);
    }
    if (opts.maxHashesPerSecond !== undefined && !(opts.maxHashesPerSecond > 0)) {
      throw new Error(`maxHashesPerSecond: must be > 0, got ${opts.maxHashesPerSecond}`);
    }
    this.floorBits = easy ?? 32;
    this.path = opts.path ?? `sim:${this.info.model}x${n}`;
    this.clock = opts.clock ?? systemClock;
    this.log = (opts.logger ?? silentLogger).child('bm13xx-emu', { link: this.path });
    this.rnd = prng(opts.seed ?? Math.floor(Math.random() * 2 ** 32));
    this.autoHash = opts.autoHash ?? true;
    this.maxHps = opts.maxHashesPerSecond;
    this.sliceMs = opts.sliceMs ?? 8;
    this.strictBaud = opts.strictBaud ?? false;
    this.chipConfig = {
      floorBits: this.floorBits,
      applyTicketMask: easy === undefined ? true : (opts.applyTicketMaskInEasyMode ?? true),
      rollChunk: Math.max(1, Math.floor(opts.rollChunk ?? 4096)),
      shortRepliesUntilRolling: opts.shortRepliesUntilRolling ?? true,
    };
    Object.assign(this.faults, opts.faults ?? {});
    this.parser = new HostFrameParser(this.info.jobFormat, this.onFrame, (reason, bytes) =>
      this.log.debug('frame.dropped', { reason, bytes: Buffer.from(bytes).toString('hex') }),
    );
    for (let i = 0; i < n; i++) this.chips.push(this.newChip(i));
    this.updateRanges();
    if (opts.replay) this.replay = { ...opts.replay };
    if (opts.answer) this.answer = { ...opts.answer };
  }

  // ---------------- ByteTransport shape ----------------

  get isOpen(): boolean {
    return this.open_;
  }

  /** Host-side line rate (what setBaudRate last set). */
  get baudRate(): number {
    return this.hostBaud;
  }

  async open(): Promise<void> {
    if (this.open_) return;
    this.open_ = true;
    this.kick();
    this.startReplay();
  }

  async write(data: Uint8Array): Promise<void> {
    if (!this.open_)
      throw new EmulatorLinkError('closed', this.path, 'write on a closed link', 'open() it first');
    this.s.bytesIn += data.length;
    if (!this.answering) {
      // Unpowered, under-volted or held in reset: the chips' UART receivers see nothing.
      this.s.deadBytes += data.length;
      return;
    }
    if (this.baudMismatch()) {
      this.s.baudMismatchBytes += data.length;
      return;
    }
    this.parser.push(data);
  }

  onData(listener: (chunk: Uint8Array) => void): Unsubscribe {
    this.dataListeners.add(listener);
    return () => this.dataListeners.delete(listener);
  }

  onError(listener: (err: EmulatorLinkError) => void): Unsubscribe {
    this.errorListeners.add(listener);
    return () => this.errorListeners.delete(listener);
  }

  onClose(listener: () => void): Unsubscribe {
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  async setBaudRate(baud: number): Promise<void> {
    if (!(baud > 0)) throw new EmulatorLinkError('io', this.path, `invalid baud rate ${baud}`);
    this.hostBaud = baud;
    this.log.debug('host.baud', { baud, chipBaud: this.chipBaudRate });
  }

  async flush(): Promise<void> {
    this.out = [];
  }

  async close(): Promise<void> {
    if (!this.open_) return;
    this.open_ = false;
    this.stopTimers();
    this.out = [];
    this.parser.reset();
    for (const l of [...this.closeListeners]) l();
  }

  // ---------------- object API ----------------

  /** Called for every nonce a chip finds (before line faults), for tests and tools. */
  onFound(listener: (e: FoundEvent) => void): Unsubscribe {
    this.foundListeners.add(listener);
    return () => this.foundListeners.delete(listener);
  }

  get stats(): ChainStats {
    const p = this.parser.stats;
    return {
      ...this.s,
      framesIn: p.frames,
      crcErrors: p.crcErrors,
      badFrames: p.badFrames,
      garbageBytes: p.garbageBytes,
      hashes: this.chips.reduce((a, c) => a + c.hashes, 0),
    };
  }

  /** The rate the chips talk at (chip 0's baud register), for tools that want to mirror it. */
  get chipBaudRate(): number {
    return this.chips[0]?.baudRate ?? 115_740;
  }

  /** Runtime fault knobs. */
  setFaults(f: Partial<ChainFaults>): void {
    Object.assign(this.faults, f);
  }

  /** Test knob: every chip starts (restarts) its search at the first nonce of its slice ≥ `nonce`. */
  setSearchStart(nonce: number | undefined): void {
    const nw = nonce === undefined ? undefined : bswap32(nonce);
    for (const c of this.chips) c.setSearchStart(nw);
    this.kick();
  }

  /** Adds a chip at the end of the chain (reset state: address 0, active). */
  addChip(): EmulatedChip {
    const c = this.newChip(this.chips.length);
    this.chips.push(c);
    this.updateRanges();
    return c;
  }

  /** Removes a chip (default the last) as if it had died or been unsoldered. */
  removeChip(index = this.chips.length - 1): void {
    if (index < 0 || index >= this.chips.length) throw new Error(`removeChip: no chip at index ${index}`);
    this.chips.splice(index, 1);
    this.chips.forEach((c, i) => {
      c.index = i;
    });
    this.updateRanges();
  }

  /**
   * Core supply (physics): below `minVolts` the chips are unpowered — they lose all state and neither
   * answer nor hash until the supply is back (then they start from power-on reset). Default: powered.
   */
  setSupply(volts: number, minVolts: number): void {
    const was = this.powered;
    this.supplyV = volts;
    this.minSupplyV = minVolts;
    if (was && !this.powered) this.reset();
    if (!was && this.powered) this.reset();
    this.kick();
  }

  /** Reset pin (asserted = held): held chips lose their state and stay silent until released. */
  setResetHeld(held: boolean): void {
    if (held && !this.resetHeld) this.reset();
    this.resetHeld = held;
    this.kick();
  }

  get powered(): boolean {
    return this.supplyV >= this.minSupplyV;
  }

  /** Chips answer (and hash) only while powered and out of reset. */
  get answering(): boolean {
    return this.powered && !this.resetHeld;
  }

  get supplyVolts(): number {
    return this.supplyV;
  }

  get isResetHeld(): boolean {
    return this.resetHeld;
  }

  /** Reset pin: every chip back to power-on state; partial frames and queued replies are lost. */
  reset(): void {
    for (const c of this.chips) c.powerOnReset();
    this.parser.reset();
    this.out = [];
    this.updateRanges();
  }

  /** Simulates the device vanishing: onError('unplugged') then close. */
  unplug(): void {
    const err = new EmulatorLinkError('unplugged', this.path, 'device disappeared', 'check the cable');
    for (const l of [...this.errorListeners]) l(err);
    void this.close();
  }

  /** Synchronously hashes up to `n` nonces spread over the busy chips. Returns hashes done. */
  runHashes(n: number): number {
    let left = n;
    let total = 0;
    while (left > 0) {
      const done = this.hashStep(Math.min(left, 65536));
      if (done === 0) break;
      total += done;
      left -= done;
    }
    return total;
  }

  /** Starts (options) or stops (undefined) replay mode. While replaying the chips do not hash. */
  setReplay(opts: ReplayOptions | undefined): void {
    if (this.replayTimer) this.clock.clearInterval(this.replayTimer);
    this.replayTimer = undefined;
    this.replay = opts ? { ...opts } : undefined;
    if (this.open_) {
      this.startReplay();
      this.kick();
    }
  }

  /** Starts (options) or stops (undefined) answer mode. While answering the chips do not hash. */
  setAnswer(opts: AnswerOptions | undefined): void {
    this.answer = opts ? { ...opts } : undefined;
    if (!opts) this.kick();
  }

  // ---------------- internals ----------------

  /** Answer mode: the known nonces for the job just loaded, straight onto the line. */
  private answerJob(): void {
    const a = this.answer;
    if (!a || !this.open_) return;
    for (const entry of a.nonces) {
      const nw = bswap32(entry.nonce);
      const chip = this.chips.find((c) => c.job && c.owns(nw)) ?? this.chips.find((c) => c.job);
      if (!chip?.job || chip.faults.silent) continue;
      const sub =
        entry.subId ?? (this.info.jobFormat === 'header' ? nw & ((1 << this.info.subIdBits) - 1) : 0);
      const frame = nonceReply(
        new Uint8Array(chip.replyLength),
        chip.replyLength,
        nw,
        0,
        chip.b7(chip.job.id, sub),
        entry.versionBits ?? 0,
      );
      this.s.nonceReplies++;
      this.s.answered++;
      this.send(frame);
    }
    this.deliver();
  }

  private newChip(index: number): EmulatedChip {
    return new EmulatedChip(this.info, index, this.chipConfig, this.onChipNonce);
  }

  /** Slice of each chip: F ∈ [address, next higher address in the chain). */
  private updateRanges(): void {
    const addrs = [...new Set(this.chips.map((c) => c.address))].sort((a, b) => a - b);
    for (const c of this.chips) {
      const next = addrs.find((a) => a > c.address) ?? 256;
      c.setRange(c.address, next - c.address);
    }
  }

  private baudMismatch(): boolean {
    if (!this.strictBaud) return false;
    const chip = this.chipBaudRate;
    return Math.abs(chip - this.hostBaud) / chip > 0.05;
  }

  private readonly onFrame = (f: HostFrame): void => {
    if (f.kind === 'job') {
      this.s.jobs++;
      for (const chip of this.chips) {
        const err = chip.loadJob(f.data);
        if (err) {
          this.s.jobErrors++;
          this.log.debug('job.rejected', { chip: chip.index, reason: err });
          break;
        }
      }
      if (this.answer) this.answerJob();
      else this.kick();
      return;
    }
    this.s.commands++;
    const d = f.data;
    switch (f.cmd) {
      case 0: {
        // set address: the first chip still inactive (after chain inactive) takes it; active chips
        // relay it, so with no inactive chip left it falls off the end of the chain
        const target = this.chips.find((c) => c.inactive);
        if (!target) return;
        target.address = d[0]!;
        target.inactive = false;
        this.updateRanges();
        return;
      }
      case 1: {
        if (d.length < 6) {
          this.badCommand(f, 'write needs 6 data bytes');
          return;
        }
        const reg = d[1]!;
        const value = be32(d, 2) >>> 0;
        for (const c of this.chips) {
          if (!f.all && c.address !== d[0]) continue;
          const before = c.baudRate;
          c.writeRegister(reg, value);
          if (reg === this.info.baudRegister && c.index === 0 && c.baudRate !== before) {
            this.log.info('chip.baud', { baud: c.baudRate, register: `0x${reg.toString(16)}` });
          }
        }
        return;
      }
      case 2: {
        if (d.length < 2) {
          this.badCommand(f, 'read needs 2 data bytes');
          return;
        }
        const reg = d[1]!;
        const now = this.clock.now();
        for (const c of this.chips) {
          if (!f.all && c.address !== d[0]) continue;
          if (c.faults.silent) continue;
          const frame = registerReply(
            new Uint8Array(c.replyLength),
            c.replyLength,
            c.readRegister(reg, now),
            c.address,
            reg,
          );
          this.s.registerReplies++;
          this.send(frame);
        }
        return;
      }
      default: {
        for (const c of this.chips) if (f.all || c.address === d[0]) c.inactive = true;
        return;
      }
    }
  };

  private badCommand(f: HostFrame, why: string): void {
    this.log.debug('command.rejected', { header: `0x${f.header.toString(16)}`, reason: why });
  }

  private readonly onChipNonce = (chip: EmulatedChip, found: FoundNonce): void => {
    let nw = found.nonceWord;
    if (this.faults.nonceErrorProbability > 0 && this.rnd() < this.faults.nonceErrorProbability) {
      nw = (nw ^ (1 + Math.floor(this.rnd() * 0xfffffffe))) >>> 0;
      chip.errorUnits += chip.ticketDifficulty;
      this.s.nonceErrors++;
    }
    let frame: Uint8Array | undefined;
    if (!chip.faults.silent) {
      frame = nonceReply(
        new Uint8Array(chip.replyLength),
        chip.replyLength,
        nw,
        0,
        chip.b7(found.jobId, found.subId),
        found.versionBits,
      );
      this.s.nonceReplies++;
    }
    for (const l of this.foundListeners)
      l({ ...found, chipIndex: chip.index, chipAddress: chip.address, frame });
    if (frame) this.send(frame.slice());
  };

  /** Puts a reply on the line, through the line fault knobs. */
  private send(frame: Uint8Array): void {
    if (!this.open_ || !this.answering) return;
    if (this.faults.silent) {
      this.s.silencedReplies++;
      return;
    }
    if (this.faults.dropProbability > 0 && this.rnd() < this.faults.dropProbability) {
      this.s.droppedReplies++;
      return;
    }
    if (this.faults.corruptProbability > 0 && this.rnd() < this.faults.corruptProbability) {
      const i = 2 + Math.floor(this.rnd() * (frame.length - 2));
      frame[i] = frame[i]! ^ (1 + Math.floor(this.rnd() * 255));
      this.s.corruptedReplies++;
    }
    this.out.push(frame);
    if (!this.deliverImmediate) this.deliverImmediate = setImmediate(this.deliver);
  }

  private readonly deliver = (): void => {
    this.deliverImmediate = undefined;
    if (!this.open_ || this.out.length === 0) return;
    const parts = this.out;
    this.out = [];
    const len = parts.reduce((a, p) => a + p.length, 0);
    if (this.baudMismatch()) {
      this.s.baudMismatchBytes += len;
      return;
    }
    const chunk = new Uint8Array(len);
    let o = 0;
    for (const p of parts) {
      chunk.set(p, o);
      o += p.length;
    }
    this.s.bytesOut += len;
    for (const l of [...this.dataListeners]) l(chunk);
  };

  private hashStep(budget: number): number {
    if (!this.answering) return 0;
    const busy = this.chips.filter((c) => c.busy);
    if (busy.length === 0) return 0;
    const per = Math.max(1, Math.ceil(budget / busy.length));
    let done = 0;
    let owed = false;
    for (const c of busy) {
      if (c.faults.speed >= 1) {
        done += c.hash(per);
        continue;
      }
      // A slow chip: only its share of the slice (fractions carried over), at least a token hash so
      // the loop still ends when every busy chip is slow.
      c.speedCredit += per * Math.max(0, c.faults.speed);
      const n = Math.floor(c.speedCredit);
      c.speedCredit -= n;
      if (n > 0) done += c.hash(n);
      else if (c.faults.speed > 0) owed = true;
    }
    return done > 0 ? done : owed ? 1 : 0;
  }

  /** Starts the background hashing loop when there is work. */
  private kick(): void {
    if (this.running || !this.open_ || !this.autoHash || this.replay || this.answer || !this.answering)
      return;
    if (!this.chips.some((c) => c.busy)) return;
    this.running = true;
    this.tokenTime = this.clock.now();
    this.tokens = 0;
    this.hashImmediate = setImmediate(this.loop);
  }

  private readonly loop = (): void => {
    this.hashImmediate = undefined;
    if (!this.open_ || !this.autoHash || this.replay || this.answer) {
      this.running = false;
      return;
    }
    const t0 = performance.now();
    for (;;) {
      let budget = 8192;
      if (this.maxHps !== undefined) {
        const now = this.clock.now();
        this.tokens = Math.min(
          this.maxHps * 0.1 + 1,
          this.tokens + ((now - this.tokenTime) * this.maxHps) / 1000,
        );
        this.tokenTime = now;
        if (this.tokens < 1) {
          const wait = Math.max(1, Math.ceil(((1 - this.tokens) * 1000) / this.maxHps));
          this.capTimer = this.clock.setTimeout(
            () => {
              this.capTimer = undefined;
              this.loop();
            },
            Math.max(wait, 5),
          );
          return;
        }
        budget = Math.min(budget, Math.floor(this.tokens));
      }
      const n = this.hashStep(budget);
      this.tokens -= n;
      if (n === 0) {
        this.running = false;
        return;
      }
      if (performance.now() - t0 >= this.sliceMs) break;
    }
    this.hashImmediate = setImmediate(this.loop);
  };

  private startReplay(): void {
    if (!this.replay || this.replayTimer || !this.open_) return;
    if (!(this.replay.perSecond > 0) || this.replay.nonces.length === 0) return;
    this.replayStart = this.clock.now();
    this.replayEmitted = 0;
    this.replayTimer = this.clock.setInterval(this.replayTick, this.replay.tickMs ?? 10);
  }

  private readonly replayTick = (): void => {
    const r = this.replay;
    if (!r || !this.open_) return;
    const due = Math.floor(((this.clock.now() - this.replayStart) * r.perSecond) / 1000) - this.replayEmitted;
    const n = Math.min(due, Math.ceil(r.perSecond)); // never more than one second's worth at once
    for (let i = 0; i < n; i++) {
      this.replayEmitted++;
      const entry = r.nonces[this.replayIndex++ % r.nonces.length]!;
      const nw = bswap32(entry.nonce);
      const chip = this.chips.find((c) => c.job && c.owns(nw)) ?? this.chips.find((c) => c.job);
      if (!chip?.job || chip.faults.silent) continue;
      const sub =
        entry.subId ?? (this.info.jobFormat === 'header' ? nw & ((1 << this.info.subIdBits) - 1) : 0);
      const frame = nonceReply(
        new Uint8Array(chip.replyLength),
        chip.replyLength,
        nw,
        0,
        chip.b7(chip.job.id, sub),
        entry.versionBits ?? 0,
      );
      // credit the work one reported nonce stands for, so the counters agree with the nonce rate
      chip.hashes += 2 ** this.floorBits * chip.ticketDifficulty;
      this.s.replayed++;
      this.s.nonceReplies++;
      this.send(frame);
    }
  };

  private stopTimers(): void {
    if (this.deliverImmediate) clearImmediate(this.deliverImmediate);
    if (this.hashImmediate) clearImmediate(this.hashImmediate);
    this.deliverImmediate = undefined;
    this.hashImmediate = undefined;
    this.running = false;
    this.clock.clearTimeout(this.capTimer);
    this.capTimer = undefined;
    this.clock.clearInterval(this.replayTimer);
    this.replayTimer = undefined;
  }
}

/** In-process emulated chain; open() it (or hand it to a driver that does) before use. */
export function createEmulatedChain(opts: EmulatedChainOptions): EmulatedChain {
  return new EmulatedChain(opts);
}
