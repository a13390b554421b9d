/**
 * No secret anywhere (issue 12 item 5): every command runs as a real child process with a distinctive
 * secret in every place a secret can go — pool URL user-info, --pass, the MQTT URL's user-info,
 * --mqtt-pass, the config file, the environment, the HTTP token, the gateway's RPC password — and every
 * output is searched for it: stdout and stderr (JSON logs at debug level), every MQTT payload the broker
 * sees, cgminer API replies, Prometheus metrics and the HTTP API. The credentials must still work: the
 * broker checks the password it was given, the pool sees the worker from the URL.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Aedes } from 'aedes';
import { StratumServer } from '../../host/pool/server.ts';
import { freePort, waitFor } from '../helpers/net.ts';
import { type AsicdProcess, asicd } from '../helpers/proc.ts';

/** Every secret shares this marker, so one search finds any of them. */
const MARK = 'Zk7Q';
const S = (place: string) => `${MARK}${place}Secret`;

const dir = mkdtempSync(join(tmpdir(), 'asicd-secrets-'));
const procs: AsicdProcess[] = [];
const closers: Array<() => Promise<void>> = [];
after(async () => {
  for (const p of procs) await p.stop();
  for (const c of closers.reverse()) await c().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
});

function spawn(args: string[], env: Record<string, string> = {}): AsicdProcess {
  const p = asicd(args, env);
  procs.push(p);
  return p;
}

/** An MQTT broker that demands user/password and records every payload published through it. */
async function authBroker(user: string, password: string) {
  const broker = await Aedes.createBroker();
  const seen: string[] = [];
  const logins: string[] = [];
  broker.authenticate = (_client, u, p, done) => {
    const ok = u === user && p?.toString() === password;
    logins.push(ok ? 'ok' : `refused ${u}`);
    done(null, ok);
  };
  broker.on('publish', (packet) => {
    seen.push(`${packet.topic} ${packet.payload.toString()}`);
  });
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    broker.handle(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  closers.push(async () => {
    await new Promise<void>((r) => broker.close(() => r()));
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });
  return { port, seen, logins };
}

function cgminer(port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port }, () => s.end(JSON.stringify({ command })));
    let text = '';
    s.on('data', (d) => {
      text += String(d);
    });
    s.on('end', () => resolve(text));
    s.on('error', reject);
  });
}

const httpGet = async (url: string, token?: string) =>
  (await fetch(url, token ? { headers: { authorization: `Bearer ${token}` } } : {})).text();

function noSecret(what: string, text: string): void {
  const at = text.indexOf(MARK);
  assert.equal(at, -1, `a secret in ${what}: …${text.slice(Math.max(0, at - 200), at + 60)}…`);
}

test('asicd demo: secrets in pool URL, --pass, config file, env, MQTT URL and HTTP token never leave', {
  timeout: 180_000,
}, async () => {
  const mq = await authBroker('mq-user', S('MqttUrl'));
  const [dead1, dead2, api, metrics, http] = await Promise.all([1, 2, 3, 4, 5].map(() => freePort()));
  const cfgFile = join(dir, 'demo.yaml');
  writeFileSync(
    cfgFile,
    [
      'pools:',
      `  - stratum+tcp://url.worker:${S('PoolUrl')}@127.0.0.1:${dead1}`,
      `  - url: stratum+tcp://127.0.0.1:${dead2}`,
      '    user: file.worker',
      `    pass: ${S('FilePoolPass')}`,
      'http:',
      `  token: ${S('FileToken')}`,
      '',
    ].join('\n'),
  );
  const demo = spawn(
    [
      ...[
        'demo',
        '--config',
        cfgFile,
        '--pass',
        S('FlagPass'),
        '--log-level',
        'debug',
        '--log-format',
        'json',
      ],
      ...['--mqtt', `mqtt://mq-user:${S('MqttUrl')}@127.0.0.1:${mq.port}`, '--mqtt-interval', '1'],
      ...['--device-id', 'secrets-demo', '--mqtt-commands', '--status'],
      ...['--api-listen', `127.0.0.1:${api}`, '--metrics-listen', `127.0.0.1:${metrics}`],
      ...['--http-listen', `127.0.0.1:${http}`],
    ],
    { ASICD_PASS: S('EnvPass'), ASICD_HTTP_TOKEN: S('EnvToken') },
  );
  // Past the two dead pools (their connect failures are logged) to the embedded one: shares accepted.
  await waitFor(
    () => /"event":"share.accepted"/.test(demo.output()),
    () => `an accepted share (${demo.output().slice(-2000)})`,
    150_000,
    250,
  );
  await waitFor(
    () => mq.seen.some((m) => m.startsWith('asicd/secrets-demo/state ')),
    'an MQTT state',
    20_000,
  );
  assert.ok(mq.logins.includes('ok'), `the broker accepted the password from the URL: ${mq.logins}`);
  assert.ok(/connect_failed/.test(demo.output()), 'the dead pools were tried (and their failures logged)');
  const replies: string[] = [];
  for (const c of ['summary', 'pools', 'devs', 'stats', 'config', 'version', 'summary+pools+devs'])
    replies.push(await cgminer(api, c));
  const scrape = await httpGet(`http://127.0.0.1:${metrics}/metrics`);
  const httpTexts: string[] = [];
  for (const path of [
    '/api/system/info',
    '/api/system/asic',
    '/api/system/statistics',
    '/api/asicd/state',
    '/api/asicd/logs',
  ])
    httpTexts.push(await httpGet(`http://127.0.0.1:${http}${path}`, S('EnvToken')));
  assert.match(httpTexts[0]!, /stratum|pool/i, 'the HTTP API answered');
  assert.match(replies[1]!, /url\.worker/, 'the worker from the URL user-info is the pool user');
  assert.match(scrape, /asicd_/);
  assert.equal(await demo.stop(30_000), 0, demo.output().slice(-1500));
  noSecret('demo stdout/stderr', demo.output());
  noSecret('MQTT payloads', mq.seen.join('\n'));
  noSecret('cgminer API replies', replies.join('\n'));
  noSecret('Prometheus metrics', scrape);
  noSecret('HTTP API replies', httpTexts.join('\n'));
});

test('asicd run: secrets in pool URL user-info, env MQTT password and file stay out of every output', {
  timeout: 150_000,
}, async () => {
  const pool = new StratumServer({
    difficulty: 0.0002,
    blockIntervalMs: 0,
    authorize: (user, pass) => user === 'run.worker' && pass === S('RunPoolUrl'),
  });
  await pool.listen(0);
  closers.push(() => pool.close());
  const mq = await authBroker('run-mq', S('EnvMqttPass'));
  const api = await freePort();
  const cfgFile = join(dir, 'run.yaml');
  writeFileSync(cfgFile, `pass: ${S('FileRunPass')}\nmqtt:\n  user: run-mq\n`);
  const port = pool.url.split(':').at(-1);
  const run = spawn(
    [
      ...['run', '--board', 'sim-gamma', '--config', cfgFile, '--log-level', 'debug', '--log-format', 'json'],
      ...['--pool', `stratum+tcp://run.worker:${S('RunPoolUrl')}@127.0.0.1:${port}`],
      ...['--mqtt', `mqtt://127.0.0.1:${mq.port}`, '--device-id', 'secrets-run', '--mqtt-interval', '1'],
      ...['--api-listen', `127.0.0.1:${api}`, '--http-listen', 'off'],
    ],
    { ASICD_MQTT_PASS: S('EnvMqttPass') },
  );
  await waitFor(
    () => pool.stats.accepted >= 1,
    () => `a share accepted with the URL's credentials (${run.output().slice(-2000)})`,
    120_000,
    250,
  );
  await waitFor(() => mq.seen.some((m) => m.startsWith('asicd/secrets-run/state ')), 'an MQTT state', 20_000);
  assert.ok(mq.logins.includes('ok'), `the broker accepted the password from the environment: ${mq.logins}`);
  const replies = [await cgminer(api, 'pools'), await cgminer(api, 'config'), await cgminer(api, 'summary')];
  assert.equal(await run.stop(30_000), 0, run.output().slice(-1500));
  noSecret('run stdout/stderr', run.output());
  noSecret('MQTT payloads', mq.seen.join('\n'));
  noSecret('cgminer API replies', replies.join('\n'));
});

test('refused configurations and the other commands never print a secret', { timeout: 120_000 }, async () => {
  const conflict = join(dir, 'conflict.yaml');
  writeFileSync(
    conflict,
    `mqtt:\n  url: mqtt://u:${S('ConflictUrl')}@127.0.0.1:1\n  pass: ${S('ConflictPass')}\n`,
  );
  const badKey = join(dir, 'badkey.yaml');
  writeFileSync(badKey, `pools:\n  - url: stratum+tcp://h:1\n    passwd: ${S('MisspeltKey')}\n`);
  const env = {
    ASICD_PASS: S('EnvPass2'),
    ASICD_MQTT_PASS: S('EnvMqtt2'),
    ASICD_GATEWAY_RPC_PASSWORD: S('GwPass'),
  };
  const cases: Array<[string[], number]> = [
    [
      ['run', '--board', 'sim-gamma', '--user', 'a', '--pool', `stratum+tcp://w:${S('BadHost')}@bad host:1`],
      2,
    ],
    [['run', '--board', 'sim-gamma', '--user', 'a', '--pool', `http://w:${S('BadScheme')}@h:1`], 2],
    [['demo', '--mqtt', `http://u:${S('BadMqtt')}@h`], 2],
    [['demo', '--mqtt', `mqtt://u:${S('BadEnc')}%zz@h`], 2],
    [['run', '--config', conflict, '--board', 'sim-gamma', '--pool', 'stratum+tcp://h:1', '--user', 'a'], 2],
    [['run', '--config', badKey, '--board', 'sim-gamma', '--user', 'a'], 2],
    [
      [
        'run',
        '--board',
        'sim-gamma',
        '--user',
        'a',
        '--pool',
        `stratum+tcp://w:${S('Listen')}@127.0.0.1:1`,
        '--api-listen',
        '192.0.2.1:4028',
      ],
      2,
    ],
    [['boards'], 0],
    [['selfcheck'], 0],
    [['--help'], 0],
    [['run', '--help'], 0],
    [
      [
        'gateway',
        '--node-rpc',
        `http://rpc:${S('GwUrl')}@127.0.0.1:1`,
        '--payout',
        'bcrt1qxyz',
        '--duration',
        '1',
      ],
      -1,
    ],
  ];
  for (const [args, code] of cases) {
    const p = spawn(args, env);
    const exit = await p.exited;
    if (code >= 0) assert.equal(exit, code, `${args.join(' ')} → ${exit}: ${p.output().slice(-800)}`);
    noSecret(`asicd ${args.join(' ')}`, p.output());
  }
  // asicd sim (no secret options) with the secrets in its environment: start, stop, nothing printed.
  const sim = spawn(['sim', '--chip', 'BM1366', '--link', join(dir, 'simlink')], env);
  await waitFor(() => sim.output().includes('ready on'), 'asicd sim ready', 20_000);
  assert.equal(await sim.stop(), 0);
  noSecret('asicd sim', sim.output());
});
