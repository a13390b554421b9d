/**
 * ZMQ block notifications: the ZMTP 3.0 codec against byte layouts written out from the spec (RFC 23),
 * and the SUB actor against a real libzmq publisher (python3-zmq) — subscription filtering, Core's
 * hashblock layout, sequence gaps, a publisher restart, a peer that is not ZeroMQ — and the gateway
 * turning a ZMQ hashblock into clean jobs when it has no P2P peer and does not poll.
 */
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { encodeSegwitAddress } from '../../host/bitcoin/address.ts';
import { headerHash } from '../../host/bitcoin/block.ts';
import { hashToDisplay } from '../../host/bitcoin/bytes.ts';
import { Gateway } from '../../host/gateway/gateway.ts';
import {
  encodeFrame,
  encodeGreeting,
  encodeReady,
  encodeSubscribe,
  MAX_FRAME,
  parseGreeting,
  parseHashblock,
  parseProperties,
  ZmqBlockSubscriber,
  ZmtpDecoder,
  ZmtpError,
} from '../../host/gateway/zmq.ts';
import { memoryLogger } from '../../lib/log.ts';
import { waitFor } from '../helpers/net.ts';
import { StandinNode } from '../helpers/standin-node.ts';
import { ZmqPublisher } from '../helpers/zmq-pub.ts';
import { RawClient } from '../pool/helpers.ts';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});
const h = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('ZMTP 3.0 codec (byte layouts from RFC 23)', () => {
  it('greeting: signature, version 3.0, NULL mechanism, as-server 0, filler', () => {
    const expected = h(`ff 0000000000000000 7f 03 00 4e554c4c ${'00'.repeat(16)} 00 ${'00'.repeat(31)}`);
    assert.equal(expected.length, 64);
    assert.deepEqual(Buffer.from(encodeGreeting()), expected);
    assert.deepEqual(parseGreeting(expected), { major: 3, minor: 0, mechanism: 'NULL', asServer: false });
    const v31 = Buffer.from(expected);
    v31[11] = 1;
    assert.equal(parseGreeting(v31).minor, 1);
  });

  it('refuses what is not a ZMTP 3 NULL peer, with a reason', () => {
    const g = Buffer.from(encodeGreeting());
    const bad = (mut: (b: Buffer) => void, re: RegExp) => {
      const b = Buffer.from(g);
      mut(b);
      assert.throws(
        () => parseGreeting(b),
        (e: Error) => e instanceof ZmtpError && re.test(e.message),
      );
    };
    bad((b) => b.write('HTTP/1.1 4', 0, 'latin1'), /not a ZeroMQ peer/);
    bad((b) => (b[10] = 2), /ZMTP 2\.0 peer/);
    bad((b) => b.write('CURVE', 12, 'latin1'), /mechanism CURVE is not supported/);
    assert.throws(() => new ZmtpDecoder().push(h('485454502f312e31203430')), /not a ZeroMQ peer/);
  });

  it('frames: short and long sizes, MORE and COMMAND flags', () => {
    assert.deepEqual(Buffer.from(encodeFrame(h('aabb'))), h('00 02 aabb'));
    assert.deepEqual(Buffer.from(encodeFrame(h('aa'), { more: true })), h('01 01 aa'));
    const big = Buffer.alloc(300, 7);
    assert.deepEqual(Buffer.from(encodeFrame(big)).subarray(0, 9), h('02 000000000000012c'));
    // READY with Socket-Type SUB: 04 size | 05 "READY" | 0b "Socket-Type" | 00000003 "SUB"
    assert.deepEqual(
      Buffer.from(encodeReady({ 'Socket-Type': 'SUB' })),
      Buffer.concat([
        h('04 19 05'),
        Buffer.from('READY'),
        h('0b'),
        Buffer.from('Socket-Type'),
        h('00000003'),
        Buffer.from('SUB'),
      ]),
    );
    assert.deepEqual(
      Buffer.from(encodeSubscribe('hashblock')),
      Buffer.concat([h('00 0a 01'), Buffer.from('hashblock')]),
    );
    assert.deepEqual(parseProperties(h('0b 536f636b65742d54797065 00000003 505542')), {
      'socket-type': 'PUB',
    });
  });

  it('the decoder gives the same messages however the bytes are split', () => {
    const msg = Buffer.concat([
      encodeGreeting(),
      encodeReady({ 'Socket-Type': 'PUB', Identity: '' }),
      encodeFrame(Buffer.from('hashblock'), { more: true }),
      encodeFrame(Buffer.alloc(32, 0xab), { more: true }),
      encodeFrame(h('05000000')),
      encodeFrame(Buffer.alloc(400, 1)),
    ]);
    const whole = new ZmtpDecoder().push(msg);
    const bytewise = new ZmtpDecoder();
    const parts = [];
    for (const b of msg) parts.push(...bytewise.push(Uint8Array.of(b)));
    assert.deepEqual(parts, whole);
    assert.deepEqual(
      whole.map((e) => e.type),
      ['greeting', 'command', 'message', 'message'],
    );
    const m = whole[2]!;
    assert.ok(m.type === 'message');
    assert.deepEqual(parseHashblock(m.frames), { hash: 'ab'.repeat(32), sequence: 5 });
  });

  it('bad frames: reserved flags, oversized, command with MORE, truncated READY', () => {
    const d = () => {
      const x = new ZmtpDecoder();
      x.push(encodeGreeting());
      return x;
    };
    assert.throws(() => d().push(h('10 00')), /reserved frame flag bits/);
    assert.throws(
      () => d().push(h(`02 ${(BigInt(MAX_FRAME) + 1n).toString(16).padStart(16, '0')}`)),
      /limit/,
    );
    assert.throws(() => d().push(h('05 01 00')), /command frame with the MORE flag/);
    assert.throws(() => parseProperties(h('0b 536f636b65742d54797065 00000009 505542')), /truncated/);
    assert.throws(() => parseHashblock([Buffer.from('hashblock'), Buffer.alloc(31)]), /31 bytes/);
    assert.throws(() => parseHashblock([Buffer.from('hashtx'), Buffer.alloc(32)]), /not a hashblock/);
  });
});

describe('ZMQ subscriber against a real libzmq publisher', () => {
  it('receives hashblock (display order, sequence), filters other topics, notes gaps, reconnects', async () => {
    const pub = new ZmqPublisher();
    await pub.start();
    cleanup.push(() => pub.stop());
    const log = memoryLogger('debug');
    const sub = new ZmqBlockSubscriber({ endpoint: pub.endpoint, logger: log, maxBackoffMs: 1000 });
    cleanup.push(() => sub.stop());
    const got: Array<{ hash: string; sequence: number | undefined }> = [];
    sub.on('hashblock', (m) => got.push(m));
    sub.start();
    await waitFor(() => sub.ready, `ZMTP handshake with libzmq ${pub.libzmq}`, 20_000);
    // A PUB drops messages until the subscription reached it: publish until the first one arrives.
    const first = `${'00'.repeat(31)}01`;
    await waitFor(
      () => {
        if (got.length === 0) void pub.publish('hashblock', first, 0);
        return got.length > 0;
      },
      'first hashblock through libzmq',
      20_000,
      100,
    );
    const n0 = got.length;
    await pub.publish('hashtx', 'ff'.repeat(32), 0);
    await pub.publish('hashblock', `${'11'.repeat(31)}02`, n0);
    await waitFor(() => got.length > n0, 'second hashblock');
    assert.deepEqual(got.at(-1), { hash: `${'11'.repeat(31)}02`, sequence: n0 });
    assert.ok(
      got.every((m) => m.hash !== 'ff'.repeat(32)),
      'hashtx is not delivered (subscription filter)',
    );
    assert.equal(sub.counters.gaps, 0);
    await pub.publish('hashblock', '22'.repeat(32), n0 + 5);
    await waitFor(() => sub.counters.gaps === 1, 'a sequence gap noticed');
    assert.ok(log.records.some((r) => r.event === 'zmq_gap'));

    // The node restarts: the subscriber reconnects to the new publisher on the same port by itself.
    const port = pub.port;
    await pub.stop();
    await waitFor(() => !sub.ready, 'publisher gone');
    const again = new ZmqPublisher();
    await again.start(port);
    cleanup.push(() => again.stop());
    await waitFor(() => sub.ready, 'reconnected', 30_000);
    const before = got.length;
    await waitFor(
      () => {
        if (got.length === before) void again.publish('hashblock', '33'.repeat(32), 0);
        return got.length > before;
      },
      'hashblock after the restart',
      20_000,
      100,
    );
    assert.equal(got.at(-1)!.hash, '33'.repeat(32));
  });

  it('a peer that is not ZeroMQ is logged and retried, never thrown', async () => {
    const socks: Socket[] = [];
    const srv = createServer((s) => {
      socks.push(s);
      s.on('error', () => {});
      s.end('HTTP/1.1 400 Bad Request\r\n\r\n');
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    cleanup.push(() => {
      for (const s of socks) s.destroy();
      srv.close();
    });
    const log = memoryLogger('debug');
    const sub = new ZmqBlockSubscriber({
      endpoint: `tcp://127.0.0.1:${(srv.address() as { port: number }).port}`,
      logger: log,
    });
    cleanup.push(() => sub.stop());
    sub.start();
    await waitFor(() => sub.counters.errors > 0, 'error noticed');
    assert.ok(
      log.records.some((r) => r.event === 'zmq_down' && JSON.stringify(r).includes('not a ZeroMQ peer')),
      JSON.stringify(log.records),
    );
    assert.equal(sub.ready, false);
    assert.throws(() => new ZmqBlockSubscriber({ endpoint: 'udp://h:1' }), /not tcp:\/\/HOST:PORT/);
  });
});

describe('gateway: ZMQ hashblock → clean jobs', () => {
  it('with no P2P peer and no polling, a ZMQ notification brings the new block to the miners', async () => {
    const pub = new ZmqPublisher();
    await pub.start();
    cleanup.push(() => pub.stop());
    const node = new StandinNode({ p2p: false, user: 'u', password: 'p' });
    await node.start();
    cleanup.push(() => node.stop());
    const log = memoryLogger('debug');
    const gw = new Gateway({
      rpc: { url: node.rpcUrl, user: 'u', password: 'p' },
      payout: encodeSegwitAddress('bcrt', 0, new Uint8Array(20).fill(3)),
      listenPort: 0,
      pollMs: 0,
      longpoll: false,
      refreshMs: 600_000,
      zmq: pub.endpoint,
      server: { difficulty: 1e-6, vardiff: false },
      logger: log,
    });
    await gw.start();
    cleanup.push(() => gw.stop());
    const c = await RawClient.open(gw.server.port);
    cleanup.push(() => c.close());
    await c.call('mining.subscribe', ['zmqtest']);
    await c.call('mining.authorize', ['w', 'x']);
    await waitFor(() => c.notifications('mining.notify').length > 0, 'first job');
    await waitFor(() => gw.zmq?.ready === true, 'gateway ZMQ ready', 20_000);
    const b = node.mineExternal();
    const tip = hashToDisplay(headerHash(b.header));
    const jobs = c.notifications('mining.notify').length;
    // Nothing else tells the gateway: the job only changes through ZMQ.
    await waitFor(
      () => {
        if (!log.records.some((r) => r.event === 'block_announced')) void pub.publish('hashblock', tip, 1);
        return c.notifications('mining.notify').length > jobs && c.lastJob().cleanJobs;
      },
      'clean job after the ZMQ hashblock',
      20_000,
      100,
    );
    assert.ok(
      log.records.some(
        (r) =>
          r.event === 'block_announced' &&
          JSON.stringify(r).includes('"source":"zmq"') &&
          JSON.stringify(r).includes(tip),
      ),
    );
    assert.equal(gw.currentTemplate?.previousblockhash, tip);
  });
});
