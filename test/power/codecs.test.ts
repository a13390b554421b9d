import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DS4432U_RANGE, ds4432uCode, ds4432uVolts } from '../../drivers/power/ds4432u-codec.ts';
import { ina260CurrentA, ina260PowerW, ina260VoltageV } from '../../drivers/power/ina260-codec.ts';
import {
  slinear11Decode,
  slinear11FromFloat,
  slinear11FromInt,
  statusWordFlags,
  ulinear16Decode,
  ulinear16Encode,
  voutModeExponent,
} from '../../drivers/power/pmbus.ts';
import { loadVectors } from '../helpers/vectors.ts';

const vectors = loadVectors('boards').vectors;
const of = (kind: string) => vectors.filter((v) => v.kind === kind);
const hex = (s: unknown) => Number(s);

describe('PMBus SLINEAR11 (ESP-Miner vectors)', () => {
  it('has the vectors it tests', () => {
    assert.ok(of('slinear11-float').length >= 5 && of('slinear11-int').length >= 3);
  });
  for (const v of of('slinear11-float')) {
    it(`float encoder: ${v.value} → ${v.word} (${v.id})`, () => {
      assert.equal(slinear11FromFloat(v.value as number), hex(v.word));
      assert.ok(Math.abs(slinear11Decode(hex(v.word)) - (v.value as number)) < 0.01);
    });
  }
  for (const v of of('slinear11-int')) {
    it(`integer encoder: ${v.value} → ${v.word} (${v.id})`, () => {
      assert.equal(slinear11FromInt(v.value as number), hex(v.word));
      assert.equal(slinear11Decode(hex(v.word)), v.value);
    });
  }
  for (const v of of('slinear11-decode')) {
    it(`decodes the max-precision word ${v.word} to ${v.value}`, () => {
      assert.equal(slinear11Decode(hex(v.word)), v.value);
      assert.equal(slinear11FromFloat(v.value as number), hex(v.word));
    });
  }
  it('negative values and round trips', () => {
    assert.equal(slinear11Decode(slinear11FromFloat(-2.5)), -2.5);
    for (const x of [0, 0.001, 1, 3.3, 47.25, 1000, 5000]) {
      const back = slinear11Decode(slinear11FromFloat(x));
      assert.ok(Math.abs(back - x) <= Math.max(x * 0.002, 2 ** -15), `${x} → ${back}`);
    }
    assert.throws(() => slinear11FromInt(-1), /whole number/);
    assert.throws(() => slinear11Decode(0x10000), /16-bit/);
  });
});

describe('PMBus ULINEAR16 with VOUT_MODE', () => {
  for (const v of of('ulinear16')) {
    it(`${v.value} V at VOUT_MODE ${v.voutMode} → ${v.word}`, () => {
      const mode = hex(v.voutMode);
      assert.equal(ulinear16Encode(v.value as number, mode), hex(v.word));
      const expect = (v.decoded as number | undefined) ?? (v.value as number);
      assert.ok(Math.abs(ulinear16Decode(hex(v.word), mode) - expect) < 1 / 512);
    });
  }
  it('follows the exponent the regulator reports', () => {
    assert.equal(voutModeExponent(0x97), -9);
    assert.equal(voutModeExponent(0x14), -12);
    assert.equal(ulinear16Encode(1.2, 0x14), Math.floor(1.2 * 4096));
    assert.throws(() => voutModeExponent(0x40), /linear/);
  });
  it('names STATUS_WORD bits', () => {
    assert.deepEqual(statusWordFlags(0x0850), ['IOUT_OC', 'OFF', 'POWER_GOOD_N']);
  });
});

describe('DS4432U', () => {
  for (const v of of('ds4432u')) {
    it(`${v.value} V → ${v.code}`, () => {
      assert.equal(ds4432uCode(v.value as number), hex(v.code));
      assert.ok(Math.abs(ds4432uVolts(hex(v.code)) - (v.value as number)) < 0.01);
    });
  }
  it('refuses voltages the DAC cannot reach instead of spilling into the sign bit', () => {
    assert.ok(DS4432U_RANGE.min > 0.98 && DS4432U_RANGE.min < 1.0);
    assert.ok(DS4432U_RANGE.max > 1.92 && DS4432U_RANGE.max < 1.94);
    assert.throws(() => ds4432uCode(0.9), /outside/);
    assert.throws(() => ds4432uCode(2.0), /outside/);
    assert.doesNotThrow(() => ds4432uCode(1.5));
  });
});

describe('INA260', () => {
  it('decodes big-endian registers with their LSBs', () => {
    assert.equal(ina260VoltageV(Uint8Array.of(0x25, 0x80)), 12);
    assert.equal(ina260CurrentA(Uint8Array.of(0x03, 0x20)), 1);
    assert.equal(ina260CurrentA(Uint8Array.of(0xfc, 0xe0)), -1);
    assert.equal(ina260PowerW(Uint8Array.of(0x04, 0xb0)), 12);
  });
});
