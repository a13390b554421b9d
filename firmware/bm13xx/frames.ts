/**
 * Chip-side framing: a byte-stream parser for host→chip frames (55 AA | HDR | LEN | DATA | CRC) and
 * builders for chip→host replies (AA 55 | 4 bytes | B6 | B7 | [B8 B9] | flags+CRC5).
 *
 * The parser behaves like the chip is assumed to: a frame whose CRC does not check is dropped
 * silently (counted), and the parser then rescans from the byte after the bad frame's preamble, so a
 * lost or inserted byte costs at most the damaged frame. Frame length comes from LEN for commands
 * and BM1397 jobs; BM1366+ job frames are a fixed 88 bytes whatever LEN says.
 */
import { crc5, crc16, sealReply } from './crc.ts';

export type JobFormat = 'midstate' | 'header';

export interface HostCommand {
  kind: 'command';
  /** Raw header byte. */
  header: number;
  /** Header bit 4: broadcast to all chips. */
  all: boolean;
  /** Header bits 1..0: 0 set address, 1 write, 2 read, 3 chain inactive. */
  cmd: number;
  /** DATA bytes (a view valid only during the callback). */
  data: Uint8Array;
}

export interface HostJob {
  kind: 'job';
  header: number;
  /** LEN byte as received (BM1366+ ignore it). */
  lenByte: number;
  /** DATA bytes (a view valid only during the callback). */
  data: Uint8Array;
}

export type HostFrame = HostCommand | HostJob;

export interface ParserStats {
  /** Frames accepted with a valid CRC. */
  frames: number;
  /** Frames dropped because the CRC did not check. */
  crcErrors: number;
  /** Candidate frames dropped because HDR/LEN made no sense. */
  badFrames: number;
  /** Bytes skipped while looking for a preamble (including the bytes of dropped frames). */
  garbageBytes: number;
}

/** BM1397 job LEN values: 22 + 32·k for k = 1..4 midstates (SKOT). */
const MIDSTATE_JOB_LENS = new Set([54, 86, 118, 150]);
/** Fixed length of a BM1366+ job frame. */
export const HEADER_JOB_FRAME = 88;
const MAX_FRAME = 152;

export class HostFrameParser {
  readonly stats: ParserStats = { frames: 0, crcErrors: 0, badFrames: 0, garbageBytes: 0 };
  private buf = new Uint8Array(4096);
  private start = 0;
  private end = 0;

  private readonly jobFormat: JobFormat;
  private readonly onFrame: (frame: HostFrame) => void;
  private readonly onDrop?: (reason: 'crc' | 'length' | 'header', bytes: Uint8Array) => void;
  constructor(
    jobFormat: JobFormat,
    onFrame: (frame: HostFrame) => void,
    onDrop?: (reason: 'crc' | 'length' | 'header', bytes: Uint8Array) => void,
  ) {
    this.jobFormat = jobFormat;
    this.onFrame = onFrame;
    this.onDrop = onDrop;
  }

  /** Bytes buffered but not yet framed. */
  get pending(): number {
    return this.end - this.start;
  }

  /** Forgets any partial frame. */
  reset(): void {
    this.start = 0;
    this.end = 0;
  }

  push(chunk: Uint8Array): void {
    let off = 0;
    while (off < chunk.length) {
      if (this.end === this.buf.length) this.compact();
      const n = Math.min(chunk.length - off, this.buf.length - this.end);
      this.buf.set(chunk.subarray(off, off + n), this.end);
      this.end += n;
      off += n;
      this.drain();
    }
  }

  private compact(): void {
    if (this.start > 0) {
      this.buf.copyWithin(0, this.start, this.end);
      this.end -= this.start;
      this.start = 0;
    }
    if (this.end === this.buf.length) {
      // cannot happen with MAX_FRAME << buffer size, but never grow without bound
      this.stats.garbageBytes += this.end;
      this.end = 0;
    }
  }

  private skip(n: number): void {
    this.start += n;
    this.stats.garbageBytes += n;
  }

  private drain(): void {
    const b = this.buf;
    for (;;) {
      // find a preamble
      while (this.start < this.end && b[this.start] !== 0x55) this.skip(1);
      if (this.end - this.start < 2) return;
      if (b[this.start + 1] !== 0xaa) {
        this.skip(1);
        continue;
      }
      if (this.end - this.start < 4) return;
      const hdr = b[this.start + 2]!;
      const lenByte = b[this.start + 3]!;
      const type = (hdr >> 5) & 0x3;
      let total: number;
      if (type === 2) {
        // command: LEN counts HDR..CRC, DATA is LEN − 3 bytes (2 or 6 in practice)
        if (lenByte < 5 || lenByte > 16 || hdr & 0x80) {
          this.drop('header', 2);
          continue;
        }
        total = lenByte + 2;
      } else if (type === 1) {
        if (this.jobFormat === 'header') total = HEADER_JOB_FRAME;
        else if (MIDSTATE_JOB_LENS.has(lenByte)) total = lenByte + 2;
        else {
          this.drop('length', 2);
          continue;
        }
      } else {
        this.drop('header', 2);
        continue;
      }
      if (total > MAX_FRAME) {
        this.drop('length', 2);
        continue;
      }
      if (this.end - this.start < total) {
        if (this.start + total > b.length) this.compact();
        return;
      }
      const s = this.start;
      let ok: boolean;
      if (type === 2) ok = crc5(b, s + 2, total - 3) === b[s + total - 1];
      else ok = crc16(b, s + 2, total - 4) === ((b[s + total - 2]! << 8) | b[s + total - 1]!);
      if (!ok) {
        this.stats.crcErrors++;
        this.onDrop?.('crc', b.subarray(s, s + total));
        // rescan from the byte after the preamble: a lost byte costs only the damaged frame
        this.skip(1);
        continue;
      }
      this.stats.frames++;
      this.start += total;
      if (type === 2) {
        this.onFrame({
          kind: 'command',
          header: hdr,
          all: (hdr & 0x10) !== 0,
          cmd: hdr & 0x3,
          data: b.subarray(s + 4, s + total - 1),
        });
      } else {
        this.onFrame({ kind: 'job', header: hdr, lenByte, data: b.subarray(s + 4, s + total - 2) });
      }
    }
  }

  private drop(reason: 'length' | 'header', n: number): void {
    this.stats.badFrames++;
    this.onDrop?.(reason, this.buf.subarray(this.start, this.start + 4));
    // skip the preamble: 0xAA cannot start a frame, so the rescan begins after it
    this.skip(n);
  }
}

/**
 * Writes a register reply into `out` (9 or 11 bytes): value big-endian, B6 = chip address,
 * B7 = register, optional B8..B9 = 0, LAST = flags 0 (register) | CRC5.
 */
export function registerReply(
  out: Uint8Array,
  len: 9 | 11,
  value: number,
  chipAddr: number,
  reg: number,
): Uint8Array {
  out[0] = 0xaa;
  out[1] = 0x55;
  out[2] = (value >>> 24) & 0xff;
  out[3] = (value >>> 16) & 0xff;
  out[4] = (value >>> 8) & 0xff;
  out[5] = value & 0xff;
  out[6] = chipAddr & 0xff;
  out[7] = reg & 0xff;
  if (len === 11) {
    out[8] = 0;
    out[9] = 0;
  }
  sealReply(out, len, 0x00);
  return out;
}

/**
 * Writes a nonce reply: bytes 2..5 = the nonce exactly as it sits in header bytes 76..79 (i.e. the
 * big-endian second-block word), B6, B7 = job id | sub-id (model-encoded by the caller), optional
 * B8..B9 = rolled version bits (BE16 of bits >> 13), LAST = 0x80 (nonce) | CRC5.
 */
export function nonceReply(
  out: Uint8Array,
  len: 9 | 11,
  nonceWord: number,
  b6: number,
  b7: number,
  versionBits: number,
): Uint8Array {
  out[0] = 0xaa;
  out[1] = 0x55;
  out[2] = (nonceWord >>> 24) & 0xff;
  out[3] = (nonceWord >>> 16) & 0xff;
  out[4] = (nonceWord >>> 8) & 0xff;
  out[5] = nonceWord & 0xff;
  out[6] = b6 & 0xff;
  out[7] = b7 & 0xff;
  if (len === 11) {
    out[8] = (versionBits >>> 8) & 0xff;
    out[9] = versionBits & 0xff;
  }
  sealReply(out, len, 0x80);
  return out;
}

/** Builds a host→chip command frame (used by the emulator's own tests and tools). */
export function commandFrame(header: number, data: ArrayLike<number>): Uint8Array {
  const f = new Uint8Array(data.length + 5);
  f[0] = 0x55;
  f[1] = 0xaa;
  f[2] = header;
  f[3] = data.length + 3;
  f.set(Array.from(data), 4);
  f[f.length - 1] = crc5(f, 2, data.length + 2);
  return f;
}

/** Builds a host→chip job frame (header 0x21) with CRC16; `lenByte` defaults to DATA + 4. */
export function jobFrame(data: Uint8Array, lenByte = data.length + 4): Uint8Array {
  const f = new Uint8Array(data.length + 6);
  f[0] = 0x55;
  f[1] = 0xaa;
  f[2] = 0x21;
  f[3] = lenByte & 0xff;
  f.set(data, 4);
  const c = crc16(f, 2, data.length + 2);
  f[f.length - 2] = c >> 8;
  f[f.length - 1] = c & 0xff;
  return f;
}
