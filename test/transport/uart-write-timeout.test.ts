/**
 * A serial device that stops taking bytes (a hung USB bridge, a pty nobody reads) must not hang its
 * writer forever: UartTransport bounds every write, drops the link as lost (`timeout`) and lets its owner
 * reopen it. Real serialport on a socat pty pair whose far end nobody reads; real timers.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import type { TransportError } from '../../drivers/transport/contract.ts';
import { UartTransport } from '../../drivers/transport/uart.ts';
import { openPtyPair, type PtyPair } from '../../firmware/pty-pair.ts';

const dir = mkdtempSync(join(tmpdir(), 'asicd-uart-wt-'));
let pair: PtyPair | undefined;
let uart: UartTransport | undefined;
after(async () => {
  await uart?.close();
  await pair?.stop();
  rmSync(dir, { recursive: true, force: true });
});

it('a write the device never drains rejects with timeout, the link closes (error + close events), a reopen works', {
  timeout: 30_000,
}, async () => {
  pair = await openPtyPair(join(dir, 'stuck'));
  // 3 Mbaud: the budget is 300 ms plus twice the bytes' time on the wire (256 KiB: ~1.75 s).
  uart = new UartTransport({ path: pair.link, baudRate: 3_000_000, writeTimeoutMs: 300, lock: false });
  await uart.open();
  const errors: TransportError[] = [];
  let closes = 0;
  uart.onError((e) => errors.push(e));
  uart.onClose(() => closes++);
  // Nobody reads the far end: the pty and socat buffers fill and tcdrain never returns.
  const big = new Uint8Array(256 * 1024).fill(0x55);
  await assert.rejects(
    uart.write(big),
    (e: TransportError) => e.code === 'timeout' && /not drained/.test(e.message),
  );
  assert.equal(uart.isOpen, false, 'the link is dropped');
  assert.equal(errors[0]?.code, 'timeout');
  assert.equal(closes, 1);
  await assert.rejects(uart.write(new Uint8Array([1])), (e: TransportError) => e.code === 'closed');
  // Its owner reopens it (as the chain does on its next init): a small write drains again once the
  // buffers are not full — here the pair is replaced, as a replugged adapter would be.
  await pair.stop();
  pair = await openPtyPair(join(dir, 'stuck'));
  await uart.open();
  assert.equal(uart.isOpen, true);
});
