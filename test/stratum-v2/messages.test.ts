/**
 * SV2 binary types, messages and frames. Each message's expected bytes are written out here field by
 * field from the specification's tables (little-endian integers, U8/U16/U24 length prefixes), not produced
 * by the encoder; then every message round-trips, and fuzzed payloads and frames end in CodecError /
 * FrameError, never in another exception.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { CodecError, Reader, Writer } from '../../host/stratum-v2/codec.ts';
import {
  decodeFrame,
  decodeHeader,
  encodeFrame,
  encodeHeader,
  encryptedFrameLength,
  encryptFrame,
  FrameDecoder,
  FrameError,
} from '../../host/stratum-v2/framing.ts';
import { decodePayload, encodePayload, MSG, type Sv2Message } from '../../host/stratum-v2/messages.ts';
import { CipherState } from '../../host/stratum-v2/noise.ts';

const hex = (s: string) => s.replace(/\s+|\|/g, '');
const str = (s: string) => s.length.toString(16).padStart(2, '0') + Buffer.from(s).toString('hex');
const b32 = (byte: string) => byte.repeat(32);
/** A U256 whose little-endian bytes are 00 01 02 … 1f. */
const seqBytes = Uint8Array.from({ length: 32 }, (_, i) => i);
const seqBig = seqBytes.reduceRight((acc, b) => (acc << 8n) | BigInt(b), 0n);
const seqHex = Buffer.from(seqBytes).toString('hex');

const cases: Array<[Sv2Message, string]> = [
  [
    {
      type: 'SetupConnection',
      protocol: 0,
      minVersion: 2,
      maxVersion: 2,
      flags: 0b101,
      endpointHost: 'pool',
      endpointPort: 3336,
      vendor: 'asicd',
      hardwareVersion: 'hw',
      firmware: '0.1',
      deviceId: 'd',
    },
    `00 | 0200 | 0200 | 05000000 | ${str('pool')} | 080d | ${str('asicd')} | ${str('hw')} | ${str('0.1')} | ${str('d')}`,
  ],
  [{ type: 'SetupConnectionSuccess', usedVersion: 2, flags: 0x10 }, '0200 | 10000000'],
  [
    { type: 'SetupConnectionError', flags: 4, errorCode: 'unsupported-feature-flags' },
    `04000000 | ${str('unsupported-feature-flags')}`,
  ],
  [
    {
      type: 'OpenStandardMiningChannel',
      requestId: 7,
      userIdentity: 'u.w',
      nominalHashRate: 1.5,
      maxTarget: seqBig,
    },
    `07000000 | ${str('u.w')} | 0000c03f | ${seqHex}`,
  ],
  [
    {
      type: 'OpenStandardMiningChannelSuccess',
      requestId: 7,
      channelId: 0x01020304,
      target: seqBig,
      extranoncePrefix: Uint8Array.of(0xaa, 0xbb),
      groupChannelId: 9,
    },
    `07000000 | 04030201 | ${seqHex} | 02aabb | 09000000`,
  ],
  [
    { type: 'OpenMiningChannelError', requestId: 1, errorCode: 'unknown-user' },
    `01000000 | ${str('unknown-user')}`,
  ],
  [
    {
      type: 'OpenExtendedMiningChannel',
      requestId: 2,
      userIdentity: 'x',
      nominalHashRate: 0,
      maxTarget: 0n,
      minExtranonceSize: 8,
    },
    `02000000 | ${str('x')} | 00000000 | ${b32('00')} | 0800`,
  ],
  [
    {
      type: 'OpenExtendedMiningChannelSuccess',
      requestId: 2,
      channelId: 5,
      target: (1n << 256n) - 1n,
      extranonceSize: 8,
      extranoncePrefix: Uint8Array.of(1, 2, 3, 4),
    },
    `02000000 | 05000000 | ${b32('ff')} | 0800 | 0401020304`,
  ],
  [
    {
      type: 'NewMiningJob',
      channelId: 5,
      jobId: 1,
      minNtime: undefined,
      version: 0x20000000,
      merkleRoot: seqBytes,
    },
    `05000000 | 01000000 | 00 | 00000020 | 20${seqHex}`,
  ],
  [
    {
      type: 'NewMiningJob',
      channelId: 5,
      jobId: 2,
      minNtime: 0x65000000,
      version: 0x20000000,
      merkleRoot: seqBytes,
    },
    `05000000 | 02000000 | 01 00000065 | 00000020 | 20${seqHex}`,
  ],
  [
    {
      type: 'NewExtendedMiningJob',
      channelId: 5,
      jobId: 3,
      minNtime: undefined,
      version: 0x20000000,
      versionRollingAllowed: true,
      merklePath: [seqBytes, new Uint8Array(32).fill(0xee)],
      coinbaseTxPrefix: Uint8Array.of(1, 0, 0, 0),
      coinbaseTxSuffix: Uint8Array.of(0xff),
    },
    `05000000 | 03000000 | 00 | 00000020 | 01 | 02 ${seqHex} ${b32('ee')} | 0400 01000000 | 0100 ff`,
  ],
  [
    {
      type: 'SetNewPrevHash',
      channelId: 5,
      jobId: 3,
      prevHash: seqBytes,
      minNtime: 0x5f5e1000,
      nbits: 0x1d00ffff,
    },
    `05000000 | 03000000 | ${seqHex} | 00105e5f | ffff001d`,
  ],
  [{ type: 'SetTarget', channelId: 5, maximumTarget: seqBig }, `05000000 | ${seqHex}`],
  [{ type: 'SetExtranoncePrefix', channelId: 5, extranoncePrefix: Uint8Array.of(9) }, '05000000 | 0109'],
  [
    {
      type: 'SubmitSharesStandard',
      channelId: 5,
      sequenceNumber: 1,
      jobId: 3,
      nonce: 0xdeadbeef,
      ntime: 0x5f5e1000,
      version: 0x20002000,
    },
    '05000000 | 01000000 | 03000000 | efbeadde | 00105e5f | 00200020',
  ],
  [
    {
      type: 'SubmitSharesExtended',
      channelId: 5,
      sequenceNumber: 2,
      jobId: 3,
      nonce: 1,
      ntime: 2,
      version: 3,
      extranonce: Uint8Array.of(0xab, 0xcd),
    },
    '05000000 | 02000000 | 03000000 | 01000000 | 02000000 | 03000000 | 02abcd',
  ],
  [
    {
      type: 'SubmitSharesSuccess',
      channelId: 5,
      lastSequenceNumber: 9,
      newSubmitsAcceptedCount: 2,
      newSharesSum: 300n,
    },
    '05000000 | 09000000 | 02000000 | 2c01000000000000',
  ],
  [
    { type: 'SubmitSharesError', channelId: 5, sequenceNumber: 9, errorCode: 'stale-share' },
    `05000000 | 09000000 | ${str('stale-share')}`,
  ],
  [
    { type: 'UpdateChannel', channelId: 5, nominalHashRate: 2 ** 40, maximumTarget: 1n },
    `05000000 | 00008053 | 01${'00'.repeat(31)}`,
  ],
  [
    { type: 'UpdateChannelError', channelId: 5, errorCode: 'max-target-out-of-range' },
    `05000000 | ${str('max-target-out-of-range')}`,
  ],
  [{ type: 'CloseChannel', channelId: 5, reasonCode: 'bye' }, `05000000 | ${str('bye')}`],
  [{ type: 'Reconnect', newHost: '', newPort: 0 }, '00 | 0000'],
];

test('every message matches its byte layout and round-trips', () => {
  const seen = new Set<string>();
  for (const [m, layout] of cases) {
    const bytes = encodePayload(m);
    assert.equal(Buffer.from(bytes).toString('hex'), hex(layout), m.type);
    assert.deepEqual(decodePayload(MSG[m.type], bytes), m, m.type);
    seen.add(m.type);
  }
  assert.equal(seen.size, Object.keys(MSG).length, 'every message type has a layout case');
});

test('frame header: extension_type LE with bit 15 = channel_msg, msg_type, U24 length', () => {
  assert.equal(Buffer.from(encodeHeader(0, false, 0x00, 0x0102)).toString('hex'), '000000020100');
  assert.equal(Buffer.from(encodeHeader(0, true, 0x1a, 0x030201)).toString('hex'), '00801a010203');
  assert.deepEqual(decodeHeader(Uint8Array.of(0x01, 0x80, 0x1f, 0xff, 0xff, 0xff)), {
    extensionType: 1,
    channelMsg: true,
    msgType: 0x1f,
    length: 0xffffff,
  });
  const f = encodeFrame({ type: 'SetTarget', channelId: 1, maximumTarget: 0n });
  assert.equal(Buffer.from(f.subarray(0, 6)).toString('hex'), '008021240000');
  const s = encodeFrame({ type: 'SetupConnectionSuccess', usedVersion: 2, flags: 0 });
  assert.equal(Buffer.from(s.subarray(0, 6)).toString('hex'), '000001060000');
  assert.throws(() => encodeHeader(0, false, 0, 0x1000000), CodecError);
});

test('types: U24, F32, STR0_255 limits, OPTION, SEQ; short input names the field', () => {
  const w = new Writer()
    .u24('x', 0xabcdef)
    .f32('f', -2)
    .optionU32('o', 5)
    .seq0_64k('s', [1, 2], (ww, v) => ww.u8('v', v));
  assert.equal(Buffer.from(w.finish()).toString('hex'), 'efcdab' + '000000c0' + '0105000000' + '02000102');
  assert.throws(() => new Writer().str0_255('name', 'x'.repeat(256)), /name: 256 bytes, at most 255/);
  assert.throws(() => new Writer().b0_32('e', new Uint8Array(33)), /at most 32/);
  assert.throws(() => new Writer().u16('p', 70000), /not in 0..65535/);
  assert.throws(() => new Reader(Uint8Array.of(1, 2)).u32('nonce'), /nonce: needs 4 bytes/);
  assert.throws(() => new Reader(Uint8Array.of(5, 1)).str0_255('vendor'), /vendor: needs 5 bytes/);
  assert.throws(() => new Reader(Uint8Array.of(2)).bool('flag'), /BOOL must be 0 or 1/);
  assert.throws(() => new Reader(Uint8Array.of(2)).optionU32('min_ntime'), /OPTION count/);
  assert.throws(() => new Reader(Uint8Array.of(1, 0xff)).str0_255('s'), /UTF-8/);
  // Trailing bytes after the last field are malformed.
  const good = encodePayload({ type: 'SetTarget', channelId: 1, maximumTarget: 1n });
  assert.throws(() => decodePayload(MSG.SetTarget, Uint8Array.of(...good, 0)), /trailing/);
  assert.equal(decodePayload(0x77, new Uint8Array(3)), undefined, 'unknown message type');
});

test('fuzz: random payloads for every type give a message or a CodecError', () => {
  fc.assert(
    fc.property(fc.constantFrom(...Object.values(MSG)), fc.uint8Array({ maxLength: 300 }), (t, b) => {
      try {
        decodePayload(t, b);
      } catch (e) {
        assert.ok(e instanceof CodecError, `type ${t}: ${(e as Error).stack}`);
      }
    }),
    { numRuns: 3000 },
  );
  // Truncations of valid payloads are always errors (every field is needed).
  for (const [m] of cases) {
    const b = encodePayload(m);
    for (let n = 0; n < b.length; n++)
      assert.throws(() => decodePayload(MSG[m.type], b.subarray(0, n)), CodecError);
  }
});

function pair() {
  const k = new Uint8Array(32).fill(3);
  const tx = new CipherState(k);
  const rx = new CipherState(k);
  return { seal: (b: Uint8Array) => tx.encrypt(b), dec: new FrameDecoder((b) => rx.decrypt(b), 1 << 20) };
}

test('encrypted frames: header as its own 22-byte message, payload chunks ≤ 65535 with their MACs', () => {
  assert.equal(encryptedFrameLength(0), 22);
  assert.equal(encryptedFrameLength(1), 22 + 17);
  assert.equal(encryptedFrameLength(65519), 22 + 65535);
  assert.equal(encryptedFrameLength(65520), 22 + 65535 + 17);
  const { seal, dec } = pair();
  const small = encodeFrame({ type: 'SetTarget', channelId: 1, maximumTarget: 5n });
  const big = encodeFrame({
    type: 'NewExtendedMiningJob',
    channelId: 1,
    jobId: 1,
    minNtime: undefined,
    version: 1,
    versionRollingAllowed: false,
    merklePath: [],
    coinbaseTxPrefix: new Uint8Array(65535).fill(1),
    coinbaseTxSuffix: new Uint8Array(65535).fill(2),
  });
  const empty = Uint8Array.of(0, 0, 0x99, 0, 0, 0); // unknown type, empty payload
  const wire = Buffer.concat([encryptFrame(small, seal), encryptFrame(big, seal), encryptFrame(empty, seal)]);
  assert.equal(wire.length, encryptedFrameLength(36) + encryptedFrameLength(big.length - 6) + 22);
  // Delivered one byte at a time around the chunk edges, then the rest.
  const frames = [];
  let o = 0;
  for (const step of [1, 5, 16, 100, 65535, 7, wire.length]) {
    frames.push(...dec.push(wire.subarray(o, Math.min(wire.length, o + step))));
    o = Math.min(wire.length, o + step);
  }
  assert.equal(frames.length, 3);
  const m1 = decodeFrame(frames[0]!);
  assert.equal(m1.type, 'SetTarget');
  const m2 = decodeFrame(frames[1]!);
  assert.equal(m2.type === 'NewExtendedMiningJob' && m2.coinbaseTxSuffix.length, 65535);
  assert.deepEqual(decodeFrame(frames[2]!), { type: 'unknown', extensionType: 0, msgType: 0x99, length: 0 });
  // An extension frame is skipped as unknown even if its type number is a core one.
  assert.equal(
    decodeFrame({ extensionType: 2, channelMsg: false, msgType: 0x21, payload: new Uint8Array(0) }).type,
    'unknown',
  );
});

test('encrypted frames: wrong MAC, oversized length, garbage → FrameError; decoder stays failed', () => {
  {
    const { seal, dec } = pair();
    const w = encryptFrame(encodeFrame({ type: 'SetTarget', channelId: 1, maximumTarget: 5n }), seal);
    w[30]! ^= 0x80; // inside the payload chunk
    assert.throws(
      () => dec.push(w),
      (e) => e instanceof FrameError && e.kind === 'mac',
    );
    assert.throws(() => dec.push(new Uint8Array(1)), FrameError, 'stays failed');
  }
  {
    const { seal, dec } = pair();
    const w = encryptFrame(encodeFrame({ type: 'SetTarget', channelId: 1, maximumTarget: 5n }), seal);
    w[3]! ^= 0x01; // inside the header message
    assert.throws(
      () => dec.push(w),
      (e) => e instanceof FrameError && e.kind === 'mac',
    );
  }
  {
    const k = new Uint8Array(32).fill(3);
    const tx = new CipherState(k);
    const dec = new FrameDecoder((b) => new CipherState(k).decrypt(b), 1000);
    const w = tx.encrypt(encodeHeader(0, false, 0x15, 5000));
    assert.throws(
      () => dec.push(w),
      (e) => e instanceof FrameError && e.kind === 'too-large' && /5000/.test(e.message),
    );
  }
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 80 }), { maxLength: 6 }), (chunks) => {
      const { dec } = pair();
      try {
        for (const c of chunks) dec.push(c);
      } catch (e) {
        assert.ok(e instanceof FrameError);
      }
    }),
    { numRuns: 300 },
  );
  // Random bytes of a valid header length always fail authentication.
  const { dec } = pair();
  assert.throws(() => dec.push(randomBytes(22)), FrameError);
});
