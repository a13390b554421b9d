/**
 * `asicd run` with its own in-process gateway (the gateway options in a YAML file, the RPC password in
 * the environment): the emulated chips mine through the gateway against the stand-in node, a block they
 * solve is accepted by the node and pays the configured address, another miner of the LAN (a bare
 * Stratum client) shares the same listener, and a P2P block announcement reaches it as a clean job.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import mqtt from 'mqtt';
import { encodeSegwitAddress } from '../../host/bitcoin/address.ts';
import { headerHash } from '../../host/bitcoin/block.ts';
import { hashToDisplay, hex } from '../../host/bitcoin/bytes.ts';
import { targetToNbits } from '../../host/work/target.ts';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.ts';
import { freePort, waitFor } from '../helpers/net.ts';
import { type AsicdProcess, asicd } from '../helpers/proc.ts';
import { StandinNode } from '../helpers/standin-node.ts';
import { RawClient } from '../pool/helpers.ts';

const PROGRAM = Buffer.from('00112233445566778899aabbccddeeff00112233', 'hex');
const PAYOUT = encodeSegwitAddress('bcrt', 0, PROGRAM);
/** Network difficulty 0.0005, shares at 0.0001: about one share in 5 solves a block. */
const NET_TARGET = (0xffffn << 208n) * 2000n;

const dir = mkdtempSync(join(tmpdir(), 'gw-run-'));
let node: StandinNode | undefined;
let rig: AsicdProcess | undefined;
let raw: RawClient | undefined;
let broker: Mosquitto | undefined;
let sub: mqtt.MqttClient | undefined;
after(async () => {
  raw?.close();
  await rig?.stop();
  await sub?.endAsync();
  await broker?.stop();
  await node?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('asicd run --node-rpc: the local chips mine through their own gateway', {
  timeout: 240_000,
}, async () => {
  node = new StandinNode({ bits: targetToNbits(NET_TARGET), user: 'rpcuser', password: 'rpcpass' });
  await node.start();
  node.addTx(21);
  const config = join(dir, 'asicd.yaml');
  writeFileSync(
    config,
    [
      'board: sim-gamma',
      `user: ${PAYOUT}.rig`,
      'gateway:',
      `  nodeRpc: ${node.rpcUrl}`,
      '  rpcUser: rpcuser',
      `  payout: ${PAYOUT}`,
      '  listen: 127.0.0.1:0',
      `  p2p: 127.0.0.1:${node.p2pPort}`,
      '  difficulty: 0.0001',
      '  shareSeconds: 0',
      '  pollMs: 0',
      '  longpoll: false',
      `  foundBlocks: ${join(dir, 'found.json')}`,
      '',
    ].join('\n'),
  );
  // The gateway's own telemetry from the same process: HTTP /found-blocks and MQTT block messages.
  broker = await startMosquitto();
  sub = await mqtt.connectAsync(broker.url);
  const blocksOverMqtt: Array<Record<string, unknown>> = [];
  sub.on('message', (topic, payload) => {
    if (topic === 'asicd/gateway/solo/block') blocksOverMqtt.push(JSON.parse(String(payload)));
  });
  await sub.subscribeAsync('asicd/gateway/solo/#');
  const metricsPort = await freePort();
  rig = asicd(
    [
      ...['run', '--config', config, '--max-hashrate', '300000', '--api-listen', 'off'],
      ...['--gateway-metrics-listen', `127.0.0.1:${metricsPort}`, '--mqtt', broker.url, '--mqtt-id', 'solo'],
      ...['--log-format', 'json', '--no-status'],
    ],
    { ASICD_GATEWAY_RPC_PASSWORD: 'rpcpass' },
  );
  const out = () => rig!.output().slice(-3000);
  const events = () =>
    rig!
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  await waitFor(
    () => events().some((e) => e.event === 'gateway.in_process'),
    `gateway started (${out()})`,
    60_000,
  );
  const started = events().find((e) => e.event === 'gateway.in_process')!;
  assert.equal(started.network, 'regtest');
  const url = String(started.url);
  const port = Number(/:(\d+)$/.exec(url)![1]);
  assert.ok(port > 0, url);
  assert.ok(!rig.output().includes('rpcpass'), 'the RPC password is never printed');

  // The local chips' shares, accepted by the in-process gateway, and a block the node accepts.
  await waitFor(
    () => node!.submissions.some((s) => s.result === null),
    `a block from the local chips accepted by the node (${out()})`,
    180_000,
    200,
  );
  const acceptedBlock = node.submissions.find((s) => s.result === null)!;
  const block = node.chain.find((b) => hashToDisplay(headerHash(b.header)) === acceptedBlock.hash)!;
  assert.equal(hex(block.txs[0]!.outputs[0]!.scriptPubKey), `0014${PROGRAM.toString('hex')}`);
  assert.equal(block.txs.length, 2, 'coinbase + the template transaction');
  // The miner's own accounting: its shares accepted by the pool it knows as the gateway's URL.
  await waitFor(
    () => events().some((e) => e.event === 'share.accepted'),
    'the miner logs accepted shares',
    60_000,
  );
  assert.ok(
    events().some((e) => e.event !== 'gateway.in_process' && JSON.stringify(e).includes(url)),
    `the miner's pool is the gateway at ${url}`,
  );

  await waitFor(
    () => blocksOverMqtt.some((b) => b.hash === acceptedBlock.hash),
    'the found block published over MQTT by the in-process gateway',
    30_000,
  );
  const found = (await (await fetch(`http://127.0.0.1:${metricsPort}/found-blocks`)).json()) as Array<{
    hash: string;
  }>;
  assert.ok(
    found.some((b) => b.hash === acceptedBlock.hash),
    'on /found-blocks',
  );
  const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  assert.match(metrics, /asicd_gateway_blocks_found_total\{result="(accepted|duplicate)"\} [1-9]/);

  // Another miner of the LAN on the same listener; a P2P announcement → a clean job for it.
  raw = await RawClient.open(port);
  await raw.call('mining.subscribe', ['bare-client/0.1']);
  await raw.call('mining.authorize', ['lan.worker', 'x']);
  await waitFor(() => raw!.notifications('mining.notify').length > 0, 'bare client notified');
  node.announceBy('headers');
  const before = raw.notifications('mining.notify').length;
  const b = node.mineExternal();
  const tip = hashToDisplay(headerHash(b.header));
  await waitFor(
    () => events().some((e) => e.event === 'job' && e.clean === true && e.prev === tip && e.miners === 2),
    `clean job to both miners after the announcement (${out()})`,
    30_000,
  );
  await waitFor(
    () => raw!.notifications('mining.notify').length > before && raw!.lastJob().cleanJobs,
    'bare client got the clean job',
  );
  assert.equal(await rig.stop(), 0, 'asicd run exits 0 on SIGTERM, gateway included');
  assert.ok(events().some((e) => e.event === 'asicd.stopped'));
});
