/**
 * Persistence around the daemon: a MinerSource decorator that every publisher (MQTT, cgminer API,
 * Prometheus, HTTP) sees instead of the bare daemon. It
 * - adds the lifetime totals (state file base + this session) and raises `bestDifficulty.allTime` to
 *   the best ever, so "all-time" survives restarts everywhere at once;
 * - records run-time setting changes that go through `control` (frequency, fan — from HTTP, MQTT,
 *   Node-RED or the cgminer API alike) and saves them to the state file;
 * - saves the lifetime totals periodically, at once when a block is found, and at stop.
 * Without a file it still works (totals for this process only) and saves nothing.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { type Clock, systemClock, type TimerHandle } from '../../lib/clock.ts';
import { type Logger, silentLogger } from '../../lib/log.ts';
import type {
  FanSetting,
  MinerControl,
  MinerEvent,
  MinerLimits,
  MinerSource,
  MinerState,
  Unsubscribe,
} from '../api/types.ts';
import {
  type Config,
  ConfigError,
  envName,
  type LoadOptions,
  loadConfig,
  OPTIONS,
  parseFlags,
} from '../config.ts';
import {
  defaultStateFile,
  emptyState,
  type LoadResult,
  loadState,
  type Settings,
  type StateFile,
  saveState,
} from './store.ts';

export interface ConfigWithState {
  cfg: Config;
  /** The state file in use (undefined: persistence off). */
  file?: string;
  loaded?: LoadResult;
  /** Saved settings that env or flags override this time (logged, so nobody wonders). */
  shadowed: string[];
  /** Saved settings refused by validation (ignored this time, with the reason). */
  dropped?: string[];
}

/** Default state file for `asicd run` without --config: $XDG_STATE_HOME/asicd/state.json. */
export function userStateFile(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_STATE_HOME || join(homedir(), '.local', 'state'), 'asicd', 'state.json');
}

/**
 * loadConfig with the state file's settings in their place in the precedence
 * (defaults < config file < state file < env < flags). `fallbackFile` is used when neither
 * --state-file nor --config names one (`run`: userStateFile(); the demo: none).
 */
export function loadConfigWithState(o: LoadOptions, fallbackFile?: string): ConfigWithState {
  const first = loadConfig(o);
  const env = o.env ?? process.env;
  const { values: flags, configFile } = parseFlags(o.argv, o.command);
  const file =
    (first['state.file'] as string | undefined) ??
    defaultStateFile(configFile ?? env.ASICD_CONFIG) ??
    fallbackFile;
  if (!file) return { cfg: first, shadowed: [] };
  const loaded = loadState(file);
  const state: Config = { ...loaded.state.settings };
  // A saved value the config validation refuses (limits changed, file edited) is dropped with a
  // warning rather than stopping the daemon from starting: the config file and flags still apply.
  const dropped: string[] = [];
  let cfg: Config | undefined;
  while (!cfg) {
    try {
      cfg = loadConfig({ ...o, state });
    } catch (err) {
      const key = Object.keys(state).find((k) => (err as Error).message.startsWith(`${k} (state file)`));
      if (!(err instanceof ConfigError) || key === undefined) throw err;
      dropped.push(`${(err as Error).message}`);
      delete state[key];
    }
  }
  const shadowed = Object.keys(state).filter((k) => {
    const opt = OPTIONS.find((x) => x.key === k);
    return k in flags || (opt !== undefined && (env[envName(opt)] ?? '') !== '');
  });
  return { cfg, file, loaded, shadowed, dropped };
}

/** What startApp needs from loadConfigWithState, with one log line about the state file. */
export function stateOptions(c: ConfigWithState, log: Logger): { stateFile?: string; state?: StateFile } {
  if (!c.file) {
    log.info('state.off', {
      why: 'no --state-file or --config: run-time changes and lifetime totals are not saved',
    });
    return {};
  }
  const l = c.loaded!;
  log.info('state.loaded', {
    file: c.file,
    status: l.status,
    ...(l.reason ? { reason: l.reason } : {}),
    settings: Object.keys(l.state.settings),
  });
  if (l.status === 'corrupt')
    log.warn('state.corrupt', { file: c.file, reason: l.reason, movedTo: l.movedTo });
  for (const d of c.dropped ?? []) log.warn('state.setting_ignored', { reason: d });
  if (c.shadowed.length)
    log.warn('state.shadowed', {
      keys: c.shadowed,
      why: 'set by env or flags, which override saved settings',
    });
  return { stateFile: c.file, state: l.state };
}

export interface PersistentOptions {
  file?: string;
  state?: StateFile;
  clock?: Clock;
  logger?: Logger;
  /** Lifetime totals are saved this often when they changed (default 60 s). */
  saveEveryMs?: number;
}

export class PersistentSource implements MinerSource {
  readonly control: MinerControl;
  readonly limits: MinerLimits;
  private readonly inner: MinerSource;
  private readonly file: string | undefined;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly state: StateFile;
  /** Lifetime totals as loaded (this session's counts are added on top). */
  private readonly base: StateFile['lifetime'];
  private timer: TimerHandle | undefined;
  private unsub: Unsubscribe | undefined;
  private lastSaved = '';

  constructor(inner: MinerSource, o: PersistentOptions = {}) {
    this.inner = inner;
    this.limits = inner.limits;
    this.file = o.file;
    this.clock = o.clock ?? systemClock;
    this.log = o.logger ?? silentLogger;
    this.state = structuredClone(o.state ?? emptyState(Date.now()));
    this.base = { ...this.state.lifetime };
    const c = inner.control;
    this.control = {
      ...c,
      pause: () => c.pause(),
      resume: () => c.resume(),
      restart: () => c.restart(),
      switchPool: (i) => c.switchPool(i),
      setFan: async (s: FanSetting) => {
        await c.setFan(s);
        this.saveSettings({ fan: s.mode === 'auto' ? 'auto' : s.percent });
      },
      setFrequency: async (mhz: number) => {
        const applied = await c.setFrequency(mhz);
        this.saveSettings({ frequency: applied });
        return applied;
      },
    };
    if (c.enablePool) this.control.enablePool = (i) => c.enablePool!(i);
    if (c.disablePool) this.control.disablePool = (i) => c.disablePool!(i);
    if (c.addPool) this.control.addPool = (p) => c.addPool!(p);
    if (c.quit) this.control.quit = () => c.quit!();
    // Run-time changes of these persist too, whichever channel made them (HTTP, MQTT, Node-RED).
    if (c.setVoltage)
      this.control.setVoltage = async (mv) => {
        const applied = await c.setVoltage!(mv);
        this.saveSettings({ voltage: applied });
        return applied;
      };
    if (c.setTargetTemp)
      this.control.setTargetTemp = async (t) => {
        const applied = await c.setTargetTemp!(t);
        this.saveSettings({ 'thermal.targetTemp': applied });
        return applied;
      };
    if (c.setPools)
      this.control.setPools = async (pools) => {
        await c.setPools!(pools);
        this.saveSettings({ pools: pools.map((p) => ({ url: p.url, user: p.user, pass: p.pass })) });
      };
  }

  get stateFile(): string | undefined {
    return this.file;
  }

  /** Saved settings (what the next start will use unless env/flags say otherwise). */
  get settings(): Settings {
    return structuredClone(this.state.settings);
  }

  start(saveEveryMs = 60_000): void {
    this.unsub = this.inner.onEvent((e) => {
      if (e.type === 'block_found') this.save('block found');
    });
    this.timer = this.clock.setInterval(() => this.save(), saveEveryMs);
  }

  async stop(): Promise<void> {
    this.clock.clearInterval(this.timer);
    this.unsub?.();
    this.save('stop');
  }

  getState(): MinerState {
    const s = this.inner.getState();
    const best = Math.max(this.base.bestDifficulty, s.bestDifficulty.allTime, s.bestDifficulty.session);
    return {
      ...s,
      bestDifficulty: { session: s.bestDifficulty.session, allTime: best },
      lifetime: {
        bestDifficulty: best,
        accepted: this.base.accepted + s.shares.accepted,
        rejected: this.base.rejected + s.shares.rejected,
        blocksFound: this.base.blocksFound + s.shares.blocksFound,
        since: this.base.since,
      },
    };
  }

  onEvent(listener: (e: MinerEvent) => void): Unsubscribe {
    return this.inner.onEvent(listener);
  }

  /** Merges run-time settings and saves at once (a setting must not wait for the periodic save). */
  saveSettings(patch: Settings): void {
    Object.assign(this.state.settings, patch);
    this.save('settings');
  }

  /** Writes the state file when something changed. Never throws (a full disk must not stop mining). */
  save(why?: string): void {
    if (!this.file) return;
    const lt = this.getState().lifetime!;
    this.state.lifetime = lt;
    const body = JSON.stringify({ s: this.state.settings, l: lt });
    if (body === this.lastSaved) return;
    try {
      saveState(this.file, { ...this.state, savedAt: Date.now() });
      this.lastSaved = body;
      if (why) this.log.debug('state.saved', { file: this.file, why });
    } catch (err) {
      this.log.warn('state.save_failed', { file: this.file, error: (err as Error).message });
    }
  }
}
