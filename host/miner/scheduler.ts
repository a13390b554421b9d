/**
 * The per-chain scheduler: pool jobs in, chip jobs out, nonces back, shares out.
 *
 * - A new template per pool job; a fresh extranonce2 (0, 1, 2 … per job) for every chip job.
 * - A chip job every `intervalMs` (ESP-Miner's formulas by default, see jobIntervalMs), and at once
 *   on clean_jobs. A non-clean job replaces the template and takes effect at the next interval.
 * - Chip job ids index a slot table, so late nonces find the work they were hashed for. After a
 *   clean_jobs notify the older slots are dropped: their shares would only come back stale.
 * - Every nonce is re-checked on the host (work engine) and classified; shares and blocks go to
 *   `submit` with the pool token of the connection that issued the job. Hardware errors are counted
 *   per chip. Hashrate per chip comes from difficulty-weighted nonces (each nonce that meets the ticket
 *   stands for ticketDifficulty · 2^32 hashes on average).
 */
import type { JobInput } from '../../drivers/bm13xx/codec.ts';
import type { ModelInfo } from '../../drivers/bm13xx/models.ts';
import type { Clock, TimerHandle } from '../../lib/clock.ts';
import type { Logger } from '../../lib/log.ts';
import {
  buildTemplate,
  checkNonce,
  Extranonce2Counter,
  Extranonce2ExhaustedError,
  HeaderOnlyExhaustedError,
  type JobTemplate,
  makeWork,
  type NonceCheck,
  type NotifyJob,
  type Work,
  WorkError,
} from '../work/index.ts';
import { RateMeter } from './rate.ts';

/** What the scheduler needs from a chain driver. */
export interface ChainPort {
  readonly model: ModelInfo;
  readonly chipCount: number;
  /**
   * Sends one job; resolves with the chip job id used (per-model stepping is the driver's). A driver
   * calls `beforeWrite(id)` synchronously before the first byte of the frame goes out, so a reply that
   * arrives while the write is still being awaited finds its slot.
   */
  sendJob(job: Omit<JobInput, 'jobId'>, beforeWrite?: (chipJobId: number) => void): Promise<number>;
}

/** A job as the pool manager hands it over. */
export interface PoolJob {
  notify: NotifyJob;
  extranonce1: string;
  extranonce2Size: number;
  difficulty: number;
  versionMask: number;
  /** Opaque: identifies the connection that issued the job (shares go back only there). */
  poolToken: unknown;
  /**
   * The one clean flag: the pool said clean_jobs *or* the prevhash changed (a new block), or the job
   * comes from another connection. Older work is abandoned and the chips get this job at once.
   */
  clean: boolean;
}

/** Why a nonce found no slot. */
export type UnmatchedReason = 'unknown-job' | 'invalidated' | 'stopped';

export interface ChipNonce {
  jobId: number;
  subId: number;
  /** The uint32 the header holds (LE of reply bytes 2..5). */
  nonce: number;
  /** BM1366+: the rolled version bits already in place (reply bytes 8..9 << 13), as the driver reports them. */
  versionBits?: number;
  chipIndex: number;
}

export interface ShareCandidate {
  check: NonceCheck;
  poolToken: unknown;
  chipIndex: number;
  /** Send the 6th version_bits parameter. */
  rolling: boolean;
  /** Pool difficulty of the share's job (what an accepted share is worth). */
  poolDifficulty: number;
}

export interface ChipStats {
  index: number;
  nonces: number;
  hardwareErrors: number;
  /** Expected hashes represented by the nonces (difficulty-weighted). */
  meter: RateMeter;
}

export interface SchedulerOptions {
  chain: ChainPort;
  clock: Clock;
  logger: Logger;
  /** Milliseconds between chip jobs. */
  intervalMs: number;
  /** The chips' reporting floor (ticket mask difficulty, or the emulator's easy-mode floor). */
  ticketDifficulty: number;
  submit(share: ShareCandidate): void;
  /** A share that met its job's difficulty but not the pool's latest one: not sent (ledger: below-pool-target). */
  below?(share: ShareCandidate): void;
  /**
   * This chain's share of the extranonce2 space when several chains work the same job: values
   * index, index + count, … (default: all of it).
   */
  extranonce2Lane?: { index: number; count: number };
  /** Every classified nonce (telemetry, tests). */
  onNonce?(check: NonceCheck, chipIndex: number): void;
}

interface Slot {
  work: Work;
  poolToken: unknown;
  epoch: number;
}

/**
 * The last template built. The daemon hands the same notify to the scheduler of every chain; they share
 * one template (it is immutable) instead of each decoding the coinbase and branches again, which is most
 * of the notify → job-frames time on a multi-chain board.
 */
let lastTemplate:
  | {
      notify: NotifyJob;
      extranonce1: string;
      size: number;
      difficulty: number;
      mask: number;
      tpl: JobTemplate;
    }
  | undefined;

function templateFor(job: PoolJob): JobTemplate {
  const l = lastTemplate;
  if (
    l &&
    l.notify === job.notify &&
    l.extranonce1 === job.extranonce1 &&
    l.size === job.extranonce2Size &&
    l.difficulty === job.difficulty &&
    l.mask === job.versionMask
  ) {
    return l.tpl;
  }
  const tpl = buildTemplate(job.notify, job, { difficulty: job.difficulty, versionMask: job.versionMask });
  lastTemplate = {
    notify: job.notify,
    extranonce1: job.extranonce1,
    size: job.extranonce2Size,
    difficulty: job.difficulty,
    mask: job.versionMask,
    tpl,
  };
  return tpl;
}

const np2 = (x: number) => (x <= 1 ? 1 : 2 ** Math.ceil(Math.log2(x)));

/** ESP-Miner's job interval: BM1366+ default_timeout / np2(chips); BM1397 from frequency (bm13xx.md §9). */
export function jobIntervalMs(m: ModelInfo, chips: number, freqMHz: number): number {
  if (m.jobFormat === 'header') return Math.max(1, Math.floor(m.defaultTimeoutMs / np2(chips)));
  const def = 20 / np2(chips);
  if (chips <= 0 || freqMHz <= 0 || np2(m.smallCoreCount) < np2(m.coreCount)) return def;
  const midstates = np2(m.smallCoreCount) / np2(m.coreCount);
  const serialVersions = 4 / midstates;
  const serialNonces = 2 ** 32 / np2(m.coreCount) / np2(chips);
  return (serialVersions * serialNonces) / (freqMHz * 1000);
}

export class ChainScheduler {
  readonly chips: ChipStats[];
  readonly counters = {
    jobsSent: 0,
    sendErrors: 0,
    badJobs: 0,
    exhausted: 0,
    /** Nonces that matched no slot (the sum of `unmatched`). */
    unknownSlot: 0,
    staleSlot: 0,
    shares: 0,
    belowPoolTarget: 0,
    blocks: 0,
    low: 0,
    hardwareErrors: 0,
  };
  /** Nonces that matched no slot, per reason (never checked, never submitted). */
  readonly unmatched: Record<UnmatchedReason, number> = { 'unknown-job': 0, invalidated: 0, stopped: 0 };
  private unmatchedStreak = false;
  /** Chip job ids whose slot was dropped on purpose, and why (until the id is used again). */
  private readonly retired = new Map<number, UnmatchedReason>();
  private template: JobTemplate | undefined;
  private poolToken: unknown;
  private counter: Extranonce2Counter | undefined;
  private readonly slots = new Map<number, Slot>();
  private epoch = 0;
  private timer: TimerHandle | undefined;
  private active = false;
  private sending = false;
  private readonly o: SchedulerOptions;
  private readonly versions: number;
  private minShareDifficulty = 0;
  private sendFailing = false;
  /** The work of the frame being sent (one at a time: `sending`), and the chip job id it took. */
  private inflight: Slot | undefined;
  private inflightId: number | undefined;
  /**
   * Registers the in-flight work under its chip job id; the driver calls it synchronously before the
   * frame's first byte goes out, so a reply that arrives while the write is awaited finds its slot. One
   * function for the scheduler's life (no closure per job on the hot path).
   */
  private readonly register = (id: number): void => {
    const slot = this.inflight;
    if (!slot || slot.epoch !== this.epoch) return;
    this.inflightId = id;
    this.retired.delete(id);
    this.slots.set(id, slot);
  };

  constructor(o: SchedulerOptions) {
    this.o = o;
    const now = o.clock.now();
    this.chips = Array.from({ length: o.chain.chipCount }, (_, index) => ({
      index,
      nonces: 0,
      hardwareErrors: 0,
      meter: new RateMeter(now),
    }));
    this.versions = o.chain.model.jobFormat === 'midstate' ? 4 : 1;
  }

  get hasWork(): boolean {
    return this.active && this.template !== undefined;
  }

  get currentJobId(): string | undefined {
    return this.template?.jobId;
  }

  /** A new pool job. Invalid jobs are counted and logged; the chips keep the previous work. */
  setJob(job: PoolJob): void {
    let tpl: JobTemplate;
    try {
      tpl = templateFor(job);
    } catch (err) {
      this.counters.badJobs++;
      this.o.logger.warn('job.rejected', { jobId: job.notify.jobId, error: (err as Error).message });
      return;
    }
    const clean = job.clean || this.poolToken !== job.poolToken;
    // The same job again (resuming after an idle, a re-sent notify): keep counting extranonce2, or the
    // chips would redo work the pool already has (duplicate shares). A new job starts at 0.
    const same =
      this.template?.jobId === tpl.jobId &&
      this.poolToken === job.poolToken &&
      this.template.extranonce1 === tpl.extranonce1 &&
      this.template.extranonce2Size === tpl.extranonce2Size;
    this.template = tpl;
    this.poolToken = job.poolToken;
    if (!same || !this.counter) {
      const lane = this.o.extranonce2Lane ?? { index: 0, count: 1 };
      this.counter = new Extranonce2Counter(tpl.extranonce2Size, lane.index, lane.count);
    }
    this.active = true;
    if (clean) {
      // The pool invalidated the older work (clean job / new block / other connection). The frame goes
      // out first (sendNext runs synchronously up to the write), the interval timer is re-armed after.
      this.retireSlots('invalidated');
      void this.sendNext();
      this.restartTimer();
    } else if (!this.timer) {
      void this.sendNext();
      this.restartTimer();
    }
  }

  /**
   * The pool's latest set_difficulty. Jobs carry the difficulty that applied when they were issued
   * (the Stratum rule), but some pools (public-pool's vardiff) apply a change to shares at once:
   * shares weaker than the latest difficulty are then not submitted (they would come back 23).
   */
  setMinShareDifficulty(d: number): void {
    this.minShareDifficulty = Number.isFinite(d) && d > 0 ? d : 0;
  }

  /**
   * Stops sending work (no pool, overheat, pause). The slots stay valid: a nonce the chips return for
   * work the pool still accepts is still a share. They go when the pool invalidates them (clean job) or
   * the chip job id is used again.
   */
  idle(): void {
    this.active = false;
    this.o.clock.clearInterval(this.timer);
    this.timer = undefined;
  }

  stop(): void {
    this.idle();
    this.retireSlots('stopped');
    this.template = undefined;
  }

  private retireSlots(reason: UnmatchedReason): void {
    this.epoch++;
    for (const id of this.slots.keys()) this.retired.set(id, reason);
    this.slots.clear();
  }

  private restartTimer(): void {
    this.o.clock.clearInterval(this.timer);
    this.timer = this.o.clock.setInterval(() => void this.sendNext(), this.o.intervalMs);
  }

  /** Builds the next work (fresh extranonce2) and sends it to the chain. */
  async sendNext(): Promise<void> {
    const tpl = this.template;
    if (!this.active || !tpl || !this.counter || this.sending) return;
    let work: Work;
    try {
      const useVersions = this.versions > 1 && tpl.versionMask !== 0 ? this.versions : 1;
      work = makeWork(tpl, this.counter.next(), { versions: useVersions });
    } catch (err) {
      if (err instanceof Extranonce2ExhaustedError || err instanceof HeaderOnlyExhaustedError) {
        this.counters.exhausted++;
        this.o.logger.warn('work.exhausted', { jobId: tpl.jobId, error: err.message });
        this.idle();
        return;
      }
      if (err instanceof WorkError) {
        this.counters.badJobs++;
        this.o.logger.warn('work.error', { jobId: tpl.jobId, error: err.message });
        return;
      }
      throw err;
    }
    const input: Omit<JobInput, 'jobId'> = {
      version: tpl.version,
      nbits: tpl.nbits,
      ntime: work.ntime,
      startingNonce: 0,
      merkleRoot: work.merkleRoot,
      prevHash: tpl.prevHash,
      // BM1397 takes 1 or 4 midstates (num_midstates follows the count); header-format chips roll themselves.
      midstates: this.o.chain.model.jobFormat === 'midstate' ? work.midstates : undefined,
    };
    const epoch = this.epoch;
    const slot: Slot = { work, poolToken: this.poolToken, epoch };
    this.inflight = slot;
    this.inflightId = undefined;
    this.sending = true;
    try {
      const chipJobId = await this.o.chain.sendJob(input, this.register);
      if (this.inflightId === undefined) this.register(chipJobId);
      if (epoch === this.epoch) this.counters.jobsSent++;
      this.sendFailing = false;
    } catch (err) {
      // The frame did not go out: its id holds no work (unless a later job took it meanwhile).
      const registered = this.inflightId;
      if (registered !== undefined && this.slots.get(registered) === slot) this.slots.delete(registered);
      this.counters.sendErrors++;
      // One line per failure streak (a chain being re-initialised rejects every job until it is back).
      if (!this.sendFailing) this.o.logger.warn('chain.send_failed', { error: (err as Error).message });
      this.sendFailing = true;
    } finally {
      this.sending = false;
      this.inflight = undefined;
    }
    // A clean job that arrived while this frame was being written found `sending` set and was skipped:
    // send it now rather than leave the chips on dropped work until the next interval tick.
    if (epoch !== this.epoch && this.active) await this.sendNext();
  }

  /** A nonce from the chain: look up its work, check it on the host, classify, submit shares. */
  handleNonce(n: ChipNonce): NonceCheck | undefined {
    const slot = this.slots.get(n.jobId);
    const chip = this.chips[n.chipIndex] ?? this.chips[0];
    if (!slot) {
      const reason = this.retired.get(n.jobId) ?? 'unknown-job';
      this.unmatched[reason]++;
      this.counters.unknownSlot++;
      // One warn line per streak of unmatched nonces.
      if (!this.unmatchedStreak)
        this.o.logger.warn('nonce.unmatched', { chipJobId: n.jobId, chip: n.chipIndex, reason });
      this.unmatchedStreak = true;
      return undefined;
    }
    this.unmatchedStreak = false;
    const work = slot.work;
    let version: number;
    if (this.o.chain.model.rollsVersion) {
      version = (work.template.version | (n.versionBits ?? 0)) >>> 0;
    } else {
      const v = work.versions[n.subId];
      if (v === undefined) {
        this.countHw(chip, 'midstate index out of range');
        return undefined;
      }
      version = v;
    }
    const check = checkNonce(work, n.nonce, { version, ticketDifficulty: this.o.ticketDifficulty });
    if (chip) {
      if (check.kind === 'hw-error') this.countHw(chip, check.reason);
      else {
        chip.nonces++;
        chip.meter.add(this.o.clock.now(), this.o.ticketDifficulty * 2 ** 32);
      }
    }
    this.o.onNonce?.(check, n.chipIndex);
    if (check.kind === 'share' && check.difficulty < this.minShareDifficulty) {
      this.counters.low++;
      this.counters.belowPoolTarget++;
      this.o.below?.({
        check,
        poolToken: slot.poolToken,
        chipIndex: n.chipIndex,
        rolling: work.template.versionMask !== 0,
        poolDifficulty: work.template.difficulty,
      });
      return check;
    }
    if (check.kind === 'share' || check.kind === 'block') {
      if (check.kind === 'block') this.counters.blocks++;
      this.counters.shares++;
      this.o.submit({
        check,
        poolToken: slot.poolToken,
        chipIndex: n.chipIndex,
        rolling: work.template.versionMask !== 0,
        poolDifficulty: work.template.difficulty,
      });
    } else if (check.kind === 'low') this.counters.low++;
    return check;
  }

  private countHw(chip: ChipStats | undefined, reason?: string): void {
    this.counters.hardwareErrors++;
    if (chip) chip.hardwareErrors++;
    if (reason) this.o.logger.debug('nonce.hw_error', { chip: chip?.index, reason });
  }

  /** Hashrate in GH/s over a window, per chip and in total. */
  hashrate(windowMs: number): { total: number; chips: number[] } {
    const now = this.o.clock.now();
    const chips = this.chips.map((c) => c.meter.rate(now, windowMs) / 1e9);
    return { total: chips.reduce((a, b) => a + b, 0), chips };
  }

  averageHashrate(): number {
    const now = this.o.clock.now();
    return this.chips.reduce((a, c) => a + c.meter.average(now), 0) / 1e9;
  }
}
