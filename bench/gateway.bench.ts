/**
 * Gateway figures (issue 16), with the miners in a worker thread (their own heap and event loop, so
 * the gateway's memory and latency are its own):
 * - P2P block announcement → clean mining.notify received by each of 100 miners: p50 / p99, against
 *   the same gateway learning of the block by RPC polling at 1 s (baseline, same run);
 * - shares validated per second with 100 connected miners (each submit fully re-hashed), against the
 *   embedded demo pool server's validation of the same load (baseline);
 * - memory per connected miner (gateway heap growth over 1000 subscribed, notified miners).
 * The node is the test stand-in (in this process: its work is one `headers`/`cmpctblock` write).
 */

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Worker } from 'node:worker_threads';
import { encodeSegwitAddress } from '../host/bitcoin/address.ts';
import { headerHash } from '../host/bitcoin/block.ts';
import { hashToDisplay } from '../host/bitcoin/bytes.ts';
import { Gateway } from '../host/gateway/gateway.ts';
import { StratumServer } from '../host/pool/server.ts';
import { StandinNode } from '../test/helpers/standin-node.ts';
import { ZmqPublisher } from '../test/helpers/zmq-pub.ts';
import { type BenchRow, type BenchSuite, percentile } from './harness.ts';

const PAYOUT = encodeSegwitAddress('bcrt', 0, new Uint8Array(20).fill(3));
const now = () => performance.timeOrigin + performance.now();

// The miner fleet: plain JS evaluated in a worker thread.
const FLEET = String.raw`
const { parentPort } = require('node:worker_threads');
const net = require('node:net');
const now = () => performance.timeOrigin + performance.now();
let miners = [];
let waitingPrev = null;
parentPort.on('message', async (m) => {
  if (m.cmd === 'connect') {
    const made = [];
    for (let i = 0; i < m.n; i++) made.push(open(m.port, i));
    miners.push(...(await Promise.all(made)));
    parentPort.postMessage({ cmd: 'connected', n: miners.length });
  } else if (m.cmd === 'mark') {
    waitingPrev = m.prev;
    for (const x of miners) x.cleanAt = 0;
    parentPort.postMessage({ cmd: 'marked' });
  } else if (m.cmd === 'submit') {
    let pending = miners.length * m.k, accepted = 0, rejected = 0;
    const t0 = now();
    await new Promise((resolve) => {
      for (const x of miners) {
        x.onAnswer = (ok) => { ok ? accepted++ : rejected++; if (--pending === 0) resolve(); };
        const j = x.job;
        let lines = '';
        for (let k = 0; k < m.k; k++) {
          const en2 = (x.en2++ >>> 0).toString(16).padStart(8, '0');
          lines += JSON.stringify({ id: 1000 + k, method: 'mining.submit', params: [x.user, j[0], en2, j[7], '00000000'] }) + '\n';
        }
        x.socket.write(lines);
      }
    });
    parentPort.postMessage({ cmd: 'submitted', accepted, rejected, ms: now() - t0 });
  } else if (m.cmd === 'close') {
    for (const x of miners) x.socket.destroy();
    miners = [];
    parentPort.postMessage({ cmd: 'closed' });
  }
});
function open(port, i) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const x = { socket, job: null, cleanAt: 0, en2: 0, user: 'bench.' + i, onAnswer: null, ready: false };
    let buf = '';
    socket.setNoDelay(true);
    socket.on('error', reject);
    socket.on('connect', () => {
      socket.write(JSON.stringify({ id: 1, method: 'mining.subscribe', params: ['fleet/1'] }) + '\n' + JSON.stringify({ id: 2, method: 'mining.authorize', params: [x.user, 'x'] }) + '\n');
    });
    socket.on('data', (d) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const msg = JSON.parse(line);
        if (msg.method === 'mining.notify') {
          x.job = msg.params;
          if (msg.params[8] === true && waitingPrev !== null && msg.params[1] !== waitingPrev && x.cleanAt === 0) {
            x.cleanAt = now();
            if (miners.length > 0 && miners.every((y) => y.cleanAt > 0)) {
              parentPort.postMessage({ cmd: 'arrivals', times: miners.map((y) => y.cleanAt) });
              waitingPrev = null;
            }
          }
          if (!x.ready) { x.ready = true; resolve(x); }
        } else if (msg.id >= 1000 && x.onAnswer) x.onAnswer(msg.result === true);
      }
    });
  });
}
`;

class Fleet {
  private readonly w = new Worker(FLEET, { eval: true });
  private waiters: Array<(m: Record<string, unknown>) => boolean> = [];
  constructor() {
    this.w.on('message', (m: Record<string, unknown>) => {
      this.waiters = this.waiters.filter((f) => !f(m));
    });
  }
  ask<T extends Record<string, unknown>>(msg: Record<string, unknown>, reply: string): Promise<T> {
    return new Promise((resolve) => {
      this.waiters.push((m) => {
        if (m.cmd !== reply) return false;
        resolve(m as T);
        return true;
      });
      this.w.postMessage(msg);
    });
  }
  wait<T extends Record<string, unknown>>(reply: string, timeoutMs: number): Promise<T | undefined> {
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(undefined), timeoutMs);
      this.waiters.push((m) => {
        if (m.cmd !== reply) return false;
        clearTimeout(t);
        resolve(m as T);
        return true;
      });
    });
  }
  terminate(): Promise<number> {
    return this.w.terminate();
  }
}

async function announceLatency(
  node: StandinNode,
  gw: Gateway,
  fleet: Fleet,
  rounds: number,
  spacingMs: () => number,
  announce?: (hash: string) => void,
): Promise<{ each: number[]; last: number[] }> {
  const each: number[] = [];
  const last: number[] = [];
  for (let r = 0; r < rounds; r++) {
    await new Promise((res) => setTimeout(res, spacingMs()));
    const prev = gw.server.currentJob?.prevhash;
    await fleet.ask({ cmd: 'mark', prev }, 'marked');
    const got = fleet.wait<{ times: number[] }>('arrivals', 5000);
    const t0 = now();
    const b = node.mineExternal();
    announce?.(hashToDisplay(headerHash(b.header)));
    const a = await got;
    if (!a) throw new Error('miners did not all get a clean job within 5 s');
    const lat = a.times.map((t) => t - t0);
    each.push(...lat);
    last.push(Math.max(...lat));
  }
  return { each: each.sort((x, y) => x - y), last: last.sort((x, y) => x - y) };
}

async function gatewayWith(node: StandinNode, p2p: boolean, pollMs: number, zmq?: string): Promise<Gateway> {
  const gw = new Gateway({
    rpc: { url: node.rpcUrl, user: 'user', password: 'pass' },
    payout: PAYOUT,
    listenPort: 0,
    pollMs,
    longpoll: false,
    ...(p2p ? { p2p: `127.0.0.1:${node.p2pPort}` } : {}),
    ...(zmq ? { zmq } : {}),
    server: { difficulty: 1e-12, vardiff: false, maxConnections: 5000, maxRequestsPerSecond: 1e6 },
  });
  await gw.start();
  if (p2p) while (!gw.peer?.ready) await new Promise((r) => setTimeout(r, 20));
  return gw;
}

function gcFn(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

const suite: BenchSuite = {
  name: 'gateway',
  async run(ctx) {
    const rows: BenchRow[] = [];
    const miners = 100;
    const node = new StandinNode({ bits: 0x1d00ffff });
    await node.start();
    node.announceBy('headers');
    try {
      // --- P2P announcement → clean notify to 100 miners -------------------------------------
      let fleet = new Fleet();
      let gw = await gatewayWith(node, true, 0);
      await fleet.ask({ cmd: 'connect', port: gw.server.port, n: miners }, 'connected');
      node.announceBy('cmpctblock');
      const rounds = Math.max(5, Math.round(40 * ctx.scale));
      const p2p = await announceLatency(node, gw, fleet, rounds, () => 50);
      ctx.log(`  p2p: ${p2p.each.length} samples`);
      await fleet.terminate();
      await gw.stop();

      // Baseline: the same gateway learning of blocks by polling getbestblockhash every 1 s.
      fleet = new Fleet();
      gw = await gatewayWith(node, false, 1000);
      await fleet.ask({ cmd: 'connect', port: gw.server.port, n: miners }, 'connected');
      const base = await announceLatency(
        node,
        gw,
        fleet,
        Math.max(4, Math.round(15 * ctx.scale)),
        () => 200 + Math.random() * 1000,
      );
      ctx.log(`  polling: ${base.each.length} samples`);
      for (const [p, label] of [
        [50, 'p50'],
        [99, 'p99'],
      ] as const) {
        const v = percentile(p2p.each, p);
        const b = percentile(base.each, p);
        rows.push({
          suite: 'gateway',
          name: `P2P announce → clean notify, ${miners} miners, ${label}`,
          value: v,
          unit: 'ms',
          baseline: { name: 'RPC polling at 1 s', value: b },
          ratio: b / v,
          better: 'lower',
          ...(p === 99 ? { target: { op: '<=' as const, value: 50 } } : {}),
        });
      }
      await fleet.terminate();
      await gw.stop();

      // ZMQ hashblock (a real libzmq publisher: python3-zmq) → clean notify, same 100 miners.
      let pub: ZmqPublisher | undefined;
      try {
        pub = new ZmqPublisher();
        await pub.start();
      } catch (e) {
        pub = undefined;
        ctx.log(`  zmq: skipped (${(e as Error).message})`);
      }
      if (pub) {
        const zfleet = new Fleet();
        const zgw = await gatewayWith(node, false, 0, pub.endpoint);
        while (!zgw.zmq?.ready) await new Promise((r) => setTimeout(r, 20));
        // The subscription reaches the publisher asynchronously: publish the current tip until seen.
        while ((zgw.zmq?.counters.messages ?? 0) === 0) {
          await pub.publish('hashblock', node.tipHash, 0);
          await new Promise((r) => setTimeout(r, 50));
        }
        await zfleet.ask({ cmd: 'connect', port: zgw.server.port, n: miners }, 'connected');
        let seq = 1;
        const zmq = await announceLatency(
          node,
          zgw,
          zfleet,
          Math.max(5, Math.round(20 * ctx.scale)),
          () => 50,
          (hash) => void pub!.publish('hashblock', hash, seq++),
        );
        ctx.log(`  zmq: ${zmq.each.length} samples (libzmq ${pub.libzmq})`);
        for (const [p, label] of [
          [50, 'p50'],
          [99, 'p99'],
        ] as const) {
          const v = percentile(zmq.each, p);
          const b = percentile(base.each, p);
          rows.push({
            suite: 'gateway',
            name: `ZMQ hashblock → clean notify, ${miners} miners, ${label}`,
            value: v,
            unit: 'ms',
            baseline: { name: 'RPC polling at 1 s', value: b },
            ratio: b / v,
            better: 'lower',
          });
        }
        await zfleet.terminate();
        await zgw.stop();
        await pub.stop();
      }
      rows.push({
        suite: 'gateway',
        name: `P2P announce → last of ${miners} miners notified, p99`,
        value: percentile(p2p.last, 99),
        unit: 'ms',
        better: 'lower',
      });

      // --- shares validated per second, 100 miners ----------------------------------------------
      fleet = new Fleet();
      gw = await gatewayWith(node, false, 0);
      await fleet.ask({ cmd: 'connect', port: gw.server.port, n: miners }, 'connected');
      const k = Math.max(10, Math.round(100 * ctx.scale));
      await fleet.ask({ cmd: 'submit', k: 5 }, 'submitted'); // warm-up
      const s = await fleet.ask<{ accepted: number; rejected: number; ms: number }>(
        { cmd: 'submit', k },
        'submitted',
      );
      await fleet.terminate();
      await gw.stop();
      const pool = new StratumServer({
        difficulty: 1e-12,
        blockIntervalMs: 0,
        extranonce2Size: 4,
        branches: 12,
      });
      await pool.listen(0);
      fleet = new Fleet();
      await fleet.ask({ cmd: 'connect', port: pool.port, n: miners }, 'connected');
      await fleet.ask({ cmd: 'submit', k: 5 }, 'submitted');
      const sb = await fleet.ask<{ accepted: number; rejected: number; ms: number }>(
        { cmd: 'submit', k },
        'submitted',
      );
      await fleet.terminate();
      await pool.close();
      const v = s.accepted / (s.ms / 1000);
      const bv = sb.accepted / (sb.ms / 1000);
      rows.push({
        suite: 'gateway',
        name: `shares validated/s, ${miners} miners (${s.accepted} accepted, ${s.rejected} rejected)`,
        value: v,
        unit: 'shares/s',
        baseline: { name: 'embedded demo pool, same load', value: bv },
        ratio: v / bv,
        better: 'higher',
      });

      // --- memory per miner -----------------------------------------------------------------------
      const gc = gcFn();
      gw = await gatewayWith(node, false, 0);
      fleet = new Fleet();
      const n = Math.max(200, Math.round(1000 * ctx.scale));
      gc();
      const before = process.memoryUsage().heapUsed;
      await fleet.ask({ cmd: 'connect', port: gw.server.port, n }, 'connected');
      await new Promise((r) => setTimeout(r, 200));
      gc();
      const afterHeap = process.memoryUsage().heapUsed;
      rows.push({
        suite: 'gateway',
        name: `memory per connected miner (gateway heap, ${n} miners)`,
        value: (afterHeap - before) / n / 1024,
        unit: 'KiB',
        better: 'lower',
      });
      await fleet.terminate();
      await gw.stop();
    } finally {
      await node.stop();
    }
    return rows;
  },
};
export default suite;
