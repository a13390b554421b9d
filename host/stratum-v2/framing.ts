/**
 * SV2 frames and their Noise transport encryption.
 *
 *   frame  = extension_type U16 ‖ msg_type U8 ‖ msg_length U24 ‖ payload      (header: 6 bytes, LE)
 *   extension_type bit 15 (0x8000) = channel_msg; bits 0..14 = the extension (0 = core protocols)
 *
 *   on the wire after the handshake:
 *     encrypt(header)                          6 + 16 = 22 bytes (its own Noise message, own MAC)
 *     encrypt(payload[0 .. 65519)) ‖ …         each chunk ≤ 65519 plaintext bytes → ≤ 65535 with its MAC
 *   an empty payload sends no chunk at all.
 *
 * FrameDecoder reassembles frames from an encrypted byte stream; every problem (wrong MAC, oversized
 * length) is a FrameError and the decoder stays failed (the connection must close: Noise nonces are
 * out of step after a lost message).
 */
import { CodecError } from './codec.ts';
import {
  CHANNEL_MESSAGES,
  decodePayload,
  encodePayload,
  MSG,
  type Sv2Message,
  type UnknownMessage,
} from './messages.ts';
import { MAC_LEN, MAX_NOISE_MESSAGE } from './noise.ts';

export const HEADER_LEN = 6;
export const ENCRYPTED_HEADER_LEN = HEADER_LEN + MAC_LEN;
export const MAX_CHUNK_PLAINTEXT = MAX_NOISE_MESSAGE - MAC_LEN;
export const CHANNEL_BIT = 0x8000;
/** U24 maximum (the spec's limit on a payload). */
export const MAX_PAYLOAD = 0xffffff;

export class FrameError extends Error {
  override name = 'FrameError';
  readonly kind: 'mac' | 'too-large' | 'malformed' | 'closed';
  constructor(kind: FrameError['kind'], message: string) {
    super(message);
    this.kind = kind;
  }
}

export interface Frame {
  extensionType: number;
  channelMsg: boolean;
  msgType: number;
  payload: Uint8Array;
}

export function encodeHeader(
  extensionType: number,
  channelMsg: boolean,
  msgType: number,
  length: number,
): Uint8Array {
  if (extensionType < 0 || extensionType > 0x7fff)
    throw new CodecError(`extension_type ${extensionType} out of range`);
  if (length > MAX_PAYLOAD) throw new CodecError(`payload of ${length} bytes exceeds U24`);
  const b = new Uint8Array(HEADER_LEN);
  const ext = extensionType | (channelMsg ? CHANNEL_BIT : 0);
  b[0] = ext & 0xff;
  b[1] = ext >>> 8;
  b[2] = msgType & 0xff;
  b[3] = length & 0xff;
  b[4] = (length >>> 8) & 0xff;
  b[5] = (length >>> 16) & 0xff;
  return b;
}

export function decodeHeader(b: Uint8Array): {
  extensionType: number;
  channelMsg: boolean;
  msgType: number;
  length: number;
} {
  if (b.length !== HEADER_LEN)
    throw new FrameError('malformed', `frame header must be 6 bytes, got ${b.length}`);
  const ext = b[0]! | (b[1]! << 8);
  return {
    extensionType: ext & 0x7fff,
    channelMsg: (ext & CHANNEL_BIT) !== 0,
    msgType: b[2]!,
    length: b[3]! | (b[4]! << 8) | (b[5]! << 16),
  };
}

/** Plaintext frame (header ‖ payload) of a message. */
export function encodeFrame(m: Sv2Message): Uint8Array {
  const payload = encodePayload(m);
  const out = new Uint8Array(HEADER_LEN + payload.length);
  out.set(encodeHeader(0, CHANNEL_MESSAGES.has(m.type), MSG[m.type], payload.length));
  out.set(payload, HEADER_LEN);
  return out;
}

/** Bytes on the wire for a payload of `len` bytes (header and chunk MACs included). */
export function encryptedFrameLength(len: number): number {
  const chunks = Math.ceil(len / MAX_CHUNK_PLAINTEXT);
  return ENCRYPTED_HEADER_LEN + len + chunks * MAC_LEN;
}

export type Seal = (plaintext: Uint8Array) => Uint8Array;
export type Open = (ciphertext: Uint8Array) => Uint8Array;

/** A plaintext frame → the encrypted bytes to write (header message, then the payload chunks). */
export function encryptFrame(frame: Uint8Array, seal: Seal): Uint8Array {
  const header = frame.subarray(0, HEADER_LEN);
  const payload = frame.subarray(HEADER_LEN);
  const out = new Uint8Array(encryptedFrameLength(payload.length));
  out.set(seal(header), 0);
  let o = ENCRYPTED_HEADER_LEN;
  for (let p = 0; p < payload.length; p += MAX_CHUNK_PLAINTEXT) {
    const ct = seal(payload.subarray(p, Math.min(payload.length, p + MAX_CHUNK_PLAINTEXT)));
    out.set(ct, o);
    o += ct.length;
  }
  return out;
}

/** Frame → message (known types) or an 'unknown' marker; malformed payloads throw CodecError. */
export function decodeFrame(f: Frame): Sv2Message | UnknownMessage {
  const unknown: UnknownMessage = {
    type: 'unknown',
    extensionType: f.extensionType,
    msgType: f.msgType,
    length: f.payload.length,
  };
  if (f.extensionType !== 0) return unknown;
  return decodePayload(f.msgType, f.payload) ?? unknown;
}

/** Reassembles encrypted frames from stream chunks. */
export class FrameDecoder {
  private readonly open: Open;
  private readonly maxPayload: number;
  private buf: Uint8Array = new Uint8Array(0);
  private header: ReturnType<typeof decodeHeader> | undefined;
  private failed: FrameError | undefined;
  /** Bytes consumed so far (encrypted, on the wire). */
  bytesIn = 0;

  constructor(open: Open, maxPayload = 1 << 20) {
    this.open = open;
    this.maxPayload = Math.min(maxPayload, MAX_PAYLOAD);
  }

  /** Adds bytes; returns the complete frames. Throws FrameError (and stays failed). */
  push(chunk: Uint8Array): Frame[] {
    if (this.failed) throw this.failed;
    this.bytesIn += chunk.length;
    if (this.buf.length === 0) this.buf = chunk.slice();
    else {
      const b = new Uint8Array(this.buf.length + chunk.length);
      b.set(this.buf);
      b.set(chunk, this.buf.length);
      this.buf = b;
    }
    const frames: Frame[] = [];
    try {
      for (;;) {
        if (!this.header) {
          if (this.buf.length < ENCRYPTED_HEADER_LEN) break;
          const h = decodeHeader(this.decrypt(this.buf.subarray(0, ENCRYPTED_HEADER_LEN), 'header'));
          this.buf = this.buf.subarray(ENCRYPTED_HEADER_LEN);
          if (h.length > this.maxPayload) {
            throw new FrameError(
              'too-large',
              `frame payload of ${h.length} bytes exceeds the limit of ${this.maxPayload}`,
            );
          }
          this.header = h;
        }
        const h = this.header;
        const need = encryptedFrameLength(h.length) - ENCRYPTED_HEADER_LEN;
        if (this.buf.length < need) break;
        const payload = new Uint8Array(h.length);
        let o = 0;
        let p = 0;
        while (o < h.length) {
          const n = Math.min(MAX_CHUNK_PLAINTEXT, h.length - o);
          const pt = this.decrypt(this.buf.subarray(p, p + n + MAC_LEN), 'payload');
          payload.set(pt, o);
          o += n;
          p += n + MAC_LEN;
        }
        this.buf = this.buf.subarray(need);
        this.header = undefined;
        frames.push({
          extensionType: h.extensionType,
          channelMsg: h.channelMsg,
          msgType: h.msgType,
          payload,
        });
      }
    } catch (e) {
      this.failed = e instanceof FrameError ? e : new FrameError('malformed', (e as Error).message);
      throw this.failed;
    }
    if (this.buf.length > 0 && this.buf.byteOffset > 0) this.buf = this.buf.slice();
    return frames;
  }

  private decrypt(ct: Uint8Array, what: string): Uint8Array {
    try {
      return this.open(ct);
    } catch (e) {
      throw new FrameError('mac', `${what}: ${(e as Error).message || 'authentication failed'}`);
    }
  }
}
