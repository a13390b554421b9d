/**
 * UartTransport over a real socat pseudo-terminal pair with the real `serialport` package: data both
 * ways in order, baud switch, flush, not-found / permission / busy errors naming the path and the fix,
 * and unplug (socat killed) → 'unplugged' error event + close, then Reconnector reopening the path.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { TransportError } from '../../drivers/transport/contract.ts';
import { Reconnector } from '../../drivers/transport/reconnect.ts';
import { UartTransport } from '../../drivers/transport/uart.ts';
import { ManualClock } from '../../lib/clock.ts';
import { memoryLogger } from '../../lib/log.ts';
import { waitFor } from '../helpers/net.ts';
import { ptyPair } from '../helpers/pty.ts';

const run = promisify(execFile);

/** socat pty pair with links at chosen paths (for "device appears later" tests). */
async function socatAt(a: string, b: string): Promise<{ proc: ChildProcess; kill: () => Promise<void> }> {
  const proc = spawn('socat', [`pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], { stdio: 'ignore' });
  await waitFor(() => existsSync(a) && existsSync(b), 'socat links');
  return {
    proc,
    kill: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
      }),
  };
}

function collect(t: UartTransport): Uint8Array[] {
  const got: Uint8Array[] = [];
  t.onData((c) => got.push(Uint8Array.from(c)));
  return got;
}
const total = (chunks: Uint8Array[]) => chunks.reduce((n, c) => n + c.length, 0);
const concat = (chunks: Uint8Array[]) => Buffer.concat(chunks);

describe('UartTransport over a real pty', () => {
  const dirs: string[] = [];
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('carries bytes both ways in order, across many writes, and switches baud', async () => {
    const pair = await ptyPair();
    const host = new UartTransport({ path: pair.b });
    const dev = new UartTransport({ path: pair.a });
    try {
      await host.open();
      await dev.open();
      assert.equal(host.isOpen, true);
      const atDev = collect(dev);
      const atHost = collect(host);
      const sent = Buffer.alloc(20_000);
      for (let i = 0; i < sent.length; i++) sent[i] = (i * 31 + (i >> 8)) & 0xff;
      const writes: Promise<void>[] = [];
      const reused = new Uint8Array(200);
      for (let o = 0; o < sent.length; o += 200) {
        reused.set(sent.subarray(o, o + 200));
        writes.push(host.write(reused)); // the transport snapshots; reusing the buffer is allowed
      }
      await Promise.all(writes);
      await waitFor(() => total(atDev) >= sent.length, 'bytes at the device side');
      assert.deepEqual(concat(atDev), sent);

      await host.setBaudRate(1_000_000);
      assert.equal(host.baudRate, 1_000_000);
      await dev.write(Uint8Array.of(0xaa, 0x55, 1, 2, 3));
      await waitFor(() => total(atHost) >= 5, 'reply at host');
      assert.deepEqual([...concat(atHost)], [0xaa, 0x55, 1, 2, 3]);
      await host.flush();
    } finally {
      await host.close();
      await dev.close();
      await pair.close();
    }
    assert.equal(host.isOpen, false);
    await assert.rejects(host.write(Uint8Array.of(1)), (e: TransportError) => e.code === 'closed');
    await host.close(); // idempotent
  });

  it('missing device: not-found naming the path and the fix', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'asicd-uart-'));
    dirs.push(dir);
    const path = join(dir, 'ttyUSB9');
    const t = new UartTransport({ path });
    await assert.rejects(t.open(), (e: TransportError) => {
      assert.equal(e.name, 'TransportError');
      assert.equal(e.code, 'not-found');
      assert.equal(e.path, path);
      assert.match(e.message, new RegExp(path.replace(/[/.]/g, '\\$&')));
      assert.match(e.message, /ls \/dev\/tty\*/);
      assert.match(e.message, /raspi-config/);
      return true;
    });
    assert.equal(t.isOpen, false);
  });

  it('device held by another opener: busy', async () => {
    const pair = await ptyPair();
    const one = new UartTransport({ path: pair.b });
    const two = new UartTransport({ path: pair.b });
    try {
      await one.open();
      await assert.rejects(
        two.open(),
        (e: TransportError) => e.code === 'busy' && /another program/.test(e.message),
      );
    } finally {
      await one.close();
      await pair.close();
    }
  });

  it('no permission: permission error with the dialout fix (real EACCES)', async () => {
    const pair = await ptyPair();
    try {
      const dev = realpathSync(pair.b);
      chmodSync(dev, 0o600);
      let out: { ok: boolean; code?: string; message?: string; isTransportError?: boolean };
      if (process.getuid?.() === 0) {
        // Root ignores file modes: open from a child running as nobody.
        const { stdout } = await run(
          process.execPath,
          ['--import', 'tsx', 'test/transport/open-uart-child.ts', dev],
          {
            uid: 65534,
            gid: 65534,
            cwd: new URL('../../', import.meta.url).pathname,
            env: { ...process.env, HOME: tmpdir() },
          },
        );
        out = JSON.parse(stdout.trim().split('\n').at(-1)!);
      } else {
        chmodSync(dev, 0o000);
        const t = new UartTransport({ path: dev });
        out = await t.open().then(
          () => ({ ok: true }),
          (e: TransportError) => ({ ok: false, code: e.code, message: e.message, isTransportError: true }),
        );
      }
      assert.equal(out.ok, false);
      assert.equal(out.isTransportError, true);
      assert.equal(out.code, 'permission');
      assert.match(out.message!, new RegExp(dev));
      assert.match(out.message!, /dialout/);
    } finally {
      await pair.close();
    }
  });

  it('unplug mid-run (socat killed): unplugged error event, close event, later writes rejected', async () => {
    const pair = await ptyPair();
    const t = new UartTransport({ path: pair.b, logger: memoryLogger() });
    await t.open();
    // Mid-run: traffic has flowed (serialport's reader is running) before the device goes away.
    const dev = new UartTransport({ path: pair.a });
    await dev.open();
    const got = collect(t);
    await dev.write(Uint8Array.of(7));
    await waitFor(() => total(got) === 1, 'byte before unplug');
    const errors: TransportError[] = [];
    let closed = 0;
    t.onError((e) => errors.push(e));
    t.onClose(() => closed++);
    await pair.close();
    await waitFor(() => closed === 1, 'close after unplug');
    await dev.close();
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.code, 'unplugged');
    assert.match(errors[0]!.message, /check the cable/);
    assert.equal(t.isOpen, false);
    await assert.rejects(t.write(Uint8Array.of(1)), (e: TransportError) => e.code === 'closed');
  });

  it('Reconnector: waits for a missing device, opens it when it appears, reopens after unplug', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'asicd-uart-'));
    dirs.push(dir);
    const dev = join(dir, 'dev');
    const host = join(dir, 'ttyUSB0');
    const clock = new ManualClock();
    const log = memoryLogger();
    const t = new UartTransport({ path: host });
    let ups = 0;
    const downs: Array<string | undefined> = [];
    const failures: string[] = [];
    const rc = new Reconnector(t, {
      clock,
      logger: log,
      initialMs: 100,
      maxMs: 1000,
      onUp: () => {
        ups++;
      },
      onDown: (e) => downs.push(e?.code),
      onAttemptFailed: (e) => failures.push(e.code),
    });
    rc.start();
    let s: Awaited<ReturnType<typeof socatAt>> | undefined;
    try {
      await waitFor(() => failures.length >= 1, 'first failed attempt');
      await clock.advanceAsync(100);
      await waitFor(() => failures.length >= 2, 'second failed attempt');
      assert.deepEqual(failures.slice(0, 2), ['not-found', 'not-found']);
      const warned = log.records.filter((r) => r.event === 'transport.open.failed');
      assert.equal(warned.length, 1, 'same failure is logged once at warn');
      s = await socatAt(dev, host);
      for (let i = 0; i < 50 && ups === 0; i++) {
        await clock.advanceAsync(1000);
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.equal(ups, 1);
      assert.equal(rc.up, true);
      // Let traffic flow before pulling the plug (mid-run, like a real unplug).
      const got = collect(t);
      const devSide = new UartTransport({ path: dev });
      await devSide.open();
      await devSide.write(Uint8Array.of(1));
      await waitFor(() => total(got) === 1, 'byte before unplug');
      await devSide.close();
      await s.kill();
      await waitFor(() => downs.length === 1, 'down after unplug');
      assert.equal(downs[0], 'unplugged');
      s = await socatAt(dev, host);
      for (let i = 0; i < 50 && ups === 1; i++) {
        await clock.advanceAsync(1000);
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.equal(ups, 2);
    } finally {
      await rc.stop();
      await s?.kill();
    }
    assert.equal(t.isOpen, false);
    assert.equal(clock.pending(), 0);
  });
});
