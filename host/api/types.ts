/**
 * The interface between the mining daemon and everything that watches or steers it (MQTT telemetry,
 * the cgminer-compatible API, Prometheus, the Node-RED nodes through MQTT). The daemon implements
 * `MinerSource`; telemetry only ever talks to a MinerSource, so tests drive telemetry with an in-memory
 * fake and the end-to-end test swaps in the real daemon without touching telemetry.
 *
 * Contract (what an implementation must guarantee):
 * - `getState()` is cheap and synchronous (telemetry calls it on every interval, scrape and API request)
 *   and returns a self-contained snapshot: plain JSON-serialisable data (numbers, strings, booleans,
 *   null, arrays, plain objects; no bigint, no Date, no class instances). Callers must not mutate it;
 *   an implementation may return a fresh object or a frozen one.
 * - Units are fixed by the field names and doc comments: hashrates in GH/s, temperatures in °C,
 *   frequency in MHz, voltage in mV, power in W, durations in seconds, times as Unix epoch milliseconds.
 * - Secrets never appear: `PoolInfo.user` is the worker name; a pool password is never part of the
 *   state, and pool URLs carry no credentials (telemetry strips any `user:pass@` it finds anyway).
 * - A value that is not measured on this board is absent (optional fields) — never a made-up 0. A sensor
 *   that exists but cannot be read right now reports `celsius: null` (unknown), and the daemon's thermal
 *   protection treats unknown as hot.
 * - `onEvent` listeners are called synchronously from the daemon's loop; they must not throw or block
 *   (telemetry only queues work). The daemon emits `state_changed` whenever a discrete part of the state
 *   changes (mining state, overheat, active pool, fan mode, frequency, pool list) so publishers can push
 *   the new state at once instead of waiting for their interval.
 * - `control` methods resolve when the change has been applied and reject with an Error whose message
 *   says why otherwise (e.g. "pool index 3 out of range 0..1"). They never leave the hardware unsafe:
 *   `setFan({mode:'manual'})` is still subject to the daemon's thermal protection and minimum duty, and
 *   `setFrequency` clamps to `limits.frequencyMhz` (callers should validate first; telemetry rejects an
 *   out-of-range request rather than relying on the clamp).
 */

/** What the miner is doing right now. */
export type MiningState = 'running' | 'paused' | 'idle' | 'overheat';

/** Hashrate figures, all in GH/s. */
export interface HashrateFigures {
  /** Most recent short window (the daemon's own sampling period, a few seconds). */
  now: number;
  avg1m: number;
  /** cgminer's "MHS 5m" / "MHS 15m" windows (absent from sources that do not keep them). */
  avg5m?: number;
  avg15m?: number;
  avg10m: number;
  avg1h: number;
  /** Average since the daemon started (cgminer's "MHS av"). */
  sinceStart: number;
  /** What the chips should do at the current frequency (chips × cores × MHz). */
  expected: number;
}

export interface ShareStats {
  accepted: number;
  /** Total rejected (stale included). */
  rejected: number;
  /** Rejected counts by pool reason, e.g. { "duplicate": 1, "low difficulty": 2, "stale": 3 }. */
  rejectedByReason: Record<string, number>;
  /** Rejected because the job was stale (also counted in rejected / rejectedByReason.stale). */
  stale: number;
  /** Sum of the difficulties of accepted / rejected shares (cgminer's "Difficulty Accepted"). */
  acceptedDifficulty: number;
  rejectedDifficulty: number;
  /** Nonces that failed the host's check (chip hardware errors). */
  hardwareErrors: number;
  /** Blocks found (a share that met the network target). */
  blocksFound: number;
  /** Epoch ms of the last accepted share, if any. */
  lastShareTime?: number;
  /** The board's share ledger (sum of the pools'): every share found, in exactly one state. */
  ledger?: LedgerCounts;
  /** Nonces from the chips that matched no job slot, by reason (never checked, never submitted). */
  unmatchedNonces?: Record<string, number>;
}

/**
 * A share ledger (host/miner/ledger.ts). Invariants: found = submitted + staleLocal + belowPoolTarget;
 * submitted = accepted + rejected + noAnswer + pending; rejected = Σ rejectedByReason.
 */
export interface LedgerCounts {
  /** Shares the host found (met the job's pool target on the host's re-check). */
  found: number;
  /** Sent to the pool (answered or still pending). */
  submitted: number;
  accepted: number;
  rejected: number;
  /** Rejected counts by pool reason. */
  rejectedByReason: Record<string, number>;
  /** Not sent: the connection that issued the job was gone (failover, reconnect). */
  staleLocal: number;
  /** Sent, never answered (timeout or disconnect). */
  noAnswer: number;
  /** Not sent: below the pool's latest difficulty (vardiff raised it after the job). */
  belowPoolTarget: number;
  /** Sent, answer still awaited. */
  pending: number;
  /** Shares that met the network target. */
  blockCandidates: number;
  /** Block candidates the pool accepted. */
  blocksAccepted: number;
  acceptedDifficulty: number;
  rejectedDifficulty: number;
}

export interface BestDifficulty {
  session: number;
  allTime: number;
}

export type PoolStatus = 'alive' | 'connecting' | 'dead' | 'disabled';

/** One configured pool. Never carries the password. */
export interface PoolInfo {
  index: number;
  url: string;
  user: string;
  status: PoolStatus;
  /** Current share difficulty set by the pool (0 when unknown). */
  difficulty: number;
  /** Lower number = preferred. */
  priority: number;
  accepted: number;
  rejected: number;
  stale: number;
  /** This pool's share ledger. */
  ledger?: LedgerCounts;
}

/**
 * Failover state of the active pool: `primary` = mining on the preferred pool, `failover` = mining on
 * a backup because a better one is down, `none` = no pool connected.
 */
export type FailoverState = 'primary' | 'failover' | 'none';

/** The active pool (the one mining now) plus failover state. */
export interface ActivePool {
  index: number;
  url: string;
  user: string;
  status: PoolStatus;
  difficulty: number;
  failover: FailoverState;
}

export interface ChipState {
  index: number;
  /** GH/s estimated from this chip's nonces. */
  hashrate: number;
  /** Nonces from this chip that failed the host check. */
  errors: number;
  frequencyMhz?: number;
}

export interface ChainState {
  index: number;
  /** Chip model, e.g. "BM1370". */
  chipModel: string;
  /** GH/s from difficulty-weighted nonces (what the host verified). */
  hashrate: number;
  /** GH/s from the chips' own hash counters, where the chips have them (BM1366+ 0x8C, BM1397 0x04). */
  counterHashrate?: number;
  errors: number;
  frequencyMhz: number;
  /** Measured core voltage, when the board measures it. */
  voltageMv?: number;
  accepted?: number;
  rejected?: number;
  /** Shares found on this chain, in exactly one state (cgminer `devs`). */
  ledger?: LedgerCounts;
  /** Nonces from this chain that matched no job slot, by reason. */
  unmatchedNonces?: Record<string, number>;
  /** Health of the serial link to this chain (counts since start), where the chain has one. */
  link?: ChainLinkHealth;
  chips: ChipState[];
}

/** Serial-link health of one chain: counts since the daemon started. */
export interface ChainLinkHealth {
  /** Reply frames whose CRC failed. */
  crcErrors: number;
  /** Times the reply decoder lost frame sync and hunted for the next frame. */
  resyncs: number;
  /** Bytes thrown away (garbage, partial or bad frames). */
  droppedBytes: number;
  /** Frames with a good CRC that the chain did not expect (register never read, address not on the chain). */
  unknownFrames: number;
}

export interface TemperatureReading {
  /** Stable sensor name, e.g. "board", "chip0", "vr". */
  name: string;
  /** null = the sensor exists but could not be read (treated as hot by the daemon). */
  celsius: number | null;
  /** Where this sensor trips overheat protection, if known. */
  limit?: number;
}

export type FanMode = 'auto' | 'manual';

export interface FanState {
  mode: FanMode;
  /** Commanded duty, 0..100 %. */
  dutyPercent: number;
  /** Tachometer readings, one per fan (null when a fan has no tach or could not be read). */
  rpm: Array<number | null>;
}

export interface OverheatState {
  active: boolean;
  /** Epoch ms when the current overheat started. */
  since?: number;
  /** Human-readable cause, e.g. "chip0 at 91.5 °C (limit 90 °C)". */
  reason?: string;
}

export interface Range {
  min: number;
  max: number;
}

/** Limits of the board; commands outside them are refused (MQTT) or clamped (daemon). */
export interface MinerLimits {
  frequencyMhz: Range;
  /** Settable core-voltage window (mV): chip model ∩ profile ∩ regulator; absent on fixed-voltage boards. */
  voltageMv?: Range;
  /** Manual fan duty range (min may be above 0: the daemon keeps a minimum airflow while hashing). */
  fanPercent: Range;
}

export interface DeviceInfo {
  /** Stable id used in MQTT topics and Home Assistant unique ids ([a-z0-9_-]). */
  id: string;
  /** Human-readable name, e.g. "Garage Bitaxe". */
  name: string;
  /** asicd version. */
  version: string;
  /** Seconds since the daemon started. */
  uptimeS: number;
}

export interface BoardInfo {
  /** Board name from the board table, e.g. "bitaxe-gamma". */
  name: string;
  /** Marketing model, e.g. "Bitaxe Gamma 601". */
  model: string;
}

/** Totals across restarts (the state file's base plus this session), when persistence is wired. */
export interface LifetimeStats {
  bestDifficulty: number;
  accepted: number;
  rejected: number;
  blocksFound: number;
  /** Epoch ms since when these totals count. */
  since: number;
}

/** Board power figures; a figure is absent when the board does not measure it. */
export interface PowerInfo {
  /** 'off' | 'bringing-up' | 'on' | 'fault' */
  state: string;
  /** Configured core voltage, mV. */
  setMv: number;
  inputV?: number;
  coreV?: number;
  currentA?: number;
  powerW?: number;
  vrTempC?: number;
  /** J/TH from measured power and the measured hashrate. */
  efficiencyJth?: number;
  /** Latched power fault (chips stopped, core off, no retries) until cleared; `clears` says how. */
  fault?: { reason: string; time: number; latched?: true; clears?: string };
}

/** A full snapshot of the miner. */
export interface MinerState {
  /** Epoch ms when the snapshot was taken. */
  time: number;
  device: DeviceInfo;
  board: BoardInfo;
  mining: MiningState;
  overheat: OverheatState;
  hashrate: HashrateFigures;
  shares: ShareStats;
  bestDifficulty: BestDifficulty;
  /** The pool mining now; null before the first connection succeeds. */
  pool: ActivePool | null;
  pools: PoolInfo[];
  chains: ChainState[];
  temperatures: TemperatureReading[];
  fan: FanState;
  /** Board-wide frequency (MHz), when all chains share one setting. */
  frequencyMhz: number;
  /** Measured supply / core voltage in mV, when measured. */
  voltageMv?: number;
  /** Measured input power in W, when measured. */
  powerW?: number;
  /** Board power (boards with power capabilities): rails, VR temperature, efficiency, latched fault. */
  power?: PowerInfo;
  limits: MinerLimits;
  /** Totals across restarts (absent when the source does not persist). */
  lifetime?: LifetimeStats;
}

interface EventBase {
  /** Epoch ms. */
  time: number;
}

export interface ShareAcceptedEvent extends EventBase {
  type: 'share_accepted';
  pool: number;
  difficulty: number;
  chain?: number;
  chip?: number;
}

export interface ShareRejectedEvent extends EventBase {
  type: 'share_rejected';
  pool: number;
  difficulty: number;
  /** Reason given by the pool (or "stale"). */
  reason: string;
}

export interface BlockFoundEvent extends EventBase {
  type: 'block_found';
  pool: number;
  /** Block header hash, hex (display order). */
  hash: string;
  difficulty: number;
}

export interface PoolSwitchedEvent extends EventBase {
  type: 'pool_switched';
  /** Previous pool index, or null when none was active. */
  from: number | null;
  to: number;
  /** Why, e.g. "failover: pool 0 unreachable", "command", "primary back". */
  reason: string;
}

export interface OverheatEvent extends EventBase {
  type: 'overheat';
  /** true when protection trips, false when it clears. */
  active: boolean;
  sensor: string;
  celsius: number | null;
  limit: number;
}

export interface FaultEvent extends EventBase {
  type: 'fault';
  /** Component that failed, e.g. "chain0", "fan", "sensor:board", "pool". */
  component: string;
  severity: 'warning' | 'error' | 'critical';
  message: string;
}

/** A discrete part of the state changed; publishers push a fresh snapshot. Not published as an event. */
export interface StateChangedEvent extends EventBase {
  type: 'state_changed';
}

export type MinerEvent =
  | ShareAcceptedEvent
  | ShareRejectedEvent
  | BlockFoundEvent
  | PoolSwitchedEvent
  | OverheatEvent
  | FaultEvent
  | StateChangedEvent;

export type MinerEventType = MinerEvent['type'];

/** Event types that are published to users (everything but the internal state_changed hint). */
export const PUBLIC_EVENT_TYPES = [
  'share_accepted',
  'share_rejected',
  'block_found',
  'pool_switched',
  'overheat',
  'fault',
] as const satisfies readonly MinerEventType[];

export type FanSetting = { mode: 'auto' } | { mode: 'manual'; percent: number };

/** Details for `addPool` (only the cgminer API's `addpool` uses it). */
export interface NewPool {
  url: string;
  user: string;
  pass: string;
}

/**
 * What telemetry may ask the daemon to do. Every method resolves once applied and rejects with an Error
 * saying why otherwise. Optional methods may be missing; callers answer "not supported".
 */
export interface MinerControl {
  /** Stops hashing (chips idle, fans stay under thermal control). Idempotent. */
  pause(): Promise<void>;
  /** Resumes hashing. Rejects while overheat protection is active. Idempotent. */
  resume(): Promise<void>;
  setFan(setting: FanSetting): Promise<void>;
  /** Sets the chips' frequency; clamps to limits.frequencyMhz and resolves with the applied MHz. */
  setFrequency(mhz: number): Promise<number>;
  /** Makes pool `index` the active pool. Rejects when the index does not exist. */
  switchPool(index: number): Promise<void>;
  /** Restarts mining (re-initialises the chains and reconnects the pool); the process keeps running. */
  restart(): Promise<void>;
  enablePool?(index: number): Promise<void>;
  disablePool?(index: number): Promise<void>;
  /** Adds a pool at the lowest priority; resolves with its index. */
  addPool?(pool: NewPool): Promise<number>;
  /** Stops the daemon (cgminer's `quit`). */
  quit?(): Promise<void>;
  /** Sets the core voltage (mV) within limits.voltageMv; rejects outside it (regulator untouched). */
  setVoltage?(mv: number): Promise<number>;
  /** Clears a latched power fault; mining resumes through the normal bring-up. */
  clearFault?(): Promise<void>;
  /** Sets the fan controller's target temperature (°C) live; rejects outside 30 .. overheat limit − 1. */
  setTargetTemp?(celsius: number): Promise<number>;
  /** Replaces the pool list live: the old connections are drained and closed, the first pool is tried first. */
  setPools?(pools: NewPool[]): Promise<void>;
}

export type Unsubscribe = () => void;

/** What the daemon exposes to telemetry. */
export interface MinerSource {
  getState(): MinerState;
  onEvent(listener: (event: MinerEvent) => void): Unsubscribe;
  readonly control: MinerControl;
  readonly limits: MinerLimits;
}
