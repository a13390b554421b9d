/**
 * Stratum V1 wire codec — pure, no I/O, no timers.
 *
 * - `LineDecoder`: splits a byte stream into LF-terminated lines (partial lines, several lines per chunk,
 *   CRLF tolerated). A line longer than 64 KiB is a `LineTooLongError`; the connection must then close.
 * - `parseLine`: one line → a `StratumMessage` (request / notification / response). Never throws;
 *   malformed input comes back as `{ ok: false, error }` with an error naming the field.
 * - `decodeServerMessage`: a request/notification from a pool → a strictly validated `ServerMessage`.
 * - `parseSubscribeResult`, `parseConfigureResult`, `classifyReject`: typed views of responses.
 * - `encode*`: the client requests as ready-to-write lines (with the trailing LF).
 *
 * Facts and sources: host/stratum/REFERENCE.md.
 */

export const MAX_LINE_BYTES = 64 * 1024;
/** Merkle branches beyond this are absurd (a 2^64-transaction block); the notify is rejected. */
export const MAX_MERKLE_BRANCHES = 64;
/** extranonce2_size accepted from a pool (cgminer refuses < 2 or > 16; so do we and the work engine). */
export const MIN_EXTRANONCE2_SIZE = 2;
export const MAX_EXTRANONCE2_SIZE = 16;
/** extranonce1 longer than this many bytes is refused. */
export const MAX_EXTRANONCE1_BYTES = 32;
export const MAX_JOB_ID_LENGTH = 128;

// ---------------------------------------------------------------------------------------------------
// Errors

export type ProtocolErrorKind =
  | 'line-too-long'
  | 'json'
  | 'shape'
  | 'params'
  | 'result'
  | 'unknown-method'
  | 'unknown-id';

/** A malformed message. `field` names what was wrong, e.g. `mining.notify.params[1] (prevhash)`. */
export class StratumProtocolError extends Error {
  override readonly name = 'StratumProtocolError';
  readonly kind: ProtocolErrorKind;
  readonly field: string;
  constructor(kind: ProtocolErrorKind, field: string, detail: string) {
    super(`${field}: ${detail}`);
    this.kind = kind;
    this.field = field;
  }
}

export class LineTooLongError extends StratumProtocolError {
  readonly bytes: number;
  constructor(bytes: number) {
    super('line-too-long', 'line', `more than ${MAX_LINE_BYTES} bytes without a newline (${bytes} so far)`);
    this.bytes = bytes;
  }
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: StratumProtocolError };

/** A successful Result (shared with the Ethereum codec). */
export const ok = <T>(value: T): Result<T> => ({ ok: true, value });
/** A failed Result whose error names the field (shared with the Ethereum codec). */
export const fail = <T>(kind: ProtocolErrorKind, field: string, detail: string): Result<T> => ({
  ok: false,
  error: new StratumProtocolError(kind, field, detail),
});

// ---------------------------------------------------------------------------------------------------
// Line framing

const LF = 0x0a;

/**
 * Byte-stream → lines. Keeps at most MAX_LINE_BYTES of an unfinished line; beyond that `push` throws
 * LineTooLongError (and the decoder must be discarded with its connection). Lines are decoded as UTF-8,
 * a trailing CR is dropped, and blank lines are skipped.
 */
export class LineDecoder {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  private readonly maxBytes: number;
  constructor(maxBytes = MAX_LINE_BYTES) {
    this.maxBytes = maxBytes;
  }

  /** Bytes held for an unfinished line. */
  get buffered(): number {
    return this.pendingBytes;
  }

  push(chunk: Buffer | string): string[] {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    const out: string[] = [];
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(LF, start);
      if (nl < 0) break;
      const len = this.pendingBytes + (nl - start);
      if (len > this.maxBytes) throw new LineTooLongError(len);
      let line: string;
      if (this.pendingBytes > 0) {
        this.pending.push(buf.subarray(start, nl));
        line = Buffer.concat(this.pending, len).toString('utf8');
        this.pending = [];
        this.pendingBytes = 0;
      } else {
        line = buf.toString('utf8', start, nl);
      }
      start = nl + 1;
      if (line.endsWith('\r')) line = line.slice(0, -1);
      if (line.trim().length > 0) out.push(line);
    }
    if (start < buf.length) {
      const rest = buf.length - start;
      if (this.pendingBytes + rest > this.maxBytes) throw new LineTooLongError(this.pendingBytes + rest);
      // Copy: the caller may reuse its chunk buffer.
      this.pending.push(Buffer.from(buf.subarray(start)));
      this.pendingBytes += rest;
    }
    return out;
  }

  reset(): void {
    this.pending = [];
    this.pendingBytes = 0;
  }
}

// ---------------------------------------------------------------------------------------------------
// Generic message shapes

export type StratumId = number | string;

export interface RpcError {
  /** Numeric code if the pool gave one (20..25 classic, others possible), else undefined. */
  code: number | undefined;
  message: string;
  data?: unknown;
}

export type StratumMessage =
  | { type: 'request'; id: StratumId; method: string; params: unknown[] }
  | { type: 'notification'; method: string; params: unknown[] }
  | {
      type: 'response';
      id: StratumId;
      result: unknown;
      error: RpcError | null;
      /** ckpool's extra `"reject-reason"` member. */
      rejectReason?: string;
    };

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Normalises the error member: `[code, "msg", data]`, `"msg"`, `{code?, message}`, or null. */
export function parseErrorMember(e: unknown): Result<RpcError | null> {
  if (e === null || e === undefined) return ok(null);
  if (Array.isArray(e)) {
    const [code, message, data] = e;
    const c =
      typeof code === 'number' && Number.isFinite(code)
        ? code
        : typeof code === 'string' && /^-?\d+$/.test(code)
          ? Number(code)
          : undefined;
    return ok({
      code: c,
      message:
        typeof message === 'string'
          ? message
          : message === undefined || message === null
            ? ''
            : JSON.stringify(message),
      data,
    });
  }
  if (typeof e === 'string') return ok({ code: undefined, message: e });
  if (isPlainObject(e)) {
    const code = typeof e.code === 'number' && Number.isFinite(e.code) ? e.code : undefined;
    const message = typeof e.message === 'string' ? e.message : '';
    return ok({ code, message, data: e.data });
  }
  if (typeof e === 'number' && Number.isFinite(e)) return ok({ code: e, message: '' });
  if (e === false) return ok(null);
  return fail('shape', 'error', `unsupported error member type ${typeof e}`);
}

function validId(id: unknown): id is StratumId {
  return (typeof id === 'number' && Number.isFinite(id)) || (typeof id === 'string' && id.length <= 256);
}

/** One line → its JSON object (the first step of every dialect's line parser). Never throws. */
export function parseJsonObject(line: string): Result<Record<string, unknown>> {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (e) {
    return fail('json', 'line', `invalid JSON (${(e as Error).message.slice(0, 80)})`);
  }
  if (!isPlainObject(v)) return fail('shape', 'message', 'not a JSON object');
  return ok(v);
}

/** Parses one line into a message. Never throws. A `jsonrpc` member is ignored. */
export function parseLine(line: string): Result<StratumMessage> {
  const o = parseJsonObject(line);
  if (!o.ok) return o;
  const v = o.value;
  const id = v.id;
  if ('method' in v && v.method !== undefined && v.method !== null) {
    if (typeof v.method !== 'string' || v.method.length === 0 || v.method.length > 128) {
      return fail('shape', 'method', 'not a non-empty string');
    }
    let params: unknown[];
    if (v.params === undefined || v.params === null) params = [];
    else if (Array.isArray(v.params)) params = v.params;
    else return fail('shape', `${v.method}.params`, 'not an array');
    if (id === null || id === undefined) return ok({ type: 'notification', method: v.method, params });
    if (!validId(id)) return fail('shape', 'id', 'not a number, string or null');
    return ok({ type: 'request', id, method: v.method, params });
  }
  if ('result' in v || 'error' in v) {
    if (!validId(id)) return fail('shape', 'id', 'response without a usable id');
    const err = parseErrorMember(v.error);
    if (!err.ok) return err;
    const msg: StratumMessage = { type: 'response', id, result: v.result ?? null, error: err.value };
    const rr = v['reject-reason'];
    if (typeof rr === 'string') msg.rejectReason = rr;
    return ok(msg);
  }
  return fail('shape', 'message', 'neither a request (method) nor a response (result/error)');
}

// ---------------------------------------------------------------------------------------------------
// Field validators

const HEX_RE = /^[0-9a-fA-F]*$/;
const UPPER_RE = /[A-F]/;

function isHex(s: unknown): s is string {
  return typeof s === 'string' && s.length % 2 === 0 && HEX_RE.test(s);
}
function isHexN(s: unknown, chars: number): s is string {
  return typeof s === 'string' && s.length === chars && HEX_RE.test(s);
}
/** Lower-cases validated hex only when it has upper-case digits (no copy for the usual input). */
function lower(s: string): string {
  return UPPER_RE.test(s) ? s.toLowerCase() : s;
}

/** `x` as a lower-case 8-hex-digit word, e.g. 0x1fffe000 → "1fffe000". */
export function hex32(x: number): string {
  return (x >>> 0).toString(16).padStart(8, '0');
}

// ---------------------------------------------------------------------------------------------------
// Server → client messages

/** A validated mining.notify, field names as the work engine takes them (hex lower-cased). */
export interface NotifyJob {
  jobId: string;
  prevhash: string;
  coinb1: string;
  coinb2: string;
  merkleBranch: string[];
  version: string;
  nbits: string;
  ntime: string;
  cleanJobs: boolean;
  /** Header-only job (Stratum V2 standard channel): the fixed merkle root, header byte order (hex). */
  merkleRoot?: string;
}

export interface ReconnectRequest {
  host?: string;
  port?: number;
  waitSeconds?: number;
}

export type ServerMessage =
  | { kind: 'notify'; job: NotifyJob }
  | { kind: 'set_difficulty'; difficulty: number }
  | { kind: 'set_extranonce'; extranonce1: string; extranonce2Size: number }
  | { kind: 'set_version_mask'; mask: number }
  | { kind: 'reconnect'; request: ReconnectRequest }
  | { kind: 'show_message'; text: string }
  | { kind: 'get_version'; id: StratumId | null }
  | { kind: 'ping'; id: StratumId | null }
  | { kind: 'unknown'; method: string; id: StratumId | null };

const NOTIFY_FIELDS = [
  'job_id',
  'prevhash',
  'coinb1',
  'coinb2',
  'merkle_branch',
  'version',
  'nbits',
  'ntime',
  'clean_jobs',
] as const;

/** Validates mining.notify params. Errors name the field, e.g. `mining.notify.params[1] (prevhash)`. */
/** The name of notify param `i` in an error (a module function: no closure per notify on the hot path). */
function f(i: number): string {
  return `mining.notify.params[${i}] (${NOTIFY_FIELDS[i]})`;
}

export function parseNotify(params: unknown[]): Result<NotifyJob> {
  if (params.length < 9)
    return fail('params', 'mining.notify.params', `expected 9 params, got ${params.length}`);
  const [jobId, prevhash, coinb1, coinb2, branch, version, nbits, ntime, clean] = params;
  if (typeof jobId !== 'string' || jobId.length === 0 || jobId.length > MAX_JOB_ID_LENGTH) {
    return fail('params', f(0), `not a string of 1..${MAX_JOB_ID_LENGTH} chars`);
  }
  if (!isHexN(prevhash, 64)) return fail('params', f(1), 'not 64 hex digits');
  if (!isHex(coinb1) || coinb1.length === 0) return fail('params', f(2), 'not non-empty even-length hex');
  if (!isHex(coinb2) || coinb2.length === 0) return fail('params', f(3), 'not non-empty even-length hex');
  if (!Array.isArray(branch)) return fail('params', f(4), 'not an array');
  if (branch.length > MAX_MERKLE_BRANCHES) {
    return fail('params', f(4), `${branch.length} entries (more than ${MAX_MERKLE_BRANCHES})`);
  }
  const merkleBranch: string[] = new Array(branch.length);
  for (let i = 0; i < branch.length; i++) {
    const b = branch[i];
    if (!isHexN(b, 64)) return fail('params', `${f(4)}[${i}]`, 'not a 32-byte hex hash');
    merkleBranch[i] = lower(b);
  }
  if (!isHexN(version, 8)) return fail('params', f(5), 'not 8 hex digits');
  if (!isHexN(nbits, 8)) return fail('params', f(6), 'not 8 hex digits');
  if (!isHexN(ntime, 8)) return fail('params', f(7), 'not 8 hex digits');
  if (typeof clean !== 'boolean') return fail('params', f(8), 'not a boolean');
  return ok({
    jobId,
    prevhash: lower(prevhash),
    coinb1: lower(coinb1),
    coinb2: lower(coinb2),
    merkleBranch,
    version: lower(version),
    nbits: lower(nbits),
    ntime: lower(ntime),
    cleanJobs: clean,
  });
}

function parseExtranonce2Size(v: unknown, field: string): Result<number> {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < MIN_EXTRANONCE2_SIZE || v > MAX_EXTRANONCE2_SIZE) {
    return fail(
      'params',
      field,
      `not an integer in ${MIN_EXTRANONCE2_SIZE}..${MAX_EXTRANONCE2_SIZE} (${JSON.stringify(v)})`,
    );
  }
  return ok(v);
}

function parseExtranonce1(v: unknown, field: string): Result<string> {
  if (!isHex(v) || v.length > MAX_EXTRANONCE1_BYTES * 2) {
    return fail('params', field, `not even-length hex of at most ${MAX_EXTRANONCE1_BYTES} bytes`);
  }
  return ok(lower(v));
}

/** mining.set_difficulty params (both Bitcoin and EthereumStratum/1.0.0): a finite difficulty > 0. */
export function parseSetDifficulty(p: unknown[]): Result<number> {
  const d = p[0];
  if (typeof d !== 'number' || !Number.isFinite(d) || d <= 0) {
    return fail(
      'params',
      'mining.set_difficulty.params[0] (difficulty)',
      `not a finite number > 0 (${JSON.stringify(d)})`,
    );
  }
  return ok(d);
}

/** A host name or address a reconnect request may name (no blanks or slashes, at most 255 chars). */
export function isHostName(host: string): boolean {
  return host.length <= 255 && !/[\s/]/.test(host);
}

/** Validates a pool request or notification. `id` is kept for the ones the client must answer. */
export function decodeServerMessage(
  msg: Extract<StratumMessage, { type: 'request' | 'notification' }>,
): Result<ServerMessage> {
  const id = msg.type === 'request' ? msg.id : null;
  const p = msg.params;
  switch (msg.method) {
    case 'mining.notify': {
      const r = parseNotify(p);
      return r.ok ? ok({ kind: 'notify', job: r.value }) : r;
    }
    case 'mining.set_difficulty': {
      const d = parseSetDifficulty(p);
      return d.ok ? ok({ kind: 'set_difficulty', difficulty: d.value }) : d;
    }
    case 'mining.set_extranonce': {
      const e1 = parseExtranonce1(p[0], 'mining.set_extranonce.params[0] (extranonce1)');
      if (!e1.ok) return e1;
      const e2 = parseExtranonce2Size(p[1], 'mining.set_extranonce.params[1] (extranonce2_size)');
      if (!e2.ok) return e2;
      return ok({ kind: 'set_extranonce', extranonce1: e1.value, extranonce2Size: e2.value });
    }
    case 'mining.set_version_mask': {
      if (!isHexN(p[0], 8))
        return fail('params', 'mining.set_version_mask.params[0] (mask)', 'not 8 hex digits');
      return ok({ kind: 'set_version_mask', mask: Number.parseInt(p[0], 16) >>> 0 });
    }
    case 'client.reconnect': {
      const request: ReconnectRequest = {};
      const [host, port, wait] = p;
      if (host !== undefined && host !== null && host !== '') {
        if (typeof host !== 'string' || !isHostName(host)) {
          return fail('params', 'client.reconnect.params[0] (host)', 'not a host name');
        }
        request.host = host;
      }
      if (port !== undefined && port !== null && port !== '') {
        const n = typeof port === 'string' && /^\d{1,5}$/.test(port) ? Number(port) : port;
        if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 65535) {
          return fail(
            'params',
            'client.reconnect.params[1] (port)',
            `not a port number (${JSON.stringify(port)})`,
          );
        }
        request.port = n;
      }
      if (wait !== undefined && wait !== null) {
        if (typeof wait !== 'number' || !Number.isFinite(wait) || wait < 0 || wait > 3600) {
          return fail('params', 'client.reconnect.params[2] (wait)', 'not a number of seconds in 0..3600');
        }
        request.waitSeconds = wait;
      }
      return ok({ kind: 'reconnect', request });
    }
    case 'client.show_message': {
      if (typeof p[0] !== 'string')
        return fail('params', 'client.show_message.params[0] (text)', 'not a string');
      return ok({ kind: 'show_message', text: p[0].slice(0, 1024) });
    }
    case 'client.get_version':
      return ok({ kind: 'get_version', id });
    case 'mining.ping':
      return ok({ kind: 'ping', id });
    default:
      return ok({ kind: 'unknown', method: msg.method, id });
  }
}

// ---------------------------------------------------------------------------------------------------
// Responses

export interface SubscribeResult {
  extranonce1: string;
  extranonce2Size: number;
  /** The subscription pairs as sent (may be missing or partial; only informative). */
  subscriptions: unknown;
}

export function parseSubscribeResult(result: unknown): Result<SubscribeResult> {
  if (!Array.isArray(result) || result.length < 3) {
    return fail(
      'result',
      'mining.subscribe.result',
      'not an array [subscriptions, extranonce1, extranonce2_size]',
    );
  }
  const e1 = parseExtranonce1(result[1], 'mining.subscribe.result[1] (extranonce1)');
  if (!e1.ok)
    return { ok: false, error: new StratumProtocolError('result', e1.error.field, e1.error.message) };
  const e2 = parseExtranonce2Size(result[2], 'mining.subscribe.result[2] (extranonce2_size)');
  if (!e2.ok)
    return { ok: false, error: new StratumProtocolError('result', e2.error.field, e2.error.message) };
  return ok({ extranonce1: e1.value, extranonce2Size: e2.value, subscriptions: result[0] });
}

export interface ConfigureResult {
  versionRolling: boolean;
  /** Mask granted by the pool (only when versionRolling). */
  versionMask?: number;
  /** Error text if the pool answered "version-rolling": "<text>". */
  versionRollingError?: string;
  minimumDifficulty?: boolean;
}

export function parseConfigureResult(result: unknown): Result<ConfigureResult> {
  if (!isPlainObject(result)) return fail('result', 'mining.configure.result', 'not an object');
  const vr = result['version-rolling'];
  const out: ConfigureResult = { versionRolling: false };
  if (vr === true) {
    const m = result['version-rolling.mask'];
    if (!isHexN(m, 8))
      return fail('result', 'mining.configure.result["version-rolling.mask"]', 'not 8 hex digits');
    out.versionRolling = true;
    out.versionMask = Number.parseInt(m, 16) >>> 0;
  } else if (typeof vr === 'string') out.versionRollingError = vr;
  const md = result['minimum-difficulty'];
  if (typeof md === 'boolean') out.minimumDifficulty = md;
  return ok(out);
}

// ---------------------------------------------------------------------------------------------------
// Reject classification

export type RejectReason =
  | 'other'
  | 'stale'
  | 'duplicate'
  | 'low-difficulty'
  | 'unauthorized'
  | 'not-subscribed';

export const REJECT_CODES: Readonly<Record<RejectReason, number>> = {
  other: 20,
  stale: 21,
  duplicate: 22,
  'low-difficulty': 23,
  unauthorized: 24,
  'not-subscribed': 25,
};

/** A zero count for every reject reason (accounting tables). */
export function emptyRejectCounts(): Record<RejectReason, number> {
  return {
    other: 0,
    stale: 0,
    duplicate: 0,
    'low-difficulty': 0,
    unauthorized: 0,
    'not-subscribed': 0,
  };
}

const BY_CODE: ReadonlyMap<number, RejectReason> = new Map(
  Object.entries(REJECT_CODES).map(([k, v]) => [v, k as RejectReason]),
);

const KEYWORDS: ReadonlyArray<[RegExp, RejectReason]> = [
  [/duplicate|dup(e|licate)?\s*share|already\s+submitted/i, 'duplicate'],
  [/stale|job\s*not\s*found|invalid\s*job\s*id|unknown\s*job|old\s*job|expired|job\s*id/i, 'stale'],
  [/above\s*target|low\s*diff|too\s*low|difficulty|high[\s-]*hash|target/i, 'low-difficulty'],
  [
    /unauthori[sz]ed|not\s*authori[sz]ed|authori[sz]ation|invalid\s*(user|worker)|worker\s*mismatch/i,
    'unauthorized',
  ],
  [/not\s*subscribed|subscri/i, 'not-subscribed'],
];

export interface RejectClass {
  reason: RejectReason;
  /** Classic code (20..25) of the reason. */
  code: number;
  /** The pool's own code, if any. */
  poolCode: number | undefined;
  /** The pool's text (reject-reason, error message), for display. */
  message: string;
}

/**
 * Classifies a rejected submit. A classic code 21..25 decides; otherwise (20, other codes, no code) the
 * free text (ckpool's reject-reason first, then the error message) is matched by keywords.
 */
export function classifyReject(error: RpcError | null, rejectReason?: string): RejectClass {
  const text = [rejectReason, error?.message].filter((s): s is string => !!s).join(' / ');
  const poolCode = error?.code;
  const byCode = poolCode !== undefined ? BY_CODE.get(poolCode) : undefined;
  if (byCode && byCode !== 'other')
    return { reason: byCode, code: REJECT_CODES[byCode], poolCode, message: text };
  for (const [re, reason] of KEYWORDS) {
    if (re.test(text)) return { reason, code: REJECT_CODES[reason], poolCode, message: text };
  }
  return { reason: 'other', code: 20, poolCode, message: text };
}

// ---------------------------------------------------------------------------------------------------
// Client → server encoders (each returns one line including the LF)

export interface ConfigureOptions {
  /** Version-rolling mask the chips can roll; omitted → no version-rolling extension. */
  versionRollingMask?: number;
  versionRollingMinBitCount?: number;
  /** Ask the pool for a minimum difficulty (BIP310 minimum-difficulty). */
  minimumDifficulty?: number;
}

export function encodeConfigure(id: number, o: ConfigureOptions): string {
  const exts: string[] = [];
  const params: Record<string, unknown> = {};
  if (o.versionRollingMask !== undefined) {
    exts.push('version-rolling');
    params['version-rolling.mask'] = hex32(o.versionRollingMask);
    if (o.versionRollingMinBitCount !== undefined)
      params['version-rolling.min-bit-count'] = o.versionRollingMinBitCount;
  }
  if (o.minimumDifficulty !== undefined) {
    exts.push('minimum-difficulty');
    params['minimum-difficulty.value'] = o.minimumDifficulty;
  }
  return `${JSON.stringify({ id, method: 'mining.configure', params: [exts, params] })}\n`;
}

export function encodeSubscribe(id: number, userAgent: string, resumeExtranonce1?: string): string {
  const params = resumeExtranonce1 ? [userAgent, resumeExtranonce1] : [userAgent];
  return `${JSON.stringify({ id, method: 'mining.subscribe', params })}\n`;
}

export function encodeAuthorize(id: number, user: string, password: string): string {
  return `${JSON.stringify({ id, method: 'mining.authorize', params: [user, password] })}\n`;
}

export function encodeSuggestDifficulty(id: number, difficulty: number): string {
  return `${JSON.stringify({ id, method: 'mining.suggest_difficulty', params: [difficulty] })}\n`;
}

export function encodeExtranonceSubscribe(id: number): string {
  return `${JSON.stringify({ id, method: 'mining.extranonce.subscribe', params: [] })}\n`;
}

export interface SubmitFields {
  jobId: string;
  /** Hex, exactly 2·extranonce2_size digits. */
  extranonce2: string;
  /** uint32 as it goes into the header (sent as 8 hex, big-endian text). */
  ntime: number;
  nonce: number;
  /** Bits rolled under the mask; when given, sent as the 6th param. */
  versionBits?: number;
}

/** mining.submit line. `user` and `jobId` are JSON-escaped; numbers become 8 lower-case hex digits. */
export function encodeSubmit(id: number, user: string, s: SubmitFields): string {
  const vb = s.versionBits === undefined ? '' : `,"${hex32(s.versionBits)}"`;
  return `{"id":${id},"method":"mining.submit","params":[${JSON.stringify(user)},${JSON.stringify(s.jobId)},"${s.extranonce2}","${hex32(s.ntime)}","${hex32(s.nonce)}"${vb}]}\n`;
}

/** Answer to a pool request (client.get_version, mining.ping). */
export function encodeResult(id: StratumId, result: unknown): string {
  return `${JSON.stringify({ id, result, error: null })}\n`;
}

/** Server-side helpers (the embedded pool and test servers share the codec). */
export function encodeError(id: StratumId | null, code: number, message: string): string {
  return `${JSON.stringify({ id, result: null, error: [code, message, null] })}\n`;
}

export function encodeNotification(method: string, params: unknown[]): string {
  return `${JSON.stringify({ id: null, method, params })}\n`;
}

export function encodeNotify(job: NotifyJob): string {
  return encodeNotification('mining.notify', [
    job.jobId,
    job.prevhash,
    job.coinb1,
    job.coinb2,
    job.merkleBranch,
    job.version,
    job.nbits,
    job.ntime,
    job.cleanJobs,
  ]);
}

/** extranonce2 counter → hex, little-endian, zero-padded to `size` bytes (as ESP-Miner encodes it). */
export function extranonce2Hex(value: bigint | number, size: number): string {
  let v = BigInt(value);
  let out = '';
  for (let i = 0; i < size; i++) {
    out += Number(v & 0xffn)
      .toString(16)
      .padStart(2, '0');
    v >>= 8n;
  }
  return out;
}
