/**
 * The state file: settings changed at run time (HTTP, MQTT, Node-RED, cgminer API) and lifetime totals
 * (all-time best difficulty, shares, blocks found), kept in a small JSON file beside the config.
 *
 * Writes are atomic: the new content goes to `<file>.tmp`, is fsynced, renamed over the old file, and
 * the directory is fsynced, so after a power cut the file holds either the old or the new content. A
 * file that is still unreadable (truncated by a lying SD card, edited by hand) is moved aside to
 * `<file>.corrupt-<time>` with one clear log line, and asicd starts from an empty state: the config
 * file and flags still apply, nothing else is lost.
 *
 * Precedence (documented in the README): defaults < config file < state file < ASICD_* env < flags.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { type Logger, silentLogger } from '../../lib/log.ts';

export const STATE_VERSION = 1;

/** Config keys that run-time changes may set (the rest of the config is the user's file). */
export const PERSISTED_KEYS = ['frequency', 'fan', 'thermal.targetTemp', 'pools', 'voltage'] as const;
export type PersistedKey = (typeof PERSISTED_KEYS)[number];

export interface PersistedPool {
  url: string;
  user: string;
  pass: string;
}

export interface Settings {
  frequency?: number;
  fan?: 'auto' | number;
  'thermal.targetTemp'?: number;
  pools?: PersistedPool[];
  /** Core voltage, mV (boards with a settable regulator). */
  voltage?: number;
}

export interface Lifetime {
  /** Best share difficulty ever (across restarts). */
  bestDifficulty: number;
  accepted: number;
  rejected: number;
  blocksFound: number;
  /** Epoch ms of the first start that wrote this file. */
  since: number;
}

export interface StateFile {
  version: number;
  savedAt: number;
  settings: Settings;
  lifetime: Lifetime;
}

export function emptyState(now = Date.now()): StateFile {
  return {
    version: STATE_VERSION,
    savedAt: now,
    settings: {},
    lifetime: { bestDifficulty: 0, accepted: 0, rejected: 0, blocksFound: 0, since: now },
  };
}

const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const count = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;

/** Checks a parsed document; returns the reason it is unusable, or undefined. */
export function validateState(doc: unknown): string | undefined {
  if (!isObj(doc)) return 'not a JSON object';
  if (doc.version !== STATE_VERSION)
    return `version ${JSON.stringify(doc.version)} (expected ${STATE_VERSION})`;
  if (!isObj(doc.settings)) return 'settings missing';
  if (!isObj(doc.lifetime)) return 'lifetime missing';
  for (const k of ['bestDifficulty', 'accepted', 'rejected', 'blocksFound', 'since'] as const)
    if (!count(doc.lifetime[k])) return `lifetime.${k} is not a non-negative number`;
  for (const k of Object.keys(doc.settings))
    if (!(PERSISTED_KEYS as readonly string[]).includes(k)) return `settings.${k} is not a persisted key`;
  const pools = doc.settings.pools;
  if (
    pools !== undefined &&
    (!Array.isArray(pools) ||
      !pools.every((p) => isObj(p) && typeof p.url === 'string' && typeof p.user === 'string'))
  )
    return 'settings.pools must be a list of { url, user, pass }';
  return undefined;
}

export interface LoadResult {
  state: StateFile;
  /** 'missing' (first start), 'ok', or 'corrupt' (moved aside to `movedTo`). */
  status: 'missing' | 'ok' | 'corrupt';
  reason?: string;
  movedTo?: string;
}

/** Reads the state file. Never throws for a missing or bad file (see the module comment). */
export function loadState(file: string, log: Logger = silentLogger, now = Date.now()): LoadResult {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      return { state: emptyState(now), status: 'missing' };
    throw new Error(`state file ${file}: ${(err as Error).message}`);
  }
  let reason: string | undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(text);
    reason = validateState(doc);
  } catch (err) {
    reason = `not valid JSON (${(err as Error).message})`;
  }
  if (reason === undefined) return { state: doc as StateFile, status: 'ok' };
  const movedTo = `${file}.corrupt-${now}`;
  try {
    renameSync(file, movedTo);
  } catch {}
  log.warn('state.corrupt', { file, reason, movedTo, action: 'starting from an empty state' });
  return { state: emptyState(now), status: 'corrupt', reason, movedTo };
}

/** Writes atomically: tmp file, fsync, rename, fsync of the directory. Mode 0600 (pool passwords). */
export function saveState(file: string, state: StateFile): void {
  const tmp = `${file}.tmp`;
  const data = `${JSON.stringify(state, null, 2)}\n`;
  mkdirSync(dirname(file), { recursive: true });
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  try {
    const dfd = openSync(dirname(file), 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    // Some file systems refuse fsync on a directory; the rename itself is still atomic there.
  }
}

/** The default place of the state file: beside the config file (`asicd.yaml` → `asicd.state.json`). */
export function defaultStateFile(configFile: string | undefined): string | undefined {
  if (!configFile) return undefined;
  return `${configFile.replace(/\.(ya?ml|json)$/i, '')}.state.json`;
}
