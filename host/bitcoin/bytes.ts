/**
 * Bitcoin serialization primitives: a bounds-checked reader and a growable writer (little-endian
 * integers, CompactSize varints, var-bytes). Every read past the end is a BitcoinCodecError naming the
 * field, so a malformed message from a peer is an error line, never a crash.
 */
export class BitcoinCodecError extends Error {
  override readonly name = 'BitcoinCodecError';
  readonly field: string;
  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.field = field;
  }
}

export class Reader {
  private o = 0;
  private readonly v: DataView;
  readonly b: Uint8Array;
  constructor(b: Uint8Array) {
    this.b = b;
    this.v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }
  get offset(): number {
    return this.o;
  }
  get remaining(): number {
    return this.b.length - this.o;
  }
  private need(n: number, field: string): void {
    if (this.o + n > this.b.length)
      throw new BitcoinCodecError(field, `needs ${n} bytes at offset ${this.o}, only ${this.remaining} left`);
  }
  u8(field: string): number {
    this.need(1, field);
    return this.b[this.o++]!;
  }
  u16le(field: string): number {
    this.need(2, field);
    const x = this.v.getUint16(this.o, true);
    this.o += 2;
    return x;
  }
  u16be(field: string): number {
    this.need(2, field);
    const x = this.v.getUint16(this.o, false);
    this.o += 2;
    return x;
  }
  u32(field: string): number {
    this.need(4, field);
    const x = this.v.getUint32(this.o, true);
    this.o += 4;
    return x;
  }
  i32(field: string): number {
    this.need(4, field);
    const x = this.v.getInt32(this.o, true);
    this.o += 4;
    return x;
  }
  u64(field: string): bigint {
    this.need(8, field);
    const x = this.v.getBigUint64(this.o, true);
    this.o += 8;
    return x;
  }
  i64(field: string): bigint {
    this.need(8, field);
    const x = this.v.getBigInt64(this.o, true);
    this.o += 8;
    return x;
  }
  bytes(n: number, field: string): Uint8Array {
    this.need(n, field);
    const x = this.b.subarray(this.o, this.o + n);
    this.o += n;
    return x;
  }
  /** CompactSize; values above `max` (default 0x02000000, Core's MAX_SIZE) are refused. */
  varint(field: string, max = 0x0200_0000): number {
    const first = this.u8(field);
    let n: number;
    if (first < 0xfd) n = first;
    else if (first === 0xfd) {
      n = this.u16le(field);
      if (n < 0xfd) throw new BitcoinCodecError(field, 'non-canonical CompactSize');
    } else if (first === 0xfe) {
      n = this.u32(field);
      if (n < 0x10000) throw new BitcoinCodecError(field, 'non-canonical CompactSize');
    } else {
      const big = this.u64(field);
      if (big < 0x1_0000_0000n) throw new BitcoinCodecError(field, 'non-canonical CompactSize');
      throw new BitcoinCodecError(field, `CompactSize ${big} exceeds ${max}`);
    }
    if (n > max) throw new BitcoinCodecError(field, `CompactSize ${n} exceeds ${max}`);
    return n;
  }
  varBytes(field: string, max?: number): Uint8Array {
    return this.bytes(this.varint(field, max), field);
  }
  varString(field: string, max = 256): string {
    return Buffer.from(this.varBytes(field, max)).toString('utf8');
  }
  end(field: string): void {
    if (this.remaining !== 0)
      throw new BitcoinCodecError(field, `${this.remaining} unexpected trailing bytes`);
  }
}

export class Writer {
  private buf: Uint8Array;
  private v: DataView;
  private n = 0;
  constructor(capacity = 256) {
    this.buf = new Uint8Array(capacity);
    this.v = new DataView(this.buf.buffer);
  }
  private room(k: number): void {
    if (this.n + k <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.n + k));
    next.set(this.buf.subarray(0, this.n));
    this.buf = next;
    this.v = new DataView(next.buffer);
  }
  u8(x: number): this {
    this.room(1);
    this.buf[this.n++] = x & 0xff;
    return this;
  }
  u16le(x: number): this {
    this.room(2);
    this.v.setUint16(this.n, x, true);
    this.n += 2;
    return this;
  }
  u16be(x: number): this {
    this.room(2);
    this.v.setUint16(this.n, x, false);
    this.n += 2;
    return this;
  }
  u32(x: number): this {
    this.room(4);
    this.v.setUint32(this.n, x >>> 0, true);
    this.n += 4;
    return this;
  }
  i32(x: number): this {
    this.room(4);
    this.v.setInt32(this.n, x | 0, true);
    this.n += 4;
    return this;
  }
  u64(x: bigint): this {
    this.room(8);
    this.v.setBigUint64(this.n, BigInt.asUintN(64, x), true);
    this.n += 8;
    return this;
  }
  i64(x: bigint): this {
    this.room(8);
    this.v.setBigInt64(this.n, BigInt.asIntN(64, x), true);
    this.n += 8;
    return this;
  }
  bytes(b: Uint8Array): this {
    this.room(b.length);
    this.buf.set(b, this.n);
    this.n += b.length;
    return this;
  }
  varint(x: number): this {
    if (x < 0xfd) return this.u8(x);
    if (x <= 0xffff) return this.u8(0xfd).u16le(x);
    if (x <= 0xffffffff) return this.u8(0xfe).u32(x);
    return this.u8(0xff).u64(BigInt(x));
  }
  varBytes(b: Uint8Array): this {
    return this.varint(b.length).bytes(b);
  }
  varString(s: string): this {
    return this.varBytes(Buffer.from(s, 'utf8'));
  }
  get length(): number {
    return this.n;
  }
  finish(): Uint8Array {
    return this.buf.slice(0, this.n);
  }
}

export const hex = (b: Uint8Array): string =>
  Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
export function unhex(s: string, field = 'hex'): Uint8Array {
  if (typeof s !== 'string' || s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s))
    throw new BitcoinCodecError(field, 'expected an even-length hex string');
  return Uint8Array.from(Buffer.from(s, 'hex'));
}
/** Byte-reversed copy (internal hash order ↔ display order). */
export const reversed = (b: Uint8Array): Uint8Array => Uint8Array.from(b).reverse();
/** A display-order (RPC) hash → internal byte order. */
export const hashFromDisplay = (s: string, field = 'hash'): Uint8Array => {
  const b = unhex(s, field);
  if (b.length !== 32) throw new BitcoinCodecError(field, `expected 32 bytes, got ${b.length}`);
  return b.reverse();
};
export const hashToDisplay = (b: Uint8Array): string => hex(reversed(b));
export function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
