/**
 * The chain actor: drives one chain of BM13xx chips over any ByteTransport, with time on a Clock and
 * one log line per event. It resets (optional hook), initialises per model (enumerate by chip-id read,
 * chain inactive, addresses at floor(256/N), registers, ticket mask, PLL ramp, HCN, version mask, max
 * baud then the host's baud), refuses a chain with missing, extra or wrong chips, sends jobs with the
 * model's job-id stepping, decodes replies into 'nonce' and 'register' events, polls the hash counters
 * into a hashrate, and re-initialises a chain that stops answering (watchdog). Re-opening a transport
 * that went away is the Reconnector's job (drivers/transport/reconnect.ts): call init() from its onUp.
 */
import { EventEmitter } from 'node:events';
import { type Clock, systemClock, type TimerHandle } from '../../lib/clock.ts';
import { type Logger, silentLogger } from '../../lib/log.ts';
import type { ByteTransport, Unsubscribe } from '../transport/contract.ts';
import {
  chipIndexFromNonce,
  type DecodedReply,
  encodeJob,
  type JobInput,
  jobFrameLength,
  ResponseDecoder,
  readRegisterAllFrame,
  writeRegisterAllFrame,
} from './codec.ts';
import {
  addressInterval,
  DEFAULT_VERSION_MASK,
  enumerationFrame,
  type InitStep,
  maxBaudStep,
  type PauseKind,
  postEnumeration,
  preEnumeration,
  RESET_MHZ,
  rampSteps,
} from './init.ts';
import { type ChipModel, type ModelInfo, modelInfo, nextJobId } from './models.ts';
import { bm1397HashrateGhs, counterGhs, REG, versionMaskValue } from './registers.ts';

export interface ChainTiming {
  /** Reset held low (ms). ESP: 100. */
  resetPulseMs: number;
  /** Wait after releasing reset (ms). ESP: 100. */
  postResetMs: number;
  /** Longest wait for chip-id replies (ms). ESP: 1000. */
  enumerateTimeoutMs: number;
  /** Once the expected count answered, wait this long for extra chips (ms). */
  enumerateQuietMs: number;
  /** Short gap between init frames where ESP pauses (ms). */
  gapMs: number;
  /** Pause per frequency step (ms). ESP: 100. */
  rampStepMs: number;
  /** Settle pause (BM1368 per-chip, ms). ESP: 500. */
  settleMs: number;
  /** Pause between the max-baud register write and the host switch (ms). */
  baudSwitchMs: number;
}

export const ESP_TIMING: Readonly<ChainTiming> = Object.freeze({
  resetPulseMs: 100,
  postResetMs: 100,
  enumerateTimeoutMs: 1000,
  enumerateQuietMs: 100,
  gapMs: 10,
  rampStepMs: 100,
  settleMs: 500,
  baudSwitchMs: 20,
});

/** Short pauses for emulated chains (they need no PLL settling). */
export const FAST_TIMING: Readonly<ChainTiming> = Object.freeze({
  resetPulseMs: 1,
  postResetMs: 1,
  enumerateTimeoutMs: 1000,
  enumerateQuietMs: 30,
  gapMs: 0,
  rampStepMs: 0,
  settleMs: 0,
  baudSwitchMs: 5,
});

export interface ChainOptions {
  model: ChipModel | ModelInfo;
  transport: ByteTransport;
  clock?: Clock;
  logger?: Logger;
  /** Chips the board has. Unset: accept whatever number answers (at least one). */
  expectedChips?: number;
  /** Target frequency (MHz). Default: the model's. */
  frequencyMHz?: number;
  /** BIP320 mask for register 0xA4 (BM1366+). Default 0x1fffe000. */
  versionMask?: number;
  /** Ticket difficulty (register 0x14). Default 256. */
  ticketDifficulty?: number;
  /** Raise the UART rate after init when the transport can follow (default true). */
  maxBaud?: boolean;
  /** Reset line: hold(true) drives NRST low, hold(false) releases it. */
  reset?: (hold: boolean) => void | Promise<void>;
  timing?: Partial<ChainTiming>;
  /** Counter poll period (ms); 0 disables polling and the watchdog. Default 1000. */
  pollIntervalMs?: number;
  /** Consecutive polls with no reply at all before the chain is re-initialised. Default 5. */
  watchdogMisses?: number;
  /** A link-error streak ends after this long without a new error (ms). Default 10 000. */
  linkQuietMs?: number;
  /** Extra chip-id reads when enumeration came up short and frames were corrupted. Default 2. */
  enumerateRetries?: number;
}

/** Health of the serial link to a chain, counted since the driver was created. */
export interface LinkHealth {
  /** Reply frames with a preamble whose CRC5 (or flag bits) failed. */
  crcErrors: number;
  /** Times the decoder lost frame sync and hunted for the next preamble. */
  resyncs: number;
  /** Bytes thrown away (garbage, partial frames, bad frames). */
  droppedBytes: number;
  /** Frames with a good CRC the chain did not expect (a register never read, an address not on the chain). */
  unknownFrames: number;
}

export type ChainState = 'stopped' | 'initialising' | 'ready' | 'idle' | 'failed' | 'offline';

export interface ChainInfo {
  model: ChipModel;
  chips: number;
  /** Address of chip i (i · interval). */
  addresses: number[];
  addressInterval: number;
  /** Line rate after init. */
  baudRate: number;
  frequencyMHz: number;
  /** CORE_NUM byte of each chip's chip-id reply. */
  coreNums: number[];
}

export interface NonceEvent {
  /** Job id as the chip reported it (same value sendJob returned). */
  jobId: number;
  /** Midstate index (BM1397) or small-core id (BM1366+). */
  subId: number;
  /** Nonce as the header holds it (LE32 of reply bytes 2..5). */
  nonce: number;
  /** Rolled version bits, already in place (BM1366+); 0 on BM1397 (use subId as the midstate index). */
  versionBits: number;
  /** Chip by ESP's rule (nonce bits, see REFERENCE.md); -1 when outside the chain. */
  chipIndex: number;
  /** Raw byte 6 of the reply (meaning unknown; some read it as a midstate id). */
  b6: number;
  receivedAt: number;
}

export interface RegisterEvent {
  chipAddr: number;
  /** chipAddr / address interval (ESP). */
  chipIndex: number;
  register: number;
  value: number;
  receivedAt: number;
}

export interface HashrateSample {
  /** Sum over chips (GH/s) from the hash counters; undefined until two readings 1 s apart. */
  totalGhs: number | undefined;
  perChipGhs: Array<number | undefined>;
  /** Nonce error counter (0x4C) per chip, last value. */
  errorCounts: Array<number | undefined>;
  at: number;
}

export type ChainErrorCode =
  | 'no-chips'
  | 'chip-count'
  | 'wrong-chip'
  | 'not-ready'
  | 'transport'
  /** Enumeration came up short while reply frames were corrupted: the link, not (only) the chips. */
  | 'link-corrupt';

export class ChainError extends Error {
  override readonly name = 'ChainError';
  readonly code: ChainErrorCode;
  constructor(code: ChainErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export interface ChainEvents {
  nonce: [NonceEvent];
  register: [RegisterEvent];
  state: [ChainState];
  hashrate: [HashrateSample];
  /** A problem worth one log line and a metric (never thrown at the event loop). */
  fault: [ChainError];
}

interface ChipCounters {
  total?: { value: number; at: number };
  ghs?: number;
  errors?: number;
}

export class Bm13xxChain extends EventEmitter<ChainEvents> {
  readonly model: ModelInfo;
  readonly transport: ByteTransport;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly timing: ChainTiming;
  private readonly decoder: ResponseDecoder;
  private readonly jobBuf: Uint8Array;
  private readonly opts: ChainOptions;
  private st: ChainState = 'stopped';
  private initP: Promise<ChainInfo> | undefined;
  private info_: ChainInfo | undefined;
  private lastJobId = 0;
  private currentMHz = RESET_MHZ;
  private versionMask: number;
  private lastRxAt = 0;
  private pollTimer: TimerHandle | undefined;
  private enumerating: { chipIds: number[]; coreNums: number[]; wrong: number[]; lastAt: number } | undefined;
  private counters: ChipCounters[] = [];
  private readonly unsub: Unsubscribe[] = [];
  private generation = 0;
  /** Counts for metrics. */
  readonly counts = {
    jobs: 0,
    nonces: 0,
    registerReplies: 0,
    reinits: 0,
    badChipIndex: 0,
    unknownFrames: 0,
  };
  /** Registers whose replies the chain expects (chip id, counters). */
  private readonly knownRegisters: ReadonlySet<number>;
  /** The current link-error streak (one warn line when it starts, one info line when it ends). */
  private streak: { since: number; lastAt: number; base: LinkHealth } | undefined;
  private lastBad = 0;

  constructor(o: ChainOptions) {
    super();
    this.opts = o;
    this.model = typeof o.model === 'string' ? modelInfo(o.model) : o.model;
    this.transport = o.transport;
    this.clock = o.clock ?? systemClock;
    this.log = (o.logger ?? silentLogger).child('bm13xx', {
      model: this.model.model,
      path: o.transport.path,
    });
    this.timing = { ...ESP_TIMING, ...o.timing };
    this.versionMask = o.versionMask ?? DEFAULT_VERSION_MASK;
    this.jobBuf = new Uint8Array(jobFrameLength(this.model));
    this.decoder = new ResponseDecoder(this.model, (r) => this.onReply(r));
    this.knownRegisters = new Set([REG.CHIP_ID, ...this.model.counterRegisters]);
    this.unsub.push(
      this.transport.onData((chunk) => {
        this.decoder.push(chunk);
        this.checkLink();
      }),
      this.transport.onClose(() => this.onTransportClosed()),
    );
  }

  get state(): ChainState {
    return this.st;
  }
  /** What init() found; undefined before the first successful init. */
  get info(): ChainInfo | undefined {
    return this.info_;
  }
  /** Decoder counters (frames, CRC errors, garbage bytes). */
  get decoderStats() {
    return this.decoder.stats;
  }
  get frequencyMHz(): number {
    return this.currentMHz;
  }

  /** CRC errors, resyncs, dropped bytes and unknown frames on this chain's link. */
  linkHealth(): LinkHealth {
    const d = this.decoder.stats;
    return {
      crcErrors: d.crcErrors,
      resyncs: d.resyncs,
      droppedBytes: d.garbageBytes,
      unknownFrames: this.counts.unknownFrames,
    };
  }

  /** After each chunk: a new link error starts (or extends) a streak; one warn line per streak. */
  private checkLink(): void {
    const d = this.decoder.stats;
    const bad = d.crcErrors + d.resyncs + this.counts.unknownFrames;
    if (bad === this.lastBad) return;
    this.lastBad = bad;
    const now = this.clock.now();
    if (this.streak) {
      this.streak.lastAt = now;
      return;
    }
    // Errors during bring-up are reported by enumeration/init; a streak (and its one warn line) starts
    // with the first error once the chain runs. Starting it silently here would mute a streak that
    // never goes quiet (steady corruption from power-on).
    if (this.st !== 'ready' && this.st !== 'idle') return;
    const health = this.linkHealth();
    this.streak = { since: now, lastAt: now, base: health };
    this.log.warn('chain.link_errors', {
      ...health,
      hint: 'reply frames are being corrupted or lost: check wiring, ground, cable length and baud rate',
    });
  }

  /** Ends a streak that has been quiet for linkQuietMs (called from the poll tick). */
  private endStreak(now: number): void {
    const s = this.streak;
    if (!s || now - s.lastAt < (this.opts.linkQuietMs ?? 10_000)) return;
    this.streak = undefined;
    const h = this.linkHealth();
    this.log.info('chain.link_ok', {
      afterMs: s.lastAt - s.since,
      crcErrors: h.crcErrors - s.base.crcErrors,
      resyncs: h.resyncs - s.base.resyncs,
      droppedBytes: h.droppedBytes - s.base.droppedBytes,
      unknownFrames: h.unknownFrames - s.base.unknownFrames,
      totals: h,
    });
  }

  private setState(s: ChainState): void {
    if (this.st === s) return;
    this.st = s;
    this.log.info('chain.state', { state: s });
    this.emit('state', s);
  }

  private fault(err: ChainError): ChainError {
    this.log.warn('chain.fault', { code: err.code, error: err.message });
    this.emit('fault', err);
    return err;
  }

  private async send(frame: Uint8Array): Promise<void> {
    try {
      await this.transport.write(frame);
    } catch (err) {
      throw new ChainError('transport', `write to ${this.transport.path} failed: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  private pauseMs(p: PauseKind): number {
    switch (p) {
      case 'gap':
        return this.timing.gapMs;
      case 'ramp':
        return this.timing.rampStepMs;
      case 'settle':
        return this.timing.settleMs;
      default:
        return 0;
    }
  }

  /** Sends steps with their pauses; with `gen`, stops as soon as idle()/stop() supersedes that init. */
  private async run(steps: InitStep[], o: { noRampPause?: boolean; gen?: number } = {}): Promise<void> {
    for (const s of steps) {
      if (o.gen !== undefined && o.gen !== this.generation)
        throw new ChainError('not-ready', 'init superseded by idle()/stop()');
      await this.send(s.frame);
      const ms = o.noRampPause && s.pause === 'ramp' ? 0 : this.pauseMs(s.pause);
      if (ms > 0) await this.clock.sleep(ms);
    }
  }

  /**
   * Resets (when a hook is given) and initialises the chain; resolves with what was found. Rejects with
   * ChainError ('no-chips', 'chip-count', 'wrong-chip', 'transport'); the chain is then 'failed'.
   * Concurrent calls share one run.
   */
  init(): Promise<ChainInfo> {
    if (!this.initP) {
      this.initP = this.doInit().finally(() => {
        this.initP = undefined;
      });
    }
    return this.initP;
  }

  private async doInit(): Promise<ChainInfo> {
    const m = this.model;
    const gen = ++this.generation;
    this.stopPolling();
    this.setState('initialising');
    try {
      if (!this.transport.isOpen) await this.transport.open();
      if (this.opts.reset) {
        await this.opts.reset(true);
        await this.clock.sleep(this.timing.resetPulseMs);
        await this.opts.reset(false);
        await this.clock.sleep(this.timing.postResetMs);
      }
      if (this.transport.baudRate !== m.resetBaud) await this.transport.setBaudRate(m.resetBaud);
      await this.transport.flush();
      this.decoder.reset();
      this.currentMHz = RESET_MHZ;

      await this.run(preEnumeration(m, this.versionMask), { gen });
      const found = await this.enumerate();
      const n = found.chipIds.length;
      const freq = this.opts.frequencyMHz ?? m.defaultMHz;
      await this.run(
        postEnumeration(m, {
          chipCount: n,
          frequencyMHz: freq,
          versionMask: this.versionMask,
          ticketDifficulty: this.opts.ticketDifficulty ?? 256,
          fromMHz: RESET_MHZ,
        }),
        { gen },
      );
      this.currentMHz = freq;
      let baud = this.transport.baudRate;
      if (this.opts.maxBaud !== false) {
        if (this.transport.supportsBaudRate?.(m.maxBaud.baud) ?? true) {
          await this.run([maxBaudStep(m)]);
          await this.clock.sleep(this.timing.baudSwitchMs);
          await this.transport.setBaudRate(m.maxBaud.baud);
          this.decoder.reset();
          baud = m.maxBaud.baud;
        } else {
          this.log.info('chain.baud.kept', {
            baud,
            wanted: m.maxBaud.baud,
            why: 'transport cannot reach it',
          });
        }
      }
      const interval = addressInterval(n);
      this.info_ = {
        model: m.model,
        chips: n,
        addresses: Array.from({ length: n }, (_, i) => i * interval),
        addressInterval: interval,
        baudRate: baud,
        frequencyMHz: freq,
        coreNums: found.coreNums,
      };
      this.counters = Array.from({ length: n }, () => ({}));
      this.lastJobId = 0;
      this.lastRxAt = this.clock.now();
      if (gen !== this.generation) throw new ChainError('not-ready', 'init superseded by stop()');
      this.setState('ready');
      this.log.info('chain.ready', { chips: n, baud, frequencyMHz: freq });
      this.startPolling();
      return this.info_;
    } catch (err) {
      const ce =
        err instanceof ChainError
          ? err
          : new ChainError('transport', `${this.transport.path}: ${(err as Error).message}`, { cause: err });
      if (gen === this.generation) {
        this.setState(this.transport.isOpen ? 'failed' : 'offline');
        this.fault(ce);
        // Keep the watchdog running so a failed chain is retried (unless the link itself is gone).
        if (this.transport.isOpen) this.startPolling();
      }
      throw ce;
    } finally {
      this.enumerating = undefined;
    }
  }

  /** Reads the chip id from all chips and counts the answers. */
  private async enumerate(): Promise<{ chipIds: number[]; coreNums: number[] }> {
    const m = this.model;
    const t = this.timing;
    const expected = this.opts.expectedChips;
    const linkBad = () => this.decoder.stats.crcErrors + this.decoder.stats.resyncs;
    let e = { chipIds: [] as number[], coreNums: [] as number[], wrong: [] as number[], lastAt: 0 };
    let corrupted = 0;
    // A short count while frames were corrupted is read again (the chip-id read changes nothing).
    for (let attempt = 0; ; attempt++) {
      e = { chipIds: [], coreNums: [], wrong: [], lastAt: 0 };
      this.enumerating = e;
      const bad0 = linkBad();
      const start = this.clock.now();
      await this.send(enumerationFrame());
      for (;;) {
        const now = this.clock.now();
        const elapsed = now - start;
        if (elapsed >= t.enumerateTimeoutMs) break;
        if (expected !== undefined ? e.chipIds.length + e.wrong.length >= expected : e.chipIds.length > 0) {
          if (now - e.lastAt >= t.enumerateQuietMs) break;
        }
        await this.clock.sleep(Math.max(1, Math.min(t.enumerateQuietMs, t.enumerateTimeoutMs - elapsed)));
      }
      corrupted = linkBad() - bad0;
      const short = e.chipIds.length === 0 || (expected !== undefined && e.chipIds.length < expected);
      if (!short || corrupted === 0 || e.wrong.length > 0 || attempt >= (this.opts.enumerateRetries ?? 2))
        break;
      this.log.warn('chain.enumerate.retry', {
        found: e.chipIds.length,
        expected,
        corruptedFrames: corrupted,
        attempt: attempt + 1,
      });
    }
    this.enumerating = undefined;
    const name = m.model;
    const linkNote = `; ${corrupted} reply frame(s) were corrupted on the link during enumeration (CRC errors/resyncs), so chips may be present but unheard: check wiring, ground, cable length and the baud rate (${m.resetBaud})`;
    if (e.wrong.length > 0) {
      const ids = [...new Set(e.wrong)].map((v) => `0x${v.toString(16)}`).join(', ');
      throw new ChainError(
        'wrong-chip',
        `expected ${name} (chip id 0x${m.chipId.toString(16)}) on ${this.transport.path}, but ${e.wrong.length} chip(s) answered ${ids}: check the configured chip model`,
      );
    }
    const n = e.chipIds.length;
    if (n === 0) {
      if (corrupted > 0)
        throw new ChainError(
          'link-corrupt',
          `no ${name} chip-id reply arrived intact on ${this.transport.path}${linkNote}`,
        );
      throw new ChainError(
        'no-chips',
        `no ${name} answered the chip-id read on ${this.transport.path} within ${t.enumerateTimeoutMs} ms (no corrupted frames seen: nothing answered): check power, the reset line, wiring and the baud rate (${m.resetBaud})`,
      );
    }
    if (expected !== undefined && n !== expected) {
      if (n < expected && corrupted > 0)
        throw new ChainError(
          'link-corrupt',
          `expected ${expected} ${name}, found ${n} on ${this.transport.path}${linkNote}`,
        );
      throw new ChainError(
        'chip-count',
        `expected ${expected} ${name}, found ${n} on ${this.transport.path}${n < expected ? ': a chip is missing or not powered (the link was clean: no corrupted frames)' : ': check the configured chip count'}`,
      );
    }
    this.log.info('chain.enumerated', { chips: n });
    return { chipIds: e.chipIds, coreNums: e.coreNums };
  }

  private onReply(r: DecodedReply): void {
    const now = this.clock.now();
    this.lastRxAt = now;
    if (r.kind === 'nonce') {
      const info = this.info_;
      const chipIndex = info ? chipIndexFromNonce(r.nonce, info.addressInterval, info.chips) : -1;
      if (chipIndex < 0) {
        this.counts.badChipIndex++;
        this.counts.unknownFrames++;
      }
      this.counts.nonces++;
      this.emit('nonce', {
        jobId: r.jobId,
        subId: r.subId,
        nonce: r.nonce,
        versionBits: r.versionBits,
        chipIndex,
        b6: r.b6,
        receivedAt: now,
      });
      return;
    }
    this.counts.registerReplies++;
    if (!this.knownRegisters.has(r.register)) this.counts.unknownFrames++;
    else if (this.info_) {
      const iv = this.info_.addressInterval;
      if (r.chipAddr % iv !== 0 || r.chipAddr / iv >= this.info_.chips) this.counts.unknownFrames++;
    }
    const e = this.enumerating;
    if (e && r.register === REG.CHIP_ID) {
      const id = r.value >>> 16;
      if (id === this.model.chipId) {
        e.chipIds.push(id);
        e.coreNums.push((r.value >>> 8) & 0xff);
      } else e.wrong.push(id);
      e.lastAt = now;
    }
    const interval = this.info_?.addressInterval ?? 256;
    const chipIndex = Math.floor(r.chipAddr / interval);
    this.trackCounter(chipIndex, r.register, r.value, now);
    this.emit('register', {
      chipAddr: r.chipAddr,
      chipIndex,
      register: r.register,
      value: r.value,
      receivedAt: now,
    });
  }

  private trackCounter(chip: number, reg: number, value: number, now: number): void {
    const c = this.counters[chip];
    if (!c) return;
    if (reg === REG.NONCE_ERROR_COUNTER) c.errors = value;
    else if (this.model.model === 'BM1397' && reg === REG.HASHRATE) c.ghs = bm1397HashrateGhs(value) ?? c.ghs;
    else if (this.model.model !== 'BM1397' && reg === REG.TOTAL_COUNTER) {
      if (c.total) {
        const g = counterGhs(c.total.value, value, now - c.total.at);
        if (g === undefined) return; // < 1 s since the last reading: ignore (ESP)
        c.ghs = g;
      }
      c.total = { value, at: now };
    }
  }

  /** Current hashrate from the last counter readings. */
  hashrate(): HashrateSample {
    const perChipGhs = this.counters.map((c) => c.ghs);
    const known = perChipGhs.filter((g): g is number => g !== undefined);
    return {
      totalGhs: known.length ? known.reduce((a, b) => a + b, 0) : undefined,
      perChipGhs,
      errorCounts: this.counters.map((c) => c.errors),
      at: this.clock.now(),
    };
  }

  /**
   * Sends a job and returns the chip job id it was given (per-model stepping). Jobs are encoded into
   * one preallocated buffer (the transport copies on write). Rejects with 'not-ready' unless ready.
   * `beforeWrite(id)` runs synchronously before the frame is written (the host registers the job's slot
   * there, so a reply that arrives while the write is awaited finds it).
   */
  async sendJob(job: Omit<JobInput, 'jobId'>, beforeWrite?: (id: number) => void): Promise<number> {
    if (this.st !== 'ready')
      throw new ChainError('not-ready', `chain on ${this.transport.path} is ${this.st}`);
    const id = nextJobId(this.model, this.lastJobId);
    const frame = encodeJob(this.model, { ...job, jobId: id }, this.jobBuf);
    this.lastJobId = id;
    beforeWrite?.(id);
    await this.send(frame);
    this.counts.jobs++;
    return id;
  }

  /** Sets the version-rolling mask (BM1366+: register 0xA4; BM1397 rolls via host midstates). */
  async setVersionMask(mask: number): Promise<void> {
    this.versionMask = mask >>> 0;
    if (!this.model.rollsVersion || this.st !== 'ready') return;
    await this.send(writeRegisterAllFrame(REG.VERSION_ROLLING, versionMaskValue(this.versionMask)));
    this.log.info('chain.version-mask', { mask: `0x${this.versionMask.toString(16)}` });
  }

  /**
   * Ramps to a new frequency in 6.25 MHz steps and rewrites the hash counting number. `fastDown`: a ramp
   * *down* goes out without the per-step settling pause (the stop path: current falls, nothing to settle;
   * a ramp up always pauses).
   */
  async setFrequency(mhz: number, o: { fastDown?: boolean } = {}): Promise<void> {
    if (this.st !== 'ready' && this.st !== 'idle') {
      throw new ChainError('not-ready', `chain on ${this.transport.path} is ${this.st}`);
    }
    const chips = this.info_?.chips ?? 1;
    await this.run(rampSteps(this.model, this.currentMHz, mhz, chips), {
      noRampPause: o.fastDown === true && mhz <= this.currentMHz,
    });
    this.log.info('chain.frequency', { from: this.currentMHz, to: mhz });
    this.currentMHz = mhz;
    if (this.info_) this.info_.frequencyMHz = mhz;
  }

  /** Broadcasts reads of the model's counter registers; replies update hashrate(). */
  async pollCounters(): Promise<void> {
    for (const reg of this.model.counterRegisters) await this.send(readRegisterAllFrame(reg));
  }

  private startPolling(): void {
    const every = this.opts.pollIntervalMs ?? 1000;
    if (every <= 0 || this.pollTimer) return;
    this.pollTimer = this.clock.setInterval(() => void this.tick(), every);
  }
  private stopPolling(): void {
    this.clock.clearInterval(this.pollTimer);
    this.pollTimer = undefined;
  }

  private async tick(): Promise<void> {
    const every = this.opts.pollIntervalMs ?? 1000;
    const limit = every * (this.opts.watchdogMisses ?? 5);
    this.endStreak(this.clock.now());
    if (this.initP) return;
    if (this.st === 'failed' || (this.st === 'ready' && this.clock.now() - this.lastRxAt > limit)) {
      if (this.st === 'ready') {
        this.fault(
          new ChainError(
            'no-chips',
            `chain on ${this.transport.path} stopped answering for ${limit} ms; re-initialising`,
          ),
        );
      }
      this.counts.reinits++;
      await this.init().catch(() => {}); // failure already logged; retried on a later tick
      return;
    }
    if (this.st !== 'ready') return;
    try {
      await this.pollCounters();
      this.emit('hashrate', this.hashrate());
    } catch (err) {
      this.log.debug('chain.poll.failed', { error: err });
    }
  }

  private onTransportClosed(): void {
    if (this.st === 'stopped') return;
    this.stopPolling();
    this.generation++;
    this.setState('offline');
    this.fault(
      new ChainError('transport', `link ${this.transport.path} closed; waiting for it to come back`),
    );
  }

  /**
   * Stops sending jobs (sendJob rejects) and polling; with holdReset the reset line is held low so the
   * chips stop hashing. The chain can be re-initialised with init().
   */
  async idle(opts: { holdReset?: boolean } = {}): Promise<void> {
    this.stopPolling();
    this.generation++;
    if (this.st !== 'stopped') this.setState('idle');
    if (opts.holdReset && this.opts.reset) await this.opts.reset(true);
  }

  /** idle() and detach from the transport (which stays open; its owner closes it). */
  async stop(opts: { holdReset?: boolean } = {}): Promise<void> {
    await this.idle(opts);
    await this.initP?.catch(() => {});
    this.stopPolling();
    for (const u of this.unsub.splice(0)) u();
    this.setState('stopped');
  }
}
