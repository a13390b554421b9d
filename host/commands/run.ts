import { ConfigError, type loadConfig, optionsHelp } from '../config.ts';
import { loggerFor, runUntilSignalled, startApp } from '../miner/app.ts';
import {
  type ConfigWithState,
  loadConfigWithState,
  stateOptions,
  userStateFile,
} from '../state/persistent.ts';

export const summary = 'mine: pool → chips → shares, with thermal protection and telemetry';
export const usage = `asicd run --board ID --pool URL [--pool URL …] --user WORKER [options]

Drives a board's chips from your pools. Boards: \`asicd boards\`; repurposed hardware:
--board generic --chip BM1370 --chips 4 --device /dev/ttyUSB0. SIGINT/SIGTERM: chips idle, pending
shares answered or given up after 2 s, exit 0.

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
  try {
    const app = await startApp({ cfg, log, ...stateOptions(loaded, log) });
    return await runUntilSignalled(app, cfg);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`asicd run: ${err.message}`);
      return 2;
    }
    log.error('asicd.failed', { error: (err as Error).message });
    return 1;
  }
}
