/**
 * The emulated chain as a link: ByteTransport shape (checked against the contract type), open/close
 * semantics, fault knobs, extra/missing chips, reset, unplug, strict baud, background hashing with a
 * rate cap on a ManualClock, replay mode, and no timers left behind.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ByteTransport } from '../../drivers/transport/contract.ts';
import { createEmulatedChain, type EmulatedChainOptions } from '../../firmware/bm13xx/chain.ts';
import { createSimBoardChain, findNonces } from '../../firmware/bm13xx/index.ts';
import { ManualClock } from '../../lib/clock.ts';
import {
  chainInactive,
  collect,
  decodeReply,
  dsha,
  type HeaderFields,
  header,
  headerJobData,
  job,
  leadingZeroBits,
  midstateJobData,
  readAll,
  setAddress,
  splitReplies,
  ticks,
  writeAll,
} from '../helpers/emu-bm13xx.ts';
import { waitFor } from '../helpers/net.ts';
import { vector } from '../helpers/vectors.ts';

const v = vector<Record<string, string>>('stratum-v1', 'esp-nonce-diff-2');
const F: HeaderFields = {
  prev: v.prev_block_hash!,
  merkle: v.expected_merkle_root!,
  version: Number.parseInt(v.version!, 16),
  nbits: Number.parseInt(v.nbits!, 16),
  ntime: Number.parseInt(v.ntime!, 16),
};

async function rig(opts: Partial<EmulatedChainOptions> = {}) {
  const chain = createEmulatedChain({
    model: 'BM1366',
    chips: 4,
    autoHash: false,
    seed: 7,
    shortRepliesUntilRolling: false,
    ...opts,
  });
  await chain.open();
  const rx = collect(chain);
  const send = async (...frames: Uint8Array[]) => {
    for (const f of frames) await chain.write(f);
    await ticks();
  };
  return { chain, rx, send };
}

test('the chain is a ByteTransport: open, write, data, baud, flush, close, errors', async () => {
  const chain = createEmulatedChain({ model: 'BM1370', chips: 2, autoHash: false });
  const t: ByteTransport = chain; // structural assignability is the point of this line
  assert.equal(t.isOpen, false);
  await assert.rejects(t.write(readAll(0)), (e: Error & { code?: string; path?: string }) => {
    assert.equal(e.code, 'closed');
    assert.equal(e.path, t.path);
    return true;
  });
  await t.open();
  await t.open(); // idempotent
  let closes = 0;
  t.onClose(() => closes++);
  const chunks: Uint8Array[] = [];
  const off = t.onData((c) => chunks.push(c));
  await t.write(readAll(0));
  await ticks();
  assert.equal(Buffer.concat(chunks).length, 18); // 2 chips × 9 bytes before 0xA4
  await t.setBaudRate(1_000_000);
  assert.equal(t.baudRate, 1_000_000);
  // flush drops replies not yet delivered
  await t.write(readAll(0));
  await t.flush();
  await ticks();
  assert.equal(Buffer.concat(chunks).length, 18);
  off();
  await t.close();
  await t.close();
  assert.equal(closes, 1);
  assert.equal(t.isOpen, false);
});

test('fault knobs: corrupt, drop, silent, wrong chip id, silent chip, extra and missing chips', async () => {
  const { chain, rx, send } = await rig();
  const count = async () => {
    rx.clear();
    await send(readAll(0));
    return splitReplies(rx.bytes(), 11).map(decodeReply);
  };
  assert.equal((await count()).length, 4);

  chain.setFaults({ corruptProbability: 1 });
  const bad = await count();
  assert.equal(bad.length, 4);
  assert.ok(bad.every((r) => !r.crcOk));
  assert.equal(chain.stats.corruptedReplies, 4);
  chain.setFaults({ corruptProbability: 0, dropProbability: 1 });
  assert.equal((await count()).length, 0);
  chain.setFaults({ dropProbability: 0.5 });
  let got = 0;
  for (let i = 0; i < 20; i++) got += (await count()).length;
  assert.ok(got > 10 && got < 70, `half of 80 replies dropped, got ${got}`);
  chain.setFaults({ dropProbability: 0, silent: true });
  assert.equal((await count()).length, 0);
  chain.setFaults({ silent: false });

  chain.chips[2]!.faults.wrongChipId = 0x1234;
  const wrong = await count();
  assert.deepEqual(
    wrong.map((r) => r.word >>> 16),
    [0x1366, 0x1366, 0x1234, 0x1366],
  );
  assert.ok(wrong.every((r) => r.crcOk));
  chain.chips[2]!.faults.wrongChipId = undefined;
  chain.chips[1]!.faults.silent = true;
  assert.equal((await count()).length, 3);
  chain.chips[1]!.faults.silent = false;

  chain.addChip();
  assert.equal((await count()).length, 5);
  chain.removeChip(0);
  chain.removeChip();
  assert.equal((await count()).length, 3);
  await chain.close();
});

test('nonce-error fault sends wrong nonces and counts them in reg 0x4C', async () => {
  const { chain, rx, send } = await rig({ model: 'BM1397', chips: 1, easyBits: 10 });
  chain.setFaults({ nonceErrorProbability: 1 });
  await send(writeAll(0x14, 0x000000ff), job(midstateJobData(F, 8, [F.version])));
  chain.runHashes(400_000);
  await ticks();
  const nonces = splitReplies(rx.bytes(), 9).map(decodeReply);
  assert.ok(nonces.length > 0);
  for (const r of nonces)
    assert.ok(leadingZeroBits(dsha(header(F, r.nonce))) < 18, 'reported nonce is wrong');
  rx.clear();
  await send(readAll(0x4c));
  const [err] = splitReplies(rx.bytes(), 9).map(decodeReply);
  assert.equal(err!.word, nonces.length * 256);
  await chain.close();
});

test('reset returns every chip to power-on state', async () => {
  const { chain, rx, send } = await rig();
  await send(
    chainInactive(),
    setAddress(0),
    setAddress(64),
    setAddress(128),
    setAddress(192),
    job(headerJobData(F, 8)),
  );
  assert.deepEqual(
    chain.chips.map((c) => c.address),
    [0, 64, 128, 192],
  );
  chain.reset();
  assert.deepEqual(
    chain.chips.map((c) => c.address),
    [0, 0, 0, 0],
  );
  assert.ok(chain.chips.every((c) => c.job === undefined && !c.busy));
  rx.clear();
  await send(readAll(0));
  assert.deepEqual(
    splitReplies(rx.bytes(), 11).map((r) => decodeReply(r).b6),
    [0, 0, 0, 0],
  );
  await chain.close();
});

test('unplug reports an unplugged error, then closes', async () => {
  const { chain } = await rig();
  const errors: string[] = [];
  let closed = false;
  chain.onError((e) => errors.push(e.code));
  chain.onClose(() => {
    closed = true;
  });
  chain.unplug();
  await ticks();
  assert.deepEqual(errors, ['unplugged']);
  assert.ok(closed && !chain.isOpen);
});

test('strict baud: chips that moved to a faster rate are deaf until the host follows', async () => {
  const { chain, rx, send } = await rig({ model: 'BM1397', chips: 1, strictBaud: true });
  await send(readAll(0));
  assert.equal(rx.bytes().length, 9);
  await send(writeAll(0x18, 0x00006031)); // chips now at 3.125 Mbaud
  rx.clear();
  await send(readAll(0));
  assert.equal(rx.bytes().length, 0);
  assert.ok(chain.stats.baudMismatchBytes > 0);
  await chain.setBaudRate(3_125_000);
  await send(readAll(0));
  assert.equal(rx.bytes().length, 9);
  await chain.close();
});

test('background hashing finds easy nonces on its own and stops cleanly', async () => {
  const chain = createSimBoardChain({ model: 'BM1368', chips: 2, easyBits: 8, seed: 3 });
  await chain.open();
  const rx = collect(chain);
  for (const f of [
    writeAll(0xa4, 0x9000ffff),
    chainInactive(),
    setAddress(0),
    setAddress(128),
    job(headerJobData(F, 24)),
  ]) {
    await chain.write(f);
  }
  await waitFor(() => rx.bytes().length >= 11 * 3, 'three nonce replies');
  await chain.close();
  const replies = splitReplies(rx.bytes().subarray(0, Math.floor(rx.bytes().length / 11) * 11), 11).map(
    decodeReply,
  );
  for (const r of replies) {
    assert.ok(r.crcOk && r.isNonce);
    assert.equal((r.b7 & 0xf0) >> 1, 24);
    const version = (F.version | (r.versionBits << 13)) >>> 0;
    assert.ok(leadingZeroBits(dsha(header({ ...F, version }, r.nonce))) >= 8);
  }
  const before = chain.stats.hashes;
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(chain.stats.hashes, before, 'no hashing after close');
});

test('hash-rate cap holds on the injected clock, and no timer is left after close', async () => {
  const clock = new ManualClock();
  const chain = createEmulatedChain({
    model: 'BM1397',
    chips: 1,
    easyBits: 16,
    clock,
    maxHashesPerSecond: 20_000,
  });
  await chain.open();
  await chain.write(job(midstateJobData(F, 4, [F.version])));
  for (let i = 0; i < 20; i++) await clock.advanceAsync(50);
  const h = chain.stats.hashes;
  assert.ok(h > 10_000 && h <= 20_000 + 2_001 + 8192, `~20k hashes in 1 s of clock time, got ${h}`);
  await chain.close();
  assert.equal(clock.pending(), 0);
});

test('replay mode emits pre-computed valid nonces at the set rate', async () => {
  const clock = new ManualClock();
  const nonces = findNonces({ header: header(F), zeroBits: 8, count: 16 });
  assert.equal(nonces.length, 16);
  for (const n of nonces) assert.ok(leadingZeroBits(dsha(header(F, n))) >= 8);
  const chain = createEmulatedChain({
    model: 'BM1370',
    chips: 4,
    clock,
    shortRepliesUntilRolling: false,
    replay: { nonces: nonces.map((nonce) => ({ nonce })), perSecond: 5000 },
  });
  await chain.open();
  const rx = collect(chain);
  await clock.advanceAsync(50); // no job yet: nothing to replay
  assert.equal(rx.bytes().length, 0);
  await chain.write(job(headerJobData(F, 0x30)));
  await clock.advanceAsync(200, 10);
  await ticks();
  const replies = splitReplies(rx.bytes(), 11).map(decodeReply);
  assert.ok(
    replies.length >= 900 && replies.length <= 1100,
    `≈1000 frames in 200 ms at 5000/s, got ${replies.length}`,
  );
  for (const r of replies) {
    assert.ok(r.crcOk && r.isNonce);
    assert.equal((r.b7 & 0xf0) >> 1, 0x30);
    assert.ok(nonces.includes(r.nonce));
  }
  assert.equal(chain.stats.hashes > 0, true);
  chain.setReplay(undefined);
  await chain.close();
  assert.equal(clock.pending(), 0);
});
