/**
 * The gateway in-process against the stand-in node over real HTTP/TCP on 127.0.0.1, with bare Stratum
 * clients (not asicd) as miners: jobs from templates, block-solving shares → accepted blocks paying
 * the payout address, P2P announcements → clean jobs, refreshes without clean_jobs, bad input from
 * miners and from the node.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import mqtt from 'mqtt';
import { encodeSegwitAddress } from '../../host/bitcoin/address.ts';
import { headerHash, merkleRootOf, txid } from '../../host/bitcoin/block.ts';
import { hashToDisplay, hex } from '../../host/bitcoin/bytes.ts';
import { Gateway, type GatewayOptions } from '../../host/gateway/gateway.ts';
import { serveGatewayMetrics } from '../../host/gateway/metrics.ts';
import { GatewayMqtt } from '../../host/gateway/mqtt.ts';
import { encodeFrame, MAGIC } from '../../host/p2p/codec.ts';
import { memoryLogger } from '../../lib/log.ts';
import { startMosquitto } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/net.ts';
import { StandinNode, type StandinOptions } from '../helpers/standin-node.ts';
import { grind, hex8, RawClient } from '../pool/helpers.ts';

const PROGRAM = Uint8Array.from(Buffer.from('751e76e8199196d454941c45d1b3a323f1433bd6', 'hex'));
const PAYOUT = encodeSegwitAddress('bcrt', 0, PROGRAM);
const PAYOUT_SCRIPT = `0014${hex(PROGRAM)}`;
const D = 1e-6;

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function setup(nodeOpts: StandinOptions = {}, gw: Partial<GatewayOptions> = {}) {
  const node = new StandinNode(nodeOpts);
  await node.start();
  cleanup.push(() => node.stop());
  const log = memoryLogger('debug');
  const gateway = new Gateway({
    rpc: nodeOpts.cookieFile
      ? { url: node.rpcUrl, cookieFile: nodeOpts.cookieFile }
      : { url: node.rpcUrl, user: 'user', password: 'pass' },
    payout: PAYOUT,
    listenPort: 0,
    pollMs: 0,
    longpoll: false,
    server: { difficulty: D, vardiff: false },
    logger: log,
    ...gw,
  });
  await gateway.start();
  cleanup.push(() => gateway.stop());
  return { node, gateway, log };
}

async function miner(port: number, name = 'w1', mask?: string) {
  const c = await RawClient.open(port);
  cleanup.push(() => c.close());
  if (mask) await c.call('mining.configure', [['version-rolling'], { 'version-rolling.mask': mask }]);
  const sub = await c.call('mining.subscribe', ['rawtest/1.0']);
  const [, extranonce1, extranonce2Size] = sub.result as [unknown, string, number];
  await c.call('mining.authorize', [name, 'x']);
  await waitFor(() => c.notifications('mining.notify').length > 0, 'first notify');
  return { c, session: { extranonce1, extranonce2Size } };
}

const errOf = (l: { error?: unknown }) => l.error as [number, string] | null;

describe('gateway: templates → jobs → blocks', () => {
  it('a block-solving share becomes a block the node accepts, paying the payout address; found-blocks list kept', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-'));
    const file = join(dir, 'found.json');
    const { node, gateway } = await setup({}, { foundBlocksFile: file, tag: '/test-tag/' });
    node.addTx(1);
    node.addTx(2);
    node.addTx(3);
    await gateway.refresh('test');
    const m = await miner(gateway.server.port);
    await waitFor(() => m.c.lastJob().merkleBranch.length === 2, 'job with the 3 template transactions');
    const job = m.c.lastJob();
    assert.equal(job.nbits, '207fffff');
    assert.ok(job.coinb1.includes(Buffer.from('/test-tag/').toString('hex')), 'tag in the coinbase');
    assert.ok(job.coinb2.includes(`16${PAYOUT_SCRIPT}`), 'payout output in coinb2');
    const startHeight = node.height;
    const en2 = '0000abcd';
    // Regtest difficulty: any share at the pool difficulty also meets the network target.
    const f = grind(job, m.session, en2, (d) => d >= D);
    const r = await m.c.call('mining.submit', ['w1', job.jobId, en2, job.ntime, hex8(f.nonce)]);
    assert.equal(r.result, true, JSON.stringify(r.error));
    await waitFor(() => node.height === startHeight + 1, 'node accepted the block');
    const b = node.tip;
    assert.equal(hashToDisplay(headerHash(b.header)), f.hash, 'the block is the share');
    assert.equal(b.txs.length, 4);
    assert.equal(
      hex(b.txs[0]!.outputs[0]!.scriptPubKey),
      PAYOUT_SCRIPT,
      'coinbase pays the configured address',
    );
    assert.equal(b.txs[0]!.outputs[0]!.value, BigInt(StandinNode.subsidy(startHeight + 1) + 3000));
    assert.equal(b.txs[0]!.inputs[0]!.witness.length, 1, 'witness reserved value');
    assert.equal(hex(merkleRootOf(b.txs.map(txid))), hex(b.header.merkleRoot));
    assert.deepEqual(
      node.submissions.filter((s) => s.via === 'rpc').map((s) => s.result),
      [null],
    );
    await waitFor(() => gateway.found.list()[0]?.result === 'accepted', 'found-blocks result');
    const saved = JSON.parse(readFileSync(file, 'utf8'));
    assert.equal(saved[0].hash, f.hash);
    assert.equal(saved[0].result, 'accepted');
    assert.equal(saved[0].height, startHeight + 1);
    // New tip → a clean job on the next height.
    await waitFor(
      () => m.c.lastJob().cleanJobs && m.c.lastJob().prevhash !== job.prevhash,
      'clean job after the block',
    );
    // A second share on the old job is now stale.
    const again = await m.c.call('mining.submit', ['w1', job.jobId, '00000001', job.ntime, hex8(0)]);
    assert.deepEqual(errOf(again)?.[0], 21);
  });

  it('P2P announcements (headers, cmpctblock, inv) turn into clean jobs on every miner without polling', async () => {
    const { node, gateway } = await setup({ bits: 0x1d00ffff }, { pollMs: 0, longpoll: false });
    await gateway.stop();
    cleanup.pop();
    const gw2 = new Gateway({
      rpc: { url: node.rpcUrl, user: 'user', password: 'pass' },
      payout: PAYOUT,
      listenPort: 0,
      pollMs: 0,
      longpoll: false,
      p2p: `127.0.0.1:${node.p2pPort}`,
      server: { difficulty: D, vardiff: false },
    });
    await gw2.start();
    cleanup.push(() => gw2.stop());
    await waitFor(() => gw2.peer?.ready === true && node.peerCount === 1, 'P2P handshake');
    const miners = await Promise.all([1, 2, 3].map((i) => miner(gw2.server.port, `w${i}`)));
    for (const mode of ['headers', 'cmpctblock', 'inv'] as const) {
      node.announceBy(mode);
      const before = miners.map((m) => m.c.notifications('mining.notify').length);
      const b = node.mineExternal();
      const prev = hashToDisplay(headerHash(b.header));
      await waitFor(
        () =>
          miners.every(
            (m, i) => m.c.notifications('mining.notify').length > before[i]! && m.c.lastJob().cleanJobs,
          ),
        `clean jobs after a ${mode} announcement`,
      );
      assert.equal(gw2.currentTemplate?.previousblockhash, prev);
    }
    assert.ok(!node.rpcCalls.includes('getbestblockhash'), 'no polling was involved');
  });

  it('refreshes the template without clean_jobs when only transactions change; long-polling catches a new tip', async () => {
    const { node, gateway } = await setup({ bits: 0x1d00ffff }, { longpoll: true, refreshMs: 200 });
    const m = await miner(gateway.server.port);
    const first = m.c.lastJob();
    node.addTx(5);
    await waitFor(() => m.c.lastJob().merkleBranch.length === 1, 'refresh with the new transaction', 10_000);
    assert.equal(m.c.lastJob().cleanJobs, false);
    assert.equal(m.c.lastJob().prevhash, first.prevhash);
    node.mineExternal();
    await waitFor(
      () => m.c.lastJob().cleanJobs && m.c.lastJob().prevhash !== first.prevhash,
      'clean job via long-poll',
    );
  });
});

describe('gateway telemetry', () => {
  it('serves Prometheus metrics, per-worker statistics and the found-blocks list over HTTP', async () => {
    const { gateway } = await setup({ bits: 0x1d00ffff });
    const http = await serveGatewayMetrics(gateway, '127.0.0.1', 0);
    cleanup.push(() => http.close());
    const m = await miner(gateway.server.port, 'rig.one');
    const job = m.c.lastJob();
    const f = grind(job, m.session, '00000000', (d) => d >= D);
    assert.equal(
      (await m.c.call('mining.submit', ['rig.one', job.jobId, '00000000', job.ntime, hex8(f.nonce)])).result,
      true,
    );
    const text = await (await fetch(`http://127.0.0.1:${http.port}/metrics`)).text();
    assert.match(text, /asicd_gateway_miners 1/);
    assert.match(text, /asicd_gateway_worker_shares_total\{worker="rig.one",result="accepted"\} 1/);
    assert.match(text, /asicd_gateway_worker_hashrate_hashes_per_second\{worker="rig.one"\} \d/);
    assert.match(text, /asicd_gateway_template_height 101/);
    const workers = (await (await fetch(`http://127.0.0.1:${http.port}/workers`)).json()) as Array<{
      worker: string;
      accepted: number;
      bestDifficulty: number;
    }>;
    assert.equal(workers[0]!.worker, 'rig.one');
    assert.equal(workers[0]!.accepted, 1);
    assert.ok(workers[0]!.bestDifficulty >= D);
    assert.deepEqual(await (await fetch(`http://127.0.0.1:${http.port}/found-blocks`)).json(), []);
    assert.equal((await fetch(`http://127.0.0.1:${http.port}/metrics`, { method: 'POST' })).status, 405);
  });
});

describe('gateway over MQTT (mosquitto)', () => {
  it('publishes retained availability and state with per-worker statistics, and one message per found block', async () => {
    const broker = await startMosquitto();
    cleanup.push(() => broker.stop());
    const { gateway } = await setup({});
    const pub = new GatewayMqtt(gateway, { url: broker.url, id: 'lan', intervalMs: 200 });
    cleanup.push(() => pub.close());
    const seen: Array<{ topic: string; text: string; retain: boolean }> = [];
    const sub = await mqtt.connectAsync(broker.url);
    cleanup.push(() => sub.endAsync());
    sub.on('message', (topic, payload, packet) =>
      seen.push({ topic, text: String(payload), retain: packet.retain }),
    );
    await sub.subscribeAsync('asicd/gateway/lan/#');
    await waitFor(() => seen.some((m) => m.topic.endsWith('/availability') && m.text === 'online'), 'online');
    const m = await miner(gateway.server.port, 'rig.mqtt');
    const job = m.c.lastJob();
    const f = grind(job, m.session, '00000000', (d) => d >= D);
    assert.equal(
      (await m.c.call('mining.submit', ['rig.mqtt', job.jobId, '00000000', job.ntime, hex8(f.nonce)])).result,
      true,
    );
    const block = await (async () => {
      await waitFor(() => seen.some((x) => x.topic === 'asicd/gateway/lan/block'), 'block message');
      return JSON.parse(seen.find((x) => x.topic === 'asicd/gateway/lan/block')!.text);
    })();
    assert.equal(block.hash, f.hash);
    assert.equal(block.result, 'accepted');
    await waitFor(
      () => seen.some((x) => x.topic === 'asicd/gateway/lan/state' && JSON.parse(x.text).blocksFound === 1),
      'state after the block',
    );
    const st = JSON.parse(seen.filter((x) => x.topic === 'asicd/gateway/lan/state').at(-1)!.text);
    assert.equal(st.workers[0].worker, 'rig.mqtt');
    assert.equal(st.workers[0].blocks, 1);
    assert.equal(st.network, 'regtest');
  });
});

describe('gateway: bad input', () => {
  it('miners: wrong extranonce2 size, unknown job, duplicate, low difficulty, garbage, flood, long line — each dropped alone', async () => {
    const { gateway, log } = await setup(
      { bits: 0x1d00ffff },
      {
        server: {
          difficulty: D,
          vardiff: false,
          maxRequestsPerSecond: 20,
          maxLineBytes: 4096,
          maxBadLines: 3,
        },
      },
    );
    const good = await miner(gateway.server.port, 'good');
    const job = good.c.lastJob();
    const f = grind(job, good.session, '00000000', (d) => d >= D);
    const ok = await good.c.call('mining.submit', ['good', job.jobId, '00000000', job.ntime, hex8(f.nonce)]);
    assert.equal(ok.result, true);
    const dup = await good.c.call('mining.submit', ['good', job.jobId, '00000000', job.ntime, hex8(f.nonce)]);
    assert.equal(errOf(dup)?.[0], 22);
    const size = await good.c.call('mining.submit', ['good', job.jobId, '000000', job.ntime, hex8(f.nonce)]);
    assert.match(errOf(size)?.[1] ?? '', /nonce2 length/);
    const unknown = await good.c.call('mining.submit', ['good', 'zz', '00000000', job.ntime, hex8(f.nonce)]);
    assert.equal(errOf(unknown)?.[0], 21);
    const low = grind(job, good.session, '00000001', (d) => d < D * 0.5);
    const lowR = await good.c.call('mining.submit', [
      'good',
      job.jobId,
      '00000001',
      job.ntime,
      hex8(low.nonce),
    ]);
    assert.equal(errOf(lowR)?.[0], 23);
    const time = await good.c.call('mining.submit', ['good', job.jobId, '00000002', 'ffffffff', hex8(0)]);
    assert.match(errOf(time)?.[1] ?? '', /Ntime/);
    const bits = await good.c.call('mining.submit', [
      'good',
      job.jobId,
      '00000002',
      job.ntime,
      hex8(0),
      'ffffffff',
    ]);
    assert.match(errOf(bits)?.[1] ?? '', /outside the mask/);

    const garbage = await RawClient.open(gateway.server.port);
    cleanup.push(() => garbage.close());
    for (let i = 0; i < 6; i++) garbage.socket.write('this is not json\n');
    await waitFor(() => garbage.closed, 'garbage sender dropped');
    const flood = await RawClient.open(gateway.server.port);
    cleanup.push(() => flood.close());
    flood.socket.write('{"id":1,"method":"mining.ping","params":[]}\n'.repeat(400));
    await waitFor(() => flood.closed, 'flooder dropped');
    const long = await RawClient.open(gateway.server.port);
    cleanup.push(() => long.close());
    long.socket.write('x'.repeat(10_000));
    await waitFor(() => long.closed, 'long line dropped');
    // The good miner is untouched.
    assert.equal(good.c.closed, false);
    const f2 = grind(job, good.session, '00000009', (d) => d >= D);
    assert.equal(
      (await good.c.call('mining.submit', ['good', job.jobId, '00000009', job.ntime, hex8(f2.nonce)])).result,
      true,
    );
    const w = gateway.server.workers().find((x) => x.worker === 'good')!;
    assert.equal(w.accepted, 2);
    assert.equal(w.duplicates, 1);
    assert.ok(w.rejected >= 5);
    assert.ok(w.bestDifficulty >= D);
    assert.deepEqual(w.devices, ['rawtest/1.0']);
    assert.ok(w.hashrate > 0);
    assert.equal(gateway.server.totals.dropped, 3);
    assert.ok(log.records.some((r) => r.event === 'miner_dropped'));
  });

  it('connection limit: the extra connection gets a clear error and is closed', async () => {
    const { gateway } = await setup(
      { bits: 0x1d00ffff },
      { server: { difficulty: D, vardiff: false, maxConnections: 2 } },
    );
    await miner(gateway.server.port, 'a');
    await miner(gateway.server.port, 'b');
    const c = await RawClient.open(gateway.server.port);
    cleanup.push(() => c.close());
    await waitFor(() => c.closed, 'refused');
    assert.match(JSON.stringify(c.lines), /Server full/);
  });

  it('node: RPC errors, garbage answers and a restart (new cookie) are logged and survived; P2P garbage drops only the peer', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-'));
    const cookieFile = join(dir, '.cookie');
    const { node, gateway, log } = await setup({ bits: 0x1d00ffff, cookieFile }, { p2p: undefined });
    const m = await miner(gateway.server.port);
    node.rpcFailures = { count: 1, code: -10, message: 'Bitcoin Core is in initial block download' };
    await gateway.refresh('test');
    assert.ok(
      log.records.some(
        (r) => r.event === 'node_error' && String(r.error).includes('initial block download (code -10)'),
      ),
    );
    node.garbageRpc = true;
    await gateway.refresh('test');
    assert.ok(log.records.some((r) => r.event === 'node_error' && String(r.error).includes('not JSON')));
    node.garbageRpc = false;
    await node.restart();
    node.mineExternal();
    await gateway.refresh('after-restart');
    await waitFor(
      () =>
        m.c.lastJob().cleanJobs &&
        m.c.lastJob().prevhash !== m.c.notifications('mining.notify')[0]!.params![1],
      `new job after the node restart (cookie re-read) ${JSON.stringify(log.records.filter((r) => r.level !== 'debug').slice(-6))}`,
    );
    assert.equal(m.c.closed, false, 'miners kept their connection through node trouble');
  });

  it('P2P: a malformed message or wrong magic drops the peer, which reconnects; no crash', async () => {
    const { node, gateway } = await setup({ bits: 0x1d00ffff });
    await gateway.stop();
    cleanup.pop();
    const gw = new Gateway({
      rpc: { url: node.rpcUrl, user: 'user', password: 'pass' },
      payout: PAYOUT,
      listenPort: 0,
      pollMs: 0,
      longpoll: false,
      p2p: `127.0.0.1:${node.p2pPort}`,
      server: { difficulty: D, vardiff: false },
    });
    await gw.start();
    cleanup.push(() => gw.stop());
    await waitFor(() => gw.peer?.ready === true, 'handshake');
    node.sendRawP2P(encodeFrame(MAGIC.regtest, 'headers', Uint8Array.of(1, 2, 3)));
    await waitFor(() => gw.peer!.counters.badMessages === 1, 'malformed headers seen');
    await waitFor(() => gw.peer!.counters.connects === 2 && gw.peer!.ready, 'reconnected', 15_000);
    node.sendRawP2P(encodeFrame(MAGIC.mainnet, 'ping', new Uint8Array(8)));
    await waitFor(() => gw.peer!.counters.badMessages === 2, 'wrong magic seen');
    await waitFor(() => gw.peer!.counters.connects === 3 && gw.peer!.ready, 'reconnected again', 15_000);
    const m = await miner(gw.server.port);
    node.announceBy('headers');
    node.mineExternal();
    await waitFor(
      () => m.c.lastJob().cleanJobs && m.c.notifications('mining.notify').length >= 2,
      'announcements still work',
    );
  });

  it('refuses a payout address of another network, naming both', async () => {
    const node = new StandinNode({ height: 1 });
    await node.start();
    cleanup.push(() => node.stop());
    const gw = new Gateway({
      rpc: { url: node.rpcUrl, user: 'user', password: 'pass' },
      payout: 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4',
      listenPort: 0,
    });
    await assert.rejects(gw.start(), /mainnet address, but the node is on regtest/);
    const bad = new Gateway({
      rpc: { url: node.rpcUrl, user: 'user', password: 'wrong' },
      payout: PAYOUT,
      listenPort: 0,
    });
    await assert.rejects(bad.start(), /refused the credentials/);
    const down = new Gateway({
      rpc: { url: 'http://127.0.0.1:1', user: 'u', password: 'p' },
      payout: PAYOUT,
      listenPort: 0,
    });
    await assert.rejects(down.start(), /unreachable/);
  });
});
