/**
 * `asicd demo` (= `npm start`): the whole stack with no hardware and no internet — the embedded Stratum
 * pool on loopback, a simulated board (emulated chips in easy mode, emulated sensors and fan on a
 * thermal model) and an embedded MQTT broker unless --mqtt is given.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { redactText } from '../../lib/redact.ts';
import { type Config, ConfigError, type loadConfig, optionsHelp, sourceOf, splitListen } from '../config.ts';
import { loggerFor, runUntilSignalled, StartAborted, startApp } from '../miner/app.ts';
import { StopRequests } from '../miner/signals.ts';
import { StratumServer } from '../pool/server.ts';
import { type ConfigWithState, loadConfigWithState, stateOptions } from '../state/persistent.ts';
import { Sv2Pool } from '../stratum-v2/pool.ts';
import { DEFAULT_API_LISTEN } from '../telemetry/config.ts';
import { exitSoon } from './run.ts';

export const summary = 'run everything on embedded defaults: simulated board, embedded pool and MQTT broker';
export const usage = `asicd demo [--board sim-gamma] [--pool-difficulty D] [--algo sha256d|ethash] [--pool-protocol v1|sv2] [options]

Starts the embedded Stratum pool on 127.0.0.1, a simulated board (\`asicd boards\`, sim-*), and an
embedded MQTT broker (unless --mqtt is given), and mines until Ctrl-C. Shares are accepted within
seconds; the status line shows hashrate, shares, temperatures, fan and pool.

MQTT commands: on with the embedded broker (it listens on 127.0.0.1 only; --no-mqtt-commands turns
them off); off with an external broker (--mqtt URL) unless --mqtt-commands is given.

Options:
${optionsHelp('demo')}`;

/** Share difficulty of the demo pool: about one share every few seconds from an emulated chip on one core. */
export const DEMO_DIFFICULTY = 0.0002;

export async function run(argv: string[]): Promise<number> {
  let cfg: ReturnType<typeof loadConfig>;
  let loaded: ConfigWithState;
  let tokenGenerated = false;
  try {
    loaded = loadConfigWithState({
      command: 'demo',
      argv,
      defaults: {
        board: 'sim-gamma',
        user: 'demo.worker',
        maxHashrate: 600_000,
        'http.listen': '127.0.0.1:0',
      },
    });
    cfg = loaded.cfg;
    // Commands default on only through the embedded (loopback) broker; a user's broker needs --mqtt-commands.
    if (cfg['mqtt.url'] === undefined && sourceOf(cfg, 'mqtt.commands') === 'default')
      cfg['mqtt.commands'] = true;
    // The demo's dashboard can write: a fresh random token unless one is configured (a configured one is
    // the user's secret: never echoed).
    tokenGenerated = cfg['http.token'] === undefined;
    cfg['http.token'] ??= randomBytes(12).toString('base64url');
    if (!String(cfg.board).startsWith('sim-'))
      throw new ConfigError(`board: the demo runs simulated boards (sim-*), got "${cfg.board}"`);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`asicd demo: ${err.message}`);
      return 2;
    }
    throw err;
  }
  const log = loggerFor(cfg);
  if (cfg.algo === 'ethash') return ethashDemo(cfg, log);
  const stops = new StopRequests({ log }).install();

  const poolOptions = {
    difficulty: Number(cfg['pool.difficulty'] ?? DEMO_DIFFICULTY),
    blockIntervalMs: 120_000,
    logger: log.child('embedded-pool'),
  };
  // --pool-protocol sv2: the embedded Stratum V2 pool (Noise-encrypted; its URL carries its authority key).
  const pool = cfg['pool.protocol'] === 'sv2' ? new Sv2Pool(poolOptions) : new StratumServer(poolOptions);
  await pool.listen(Number(cfg['pool.port'] ?? 0));
  const apiNote = await freeDemoApiPort(cfg);
  if (apiNote) log.warn('api.port_in_use', { note: apiNote });
  cfg.pools = [...((cfg.pools as string[] | undefined) ?? []), pool.url];
  try {
    const app = await startApp({
      cfg,
      log,
      stops,
      embeddedBroker: true,
      // The default port checked free above can be taken before the API listens (another demo starting).
      apiAnyPortIfTaken: sourceOf(cfg, 'api.listen') === 'default' || apiNote !== undefined,
      onStop: () => pool.close(),
      ...stateOptions(loaded, log),
    });
    const say = (line: string) => process.stdout.write(`${redactText(line)}\n`);
    say(
      `asicd demo: ${app.board.name} (${app.board.chips} × ${app.board.chip}, emulated) mining on the embedded pool ${pool.url}`,
    );
    for (const hint of app.telemetry.hints) say(`  ${hint}`);
    // Printed as is (not through say's redaction): this link is how the demo user gets write access.
    if (app.http && tokenGenerated)
      process.stdout.write(
        `  Dashboard with write access: ${app.http.url}#token=${String(cfg['http.token'])}\n`,
      );
    else if (app.http) say(`  Dashboard with write access: ${app.http.url}#token=<your --http-token>`);
    if (apiNote) say(`  ${apiNote}`);
    say('  Ctrl-C stops: chips idle, pending shares answered, exit 0.');
    return await runUntilSignalled(app, { ...cfg, status: cfg.status ?? true }, stops);
  } catch (err) {
    await pool.close();
    if (err instanceof StartAborted) {
      log.info('asicd.stopped', { why: err.message });
      return 0;
    }
    if (err instanceof ConfigError) {
      console.error(`asicd demo: ${err.message}`);
      return 2;
    }
    log.error('asicd.failed', { error: (err as Error).message });
    return 1;
  } finally {
    stops.dispose();
    exitSoon();
  }
}

async function ethashDemo(
  cfg: ReturnType<typeof loadConfig>,
  log: ReturnType<typeof loggerFor>,
): Promise<number> {
  const { runEthashDemo } = await import('../pool-eth/demo.ts');
  const ac = new AbortController();
  const onSignal = () => ac.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const duration = Number(cfg.duration ?? 0);
    const r = await runEthashDemo({
      logger: log,
      signal: ac.signal,
      ...(duration > 0 ? { durationMs: duration * 1000 } : {}),
    });
    console.log(
      `ethash demo (${r.dialect}): ${r.accepted} shares accepted, ${r.rejected} rejected, ${r.hostRejected} refused by the host check, ${r.hashes} hashes in ${r.seconds.toFixed(1)} s`,
    );
    return r.hostRejected === 0 && r.rejected === 0 ? 0 : 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/**
 * The demo's cgminer API port: when the default (127.0.0.1:4028) is taken (another miner, another demo),
 * a free port is used instead, and the returned note says which. A port the user chose is kept (and a
 * clash is reported as a config error naming the flag).
 */
export async function freeDemoApiPort(cfg: Config): Promise<string | undefined> {
  if (sourceOf(cfg, 'api.listen') !== 'default') return undefined;
  const spec = String(cfg['api.listen'] ?? DEFAULT_API_LISTEN);
  const hp = splitListen(spec);
  if (!hp || (await canListen(hp.host, hp.port))) return undefined;
  const port = await new Promise<number>((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen({ host: hp.host, port: 0, exclusive: true }, () => {
      const a = srv.address();
      srv.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
  cfg['api.listen'] = `${hp.host}:${port}`;
  return `cgminer API: ${spec} is in use, using ${hp.host}:${port} instead (choose with --api-listen HOST:PORT)`;
}

function canListen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ host, port, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}
