/** retryingOpen backoff on a ManualClock, with a stand-in transport whose open() fails on demand. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type ByteTransport,
  TransportError,
  type TransportErrorCode,
} from '../../drivers/transport/contract.ts';
import { backoffDelay, retryingOpen } from '../../drivers/transport/reconnect.ts';
import { ManualClock } from '../../lib/clock.ts';
import { memoryLogger } from '../../lib/log.ts';

/** Unit-test stand-in: open() fails with the queued codes, then succeeds. */
function flaky(codes: TransportErrorCode[]): ByteTransport & { attempts: number } {
  let open = false;
  const t = {
    path: '/dev/ttyFAKE',
    attempts: 0,
    get isOpen() {
      return open;
    },
    baudRate: 115200,
    async open() {
      t.attempts++;
      const c = codes.shift();
      if (c) throw new TransportError(c, '/dev/ttyFAKE', c, 'fix it');
      open = true;
    },
    write: async () => {},
    onData: () => () => {},
    onError: () => () => {},
    onClose: () => () => {},
    setBaudRate: async () => {},
    flush: async () => {},
    close: async () => {
      open = false;
    },
  };
  return t;
}

describe('retryingOpen', () => {
  it('backoff doubles from initialMs and caps at maxMs', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6].map((a) => backoffDelay(a, { initialMs: 100, maxMs: 1000 })),
      [100, 200, 400, 800, 1000, 1000],
    );
    assert.equal(backoffDelay(1, { initialMs: 100, jitter: 0.5, random: () => 1 }), 50);
  });

  it('retries on the clock until the device opens; logs a failure kind once', async () => {
    const clock = new ManualClock();
    const log = memoryLogger();
    const t = flaky(['not-found', 'not-found', 'permission', 'busy']);
    const delays: number[] = [];
    const done = retryingOpen(t, {
      clock,
      logger: log,
      initialMs: 100,
      onAttemptFailed: (_e, _a, d) => delays.push(d),
    });
    await clock.advanceAsync(99);
    assert.equal(t.attempts, 1, 'no retry before the delay');
    await clock.advanceAsync(10_000);
    await done;
    assert.equal(t.isOpen, true);
    assert.equal(t.attempts, 5);
    assert.deepEqual(delays, [100, 200, 400, 800]);
    assert.deepEqual(
      log.records.filter((r) => r.event === 'transport.open.failed').map((r) => r.code),
      ['not-found', 'permission', 'busy'],
    );
    assert.equal(clock.pending(), 0);
  });

  it('stops on abort, after maxAttempts, and at once on unsupported', async () => {
    const clock = new ManualClock();
    const ctrl = new AbortController();
    const p = retryingOpen(flaky(Array(100).fill('not-found')), { clock, signal: ctrl.signal });
    await clock.advanceAsync(1);
    ctrl.abort();
    await assert.rejects(p, (e: TransportError) => e.code === 'closed');
    assert.equal(clock.pending(), 0);

    const t = flaky(Array(100).fill('busy'));
    const q = assert.rejects(
      retryingOpen(t, { clock, maxAttempts: 3, initialMs: 1 }),
      (e: TransportError) => e.code === 'busy',
    );
    await clock.advanceAsync(100);
    await q;
    assert.equal(t.attempts, 3);

    await assert.rejects(
      retryingOpen(flaky(['unsupported']), { clock }),
      (e: TransportError) => e.code === 'unsupported',
    );
  });
});
