/**
 * Ethereum Stratum wire codec — pure, no I/O. Two dialects on top of the Bitcoin codec
 * (host/stratum/messages.ts), which supplies what is the same on the wire: line framing (`LineDecoder`),
 * the JSON object step of line parsing, the error member, set_difficulty, host names in reconnects, the
 * reject reasons, and the 1.0.0 messages that are Bitcoin Stratum's unchanged (authorize,
 * extranonce.subscribe, results, notifications). Message shapes otherwise differ:
 *
 * - EthereumStratum/1.0.0 (NiceHash): JSON-RPC 1.0 shapes like Bitcoin Stratum; subscribe carries the
 *   protocol name, the result carries the extranonce; `mining.notify [job, seedhash, headerhash, clean]`,
 *   `mining.set_difficulty`, `mining.set_extranonce`, submit `[user, job, minernonce]`.
 * - EthereumStratum/2.0.0 (EIP-1571): params may be an object or omitted, notifications have no id,
 *   a bare `{"id":n}` is success, errors are `{code, message}`, numbers are compact lower-case hex,
 *   booleans are "0"/"1"; `mining.hello`, `mining.set`, `mining.noop`, `mining.bye`, `mining.reconnect`.
 *
 * `parseEthLine` never throws; every decoder returns `Result` with an error naming the field.
 * Facts and sources: host/stratum-eth/REFERENCE.md.
 */
import {
  encodeNotification,
  fail,
  isHostName,
  isPlainObject,
  ok,
  parseErrorMember,
  parseJsonObject,
  parseSetDifficulty,
  type RejectReason,
  type Result,
  type RpcError,
  StratumProtocolError,
} from '../stratum/messages.ts';

export {
  /** EthereumStratum/1.0.0 reuses these Bitcoin Stratum messages as they are. */
  encodeAuthorize as encodeV1Authorize,
  encodeExtranonceSubscribe as encodeV1ExtranonceSubscribe,
  encodeNotification as encodeV1Notification,
  encodeResult as encodeV1Result,
  LineDecoder,
  LineTooLongError,
  type Result,
  type RpcError,
  StratumProtocolError,
} from '../stratum/messages.ts';

export const PROTO_V1 = 'EthereumStratum/1.0.0';
export const PROTO_V2 = 'EthereumStratum/2.0.0';
export type EthDialect = 'v1' | 'v2';

/** NiceHash: "Extranonce may be max 3 bytes"; we accept up to 7 so that one nonce byte stays the miner's. */
export const V1_MAX_EXTRANONCE_BYTES = 7;
/** EIP-1571: "a maximum length of 6 bytes (hex)" — read as 6 bytes = 12 hex digits (the wider reading). */
export const V2_MAX_EXTRANONCE_HEX = 12;
export const MAX_JOB_ID_LENGTH = 128;

// ---------------------------------------------------------------------------------------------------
// Generic message shapes

export type EthId = number | string;
export type EthParams = unknown[] | Record<string, unknown> | string | undefined;

export type EthMessage =
  | { type: 'request'; id: EthId; method: string; params: EthParams }
  | { type: 'notification'; method: string; params: EthParams }
  | {
      type: 'response';
      id: EthId;
      /** undefined when the member is absent (EIP-1571 bare success `{"id":n}`). */
      result: unknown;
      error: RpcError | null;
    };

/**
 * One line → message. Accepts both dialects' shapes: `params` as array, object, string (EIP-1571
 * subscribe-resume) or absent; notifications with `id: null` or no id; responses with result and/or
 * error, or neither (bare success). Never throws.
 */
export function parseEthLine(line: string): Result<EthMessage> {
  const o = parseJsonObject(line);
  if (!o.ok) return o;
  const v = o.value;
  const id = v.id;
  const idOk =
    (typeof id === 'number' && Number.isInteger(id)) || (typeof id === 'string' && id.length <= 256);
  if (v.method !== undefined && v.method !== null) {
    if (typeof v.method !== 'string' || v.method.length === 0 || v.method.length > 128) {
      return fail('shape', 'method', 'not a non-empty string');
    }
    const p = v.params;
    if (!(p === undefined || p === null || Array.isArray(p) || isPlainObject(p) || typeof p === 'string')) {
      return fail('shape', `${v.method}.params`, 'not an array, object or string');
    }
    const params: EthParams = p === null ? undefined : (p as EthParams);
    if (id === undefined || id === null) return ok({ type: 'notification', method: v.method, params });
    if (!idOk) return fail('shape', 'id', 'not an integer or string');
    return ok({ type: 'request', id: id as EthId, method: v.method, params });
  }
  if (!idOk) return fail('shape', 'id', 'a response needs an integer or string id');
  const err = parseErrorMember(v.error);
  if (!err.ok) return err;
  return ok({ type: 'response', id: id as EthId, result: v.result, error: err.value });
}

// ---------------------------------------------------------------------------------------------------
// Field helpers

const HEX = /^[0-9a-fA-F]+$/;

export function isHexN(s: unknown, n: number): s is string {
  return typeof s === 'string' && s.length === n && HEX.test(s);
}

/** EIP-1571 number → compact lower-case hex without leading zeros ("0" for zero). */
export function hexNumber(n: number | bigint): string {
  if (typeof n === 'number' && (!Number.isSafeInteger(n) || n < 0))
    throw new Error(`hexNumber: ${n} is not a non-negative integer`);
  if (typeof n === 'bigint' && n < 0n) throw new Error('hexNumber: negative');
  return n.toString(16);
}

/** Hex number (a "0x" prefix and leading zeros tolerated) → number, bounded by `max`. */
export function parseHexNumber(v: unknown, field: string, max = Number.MAX_SAFE_INTEGER): Result<number> {
  const s = typeof v === 'string' && (v.startsWith('0x') || v.startsWith('0X')) ? v.slice(2) : v;
  if (typeof s !== 'string' || !HEX.test(s) || s.length > 16)
    return fail('params', field, `not a hex number (${JSON.stringify(v)})`);
  const n = Number.parseInt(s, 16);
  if (!Number.isSafeInteger(n) || n > max)
    return fail('params', field, `hex number ${s} out of range 0..${max}`);
  return ok(n);
}

/** EIP-1571 boolean "0"/"1" (JSON true/false tolerated). */
export function parseHexBool(v: unknown, field: string): Result<boolean> {
  if (v === '1' || v === true) return ok(true);
  if (v === '0' || v === false) return ok(false);
  return fail('params', field, `not "0" or "1" (${JSON.stringify(v)})`);
}

function parseJobId(v: unknown, field: string): Result<string> {
  if (typeof v !== 'string' || v.length === 0 || v.length > MAX_JOB_ID_LENGTH || /[\s"\\]/.test(v)) {
    return fail('params', field, `not a job id of 1..${MAX_JOB_ID_LENGTH} printable chars`);
  }
  return ok(v);
}

// ---------------------------------------------------------------------------------------------------
// EthereumStratum/1.0.0 (NiceHash)

export interface V1Job {
  jobId: string;
  seedHash: string;
  headerHash: string;
  cleanJobs: boolean;
}

export type V1ServerMessage =
  | { kind: 'notify'; job: V1Job }
  | { kind: 'set_difficulty'; difficulty: number }
  | { kind: 'set_extranonce'; extranonce: string }
  | { kind: 'reconnect'; host?: string; port?: number; waitSeconds?: number }
  | { kind: 'ping'; id: EthId | null }
  | { kind: 'unknown'; method: string; id: EthId | null };

export function parseV1Extranonce(v: unknown, field: string): Result<string> {
  if (
    typeof v !== 'string' ||
    v.length % 2 !== 0 ||
    (v.length > 0 && !HEX.test(v)) ||
    v.length > V1_MAX_EXTRANONCE_BYTES * 2
  ) {
    return fail(
      'params',
      field,
      `not even-length hex of at most ${V1_MAX_EXTRANONCE_BYTES} bytes (${JSON.stringify(v)})`,
    );
  }
  return ok(v.toLowerCase());
}

const V1_NOTIFY = ['job_id', 'seedhash', 'headerhash', 'clean_jobs'];

export function decodeV1ServerMessage(
  m: Extract<EthMessage, { type: 'request' | 'notification' }>,
): Result<V1ServerMessage> {
  const id = m.type === 'request' ? m.id : null;
  const p = Array.isArray(m.params) ? m.params : m.params === undefined ? [] : null;
  if (p === null)
    return fail('params', `${m.method}.params`, 'not an array (EthereumStratum/1.0.0 uses arrays)');
  switch (m.method) {
    case 'mining.notify': {
      const f = (i: number) => `mining.notify.params[${i}] (${V1_NOTIFY[i]})`;
      if (p.length < 4) return fail('params', 'mining.notify.params', `expected 4 params, got ${p.length}`);
      const job = parseJobId(p[0], f(0));
      if (!job.ok) return job;
      if (!isHexN(p[1], 64)) return fail('params', f(1), 'not 64 hex digits');
      if (!isHexN(p[2], 64)) return fail('params', f(2), 'not 64 hex digits');
      if (typeof p[3] !== 'boolean') return fail('params', f(3), 'not a boolean');
      return ok({
        kind: 'notify',
        job: {
          jobId: job.value,
          seedHash: p[1].toLowerCase(),
          headerHash: p[2].toLowerCase(),
          cleanJobs: p[3],
        },
      });
    }
    case 'mining.set_difficulty': {
      const d = parseSetDifficulty(p);
      return d.ok ? ok({ kind: 'set_difficulty', difficulty: d.value }) : d;
    }
    case 'mining.set_extranonce': {
      const e = parseV1Extranonce(p[0], 'mining.set_extranonce.params[0] (extranonce)');
      return e.ok ? ok({ kind: 'set_extranonce', extranonce: e.value }) : e;
    }
    case 'client.reconnect': {
      const out: V1ServerMessage & { kind: 'reconnect' } = { kind: 'reconnect' };
      if (typeof p[0] === 'string' && p[0] !== '') {
        if (!isHostName(p[0])) return fail('params', 'client.reconnect.params[0] (host)', 'not a host name');
        out.host = p[0];
      }
      if (p[1] !== undefined && p[1] !== null && p[1] !== '') {
        const n = typeof p[1] === 'string' ? Number(p[1]) : p[1];
        if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 65535)
          return fail('params', 'client.reconnect.params[1] (port)', 'not a port');
        out.port = n;
      }
      if (typeof p[2] === 'number' && p[2] >= 0 && p[2] <= 3600) out.waitSeconds = p[2];
      return ok(out);
    }
    case 'mining.ping':
      return ok({ kind: 'ping', id });
    default:
      return ok({ kind: 'unknown', method: m.method, id });
  }
}

export interface V1SubscribeResult {
  extranonce: string;
  subscriptionId: string | undefined;
  /** Protocol echoed by the pool (undefined when missing). */
  proto: string | undefined;
}

/** `[["mining.notify", subid, "EthereumStratum/1.0.0"], extranonce]`. */
export function parseV1SubscribeResult(result: unknown): Result<V1SubscribeResult> {
  if (!Array.isArray(result) || result.length < 2) {
    return fail('result', 'mining.subscribe.result', 'not an array [[notify, subid, proto], extranonce]');
  }
  const e = parseV1Extranonce(result[1], 'mining.subscribe.result[1] (extranonce)');
  if (!e.ok) return { ok: false, error: new StratumProtocolError('result', e.error.field, e.error.message) };
  const sub = Array.isArray(result[0]) ? result[0] : [];
  return ok({
    extranonce: e.value,
    subscriptionId: typeof sub[1] === 'string' ? sub[1] : undefined,
    proto: typeof sub[2] === 'string' ? sub[2] : undefined,
  });
}

const line = (o: unknown) => `${JSON.stringify(o)}\n`;

export function encodeV1Subscribe(id: number, agent: string): string {
  return line({ id, method: 'mining.subscribe', params: [agent, PROTO_V1] });
}
export function encodeV1Submit(id: number, user: string, jobId: string, minerNonce: string): string {
  return line({ id, method: 'mining.submit', params: [user, jobId, minerNonce] });
}

// Server side (embedded pool, test servers)
export function encodeV1SubscribeResult(id: EthId, subscriptionId: string, extranonce: string): string {
  return line({ id, result: [['mining.notify', subscriptionId, PROTO_V1], extranonce], error: null });
}
export function encodeV1Error(id: EthId | null, code: number, message: string): string {
  return line({ id, result: false, error: [code, message, null] });
}
export function encodeV1Notify(job: V1Job): string {
  return encodeNotification('mining.notify', [job.jobId, job.seedHash, job.headerHash, job.cleanJobs]);
}

// ---------------------------------------------------------------------------------------------------
// EthereumStratum/2.0.0 (EIP-1571)

export interface HelloResult {
  proto: string;
  encoding: 'plain' | 'gzip';
  resume: boolean;
  timeoutSeconds: number;
  maxErrors: number;
  node: string;
}

export function parseHelloResult(result: unknown): Result<HelloResult> {
  const f = (k: string) => `mining.hello.result.${k}`;
  if (!isPlainObject(result)) return fail('result', 'mining.hello.result', 'not an object');
  if (typeof result.proto !== 'string') return fail('result', f('proto'), 'not a string');
  if (result.encoding !== 'plain' && result.encoding !== 'gzip')
    return fail('result', f('encoding'), 'not "plain" or "gzip"');
  const resume = parseHexBool(result.resume ?? '0', f('resume'));
  if (!resume.ok) return resume;
  const timeout = parseHexNumber(result.timeout ?? '0', f('timeout'), 86_400);
  if (!timeout.ok) return timeout;
  const maxErrors = parseHexNumber(result.maxerrors ?? '0', f('maxerrors'), 1_000_000);
  if (!maxErrors.ok) return maxErrors;
  return ok({
    proto: result.proto,
    encoding: result.encoding,
    resume: resume.value,
    timeoutSeconds: timeout.value,
    maxErrors: maxErrors.value,
    node: typeof result.node === 'string' ? result.node.slice(0, 200) : '',
  });
}

/** A session id or worker token (a non-empty printable string). */
export function parseTokenResult(result: unknown, field: string): Result<string> {
  if (
    typeof result !== 'string' ||
    result.length === 0 ||
    result.length > 256 ||
    !/^[\x20-\x7e]+$/.test(result)
  ) {
    return fail('result', field, `not a non-empty printable string (${JSON.stringify(result)})`);
  }
  return ok(result);
}

/** `mining.set` members present in one notification (only changed ones after the first). */
export interface V2Set {
  epoch?: number;
  /** Boundary as a number (hex without leading zeros on the wire). */
  target?: bigint;
  algo?: string;
  /** Hex digits, "" cancels a previous extranonce. */
  extranonce?: string;
}

export interface V2Job {
  jobId: string;
  blockNumber: number;
  headerHash: string;
  cleanJobs: boolean;
}

export type V2ServerMessage =
  | { kind: 'set'; set: V2Set }
  | { kind: 'notify'; job: V2Job }
  | { kind: 'reconnect'; host?: string; port?: number; resume: boolean }
  | { kind: 'bye' }
  | { kind: 'hashrate'; params: unknown }
  | { kind: 'noop'; id: EthId | null }
  | { kind: 'unknown'; method: string; id: EthId | null };

export function decodeV2ServerMessage(
  m: Extract<EthMessage, { type: 'request' | 'notification' }>,
): Result<V2ServerMessage> {
  const id = m.type === 'request' ? m.id : null;
  const p = m.params;
  switch (m.method) {
    case 'mining.set': {
      if (!isPlainObject(p)) return fail('params', 'mining.set.params', 'not an object');
      const set: V2Set = {};
      if (p.epoch !== undefined) {
        const e = parseHexNumber(p.epoch, 'mining.set.params.epoch', 4096);
        if (!e.ok) return e;
        set.epoch = e.value;
      }
      if (p.target !== undefined) {
        const t = p.target;
        const s = typeof t === 'string' && t.startsWith('0x') ? t.slice(2) : t;
        if (typeof s !== 'string' || !/^[0-9a-fA-F]{1,64}$/.test(s)) {
          return fail(
            'params',
            'mining.set.params.target',
            `not a hex number of 1..64 digits (${JSON.stringify(t)})`,
          );
        }
        const v = BigInt(`0x${s}`);
        if (v === 0n) return fail('params', 'mining.set.params.target', 'zero (no hash can meet it)');
        set.target = v;
      }
      if (p.algo !== undefined) {
        if (typeof p.algo !== 'string' || !/^[a-z0-9]{1,32}$/.test(p.algo))
          return fail('params', 'mining.set.params.algo', 'not an algorithm name');
        set.algo = p.algo;
      }
      if (p.extranonce !== undefined) {
        const x = p.extranonce;
        if (typeof x !== 'string' || x.length > V2_MAX_EXTRANONCE_HEX || (x.length > 0 && !HEX.test(x))) {
          return fail(
            'params',
            'mining.set.params.extranonce',
            `not hex of at most ${V2_MAX_EXTRANONCE_HEX} digits (${JSON.stringify(x)})`,
          );
        }
        set.extranonce = x.toLowerCase();
      }
      return ok({ kind: 'set', set });
    }
    case 'mining.notify': {
      if (!Array.isArray(p)) return fail('params', 'mining.notify.params', 'not an array');
      if (p.length < 4) return fail('params', 'mining.notify.params', `expected 4 params, got ${p.length}`);
      const job = parseJobId(p[0], 'mining.notify.params[0] (job_id)');
      if (!job.ok) return job;
      const block = parseHexNumber(p[1], 'mining.notify.params[1] (block number)');
      if (!block.ok) return block;
      if (!isHexN(p[2], 64))
        return fail('params', 'mining.notify.params[2] (headerhash)', 'not 64 hex digits');
      const clean = parseHexBool(p[3], 'mining.notify.params[3] (clean)');
      if (!clean.ok) return clean;
      return ok({
        kind: 'notify',
        job: {
          jobId: job.value,
          blockNumber: block.value,
          headerHash: p[2].toLowerCase(),
          cleanJobs: clean.value,
        },
      });
    }
    case 'mining.reconnect': {
      const o = isPlainObject(p) ? p : {};
      const out: V2ServerMessage & { kind: 'reconnect' } = { kind: 'reconnect', resume: false };
      if (typeof o.host === 'string' && o.host !== '') {
        if (!isHostName(o.host)) return fail('params', 'mining.reconnect.params.host', 'not a host name');
        out.host = o.host;
      }
      if (o.port !== undefined) {
        const port = parseHexNumber(o.port, 'mining.reconnect.params.port', 65535);
        if (!port.ok) return port;
        if (port.value === 0) return fail('params', 'mining.reconnect.params.port', 'zero');
        out.port = port.value;
      }
      if (o.resume !== undefined) {
        const r = parseHexBool(o.resume, 'mining.reconnect.params.resume');
        if (!r.ok) return r;
        out.resume = r.value;
      }
      return ok(out);
    }
    case 'mining.bye':
      return ok({ kind: 'bye' });
    case 'mining.hashrate':
      return ok({ kind: 'hashrate', params: p });
    case 'mining.noop':
      return ok({ kind: 'noop', id });
    default:
      return ok({ kind: 'unknown', method: m.method, id });
  }
}

export interface HelloParams {
  agent: string;
  host: string;
  port: number;
}

export function encodeHello(id: number, h: HelloParams): string {
  return line({
    id,
    method: 'mining.hello',
    params: { agent: h.agent, host: h.host, port: hexNumber(h.port), proto: PROTO_V2 },
  });
}
/** Without a session id the params member is omitted (EIP-1571). */
export function encodeV2Subscribe(id: number, resumeSession?: string): string {
  return line(
    resumeSession
      ? { id, method: 'mining.subscribe', params: resumeSession }
      : { id, method: 'mining.subscribe' },
  );
}
export function encodeV2Authorize(id: number, user: string, password: string): string {
  return line({ id, method: 'mining.authorize', params: [user, password] });
}
export function encodeV2Submit(id: number, jobId: string, minerNonce: string, workerToken: string): string {
  return line({ id, method: 'mining.submit', params: [jobId, minerNonce, workerToken] });
}
export function encodeNoop(id: number): string {
  return line({ id, method: 'mining.noop' });
}
export function encodeBye(): string {
  return line({ method: 'mining.bye' });
}
export function encodeV2Hashrate(id: number, hashesPerSecond: number, workerToken: string): string {
  return line({
    id,
    method: 'mining.hashrate',
    params: [hexNumber(Math.max(0, Math.round(hashesPerSecond))), workerToken],
  });
}

// Server side
export function encodeHelloResult(
  id: EthId,
  r: { resume: boolean; timeoutSeconds: number; maxErrors: number; node: string },
): string {
  return line({
    id,
    result: {
      proto: PROTO_V2,
      encoding: 'plain',
      resume: r.resume ? '1' : '0',
      timeout: hexNumber(r.timeoutSeconds),
      maxerrors: hexNumber(r.maxErrors),
      node: r.node,
    },
  });
}
/** Success with a value, or the bare `{"id":n}` form when `result` is undefined. */
export function encodeV2Result(id: EthId, result?: unknown): string {
  return line(result === undefined ? { id } : { id, result });
}
export function encodeV2Error(id: EthId, code: number, message: string): string {
  return line({ id, error: { code, message } });
}
export function encodeV2Set(s: V2Set): string {
  const params: Record<string, string> = {};
  if (s.epoch !== undefined) params.epoch = hexNumber(s.epoch);
  if (s.target !== undefined) params.target = hexNumber(s.target);
  if (s.algo !== undefined) params.algo = s.algo;
  if (s.extranonce !== undefined) params.extranonce = s.extranonce;
  return line({ method: 'mining.set', params });
}
export function encodeV2Notify(j: V2Job): string {
  return line({
    method: 'mining.notify',
    params: [j.jobId, hexNumber(j.blockNumber), j.headerHash, j.cleanJobs ? '1' : '0'],
  });
}
export function encodeV2Reconnect(r: { host: string; port: number; resume: boolean }): string {
  return line({
    method: 'mining.reconnect',
    params: { host: r.host, port: hexNumber(r.port), resume: r.resume ? '1' : '0' },
  });
}

// ---------------------------------------------------------------------------------------------------
// Nonces and extranonces

/**
 * The search segment of an extranonce given as hex digits (v2 may be any digit count; v1 always whole
 * bytes): nonces whose top `4·digits` bits equal the extranonce.
 */
export interface NonceSegment {
  extranonce: string;
  /** Hex digits the miner sends (16 − extranonce digits). */
  minerDigits: number;
  /** First nonce of the segment. */
  start: bigint;
  /** Nonces in the segment (2^(64 − 4·digits)). */
  size: bigint;
}

export function nonceSegment(extranonce: string): NonceSegment {
  if (extranonce.length > 15 || (extranonce.length > 0 && !HEX.test(extranonce))) {
    throw new Error(`extranonce: "${extranonce}" is not at most 15 hex digits`);
  }
  const minerDigits = 16 - extranonce.length;
  const size = 1n << BigInt(4 * minerDigits);
  const start = extranonce.length ? BigInt(`0x${extranonce}`) << BigInt(4 * minerDigits) : 0n;
  return { extranonce: extranonce.toLowerCase(), minerDigits, start, size };
}

/** The miner part of a full nonce in a segment (hex, fixed width), or undefined if it lies outside. */
export function minerNonceHex(seg: NonceSegment, nonce: bigint): string | undefined {
  if (nonce < seg.start || nonce >= seg.start + seg.size) return undefined;
  return (nonce - seg.start).toString(16).padStart(seg.minerDigits, '0');
}

/** Full nonce from extranonce and miner part (server side); undefined if the width is wrong. */
export function fullNonce(extranonce: string, minerNonce: string): bigint | undefined {
  if (extranonce.length + minerNonce.length !== 16 || !HEX.test(minerNonce)) return undefined;
  return BigInt(`0x${extranonce}${minerNonce}`);
}

// ---------------------------------------------------------------------------------------------------
// Reject classification (EIP-1571 codes + the classic Stratum codes)

/** The same reasons as Bitcoin Stratum (the pool manager keeps one accounting table for both). */
export type EthRejectReason = RejectReason;

export interface EthErrorClass {
  /** 2xx: accepted with a caveat (202 = counted stale); 3xx auth; 4xx bad request; 5xx server error. */
  severity: 'caveat' | 'auth' | 'request' | 'server' | 'classic';
  reason: EthRejectReason;
  /** True when the pool still credited the share (2xx other than stale). */
  accepted: boolean;
  /** True for 5xx: the EIP says switch to a failover pool. */
  failover: boolean;
}

const KEYWORDS: ReadonlyArray<[RegExp, EthRejectReason]> = [
  [/duplicate|already\s+submitted/i, 'duplicate'],
  [/stale|job\s*not\s*found|unknown\s*job|invalid\s*job/i, 'stale'],
  [/bad\s*nonce|low\s*diff|above\s*target|too\s*low|target|difficulty/i, 'low-difficulty'],
  [/unauthori[sz]ed|not\s*authori[sz]ed|invalid\s*(worker|user|token)|worker/i, 'unauthorized'],
  [/not\s*subscribed/i, 'not-subscribed'],
];

/** Classifies an error member of a submit response (either dialect). */
export function classifyEthError(e: RpcError): EthErrorClass {
  const code = e.code;
  const byText = KEYWORDS.find(([re]) => re.test(e.message))?.[1];
  if (code !== undefined && code >= 200 && code < 600) {
    if (code < 300) {
      const stale = code === 202 || byText === 'stale';
      return {
        severity: 'caveat',
        reason: stale ? 'stale' : (byText ?? 'other'),
        accepted: !stale,
        failover: false,
      };
    }
    if (code < 400) return { severity: 'auth', reason: 'unauthorized', accepted: false, failover: false };
    if (code < 500) {
      const reason: EthRejectReason =
        code === 404
          ? 'stale'
          : code === 406
            ? 'low-difficulty'
            : code === 409
              ? 'duplicate'
              : (byText ?? 'other');
      return { severity: 'request', reason, accepted: false, failover: false };
    }
    return { severity: 'server', reason: 'other', accepted: false, failover: true };
  }
  const classic: Record<number, EthRejectReason> = {
    21: 'stale',
    22: 'duplicate',
    23: 'low-difficulty',
    24: 'unauthorized',
    25: 'not-subscribed',
  };
  const reason = (code !== undefined ? classic[code] : undefined) ?? byText ?? 'other';
  return { severity: 'classic', reason, accepted: false, failover: false };
}
