/**
 * Pure codec for the BM13xx UART protocol: host→chip command frames (55 AA, header, LEN, data, CRC5),
 * job frames per model (BM1397 midstate format, BM1366/68/70 full-header format, CRC16), and a streaming
 * decoder for chip→host replies (AA 55, 9 bytes on BM1397, 11 on the others) that resynchronises after
 * garbage or a lost byte, counts CRC errors and garbage, never throws, and decodes register replies and
 * nonce replies per model. No I/O, no timers. Facts and choices: REFERENCE.md.
 */
import { crc5, crc5Bits, crc16False } from './crc.ts';
import type { ModelInfo } from './models.ts';

// Header byte: bits 6..5 type, bit 4 broadcast, bits 1..0 command.
export const TYPE_JOB = 0x20;
export const TYPE_CMD = 0x40;
export const GROUP_ALL = 0x10;
export const CMD_SET_ADDRESS = 0;
export const CMD_WRITE = 1;
export const CMD_READ = 2;
export const CMD_INACTIVE = 3;

export const HDR_SET_ADDRESS = TYPE_CMD | CMD_SET_ADDRESS; // 0x40
export const HDR_WRITE_SINGLE = TYPE_CMD | CMD_WRITE; // 0x41
export const HDR_READ_SINGLE = TYPE_CMD | CMD_READ; // 0x42
export const HDR_WRITE_ALL = TYPE_CMD | GROUP_ALL | CMD_WRITE; // 0x51
export const HDR_READ_ALL = TYPE_CMD | GROUP_ALL | CMD_READ; // 0x52
export const HDR_CHAIN_INACTIVE = TYPE_CMD | GROUP_ALL | CMD_INACTIVE; // 0x53
export const HDR_JOB = TYPE_JOB | CMD_WRITE; // 0x21

function checkByte(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xff)
    throw new RangeError(`${name}: must be a byte 0..255, got ${v}`);
}
function checkU32(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff_ffff)
    throw new RangeError(`${name}: must be a uint32, got ${v}`);
}

/** A command frame: 55 AA | header | LEN = data + 3 | data | CRC5 over header..data. */
export function commandFrame(header: number, data: ArrayLike<number>): Uint8Array {
  checkByte('header', header);
  const f = new Uint8Array(data.length + 5);
  f[0] = 0x55;
  f[1] = 0xaa;
  f[2] = header;
  f[3] = data.length + 3;
  for (let i = 0; i < data.length; i++) {
    checkByte(`data[${i}]`, data[i]!);
    f[4 + i] = data[i]!;
  }
  f[f.length - 1] = crc5(f, 2, f.length - 1);
  return f;
}

/** Set the address of the first chip that has none yet (never broadcast). */
export function setAddressFrame(addr: number): Uint8Array {
  return commandFrame(HDR_SET_ADDRESS, [addr, 0x00]);
}
/** Write a register on one chip; value goes big-endian. */
export function writeRegisterFrame(chipAddr: number, reg: number, value: number): Uint8Array {
  checkU32('value', value);
  return commandFrame(HDR_WRITE_SINGLE, [
    chipAddr,
    reg,
    value >>> 24,
    (value >>> 16) & 0xff,
    (value >>> 8) & 0xff,
    value & 0xff,
  ]);
}
/** Write a register on every chip. */
export function writeRegisterAllFrame(reg: number, value: number): Uint8Array {
  checkU32('value', value);
  return commandFrame(HDR_WRITE_ALL, [
    0x00,
    reg,
    value >>> 24,
    (value >>> 16) & 0xff,
    (value >>> 8) & 0xff,
    value & 0xff,
  ]);
}
/** Read a register from every chip (each answers with one reply frame). */
export function readRegisterAllFrame(reg: number): Uint8Array {
  return commandFrame(HDR_READ_ALL, [0x00, reg]);
}
/** Read a register from one chip (fits the header scheme; ESP never sends it). */
export function readRegisterFrame(chipAddr: number, reg: number): Uint8Array {
  return commandFrame(HDR_READ_SINGLE, [chipAddr, reg]);
}
/** Chain inactive: chips stop relaying commands so set-address reaches them one at a time. */
export function chainInactiveFrame(): Uint8Array {
  return commandFrame(HDR_CHAIN_INACTIVE, [0x00, 0x00]);
}

/** What a job frame is built from (raw work-engine outputs; the codec does the wire byte orders). */
export interface JobInput {
  /** Chip job id 0..127 (per-model stepping is the chain's business). */
  jobId: number;
  version: number;
  nbits: number;
  ntime: number;
  startingNonce: number;
  /** Merkle root, raw dSHA256 output order. */
  merkleRoot: Uint8Array;
  /** Previous block hash as header bytes 4..35. */
  prevHash: Uint8Array;
  /** BM1397 only: 1 or 4 SHA-256 states (8 words each) after header bytes 0..63 per rolled version. */
  midstates?: readonly Uint32Array[];
}

export const BM1397_JOB_DATA_LENGTH = 146;
export const BM1397_JOB_FRAME_LENGTH = 152;
export const HEADER_JOB_DATA_LENGTH = 82;
export const HEADER_JOB_FRAME_LENGTH = 88;

/** Length of a job frame for the model. */
export function jobFrameLength(m: ModelInfo): number {
  return m.jobFormat === 'midstate' ? BM1397_JOB_FRAME_LENGTH : HEADER_JOB_FRAME_LENGTH;
}

function le32(f: Uint8Array, o: number, v: number): void {
  f[o] = v & 0xff;
  f[o + 1] = (v >>> 8) & 0xff;
  f[o + 2] = (v >>> 16) & 0xff;
  f[o + 3] = (v >>> 24) & 0xff;
}
function be32(f: Uint8Array, o: number, v: number): void {
  f[o] = (v >>> 24) & 0xff;
  f[o + 1] = (v >>> 16) & 0xff;
  f[o + 2] = (v >>> 8) & 0xff;
  f[o + 3] = v & 0xff;
}
/** Copies 32 bytes with the order of the eight 4-byte words reversed (bytes inside a word kept). */
function wordsReversed(f: Uint8Array, o: number, src: Uint8Array): void {
  for (let w = 0; w < 8; w++) {
    const s = 28 - 4 * w;
    f[o + 4 * w] = src[s]!;
    f[o + 4 * w + 1] = src[s + 1]!;
    f[o + 4 * w + 2] = src[s + 2]!;
    f[o + 4 * w + 3] = src[s + 3]!;
  }
}

function checkJob(m: ModelInfo, job: JobInput): void {
  if (!Number.isInteger(job.jobId) || job.jobId < 0 || job.jobId > 127) {
    throw new RangeError(`jobId: must be 0..127, got ${job.jobId}`);
  }
  checkU32('version', job.version);
  checkU32('nbits', job.nbits);
  checkU32('ntime', job.ntime);
  checkU32('startingNonce', job.startingNonce);
  if (job.merkleRoot?.length !== 32)
    throw new RangeError(`merkleRoot: must be 32 bytes, got ${job.merkleRoot?.length}`);
  if (job.prevHash?.length !== 32)
    throw new RangeError(`prevHash: must be 32 bytes, got ${job.prevHash?.length}`);
  if (m.jobFormat === 'midstate') {
    const n = job.midstates?.length ?? 0;
    if (n !== 1 && n !== 4) throw new RangeError(`midstates: ${m.model} needs 1 or 4 midstates, got ${n}`);
    job.midstates!.forEach((s, i) => {
      if (s.length !== 8) throw new RangeError(`midstates[${i}]: must be 8 words, got ${s.length}`);
    });
  }
}

/**
 * Encodes a job frame for the model into `out` (allocated when omitted; reuse one per chain on the hot
 * path). BM1397: 146 data bytes, LEN 0x96, all four midstate slots sent (unused ones zero), num_midstates
 * = midstates.length. BM1366/68/70: 82 data bytes, LEN 0x56, byte 1 = 0x01. CRC16 big-endian at the end.
 */
export function encodeJob(m: ModelInfo, job: JobInput, out?: Uint8Array): Uint8Array {
  checkJob(m, job);
  const len = jobFrameLength(m);
  const f = out && out.length >= len ? out.subarray(0, len) : new Uint8Array(len);
  f[0] = 0x55;
  f[1] = 0xaa;
  f[2] = HDR_JOB;
  f[3] = len - 2; // LEN counts header..CRC: data + 4
  f[4] = job.jobId;
  le32(f, 6, job.startingNonce);
  le32(f, 10, job.nbits);
  le32(f, 14, job.ntime);
  if (m.jobFormat === 'midstate') {
    const mids = job.midstates!;
    f[5] = mids.length;
    f.set(job.merkleRoot.subarray(28, 32), 18);
    for (let k = 0; k < 4; k++) {
      const o = 22 + 32 * k;
      const s = mids[k];
      // Wire: the 8 state words big-endian in reverse word order.
      for (let w = 0; w < 8; w++) be32(f, o + 4 * w, s ? s[7 - w]! : 0);
    }
  } else {
    f[5] = 0x01;
    wordsReversed(f, 18, job.merkleRoot);
    wordsReversed(f, 50, job.prevHash);
    le32(f, 82, job.version);
  }
  const crc = crc16False(f, 2, len - 2);
  f[len - 2] = crc >>> 8;
  f[len - 1] = crc & 0xff;
  return f;
}

/** A decoded reply. The decoder reuses one object: copy what you keep before the callback returns. */
export interface DecodedReply {
  kind: 'register' | 'nonce';
  /** Register replies: the value (bytes 2..5 big-endian). */
  value: number;
  /** Register replies: address of the replying chip (byte 6). */
  chipAddr: number;
  /** Register replies: register address (byte 7). */
  register: number;
  /** Nonce replies: the nonce as the header holds it (bytes 2..5 little-endian). */
  nonce: number;
  /** Nonce replies: job id from byte 7 per model. */
  jobId: number;
  /** Nonce replies: midstate index (BM1397) or small-core id (others) from byte 7. */
  subId: number;
  /** Nonce replies: rolled version bits already shifted into place (BE16(bytes 8..9) << 13); 0 on BM1397. */
  versionBits: number;
  /** Raw byte 6 and byte 7. */
  b6: number;
  b7: number;
}

export interface DecoderStats {
  frames: number;
  registerFrames: number;
  nonceFrames: number;
  /** Candidate frames (preamble found, length available) rejected by CRC5 or non-zero flag bits. */
  crcErrors: number;
  /** Bytes dropped while resynchronising. */
  garbageBytes: number;
  /** Times the decoder lost frame sync and had to hunt for the next preamble (one per garbage run). */
  resyncs: number;
}

function fill(m: ModelInfo, len: number, b: Uint8Array, o: number, r: DecodedReply): void {
  const last = b[o + len - 1]!;
  r.b6 = b[o + 6]!;
  r.b7 = b[o + 7]!;
  if (last & 0x80) {
    r.kind = 'nonce';
    r.nonce = (b[o + 2]! | (b[o + 3]! << 8) | (b[o + 4]! << 16) | (b[o + 5]! << 24)) >>> 0;
    r.jobId = m.replyJobId(r.b7);
    r.subId = m.replySubId(r.b7);
    r.versionBits = len === 11 ? (((b[o + 8]! << 8) | b[o + 9]!) << 13) >>> 0 : 0;
    r.value = 0;
    r.chipAddr = 0;
    r.register = 0;
  } else {
    r.kind = 'register';
    r.value = ((b[o + 2]! << 24) | (b[o + 3]! << 16) | (b[o + 4]! << 8) | b[o + 5]!) >>> 0;
    r.chipAddr = r.b6;
    r.register = r.b7;
    r.nonce = 0;
    r.jobId = 0;
    r.subId = 0;
    r.versionBits = 0;
  }
}

function emptyReply(): DecodedReply {
  return {
    kind: 'register',
    value: 0,
    chipAddr: 0,
    register: 0,
    nonce: 0,
    jobId: 0,
    subId: 0,
    versionBits: 0,
    b6: 0,
    b7: 0,
  };
}

/** True when bytes[o, o+len) is a reply frame with preamble, zero flag bits 6..5 and a good CRC5. */
export function replyValid(bytes: Uint8Array, o: number, len: number): boolean {
  return (
    bytes.length - o >= len &&
    bytes[o] === 0xaa &&
    bytes[o + 1] === 0x55 &&
    (bytes[o + len - 1]! & 0x60) === 0 &&
    crc5(bytes, o + 2, o + len) === 0
  );
}

/** Decodes exactly one reply frame; undefined when it is not a valid frame for the model. */
export function decodeReply(m: ModelInfo, bytes: Uint8Array): DecodedReply | undefined {
  if (bytes.length !== m.replyLength || !replyValid(bytes, 0, m.replyLength)) return undefined;
  const r = emptyReply();
  fill(m, m.replyLength, bytes, 0, r);
  return r;
}

/**
 * Streaming reply decoder. push() any chunks; every valid frame goes to the callback. On a bad preamble
 * or a bad CRC it drops one byte and rescans, so it recovers from garbage, a lost byte or an inserted
 * byte. Works in one preallocated buffer; never throws on input.
 */
export class ResponseDecoder {
  readonly stats: DecoderStats = {
    frames: 0,
    registerFrames: 0,
    nonceFrames: 0,
    crcErrors: 0,
    garbageBytes: 0,
    resyncs: 0,
  };
  private readonly len: number;
  /** False while skipping bytes after a loss of sync (a run of garbage counts one resync). */
  private synced = true;
  private readonly buf: Uint8Array;
  private r = 0;
  private w = 0;
  private readonly reply = emptyReply();

  private readonly model: ModelInfo;
  private readonly onFrame: (reply: DecodedReply, buf: Uint8Array, offset: number) => void;
  constructor(
    model: ModelInfo,
    /** Gets the decoded reply and the raw frame as buf[offset, offset + replyLength) (valid during the call). */
    onFrame: (reply: DecodedReply, buf: Uint8Array, offset: number) => void,
    bufferSize = 4096,
  ) {
    this.model = model;
    this.onFrame = onFrame;
    this.len = model.replyLength;
    this.buf = new Uint8Array(Math.max(bufferSize, 4 * this.len));
  }

  /** Bytes held waiting for the rest of a frame. */
  get buffered(): number {
    return this.w - this.r;
  }

  /** Drops buffered partial bytes (after a baud switch or a flush). */
  reset(): void {
    this.stats.garbageBytes += this.w - this.r;
    this.r = 0;
    this.w = 0;
  }

  push(chunk: Uint8Array): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.r > 0 && (this.w === this.buf.length || this.r === this.w)) {
        this.buf.copyWithin(0, this.r, this.w);
        this.w -= this.r;
        this.r = 0;
      }
      const n = Math.min(chunk.length - i, this.buf.length - this.w);
      this.buf.set(n === chunk.length && i === 0 ? chunk : chunk.subarray(i, i + n), this.w);
      this.w += n;
      i += n;
      this.scan();
    }
  }

  private scan(): void {
    const b = this.buf;
    const len = this.len;
    const st = this.stats;
    let r = this.r;
    const w = this.w;
    while (w - r >= 2) {
      if (b[r] !== 0xaa) {
        let j = b.indexOf(0xaa, r + 1);
        if (j < 0 || j >= w) j = w;
        st.garbageBytes += j - r;
        if (this.synced) {
          st.resyncs++;
          this.synced = false;
        }
        r = j;
        continue;
      }
      if (b[r + 1] !== 0x55) {
        st.garbageBytes++;
        if (this.synced) {
          st.resyncs++;
          this.synced = false;
        }
        r++;
        continue;
      }
      if (w - r < len) break;
      if ((b[r + len - 1]! & 0x60) !== 0 || crc5(b, r + 2, r + len) !== 0) {
        st.crcErrors++;
        st.garbageBytes++;
        if (this.synced) {
          st.resyncs++;
          this.synced = false;
        }
        r++;
        continue;
      }
      this.synced = true;
      fill(this.model, len, b, r, this.reply);
      const at = r;
      r += len;
      st.frames++;
      if (this.reply.kind === 'nonce') st.nonceFrames++;
      else st.registerFrames++;
      try {
        this.onFrame(this.reply, b, at);
      } catch {
        // A failing consumer must not break framing; the chain catches and logs its own errors.
      }
    }
    this.r = r;
  }
}

/** Builds a register reply frame (for tests and benchmarks; chips send these). */
export function encodeRegisterReply(m: ModelInfo, value: number, chipAddr: number, reg: number): Uint8Array {
  const f = new Uint8Array(m.replyLength);
  f[0] = 0xaa;
  f[1] = 0x55;
  be32(f, 2, value);
  f[6] = chipAddr;
  f[7] = reg;
  f[m.replyLength - 1] = crc5Bits(f, 2, m.replyLength - 1, 0x00, 3);
  return f;
}

/**
 * Builds a nonce reply frame (for tests and benchmarks). `nonce` is the header value (sent LE),
 * `b7` the raw job/sub-id byte, `versionField` the raw 16-bit BE field (BM1366+).
 */
export function encodeNonceReply(
  m: ModelInfo,
  nonce: number,
  b6: number,
  b7: number,
  versionField = 0,
): Uint8Array {
  const f = new Uint8Array(m.replyLength);
  f[0] = 0xaa;
  f[1] = 0x55;
  le32(f, 2, nonce);
  f[6] = b6;
  f[7] = b7;
  if (m.replyLength === 11) {
    f[8] = (versionField >>> 8) & 0xff;
    f[9] = versionField & 0xff;
  }
  f[m.replyLength - 1] = 0x80 | crc5Bits(f, 2, m.replyLength - 1, 0x80, 3);
  return f;
}

/**
 * Chip index of a nonce by ESP's rule: bits 24..17 of the big-endian reading of bytes 2..5, divided by
 * the address interval. -1 when that lands past the last chip. (Unconfirmed by any datasheet; see
 * REFERENCE.md.)
 */
export function chipIndexFromNonce(nonce: number, addressInterval: number, chipCount: number): number {
  const nh =
    ((nonce & 0xff) << 24) | (((nonce >>> 8) & 0xff) << 16) | (((nonce >>> 16) & 0xff) << 8) | (nonce >>> 24);
  const idx = Math.floor(((nh >>> 17) & 0xff) / addressInterval);
  return idx < chipCount ? idx : -1;
}
