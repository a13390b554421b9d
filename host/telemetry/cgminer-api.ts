/**
 * A cgminer-compatible API server (TCP, default 127.0.0.1:4028) so tools written for cgminer-family
 * miners read asicd unchanged. One request per connection, answered and closed like cgminer; replies
 * end with a NUL byte. Both request forms are accepted: JSON `{"command":"summary","parameter":""}`
 * and plain `command|parameter`; report commands can be joined with '+' (`summary+pools`).
 * Field names follow cgminer's api.c; the facts and our choices are in CGMINER-API.md.
 *
 * Privileged commands (switchpool, enablepool, disablepool, addpool, restart, quit, privileged) are
 * refused (code 45) unless the peer address matches the configured allow list. A bad request gets an
 * error STATUS, never a crash.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { type Logger, silentLogger } from '../../lib/log.ts';
import { redactText } from '../../lib/redact.ts';
import { sanitizePoolUrl } from '../api/sanitize.ts';
import type { LedgerCounts, MinerSource, MinerState } from '../api/types.ts';
import { VERSION } from '../version.ts';

export interface CgminerApiOptions {
  host?: string;
  port?: number;
  /**
   * Addresses allowed to run privileged commands: IPv4 addresses or CIDRs (`10.0.0.0/24`), IPv6
   * addresses, each optionally prefixed `W:` as in cgminer's --api-allow. Empty (default) = nobody.
   */
  allow?: string[];
  logger?: Logger;
  /**
   * When the port is taken at listen time, listen on a free one instead (logged) rather than fail: the
   * demo's default port only, never a port the user chose or a real miner's (fleet tools expect 4028).
   */
  anyPortIfTaken?: boolean;
  /** Wall clock for the STATUS When field (seconds are derived). */
  now?: () => number;
  idleTimeoutMs?: number;
}

export interface CgminerApi {
  host: string;
  port: number;
  close(): Promise<void>;
  stats(): { requests: number; errors: number; denied: number };
}

type Rec = Record<string, string | number | boolean>;
type Section = Record<string, unknown>;
type Reply = { status: Rec; name?: string; records?: Rec[]; after?: () => Promise<void> };

const PRIVILEGED = new Set([
  'switchpool',
  'enablepool',
  'disablepool',
  'addpool',
  'restart',
  'quit',
  'privileged',
]);
const REPORT = new Set(['summary', 'devs', 'pools', 'stats', 'version', 'config']);
const MAX_REQUEST = 64 * 1024;
export const API_VERSION = '3.7';

// ---- access list ---------------------------------------------------------------------------------

interface AllowRule {
  test(addr: string): boolean;
  text: string;
}

function ipv4ToInt(s: string): number | undefined {
  const parts = s.split('.');
  if (parts.length < 1 || parts.length > 4) return undefined;
  while (parts.length < 4) parts.push('0'); // cgminer pads "10.0.0/24" with .0
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    n = n * 256 + Number(p);
  }
  return n >>> 0;
}

export function parseAllow(entries: string[]): AllowRule[] {
  return entries
    .map((e) => e.trim())
    .filter(Boolean)
    .map((raw) => {
      const entry = raw.replace(/^[wW]:/, '');
      if (entry.includes(':')) {
        const want = entry.toLowerCase();
        return { text: raw, test: (a: string) => a.toLowerCase() === want };
      }
      const [ip, bitsText] = entry.split('/');
      const base = ipv4ToInt(ip!);
      const bits = bitsText === undefined ? 32 : Number(bitsText);
      if (base === undefined || !Number.isInteger(bits) || bits < 0 || bits > 32) {
        throw new Error(
          `api-allow entry "${raw}" is invalid: expected an IPv4 address/prefix or IPv6 address`,
        );
      }
      const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
      return {
        text: raw,
        test: (a: string) => {
          const v4 = ipv4ToInt(a.replace(/^::ffff:/i, ''));
          return (
            v4 !== undefined &&
            a.replace(/^::ffff:/i, '').split('.').length === 4 &&
            (v4 & mask) >>> 0 === (base & mask) >>> 0
          );
        },
      };
    });
}

// ---- reply building ------------------------------------------------------------------------------

const mhs = (ghs: number) => Math.round(ghs * 1000 * 100) / 100;
const pct = (num: number, den: number) => (den > 0 ? Math.round((num / den) * 10000) / 100 : 0);
const poolStatusText = { alive: 'Alive', connecting: 'Dead', dead: 'Dead', disabled: 'Disabled' } as const;

function status(sev: 'S' | 'I' | 'W' | 'E' | 'F', code: number, msg: string, when: number): Rec {
  return { STATUS: sev, When: when, Code: code, Msg: msg, Description: `asicd ${VERSION}` };
}

/**
 * The share ledger in cgminer terms, plus asicd's own keys (every share found in exactly one state):
 * Stale = the pool's stale rejects + shares not sent because their connection was gone; Remote Failures =
 * shares the pool never answered.
 */
function ledgerFields(l: LedgerCounts | undefined, poolStale: number): Rec {
  if (!l) return {};
  return {
    Stale: poolStale + l.staleLocal,
    'Remote Failures': l.noAnswer,
    Found: l.found,
    Submitted: l.submitted,
    'Stale Local': l.staleLocal,
    'No Answer': l.noAnswer,
    'Below Pool Target': l.belowPoolTarget,
    Pending: l.pending,
    'Block Candidates': l.blockCandidates,
    'Blocks Accepted': l.blocksAccepted,
  };
}

const unmatchedTotal = (u: Record<string, number> | undefined) =>
  u ? Object.values(u).reduce((a, b) => a + b, 0) : 0;

function summaryRec(s: MinerState): Rec {
  const sh = s.shares;
  const diffTotal = sh.acceptedDifficulty + sh.rejectedDifficulty;
  const elapsed = Math.floor(s.device.uptimeS);
  return {
    Elapsed: elapsed,
    'MHS av': mhs(s.hashrate.sinceStart),
    'MHS 5s': mhs(s.hashrate.now),
    'MHS 1m': mhs(s.hashrate.avg1m),
    ...(s.hashrate.avg5m !== undefined ? { 'MHS 5m': mhs(s.hashrate.avg5m) } : {}),
    ...(s.hashrate.avg15m !== undefined ? { 'MHS 15m': mhs(s.hashrate.avg15m) } : {}),
    'MHS 10m': mhs(s.hashrate.avg10m),
    'MHS 1h': mhs(s.hashrate.avg1h),
    'Found Blocks': sh.blocksFound,
    Getworks: 0,
    Accepted: sh.accepted,
    Rejected: sh.rejected,
    'Hardware Errors': sh.hardwareErrors,
    Utility: elapsed > 0 ? Math.round((sh.accepted / elapsed) * 60 * 100) / 100 : 0,
    Discarded: 0,
    Stale: sh.stale,
    'Get Failures': 0,
    'Local Work': 0,
    'Remote Failures': 0,
    'Network Blocks': 0,
    'Total MH': Math.round(s.hashrate.sinceStart * 1000 * elapsed),
    'Difficulty Accepted': sh.acceptedDifficulty,
    'Difficulty Rejected': sh.rejectedDifficulty,
    'Difficulty Stale': 0, // not tracked separately (stale shares are in Rejected)
    'Best Share': s.bestDifficulty.session,
    'Device Hardware%': pct(sh.hardwareErrors, sh.hardwareErrors + sh.accepted + sh.rejected),
    'Device Rejected%': pct(sh.rejectedDifficulty, diffTotal),
    'Pool Rejected%': pct(sh.rejectedDifficulty, diffTotal),
    'Pool Stale%': pct(sh.stale, sh.accepted + sh.rejected),
    'Last getwork': 0,
    ...ledgerFields(sh.ledger, sh.stale),
    ...(sh.unmatchedNonces ? { 'Unmatched Nonces': unmatchedTotal(sh.unmatchedNonces) } : {}),
  };
}

function devsRecs(s: MinerState): Rec[] {
  const elapsed = Math.floor(s.device.uptimeS);
  const hottest = s.temperatures.reduce((m, t) => (t.celsius !== null && t.celsius > m ? t.celsius : m), 0);
  return s.chains.map((c) => ({
    ASC: c.index,
    Name: c.chipModel,
    ID: c.index,
    Enabled: s.mining === 'paused' ? 'N' : 'Y',
    Status: s.mining === 'running' ? 'Alive' : s.mining === 'overheat' ? 'Sick' : 'Dead',
    Temperature: hottest,
    'MHS av': mhs(c.hashrate),
    'MHS 5s': mhs(c.hashrate),
    'MHS 1m': mhs(c.hashrate),
    Accepted: c.accepted ?? 0,
    Rejected: c.rejected ?? 0,
    'Hardware Errors': c.errors,
    Utility: elapsed > 0 ? Math.round(((c.accepted ?? 0) / elapsed) * 60 * 100) / 100 : 0,
    'Last Share Pool': s.pool?.index ?? -1,
    'Last Share Time': Math.floor((s.shares.lastShareTime ?? 0) / 1000),
    'Total MH': Math.round(c.hashrate * 1000 * elapsed),
    'Device Hardware%': pct(c.errors, c.errors + (c.accepted ?? 0)),
    'Device Elapsed': elapsed,
    Frequency: c.frequencyMhz,
    'Chip Count': c.chips.length,
    ...ledgerFields(c.ledger, c.ledger?.rejectedByReason.stale ?? 0),
    ...(c.unmatchedNonces ? { 'Unmatched Nonces': unmatchedTotal(c.unmatchedNonces) } : {}),
    ...(c.link
      ? {
          'CRC Errors': c.link.crcErrors,
          'Link Resyncs': c.link.resyncs,
          'Dropped Bytes': c.link.droppedBytes,
          'Unknown Frames': c.link.unknownFrames,
        }
      : {}),
  }));
}

function poolsRecs(s: MinerState): Rec[] {
  return s.pools.map((p) => {
    const active = s.pool?.index === p.index;
    const total = p.accepted + p.rejected;
    return {
      POOL: p.index,
      URL: sanitizePoolUrl(p.url),
      Status: poolStatusText[p.status],
      Priority: p.priority,
      Quota: 1,
      'Long Poll': 'N',
      Getworks: 0,
      Accepted: p.accepted,
      Rejected: p.rejected,
      Works: 0,
      Discarded: 0,
      Stale: p.stale,
      'Get Failures': 0,
      'Remote Failures': 0,
      User: p.user,
      'Last Share Time': active ? Math.floor((s.shares.lastShareTime ?? 0) / 1000) : 0,
      'Stratum Active': active && p.status === 'alive',
      'Stratum URL': active ? sanitizePoolUrl(p.url).replace(/^[a-z+]+:\/\//i, '') : '',
      'Stratum Difficulty': p.difficulty,
      'Has Stratum': true,
      'Has GBT': false,
      'Best Share': active ? s.bestDifficulty.session : 0,
      'Pool Rejected%': pct(p.rejected, total),
      'Pool Stale%': pct(p.stale, total),
      ...ledgerFields(p.ledger, p.stale),
    };
  });
}

/**
 * `stats` in the layout bmminer (Antminer S9-era firmware) readers expect: STATS[0] names the miner
 * software, STATS[1] carries the figures (GHS 5s/av, fanN, tempN, temp2_N per chain, chain_acnN,
 * chain_acsN, chain_hwN, chain_rateN, total_*). asicd's own fields stay alongside.
 */
function statsRecs(s: MinerState): Rec[] {
  const chips = s.chains.reduce((n, c) => n + c.chips.length, 0);
  const temps = s.temperatures.map((t) => t.celsius).filter((c): c is number => c !== null);
  const rec: Rec = {
    STATS: 0,
    ID: 'asicd0',
    Elapsed: Math.floor(s.device.uptimeS),
    Calls: 0,
    Wait: 0,
    Max: 0,
    Min: 99999999,
    'GHS 5s': round2(s.hashrate.now),
    'GHS av': round2(s.hashrate.sinceStart),
    miner_count: s.chains.length,
    frequency: s.frequencyMhz,
    fan_num: s.fan.rpm.length,
    temp_num: s.temperatures.length,
    Type: s.board.model,
    Board: s.board.name,
    State: s.mining,
    Overheat: s.overheat.active,
    fan_mode: s.fan.mode,
    fan_duty: s.fan.dutyPercent,
    total_rateideal: round2(s.hashrate.expected),
    total_rate: round2(s.chains.reduce((x, c) => x + c.hashrate, 0)),
    total_acn: chips,
    total_freqavg: s.chains.length ? s.chains.reduce((x, c) => x + c.frequencyMhz, 0) / s.chains.length : 0,
    temp_max: temps.length ? Math.max(...temps) : 0,
  };
  s.fan.rpm.forEach((r, i) => {
    rec[`fan${i + 1}`] = r ?? -1;
  });
  s.temperatures.forEach((t, i) => {
    rec[`temp${i + 1}`] = t.celsius ?? -1;
    rec[`temp_name${i + 1}`] = t.name;
  });
  s.chains.forEach((c, i) => {
    const n = i + 1;
    rec[`chain_acn${n}`] = c.chips.length;
    // bmminer: one 'o' per answering chip, 'x' for a chip with errors, space-grouped by 8.
    rec[`chain_acs${n}`] = c.chips
      .map((ch, k) => `${k > 0 && k % 8 === 0 ? ' ' : ''}${ch.errors > 0 ? 'x' : 'o'}`)
      .join('');
    rec[`chain_hw${n}`] = c.errors;
    rec[`chain_rate${n}`] = round2(c.hashrate);
    rec[`freq${n}`] = c.frequencyMhz;
    rec[`freq_avg${n}`] = c.frequencyMhz;
    if (temps.length) rec[`temp2_${n}`] = Math.max(...temps);
    if (c.voltageMv !== undefined) rec[`voltage${n}`] = c.voltageMv;
    if (c.link) {
      rec[`chain_crc${n}`] = c.link.crcErrors;
      rec[`chain_resync${n}`] = c.link.resyncs;
      rec[`chain_dropped${n}`] = c.link.droppedBytes;
      rec[`chain_unknown${n}`] = c.link.unknownFrames;
    }
  });
  if (s.voltageMv !== undefined) rec.voltage = s.voltageMv;
  if (s.powerW !== undefined) rec.power = s.powerW;
  // Board power (regulator / power monitor), asicd names: V, A, mV, °C, J/TH.
  const pw = s.power;
  if (pw) {
    rec.power_state = pw.state;
    rec.voltage_set = pw.setMv;
    if (pw.inputV !== undefined) rec.voltage_input = pw.inputV;
    if (pw.currentA !== undefined) rec.current = pw.currentA;
    if (pw.vrTempC !== undefined) rec.temp_vr = pw.vrTempC;
    if (pw.efficiencyJth !== undefined) rec.efficiency = pw.efficiencyJth;
    if (pw.fault) rec.power_fault = pw.fault.reason;
  }
  const version: Rec = { BMMiner: VERSION, Miner: `asicd ${VERSION}`, CompileTime: '', Type: s.board.model };
  return [version, rec];
}

const round2 = (x: number) => Math.round(x * 100) / 100;

interface Ctx {
  source: MinerSource;
  privileged: boolean;
  when: number;
}

function intParam(param: string): number | undefined {
  return /^\s*\d+\s*$/.test(param) ? Number(param) : undefined;
}

/** Answers one (non-joined) command. Never throws. */
async function runCommand(cmd: string, param: string, ctx: Ctx): Promise<Reply> {
  const w = ctx.when;
  if (PRIVILEGED.has(cmd) && !ctx.privileged) {
    return { status: status('E', 45, `Access denied to '${cmd}' command`, w) };
  }
  let s: MinerState;
  try {
    s = ctx.source.getState();
  } catch (err) {
    return { status: status('F', 0, `state unavailable: ${(err as Error).message}`, w) };
  }
  const c = ctx.source.control;
  const poolArg = (): { ok: true; id: number } | { ok: false; reply: Reply } => {
    if (s.pools.length === 0) return { ok: false, reply: { status: status('E', 8, 'No pools', w) } };
    if (!param.trim())
      return { ok: false, reply: { status: status('E', 25, 'Missing pool id parameter', w) } };
    const id = intParam(param);
    if (id === undefined || id >= s.pools.length) {
      return {
        ok: false,
        reply: {
          status: status('E', 26, `Invalid pool id ${param.trim()} - range is 0 - ${s.pools.length - 1}`, w),
        },
      };
    }
    return { ok: true, id };
  };
  const unsupported = (): Reply => ({
    status: status('E', 14, `Invalid command: '${cmd}' is not supported by asicd`, w),
  });
  const failed = (err: unknown): Reply => ({
    status: status('E', 14, `${cmd} failed: ${(err as Error).message}`, w),
  });
  switch (cmd) {
    case 'summary':
      return { status: status('S', 11, 'Summary', w), name: 'SUMMARY', records: [summaryRec(s)] };
    case 'devs':
      if (s.chains.length === 0) return { status: status('E', 10, 'No ASCs', w) };
      return { status: status('S', 9, `${s.chains.length} ASC(s)`, w), name: 'DEVS', records: devsRecs(s) };
    case 'pools':
      if (s.pools.length === 0) return { status: status('E', 8, 'No pools', w) };
      return { status: status('S', 7, `${s.pools.length} Pool(s)`, w), name: 'POOLS', records: poolsRecs(s) };
    case 'stats':
      return { status: status('S', 70, 'CGMiner stats', w), name: 'STATS', records: statsRecs(s) };
    case 'version':
      return {
        status: status('S', 22, 'CGMiner versions', w),
        name: 'VERSION',
        records: [{ CGMiner: `asicd ${VERSION}`, API: API_VERSION, asicd: VERSION, Type: s.board.model }],
      };
    case 'config':
      return {
        status: status('S', 33, 'CGMiner config', w),
        name: 'CONFIG',
        records: [
          {
            'ASC Count': s.chains.length,
            'PGA Count': 0,
            'Pool Count': s.pools.length,
            Strategy: 'Failover',
            'Log Interval': 5,
            'Device Code': 'ASC',
            OS: process.platform === 'linux' ? 'Linux' : process.platform,
            Hotplug: 'None',
          },
        ],
      };
    case 'privileged':
      return { status: status('S', 46, 'Privileged access OK', w) };
    case 'switchpool': {
      const a = poolArg();
      if (!a.ok) return a.reply;
      try {
        await c.switchPool(a.id);
      } catch (err) {
        return failed(err);
      }
      return {
        status: status('S', 27, `Switching to pool ${a.id}:'${sanitizePoolUrl(s.pools[a.id]!.url)}'`, w),
      };
    }
    case 'enablepool':
    case 'disablepool': {
      const fn = cmd === 'enablepool' ? c.enablePool : c.disablePool;
      if (!fn) return unsupported();
      const a = poolArg();
      if (!a.ok) return a.reply;
      try {
        await fn.call(c, a.id);
      } catch (err) {
        return failed(err);
      }
      const url = sanitizePoolUrl(s.pools[a.id]!.url);
      return cmd === 'enablepool'
        ? { status: status('S', 47, `Enabling pool ${a.id}:'${url}'`, w) }
        : { status: status('S', 48, `Disabling pool ${a.id}:'${url}'`, w) };
    }
    case 'addpool': {
      if (!c.addPool) return unsupported();
      if (!param.trim()) return { status: status('E', 52, 'Missing addpool details', w) };
      const parts = param.split(',');
      if (parts.length !== 3 || !/^[a-z+]+:\/\/\S+$/i.test(parts[0]!) || !parts[1]) {
        return { status: status('E', 53, `Invalid addpool details '${sanitizePoolUrl(parts[0] ?? '')}'`, w) };
      }
      try {
        await c.addPool({ url: parts[0]!, user: parts[1]!, pass: parts[2]! });
      } catch (err) {
        return failed(err);
      }
      return { status: status('S', 55, `Added pool '${sanitizePoolUrl(parts[0]!)}'`, w) };
    }
    case 'restart':
      return { status: status('S', 257, 'RESTART', w), after: () => c.restart() };
    case 'quit':
      if (!c.quit) return unsupported();
      return { status: status('S', 257, 'BYE', w), after: () => c.quit!() };
    default:
      return { status: status('E', 14, 'Invalid command', w) };
  }
}

// ---- wire formats --------------------------------------------------------------------------------

function plainValue(v: string | number | boolean): string {
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return String(v).replace(/[\\,|=]/g, (ch) => `\\${ch}`);
}

function plainRecord(rec: Rec, prefix?: string): string {
  const fields = Object.entries(rec).map(([k, v]) => `${k}=${plainValue(v)}`);
  return `${prefix ? `${prefix},` : ''}${fields.join(',')}|`;
}

function toPlain(r: Reply): string {
  let out = plainRecord(r.status);
  for (const rec of r.records ?? []) {
    const first = Object.keys(rec)[0];
    const keyed = first === 'ASC' || first === 'POOL' || first === 'STATS';
    out += plainRecord(rec, keyed ? undefined : r.name);
  }
  return out;
}

function toJsonObject(r: Reply): Section {
  const o: Section = { STATUS: [r.status] };
  if (r.name && r.records) o[r.name] = r.records;
  o.id = 1;
  return o;
}

export interface ParsedRequest {
  json: boolean;
  command: string;
  parameter: string;
}

/** Parses a raw request. Returns an error Reply (invalid JSON / missing command) instead of throwing. */
export function parseRequest(raw: string, when: number): ParsedRequest | { json: boolean; error: Reply } {
  const text = raw.replace(/\0+$/, '').trim();
  if (text.startsWith('{')) {
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      return { json: true, error: { status: status('E', 23, 'Invalid JSON', when) } };
    }
    const o = msg as Record<string, unknown>;
    if (typeof o !== 'object' || o === null || typeof o.command !== 'string') {
      return { json: true, error: { status: status('E', 24, "Missing JSON 'command'", when) } };
    }
    const p = o.parameter;
    const parameter = typeof p === 'string' ? p : typeof p === 'number' ? String(p) : '';
    return { json: true, command: o.command, parameter };
  }
  const bar = text.indexOf('|');
  return {
    json: false,
    command: bar < 0 ? text : text.slice(0, bar),
    parameter: bar < 0 ? '' : text.slice(bar + 1),
  };
}

/** Answers one raw request (both forms, joined commands). Returns the bytes to send, NUL included. */
export async function answer(
  raw: string,
  source: MinerSource,
  privileged: boolean,
  nowMs: number,
): Promise<{ text: string; after: Array<() => Promise<void>> }> {
  const when = Math.floor(nowMs / 1000);
  const req = parseRequest(raw, when);
  const after: Array<() => Promise<void>> = [];
  if ('error' in req) {
    return { text: `${req.json ? JSON.stringify(toJsonObject(req.error)) : toPlain(req.error)}\0`, after };
  }
  const ctx: Ctx = { source, privileged, when };
  const cmd = req.command.trim().toLowerCase();
  if (cmd.includes('+')) {
    // Joined report commands: each answered in its own slot; non-report commands are refused there.
    const names = [...new Set(cmd.split('+').filter(Boolean))];
    const replies: Array<[string, Reply]> = [];
    for (const n of names) {
      replies.push([
        n,
        REPORT.has(n)
          ? await runCommand(n, req.parameter, ctx)
          : { status: status('E', 45, `Access denied to '${n}' command`, when) },
      ]);
    }
    if (req.json) {
      const o: Section = {};
      for (const [n, r] of replies) o[n] = [toJsonObject(r)];
      o.id = 1;
      return { text: `${JSON.stringify(o)}\0`, after };
    }
    return { text: `${replies.map(([, r]) => toPlain(r)).join('')}\0`, after };
  }
  const r = await runCommand(cmd, req.parameter, ctx);
  if (r.after) after.push(r.after);
  return { text: `${req.json ? JSON.stringify(toJsonObject(r)) : toPlain(r)}\0`, after };
}

// ---- server --------------------------------------------------------------------------------------

/** Parses "HOST:PORT" (IPv6 as "[::1]:4028"). */
export function parseListen(spec: string, what = '--api-listen'): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(spec.trim());
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65535)
    throw new Error(`${what} "${spec}" is invalid: expected HOST:PORT, e.g. 127.0.0.1:4028`);
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port };
}

export async function startCgminerApi(
  source: MinerSource,
  opts: CgminerApiOptions = {},
): Promise<CgminerApi> {
  const log = (opts.logger ?? silentLogger).child('cgminer-api');
  const rules = parseAllow(opts.allow ?? []);
  const now = opts.now ?? Date.now;
  const counters = { requests: 0, errors: 0, denied: 0 };
  const sockets = new Set<Socket>();
  // allowHalfOpen: a client may half-close after its request and still read the answer.
  const server: Server = createServer({ allowHalfOpen: true }, (sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => {});
    sock.setTimeout(opts.idleTimeoutMs ?? 5000, () => sock.destroy());
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    let waitTimer: NodeJS.Timeout | undefined;
    const finish = async () => {
      if (done) return;
      done = true;
      clearTimeout(waitTimer);
      const raw = Buffer.concat(chunks).toString('utf8');
      const peer = sock.remoteAddress ?? '';
      const privileged = rules.some((r) => r.test(peer));
      counters.requests++;
      try {
        const { text, after } = await answer(raw, source, privileged, now());
        if (/"Code":45|Code=45,/.test(text)) counters.denied++;
        if (/"STATUS":"E"|STATUS=E,/.test(text)) counters.errors++;
        sock.end(redactText(text));
        for (const fn of after) fn().catch((err) => log.error('api_action_failed', { error: err as Error }));
      } catch (err) {
        counters.errors++;
        log.error('api_request_failed', { error: err as Error });
        sock.destroy();
      }
    };
    sock.on('data', (d: Buffer) => {
      if (done) return;
      size += d.length;
      if (size > MAX_REQUEST) {
        done = true;
        counters.errors++;
        log.warn('api_request_too_large', { peer: sock.remoteAddress, bytes: size });
        sock.end(
          `${JSON.stringify(toJsonObject({ status: status('E', 23, 'Invalid JSON', Math.floor(now() / 1000)) }))}\0`,
        );
        return;
      }
      chunks.push(d);
      const text = Buffer.concat(chunks).toString('utf8');
      const complete = /[\0\n]/.test(text) || !text.trimStart().startsWith('{') || isJson(text);
      if (complete) void finish();
      else {
        clearTimeout(waitTimer);
        waitTimer = setTimeout(() => void finish(), 1000); // incomplete JSON: answer "Invalid JSON"
      }
    });
    sock.on('end', () => void finish());
  });
  const host = opts.host ?? '127.0.0.1';
  const listenOn = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  try {
    await listenOn(opts.port ?? 4028);
  } catch (err) {
    if (!(opts.anyPortIfTaken && (err as NodeJS.ErrnoException).code === 'EADDRINUSE')) throw err;
    // Taken between the demo's check and this listen (another demo or miner starting at the same time).
    await listenOn(0);
    log.warn('api.port_in_use', { wanted: opts.port ?? 4028, host });
  }
  const addr = server.address();
  const port = addr && typeof addr === 'object' ? addr.port : 0;
  log.info('api_listening', { host, port, privileged: rules.map((r) => r.text) });
  return {
    host,
    port,
    stats: () => ({ ...counters }),
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
