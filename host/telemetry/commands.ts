/**
 * The command schema shared by MQTT (and usable by any other control channel): parse and validate a
 * JSON command against the board's limits, then apply it through MinerControl. Validation happens
 * before anything is called, so a malformed or out-of-range command changes nothing.
 *
 *   { "id"?: string|number, "command": "pause" | "resume" | "restart" }
 *   { "id"?, "command": "fan", "mode": "auto" }
 *   { "id"?, "command": "fan", "mode": "manual", "percent": 0..100 (within limits.fanPercent) }
 *   { "id"?, "command": "frequency", "mhz": number within limits.frequencyMhz }
 *   { "id"?, "command": "pool", "index": integer pool index }
 *   { "id"?, "command": "voltage", "mv": number within limits.voltageMv }   (boards with a settable core)
 *   { "id"?, "command": "clear_fault" }                                     (latched power fault)
 */
import type { FanSetting, MinerControl, MinerLimits } from '../api/types.ts';

export const COMMAND_NAMES = [
  'pause',
  'resume',
  'restart',
  'fan',
  'frequency',
  'pool',
  'voltage',
  'clear_fault',
] as const;
export type CommandName = (typeof COMMAND_NAMES)[number];

export type Command =
  | { command: 'pause' | 'resume' | 'restart' }
  | { command: 'fan'; setting: FanSetting }
  | { command: 'frequency'; mhz: number }
  | { command: 'pool'; index: number }
  | { command: 'voltage'; mv: number }
  | { command: 'clear_fault' };

export type CommandId = string | number | null;

export interface CommandReply {
  id: CommandId;
  command: string | null;
  ok: boolean;
  /** On success, what was applied (e.g. { mhz: 550 }). */
  result?: Record<string, unknown>;
  /** On failure, why (names the field). */
  error?: string;
}

export type ParseResult =
  | { ok: true; id: CommandId; cmd: Command }
  | { ok: false; id: CommandId; command: string | null; error: string };

export const MAX_COMMAND_BYTES = 4096;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function numberIn(
  obj: Record<string, unknown>,
  field: string,
  min: number,
  max: number,
  integer = false,
): number {
  const v = obj[field];
  if (v === undefined) throw new Error(`field '${field}' is missing`);
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`field '${field}' must be a number`);
  if (integer && !Number.isInteger(v)) throw new Error(`field '${field}' must be an integer`);
  if (v < min || v > max) throw new Error(`field '${field}' = ${v} is out of range ${min}..${max}`);
  return v;
}

/** Parses one command message. `poolCount` bounds pool indexes. Never throws. */
export function parseCommand(
  payload: Uint8Array | string,
  limits: MinerLimits,
  poolCount: number,
): ParseResult {
  const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.byteLength;
  if (size > MAX_COMMAND_BYTES) {
    return {
      ok: false,
      id: null,
      command: null,
      error: `command too large (${size} > ${MAX_COMMAND_BYTES} bytes)`,
    };
  }
  let msg: unknown;
  try {
    msg = JSON.parse(typeof payload === 'string' ? payload : Buffer.from(payload).toString('utf8'));
  } catch (err) {
    return { ok: false, id: null, command: null, error: `malformed JSON: ${(err as Error).message}` };
  }
  if (!isRecord(msg)) return { ok: false, id: null, command: null, error: 'command must be a JSON object' };
  let id: CommandId = null;
  if (msg.id !== undefined) {
    if (
      (typeof msg.id === 'string' && msg.id.length <= 128) ||
      (typeof msg.id === 'number' && Number.isFinite(msg.id))
    ) {
      id = msg.id;
    } else {
      return {
        ok: false,
        id: null,
        command: null,
        error: "field 'id' must be a string (≤128 chars) or a number",
      };
    }
  }
  const name = msg.command;
  if (typeof name !== 'string')
    return { ok: false, id, command: null, error: "field 'command' must be a string" };
  try {
    switch (name) {
      case 'pause':
      case 'resume':
      case 'restart':
        return { ok: true, id, cmd: { command: name } };
      case 'fan': {
        const mode = msg.mode ?? (msg.percent !== undefined ? 'manual' : undefined);
        if (mode === 'auto') return { ok: true, id, cmd: { command: 'fan', setting: { mode: 'auto' } } };
        if (mode !== 'manual') throw new Error("field 'mode' must be 'auto' or 'manual'");
        const percent = numberIn(msg, 'percent', limits.fanPercent.min, limits.fanPercent.max);
        return { ok: true, id, cmd: { command: 'fan', setting: { mode: 'manual', percent } } };
      }
      case 'frequency': {
        const mhz = numberIn(msg, 'mhz', limits.frequencyMhz.min, limits.frequencyMhz.max);
        return { ok: true, id, cmd: { command: 'frequency', mhz } };
      }
      case 'voltage': {
        const w = limits.voltageMv;
        if (!w) throw new Error("this board's core voltage cannot be set (fixed or not measured)");
        const mv = numberIn(msg, 'mv', w.min, w.max);
        return { ok: true, id, cmd: { command: 'voltage', mv } };
      }
      case 'clear_fault':
        return { ok: true, id, cmd: { command: 'clear_fault' } };
      case 'pool': {
        if (poolCount === 0) throw new Error('no pools configured');
        const index = numberIn(msg, 'index', 0, poolCount - 1, true);
        return { ok: true, id, cmd: { command: 'pool', index } };
      }
      default:
        return {
          ok: false,
          id,
          command: name,
          error: `unknown command '${name.slice(0, 64)}' (known: ${COMMAND_NAMES.join(', ')})`,
        };
    }
  } catch (err) {
    return { ok: false, id, command: name, error: (err as Error).message };
  }
}

/** Applies a validated command. Resolves with the result; rejects with the daemon's reason. */
export async function applyCommand(cmd: Command, control: MinerControl): Promise<Record<string, unknown>> {
  switch (cmd.command) {
    case 'pause':
      await control.pause();
      return {};
    case 'resume':
      await control.resume();
      return {};
    case 'restart':
      await control.restart();
      return {};
    case 'fan':
      await control.setFan(cmd.setting);
      return { ...cmd.setting };
    case 'frequency':
      return { mhz: await control.setFrequency(cmd.mhz) };
    case 'pool':
      await control.switchPool(cmd.index);
      return { index: cmd.index };
    case 'voltage':
      if (!control.setVoltage) throw new Error("this board's core voltage cannot be set");
      return { mv: await control.setVoltage(cmd.mv) };
    case 'clear_fault':
      if (!control.clearFault) throw new Error('this board has no power fault to clear');
      await control.clearFault();
      return {};
  }
}
