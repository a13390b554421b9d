import { ConfigError, type loadConfig, optionsHelp } from '../config.ts';
import { poolsWithGateway, startInProcessGateway } from '../gateway/in-process.ts';
import { loggerFor, runUntilSignalled, StartAborted, startApp } from '../miner/app.ts';
import { SHUTDOWN_BUDGET_TEXT } from '../miner/shutdown.ts';
import { StopRequests } from '../miner/signals.ts';
import {
  type ConfigWithState,
  loadConfigWithState,
  stateOptions,
  userStateFile,
} from '../state/persistent.ts';

export const summary = 'mine: pool → chips → shares, with thermal protection and telemetry';
export const usage = `asicd run --board ID --pool URL [--pool URL …] --user WORKER [options]

Drives a board's chips from your pools. Boards: \`asicd boards\`; repurposed hardware:
--board generic --chip BM1370 --chips 4 --device /dev/ttyUSB0. Solo on your own node: --node-rpc URL
--payout ADDRESS starts the gateway in this process and mines through it (--pool entries fall back).
SIGINT/SIGTERM (also during start-up): chips idle first, pending shares answered or given up,
stopped within ${SHUTDOWN_BUDGET_TEXT}, exit 0; a second signal exits at once (chips already idle).

Options:
${optionsHelp('run')}`;

export async function run(argv: string[]): Promise<number> {
  let cfg: ReturnType<typeof loadConfig>;
  let loaded: ConfigWithState;
  try {
    loaded = loadConfigWithState({ command: 'run', argv }, userStateFile());
    cfg = loaded.cfg;
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`asicd run: ${err.message}`);
      return 2;
    }
    throw err;
  }
  const log = loggerFor(cfg);
  // Before any device is opened: a signal at any moment gets the same orderly stop.
  const stops = new StopRequests({ log }).install();
  // --node-rpc: the gateway in this process, first in the pool list (host/gateway/in-process.ts).
  let gateway: Awaited<ReturnType<typeof startInProcessGateway>>;
  try {
    gateway = await startInProcessGateway(cfg, log);
    if (gateway) cfg.pools = poolsWithGateway(cfg, gateway.url);
    const onStop = gateway?.stop;
    const app = await startApp({
      cfg,
      log,
      stops,
      ...stateOptions(loaded, log),
      ...(onStop ? { onStop } : {}),
    });
    return await runUntilSignalled(app, cfg, stops);
  } catch (err) {
    await gateway?.stop().catch(() => {});
    if (err instanceof StartAborted) {
      log.info('asicd.stopped', { why: err.message });
      return 0;
    }
    if (err instanceof ConfigError) {
      console.error(`asicd run: ${err.message}`);
      return 2;
    }
    log.error('asicd.failed', { error: (err as Error).message });
    return 1;
  } finally {
    stops.dispose();
    exitSoon();
  }
}

/** After the stop: leave even if a stray handle (a socket of a dead pool) would keep the loop alive. */
export function exitSoon(ms = 500): void {
  setTimeout(() => process.exit(), ms).unref();
}
