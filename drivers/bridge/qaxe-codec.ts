/**
 * QAxe / QAxe+ control protocol (pure codec): length-prefixed protobuf messages on the control CDC port.
 * Sources: shufps/qaxe firmware/fw-L072CB/src/bin/protobuf/coms.proto:5-27 and qaxe.rs:402-600 (QX),
 * shufps/piaxe-miner piaxe/boards/qaxe.py:46-140 (PM). See drivers/bridge/REFERENCE.md.
 *
 *   frame    = len (1 byte) · protobuf
 *   QRequest  { uint32 id = 1; uint32 op = 2; bytes data = 3 }   data = len · params, or len · "0x00"
 *   QResponse { uint32 id = 1; int32 error = 2; bytes data = 3 }
 *   QControl  { uint32 state_1v2 = 1; uint32 pwm1 = 2; uint32 pwm2 = 3 }   (state_1v2 ignored)
 *   QState    { uint32 pgood_1v2 = 1; uint32 temp1 = 2; uint32 temp2 = 3 } (1/16 °C, u16 wraps below 0)
 * A lone `00` reply is the default response: OK for request id 0, and also every error. asicd never
 * uses id 0 (ids run 1..127), so `00` always means the request failed.
 */
export const OP = { NOP: 0, CONTROL: 1, STATUS: 2, RESET: 3, SHUTDOWN: 4 } as const;
/** ASCII "0x00", the placeholder piaxe-miner sends for "no parameters" (qaxe.py:69-70). */
const NO_PARAMS = new Uint8Array([0x30, 0x78, 0x30, 0x30]);

type Fields = Map<number, number | Uint8Array>;

function varint(out: number[], v: number): void {
  let x = v >>> 0;
  while (x >= 0x80) {
    out.push((x & 0x7f) | 0x80);
    x >>>= 7;
  }
  out.push(x);
}

function encodeFields(fields: Array<[number, number | Uint8Array | undefined]>): number[] {
  const out: number[] = [];
  for (const [n, v] of fields) {
    if (v === undefined) continue;
    if (typeof v === 'number') {
      if (v === 0) continue; // proto3 default: not on the wire
      varint(out, (n << 3) | 0);
      varint(out, v);
    } else {
      varint(out, (n << 3) | 2);
      varint(out, v.length);
      out.push(...v);
    }
  }
  return out;
}

/** Decodes a protobuf message of varint and length-delimited fields (all QAxe messages are). */
export function decodeFields(b: Uint8Array): Fields {
  const f: Fields = new Map();
  let i = 0;
  const rv = (): number => {
    let v = 0;
    let shift = 0;
    for (;;) {
      if (i >= b.length) throw new RangeError('protobuf: truncated varint');
      const x = b[i++]!;
      v += (x & 0x7f) * 2 ** shift;
      if (!(x & 0x80)) return v;
      shift += 7;
      if (shift > 35) throw new RangeError('protobuf: varint too long');
    }
  };
  while (i < b.length) {
    const key = rv();
    const wt = key & 7;
    const n = Math.floor(key / 8);
    if (wt === 0) f.set(n, rv());
    else if (wt === 2) {
      const len = rv();
      if (i + len > b.length) throw new RangeError('protobuf: truncated bytes field');
      f.set(n, b.slice(i, i + len));
      i += len;
    } else throw new RangeError(`protobuf: unsupported wire type ${wt}`);
  }
  return f;
}

function frame(body: number[]): Uint8Array {
  if (body.length > 255) throw new RangeError('QAxe frame: longer than 255 bytes');
  return Uint8Array.from([body.length, ...body]);
}

export interface QControl {
  state1v2: number;
  pwm1: number;
  pwm2: number;
}

export function encodeRequest(id: number, op: number, params?: Uint8Array): Uint8Array {
  if (!Number.isInteger(id) || id < 0 || id > 0x7f)
    throw new RangeError(`QAxe request id: 0..127, got ${id}`);
  const p = params ?? NO_PARAMS;
  return frame(
    encodeFields([
      [1, id],
      [2, op],
      [3, Uint8Array.from([p.length, ...p])],
    ]),
  );
}

export function encodeControl(id: number, c: QControl): Uint8Array {
  for (const [k, v] of Object.entries(c))
    if (!Number.isInteger(v) || v < 0 || v > 100) throw new RangeError(`QAxe control ${k}: 0..100, got ${v}`);
  return encodeRequest(
    id,
    OP.CONTROL,
    Uint8Array.from(
      encodeFields([
        [1, c.state1v2],
        [2, c.pwm1],
        [3, c.pwm2],
      ]),
    ),
  );
}

export interface QRequest {
  id: number;
  op: number;
  /** Parameters without their length byte (undefined for the "0x00" placeholder or none). */
  params: Uint8Array | undefined;
}

/** Decodes one request body (after the frame's length byte) — for the emulator. */
export function decodeRequest(body: Uint8Array): QRequest {
  const f = decodeFields(body);
  const id = Number(f.get(1) ?? 0);
  const op = Number(f.get(2) ?? 0);
  const d = f.get(3);
  let params: Uint8Array | undefined;
  if (d instanceof Uint8Array && d.length > 0) {
    const inner = d.subarray(1, 1 + d[0]!);
    const placeholder = inner.length === 4 && inner.every((x, k) => x === NO_PARAMS[k]);
    params = placeholder ? undefined : inner.slice();
  }
  return { id, op, params };
}

export function decodeControl(params: Uint8Array): QControl {
  const f = decodeFields(params);
  return { state1v2: Number(f.get(1) ?? 0), pwm1: Number(f.get(2) ?? 0), pwm2: Number(f.get(3) ?? 0) };
}

export interface QState {
  pgood: boolean;
  /** °C, or null when the sensor word is absent. */
  temp1C: number;
  temp2C: number;
}

export function tempWordToC(w: number): number {
  const s = w > 0x7fff ? w - 0x10000 : w;
  return s / 16;
}
export function cToTempWord(c: number): number {
  return Math.round(c * 16) & 0xffff;
}

export type QResponse =
  | { kind: 'ok'; id: number; data: Uint8Array | undefined }
  | { kind: 'error'; id: number; error: number };

/** Decodes one reply body (after the length byte). An empty body (`00` frame) is the default response. */
export function decodeResponse(body: Uint8Array): QResponse {
  if (body.length === 0) return { kind: 'error', id: 0, error: -1 };
  const f = decodeFields(body);
  const id = Number(f.get(1) ?? 0);
  const error = Number(f.get(2) ?? 0);
  if (error) return { kind: 'error', id, error };
  const d = f.get(3);
  return { kind: 'ok', id, data: d instanceof Uint8Array ? d : undefined };
}

export function decodeState(data: Uint8Array): QState {
  const inner = data.length > 0 && data[0] === data.length - 1 ? data.subarray(1) : data;
  const f = decodeFields(inner);
  return {
    pgood: Number(f.get(1) ?? 0) !== 0,
    temp1C: tempWordToC(Number(f.get(2) ?? 0)),
    temp2C: tempWordToC(Number(f.get(3) ?? 0)),
  };
}

/** Encodes a reply (for the emulator): OK with optional data, or the default (empty) response. */
export function encodeResponse(id: number, data?: Uint8Array): Uint8Array {
  return frame(
    encodeFields([
      [1, id],
      [3, data],
    ]),
  );
}
export function encodeState(s: { pgood: boolean; temp1Word: number; temp2Word: number }): Uint8Array {
  const inner = encodeFields([
    [1, s.pgood ? 1 : 0],
    [2, s.temp1Word],
    [3, s.temp2Word],
  ]);
  return Uint8Array.from([inner.length, ...inner]);
}

/** Splits a byte stream into frames (length byte + body). */
export class QFrameParser {
  private buf: number[] = [];
  push(chunk: Uint8Array): Uint8Array[] {
    this.buf.push(...chunk);
    const out: Uint8Array[] = [];
    while (this.buf.length >= 1) {
      const len = this.buf[0]!;
      if (this.buf.length < 1 + len) break;
      out.push(Uint8Array.from(this.buf.slice(1, 1 + len)));
      this.buf = this.buf.slice(1 + len);
    }
    return out;
  }
  reset(): void {
    this.buf = [];
  }
  get buffered(): number {
    return this.buf.length;
  }
}
