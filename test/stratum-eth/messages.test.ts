/**
 * The Ethereum Stratum codec against the public example exchanges (NiceHash EthereumStratum/1.0.0 and
 * EIP-1571 EthereumStratum/2.0.0, in spec-examples.json), including the EIPs' own malformed examples,
 * plus a no-throw fuzz of every decoder.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  classifyEthError,
  decodeV1ServerMessage,
  decodeV2ServerMessage,
  type EthMessage,
  encodeBye,
  encodeHello,
  encodeNoop,
  encodeV1Authorize,
  encodeV1Submit,
  encodeV1Subscribe,
  encodeV2Authorize,
  encodeV2Hashrate,
  encodeV2Submit,
  encodeV2Subscribe,
  fullNonce,
  hexNumber,
  minerNonceHex,
  nonceSegment,
  parseEthLine,
  parseHelloResult,
  parseHexBool,
  parseHexNumber,
  parseTokenResult,
  parseV1SubscribeResult,
} from '../../host/stratum-eth/messages.ts';
import { eip, nh, nhRfc } from './spec-examples.ts';

function msg(line: string): EthMessage {
  const r = parseEthLine(line);
  if (!r.ok) throw r.error;
  return r.value;
}
function req(line: string) {
  const m = msg(line);
  assert.notEqual(m.type, 'response');
  return m as Extract<EthMessage, { type: 'request' | 'notification' }>;
}
const sameJson = (ours: string, theirs: string) => assert.deepEqual(JSON.parse(ours), JSON.parse(theirs));

describe('EthereumStratum/1.0.0 (NiceHash real-world scenario)', () => {
  it('encodes the miner side exactly as the spec shows', () => {
    sameJson(encodeV1Subscribe(1, 'EthereumMiner/1.0.0'), nh.miner_subscribe!);
    sameJson(encodeV1Authorize(2, 'test', 'password'), nh.miner_authorize!);
    sameJson(encodeV1Submit(3, 'test', 'bf0488aa', 'cfae7df760'), nh.miner_submit!);
    sameJson(encodeV1Submit(244, 'username', 'bf0488aa', '6a909d9bbc0f'), nhRfc.miner_submit_244!);
    assert.ok(encodeV1Subscribe(1, 'a').endsWith('}\n'));
  });

  it('decodes the pool side: subscribe result, difficulty, extranonce, notify, submit result', () => {
    const sub = msg(nh.pool_subscribe_result!);
    assert.equal(sub.type, 'response');
    const r = parseV1SubscribeResult(sub.type === 'response' ? sub.result : null);
    assert.deepEqual(r, {
      ok: true,
      value: {
        extranonce: 'a2eea0',
        subscriptionId: 'ae6812eb4cd7735a302a8a9dd95cf71f',
        proto: 'EthereumStratum/1.0.0',
      },
    });
    const r2 = parseV1SubscribeResult((msg(nhRfc.pool_subscribe_result_080c!) as { result: unknown }).result);
    assert.equal(r2.ok && r2.value.extranonce, '080c');
    assert.deepEqual(decodeV1ServerMessage(req(nh.pool_set_difficulty!)), {
      ok: true,
      value: { kind: 'set_difficulty', difficulty: 1 },
    });
    assert.deepEqual(decodeV1ServerMessage(req(nhRfc.pool_set_difficulty_half!)), {
      ok: true,
      value: { kind: 'set_difficulty', difficulty: 0.5 },
    });
    assert.deepEqual(decodeV1ServerMessage(req(nhRfc.pool_set_extranonce!)), {
      ok: true,
      value: { kind: 'set_extranonce', extranonce: 'af4c' },
    });
    assert.deepEqual(decodeV1ServerMessage(req(nh.pool_notify!)), {
      ok: true,
      value: {
        kind: 'notify',
        job: {
          jobId: 'bf0488aa',
          seedHash: nh.share.seedhash,
          headerHash: nh.share.headerhash,
          cleanJobs: true,
        },
      },
    });
    const ok = msg(nh.pool_submit_result!);
    assert.deepEqual(ok, { type: 'response', id: 3, result: true, error: null });
  });

  it('extranonce a2eea0 + minernonce cfae7df760 = the 64-bit nonce a2eea0cfae7df760 (and back)', () => {
    assert.equal(fullNonce('a2eea0', 'cfae7df760'), BigInt(`0x${nh.share.nonce}`));
    const seg = nonceSegment('a2eea0');
    assert.equal(seg.minerDigits, 10);
    assert.equal(minerNonceHex(seg, BigInt(`0x${nh.share.nonce}`)), 'cfae7df760');
    assert.equal(minerNonceHex(seg, 0xa2eea1n << 40n), undefined);
    assert.equal(fullNonce('a2eea0', 'cfae7df7'), undefined);
  });

  it("refuses the spec's own reject example (NULL is not JSON) with a clear error, no throw", () => {
    const r = parseEthLine(nhRfc.pool_reject_as_written!);
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.error.kind, 'json');
    assert.match(!r.ok ? r.error.message : '', /^line: invalid JSON/);
    const fixed = msg(nhRfc.pool_reject_as_written!.replace('NULL', 'null'));
    assert.equal(fixed.type === 'response' && fixed.error?.code, -1);
    assert.equal(fixed.type === 'response' && classifyEthError(fixed.error!).reason, 'stale');
  });

  it('names the bad field of malformed 1.0.0 pool messages', () => {
    const bad = (line: string, field: RegExp) => {
      const d = decodeV1ServerMessage(req(line));
      assert.equal(d.ok, false, line);
      assert.match(!d.ok ? d.error.message : '', field);
    };
    bad('{"id":null,"method":"mining.notify","params":["1","zz","00",true]}', /params\[1\] \(seedhash\)/);
    bad(
      `{"id":null,"method":"mining.notify","params":["1","${'a'.repeat(64)}","${'b'.repeat(63)}",true]}`,
      /params\[2\] \(headerhash\)/,
    );
    bad(
      `{"id":null,"method":"mining.notify","params":["1","${'a'.repeat(64)}","${'b'.repeat(64)}","1"]}`,
      /params\[3\] \(clean_jobs\)/,
    );
    bad('{"id":null,"method":"mining.notify","params":["1"]}', /expected 4 params/);
    bad('{"id":null,"method":"mining.set_difficulty","params":[-1]}', /difficulty/);
    bad('{"id":null,"method":"mining.set_difficulty","params":["1"]}', /difficulty/);
    bad('{"id":null,"method":"mining.set_extranonce","params":["abc"]}', /extranonce/);
    bad('{"id":null,"method":"mining.set_extranonce","params":["0011223344556677"]}', /extranonce/);
    const r = parseV1SubscribeResult([['mining.notify', 'x', 'EthereumStratum/1.0.0'], 'xyz']);
    assert.match(!r.ok ? r.error.message : '', /result\[1\] \(extranonce\)/);
  });
});

describe('EthereumStratum/2.0.0 (EIP-1571 examples)', () => {
  it('encodes the miner side as the EIP shows (compact hex port, params omitted when empty)', () => {
    sameJson(
      encodeHello(0, { agent: 'ethminer-0.17', host: 'somemininigpool.com', port: 1234 }),
      eip.miner_hello!,
    );
    sameJson(encodeV2Subscribe(1, 's-12345'), eip.miner_subscribe_resume!);
    sameJson(encodeV2Subscribe(1), eip.miner_subscribe_new!);
    sameJson(encodeV2Authorize(2, '<account>[.<MachineName>]', 'password'), eip.miner_authorize!);
    sameJson(encodeV2Submit(31, 'bf0488aa', '68765fccd712', 'w-123'), eip.miner_submit!);
    sameJson(encodeNoop(50), eip.miner_noop!);
    sameJson(encodeBye(), eip.bye!);
    sameJson(encodeV2Hashrate(16, 0x500000, 'w-123'), eip.miner_hashrate!);
    assert.ok(!encodeV2Subscribe(1).includes('params'));
    assert.ok(!encodeBye().includes('"id"'));
  });

  it('decodes the hello result: encoding, resume "1", timeout b4 = 180 s, maxerrors 5', () => {
    const m = msg(eip.pool_hello_result!);
    assert.deepEqual(parseHelloResult(m.type === 'response' ? m.result : null), {
      ok: true,
      value: {
        proto: 'EthereumStratum/2.0.0',
        encoding: 'gzip',
        resume: true,
        timeoutSeconds: 180,
        maxErrors: 5,
        node: 'Geth/v1.8.18-unstable-f08f596a/linux-amd64/go1.10.4',
      },
    });
    for (const k of ['pool_hello_error_400', 'pool_hello_error_403']) {
      const e = msg(eip[k]!);
      assert.equal(e.type, 'response');
      assert.equal(e.type === 'response' && e.result, undefined);
      assert.equal(e.type === 'response' && e.error?.code, k.endsWith('400') ? 400 : 403);
    }
    const bad = parseHelloResult({ proto: 'EthereumStratum/2.0.0', encoding: 'zip' });
    assert.match(!bad.ok ? bad.error.message : '', /mining\.hello\.result\.encoding/);
  });

  it('decodes session id, worker token, mining.set, reconnect, bye and the bare {"id":n} success', () => {
    const sub = msg(eip.pool_subscribe_result!);
    assert.deepEqual(parseTokenResult(sub.type === 'response' ? sub.result : null, 'sid'), {
      ok: true,
      value: 's-12345',
    });
    const auth = msg(eip.pool_authorize_result!);
    assert.deepEqual(parseTokenResult(auth.type === 'response' ? auth.result : null, 'tok'), {
      ok: true,
      value: 'w-123',
    });
    assert.deepEqual(decodeV2ServerMessage(req(eip.pool_set!)), {
      ok: true,
      value: {
        kind: 'set',
        set: {
          epoch: 0xdc,
          target: 0x0112e0be826d694b2e62d01511f12a6061fbaec8bc02357593e70e52ban,
          algo: 'ethash',
          extranonce: 'af4c',
        },
      },
    });
    assert.deepEqual(decodeV2ServerMessage(req(eip.pool_reconnect!)), {
      ok: true,
      value: { kind: 'reconnect', host: 'someotherhost.com', port: 0xd80, resume: true },
    });
    assert.deepEqual(decodeV2ServerMessage(req(eip.bye!)), { ok: true, value: { kind: 'bye' } });
    assert.deepEqual(msg(eip.pool_submit_ok!), { type: 'response', id: 31, result: undefined, error: null });
    assert.deepEqual(msg(eip.pool_hashrate_ack!), {
      type: 'response',
      id: 16,
      result: undefined,
      error: null,
    });
    const n = req(eip.bye!);
    assert.equal(n.type, 'notification');
  });

  it("refuses the EIP's notify with the missing comma (and its trailing-comma hashrate) with a clear error", () => {
    for (const k of ['pool_notify_as_written', 'pool_hashrate_notification_as_written']) {
      const r = parseEthLine(eip[k]!);
      assert.equal(r.ok, false, k);
      assert.equal(!r.ok && r.error.kind, 'json');
      assert.match(!r.ok ? r.error.message : '', /^line: invalid JSON \(/);
    }
    assert.deepEqual(decodeV2ServerMessage(req(eip.pool_notify_comma_fixed!)), {
      ok: true,
      value: {
        kind: 'notify',
        job: {
          jobId: 'bf0488aa',
          blockNumber: 0x6526d5,
          headerHash: '645cf20198c2f3861e947d4f67e3ab63b7b2e24dcc9095bd9123e7b33371f6cc',
          cleanJobs: false,
        },
      },
    });
  });

  it('submit nonce: extranonce af4c + miner nonce 68765fccd712 = af4c68765fccd712', () => {
    assert.equal(fullNonce('af4c', '68765fccd712'), 0xaf4c68765fccd712n);
    assert.equal(minerNonceHex(nonceSegment('af4c'), 0xaf4c68765fccd712n), '68765fccd712');
    assert.equal(minerNonceHex(nonceSegment(''), 0x1n), '0000000000000001');
    // An odd digit count still works on the nibble level ("af4" → segment 0xaf4…).
    assert.equal(minerNonceHex(nonceSegment('af4'), 0xaf40000000000001n), '0000000000001');
  });

  it('classifies error codes: 2xx caveat (202 stale), 3xx auth, 404 stale, 406 low difficulty, 5xx failover', () => {
    const c = (line: string) => {
      const m = msg(line);
      return classifyEthError((m as unknown as { error: never }).error);
    };
    assert.deepEqual(c(eip.pool_submit_bad_nonce!), {
      severity: 'request',
      reason: 'low-difficulty',
      accepted: false,
      failover: false,
    });
    assert.deepEqual(c(eip.pool_submit_stale!), {
      severity: 'caveat',
      reason: 'stale',
      accepted: false,
      failover: false,
    });
    assert.deepEqual(c(eip.pool_submit_job_not_found!), {
      severity: 'request',
      reason: 'stale',
      accepted: false,
      failover: false,
    });
    assert.equal(c(eip.pool_authorize_caveat_215!).accepted, true);
    assert.equal(c(eip.pool_hashrate_too_many!).severity, 'caveat');
    assert.deepEqual(classifyEthError({ code: 503, message: 'Busy' }), {
      severity: 'server',
      reason: 'other',
      accepted: false,
      failover: true,
    });
    assert.equal(classifyEthError({ code: 301, message: 'x' }).reason, 'unauthorized');
    assert.equal(classifyEthError({ code: 22, message: 'x' }).reason, 'duplicate');
    assert.equal(classifyEthError({ code: undefined, message: 'Duplicate share' }).reason, 'duplicate');
  });

  it('names the bad field of malformed 2.0.0 pool messages', () => {
    const bad = (line: string, field: RegExp) => {
      const d = decodeV2ServerMessage(req(line));
      assert.equal(d.ok, false, line);
      assert.match(!d.ok ? d.error.message : '', field);
    };
    bad('{"method":"mining.set","params":{"epoch":"xyz"}}', /mining\.set\.params\.epoch/);
    bad('{"method":"mining.set","params":{"target":"0"}}', /mining\.set\.params\.target: zero/);
    bad(`{"method":"mining.set","params":{"target":"${'f'.repeat(65)}"}}`, /target/);
    bad('{"method":"mining.set","params":{"extranonce":"0123456789abcd"}}', /extranonce/);
    bad('{"method":"mining.set","params":["dc"]}', /mining\.set\.params: not an object/);
    bad(
      `{"method":"mining.notify","params":["a","6526d5","${'b'.repeat(64)}","2"]}`,
      /params\[3\] \(clean\)/,
    );
    bad(
      `{"method":"mining.notify","params":["a","g1","${'b'.repeat(64)}","1"]}`,
      /params\[1\] \(block number\)/,
    );
    bad('{"method":"mining.reconnect","params":{"port":"fffff"}}', /port/);
    assert.equal(parseEthLine('{"id":"x"').ok, false);
    assert.match((parseEthLine('[1,2]') as { error: Error }).error.message, /not a JSON object/);
    assert.match((parseEthLine('{"method":"m","params":5}') as { error: Error }).error.message, /m\.params/);
    assert.match((parseEthLine('{"result":true}') as { error: Error }).error.message, /id/);
  });

  it('compact hex numbers and "0"/"1" booleans', () => {
    assert.equal(hexNumber(456), '1c8');
    assert.equal(hexNumber(0), '0');
    assert.equal(hexNumber(1234), '4d2');
    assert.throws(() => hexNumber(-1), /hexNumber/);
    assert.deepEqual(parseHexNumber('1c8', 'f'), { ok: true, value: 456 });
    assert.deepEqual(parseHexNumber('01C8', 'f'), { ok: true, value: 456 });
    assert.equal(parseHexNumber('', 'f').ok, false);
    assert.equal(parseHexNumber(456, 'f').ok, false);
    assert.equal(parseHexNumber('ffff', 'f', 100).ok, false);
    assert.deepEqual(parseHexBool('1', 'b'), { ok: true, value: true });
    assert.deepEqual(parseHexBool('0', 'b'), { ok: true, value: false });
    assert.equal(parseHexBool('yes', 'b').ok, false);
  });
});

describe('fuzz: no decoder throws', () => {
  it('random lines and random JSON through parseEthLine and both dialect decoders', () => {
    const anyJson = fc.jsonValue();
    const msgArb = fc.record({
      id: fc.oneof(fc.constant(undefined), fc.constant(null), fc.integer(), fc.string()),
      method: fc.constantFrom(
        'mining.notify',
        'mining.set',
        'mining.set_difficulty',
        'mining.set_extranonce',
        'mining.reconnect',
        'client.reconnect',
        'mining.bye',
        'x',
      ),
      params: fc.oneof(
        anyJson,
        fc.array(anyJson),
        fc.dictionary(
          fc.constantFrom('epoch', 'target', 'algo', 'extranonce', 'host', 'port', 'resume'),
          anyJson,
        ),
      ),
    });
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          msgArb.map((m) => JSON.stringify(m)),
          anyJson.map((j) => JSON.stringify(j)),
        ),
        (line) => {
          const r = parseEthLine(line);
          if (r.ok && r.value.type !== 'response') {
            decodeV1ServerMessage(r.value);
            decodeV2ServerMessage(r.value);
          }
          if (r.ok && r.value.type === 'response') {
            parseHelloResult(r.value.result);
            parseV1SubscribeResult(r.value.result);
            parseTokenResult(r.value.result, 'x');
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});
