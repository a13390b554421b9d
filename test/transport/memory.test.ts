/**
 * The in-memory byte link (drivers/transport/memory.ts) against the transport contract: order, write
 * snapshots, no reply inside the writer's stack, flush and close drop undelivered bytes, onClose once,
 * reopen.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TransportError } from '../../drivers/transport/contract.ts';
import { MemoryTransport } from '../../drivers/transport/memory.ts';

const tick = () => new Promise((r) => setImmediate(r));

describe('MemoryTransport', () => {
  it('delivers writes in order, as snapshots, never synchronously; replies arrive in order', async () => {
    const got: number[][] = [];
    const link = new MemoryTransport({ path: 'mem:test', deliver: (c) => got.push([...c]) });
    const rx: number[] = [];
    link.onData((c) => rx.push(...c));
    await assert.rejects(
      link.write(Uint8Array.of(1)),
      (e: unknown) => (e as TransportError).code === 'closed',
    );
    await link.open();
    const buf = Uint8Array.of(1, 2);
    const w1 = link.write(buf);
    buf[0] = 9; // the caller may reuse its buffer at once
    const w2 = link.write(Uint8Array.of(3));
    assert.deepEqual(got, [], 'not delivered inside write()');
    await Promise.all([w1, w2]);
    assert.deepEqual(got, [[1, 2], [3]]);
    link.receive(Uint8Array.of(4, 5));
    link.receive(Uint8Array.of(6));
    assert.deepEqual(rx, [], 'not delivered inside receive()');
    await tick();
    assert.deepEqual(rx, [4, 5, 6]);
  });

  it('flush and close drop bytes not yet delivered; onClose once; reopen works', async () => {
    const link = new MemoryTransport({ path: 'mem:test', deliver: () => {} });
    const rx: number[] = [];
    let closes = 0;
    link.onData((c) => rx.push(...c));
    link.onClose(() => closes++);
    await link.open();
    link.receive(Uint8Array.of(1));
    await link.flush();
    await tick();
    assert.deepEqual(rx, []);
    link.receive(Uint8Array.of(2));
    const w = link.write(Uint8Array.of(7));
    await link.close();
    await link.close();
    await assert.rejects(w, (e: unknown) => e instanceof TransportError && e.code === 'closed');
    await tick();
    assert.deepEqual(rx, []);
    assert.equal(closes, 1);
    assert.equal(link.isOpen, false);
    await link.open();
    link.receive(Uint8Array.of(3));
    await tick();
    assert.deepEqual(rx, [3]);
  });
});
