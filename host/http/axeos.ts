/**
 * The AxeOS (ESP-Miner) REST shapes, as pure functions of a MinerState: what `GET /api/system/info`,
 * `/api/system/asic` and `/api/system/statistics` answer, and how a `PATCH /api/system` body becomes
 * validated actions. Field names and units follow ESP-Miner's http_server.c / openapi.yaml as recorded
 * in REFERENCE.md (with the places we were unsure). A value asicd does not measure is left out rather
 * than sent as a made-up 0.
 */
import { sanitizePoolUrl } from '../api/sanitize.ts';
import type { FanSetting, MinerState } from '../api/types.ts';
import type { PersistedPool } from '../state/store.ts';
import type { HashrateHistory, SeriesName } from './history.ts';

/** Small cores per chip (ESP-Miner's asic drivers): hashrate = frequency × smallCores × chips / 1000. */
export const SMALL_CORES: Record<string, number> = { BM1397: 672, BM1366: 894, BM1368: 1276, BM1370: 2040 };

export interface Range3 {
  min: number;
  max: number;
  default: number;
}

/** What the API needs beyond the state snapshot (fixed at start). */
export interface DeviceContext {
  hostname: string;
  macAddr: string;
  boardId: string;
  boardName: string;
  chip: string;
  chips: number;
  frequencyMhz: Range3;
  voltageMv: Range3;
  /** Fan PID target in force (°C) and the overheat limit. */
  targetTempC: number;
  maxTempC: number;
  /** Pools in priority order, with credentials (passwords are never served). */
  pools: PersistedPool[];
}

const splitStratum = (url: string): { host: string; port: number; tls: boolean } => {
  const clean = sanitizePoolUrl(url);
  const m = /^(?:([a-z0-9+.-]+):\/\/)?(\[[^\]]+\]|[^:/]+)(?::(\d+))?/i.exec(clean);
  return {
    host: m?.[2] ?? clean,
    port: m?.[3] ? Number(m[3]) : 3333,
    tls: /ssl|tls/i.test(m?.[1] ?? ''),
  };
};

const flag = (b: boolean) => (b ? 1 : 0);

/** Board power figures in ESP-Miner's units (mV, mA, W, °C), each absent when not measured. */
export interface AxePower {
  power?: number;
  /** Input voltage, mV. */
  voltage?: number;
  /** Output current, mA (ESP-Miner: the regulator's IOUT or the INA260's current). */
  current?: number;
  /** Core voltage setting, mV (boards with a power controller). */
  coreVoltage?: number;
  /** Measured core voltage, mV. */
  coreVoltageActual?: number;
  vrTemp?: number;
  /** J/TH from measured power and hashrate (asicd extension). */
  efficiency?: number;
}

const r2 = (x: number) => Math.round(x * 100) / 100;

export function axePower(s: MinerState): AxePower {
  const p = s.power;
  const out: AxePower = {};
  const watts = p?.powerW ?? s.powerW;
  if (watts !== undefined) out.power = watts;
  if (p?.inputV !== undefined) out.voltage = r2(p.inputV * 1000);
  if (p?.currentA !== undefined) out.current = r2(p.currentA * 1000);
  if (p) out.coreVoltage = p.setMv;
  if (p?.coreV !== undefined) out.coreVoltageActual = Math.round(p.coreV * 1000);
  else if (s.voltageMv !== undefined) out.coreVoltageActual = s.voltageMv;
  const vrSensor = s.temperatures.find((t) => /^vr/i.test(t.name) && t.celsius !== null);
  if (p?.vrTempC !== undefined) out.vrTemp = p.vrTempC;
  else if (vrSensor) out.vrTemp = vrSensor.celsius as number;
  if (p?.efficiencyJth !== undefined) out.efficiency = p.efficiencyJth;
  else if (watts !== undefined && s.hashrate.avg1m > 0)
    out.efficiency = r2(watts / (s.hashrate.avg1m / 1000));
  return out;
}

const protocolOf = (url: string) => (/^stratum2\+|^sv2/i.test(url) ? 'SV2' : 'SV1');

/**
 * Fields asicd adds to ESP-Miner's `GET /api/system/info` (every other field it serves has ESP-Miner's
 * name and JSON type; the test compares with test/fixtures/axeos/esp-miner-v2.15.0.json).
 */
export const INFO_EXTENSIONS = ['asicCount', 'deviceModel', 'efficiency'] as const;

/** GET /api/system/info. */
export function systemInfo(s: MinerState, ctx: DeviceContext, version: string): Record<string, unknown> {
  const chipTemps = s.temperatures.filter((t) => t.celsius !== null && !/^vr/i.test(t.name));
  const primary = s.pools[0];
  const fallback = s.pools[1];
  const p0 = primary ? splitStratum(primary.url) : undefined;
  const p1 = fallback ? splitStratum(fallback.url) : undefined;
  const chips = s.chains.reduce((n, c) => n + c.chips.length, 0) || ctx.chips;
  const model = s.chains[0]?.chipModel ?? ctx.chip;
  const rpm = s.fan.rpm.find((r) => r !== null);
  const reasons = Object.entries(s.shares.rejectedByReason)
    .filter(([, n]) => n > 0)
    .map(([message, count]) => ({ message, count }));
  const info: Record<string, unknown> = {
    ...axePower(s),
    hashRate: s.hashrate.avg1m > 0 ? s.hashrate.avg1m : s.hashrate.now,
    hashRate_1m: s.hashrate.avg1m,
    hashRate_10m: s.hashrate.avg10m,
    hashRate_1h: s.hashrate.avg1h,
    expectedHashrate: s.hashrate.expected,
    bestDiff: s.bestDifficulty.allTime,
    bestSessionDiff: s.bestDifficulty.session,
    poolDifficulty: s.pool?.difficulty ?? 0,
    sharesAccepted: s.shares.accepted,
    sharesRejected: s.shares.rejected,
    sharesRejectedReasons: reasons,
    ...(s.shares.ledger ? { sharesPending: s.shares.ledger.pending } : {}),
    blockFound: flag(s.shares.blocksFound > 0),
    uptimeSeconds: Math.floor(s.device.uptimeS),
    asicCount: chips,
    smallCoreCount: SMALL_CORES[model] ?? 0,
    ASICModel: model,
    frequency: s.frequencyMhz,
    actualFrequency: s.frequencyMhz,
    fanspeed: s.fan.dutyPercent,
    autofanspeed: flag(s.fan.mode === 'auto'),
    ...(s.fan.mode === 'manual' ? { manualFanSpeed: s.fan.dutyPercent } : {}),
    minFanSpeed: s.limits.fanPercent.min,
    temptarget: ctx.targetTempC,
    overheat_mode: flag(s.overheat.active),
    miningPaused: s.mining === 'paused',
    ...(s.power?.fault ? { power_fault: s.power.fault.reason } : {}),
    pools: s.pools.map((p) => {
      const u = splitStratum(p.url);
      return {
        id: p.index,
        stratumProtocol: protocolOf(p.url),
        stratumURL: u.host,
        stratumPort: u.port,
        stratumUser: p.user,
        stratumTLS: flag(u.tls),
      };
    }),
    primaryPoolIndex: 0,
    secondaryPoolIndex: 1,
    useFallbackStratum: flag(s.pools.length > 1),
    stratumURL: p0?.host ?? '',
    stratumPort: p0?.port ?? 0,
    stratumUser: primary?.user ?? '',
    stratumProtocol: primary ? protocolOf(primary.url) : 'SV1',
    stratumTLS: flag(p0?.tls ?? false),
    fallbackStratumURL: p1?.host ?? '',
    fallbackStratumPort: p1?.port ?? 0,
    fallbackStratumUser: fallback?.user ?? '',
    fallbackStratumProtocol: fallback ? protocolOf(fallback.url) : 'SV1',
    fallbackStratumTLS: flag(p1?.tls ?? false),
    isUsingFallbackStratum: flag((s.pool?.index ?? 0) > 0),
    hostname: ctx.hostname,
    macAddr: ctx.macAddr,
    version,
    axeOSVersion: version,
    idfVersion: 'asicd',
    boardVersion: ctx.boardId,
    deviceModel: ctx.boardName,
    runningPartition: 'asicd',
  };
  if (chipTemps.length) info.temp = Math.max(...chipTemps.map((t) => t.celsius as number));
  if (rpm !== undefined) info.fanrpm = rpm;
  return info;
}

/** GET /api/system/asic: the chip and the settings a UI may offer. */
export function asicInfo(s: MinerState, ctx: DeviceContext): Record<string, unknown> {
  const f = ctx.frequencyMhz;
  const steps = [f.min, f.default, f.max];
  for (let x = Math.ceil(f.min / 25) * 25; x <= f.max; x += 25) steps.push(x);
  return {
    ASICModel: s.chains[0]?.chipModel ?? ctx.chip,
    deviceModel: ctx.boardName,
    asicCount: ctx.chips,
    defaultFrequency: f.default,
    frequencyOptions: [...new Set(steps)].sort((a, b) => a - b),
    defaultVoltage: ctx.voltageMv.default,
    voltageOptions: [ctx.voltageMv.min, ctx.voltageMv.default, ctx.voltageMv.max],
    // asicd extensions: the exact ranges PATCH accepts.
    frequencyRange: { min: s.limits.frequencyMhz.min, max: s.limits.frequencyMhz.max },
    fanspeedRange: { min: s.limits.fanPercent.min, max: s.limits.fanPercent.max },
  };
}

/** ESP-Miner's statistics columns asicd keeps (units as ESP-Miner: GH/s, °C, mV, W, mA, %, rpm). */
const STAT_COLUMNS: Record<string, SeriesName> = {
  hashrate: 'hashrate',
  asicTemp: 'temp',
  vrTemp: 'vrTemp',
  asicVoltage: 'asicVoltage',
  voltage: 'voltage',
  power: 'power',
  current: 'current',
  fanSpeed: 'fanPercent',
  fanRpm: 'fanRpm',
};

/**
 * GET /api/system/statistics[?columns=a,b]: ESP-Miner's layout — `labels` name the columns and end with
 * `timestamp`; each row holds the values then the ms since start (ESP-Miner: since boot).
 */
export function statistics(
  h: HashrateHistory,
  startedAt: number,
  now: number,
  columns?: string,
): Record<string, unknown> {
  const asked = columns ? columns.split(',').filter((c) => c in STAT_COLUMNS) : [];
  const wanted = asked.length
    ? Object.keys(STAT_COLUMNS).filter((c) => asked.includes(c))
    : Object.keys(STAT_COLUMNS);
  const w = h.window();
  const rows = w.time.map((t, i) => [
    ...wanted.map((c) => w.series[STAT_COLUMNS[c]!][i] ?? 0),
    Math.max(0, Math.round(t - startedAt)),
  ]);
  return {
    currentTimestamp: Math.max(0, Math.round(now - startedAt)),
    labels: [...wanted, 'timestamp'],
    statistics: rows,
  };
}

// ---- PATCH /api/system ------------------------------------------------------------------------------

/** AxeOS settings asicd accepts and ignores (Wi-Fi, display, OTA-side things a Pi does not have). */
export const IGNORED_FIELDS = [
  'ssid',
  'wifiPass',
  'hostname',
  'flipscreen',
  'invertscreen',
  'displayTimeout',
  'displayOffset',
  'overclockEnabled',
  'statsFrequency',
  'display',
  'rotation',
  'useCustomWWW',
  'useFallbackStratum',
  'stratumSuggestedDifficulty',
  'stratumExtranonceSubscribe',
  'stratumCert',
  'stratumDecodeCoinbase',
  'fallbackStratumSuggestedDifficulty',
  'fallbackStratumExtranonceSubscribe',
  'fallbackStratumCert',
  'fallbackStratumDecodeCoinbase',
] as const;

const FLAG = { type: ['integer', 'boolean'] } as const;
const POOL_FIELDS = {
  stratumURL: { type: 'string', minLength: 1, maxLength: 255 },
  stratumPort: { type: 'integer', minimum: 1, maximum: 65535 },
  stratumUser: { type: 'string', minLength: 1, maxLength: 255 },
  stratumPassword: { type: 'string', maxLength: 255 },
  stratumTLS: { type: ['integer', 'boolean'], description: '0 = plain TCP, 1 = TLS (stratum+ssl)' },
  stratumProtocol: { type: 'string', enum: ['SV1', 'SV2'] },
} as const;
const prefixed = (prefix: string) =>
  Object.fromEntries(
    Object.entries(POOL_FIELDS).map(([k, v]) => [`${prefix}${k[0]!.toUpperCase()}${k.slice(1)}`, v]),
  );

/** The JSON schema of the PATCH body (Fastify validates types before patchPlan checks ranges). */
export const PATCH_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    ...POOL_FIELDS,
    fallbackStratumURL: { type: 'string', maxLength: 255 },
    ...Object.fromEntries(Object.entries(prefixed('fallback')).filter(([k]) => k !== 'fallbackStratumURL')),
    pools: {
      type: 'array',
      maxItems: 8,
      description: 'ESP-Miner v2.15 pool list: id 0 = primary, id 1 = fallback',
      items: {
        type: 'object',
        required: ['id'],
        additionalProperties: false,
        properties: {
          id: { type: 'integer', minimum: 0, maximum: 7 },
          ...POOL_FIELDS,
          stratumURL: { type: 'string', maxLength: 255 },
          stratumSuggestedDifficulty: {},
          stratumExtranonceSubscribe: {},
          stratumCert: {},
          stratumDecodeCoinbase: {},
          stratumV2ChannelType: {},
          stratumV2AuthorityPubkey: {},
          stratumV2RequireAuth: {},
        },
      },
    },
    primaryPoolIndex: { type: 'integer', minimum: 0 },
    secondaryPoolIndex: { type: 'integer', minimum: 0 },
    frequency: { type: 'number', description: 'MHz, within /api/system/asic frequencyRange' },
    coreVoltage: { type: 'number', description: 'mV, within the board regulator window' },
    autofanspeed: { ...FLAG, description: '1 = automatic (PID), 0 = manual fan speed' },
    manualFanSpeed: { type: 'number', description: 'manual fan duty, % (ESP-Miner ≥ 2.11)' },
    fanspeed: { type: 'number', description: 'manual fan duty, % (ESP-Miner ≤ 2.10 name)' },
    minFanSpeed: { type: 'number', description: "% — asicd keeps the board's minimum; lower is refused" },
    temptarget: { type: 'number', description: 'fan PID target, °C' },
    overheat_mode: { type: 'integer', minimum: 0, maximum: 1 },
    ...Object.fromEntries(IGNORED_FIELDS.map((f) => [f, {}])),
  },
} as const;

export interface PatchPlan {
  frequency?: number;
  fan?: FanSetting;
  targetTempC?: number;
  coreVoltageMv?: number;
  /** The whole new pool list (primary, fallback, rest), when any stratum field changed. */
  pools?: PersistedPool[];
  ignored: string[];
}

export class PatchError extends Error {
  override readonly name = 'PatchError';
}

const HOST_RE = /^(?:[a-z0-9+.-]+:\/\/)?(?:\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::\d{1,5})?$/i;

function poolUrl(raw: string, port: number | undefined, old: PersistedPool | undefined): string {
  if (!HOST_RE.test(raw)) throw new PatchError(`stratumURL "${raw.slice(0, 80)}" is not a host name or URL`);
  const m = /^(?:([a-z0-9+.-]+):\/\/)?(\[[^\]]+\]|[^:/]+)(?::(\d+))?$/i.exec(raw)!;
  const prev = old ? splitStratum(old.url) : undefined;
  const scheme = m[1] ?? (prev?.tls ? 'stratum+ssl' : 'stratum+tcp');
  const p = port ?? (m[3] ? Number(m[3]) : (prev?.port ?? 3333));
  if (p < 1 || p > 65535) throw new PatchError(`stratum port ${p} is out of range 1..65535`);
  return `${scheme}://${m[2]}:${p}`;
}

function withTls(url: string, tls: boolean): string {
  const s = splitStratum(url);
  if (/^stratum2\+/i.test(url)) return url;
  return `${tls ? 'stratum+ssl' : 'stratum+tcp'}://${s.host}:${s.port}`;
}

function withPort(url: string, port: number): string {
  const s = splitStratum(url);
  return `${s.tls ? 'stratum+ssl' : 'stratum+tcp'}://${s.host}:${port}`;
}

/**
 * Validates a PATCH body (already type-checked by the schema) against the board's limits and turns it
 * into a plan. Throws PatchError naming the field; nothing is applied when it throws.
 */
export function patchPlan(body: Record<string, unknown>, s: MinerState, ctx: DeviceContext): PatchPlan {
  const plan: PatchPlan = { ignored: [] };
  const num = (k: string) => body[k] as number | undefined;
  const range = (k: string, v: number, min: number, max: number, unit: string) => {
    if (!Number.isFinite(v) || v < min || v > max)
      throw new PatchError(`${k} ${v} ${unit} is outside the board's range ${min}..${max} ${unit}`);
  };
  for (const f of IGNORED_FIELDS) if (f in body) plan.ignored.push(f);
  const freq = num('frequency');
  if (freq !== undefined) {
    range('frequency', freq, s.limits.frequencyMhz.min, s.limits.frequencyMhz.max, 'MHz');
    plan.frequency = freq;
  }
  const cv = num('coreVoltage');
  if (cv !== undefined) {
    range('coreVoltage', cv, ctx.voltageMv.min, ctx.voltageMv.max, 'mV');
    plan.coreVoltageMv = cv;
  }
  const auto = body.autofanspeed;
  if (
    body.manualFanSpeed !== undefined &&
    body.fanspeed !== undefined &&
    body.manualFanSpeed !== body.fanspeed
  )
    throw new PatchError('manualFanSpeed and fanspeed disagree (both set the manual duty)');
  const duty = num('manualFanSpeed') ?? num('fanspeed');
  const minFan = num('minFanSpeed');
  if (minFan !== undefined) {
    if (!(minFan >= s.limits.fanPercent.min) || minFan > 100)
      throw new PatchError(
        `minFanSpeed ${minFan} % is below the board's minimum airflow while hashing (${s.limits.fanPercent.min} %)`,
      );
    plan.ignored.push('minFanSpeed');
  }
  if (duty !== undefined)
    range('manualFanSpeed', duty, s.limits.fanPercent.min, s.limits.fanPercent.max, '%');
  if (auto === 1 || auto === true) plan.fan = { mode: 'auto' };
  else if (auto === 0 || auto === false) {
    const percent = duty ?? s.fan.dutyPercent;
    range('manualFanSpeed', percent, s.limits.fanPercent.min, s.limits.fanPercent.max, '%');
    plan.fan = { mode: 'manual', percent };
  } else if (auto !== undefined) throw new PatchError('autofanspeed must be 0 or 1');
  else if (duty !== undefined) plan.fan = { mode: 'manual', percent: duty };
  const tt = num('temptarget');
  if (tt !== undefined) {
    range('temptarget', tt, 35, Math.min(80, ctx.maxTempC - 1), '°C');
    plan.targetTempC = tt;
  }
  if (body.overheat_mode === 1) throw new PatchError('overheat_mode can only be cleared (0); asicd sets it');
  if (body.overheat_mode === 0) plan.ignored.push('overheat_mode');

  // ESP-Miner v2.15's `pools` list: id 0 is the primary, id 1 the fallback (the legacy fields' slots).
  if (body.primaryPoolIndex !== undefined && body.primaryPoolIndex !== 0)
    throw new PatchError('primaryPoolIndex: asicd keeps the primary pool at index 0 (reorder with pools[])');
  if (body.secondaryPoolIndex !== undefined && body.secondaryPoolIndex !== 1)
    throw new PatchError('secondaryPoolIndex: asicd keeps the fallback pool at index 1');
  if (body.primaryPoolIndex !== undefined) plan.ignored.push('primaryPoolIndex');
  if (body.secondaryPoolIndex !== undefined) plan.ignored.push('secondaryPoolIndex');
  const fields = { ...body };
  for (const item of (body.pools as Array<Record<string, unknown>> | undefined) ?? []) {
    const id = item.id as number;
    if (id > 1)
      throw new PatchError(`pools[id=${id}]: asicd takes the primary (id 0) and fallback (id 1) here`);
    const prefix = id === 0 ? '' : 'fallback';
    for (const k of Object.keys(POOL_FIELDS)) {
      if (!(k in item)) continue;
      const name = prefix ? `${prefix}${k[0]!.toUpperCase()}${k.slice(1)}` : k;
      if (name in body) throw new PatchError(`${name} is set both directly and in pools[id=${id}]`);
      fields[name] = item[k];
    }
  }
  for (const p of ['stratumProtocol', 'fallbackStratumProtocol'])
    if (fields[p] === 'SV2')
      throw new PatchError(
        `${p}: SV2 pools are set with their URL (stratum2+tcp://host:port/<authority key>) in --pool or the config file`,
      );
  const stratum = Object.keys(POOL_FIELDS).flatMap((k) => [k, `fallback${k[0]!.toUpperCase()}${k.slice(1)}`]);
  if (stratum.some((k) => k in fields && !/Protocol$/.test(k))) {
    const pools = ctx.pools.map((p) => ({ ...p }));
    const body = fields;
    const edit = (i: number, prefix: string) => {
      const U = prefix ? `${prefix}StratumURL` : 'stratumURL';
      const P = prefix ? `${prefix}StratumPort` : 'stratumPort';
      const N = prefix ? `${prefix}StratumUser` : 'stratumUser';
      const W = prefix ? `${prefix}StratumPassword` : 'stratumPassword';
      const T = prefix ? `${prefix}StratumTLS` : 'stratumTLS';
      if (![U, P, N, W, T].some((k) => k in body)) return;
      const url = body[U] as string | undefined;
      const tls = body[T] === undefined ? undefined : body[T] === true || Number(body[T]) >= 1;
      if (url === '' && i > 0) {
        if ([P, N, W].some((k) => body[k] !== undefined && body[k] !== ''))
          throw new PatchError(`${U} is empty but other ${prefix} pool fields are set`);
        pools.splice(i, 1); // AxeOS: an empty fallback URL means "no fallback"
        return;
      }
      const old = pools[i];
      if (!old && url === undefined) throw new PatchError(`${U} is needed to add pool ${i}`);
      const port = body[P] as number | undefined;
      const base =
        url !== undefined
          ? poolUrl(url, port, old)
          : port !== undefined
            ? withPort(old!.url, port)
            : old!.url;
      const next: PersistedPool = {
        url: tls === undefined ? base : withTls(base, tls),
        user: (body[N] as string | undefined) ?? old?.user ?? pools[0]?.user ?? '',
        pass: (body[W] as string | undefined) ?? old?.pass ?? 'x',
      };
      if (!next.user) throw new PatchError(`${N} is needed for pool ${i}`);
      if (i < pools.length) pools[i] = next;
      else pools.push(next);
    };
    edit(0, '');
    if (pools.length === 0) throw new PatchError('stratumURL is needed');
    edit(1, 'fallback');
    plan.pools = pools;
  }
  return plan;
}
