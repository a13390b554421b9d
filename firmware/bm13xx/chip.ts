/**
 * One emulated BM13xx chip: register file with reset values, chip address, job intake (BM1397
 * midstate frames, BM1366+ header frames rebuilt into the 80-byte header), and a nonce search over
 * the chip's own slice of the nonce space with double SHA-256, a difficulty floor and the ticket
 * mask. Routing, replies and faults on the line belong to the chain (chain.ts).
 *
 * Nonce-space rule (ESP's attribution, §14 Q1 of our reference): with nonce word
 * nw = header bytes 76..79 read big-endian (= reply bytes 2..5), bits 31..25 are the core, bits
 * 24..17 the chip field F, bits 16..0 the count inside a core. A chip at address A owns
 * F ∈ [A, next higher address in the chain) — so the host recovers the chip as F / address_interval.
 */
import { baudFromRegister, type ChipModelInfo, encodeB7, pllFrequencyMhz } from './models.ts';
import { be32, bswap32, doubleHashWords, midstate, ScanJob } from './sha256.ts';

export interface ChipFaults {
  /** The chip sends nothing (no register replies, no nonces); it still relays and takes writes. */
  silent: boolean;
  /** Answer chip-id reads with this CHIP_ID instead of the model's. */
  wrongChipId: number | undefined;
  /** Share of its hashing slice the chip really does (1 = full speed; 0.25 = a slow, degraded chip). */
  speed: number;
}

export interface ChipSearchConfig {
  /** Leading zero bits every reported hash has: 32 = difficulty 1 (real chips); less = easy mode. */
  floorBits: number;
  /** Apply the ticket mask (reg 0x14) on the bits right after the floor. */
  applyTicketMask: boolean;
  /** Nonces scanned per version/midstate before moving to the next one. */
  rollChunk: number;
  /** BM1366+: send 9-byte replies until reg 0xA4 enables version rolling (SKOT). */
  shortRepliesUntilRolling: boolean;
}

export interface FoundNonce {
  /** Header bytes 76..79 read big-endian (what reply bytes 2..5 carry). */
  nonceWord: number;
  /** The nonce as a pool sees it (uint32 stored little-endian in the header). */
  nonce: number;
  jobId: number;
  /** Midstate index (BM1397) or small core (BM1366+). */
  subId: number;
  /** BM1366+: the 16 rolled bits (version = job version | bits << 13). */
  versionBits: number;
  /** Version the header was hashed with (BM1366+), or undefined (BM1397 midstates hide it). */
  version: number | undefined;
  /** Raw double-SHA256 digest words. */
  hash: Int32Array;
}

export interface ChipJob {
  id: number;
  format: 'midstate' | 'header';
  /** Starting nonce word from the frame (bytes as they go into the header, read big-endian). */
  startWord: number;
  /** nbits and ntime as numbers (the frame carries them little-endian). */
  nbits: number;
  ntime: number;
  /** BM1397: midstates in standard state-word order. */
  midstates: Int32Array[];
  /** BM1366+: base version and the rebuilt 80-byte header (nonce bytes 0). */
  version: number | undefined;
  header: Uint8Array | undefined;
  /** Second-block words (header bytes 64..75 read big-endian). */
  w0: number;
  w1: number;
  w2: number;
  /** First 16 header words (BM1366+ only; word 0 is replaced by the rolled version). */
  block0: Int32Array | undefined;
}

const BLOCK = 0x20000; // nonces per (core, F) block: bits 16..0

/** Deposits the low bits of `v` into the set bits of `mask` (bit-deposit). */
export function depositBits(v: number, mask: number): number {
  let out = 0;
  let bit = 1;
  for (let m = mask >>> 0; m !== 0; m &= m - 1) {
    const low = m & -m;
    if (v & bit) out |= low;
    bit <<= 1;
  }
  return out >>> 0;
}

function popcount(x: number): number {
  let n = 0;
  for (let m = x >>> 0; m !== 0; m &= m - 1) n++;
  return n;
}

export class EmulatedChip {
  address = 0;
  /** Set by chain inactive; the first inactive chip takes the next set-address. */
  inactive = false;
  readonly faults: ChipFaults = { silent: false, wrongChipId: undefined, speed: 1 };
  /** Fractional hashes owed to a slow chip (faults.speed < 1) between slices. */
  speedCredit = 0;
  readonly registers = new Uint32Array(256);
  /** Hashes done since reset. */
  hashes = 0;
  /** Nonces reported since reset. */
  noncesFound = 0;
  /** Error units added to reg 0x4C (the chain's nonce-error fault). */
  errorUnits = 0;
  job: ChipJob | undefined;
  /** Jobs by id as received (the chip searches only the latest). */
  readonly jobs = new Map<number, ChipJob>();

  private rangeStart = 0;
  private rangeCount = 256;
  private total = 256 * 2 ** 24;
  private chunkStart = 0;
  private pos = 0;
  private variant = 0;
  private variantCount = 1;
  private exhausted = true;
  private readonly scans: ScanJob[] = [new ScanJob()];
  private scan: ScanJob = this.scans[0]!;
  private readonly block = new Int32Array(16);
  private readonly mid = new Int32Array(8);
  private readonly digest = new Int32Array(8);
  private domainHashes = [0, 0, 0, 0];
  private rateMark = { t: Number.NaN, hashes: 0, value: 0 };
  private searchStartWord: number | undefined;

  readonly info: ChipModelInfo;
  index: number;
  private readonly config: ChipSearchConfig;
  private readonly onNonce: (chip: EmulatedChip, found: FoundNonce) => void;
  constructor(
    info: ChipModelInfo,
    /** Position in the chain (0 = nearest the host). */
    index: number,
    config: ChipSearchConfig,
    onNonce: (chip: EmulatedChip, found: FoundNonce) => void,
  ) {
    this.info = info;
    this.index = index;
    this.config = config;
    this.onNonce = onNonce;
    this.powerOnReset();
  }

  /** Back to the reset state: address 0, reset registers, no job, counters 0. */
  powerOnReset(): void {
    this.address = 0;
    this.inactive = false;
    this.registers.fill(0);
    for (const [reg, v] of Object.entries(this.info.reset)) this.registers[Number(reg)] = v >>> 0;
    this.job = undefined;
    this.jobs.clear();
    this.exhausted = true;
    this.hashes = 0;
    this.noncesFound = 0;
    this.errorUnits = 0;
    this.domainHashes = [0, 0, 0, 0];
    this.rateMark = { t: Number.NaN, hashes: 0, value: 0 };
  }

  // ---------- registers ----------

  /** Chip id register value as this chip answers it (address in bits 7..0, fault applied). */
  chipIdValue(): number {
    const id = this.faults.wrongChipId ?? this.info.chipId;
    return (((id & 0xffff) << 16) | (this.info.coreNum << 8) | (this.address & 0xff)) >>> 0;
  }

  /** Value a register read returns; counters are modelled from the hashes done. */
  readRegister(reg: number, nowMs: number): number {
    const unit = 2 ** this.config.floorBits;
    if (reg === 0x00) return this.chipIdValue();
    if (reg === 0x4c) return Math.floor(this.errorUnits) >>> 0;
    if (this.info.hashDomains === 4) {
      if (reg === 0x8c) return Math.floor(this.hashes / unit) >>> 0;
      if (reg >= 0x88 && reg <= 0x8b) return Math.floor(this.domainHashes[reg - 0x88]! / unit) >>> 0;
    } else if (reg === 0x04) {
      return this.rateRegister(nowMs);
    }
    return this.registers[reg & 0xff]!;
  }

  /** BM1397 reg 0x04: hash rate in units of 2^20 H/s (ESP), scaled like the counters in easy mode. */
  private rateRegister(nowMs: number): number {
    const m = this.rateMark;
    if (Number.isNaN(m.t)) {
      m.t = nowMs;
      m.hashes = this.hashes;
      return 0;
    }
    const dt = nowMs - m.t;
    if (dt >= 1000) {
      const hps = ((this.hashes - m.hashes) / dt) * 1000 * 2 ** (32 - this.config.floorBits);
      m.value = Math.min(0x7fffffff, Math.round(hps / 2 ** 20));
      m.t = nowMs;
      m.hashes = this.hashes;
    }
    return m.value;
  }

  writeRegister(reg: number, value: number): void {
    const r = reg & 0xff;
    if (r === 0x00) return; // read-only
    if (this.info.hashDomains === 4 && (r === 0x4c || (r >= 0x88 && r <= 0x8c))) return; // counters
    const old = this.registers[r]!;
    this.registers[r] = value >>> 0;
    if (r === 0xa4 && this.info.jobFormat === 'header' && old !== value >>> 0 && this.job) this.prepare();
  }

  get frequencyMhz(): number {
    return pllFrequencyMhz(this.info, this.registers[0x08]!);
  }

  /** UART rate this chip talks at, from its baud register (undefined when PLL-clocked). */
  get baudRate(): number | undefined {
    return baudFromRegister(this.info, this.registers[this.info.baudRegister]!);
  }

  /** BM1366+: reg 0xA4 EN (bit 28) or MID_AUTO_GEN (bit 31) set. */
  get versionRolling(): boolean {
    return this.info.jobFormat === 'header' && (this.registers[0xa4]! & 0x90000000) !== 0;
  }

  /** Version mask in header bit positions (reg 0xA4 bits 15..0 shifted left by 13). */
  get versionMask(): number {
    return this.versionRolling ? ((this.registers[0xa4]! & 0xffff) << 13) >>> 0 : 0;
  }

  get replyLength(): 9 | 11 {
    if (this.info.replyLength === 9) return 9;
    return this.config.shortRepliesUntilRolling && !this.versionRolling ? 9 : 11;
  }

  /** Ticket mask as a mask on the 32 hash bits after the floor (reg 0x14 byte-swapped). */
  get ticketMask(): number {
    return bswap32(this.registers[0x14]!);
  }

  /** 2^(bits in the ticket mask): how many floor-passing hashes one reported nonce stands for. */
  get ticketDifficulty(): number {
    return 2 ** popcount(this.registers[0x14]!);
  }

  // ---------- nonce space ----------

  /** Sets the chip's slice: F values [start, start + count). */
  setRange(start: number, count: number): void {
    const s = Math.max(0, Math.min(255, start));
    const c = Math.max(1, Math.min(256 - s, count));
    if (s === this.rangeStart && c === this.rangeCount) return;
    this.rangeStart = s;
    this.rangeCount = c;
    this.total = c * 2 ** 24;
    if (this.job) this.prepare();
  }

  get range(): { start: number; count: number } {
    return { start: this.rangeStart, count: this.rangeCount };
  }

  /** Does the nonce word fall in this chip's slice? */
  owns(nonceWord: number): boolean {
    const f = (nonceWord >>> 17) & 0xff;
    return f >= this.rangeStart && f < this.rangeStart + this.rangeCount;
  }

  /** Nonce word of the k-th nonce of this chip's slice. */
  nonceWordAt(k: number): number {
    const low = k % BLOCK;
    const b = Math.floor(k / BLOCK);
    const f = this.rangeStart + (b % this.rangeCount);
    const core = Math.floor(b / this.rangeCount);
    return ((core << 25) | (f << 17) | low) >>> 0;
  }

  /** Index of the first nonce of the slice at or after nonce word `nw` (in scan order). */
  indexAtOrAfter(nw: number): number {
    const core = nw >>> 25;
    const f = (nw >>> 17) & 0xff;
    const low = nw & (BLOCK - 1);
    if (f < this.rangeStart) return core * this.rangeCount * BLOCK;
    if (f >= this.rangeStart + this.rangeCount) return (core + 1) * this.rangeCount * BLOCK;
    return (core * this.rangeCount + (f - this.rangeStart)) * BLOCK + low;
  }

  /** Test knob: start (or restart) the current job's search at this nonce word (undefined = frame's). */
  setSearchStart(nonceWord: number | undefined): void {
    this.searchStartWord = nonceWord === undefined ? undefined : nonceWord >>> 0;
    if (this.job) this.prepare();
  }

  /** True while the chip has a job and nonces left to try. */
  get busy(): boolean {
    return !this.exhausted;
  }

  // ---------- jobs ----------

  /** Takes a job frame's DATA (already CRC-checked). Returns a reason string when it is unusable. */
  loadJob(data: Uint8Array): string | undefined {
    const job = this.info.jobFormat === 'midstate' ? parseMidstateJob(data) : parseHeaderJob(data);
    if (typeof job === 'string') return job;
    this.jobs.set(job.id, job);
    this.job = job;
    this.prepare();
    return undefined;
  }

  /** Sets up scanning of the current job from its start. */
  private prepare(): void {
    const job = this.job;
    if (!job) return;
    if (job.format === 'midstate') {
      while (this.scans.length < job.midstates.length) this.scans.push(new ScanJob());
      for (const [i, m] of job.midstates.entries()) this.scans[i]!.set(m, job.w0, job.w1, job.w2);
      this.variantCount = job.midstates.length;
    } else {
      const mask16 = this.versionRolling ? this.registers[0xa4]! & 0xffff : 0;
      this.variantCount = 2 ** popcount(mask16);
    }
    const start = this.searchStartWord ?? job.startWord;
    this.chunkStart = Math.min(this.indexAtOrAfter(start), this.total);
    this.pos = 0;
    this.variant = 0;
    this.exhausted = this.chunkStart >= this.total;
    this.selectVariant();
  }

  private selectVariant(): void {
    const job = this.job!;
    if (job.format === 'midstate') {
      this.scan = this.scans[this.variant]!;
      return;
    }
    this.scan = this.scans[0]!;
    this.block.set(job.block0!);
    this.block[0] = bswap32(this.versionFor(this.variant)) | 0;
    midstate(this.block, this.mid);
    this.scan.set(this.mid, job.w0, job.w1, job.w2);
  }

  private versionBitsFor(variant: number): number {
    return depositBits(variant, this.registers[0xa4]! & 0xffff);
  }

  private versionFor(variant: number): number {
    const base = this.job!.version!;
    return variant === 0 ? base : (base | (this.versionBitsFor(variant) << 13)) >>> 0;
  }

  /**
   * Hashes up to `budget` nonces of the current job (continuing where it stopped). Returns hashes done
   * (0 when idle). Nonces that pass the floor and ticket mask go to the chain's onNonce.
   */
  hash(budget: number): number {
    if (this.exhausted || !this.job) return 0;
    let done = 0;
    const floor = this.config.floorBits;
    while (done < budget) {
      const chunkLen = Math.min(this.config.rollChunk, this.total - this.chunkStart);
      if (chunkLen <= 0) {
        this.exhausted = true;
        break;
      }
      const k = this.chunkStart + this.pos;
      const run = Math.min(budget - done, chunkLen - this.pos, BLOCK - (k % BLOCK));
      this.scan.scan(this.nonceWordAt(k), run, floor, this.candidate);
      done += run;
      this.pos += run;
      if (this.pos >= chunkLen) {
        this.pos = 0;
        this.variant++;
        if (this.variant >= this.variantCount) {
          this.variant = 0;
          this.chunkStart += chunkLen;
        }
        if (this.chunkStart >= this.total) this.exhausted = true;
        else if (this.variantCount > 1) this.selectVariant();
      }
    }
    this.hashes += done;
    const quarter = done / 4;
    for (let d = 0; d < 4; d++) this.domainHashes[d]! += quarter;
    return done;
  }

  /** Full re-hash of a floor candidate, ticket-mask check, report. */
  private readonly candidate = (nw: number): void => {
    const job = this.job!;
    const h = doubleHashWords(this.scan.mid, job.w0, job.w1, job.w2, nw, this.digest);
    const top = bswap32(h[7]!);
    const next = bswap32(h[6]!);
    const fb = this.config.floorBits;
    if (fb < 32 && top >>> (32 - fb) !== 0) return; // cannot happen: the kernel checked it
    if (this.config.applyTicketMask) {
      const after = fb >= 32 ? next : ((top << fb) | (next >>> (32 - fb))) >>> 0;
      if ((after & this.ticketMask) !== 0) return;
    }
    this.noncesFound++;
    const header = job.format === 'header';
    const versionBits = header && this.variant > 0 ? this.versionBitsFor(this.variant) : 0;
    const subId = header ? nw & ((1 << this.info.subIdBits) - 1) : this.variant;
    this.onNonce(this, {
      nonceWord: nw >>> 0,
      nonce: bswap32(nw),
      jobId: job.id,
      subId,
      versionBits,
      version: header ? this.versionFor(this.variant) : undefined,
      hash: Int32Array.from(h),
    });
  };

  /** Reply byte 7 for a nonce of this chip. */
  b7(jobId: number, subId: number): number {
    return encodeB7(this.info, jobId, subId);
  }
}

function parseMidstateJob(data: Uint8Array): ChipJob | string {
  if (data.length < 50) return `job: BM1397 job DATA is ${data.length} bytes, needs at least 50`;
  const slots = Math.floor((data.length - 18) / 32);
  let n = data[1]!;
  if (n < 1) n = 1;
  if (n > slots) n = slots;
  const midstates: Int32Array[] = [];
  for (let k = 0; k < n; k++) {
    const off = 18 + 32 * k;
    const m = new Int32Array(8);
    // wire field = state words big-endian in reverse word order
    for (let i = 0; i < 8; i++) m[i] = be32(data, off + (7 - i) * 4);
    midstates.push(m);
  }
  return {
    id: data[0]!,
    format: 'midstate',
    startWord: be32(data, 2) >>> 0,
    nbits: bswap32(be32(data, 6)),
    ntime: bswap32(be32(data, 10)),
    midstates,
    version: undefined,
    header: undefined,
    w0: be32(data, 14),
    w1: be32(data, 10),
    w2: be32(data, 6),
    block0: undefined,
  };
}

function parseHeaderJob(data: Uint8Array): ChipJob | string {
  if (data.length < 82) return `job: header-format job DATA is ${data.length} bytes, needs 82`;
  const header = new Uint8Array(80);
  header.set(data.subarray(78, 82), 0); // version LE
  for (let j = 0; j < 8; j++) {
    // both 32-byte fields arrive with their 32-bit word order reversed; bytes inside words kept
    header.set(data.subarray(46 + (7 - j) * 4, 50 + (7 - j) * 4), 4 + 4 * j);
    header.set(data.subarray(14 + (7 - j) * 4, 18 + (7 - j) * 4), 36 + 4 * j);
  }
  header.set(data.subarray(10, 14), 68); // ntime LE
  header.set(data.subarray(6, 10), 72); // nbits LE
  const block0 = new Int32Array(16);
  for (let i = 0; i < 16; i++) block0[i] = be32(header, i * 4);
  return {
    id: data[0]!,
    format: 'header',
    startWord: be32(data, 2) >>> 0,
    nbits: bswap32(be32(data, 6)),
    ntime: bswap32(be32(data, 10)),
    midstates: [],
    version: bswap32(be32(data, 78)),
    header,
    w0: be32(header, 64),
    w1: be32(header, 68),
    w2: be32(header, 72),
    block0,
  };
}
