/** Unit tests of the pure Stratum V1 codec (host/stratum/messages.ts), against the public slush vector. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  classifyReject,
  decodeServerMessage,
  encodeConfigure,
  encodeSubmit,
  encodeSubscribe,
  extranonce2Hex,
  LineDecoder,
  LineTooLongError,
  MAX_LINE_BYTES,
  parseConfigureResult,
  parseLine,
  parseSubscribeResult,
  type StratumMessage,
} from '../../host/stratum/messages.ts';
import { vector } from '../helpers/vectors.ts';

interface SlushVector {
  extranonce1: string;
  extranonce2_size: number;
  notify: Record<string, unknown>;
  submit: { worker: string; job_id: string; extranonce2: string; ntime: string; nonce: string };
  raw_messages: { subscribe_result: string; notify: string; submit: string };
}
const slush = vector<SlushVector>('stratum-v1', 'slush-example-testnet3');

function msg(line: string): StratumMessage {
  const r = parseLine(line);
  if (!r.ok) throw r.error;
  return r.value;
}
function server(line: string) {
  const m = msg(line);
  assert.ok(m.type !== 'response');
  return decodeServerMessage(m);
}
const notifyParams = () => (JSON.parse(slush.raw_messages.notify) as { params: unknown[] }).params;
const notifyLine = (params: unknown[], extra = {}) =>
  JSON.stringify({ id: null, method: 'mining.notify', params, ...extra });

describe('LineDecoder', () => {
  it('handles partial lines, several lines per chunk, CRLF and blank lines', () => {
    const d = new LineDecoder();
    assert.deepEqual(d.push('{"a":'), []);
    assert.equal(d.buffered, 5);
    assert.deepEqual(d.push('1}\n{"b":2}\r\n\n  \n{"c"'), ['{"a":1}', '{"b":2}']);
    assert.deepEqual(d.push(Buffer.from(':3}\n')), ['{"c":3}']);
    assert.equal(d.buffered, 0);
  });
  it('keeps UTF-8 characters split across chunks intact', () => {
    const d = new LineDecoder();
    const bytes = Buffer.from('{"m":"é€"}\n', 'utf8');
    const out: string[] = [];
    for (let i = 0; i < bytes.length; i++) out.push(...d.push(bytes.subarray(i, i + 1)));
    assert.deepEqual(out, ['{"m":"é€"}']);
  });
  it('throws LineTooLongError for more than 64 KiB without a newline, and not at exactly 64 KiB', () => {
    const d = new LineDecoder();
    d.push('x'.repeat(MAX_LINE_BYTES));
    assert.throws(() => d.push('y'), LineTooLongError);
    const d2 = new LineDecoder();
    assert.deepEqual(d2.push(`${'x'.repeat(MAX_LINE_BYTES)}\n`), ['x'.repeat(MAX_LINE_BYTES)]);
    const d3 = new LineDecoder();
    assert.throws(() => d3.push(`${'x'.repeat(MAX_LINE_BYTES + 1)}\n`), /line: more than 65536 bytes/);
  });
});

describe('parseLine', () => {
  it('parses the slush example messages', () => {
    const sub = msg(slush.raw_messages.subscribe_result);
    assert.equal(sub.type, 'response');
    if (sub.type !== 'response') return;
    const r = parseSubscribeResult(sub.result);
    assert.ok(r.ok);
    assert.equal(r.value.extranonce1, slush.extranonce1);
    assert.equal(r.value.extranonce2Size, slush.extranonce2_size);
    const n = server(slush.raw_messages.notify);
    assert.ok(n.ok && n.value.kind === 'notify');
    if (!n.ok || n.value.kind !== 'notify') return;
    assert.deepEqual(n.value.job, {
      jobId: 'bf',
      prevhash: slush.notify.prevhash,
      coinb1: slush.notify.coinb1,
      coinb2: slush.notify.coinb2,
      merkleBranch: [],
      version: '00000002',
      nbits: '1c2ac4af',
      ntime: '504e86b9',
      cleanJobs: false,
    });
    const s = msg(slush.raw_messages.submit);
    assert.equal(s.type, 'request');
  });
  it('treats missing or null id as a notification and ignores jsonrpc', () => {
    const a = msg('{"method":"mining.set_difficulty","params":[2]}');
    const b = msg('{"jsonrpc":"2.0","id":null,"method":"mining.set_difficulty","params":[2]}');
    assert.equal(a.type, 'notification');
    assert.equal(b.type, 'notification');
    const c = msg('{"jsonrpc":"2.0","id":"x7","method":"client.get_version"}');
    assert.deepEqual(c, { type: 'request', id: 'x7', method: 'client.get_version', params: [] });
  });
  it('normalises the error member in its array, string and object forms and reads reject-reason', () => {
    const a = msg('{"id":10,"result":null,"error":[21,"Job not found",null]}');
    assert.ok(a.type === 'response');
    if (a.type === 'response') assert.deepEqual(a.error, { code: 21, message: 'Job not found', data: null });
    const b = msg('{"id":3,"result":null,"error":"Invalid JobID"}');
    if (b.type === 'response') assert.deepEqual(b.error, { code: undefined, message: 'Invalid JobID' });
    const c = msg('{"id":3,"result":null,"error":{"code":23,"message":"low"}}');
    if (c.type === 'response') assert.equal(c.error?.code, 23);
    const d = msg('{"id":4,"result":false,"error":null,"reject-reason":"Stale"}');
    assert.ok(d.type === 'response' && d.rejectReason === 'Stale' && d.error === null);
  });
  it('reports malformed lines with a field, never throws', () => {
    for (const [line, field] of [
      ['{nope', 'line'],
      ['[1,2]', 'message'],
      ['{"id":1}', 'message'],
      ['{"id":1,"method":5}', 'method'],
      ['{"id":1,"method":"mining.notify","params":{"a":1}}', 'mining.notify.params'],
      ['{"id":{},"result":true}', 'id'],
    ] as const) {
      const r = parseLine(line);
      assert.ok(!r.ok, line);
      if (!r.ok) assert.equal(r.error.field, field, line);
    }
  });
});

describe('decodeServerMessage', () => {
  const bad = (line: string, field: RegExp) => {
    const r = server(line);
    assert.ok(!r.ok, line);
    if (!r.ok) assert.match(r.error.field, field);
  };
  it('rejects each invalid notify field by name', () => {
    const cases: Array<[number, unknown, RegExp]> = [
      [0, 5, /\(job_id\)/],
      [0, '', /\(job_id\)/],
      [1, 'ab', /\(prevhash\)/],
      [1, 'zz'.repeat(32), /\(prevhash\)/],
      [2, '0g', /\(coinb1\)/],
      [3, 'abc', /\(coinb2\)/],
      [4, 'x', /\(merkle_branch\)/],
      [4, ['00'], /\(merkle_branch\)\[0\]/],
      [4, new Array(10_000).fill('00'.repeat(32)), /\(merkle_branch\)/],
      [5, '2', /\(version\)/],
      [6, 123, /\(nbits\)/],
      [7, '504e86b9aa', /\(ntime\)/],
      [8, 'true', /\(clean_jobs\)/],
    ];
    for (const [i, v, field] of cases) {
      const p = notifyParams();
      p[i] = v;
      bad(notifyLine(p), field);
    }
    bad(notifyLine(notifyParams().slice(0, 8)), /mining\.notify\.params/);
  });
  it('accepts 12 merkle branches and upper-case hex (lower-cased)', () => {
    const p = notifyParams();
    p[4] = new Array(12).fill('AB'.repeat(32));
    const r = server(notifyLine(p));
    assert.ok(r.ok && r.value.kind === 'notify' && r.value.job.merkleBranch[11] === 'ab'.repeat(32));
  });
  it('validates set_difficulty (fractional ok; 0, negative, non-number refused)', () => {
    const r = server('{"id":null,"method":"mining.set_difficulty","params":[0.001]}');
    assert.deepEqual(r.ok && r.value, { kind: 'set_difficulty', difficulty: 0.001 });
    for (const v of ['0', '-1', '"8"', 'null', '[]']) {
      bad(`{"id":null,"method":"mining.set_difficulty","params":[${v}]}`, /difficulty/);
    }
  });
  it('validates set_extranonce, set_version_mask, reconnect, show_message, get_version, ping', () => {
    const e = server('{"id":null,"method":"mining.set_extranonce","params":["AABB",8]}');
    assert.deepEqual(e.ok && e.value, { kind: 'set_extranonce', extranonce1: 'aabb', extranonce2Size: 8 });
    bad('{"id":null,"method":"mining.set_extranonce","params":["aabb",0]}', /extranonce2_size/);
    bad('{"id":null,"method":"mining.set_extranonce","params":["aab",4]}', /extranonce1/);
    const m = server('{"id":null,"method":"mining.set_version_mask","params":["1fffe000"]}');
    assert.deepEqual(m.ok && m.value, { kind: 'set_version_mask', mask: 0x1fffe000 });
    bad('{"id":null,"method":"mining.set_version_mask","params":["1fffe00"]}', /mask/);
    const rc = server('{"id":null,"method":"client.reconnect","params":["pool.example","3334",5]}');
    assert.deepEqual(rc.ok && rc.value, {
      kind: 'reconnect',
      request: { host: 'pool.example', port: 3334, waitSeconds: 5 },
    });
    const rc0 = server('{"id":null,"method":"client.reconnect","params":[]}');
    assert.deepEqual(rc0.ok && rc0.value, { kind: 'reconnect', request: {} });
    bad('{"id":null,"method":"client.reconnect","params":["h",70000]}', /port/);
    const sm = server('{"id":null,"method":"client.show_message","params":["hello"]}');
    assert.deepEqual(sm.ok && sm.value, { kind: 'show_message', text: 'hello' });
    const gv = server('{"id":7,"method":"client.get_version","params":[]}');
    assert.deepEqual(gv.ok && gv.value, { kind: 'get_version', id: 7 });
    const pg = server('{"id":"p","method":"mining.ping"}');
    assert.deepEqual(pg.ok && pg.value, { kind: 'ping', id: 'p' });
    const u = server('{"id":null,"method":"mining.set_goal","params":[]}');
    assert.deepEqual(u.ok && u.value, { kind: 'unknown', method: 'mining.set_goal', id: null });
  });
  it('refuses subscribe results with extranonce2_size 0, 1 or 64 and accepts 2..16', () => {
    for (const size of [0, 1, 64, 17, 2.5, '4']) {
      const r = parseSubscribeResult([[], '08000002', size]);
      assert.ok(!r.ok);
      if (!r.ok) assert.match(r.error.field, /extranonce2_size/);
    }
    for (const size of [2, 4, 8, 16]) assert.ok(parseSubscribeResult([[], '08000002', size]).ok);
    assert.ok(!parseSubscribeResult(null).ok);
  });
  it('parses configure results', () => {
    const r = parseConfigureResult({ 'version-rolling': true, 'version-rolling.mask': '1fffe000' });
    assert.deepEqual(r.ok && r.value, { versionRolling: true, versionMask: 0x1fffe000 });
    const n = parseConfigureResult({ 'version-rolling': false });
    assert.deepEqual(n.ok && n.value, { versionRolling: false });
    assert.ok(!parseConfigureResult({ 'version-rolling': true }).ok);
  });
});

describe('classifyReject', () => {
  it('maps classic codes', () => {
    for (const [code, reason] of [
      [20, 'other'],
      [21, 'stale'],
      [22, 'duplicate'],
      [23, 'low-difficulty'],
      [24, 'unauthorized'],
      [25, 'not-subscribed'],
    ] as const) {
      const c = classifyReject({ code, message: 'whatever' });
      assert.equal(c.reason, reason);
      assert.equal(c.code, code);
    }
  });
  it('maps ckpool and public-pool free text by keywords', () => {
    const cases: Array<[string, string]> = [
      ['Stale', 'stale'],
      ['Invalid JobID', 'stale'],
      ['Duplicate', 'duplicate'],
      ['Above target', 'low-difficulty'],
      ['Difficulty too low', 'low-difficulty'],
      ['Ntime out of range', 'other'],
      ['Unauthorized worker', 'unauthorized'],
      ['Not subscribed', 'not-subscribed'],
    ];
    for (const [text, reason] of cases) {
      assert.equal(classifyReject(null, text).reason, reason, text);
      assert.equal(classifyReject({ code: undefined, message: text }).reason, reason, text);
      assert.equal(classifyReject({ code: 20, message: text }).reason, reason, text);
    }
    assert.equal(classifyReject({ code: 23, message: 'Difficulty too low' }).message, 'Difficulty too low');
  });
});

describe('encoders', () => {
  it('encodes the slush example submit (same params as the logged message)', () => {
    const line = encodeSubmit(4, slush.submit.worker, {
      jobId: slush.submit.job_id,
      extranonce2: slush.submit.extranonce2,
      ntime: Number.parseInt(slush.submit.ntime, 16),
      nonce: Number.parseInt(slush.submit.nonce, 16),
    });
    assert.ok(line.endsWith('\n'));
    assert.deepEqual(JSON.parse(line), JSON.parse(slush.raw_messages.submit));
  });
  it('adds version_bits as the 6th param and escapes the user name', () => {
    const line = encodeSubmit(9, 'we"ird', {
      jobId: 'j',
      extranonce2: '00',
      ntime: 1,
      nonce: 0xffffffff,
      versionBits: 0x2000,
    });
    assert.deepEqual(JSON.parse(line).params, ['we"ird', 'j', '00', '00000001', 'ffffffff', '00002000']);
  });
  it('encodes configure and subscribe (with resume)', () => {
    assert.deepEqual(
      JSON.parse(encodeConfigure(1, { versionRollingMask: 0x1fffe000, minimumDifficulty: 0.5 })),
      {
        id: 1,
        method: 'mining.configure',
        params: [
          ['version-rolling', 'minimum-difficulty'],
          { 'version-rolling.mask': '1fffe000', 'minimum-difficulty.value': 0.5 },
        ],
      },
    );
    assert.deepEqual(JSON.parse(encodeSubscribe(2, 'asicd/0.1.0', '08000002')).params, [
      'asicd/0.1.0',
      '08000002',
    ]);
  });
  it('encodes extranonce2 like the ESP-Miner vectors', () => {
    const v = vector<{ cases: Array<{ value: number; length: number; expected: string }> }>(
      'stratum-v1',
      'esp-extranonce2-encoding',
    );
    for (const c of v.cases) assert.equal(extranonce2Hex(c.value, c.length), c.expected);
  });
});
