/**
 * End to end, as a user runs it: the stand-in node (RPC + P2P), `asicd gateway` as a process, two
 * `asicd run` daemons on simulated boards and a bare Stratum client that is not asicd.
 * - every accepted share is re-verified here with node:crypto alone (coinbase, merkle fold, header,
 *   double SHA-256, target) from the jobs the bare client saw — no asicd code in the check;
 * - a block-solving share (the node's easy test difficulty) becomes a block the node accepts, whose
 *   coinbase pays the configured address;
 * - a P2P block announcement (cmpctblock, then headers) becomes a clean job on every connected miner.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { encodeSegwitAddress } from '../../host/bitcoin/address.ts';
import { headerHash } from '../../host/bitcoin/block.ts';
import { hashToDisplay, hex } from '../../host/bitcoin/bytes.ts';
import { targetToNbits } from '../../host/work/target.ts';
import { freePort, waitFor } from '../helpers/net.ts';
import { type AsicdProcess, asicd } from '../helpers/proc.ts';
import { StandinNode } from '../helpers/standin-node.ts';
import { type Line, RawClient } from '../pool/helpers.ts';

const PROGRAM = Buffer.from('89abcdefabbaabbaabbaabbaabbaabbaabbaabba', 'hex');
const PAYOUT = encodeSegwitAddress('bcrt', 0, PROGRAM);
const SHARE_DIFF = 0.0001;
/** Network difficulty 0.0005: about one share in 5 solves a block. */
const NET_TARGET = (0xffffn << 208n) * 2000n;

const procs: AsicdProcess[] = [];
const dir = mkdtempSync(join(tmpdir(), 'gw-e2e-'));
let node: StandinNode | undefined;
let raw: RawClient | undefined;
after(async () => {
  raw?.close();
  await Promise.all(procs.map((p) => p.stop()));
  await node?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const dsha = (b: Buffer) => createHash('sha256').update(createHash('sha256').update(b).digest()).digest();

/** Independent share check: returns the block hash (display hex) of a submitted share. */
function verifyShare(
  job: unknown[],
  s: { extranonce1: string; extranonce2: string; ntime: string; nonce: string; version: string },
): string {
  const [, prevhash, coinb1, coinb2, branches] = job as [string, string, string, string, string[]];
  let root = dsha(Buffer.from(coinb1 + s.extranonce1 + s.extranonce2 + coinb2, 'hex'));
  for (const b of branches) root = dsha(Buffer.concat([root, Buffer.from(b, 'hex')]));
  const prev = Buffer.from(prevhash, 'hex');
  for (let i = 0; i < 32; i += 4) prev.subarray(i, i + 4).reverse(); // Stratum word order → header order
  const le32 = (h: string) => Buffer.from(h, 'hex').reverse();
  const header = Buffer.concat([
    le32(s.version),
    prev,
    root,
    le32(s.ntime),
    le32(job[6] as string),
    le32(s.nonce),
  ]);
  return Buffer.from(dsha(header)).reverse().toString('hex');
}

test('asicd gateway + 2 × asicd run + a bare Stratum client against the stand-in node', {
  timeout: 240_000,
}, async () => {
  const bits = targetToNbits(NET_TARGET);
  node = new StandinNode({ bits, user: 'rpcuser', password: 'rpcpass' });
  await node.start();
  node.addTx(11);
  node.addTx(12);
  const port = await freePort();
  const metricsPort = await freePort();
  const found = join(dir, 'found.json');
  const gw = asicd(
    [
      'gateway',
      ...['--node-rpc', node.rpcUrl, '--rpc-user', 'rpcuser', '--payout', PAYOUT],
      ...['--listen', `127.0.0.1:${port}`, '--p2p', `127.0.0.1:${node.p2pPort}`],
      ...['--difficulty', String(SHARE_DIFF), '--share-seconds', '0', '--found-blocks', found],
      ...['--metrics-listen', `127.0.0.1:${metricsPort}`],
      ...[
        '--poll-ms',
        '0',
        '--no-longpoll',
        '--log-format',
        'json',
        '--log-level',
        'debug',
        '--stats-seconds',
        '0',
      ],
    ],
    { ASICD_GATEWAY_RPC_PASSWORD: 'rpcpass' },
  );
  procs.push(gw);
  const out = () => gw.output().slice(-3000);
  const t0 = Date.now();
  await waitFor(
    () => gw.output().includes('asicd gateway: serving regtest work'),
    `gateway up (${out()})`,
    60_000,
  );
  console.log(`gateway up after ${Date.now() - t0} ms`);
  assert.ok(!gw.output().includes('rpcpass'), 'the RPC password is never printed');
  await waitFor(() => node!.peerCount === 1, 'gateway P2P handshake with the node', 30_000);

  raw = await RawClient.open(port);
  await raw.call('mining.configure', [['version-rolling'], { 'version-rolling.mask': 'ffffffff' }]);
  const sub = await raw.call('mining.subscribe', ['bare-client/0.1']);
  assert.equal((sub.result as unknown[])[2], 4);
  await raw.call('mining.authorize', ['bare.worker', 'x']);
  await waitFor(() => raw!.notifications('mining.notify').length > 0, 'bare client notified');

  for (const name of ['rig-a', 'rig-b'])
    procs.push(
      asicd([
        'run',
        ...[
          '--board',
          'sim-gamma',
          '--pool',
          `stratum+tcp://127.0.0.1:${port}`,
          '--user',
          `${PAYOUT}.${name}`,
        ],
        ...['--max-hashrate', '300000', '--api-listen', 'off', '--log-format', 'json', '--no-status'],
      ]),
    );
  const events = () =>
    gw
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const accepted = () => events().filter((e) => e.event === 'share.accepted');
  await waitFor(
    () =>
      new Set(accepted().map((e) => e.worker)).size >= 2 && node!.submissions.some((s) => s.result === null),
    `shares from both rigs and an accepted block (${out()})`,
    150_000,
    200,
  );

  console.log(`shares from both rigs and a block after ${Date.now() - t0} ms`);
  // Every accepted share, re-verified independently from the jobs the bare client saw.
  const jobs = new Map<string, unknown[]>();
  for (const n of raw.notifications('mining.notify') as Line[]) jobs.set(n.params![0] as string, n.params!);
  let checked = 0;
  for (const e of accepted()) {
    const job = jobs.get(e.jobId as string);
    assert.ok(job, `job ${e.jobId} was broadcast`);
    assert.ok(typeof e.version === 'string' && typeof e.nonce === 'string', JSON.stringify(e));
    const hash = verifyShare(job, e as never);
    assert.equal(hash, e.hash, 'same hash as the gateway computed');
    assert.ok(BigInt(`0x${hash}`) <= (0xffffn << 208n) * 10_000n, 'meets difficulty 0.0001');
    checked++;
  }
  assert.ok(checked >= 2);

  // The block: accepted by the node, pays the configured address, recorded in the found-blocks list.
  // The block goes out both ways: P2P relay first, then submitblock (which then answers "duplicate").
  const acceptedBlock = node.submissions.find((s) => s.result === null);
  assert.ok(acceptedBlock, JSON.stringify(node.submissions));
  await waitFor(
    () => node!.submissions.some((s) => s.via === 'rpc' && s.hash === acceptedBlock.hash),
    'submitblock too',
  );
  const viaRpc = node.submissions.find((s) => s.via === 'rpc' && s.hash === acceptedBlock.hash)!;
  assert.ok(viaRpc.result === null || viaRpc.result === 'duplicate', JSON.stringify(viaRpc));
  const block = node.chain.find((b) => hashToDisplay(headerHash(b.header)) === acceptedBlock.hash)!;
  assert.equal(hex(block.txs[0]!.outputs[0]!.scriptPubKey), `0014${PROGRAM.toString('hex')}`);
  assert.equal(block.txs.length, 3, 'coinbase + the 2 template transactions');
  await waitFor(() => {
    try {
      return (JSON.parse(readFileSync(found, 'utf8')) as Array<{ hash: string; result: string }>).some(
        (b) => b.hash === acceptedBlock.hash && (b.result === 'accepted' || b.result === 'duplicate'),
      );
    } catch {
      return false;
    }
  }, 'found-blocks file');

  // P2P announcements → a clean job to every miner (both rigs and the bare client).
  for (const mode of ['cmpctblock', 'headers'] as const) {
    await waitFor(
      () =>
        events()
          .filter((e) => e.event === 'job')
          .at(-1)?.miners === 3,
      'three miners receiving jobs',
    );
    node.announceBy(mode);
    const before = raw.notifications('mining.notify').length;
    const b = node.mineExternal();
    const tip = hashToDisplay(headerHash(b.header));
    await waitFor(
      () => events().some((e) => e.event === 'block_announced' && e.hash === tip && e.source === `${mode}`),
      `${mode} announcement seen by the gateway`,
    );
    await waitFor(
      () => events().some((e) => e.event === 'job' && e.clean === true && e.prev === tip && e.miners === 3),
      `clean job to all 3 miners after the ${mode} announcement (${out()})`,
    );
    // A clean notify among those after the announcement (not necessarily the last one: a template
    // refresh can follow it with a non-clean job for the same block).
    await waitFor(
      () =>
        raw!
          .notifications('mining.notify')
          .slice(before)
          .some((n) => n.params?.[8] === true),
      () =>
        `bare client got it (notifies since: ${JSON.stringify(
          raw!
            .notifications('mining.notify')
            .slice(before)
            .map((n) => n.params?.[8]),
        )})`,
    );
  }
  const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  assert.match(metrics, /asicd_gateway_miners 3/);
  assert.match(metrics, /asicd_gateway_blocks_found_total\{result="(accepted|duplicate)"\} [1-9]/);
  const rigs = procs.slice(1).map((p) => p.output());
  for (const r of rigs) assert.ok(r.includes('"event":"share.accepted"'), 'each rig saw its shares accepted');
  assert.equal(await gw.stop(), 0, 'gateway exits 0 on SIGTERM');
});
