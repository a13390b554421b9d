/**
 * Emulator framing against the public vectors: CRC5/CRC16, the chip-side host-frame parser (every
 * host→chip frame of bm13xx.json accepted, flipped bits dropped, resync after garbage), and reply CRC
 * construction (chip-id replies, GPT's nonce doctest).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crc5, crc16, sealReply } from '../../firmware/bm13xx/crc.ts';
import { type HostFrame, HostFrameParser, nonceReply, registerReply } from '../../firmware/bm13xx/frames.ts';
import { cmd, decodeReply, hex, job, toHex } from '../helpers/emu-bm13xx.ts';
import { loadVectors, vector } from '../helpers/vectors.ts';

interface FrameSet {
  frames: Array<{ name: string; hex: string; header: string }>;
}

function hostFrames(): Array<{ name: string; bytes: Uint8Array }> {
  const out: Array<{ name: string; bytes: Uint8Array }> = [];
  for (const v of loadVectors('bm13xx').vectors) {
    if (v.kind === 'crc5_frames')
      for (const f of (v as unknown as FrameSet).frames) out.push({ name: f.name, bytes: hex(f.hex) });
  }
  const vm = vector<{ write_all_frame: string }>('bm13xx', 'version-mask-register-1fffe000');
  out.push({ name: 'version mask write', bytes: hex(vm.write_all_frame) });
  const jf = vector<{ frame_hex: string }>('bm13xx', 'bm1397-job-frame-verifier');
  out.push({ name: 'bm1397 job', bytes: hex(jf.frame_hex) });
  return out;
}

function parse(format: 'midstate' | 'header', bytes: Uint8Array, chunk = bytes.length) {
  const frames: Array<{ kind: string; header: number; data: string }> = [];
  const p = new HostFrameParser(format, (f: HostFrame) =>
    frames.push({ kind: f.kind, header: f.header, data: toHex(f.data) }),
  );
  for (let i = 0; i < bytes.length; i += chunk) p.push(bytes.subarray(i, i + chunk));
  return { frames, stats: p.stats };
}

test('CRC16/CCITT-FALSE check value', () => {
  const v = vector<{ input_ascii: string; expected: string }>('bm13xx', 'crc16-ccitt-false-check');
  assert.equal(crc16(new TextEncoder().encode(v.input_ascii)), Number(v.expected));
});

test('CRC5 of every public command frame matches its last byte', () => {
  const frames = hostFrames().filter((f) => f.bytes[2] !== 0x21);
  assert.ok(frames.length >= 13);
  for (const f of frames) assert.equal(crc5(f.bytes, 2, f.bytes.length - 3), f.bytes.at(-1), f.name);
});

test('parser accepts every public host→chip frame, byte by byte and in one stream', () => {
  const all = hostFrames();
  for (const f of all) {
    const format = f.bytes[2] === 0x21 ? 'midstate' : 'header';
    const whole = parse(format, f.bytes);
    assert.equal(whole.frames.length, 1, f.name);
    assert.equal(whole.stats.crcErrors, 0, f.name);
    const bytewise = parse(format, f.bytes, 1);
    assert.deepEqual(bytewise.frames, whole.frames, f.name);
    assert.equal(whole.frames[0]!.header, f.bytes[2]);
  }
  // all of them back to back, with garbage between, in odd-sized chunks
  const parts: number[] = [];
  for (const f of all) parts.push(0x00, 0x55, 0x13, 0xaa, ...f.bytes);
  const r = parse('midstate', Uint8Array.from(parts), 7);
  assert.equal(r.frames.length, all.length);
  assert.equal(r.stats.crcErrors, 0);
  assert.ok(r.stats.garbageBytes >= 4 * all.length);
});

test('every single flipped bit makes the frame drop silently and counts a CRC error', () => {
  for (const f of hostFrames()) {
    const format = f.bytes[2] === 0x21 ? 'midstate' : 'header';
    // flip each bit after the preamble/header/length (those would reframe rather than fail CRC)
    for (let i = 4; i < f.bytes.length; i++) {
      for (let b = 0; b < 8; b++) {
        const bad = Uint8Array.from(f.bytes);
        bad[i] = bad[i]! ^ (1 << b);
        const r = parse(format, bad);
        assert.equal(r.frames.length, 0, `${f.name} byte ${i} bit ${b}`);
        assert.equal(r.stats.crcErrors, 1, `${f.name} byte ${i} bit ${b}`);
      }
    }
  }
});

test('a frame that lost a byte costs only itself: the next frame is recovered', () => {
  const a = hex('55AA510900A49000FFFF1C');
  const b = hex('55AA520500000A');
  const damaged = Uint8Array.from([...a.subarray(0, 6), ...a.subarray(7), ...b]);
  const r = parse('header', damaged);
  assert.equal(r.frames.length, 1);
  assert.equal(r.frames[0]!.header, 0x52);
  assert.ok(r.stats.crcErrors >= 1);
});

test('BM1366+ job frames are a fixed 88 bytes whatever LEN says; BM1397 takes LEN', () => {
  const data = new Uint8Array(82).map((_, i) => i);
  for (const len of [0x56, 0x36, 0xff, 0x00]) {
    const f = new Uint8Array(88);
    f.set([0x55, 0xaa, 0x21, len]);
    f.set(data, 4);
    const c = crc16(f, 2, 84);
    f[86] = c >> 8;
    f[87] = c & 255;
    const r = parse('header', Uint8Array.from([...f, ...hex('55AA520500000A')]));
    assert.equal(r.frames.length, 2, `LEN 0x${len.toString(16)}`);
    assert.equal(r.frames[0]!.data, toHex(data));
  }
  // BM1397 with one midstate: LEN 0x36 → 56-byte frame
  const d1 = new Uint8Array(50).fill(7);
  const f1 = new Uint8Array(56);
  f1.set([0x55, 0xaa, 0x21, 0x36]);
  f1.set(d1, 4);
  const c1 = crc16(f1, 2, 52);
  f1[54] = c1 >> 8;
  f1[55] = c1 & 255;
  const r1 = parse('midstate', Uint8Array.from([...f1, ...hex('55AA520500000A')]));
  assert.equal(r1.frames.length, 2);
  assert.equal(r1.frames[0]!.data.length, 100);
});

test('random bytes never yield a frame with a bad CRC and never throw', () => {
  let seed = 12345;
  const rnd = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed >>> 24;
  };
  for (const format of ['midstate', 'header'] as const) {
    // random bytes, often preceded by a plausible preamble + header + length so candidates are common
    const parts: number[] = [];
    while (parts.length < 300_000) {
      if (rnd() < 64)
        parts.push(
          0x55,
          0xaa,
          [0x52, 0x51, 0x41, 0x40, 0x53, 0x21][rnd() % 6]!,
          [0x05, 0x09, 0x56][rnd() % 3]!,
        );
      parts.push(rnd());
    }
    const bytes = Uint8Array.from(parts);
    const stream = Buffer.from(bytes);
    const accepted: Uint8Array[] = [];
    const p = new HostFrameParser(format, (f) =>
      accepted.push(
        f.kind === 'command' ? cmd(f.header, Array.from(f.data)) : job(Uint8Array.from(f.data), f.lenByte),
      ),
    );
    for (let i = 0; i < bytes.length; i += 997) p.push(bytes.subarray(i, i + 997));
    assert.ok(p.stats.crcErrors > 100, 'random candidates were CRC-checked');
    // every accepted frame, rebuilt with the test's own CRC code, is literally in the stream
    for (const f of accepted) assert.ok(stream.indexOf(Buffer.from(f)) >= 0, toHex(f));
  }
});

test('reply CRC construction reproduces the public replies', () => {
  const r97 = vector<{ hex: string }>('bm13xx', 'bm1397-chip-id-reply');
  assert.equal(toHex(registerReply(new Uint8Array(9), 9, 0x13971800, 0, 0)), r97.hex);
  const r68 = vector<{ hex: string }>('bm13xx', 'bm1368-chip-id-reply');
  assert.equal(toHex(registerReply(new Uint8Array(11), 11, 0x13680000, 0, 0)), r68.hex);
  // GPTechinno doctest: AA55 97C328B6 01 63 9C (nonce reply)
  assert.equal(toHex(nonceReply(new Uint8Array(9), 9, 0x97c328b6, 0x01, 0x63, 0)), 'AA5597C328B601639C');
  // sealReply on arbitrary content always makes the independent whole-frame check pass
  for (let i = 0; i < 200; i++) {
    const f = Uint8Array.from({ length: 11 }, (_, j) => (j < 2 ? [0xaa, 0x55][j]! : (i * 31 + j * 17) & 255));
    sealReply(f, 11, i & 1 ? 0x80 : 0);
    assert.ok(decodeReply(f).crcOk);
    f[3] = f[3]! ^ 0x10;
    assert.ok(!decodeReply(f).crcOk);
  }
});
