import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { memoryLogger } from '../../lib/log.ts';
import { redactText, redactValue, registerSecret, safeJson, splitUserInfo } from '../../lib/redact.ts';

describe('redaction (lib/redact.ts)', () => {
  it('masks user-info in any URL, in free text too', () => {
    assert.equal(redactText('stratum+tcp://u:pw1@h:3333'), 'stratum+tcp://***@h:3333');
    assert.equal(redactText('mqtt://u:p@ss@broker:1883/x'), 'mqtt://***@broker:1883/x');
    assert.equal(
      redactText('connect to stratum+ssl://tok@pool.example:4333 failed; mqtt://a:b@c:1 too'),
      'connect to stratum+ssl://***@pool.example:4333 failed; mqtt://***@c:1 too',
    );
    // JSON: the mask stops at the closing quote, the next field survives.
    assert.equal(
      redactText(JSON.stringify({ url: 'mqtt://u:p@h:1', mail: 'a@b' })),
      '{"url":"mqtt://***@h:1","mail":"a@b"}',
    );
    assert.equal(redactText('stratum+tcp://h:3333 and a@b.c'), 'stratum+tcp://h:3333 and a@b.c');
  });

  it('masks registered secret values anywhere (raw, percent-encoded, JSON-escaped); not short ones', () => {
    registerSecret('Hunter2"Pw/x');
    registerSecret('x');
    const line = `auth failed for Hunter2"Pw/x (${encodeURIComponent('Hunter2"Pw/x')}) ${JSON.stringify('Hunter2"Pw/x')}; pass x`;
    const out = redactText(line);
    assert.ok(!out.includes('Hunter2'), out);
    assert.match(out, /pass x$/);
  });

  it('masks secret keys at any depth; Errors become their redacted message', () => {
    const v = redactValue({
      config: { 'mqtt.pass': 'abcd1234', pools: [{ url: 'stratum+tcp://w:zz99@h:1', password: 'q' }] },
      error: new Error('cannot reach mqtt://me:pw@x:1'),
      apiKey: 'k',
      empty: '',
    }) as Record<string, unknown>;
    assert.deepEqual(v, {
      config: { 'mqtt.pass': '***', pools: [{ url: 'stratum+tcp://***@h:1', password: '***' }] },
      error: 'cannot reach mqtt://***@x:1',
      apiKey: '***',
      empty: '',
    });
    assert.equal(safeJson({ u: 'mqtt://a:b@c' }), '{"u":"mqtt://***@c"}');
  });

  it('splitUserInfo takes user and password out of a URL and registers the password', () => {
    assert.deepEqual(splitUserInfo('stratum+tcp://bc1q.w1:p%40ss-word9@pool:3333'), {
      url: 'stratum+tcp://pool:3333',
      user: 'bc1q.w1',
      pass: 'p@ss-word9',
    });
    assert.equal(redactText('p@ss-word9 and p%40ss-word9'), '*** and ***');
    assert.deepEqual(splitUserInfo('stratum+tcp://w2@pool:3333'), {
      url: 'stratum+tcp://pool:3333',
      user: 'w2',
    });
    assert.deepEqual(splitUserInfo('u:pw12@[::1]:3333'), { url: '[::1]:3333', user: 'u', pass: 'pw12' });
    assert.deepEqual(splitUserInfo('stratum+tcp://pool:3333'), { url: 'stratum+tcp://pool:3333' });
    assert.throws(
      () => splitUserInfo('mqtt://u:%zzBadSecret@h'),
      (e: Error) => !e.message.includes('zzBad'),
    );
  });

  it('the logger applies it to every field, nested, and to error messages', () => {
    const log = memoryLogger();
    registerSecret('LogSecret77');
    log.warn('connect_failed', {
      url: 'stratum+tcp://w:pp@h:1',
      error: new Error('refused by LogSecret77'),
      config: { pass: 'anything', nested: { token: 't' } },
    });
    const line = JSON.stringify(log.records);
    assert.ok(!line.includes('LogSecret77') && !line.includes(':pp@') && !line.includes('"anything"'), line);
  });
});
