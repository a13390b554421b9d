/**
 * bitaxe-raw / emberOne USB bridge control protocol (pure codec). Sources: emberone-usbserial-fw
 * README.md:62-85 and src/control/*.rs (EF@fba2624 = "v0"; PR20@128a9dc = "v1"), mujina
 * mgmt_protocol/bitaxe_raw. See drivers/bridge/REFERENCE.md.
 *
 * Request:  len u16 LE (whole packet) · id · bus (0) · page · cmd · data…
 * Reply v0: len u16 LE (DATA bytes) · id · data…
 * Reply v1: len u16 LE (whole packet) · id · status · data…
 * Errors (both): len = whole packet · id · code [· text]; parse errors carry id 0xFF.
 * No sync byte: a bad frame is resynchronised by discarding buffered bytes (the firmware's receiver
 * resets after a 4 ms gap).
 */
export const PAGE = { I2C: 0x05, GPIO: 0x06, ADC: 0x07, LED: 0x08, SYSTEM: 0x09 } as const;
export const I2C_CMD = { SPEED: 0x10, WRITE: 0x20, READ: 0x30, WRITE_READ: 0x40 } as const;
export const ADC_CMD = { VDD: 0x50, VIN: 0x51 } as const;
export const STATUS = { OK: 0x00, TIMEOUT: 0x10, INVALID: 0x11, OVERFLOW: 0x12, TEXT: 0xff } as const;
export type ReplyVersion = 0 | 1;

export interface RawRequest {
  id: number;
  page: number;
  cmd: number;
  data?: Uint8Array | readonly number[];
}

export function encodeRequest(r: RawRequest): Uint8Array {
  const data = r.data ?? [];
  const len = 6 + data.length;
  for (const [k, v] of [
    ['id', r.id],
    ['page', r.page],
    ['cmd', r.cmd],
  ] as const)
    if (!Number.isInteger(v) || v < 0 || v > 0xff)
      throw new RangeError(`bitaxe-raw request ${k}: not a byte: ${v}`);
  if (len > 0xffff) throw new RangeError(`bitaxe-raw request: ${len} bytes is too long`);
  const out = new Uint8Array(len);
  out[0] = len & 0xff;
  out[1] = len >> 8;
  out[2] = r.id;
  out[3] = 0; // bus
  out[4] = r.page;
  out[5] = r.cmd;
  out.set(data, 6);
  return out;
}

export type RawReply =
  | { kind: 'ok'; id: number; data: Uint8Array }
  | { kind: 'error'; id: number; code: number; text: string };

export function statusName(code: number): string {
  switch (code) {
    case STATUS.TIMEOUT:
      return 'timeout';
    case STATUS.INVALID:
      return 'invalid request';
    case STATUS.OVERFLOW:
      return 'overflow';
    case STATUS.TEXT:
      return 'error';
    default:
      return `status 0x${code.toString(16)}`;
  }
}

/**
 * Incremental reply parser. v1 frames are self-describing. v0 success frames give the DATA length,
 * error frames the TOTAL length, so the parser needs the data length the pending request expects
 * (`expect(n)`); a frame whose length is not that is read as an error frame (total length).
 */
export class RawReplyParser {
  private buf = new Uint8Array(0);
  private expected: number | undefined;
  private readonly version: ReplyVersion;
  /** Bytes discarded by resync(). */
  discarded = 0;

  constructor(version: ReplyVersion) {
    this.version = version;
  }

  /** v0: data bytes the pending request's success reply carries. */
  expect(dataLength: number | undefined): void {
    this.expected = dataLength;
  }

  push(chunk: Uint8Array): RawReply[] {
    const b = new Uint8Array(this.buf.length + chunk.length);
    b.set(this.buf);
    b.set(chunk, this.buf.length);
    this.buf = b;
    const out: RawReply[] = [];
    for (;;) {
      const r = this.next();
      if (!r) break;
      out.push(r);
    }
    return out;
  }

  /** Drops everything buffered (after a timeout or a frame that made no sense). */
  resync(): void {
    this.discarded += this.buf.length;
    this.buf = new Uint8Array(0);
  }

  get buffered(): number {
    return this.buf.length;
  }

  private take(n: number): Uint8Array {
    const f = this.buf.subarray(0, n);
    this.buf = this.buf.slice(n);
    return f;
  }

  private next(): RawReply | undefined {
    const b = this.buf;
    if (b.length < 3) return undefined;
    const len = b[0]! | (b[1]! << 8);
    if (this.version === 0 && this.expected !== undefined && len === this.expected) {
      if (b.length < 3 + len) return undefined;
      const f = this.take(3 + len);
      return { kind: 'ok', id: f[2]!, data: f.slice(3) };
    }
    // v1 frame, or a v0 error frame: total length, id, status.
    if (len < 4 || len > 4096) {
      // impossible length: drop one byte at a time until something parses
      this.take(1);
      this.discarded++;
      return this.next();
    }
    if (b.length < len) return undefined;
    const f = this.take(len);
    const id = f[2]!;
    const code = f[3]!;
    if (this.version === 1 && code === STATUS.OK) return { kind: 'ok', id, data: f.slice(4) };
    return { kind: 'error', id, code, text: new TextDecoder().decode(f.subarray(4)) };
  }
}

/** Encodes a reply as the bridge sends it (for emulators and tests). */
export function encodeReply(
  version: ReplyVersion,
  id: number,
  data: Uint8Array | readonly number[],
): Uint8Array {
  if (version === 0) {
    const out = new Uint8Array(3 + data.length);
    out[0] = data.length & 0xff;
    out[1] = data.length >> 8;
    out[2] = id;
    out.set(data, 3);
    return out;
  }
  const len = 4 + data.length;
  const out = new Uint8Array(len);
  out[0] = len & 0xff;
  out[1] = len >> 8;
  out[2] = id;
  out[3] = STATUS.OK;
  out.set(data, 4);
  return out;
}

export function encodeError(id: number, code: number, text = ''): Uint8Array {
  const t = new TextEncoder().encode(text);
  const len = 4 + t.length;
  const out = new Uint8Array(len);
  out[0] = len & 0xff;
  out[1] = len >> 8;
  out[2] = id;
  out[3] = code;
  out.set(t, 4);
  return out;
}
