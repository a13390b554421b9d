/**
 * What `asicd run` and `asicd demo` share: configuration → board → hardware → Miner → telemetry,
 * signals, the live status line, and an orderly stop (chips idle first, submits ≤ 2 s, exit 0).
 */

import { hostname, networkInterfaces } from 'node:os';
import { type BoardProfile, findBoard, genericBoard } from '../../boards/index.ts';
import type { Clock } from '../../lib/clock.ts';
import { systemClock } from '../../lib/clock.ts';
import { stderrIsJournal, withPriority } from '../../lib/journal.ts';
import { createLogger, type LogFormat, type Logger, type LogLevel } from '../../lib/log.ts';
import { redactText } from '../../lib/redact.ts';
import {
  type Config,
  ConfigError,
  checkListenAddresses,
  describeConfig,
  poolPolicyOf,
  poolsOf,
  sourceOf,
} from '../config.ts';
import { LogTap } from '../http/log-tap.ts';
import type { HttpServer } from '../http/server.ts';
import { PersistentSource } from '../state/persistent.ts';
import type { StateFile } from '../state/store.ts';
import { loadSv2Client } from '../stratum-v2/lazy-client.ts';
import { isSv2Url } from '../stratum-v2/url.ts';
import { parseListen } from '../telemetry/cgminer-api.ts';
import type { TelemetryConfig } from '../telemetry/config.ts';
import { deriveDeviceId, startTelemetry, type TelemetryHandle } from '../telemetry/index.ts';
import { UNMONITORED_WARNING } from '../thermal/index.ts';
import { Miner } from './daemon.ts';
import { openBoardHardware } from './hardware.ts';
import { SHUTDOWN_BUDGET_MS } from './shutdown.ts';
import { StopRequests } from './signals.ts';
import { formatStatus } from './status.ts';
import { processTerminal } from './terminal.ts';

/** A stop was requested (signal) before the daemon was up; everything opened so far was stopped. */
export class StartAborted extends Error {
  constructor(why: string) {
    super(`stopped during start-up (${why})`);
    this.name = 'StartAborted';
  }
}

export interface App {
  miner: Miner;
  /** What every publisher sees: the miner plus persisted settings and lifetime totals. */
  source: PersistentSource;
  /** The HTTP server (AxeOS API, dashboard), when --http-listen is set. */
  http?: HttpServer;
  telemetry: TelemetryHandle;
  board: BoardProfile;
  log: Logger;
  stop(): Promise<void>;
}

/** Recent log lines of this process (the HTTP event stream and dashboard show them). */
export const processLogs = new LogTap(200);

export function loggerFor(cfg: Config): Logger {
  const format = (cfg['log.format'] as LogFormat | undefined) ?? (process.stderr.isTTY ? 'pretty' : 'json');
  const journal = stderrIsJournal();
  return createLogger({
    format,
    level: (cfg['log.level'] as LogLevel | undefined) ?? 'info',
    write: (line) => {
      // Through the terminal owner: a log line never breaks into the live status line.
      processTerminal.log(journal ? withPriority(line) : line);
      processLogs.push(line);
    },
  });
}

export function boardFor(cfg: Config): BoardProfile {
  const b = baseBoard(cfg);
  const firmata = cfg['firmata.path'] as string | undefined;
  if (!firmata) return b;
  // A Firmata I/O board replaces the profile's I2C thermal parts.
  const { i2c: _i2c, ...rest } = b;
  return {
    ...rest,
    firmata: {
      path: firmata,
      thermistorChannel: Number(cfg['firmata.thermistor'] ?? 0),
      fanPin: Number(cfg['firmata.fanPin'] ?? 9),
      tachPin: Number(cfg['firmata.tachPin'] ?? 2),
    },
  };
}

function baseBoard(cfg: Config): BoardProfile {
  const id = cfg.board as string | undefined;
  if (!id) throw new ConfigError('board: required (see `asicd boards`), e.g. --board bitaxe-gamma');
  if (id === 'generic') {
    try {
      return genericBoard({
        chip: String(cfg.chip ?? ''),
        chips: Number(cfg.chips ?? 1),
        device: String(cfg.device ?? ''),
        ...(cfg.baud !== undefined ? { baud: Number(cfg.baud) } : {}),
      });
    } catch (err) {
      throw new ConfigError((err as Error).message);
    }
  }
  const b = findBoard(id);
  if (!b) throw new ConfigError(`board: "${id}" is not a known board (see \`asicd boards\`)`);
  return b;
}

export function telemetryConfigFor(cfg: Config): TelemetryConfig {
  const url = cfg['mqtt.url'] as string | undefined;
  const listen = cfg['api.listen'] as string | undefined;
  const metrics = cfg['metrics.listen'] as string | undefined;
  return {
    ...(cfg['mqtt.deviceId'] !== undefined ? { deviceId: String(cfg['mqtt.deviceId']) } : {}),
    ...(url
      ? {
          mqtt: {
            url,
            ...(cfg['mqtt.user'] !== undefined ? { username: String(cfg['mqtt.user']) } : {}),
            ...(cfg['mqtt.pass'] !== undefined ? { password: String(cfg['mqtt.pass']) } : {}),
            ...(cfg['mqtt.ca'] !== undefined ? { caFile: String(cfg['mqtt.ca']) } : {}),
            intervalMs: Number(cfg['mqtt.interval'] ?? 10) * 1000,
            commands: cfg['mqtt.commands'] === true,
            discovery: cfg['mqtt.discovery'] !== false,
            ...(cfg['mqtt.base'] !== undefined ? { baseTopic: String(cfg['mqtt.base']) } : {}),
            ...(cfg['mqtt.haPrefix'] !== undefined ? { discoveryPrefix: String(cfg['mqtt.haPrefix']) } : {}),
          },
        }
      : {}),
    api:
      !listen || listen === 'off'
        ? null
        : { listen, allow: (cfg['api.allow'] as string[] | undefined) ?? [] },
    ...(metrics ? { metrics: { listen: metrics } } : {}),
  };
}

export interface StartOptions {
  cfg: Config;
  log: Logger;
  clock?: Clock;
  /** Start an embedded MQTT broker when no --mqtt is given (the demo). */
  embeddedBroker?: boolean;
  /** The cgminer API may move to a free port if its (default) port is taken at listen time (the demo). */
  apiAnyPortIfTaken?: boolean;
  /** Extra things to stop after the miner (the demo's embedded pool). */
  onStop?: () => Promise<void>;
  /** The state file and what was loaded from it (host/state/). */
  stateFile?: string;
  state?: StateFile;
  /**
   * Stop requests, installed by the caller before this opens any device. A request during start-up
   * stops what was opened (chips idle) and rejects with StartAborted.
   */
  stops?: StopRequests;
}

export async function startApp(o: StartOptions): Promise<App> {
  const { cfg, log } = o;
  const clock = o.clock ?? systemClock;
  const board = boardFor(cfg);
  const pools = poolsOf(cfg);
  if (pools.length === 0)
    throw new ConfigError('pools: at least one --pool URL is needed (stratum+tcp://host:port)');
  for (const p of pools)
    if (!p.user) throw new ConfigError(`user: no worker name for ${p.url} (--user address.worker)`);
  if (pools.some((p) => isSv2Url(p.url))) {
    const { checkSv2Pools } = await loadSv2Client();
    try {
      checkSv2Pools(pools, cfg['sv2.allowUnauthenticated'] === true);
    } catch (err) {
      throw new ConfigError((err as Error).message);
    }
  }
  const thermal = cfg['thermal.enabled'] !== false;
  if (!thermal) log.warn('thermal.disabled', { warning: UNMONITORED_WARNING });
  // Every listen address is tried before any device is opened (a bad one is a ConfigError).
  // (The demo's cgminer API moves to a free port if its default is taken, so it is not checked here.)
  await checkListenAddresses(cfg, o.apiAnyPortIfTaken ? ['api.listen'] : []);
  const telemetryConfig = telemetryConfigFor(cfg);
  if (o.apiAnyPortIfTaken && telemetryConfig.api) telemetryConfig.api.anyPortIfTaken = true;
  const deviceId = deriveDeviceId(
    telemetryConfig.deviceId !== undefined ? { configured: telemetryConfig.deviceId } : {},
  );
  log.info('asicd.start', { board: board.id, deviceId, config: describeConfig(cfg) });
  const stops = o.stops;
  const frequencyMhz = checkFrequency(board, cfg, log);
  const voltageMv = cfg.voltage !== undefined ? checkVoltage(board, cfg, log) : undefined;
  const hardware = await openBoardHardware(board, {
    clock,
    logger: log,
    frequencyMhz,
    noThermal: !thermal,
    ...(cfg.easyBits !== undefined ? { easyBits: Number(cfg.easyBits) } : {}),
    ...(cfg.bridge !== undefined ? { bridgeLink: String(cfg.bridge) } : {}),
    ...(voltageMv !== undefined ? { voltageMv } : {}),
    ...(board.simulated && cfg.maxHashrate !== undefined
      ? { maxHashesPerSecond: Number(cfg.maxHashrate) }
      : {}),
  });
  if (stops?.requested) {
    // The chips were not initialised, but may still hash a job of an earlier process: idle them (reset
    // held / no work) like every other stop before the port closes.
    await Promise.allSettled(hardware.chains.map((c) => c.idle()));
    log.info('chains.idle', { during: 'start-up' });
    await hardware.close();
    log.info('miner.stopped', {
      during: 'start-up',
      ms: Math.round(performance.now() - (stops.requestedAt ?? 0)),
    });
    throw new StartAborted(stops.requested);
  }
  const fan = cfg.fan === undefined || cfg.fan === 'auto' ? 'auto' : Number(cfg.fan);
  const miner = new Miner({
    board,
    hardware,
    pools: pools.map((p) => ({
      url: p.url,
      user: p.user,
      password: p.pass,
      ...(cfg['sv2.allowUnauthenticated'] === true && isSv2Url(p.url) ? { allowUnauthenticated: true } : {}),
      ...(cfg['sv2.channel'] === 'standard' && isSv2Url(p.url) ? { channel: 'standard' as const } : {}),
      ...(cfg.suggestDifficulty !== undefined ? { suggestDifficulty: Number(cfg.suggestDifficulty) } : {}),
    })),
    deviceId,
    ...(cfg.name !== undefined ? { name: String(cfg.name) } : {}),
    frequencyMhz,
    fan,
    thermal,
    ...(cfg['thermal.targetTemp'] !== undefined ? { targetTempC: Number(cfg['thermal.targetTemp']) } : {}),
    ...(cfg['thermal.maxTemp'] !== undefined ? { maxTempC: Number(cfg['thermal.maxTemp']) } : {}),
    pool: poolPolicyOf(cfg),
    clock,
    logger: log,
  });
  // A signal while the chips are enumerated or ramped stops the miner at once (chips idle first).
  stops?.setSecondSignalHooks({ safe: () => miner.chipsIdle, makeSafe: () => miner.idleChips() });
  const offStop = stops?.onStop(() => void miner.stop());
  await miner.start();
  offStop?.();
  if (stops?.requested) {
    await miner.stop();
    throw new StartAborted(stops.requested);
  }
  const source = new PersistentSource(miner, {
    ...(o.stateFile !== undefined ? { file: o.stateFile } : {}),
    ...(o.state !== undefined ? { state: o.state } : {}),
    clock,
    logger: log.child('state'),
  });
  source.start();
  let telemetry: TelemetryHandle;
  let http: HttpServer | undefined;
  try {
    http = await startHttpFor(cfg, board, source, pools, clock, log);
    telemetry = await startTelemetry(
      source,
      { ...telemetryConfig, deviceId, ...(http ? { dashboardUrl: publicUrl(http) } : {}) },
      {
        logger: log.child('telemetry'),
        embeddedBrokerWhenNoMqtt: o.embeddedBroker === true,
        embeddedCommands: cfg['mqtt.commands'] === true,
      },
    );
  } catch (err) {
    await http?.close();
    await source.stop();
    await miner.stop();
    throw err;
  }
  if (http) telemetry.hints.unshift(`Dashboard: ${http.url}`);
  let stopping: Promise<void> | undefined;
  return {
    miner,
    source,
    ...(http ? { http } : {}),
    telemetry,
    board,
    log,
    stop: () => {
      stopping ??= (async () => {
        await miner.stop();
        await http?.close();
        await source.stop();
        await telemetry.stop();
        await o.onStop?.();
        log.info('asicd.stopped');
      })();
      return stopping;
    },
  };
}

/** The dashboard address other machines can use (a wildcard listen address becomes the host name). */
function publicUrl(h: HttpServer): string {
  return h.host === '0.0.0.0' || h.host === '::' ? `http://${hostname()}:${h.port}/` : h.url;
}

function macAddress(): string {
  const ifs = networkInterfaces();
  for (const name of Object.keys(ifs).sort())
    for (const i of ifs[name] ?? [])
      if (!i.internal && i.mac && i.mac !== '00:00:00:00:00:00') return i.mac.toUpperCase();
  return '00:00:00:00:00:00';
}

/** The HTTP server when --http-listen is set (not "off"). */
async function startHttpFor(
  cfg: Config,
  board: BoardProfile,
  source: PersistentSource,
  pools: Array<{ url: string; user: string; pass: string }>,
  clock: Clock,
  log: Logger,
): Promise<HttpServer | undefined> {
  const listen = cfg['http.listen'] as string | undefined;
  if (!listen || listen === 'off') return undefined;
  const { host, port } = parseListen(listen, '--http-listen');
  const lim = board.limits;
  try {
    // Fastify and the HTTP stack load only when the HTTP server is on.
    const { startHttpServer } = await import('../http/server.ts');
    return await startHttpServer({
      source,
      persistent: source,
      host,
      port,
      ...(cfg['http.token'] !== undefined ? { token: String(cfg['http.token']) } : {}),
      openLoopback: cfg['http.openLoopback'] === true,
      corsOrigins: (cfg['http.cors'] as string[] | undefined) ?? [],
      logs: processLogs,
      clock,
      logger: log,
      device: {
        hostname: hostname(),
        macAddr: macAddress(),
        boardId: board.id,
        boardName: board.name,
        chip: board.chip,
        chips: board.chips,
        frequencyMhz: lim.frequencyMhz,
        voltageMv: lim.voltageMv,
        targetTempC: Number(cfg['thermal.targetTemp'] ?? lim.targetTempC),
        maxTempC: Number(cfg['thermal.maxTemp'] ?? lim.maxTempC),
        pools: pools.map((p) => ({ url: p.url, user: p.user, pass: p.pass })),
      },
    });
  } catch (err) {
    throw new ConfigError(`http.listen ${listen}: ${(err as Error).message}`);
  }
}

/**
 * Runs until a stop request (SIGINT/SIGTERM through `stops`, or `duration` seconds), with the live status
 * on a terminal. Resolves with the exit code: 0 after an orderly stop (within SHUTDOWN_BUDGET_MS), 1 when
 * the stop failed or overran the budget by more than a second.
 */
export async function runUntilSignalled(app: App, cfg: Config, stopRequests?: StopRequests): Promise<number> {
  const stops = stopRequests ?? new StopRequests({ log: app.log }).install();
  stops.setSecondSignalHooks({ safe: () => app.miner.chipsIdle, makeSafe: () => app.miner.idleChips() });
  const tty = process.stdout.isTTY === true;
  const showStatus = cfg.status === undefined ? tty : cfg.status === true;
  if (showStatus) {
    app.miner.startStatus(tty ? 2000 : 10_000, (s) => {
      processTerminal.status(redactText(formatStatus(s)));
    });
  }
  const duration = Number(cfg.duration ?? 0);
  return new Promise<number>((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const finish = (why: string) => {
      if (timer) clearTimeout(timer);
      if (showStatus) processTerminal.clearStatus();
      app.log.info('asicd.stopping', { why, budgetMs: SHUTDOWN_BUDGET_MS });
      const hard = setTimeout(() => {
        app.log.error('asicd.stop_timeout', {
          afterMs: SHUTDOWN_BUDGET_MS + 1000,
          chipsIdle: app.miner.chipsIdle,
        });
        resolve(app.miner.chipsIdle ? 0 : 1);
      }, SHUTDOWN_BUDGET_MS + 1000);
      hard.unref();
      app.stop().then(
        () => {
          clearTimeout(hard);
          resolve(0);
        },
        (err) => {
          clearTimeout(hard);
          app.log.error('asicd.stop_failed', { error: err as Error });
          resolve(1);
        },
      );
    };
    stops.onStop(finish);
    // A bug anywhere must not leave chips hashing unattended: fans to 100 %, chips idle, exit 1.
    const onCrash = (err: unknown) => {
      app.log.error('asicd.crash', {
        error: err instanceof Error ? (err.stack ?? err.message) : String(err),
      });
      void app.miner.emergencyStop('uncaught error').finally(() => {
        resolve(1);
        // Sockets and timers of the half-dead daemon would keep the process alive: leave for real.
        setTimeout(() => process.exit(1), 200);
      });
    };
    process.once('uncaughtException', onCrash);
    process.once('unhandledRejection', onCrash);
    if (duration > 0) timer = setTimeout(() => stops.request(`duration ${duration} s`), duration * 1000);
  });
}

/**
 * A setting the board cannot take. From the config file, env or a flag it is a ConfigError (nothing out of
 * range reaches the bus); from the state file — saved at run time, perhaps on another board — it is
 * ignored with a warning and the board's default applies.
 */
function refuseSetting(cfg: Config, log: Logger, key: string, value: number, why: string): undefined {
  const src = sourceOf(cfg, key);
  if (src !== 'state file') throw new ConfigError(`${key} (${src}): ${why}`);
  log.warn('state.setting_ignored', { key, value, why });
  return undefined;
}

/** The start frequency: the board's default, or the configured one within the board's limits. */
function checkFrequency(board: BoardProfile, cfg: Config, log: Logger): number {
  const w = board.limits.frequencyMhz;
  const mhz = cfg.frequency as number | undefined;
  if (mhz === undefined) return w.default;
  if (mhz >= w.min && mhz <= w.max) return mhz;
  return (
    refuseSetting(
      cfg,
      log,
      'frequency',
      mhz,
      `${mhz} MHz is outside ${board.id}'s ${w.min}–${w.max} MHz range (see \`asicd boards\`)`,
    ) ?? w.default
  );
}

/** --voltage must sit inside the board's window (chip model ∩ profile) and the board must be able to set it. */
function checkVoltage(board: BoardProfile, cfg: Config, log: Logger): number | undefined {
  const mv = Number(cfg.voltage);
  const r = board.power?.regulator;
  if (!r || (r.kind !== 'tps546' && r.kind !== 'ds4432u'))
    return refuseSetting(
      cfg,
      log,
      'voltage',
      mv,
      `${board.id} has no settable core regulator (see \`asicd boards\`)`,
    );
  const w = board.limits.voltageMv;
  if (!(mv >= w.min && mv <= w.max))
    return refuseSetting(
      cfg,
      log,
      'voltage',
      mv,
      `${mv} mV is outside ${board.id}'s ${w.min}–${w.max} mV window`,
    );
  return mv;
}
