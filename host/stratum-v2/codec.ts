/**
 * SV2 binary data types (all integers little-endian):
 *
 *   BOOL 1 byte (0/1) · U8 · U16 · U24 · U32 · U64 · F32 (IEEE-754 LE) · U256 (32 bytes, as sent)
 *   STR0_255 / B0_32 / B0_255: U8 length ‖ bytes    B0_64K: U16 length ‖ bytes    B0_16M: U24 length ‖ bytes
 *   SEQ0_255[T]: U8 count ‖ T…    SEQ0_64K[T]: U16 count ‖ T…    OPTION[T]: U8 count (0 or 1) ‖ T
 *   PUBKEY: 32 bytes (x-only)
 *
 * Reader never reads past its end: every short or malformed field is a CodecError naming the field.
 */

export class CodecError extends Error {
  override name = 'CodecError';
}

const utf8 = new TextEncoder();
const utf8d = new TextDecoder('utf-8', { fatal: true });

export class Writer {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  private n = 0;

  private ensure(k: number): void {
    if (this.n + k <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.n + k) size *= 2;
    const b = new Uint8Array(size);
    b.set(this.buf.subarray(0, this.n));
    this.buf = b;
    this.view = new DataView(b.buffer);
  }
  private int(field: string, v: number, max: number): void {
    if (!Number.isInteger(v) || v < 0 || v > max) throw new CodecError(`${field}: ${v} is not in 0..${max}`);
  }
  bool(v: boolean): this {
    return this.u8('bool', v ? 1 : 0);
  }
  u8(field: string, v: number): this {
    this.int(field, v, 0xff);
    this.ensure(1);
    this.buf[this.n++] = v;
    return this;
  }
  u16(field: string, v: number): this {
    this.int(field, v, 0xffff);
    this.ensure(2);
    this.view.setUint16(this.n, v, true);
    this.n += 2;
    return this;
  }
  u24(field: string, v: number): this {
    this.int(field, v, 0xffffff);
    this.ensure(3);
    this.buf[this.n] = v & 0xff;
    this.buf[this.n + 1] = (v >>> 8) & 0xff;
    this.buf[this.n + 2] = (v >>> 16) & 0xff;
    this.n += 3;
    return this;
  }
  u32(field: string, v: number): this {
    this.int(field, v, 0xffffffff);
    this.ensure(4);
    this.view.setUint32(this.n, v, true);
    this.n += 4;
    return this;
  }
  u64(field: string, v: bigint): this {
    if (v < 0n || v > 0xffffffffffffffffn) throw new CodecError(`${field}: ${v} is not a U64`);
    this.ensure(8);
    this.view.setBigUint64(this.n, v, true);
    this.n += 8;
    return this;
  }
  f32(field: string, v: number): this {
    if (!Number.isFinite(v)) throw new CodecError(`${field}: ${v} is not finite`);
    this.ensure(4);
    this.view.setFloat32(this.n, v, true);
    this.n += 4;
    return this;
  }
  fixed(field: string, b: Uint8Array, len: number): this {
    if (b.length !== len) throw new CodecError(`${field}: expected ${len} bytes, got ${b.length}`);
    this.ensure(len);
    this.buf.set(b, this.n);
    this.n += len;
    return this;
  }
  /** U256 from a bigint (little-endian on the wire, as SV2 targets are). */
  u256(field: string, v: bigint): this {
    if (v < 0n || v >= 1n << 256n) throw new CodecError(`${field}: not a U256`);
    const b = new Uint8Array(32);
    let x = v;
    for (let i = 0; i < 32; i++) {
      b[i] = Number(x & 0xffn);
      x >>= 8n;
    }
    return this.fixed(field, b, 32);
  }
  bytes(field: string, b: Uint8Array, lenBytes: 1 | 2 | 3, max: number): this {
    if (b.length > max) throw new CodecError(`${field}: ${b.length} bytes, at most ${max}`);
    if (lenBytes === 1) this.u8(field, b.length);
    else if (lenBytes === 2) this.u16(field, b.length);
    else this.u24(field, b.length);
    this.ensure(b.length);
    this.buf.set(b, this.n);
    this.n += b.length;
    return this;
  }
  b0_32(field: string, b: Uint8Array): this {
    return this.bytes(field, b, 1, 32);
  }
  b0_255(field: string, b: Uint8Array): this {
    return this.bytes(field, b, 1, 255);
  }
  b0_64k(field: string, b: Uint8Array): this {
    return this.bytes(field, b, 2, 0xffff);
  }
  b0_16m(field: string, b: Uint8Array): this {
    return this.bytes(field, b, 3, 0xffffff);
  }
  str0_255(field: string, s: string): this {
    return this.bytes(field, utf8.encode(s), 1, 255);
  }
  seq0_255<T>(field: string, items: readonly T[], each: (w: this, v: T) => void): this {
    if (items.length > 255) throw new CodecError(`${field}: ${items.length} items, at most 255`);
    this.u8(field, items.length);
    for (const it of items) each(this, it);
    return this;
  }
  seq0_64k<T>(field: string, items: readonly T[], each: (w: this, v: T) => void): this {
    if (items.length > 0xffff) throw new CodecError(`${field}: ${items.length} items, at most 65535`);
    this.u16(field, items.length);
    for (const it of items) each(this, it);
    return this;
  }
  optionU32(field: string, v: number | undefined): this {
    if (v === undefined) return this.u8(field, 0);
    return this.u8(field, 1).u32(field, v);
  }
  get length(): number {
    return this.n;
  }
  finish(): Uint8Array {
    return this.buf.slice(0, this.n);
  }
}

export class Reader {
  private readonly b: Uint8Array;
  private readonly view: DataView;
  private p = 0;
  constructor(b: Uint8Array) {
    this.b = b;
    this.view = new DataView(b.buffer, b.byteOffset, b.length);
  }
  get remaining(): number {
    return this.b.length - this.p;
  }
  private need(field: string, k: number): void {
    if (this.p + k > this.b.length) {
      throw new CodecError(
        `${field}: needs ${k} bytes at offset ${this.p}, only ${this.b.length - this.p} left`,
      );
    }
  }
  bool(field: string): boolean {
    const v = this.u8(field);
    if (v > 1) throw new CodecError(`${field}: BOOL must be 0 or 1, got ${v}`);
    return v === 1;
  }
  u8(field: string): number {
    this.need(field, 1);
    return this.b[this.p++]!;
  }
  u16(field: string): number {
    this.need(field, 2);
    const v = this.view.getUint16(this.p, true);
    this.p += 2;
    return v;
  }
  u24(field: string): number {
    this.need(field, 3);
    const v = this.b[this.p]! | (this.b[this.p + 1]! << 8) | (this.b[this.p + 2]! << 16);
    this.p += 3;
    return v;
  }
  u32(field: string): number {
    this.need(field, 4);
    const v = this.view.getUint32(this.p, true);
    this.p += 4;
    return v;
  }
  u64(field: string): bigint {
    this.need(field, 8);
    const v = this.view.getBigUint64(this.p, true);
    this.p += 8;
    return v;
  }
  f32(field: string): number {
    this.need(field, 4);
    const v = this.view.getFloat32(this.p, true);
    this.p += 4;
    return v;
  }
  fixed(field: string, len: number): Uint8Array {
    this.need(field, len);
    const out = this.b.slice(this.p, this.p + len);
    this.p += len;
    return out;
  }
  u256(field: string): bigint {
    const b = this.fixed(field, 32);
    let v = 0n;
    for (let i = 31; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
    return v;
  }
  bytes(field: string, lenBytes: 1 | 2 | 3, max: number): Uint8Array {
    const len = lenBytes === 1 ? this.u8(field) : lenBytes === 2 ? this.u16(field) : this.u24(field);
    if (len > max) throw new CodecError(`${field}: length ${len}, at most ${max}`);
    return this.fixed(field, len);
  }
  b0_32(field: string): Uint8Array {
    return this.bytes(field, 1, 32);
  }
  b0_255(field: string): Uint8Array {
    return this.bytes(field, 1, 255);
  }
  b0_64k(field: string): Uint8Array {
    return this.bytes(field, 2, 0xffff);
  }
  b0_16m(field: string): Uint8Array {
    return this.bytes(field, 3, 0xffffff);
  }
  str0_255(field: string): string {
    const b = this.bytes(field, 1, 255);
    try {
      return utf8d.decode(b);
    } catch {
      throw new CodecError(`${field}: not valid UTF-8`);
    }
  }
  seq0_255<T>(field: string, each: (r: this) => T): T[] {
    const n = this.u8(field);
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(each(this));
    return out;
  }
  seq0_64k<T>(field: string, each: (r: this) => T): T[] {
    const n = this.u16(field);
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(each(this));
    return out;
  }
  optionU32(field: string): number | undefined {
    const n = this.u8(field);
    if (n === 0) return undefined;
    if (n !== 1) throw new CodecError(`${field}: OPTION count must be 0 or 1, got ${n}`);
    return this.u32(field);
  }
  /** Every byte consumed, or a CodecError (trailing garbage is malformed). */
  end(what: string): void {
    if (this.p !== this.b.length) {
      throw new CodecError(`${what}: ${this.b.length - this.p} trailing bytes after the last field`);
    }
  }
}
