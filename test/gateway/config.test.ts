/**
 * The gateway's options in the one configuration table: YAML (`gateway:` section), ASICD_GATEWAY_*
 * variables and flags, with the table's validation (type, range, key and source in every error), the
 * checks across values, and `asicd gateway` refusing a run-only flag.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { encodeSegwitAddress } from '../../host/bitcoin/address.ts';
import { ConfigError, loadConfig, optionsHelp, sourceOf } from '../../host/config.ts';
import { connectHost, poolsWithGateway, startInProcessGateway } from '../../host/gateway/in-process.ts';
import {
  checkGatewayCommandFlags,
  defaultPeer,
  gatewayOptionsFromConfig,
  isGatewayCommandKey,
} from '../../host/gateway/options.ts';
import { silentLogger } from '../../lib/log.ts';
import { redactText } from '../../lib/redact.ts';
import { StandinNode } from '../helpers/standin-node.ts';

const dir = mkdtempSync(join(tmpdir(), 'asicd-gwcfg-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const file = (text: string) => {
  const p = join(dir, `g${n++}.yaml`);
  writeFileSync(p, text);
  return p;
};
const PAYOUT = encodeSegwitAddress('bcrt', 0, new Uint8Array(20).fill(7));
const load = (argv: string[], env: Record<string, string> = {}, command = 'gateway') =>
  loadConfig({ command, argv, env });
const fails = (fn: () => unknown, re: RegExp) =>
  assert.throws(fn, (e: Error) => {
    assert.ok(e instanceof ConfigError, `${e.name}: ${e.message}`);
    assert.match(e.message, re);
    return true;
  });

describe('gateway options: file, environment, flags', () => {
  it('a gateway: section in YAML gives the same options as the flags', () => {
    const f = file(
      [
        'gateway:',
        '  nodeRpc: http://127.0.0.1:18443',
        '  rpcUser: alice',
        `  payout: ${PAYOUT}`,
        '  listen: 0.0.0.0:3334',
        '  p2p: 127.0.0.1:18444',
        '  difficulty: 0.5',
        '  minDifficulty: 0.001',
        '  shareSeconds: 15',
        '  extranonce2Size: 8',
        '  tag: /solo/',
        '  longpoll: false',
        '  pollMs: 0',
        `  foundBlocks: ${join(dir, 'found.json')}`,
      ].join('\n'),
    );
    const fromFile = gatewayOptionsFromConfig(
      load(['--config', f], { ASICD_GATEWAY_RPC_PASSWORD: 'pw-from-env' }),
    );
    const fromFlags = gatewayOptionsFromConfig(
      load([
        ...['--node-rpc', 'http://127.0.0.1:18443', '--rpc-user', 'alice', '--rpc-password', 'pw-from-env'],
        ...['--payout', PAYOUT, '--listen', '0.0.0.0:3334', '--p2p', '127.0.0.1:18444'],
        ...['--difficulty', '0.5', '--min-difficulty', '0.001', '--share-seconds', '15'],
        ...['--extranonce2-size', '8', '--tag', '/solo/', '--no-longpoll', '--poll-ms', '0'],
        ...['--found-blocks', join(dir, 'found.json')],
      ]),
    );
    assert.deepEqual(fromFile, fromFlags);
    assert.equal(fromFile.rpc.password, 'pw-from-env');
    assert.equal(fromFile.listenHost, '0.0.0.0');
    assert.equal(fromFile.listenPort, 3334);
    assert.equal(fromFile.p2p, '127.0.0.1:18444');
    assert.equal(fromFile.longpoll, false);
    assert.deepEqual(fromFile.server?.vardiff, { targetSeconds: 15, min: 0.001 });
    assert.equal(fromFile.server?.extranonce2Size, 8);
    assert.equal(redactText('pw-from-env'), '***', 'the password from the environment is a secret');
  });

  it('flags beat the environment, which beats the file; sources are named', () => {
    const f = file(`gateway:\n  nodeRpc: http://10.0.0.1:8332\n  payout: ${PAYOUT}\n  difficulty: 8\n`);
    const cfg = load(['--config', f, '--difficulty', '64'], { ASICD_GATEWAY_DIFFICULTY: '16' });
    assert.equal(cfg['gateway.difficulty'], 64);
    assert.equal(sourceOf(cfg, 'gateway.difficulty'), '--difficulty');
    const env = load(['--config', f], { ASICD_GATEWAY_DIFFICULTY: '16' });
    assert.equal(env['gateway.difficulty'], 16);
    assert.equal(sourceOf(env, 'gateway.difficulty'), 'ASICD_GATEWAY_DIFFICULTY');
    assert.equal(load(['--config', f])['gateway.difficulty'], 8);
  });

  it('bad values name the key and where they came from', () => {
    const base = ['--node-rpc', 'http://127.0.0.1:8332'];
    fails(() => load([...base, '--payout', 'bc1qnotanaddress']), /gateway\.payout \(--payout\).*invalid/);
    fails(
      () => load(base, { ASICD_GATEWAY_PAYOUT: 'bcrt1zzzz' }),
      /gateway\.payout \(ASICD_GATEWAY_PAYOUT\)/,
    );
    fails(() => load([...base, '--listen', 'localhost']), /gateway\.listen \(--listen\).*HOST:PORT/);
    fails(() => load([...base, '--listen', '127.0.0.1:70000']), /gateway\.listen/);
    fails(() => load([...base, '--p2p', ':8333']), /gateway\.p2p \(--p2p\)/);
    fails(() => load(['--node-rpc', 'ftp://x:1']), /gateway\.nodeRpc \(--node-rpc\).*not http/);
    fails(() => load(['--node-rpc', 'not a url']), /gateway\.nodeRpc/);
    fails(() => load([...base, '--extranonce2-size', '1']), /gateway\.extranonce2Size.*outside.*2 to 8/);
    fails(() => load([...base, '--extranonce2-size', '4.5']), /whole number/);
    fails(() => load([...base, '--difficulty', 'lots']), /gateway\.difficulty \(--difficulty\)/);
    fails(() => load([...base, '--tag', 'x'.repeat(61)]), /gateway\.tag.*61 bytes/);
    fails(() => load([...base, '--tag', 'a\nb']), /control characters/);
    fails(
      () => load(['--config', file('gateway:\n  nodeRPC: http://h:1\n')]),
      /did you mean "gateway\.nodeRpc"/,
    );
    fails(
      () => load(['--config', file('gateway: yes\n')]),
      /gateway \(.*\): expected a mapping with gateway\./,
    );
    // future witness versions: anyone can spend them today
    const v2 = encodeSegwitAddress('bcrt', 2, new Uint8Array(32).fill(1));
    fails(() => load([...base, '--payout', v2]), /witness v2.*P2TR/);
  });

  it('ZMQ endpoint and secrets: --zmq maps to the gateway, a password in the file is masked everywhere', () => {
    const base = ['--node-rpc', 'http://127.0.0.1:8332', '--payout', PAYOUT];
    assert.equal(
      gatewayOptionsFromConfig(load([...base, '--zmq', 'tcp://127.0.0.1:28332'])).zmq,
      'tcp://127.0.0.1:28332',
    );
    assert.equal(gatewayOptionsFromConfig(load(base)).zmq, undefined);
    fails(() => load([...base, '--zmq', '127.0.0.1:28332']), /gateway\.zmq \(--zmq\).*tcp:\/\/HOST:PORT/);
    fails(() => load([...base, '--zmq', 'tcp://h:0']), /gateway\.zmq/);
    const f = file(
      `gateway:\n  nodeRpc: http://127.0.0.1:8332\n  rpcUser: u\n  rpcPassword: Fi1eSecretPw\n  payout: ${PAYOUT}\n`,
    );
    const o = gatewayOptionsFromConfig(load(['--config', f]));
    assert.equal(o.rpc.password, 'Fi1eSecretPw');
    assert.equal(redactText('node said Fi1eSecretPw'), 'node said ***');
    // A password inside the RPC URL is a secret too.
    load(['--node-rpc', 'http://u:Ur1Secret@127.0.0.1:8332']);
    assert.equal(redactText('Ur1Secret'), '***');
  });

  it('checks across values: node and payout required, floor below the start, password needs a user', () => {
    fails(() => gatewayOptionsFromConfig(load([])), /gateway\.nodeRpc: required \(--node-rpc URL/);
    fails(
      () => gatewayOptionsFromConfig(load(['--node-rpc', 'http://127.0.0.1:1'])),
      /gateway\.payout: required with gateway\.nodeRpc \(--node-rpc\)/,
    );
    const ok = ['--node-rpc', 'http://127.0.0.1:1', '--payout', PAYOUT];
    fails(
      () => gatewayOptionsFromConfig(load([...ok, '--difficulty', '1', '--min-difficulty', '2'])),
      /gateway\.minDifficulty \(--min-difficulty\): 2 is above gateway\.difficulty/,
    );
    // a fixed difficulty (no vardiff) makes the floor irrelevant
    assert.equal(
      gatewayOptionsFromConfig(
        load([...ok, '--difficulty', '1', '--min-difficulty', '2', '--share-seconds', '0']),
      ).server?.vardiff,
      false,
    );
    fails(
      () => gatewayOptionsFromConfig(load([...ok, '--rpc-password', 'p'])),
      /gateway\.rpcPassword \(--rpc-password\): given without gateway\.rpcUser/,
    );
  });

  it('asicd gateway refuses a run-only flag, accepts run keys from a shared file', () => {
    fails(
      () => checkGatewayCommandFlags(load(['--node-rpc', 'http://h:1', '--board', 'sim-gamma'])),
      /--board: not an option of "asicd gateway"/,
    );
    const shared = file(`board: sim-gamma\npools: [stratum+tcp://h:3333]\ngateway:\n  nodeRpc: http://h:1\n`);
    checkGatewayCommandFlags(load(['--config', shared]));
    // asicd demo does not take the gateway flags at all
    fails(
      () => load(['--node-rpc', 'http://h:1'], {}, 'demo'),
      /--node-rpc: unknown option for "asicd demo"/,
    );
  });

  it('asicd run: gateway options without a node are an error, not silently ignored', async () => {
    const cfg = load(['--payout', PAYOUT, '--board', 'sim-gamma'], {}, 'run');
    await assert.rejects(
      startInProcessGateway(cfg, silentLogger),
      /gateway\.payout \(--payout\): a gateway option, but no gateway\.nodeRpc/,
    );
    assert.equal(
      await startInProcessGateway(load(['--board', 'sim-gamma'], {}, 'run'), silentLogger),
      undefined,
    );
  });

  it('a gateway port in use is a ConfigError naming gateway.listen (in-process, before any device)', async () => {
    const node = new StandinNode({ user: 'u', password: 'p' });
    await node.start();
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as { port: number }).port;
    try {
      const cfg = load(
        [
          ...['--node-rpc', node.rpcUrl, '--rpc-user', 'u', '--rpc-password', 'p', '--payout', PAYOUT],
          ...['--listen', `127.0.0.1:${port}`, '--p2p', 'off', '--no-longpoll', '--poll-ms', '0'],
          ...['--found-blocks', join(dir, 'busy-found.json')],
        ],
        {},
        'run',
      );
      await assert.rejects(
        startInProcessGateway(cfg, silentLogger),
        (e: Error) =>
          e instanceof ConfigError &&
          /gateway\.listen \(--listen\): cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE \(port in use/.test(
            e.message,
          ),
      );
    } finally {
      await new Promise((r) => busy.close(r));
      await node.stop();
    }
  });

  it('the in-process gateway goes first; configured pools stay behind it', () => {
    const cfg = load(['--pool', 'stratum+tcp://backup:3333', '--user', 'me.rig'], {}, 'run');
    assert.deepEqual(poolsWithGateway(cfg, 'stratum+tcp://127.0.0.1:3333'), [
      { url: 'stratum+tcp://127.0.0.1:3333', user: 'me.rig', pass: 'x' },
      'stratum+tcp://backup:3333',
    ]);
    assert.equal(connectHost('0.0.0.0'), '127.0.0.1');
    assert.equal(connectHost('::'), '[::1]');
    assert.equal(connectHost('192.168.1.5'), '192.168.1.5');
    assert.equal(
      defaultPeer(load(['--node-rpc', 'http://[::1]:8332']), 'http://[::1]:8332', 8333),
      '[::1]:8333',
    );
    assert.equal(defaultPeer(load(['--p2p', 'off']), 'http://h:1', 8333), undefined);
  });

  it('--help of asicd gateway lists its options with their config keys and variables', () => {
    const help = optionsHelp('gateway', isGatewayCommandKey);
    for (const s of [
      '--node-rpc',
      'gateway.nodeRpc',
      'ASICD_GATEWAY_RPC_PASSWORD',
      '--metrics-listen',
      '--listen',
    ])
      assert.ok(help.includes(s), s);
    assert.ok(!help.includes('--board'), 'run-only options are not listed');
    assert.ok(optionsHelp('run').includes('--node-rpc'), 'asicd run lists the gateway options');
  });
});
