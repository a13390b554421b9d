/**
 * Emulated BM13xx hash rate on one CPU core: the chip's own double-SHA256 nonce search (midstate per
 * job/version, 32-bit words, early exit at round 60) for a BM1397 midstate job and a BM1370 header
 * job with version rolling, against node:crypto createHash double SHA-256 of 80-byte headers.
 */
import { createHash } from 'node:crypto';
import { createEmulatedChain } from '../firmware/bm13xx/chain.ts';
import { crc16 } from '../firmware/bm13xx/crc.ts';
import { be32, midstate } from '../firmware/bm13xx/sha256.ts';
import { type BenchRow, type BenchSuite, rate } from './harness.ts';

function jobFrame(data: Uint8Array): Uint8Array {
  const f = new Uint8Array(data.length + 6);
  f.set([0x55, 0xaa, 0x21, data.length + 4]);
  f.set(data, 4);
  const c = crc16(f, 2, data.length + 2);
  f[f.length - 2] = c >> 8;
  f[f.length - 1] = c & 255;
  return f;
}

const HEADER = Buffer.from(
  '040000204595850c738349a3fa5274a511b72ec265a4f23d5243050000000000000000005bdc1968499c3393873edf8e07a1c3a50a97fc3a9d1a376bbf77087dd63778ebb52570643aae0517d19e020a',
  'hex',
);

async function chipRate(model: 'BM1397' | 'BM1370', ms: number): Promise<number> {
  const chain = createEmulatedChain({ model, chips: 1, autoHash: false });
  await chain.open();
  let data: Uint8Array;
  if (model === 'BM1397') {
    data = new Uint8Array(50);
    const words = Array.from({ length: 16 }, (_, i) => be32(HEADER, i * 4));
    const m = midstate(words);
    data.set(HEADER.subarray(72, 76), 6);
    data.set(HEADER.subarray(68, 72), 10);
    data.set(HEADER.subarray(64, 68), 14);
    for (let i = 0; i < 8; i++) {
      const off = 18 + (7 - i) * 4;
      data[off] = m[i]! >>> 24;
      data[off + 1] = (m[i]! >>> 16) & 255;
      data[off + 2] = (m[i]! >>> 8) & 255;
      data[off + 3] = m[i]! & 255;
    }
  } else {
    // enable rolling (0xA4 = 9000FFFF) so the chip recomputes a midstate every rollChunk nonces
    await chain.write(Uint8Array.from([0x55, 0xaa, 0x51, 0x09, 0x00, 0xa4, 0x90, 0x00, 0xff, 0xff, 0x1c]));
    data = new Uint8Array(82);
    data.set(HEADER.subarray(72, 76), 6);
    data.set(HEADER.subarray(68, 72), 10);
    for (let j = 0; j < 8; j++) {
      data.set(HEADER.subarray(36 + 4 * j, 40 + 4 * j), 14 + (7 - j) * 4);
      data.set(HEADER.subarray(4 + 4 * j, 8 + 4 * j), 46 + (7 - j) * 4);
    }
    data.set(HEADER.subarray(0, 4), 78);
  }
  await chain.write(jobFrame(data));
  const r = rate(() => chain.runHashes(50_000), ms);
  await chain.close();
  return r;
}

function cryptoRate(ms: number): number {
  const h = Buffer.from(HEADER);
  let n = 0;
  return rate(() => {
    for (let i = 0; i < 5_000; i++) {
      h.writeUInt32LE(n++ >>> 0, 76);
      createHash('sha256').update(createHash('sha256').update(h).digest()).digest();
    }
    return 5_000;
  }, ms);
}

const suite: BenchSuite = {
  name: 'emulator',
  async run(ctx) {
    const ms = Math.max(300, Math.round(2000 * ctx.scale));
    const baseline = cryptoRate(ms);
    const rows: BenchRow[] = [];
    for (const model of ['BM1397', 'BM1370'] as const) {
      const value = await chipRate(model, ms);
      ctx.log(
        `  ${model}: ${(value / 1e6).toFixed(2)} MH/s emulated vs node:crypto ${(baseline / 1e6).toFixed(2)} MH/s`,
      );
      rows.push({
        suite: 'emulator',
        name: `emulated hash rate per core (${model}${model === 'BM1370' ? ', rolling' : ''})`,
        value,
        unit: 'H/s',
        baseline: { name: 'node:crypto createHash dSHA256, 80-byte header', value: baseline },
        ratio: value / baseline,
        better: 'higher',
      });
    }
    return rows;
  },
};
export default suite;
