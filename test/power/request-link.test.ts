/**
 * The request plumbing the two bridge drivers share (drivers/bridge/request-link.ts), over the in-memory
 * byte link on a ManualClock: ids wrap in the protocol's range, one request outstanding in call order,
 * timeout → resync (parser reset, port flushed) before the next request, stray replies dropped, a close of
 * the port rejects the request in flight as unplugged, close() as closed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RequestLink } from '../../drivers/bridge/request-link.ts';
import type { TransportError } from '../../drivers/transport/contract.ts';
import { MemoryTransport } from '../../drivers/transport/memory.ts';
import { ManualClock } from '../../lib/clock.ts';
import { silentLogger } from '../../lib/log.ts';

function rig(ids = { first: 1, last: 3 }) {
  const clock = new ManualClock();
  const sent: number[] = [];
  let resets = 0;
  const t = new MemoryTransport({ path: 'mem:ctl', deliver: (c) => sent.push(...c) });
  const link = new RequestLink<string>({
    transport: t,
    clock,
    logger: silentLogger,
    timeoutMs: 1000,
    ids,
    fix: 'check the cable',
    resetParser: () => resets++,
  });
  return { clock, t, link, sent, resets: () => resets };
}
const flush = () => new Promise((r) => setImmediate(r));
const code = (c: string) => (e: unknown) => (e as TransportError).code === c;

describe('RequestLink', () => {
  it('one request at a time in call order; ids wrap from last to first', async () => {
    const r = rig();
    const got: string[] = [];
    const ps = [0, 1, 2, 3].map((n) =>
      r.link.request(`r${n}`, (id) => Uint8Array.of(id)).then((v) => got.push(v)),
    );
    await flush();
    assert.deepEqual(r.sent, [1], 'only the first is on the wire');
    for (const id of [1, 2, 3, 1]) {
      assert.equal(r.link.current?.id, id);
      r.link.settle({ value: `ok${id}` });
      await flush();
    }
    await Promise.all(ps);
    assert.deepEqual(r.sent, [1, 2, 3, 1]);
    assert.deepEqual(got, ['ok1', 'ok2', 'ok3', 'ok1']);
    assert.equal(r.link.stats.requests, 4);
  });

  it('a timeout rejects with code timeout and makes the next request resync first', async () => {
    const r = rig();
    const p = r.link.request('slow', (id) => Uint8Array.of(id));
    await flush();
    await r.clock.advanceAsync(1000);
    await assert.rejects(p, code('timeout'));
    assert.equal(r.link.stats.timeouts, 1);
    assert.equal(r.resets(), 0);
    const q = r.link.request('next', (id) => Uint8Array.of(id));
    await flush();
    assert.equal(r.resets(), 1, 'parser reset before the next request');
    r.link.stray({ id: 9 });
    assert.equal(r.link.stats.stray, 1);
    assert.equal(r.link.current?.id, 2, 'a stray reply does not settle the pending one');
    r.link.settle({ error: new Error('nack') });
    await assert.rejects(q, /nack/);
    assert.equal(r.link.stats.errors, 1);
    assert.equal(r.clock.pending(), 0, 'no timer left');
  });

  it('the port closing rejects the request in flight as unplugged; close() rejects later ones as closed', async () => {
    const r = rig();
    await r.link.open();
    const p = r.link.request('x', (id) => Uint8Array.of(id));
    await flush();
    await r.t.close();
    await assert.rejects(p, code('unplugged'));
    // Reopened on demand.
    const q = r.link.request('y', (id) => Uint8Array.of(id));
    await flush();
    assert.equal(r.t.isOpen, true);
    r.link.settle({ value: 'back' });
    assert.equal(await q, 'back');
    await r.link.close();
    await assert.rejects(
      r.link.request('z', (id) => Uint8Array.of(id)),
      code('closed'),
    );
  });
});
