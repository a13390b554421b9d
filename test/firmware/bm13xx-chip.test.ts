/**
 * Emulated chips against the public vectors and independent hashing: chip-id replies, addressing,
 * the BM1397 job vector, finding the known nonces of ESP-Miner's share-difficulty tests on every
 * model, version rolling inside the mask, BM1397 multi-midstate jobs, easy mode and the ticket mask
 * checked with node:crypto, counters, PLL and baud registers.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createEmulatedChain, type EmulatedChainOptions } from '../../firmware/bm13xx/chain.ts';
import type { ChipModel } from '../../firmware/bm13xx/models.ts';
import { be32, midstate } from '../../firmware/bm13xx/sha256.ts';
import { ManualClock } from '../../lib/clock.ts';
import {
  chainInactive,
  collect,
  decodeReply,
  dsha,
  type HeaderFields,
  header,
  headerJobData,
  hex,
  job,
  leadingZeroBits,
  midstateJobData,
  readAll,
  readOne,
  setAddress,
  splitReplies,
  ticks,
  toHex,
  writeAll,
  writeOne,
} from '../helpers/emu-bm13xx.ts';
import { vector } from '../helpers/vectors.ts';

const MODELS: ChipModel[] = ['BM1397', 'BM1366', 'BM1368', 'BM1370'];
const bswap = (x: number) =>
  (((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24)) >>> 0;

async function rig(opts: Partial<EmulatedChainOptions> & { model: ChipModel; chips: number }) {
  const chain = createEmulatedChain({ autoHash: false, seed: 1, ...opts });
  await chain.open();
  const rx = collect(chain);
  const send = async (...frames: Uint8Array[]) => {
    for (const f of frames) await chain.write(f);
    await ticks();
  };
  return { chain, rx, send };
}

/** Chain inactive + addresses at 256/n intervals (ESP's enumeration). */
async function address(send: (...f: Uint8Array[]) => Promise<void>, n: number) {
  await send(chainInactive(), ...Array.from({ length: n }, (_, i) => setAddress(i * Math.floor(256 / n))));
}

interface DiffVector {
  prev_block_hash: string;
  merkle_root?: string;
  expected_merkle_root?: string;
  version: string;
  nbits: string;
  ntime: string;
  nonce: string;
  expected_header: string;
  expected_block_hash: string;
}
function fieldsOf(id: string): { f: HeaderFields; nonce: number; v: DiffVector } {
  const v = vector<DiffVector>('stratum-v1', id);
  return {
    v,
    nonce: Number.parseInt(v.nonce, 16),
    f: {
      prev: v.prev_block_hash,
      merkle: (v.merkle_root ?? v.expected_merkle_root)!,
      version: Number.parseInt(v.version, 16),
      nbits: Number.parseInt(v.nbits, 16),
      ntime: Number.parseInt(v.ntime, 16),
    },
  };
}

test('chip-id reads answer with the public reply bytes, one reply per chip in chain order', async () => {
  const { chain, rx, send } = await rig({ model: 'BM1397', chips: 4 });
  await send(readAll(0x00));
  const replies = splitReplies(rx.bytes(), 9);
  assert.equal(replies.length, 4);
  for (const r of replies)
    assert.equal(toHex(r), vector<{ hex: string }>('bm13xx', 'bm1397-chip-id-reply').hex);
  await chain.close();

  // BM1368: 9-byte replies until 0xA4 enables rolling (SKOT), then the public 11-byte reply
  const b = await rig({ model: 'BM1368', chips: 2 });
  await b.send(readAll(0x00));
  const short = splitReplies(b.rx.bytes(), 9);
  assert.equal(short.length, 2);
  assert.ok(decodeReply(short[0]!).crcOk);
  assert.equal(decodeReply(short[0]!).word, 0x13680000);
  b.rx.clear();
  await b.send(
    hex(vector<{ write_all_frame: string }>('bm13xx', 'version-mask-register-1fffe000').write_all_frame),
  );
  await b.send(readAll(0x00));
  const long = splitReplies(b.rx.bytes(), 11);
  assert.equal(long.length, 2);
  for (const r of long) assert.equal(toHex(r), vector<{ hex: string }>('bm13xx', 'bm1368-chip-id-reply').hex);
  await b.chain.close();

  for (const [model, id] of [
    ['BM1366', 0x1366],
    ['BM1370', 0x1370],
  ] as const) {
    const c = await rig({ model, chips: 1, shortRepliesUntilRolling: false });
    await c.send(readAll(0x00));
    const [r] = splitReplies(c.rx.bytes(), 11);
    assert.equal(decodeReply(r!).word >>> 16, id);
    assert.ok(decodeReply(r!).crcOk);
    await c.chain.close();
  }
});

test('address assignment: 4 chips at 64 intervals, reads in chain order, single reads and writes', async () => {
  const { chain, rx, send } = await rig({ model: 'BM1366', chips: 4, shortRepliesUntilRolling: false });
  await address(send, 4);
  await send(setAddress(0x99)); // no chip left unaddressed: ignored
  await send(readAll(0x00));
  const replies = splitReplies(rx.bytes(), 11).map(decodeReply);
  assert.deepEqual(
    replies.map((r) => r.b6),
    [0, 64, 128, 192],
  );
  assert.deepEqual(
    replies.map((r) => r.word & 0xff),
    [0, 64, 128, 192],
  );
  assert.ok(replies.every((r) => r.crcOk && !r.isNonce && r.b7 === 0));
  assert.deepEqual(
    chain.chips.map((c) => c.range),
    [0, 64, 128, 192].map((start) => ({ start, count: 64 })),
  );
  rx.clear();
  await send(writeOne(128, 0x54, 0x00000003), readOne(128, 0x54));
  const one = splitReplies(rx.bytes(), 11).map(decodeReply);
  assert.equal(one.length, 1);
  assert.equal(one[0]!.b6, 128);
  assert.equal(one[0]!.b7, 0x54);
  assert.equal(one[0]!.word, 3);
  assert.deepEqual(
    chain.chips.map((c) => c.registers[0x54]),
    [0, 0, 3, 0],
  );
  await chain.close();
});

test('BM1397 job vector parses into its fields and the public midstate', async () => {
  const jf = vector<{ frame_hex: string }>('bm13xx', 'bm1397-job-frame-verifier');
  const ms = vector<{
    expected_midstate_be: string;
    prev_block_hash: string;
    merkle_root: string;
    version: string;
    nbits: string;
    ntime: string;
  }>('stratum-v1', 'esp-bm-job-midstate');
  const { chain, send } = await rig({ model: 'BM1397', chips: 1 });
  await send(hex(jf.frame_hex));
  const j = chain.chips[0]!.job!;
  assert.equal(chain.stats.jobs, 1);
  assert.equal(j.id, 4);
  assert.equal(j.midstates.length, 4);
  assert.equal(j.nbits, 0x1705dd01);
  assert.equal(j.ntime, 0x64658bd8);
  assert.equal(j.startWord, 0);
  assert.equal((j.w0 >>> 0).toString(16), 'c604a846');
  const be = Buffer.alloc(32);
  for (const [i, w] of j.midstates[0]!.entries()) be.writeInt32BE(w, i * 4);
  assert.equal(be.toString('hex'), ms.expected_midstate_be);
  // the emulator's own SHA-256 compression gives the same midstate from the header fields
  const h = header({
    prev: ms.prev_block_hash,
    merkle: ms.merkle_root,
    version: Number.parseInt(ms.version, 16),
    nbits: Number.parseInt(ms.nbits, 16),
    ntime: Number.parseInt(ms.ntime, 16),
  });
  const mine = midstate(Array.from({ length: 16 }, (_, i) => be32(h, i * 4)));
  assert.deepEqual(Array.from(mine), Array.from(j.midstates[0]!));
  await chain.close();
});

for (const model of MODELS) {
  for (const chips of [1, 4]) {
    test(`${model} x${chips} finds the known nonces of ESP's share-difficulty vectors`, async () => {
      for (const [id, ticket] of [
        ['esp-nonce-diff-1', 0x00000000],
        ['esp-nonce-diff-2', 0x000000ff], // difficulty 683 passes the 256 ticket
      ] as const) {
        const { f, nonce, v } = fieldsOf(id);
        const { chain, rx, send } = await rig({ model, chips });
        if (model !== 'BM1397') await send(writeAll(0xa4, 0x9000ffff));
        await address(send, chips);
        await send(writeAll(0x14, ticket));
        const jobId = model === 'BM1397' ? 0x28 : 0x30;
        const data = model === 'BM1397' ? midstateJobData(f, jobId, [f.version]) : headerJobData(f, jobId);
        chain.setSearchStart(bswap((bswap(nonce) - 40) >>> 0));
        rx.clear();
        await send(job(data));
        if (model !== 'BM1397')
          assert.equal(
            toHex(chain.chips[0]!.job!.header!.slice(0, 76)),
            v.expected_header.slice(0, 152).toUpperCase(),
          );
        chain.runHashes(chips * 200);
        await ticks();
        const len = model === 'BM1397' ? 9 : 11;
        const replies = splitReplies(rx.bytes(), len).map(decodeReply);
        const hit = replies.find((r) => r.nonce === nonce);
        assert.ok(hit, `${id}: nonce ${v.nonce} reported (got ${replies.map((r) => r.nonce.toString(16))})`);
        assert.ok(hit.crcOk && hit.isNonce);
        // job id / sub-id as the public host decoders read B7
        if (model === 'BM1397') assert.deepEqual([hit.b7 & 0xfc, hit.b7 & 3], [jobId, 0]);
        else if (model === 'BM1366') assert.equal(hit.b7 & 0xf8, jobId);
        else assert.equal((hit.b7 & 0xf0) >> 1, jobId);
        assert.equal(hit.versionBits, 0);
        // which chip: nonce bits 24..17 / interval
        const interval = Math.floor(256 / chips);
        const chipIdx = Math.floor(((hit.word >>> 17) & 0xff) / interval);
        assert.equal(chipIdx, chips === 1 ? 0 : 3);
        // every reported nonce really hashes below the floor (node:crypto)
        for (const r of replies) {
          const d = dsha(header(f, r.nonce));
          assert.ok(leadingZeroBits(d) >= 32 + (ticket ? 8 : 0), `nonce ${r.nonce.toString(16)}`);
        }
        assert.equal(
          Buffer.from(dsha(header(f, nonce)))
            .reverse()
            .toString('hex'),
          v.expected_block_hash,
        );
        await chain.close();
      }
    });
  }
}

test('BM1366+ roll version bits inside the 0xA4 mask only, and report them in B8..B9', async () => {
  const { f } = fieldsOf('esp-nonce-diff-2');
  for (const model of ['BM1366', 'BM1368', 'BM1370'] as const) {
    const { chain, rx, send } = await rig({ model, chips: 2, easyBits: 10, rollChunk: 64 });
    await address(send, 2);
    await send(writeAll(0xa4, 0x90000f0f)); // header mask 0x01E1E000
    await send(job(headerJobData(f, 0x48)));
    chain.runHashes(400_000);
    await ticks();
    const replies = splitReplies(rx.bytes(), 11).map(decodeReply);
    assert.ok(replies.length > 100, `${model}: ${replies.length} replies`);
    const seen = new Set<number>();
    for (const r of replies) {
      assert.ok(r.crcOk);
      assert.equal(r.versionBits & ~0x0f0f, 0, 'bits outside the mask');
      const version = (f.version | (r.versionBits << 13)) >>> 0;
      assert.equal(version & ~(f.version | 0x01e1e000), 0);
      assert.ok(leadingZeroBits(dsha(header({ ...f, version }, r.nonce))) >= 10);
      seen.add(r.versionBits);
    }
    assert.ok(seen.size > 20, `${model}: only ${seen.size} distinct version values`);
    await chain.close();
  }
});

test('BM1397 takes 4 midstates and reports the midstate index in B7', async () => {
  const { f } = fieldsOf('esp-nonce-diff-1');
  const versions = [0, 1, 2, 3].map((k) => (f.version + k * 0x2000) >>> 0);
  const { chain, rx, send } = await rig({ model: 'BM1397', chips: 1, easyBits: 10 });
  await send(job(midstateJobData(f, 0x0c, versions)));
  assert.equal(chain.chips[0]!.job!.midstates.length, 4);
  chain.runHashes(100_000);
  await ticks();
  const replies = splitReplies(rx.bytes(), 9).map(decodeReply);
  const idx = new Set<number>();
  for (const r of replies) {
    assert.equal(r.b7 & 0xfc, 0x0c);
    const k = r.b7 & 3;
    idx.add(k);
    assert.ok(leadingZeroBits(dsha(header({ ...f, version: versions[k]! }, r.nonce))) >= 10, `midstate ${k}`);
  }
  assert.deepEqual([...idx].sort(), [0, 1, 2, 3]);
  await chain.close();
});

test('easy mode reports exactly the nonces node:crypto finds with ≥ easyBits zero bits', async () => {
  const { f } = fieldsOf('esp-nonce-diff-2');
  const { chain, rx, send } = await rig({ model: 'BM1397', chips: 1, easyBits: 12 });
  await send(job(midstateJobData(f, 0x04, [f.version])));
  const N = 60_000;
  assert.equal(chain.runHashes(N), N);
  await ticks();
  const got = splitReplies(rx.bytes(), 9)
    .map(decodeReply)
    .map((r) => r.word);
  // one chip owns the whole space and scans nonce words 0, 1, 2, ... (core 0, F 0)
  const want: number[] = [];
  const h = header(f);
  for (let w = 0; w < N; w++) {
    h[76] = w >>> 24;
    h[77] = (w >>> 16) & 255;
    h[78] = (w >>> 8) & 255;
    h[79] = w & 255;
    if (leadingZeroBits(dsha(h)) >= 12) want.push(w);
  }
  assert.ok(want.length > 3);
  assert.deepEqual(got, want);
  await chain.close();
});

test('ticket mask: bytes bit-reversed on the wire; applied on top of the floor', async () => {
  const { f } = fieldsOf('esp-nonce-diff-2');
  for (const [ticket, extra] of [
    [0x000000ff, 8], // difficulty 256
    [0x000080ff, 9], // difficulty 512 (public vector)
  ] as const) {
    const { chain, rx, send } = await rig({ model: 'BM1397', chips: 1, easyBits: 8 });
    await send(writeAll(0x14, ticket), job(midstateJobData(f, 0x04, [f.version])));
    chain.runHashes(300_000);
    await ticks();
    const replies = splitReplies(rx.bytes(), 9).map(decodeReply);
    assert.ok(replies.length >= 2, `ticket ${ticket.toString(16)}: ${replies.length}`);
    for (const r of replies) assert.ok(leadingZeroBits(dsha(header(f, r.nonce))) >= 8 + extra);
    await chain.close();
  }
  // real floor: the diff-683 nonce passes a 512 ticket and is filtered by a 1024 ticket
  const { nonce } = fieldsOf('esp-nonce-diff-2');
  for (const [ticket, expect] of [
    [0x000080ff, true],
    [0x0000c0ff, false],
  ] as const) {
    const { chain, rx, send } = await rig({ model: 'BM1370', chips: 1, shortRepliesUntilRolling: false });
    await send(writeAll(0x14, ticket), job(headerJobData(f, 0x18)));
    chain.setSearchStart(nonce);
    chain.runHashes(10);
    await ticks();
    const found = splitReplies(rx.bytes(), 11).some((r) => decodeReply(r).nonce === nonce);
    assert.equal(found, expect, `ticket ${ticket.toString(16)}`);
    await chain.close();
  }
});

test('counters follow the hashes done; BM1397 0x04 is a rate in 2^20 H/s units', async () => {
  const { f } = fieldsOf('esp-nonce-diff-1');
  const { chain, rx, send } = await rig({
    model: 'BM1370',
    chips: 2,
    easyBits: 16,
    shortRepliesUntilRolling: false,
  });
  await address(send, 2);
  await send(job(headerJobData(f, 0x18)));
  const done = chain.runHashes(2 ** 20);
  rx.clear();
  await send(readAll(0x8c), readAll(0x88), readAll(0x4c));
  const r = splitReplies(rx.bytes(), 11)
    .map(decodeReply)
    .filter((x) => !x.isNonce);
  const total = r.filter((x) => x.b7 === 0x8c).reduce((a, x) => a + x.word, 0);
  assert.equal(
    total,
    Math.floor(chain.chips[0]!.hashes / 2 ** 16) + Math.floor(chain.chips[1]!.hashes / 2 ** 16),
  );
  assert.ok(Math.abs(total - done / 2 ** 16) <= 2);
  const dom = r.filter((x) => x.b7 === 0x88).reduce((a, x) => a + x.word, 0);
  assert.ok(Math.abs(dom * 4 - total) <= 8);
  assert.ok(r.filter((x) => x.b7 === 0x4c).every((x) => x.word === 0));
  await chain.close();

  const clock = new ManualClock();
  const b = await rig({ model: 'BM1397', chips: 1, easyBits: 16, clock });
  await b.send(job(midstateJobData(f, 4, [f.version])), readAll(0x04));
  b.chain.runHashes(200_000);
  clock.advance(1000);
  b.rx.clear();
  await b.send(readAll(0x04));
  const rate = splitReplies(b.rx.bytes(), 9)
    .map(decodeReply)
    .find((x) => !x.isNonce && x.b7 === 0x04);
  assert.equal(rate!.word, Math.round((200_000 * 2 ** 16) / 2 ** 20));
  await b.chain.close();
});

test('PLL register decodes to a frequency; baud registers set the chip rate', async () => {
  const a = await rig({ model: 'BM1397', chips: 1 });
  assert.equal(a.chain.chips[0]!.frequencyMhz, 400); // SKOT reset value
  await a.send(writeAll(0x08, 0x40480221)); // fb 72, refdiv 2, p1 2, p2 1 (ESP's 450 MHz test)
  assert.equal(a.chain.chips[0]!.frequencyMhz, 450);
  assert.equal(a.chain.chipBaudRate, 115_741);
  await a.send(writeAll(0x18, 0x00007a31));
  assert.equal(a.chain.chipBaudRate, 115_741);
  await a.send(writeAll(0x18, 0x00006031));
  assert.equal(a.chain.chipBaudRate, 3_125_000);
  await a.chain.close();
  const b = await rig({ model: 'BM1370', chips: 1 });
  await b.send(writeAll(0x08, 0x50d20141)); // fb 210, refdiv 1, p1 5, p2 2 (encoded −1)
  assert.equal(b.chain.chips[0]!.frequencyMhz, 525);
  await b.send(writeAll(0x28, 0x11300200));
  assert.ok(Math.abs(b.chain.chipBaudRate - 1_000_000) / 1_000_000 < 0.05);
  await b.chain.close();
});

test('slow-chip fault knob: a chip at speed 0.25 does a quarter of the hashes of a full-speed one', async () => {
  const { f } = fieldsOf('esp-nonce-diff-2');
  const { chain, send } = await rig({ model: 'BM1397', chips: 2, easyBits: 12 });
  await address(send, 2);
  chain.chips[1]!.faults.speed = 0.25;
  await send(job(midstateJobData(f, 0x04, [f.version])));
  chain.runHashes(80_000);
  const [fast, slow] = [chain.chips[0]!.hashes, chain.chips[1]!.hashes];
  assert.ok(fast > 0 && slow > 0, `both hash: ${fast}, ${slow}`);
  assert.ok(Math.abs(slow / fast - 0.25) < 0.02, `ratio ${slow / fast}`);
  await chain.close();
});
