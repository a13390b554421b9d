import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  encodeError,
  encodeReply,
  RawReplyParser,
  encodeRequest as rawRequest,
} from '../../drivers/bridge/bitaxe-raw-codec.ts';
import {
  cToTempWord,
  decodeControl,
  decodeRequest,
  decodeResponse,
  decodeState,
  encodeControl,
  encodeRequest,
  encodeResponse,
  encodeState,
  OP,
  QFrameParser,
  tempWordToC,
} from '../../drivers/bridge/qaxe-codec.ts';
import { loadVectors } from '../helpers/vectors.ts';

const vectors = loadVectors('boards').vectors;
const of = (kind: string) => vectors.filter((v) => v.kind === kind);
const bytes = (s: unknown) =>
  Uint8Array.from(
    String(s)
      .split(/\s+/)
      .filter(Boolean)
      .map((x) => Number.parseInt(x, 16)),
  );

describe('bitaxe-raw control protocol', () => {
  for (const v of of('bitaxe-raw-request')) {
    it(`request ${v.id}`, () => {
      const got = rawRequest({
        id: v.id_ as number,
        page: Number(v.page),
        cmd: Number(v.cmd),
        data: bytes(v.data),
      });
      assert.deepEqual(got, bytes(v.bytes));
    });
  }
  for (const v of of('bitaxe-raw-error')) {
    it(`v0 parse error frame ${v.bytes} (id 0xFF), in both versions`, () => {
      for (const ver of [0, 1] as const) {
        const p = new RawReplyParser(ver);
        p.expect(2);
        assert.deepEqual(p.push(bytes(v.bytes)), [
          { kind: 'error', id: v.replyId, code: Number(v.code), text: '' },
        ]);
      }
    });
  }
  it('v0 success: len = data bytes; v1: len = whole frame with a status byte', () => {
    assert.deepEqual(encodeReply(0, 7, [0x66, 0x02]), Uint8Array.of(2, 0, 7, 0x66, 0x02));
    assert.deepEqual(encodeReply(1, 7, [0x66, 0x02]), Uint8Array.of(6, 0, 7, 0, 0x66, 0x02));
    const p0 = new RawReplyParser(0);
    p0.expect(2);
    // split across chunks
    assert.deepEqual(p0.push(Uint8Array.of(2, 0)), []);
    assert.deepEqual(p0.push(Uint8Array.of(7, 0x66, 0x02)), [
      { kind: 'ok', id: 7, data: Uint8Array.of(0x66, 0x02) },
    ]);
    const p1 = new RawReplyParser(1);
    assert.deepEqual(p1.push(Uint8Array.of(6, 0, 7, 0, 0x66, 0x02, 5, 0, 8, 0, 1)), [
      { kind: 'ok', id: 7, data: Uint8Array.of(0x66, 0x02) },
      { kind: 'ok', id: 8, data: Uint8Array.of(1) },
    ]);
  });
  it('I2C error with text carries the request id', () => {
    const p = new RawReplyParser(1);
    const [r] = p.push(encodeError(3, 0xff, 'nack'));
    assert.deepEqual(r, { kind: 'error', id: 3, code: 0xff, text: 'nack' });
  });
  it('resync drops a garbled tail; the next frame parses', () => {
    const p = new RawReplyParser(1);
    assert.deepEqual(p.push(Uint8Array.of(0x40, 0x00, 0x01)), []);
    p.resync();
    assert.equal(p.discarded, 3);
    assert.equal(p.push(encodeReply(1, 2, [1])).length, 1);
  });
  it('rejects bytes that are not bytes', () => {
    assert.throws(() => rawRequest({ id: 256, page: 5, cmd: 0 }), /id/);
  });
});

describe('QAxe control protocol', () => {
  for (const v of of('qaxe-request')) {
    it(`request ${v.id}`, () => {
      const c = v.control as { state1v2: number; pwm1: number; pwm2: number } | undefined;
      const got = c ? encodeControl(v.reqId as number, c) : encodeRequest(v.reqId as number, v.op as number);
      assert.deepEqual(got, bytes(v.bytes));
      const [body] = new QFrameParser().push(got);
      const r = decodeRequest(body!);
      assert.equal(r.id, v.reqId);
      assert.equal(r.op, v.op);
      if (c) assert.deepEqual(decodeControl(r.params!), c);
      else assert.equal(r.params, undefined);
    });
  }
  for (const v of of('qaxe-response')) {
    it(`response ${v.id}`, () => {
      assert.deepEqual(encodeResponse(v.reqId as number), bytes(v.bytes));
    });
  }
  it('a lone 00 is the default response (an error for asicd, which never uses id 0)', () => {
    const [body] = new QFrameParser().push(Uint8Array.of(0));
    assert.equal(decodeResponse(body!).kind, 'error');
  });
  it('status: pgood and temperatures in 1/16 °C, u16 wrap below zero', () => {
    const data = encodeState({ pgood: true, temp1Word: cToTempWord(45.5), temp2Word: cToTempWord(-2) });
    const frame = encodeResponse(9, data);
    const [body] = new QFrameParser().push(frame);
    const r = decodeResponse(body!);
    assert.equal(r.kind, 'ok');
    assert.equal(r.id, 9);
    const s = decodeState((r as { data: Uint8Array }).data);
    assert.deepEqual(s, { pgood: true, temp1C: 45.5, temp2C: -2 });
    assert.equal(tempWordToC(65_504), -2);
    assert.equal(OP.RESET, 3);
  });
});
