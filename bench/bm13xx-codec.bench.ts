/**
 * BM13xx reply codec: frames decoded per second by the streaming decoder (baseline: a bare loop that only
 * scans the same bytes for AA 55 preambles), and the in-process latency from a nonce frame's last byte
 * being pushed to the decoded nonce (and to the nonce verified by a double SHA-256 of the header).
 */
import { createHash } from 'node:crypto';
import { encodeNonceReply, encodeRegisterReply, ResponseDecoder } from '../drivers/bm13xx/codec.ts';
import { MODELS } from '../drivers/bm13xx/models.ts';
import { type BenchRow, type BenchSuite, percentile, rate } from './harness.ts';

function stream(model: (typeof MODELS)['BM1370'], frames: number): Uint8Array {
  const parts: Uint8Array[] = [];
  let seed = 12345;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed;
  };
  for (let i = 0; i < frames; i++) {
    parts.push(
      i % 4 === 0
        ? encodeRegisterReply(model, rnd(), (i * 64) & 0xff, 0x8c)
        : encodeNonceReply(model, rnd(), 0, rnd() & 0xff, rnd() & 0xffff),
    );
    if (i % 100 === 99) parts.push(Uint8Array.of(0x00, 0xaa, 0x13)); // a little line garbage
  }
  return Buffer.concat(parts);
}

function scanPreambles(b: Uint8Array): number {
  let n = 0;
  for (let i = 0; i + 1 < b.length; i++) if (b[i] === 0xaa && b[i + 1] === 0x55) n++;
  return n;
}

const suite: BenchSuite = {
  name: 'bm13xx-codec',
  async run(ctx) {
    const rows: BenchRow[] = [];
    const ms = Math.max(200, 1500 * ctx.scale);
    for (const model of [MODELS.BM1397, MODELS.BM1370]) {
      const FRAMES = 20_000;
      const bytes = stream(model, FRAMES);
      let decoded = 0;
      const dec = new ResponseDecoder(model, () => {
        decoded++;
      });
      const CHUNK = 64; // a UART read typically hands over tens of bytes
      const decodeRate = rate(() => {
        const before = decoded;
        for (let o = 0; o < bytes.length; o += CHUNK) dec.push(bytes.subarray(o, o + CHUNK));
        return decoded - before;
      }, ms);
      let sink = 0;
      const scanRate = rate(() => {
        const n = scanPreambles(bytes);
        sink += n;
        return n;
      }, ms);
      if (sink < 0) ctx.log('impossible');
      rows.push({
        suite: 'bm13xx-codec',
        name: `${model.model} frames decoded (${model.replyLength} B, 64 B chunks)`,
        value: decodeRate,
        unit: 'frames/s',
        baseline: { name: 'bare AA55 scan', value: scanRate },
        ratio: decodeRate / scanRate,
        better: 'higher',
        note: `CRC errors ${dec.stats.crcErrors}, garbage ${dec.stats.garbageBytes} B`,
      });
    }

    // Latency: last byte pushed → decoded nonce, and → nonce verified (double SHA-256 over the header).
    const model = MODELS.BM1370;
    const header = new Uint8Array(80);
    const hv = new DataView(header.buffer);
    const samples = Math.round(20_000 * Math.max(ctx.scale, 0.25));
    const decodeNs: number[] = [];
    const verifyNs: number[] = [];
    let t0 = 0n;
    let verify = false;
    const dec = new ResponseDecoder(model, (r) => {
      const t1 = process.hrtime.bigint();
      if (!verify) {
        decodeNs.push(Number(t1 - t0));
        return;
      }
      hv.setUint32(0, (0x20000000 | r.versionBits) >>> 0, true);
      hv.setUint32(76, r.nonce, true);
      const d = createHash('sha256').update(createHash('sha256').update(header).digest()).digest();
      if (d.length !== 32) throw new Error('bad digest');
      verifyNs.push(Number(process.hrtime.bigint() - t0));
    });
    const frames = Array.from({ length: 256 }, (_, i) =>
      encodeNonceReply(model, i * 0x01000193, 0, (i * 16) & 0xff, i),
    );
    for (const v of [false, true]) {
      verify = v;
      for (let i = 0; i < samples; i++) {
        const f = frames[i & 255]!;
        dec.push(f.subarray(0, f.length - 1));
        t0 = process.hrtime.bigint();
        dec.push(f.subarray(f.length - 1));
      }
    }
    const us = (ns: number[], p: number) =>
      percentile(
        [...ns].sort((a, b) => a - b),
        p,
      ) / 1000;
    for (const [name, arr] of [
      ['nonce last byte → decoded', decodeNs],
      ['nonce last byte → verified (dSHA256)', verifyNs],
    ] as const) {
      rows.push({
        suite: 'bm13xx-codec',
        name: `${name} p50`,
        value: us(arr, 50),
        unit: 'µs',
        better: 'lower',
      });
      rows.push({
        suite: 'bm13xx-codec',
        name: `${name} p99`,
        value: us(arr, 99),
        unit: 'µs',
        better: 'lower',
      });
    }
    return rows;
  },
};

export default suite;
