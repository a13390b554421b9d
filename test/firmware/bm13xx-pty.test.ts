/**
 * The emulator served on a real pseudo-terminal (socat) and driven by a real `serialport` client,
 * both through serveOnPty() and through the `asicd sim` command as a child process.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SerialPort } from 'serialport';
import { serveOnPty } from '../../firmware/bm13xx/pty.ts';
import {
  chainInactive,
  decodeReply,
  dsha,
  type HeaderFields,
  header,
  headerJobData,
  job,
  leadingZeroBits,
  readAll,
  setAddress,
  splitReplies,
  writeAll,
} from '../helpers/emu-bm13xx.ts';
import { waitFor } from '../helpers/net.ts';
import { vector } from '../helpers/vectors.ts';

async function client(path: string) {
  const port = new SerialPort({ path, baudRate: 115200, autoOpen: false });
  await new Promise<void>((res, rej) => port.open((e) => (e ? rej(e) : res())));
  let buf = Buffer.alloc(0);
  port.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
  });
  const write = (b: Uint8Array) =>
    new Promise<void>((res, rej) =>
      port.write(Buffer.from(b), (e) => (e ? rej(e) : port.drain(() => res()))),
    );
  return {
    port,
    write,
    bytes: () => buf,
    clear: () => {
      buf = Buffer.alloc(0);
    },
    close: () => new Promise<void>((res) => (port.isOpen ? port.close(() => res()) : res())),
  };
}

test('serveOnPty: a serialport client enumerates 4 chips and receives verified nonces', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'asicd-emu-test-'));
  const link = join(dir, 'chain0');
  const server = await serveOnPty({ link, model: 'BM1370', chips: 4, easyBits: 8 });
  const c = await client(link);
  try {
    assert.ok(existsSync(link));
    await c.write(readAll(0x00));
    await waitFor(() => c.bytes().length >= 36, '4 short chip-id replies');
    const short = splitReplies(c.bytes(), 9).map(decodeReply);
    assert.deepEqual(
      short.map((r) => [r.crcOk, r.word]),
      Array(4).fill([true, 0x13700000]),
    );
    c.clear();
    await c.write(writeAll(0xa4, 0x9000ffff));
    await c.write(chainInactive());
    for (let i = 0; i < 4; i++) await c.write(setAddress(i * 64));
    await c.write(readAll(0x00));
    await waitFor(() => c.bytes().length >= 44, '4 chip-id replies');
    const replies = splitReplies(c.bytes().subarray(0, 44), 11).map(decodeReply);
    assert.deepEqual(
      replies.map((r) => r.b6),
      [0, 64, 128, 192],
    );
    assert.ok(replies.every((r) => r.crcOk && r.word >>> 16 === 0x1370));

    const v = vector<Record<string, string>>('stratum-v1', 'esp-nonce-diff-1');
    const f: HeaderFields = {
      prev: v.prev_block_hash!,
      merkle: v.merkle_root!,
      version: Number.parseInt(v.version!, 16),
      nbits: Number.parseInt(v.nbits!, 16),
      ntime: Number.parseInt(v.ntime!, 16),
    };
    c.clear();
    await c.write(job(headerJobData(f, 0x18)));
    await waitFor(() => c.bytes().length >= 33, 'three nonce replies');
    const nonces = splitReplies(c.bytes().subarray(0, 33), 11).map(decodeReply);
    for (const r of nonces) {
      assert.ok(r.crcOk && r.isNonce);
      const version = (f.version | (r.versionBits << 13)) >>> 0;
      assert.ok(leadingZeroBits(dsha(header({ ...f, version }, r.nonce))) >= 8);
    }
    assert.ok(server.chain.stats.framesIn >= 8);
  } finally {
    await c.close();
    await server.stop();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  assert.ok(!existsSync(link), 'link removed');
});

test('asicd sim serves a chain until SIGTERM', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'asicd-emu-test-'));
  const link = join(dir, 'chain1');
  const proc = spawn(
    process.execPath,
    [
      'bin/asicd.js',
      'sim',
      '--chip',
      'BM1397',
      '--chips',
      '2',
      '--link',
      link,
      '--easy-bits',
      '16',
      '--stats-every',
      '0',
    ],
    { cwd: new URL('../../', import.meta.url), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  proc.stdout.on('data', (d) => {
    out += String(d);
  });
  proc.stderr.on('data', (d) => {
    out += String(d);
  });
  const exited = new Promise<number | null>((res) => proc.once('exit', (code) => res(code)));
  try {
    await waitFor(() => out.includes('ready on'), `ready line (output so far: ${out})`, 15_000);
    assert.match(out, /2 × BM1397 ready on .*chain1/);
    const c = await client(link);
    await c.write(readAll(0x00));
    await waitFor(() => c.bytes().length >= 18, 'two chip-id replies');
    assert.deepEqual(
      splitReplies(c.bytes(), 9).map((r) => Buffer.from(r).toString('hex')),
      ['aa5513971800000006', 'aa5513971800000006'],
    );
    await c.close();
  } finally {
    proc.kill('SIGTERM');
    assert.equal(await exited, 0);
    rmSync(dir, { recursive: true, force: true });
  }
  assert.match(out, /stopped/);
  assert.ok(!existsSync(link));
});
