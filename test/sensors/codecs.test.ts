/**
 * Sensor codecs against datasheet examples (TI TMP1075 / TMP75 temperature-format tables, Microchip
 * EMC2101 temperature format, tach formula and fan-setting range), plus round-trip properties.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  decodeExternal,
  decodeInternal,
  dutyToSetting,
  encodeExternal,
  rpmToTach,
  settingToDuty,
  tachToRpm,
} from '../../drivers/sensors/emc2101-codec.ts';
import { decodeBytes, decodeTemperature, encodeTemperature } from '../../drivers/sensors/lm75-codec.ts';
import { adcToCelsius, celsiusToAdc, DEFAULT_THERMISTOR } from '../../drivers/sensors/thermistor.ts';

describe('TMP1075 / TMP75 / LM75 temperature codec', () => {
  // Datasheet temperature data format table (12-bit, left-justified).
  const table: [number, number][] = [
    [0x7ff0, 127.9375],
    [0x6400, 100],
    [0x5000, 80],
    [0x4b00, 75],
    [0x3200, 50],
    [0x1900, 25],
    [0x0040, 0.25],
    [0x0000, 0],
    [0xffc0, -0.25],
    [0xe700, -25],
    [0xc900, -55],
    [0x8000, -128],
  ];
  for (const [raw, c] of table) {
    it(`0x${raw.toString(16).padStart(4, '0')} ↔ ${c} °C`, () => {
      assert.equal(decodeTemperature(raw), c);
      assert.equal(encodeTemperature(c), raw);
    });
  }
  it('decodes the two bytes MSB first and ignores the 4 unused low bits', () => {
    assert.equal(decodeBytes(Uint8Array.of(0x19, 0x0f)), 25);
    assert.equal(decodeBytes(Uint8Array.of(0xe7, 0x00)), -25);
  });
  it('LM75 9-bit values (0.5 °C) decode with the same function', () => {
    assert.equal(decodeTemperature(0x1980), 25.5);
    assert.equal(decodeTemperature(0xff80), -0.5);
  });
  it('round-trips every 12-bit value', () => {
    fc.assert(
      fc.property(fc.integer({ min: -2048, max: 2047 }), (n) => {
        const raw = (n << 4) & 0xffff;
        assert.equal(encodeTemperature(decodeTemperature(raw)), raw);
      }),
    );
  });
});

describe('EMC2101 codec', () => {
  it('internal temperature is a signed byte', () => {
    assert.equal(decodeInternal(0x00), 0);
    assert.equal(decodeInternal(0x3c), 60);
    assert.equal(decodeInternal(0x7f), 127);
    assert.equal(decodeInternal(0xc0), -64);
    assert.equal(decodeInternal(0xff), -1);
  });
  it('external = high + (low >> 5) × 0.125 (datasheet format examples)', () => {
    const cases: [number, number, number][] = [
      [0x00, 0x00, 0],
      [0x00, 0x20, 0.125],
      [0x01, 0x00, 1],
      [0x41, 0x00, 65],
      [0x41, 0xe0, 65.875],
      [0x3c, 0xa0, 60.625],
      [0x7f, 0xc0, 127.75],
      [0xff, 0xe0, -0.125],
      [0xff, 0x00, -1],
      [0xc0, 0x00, -64],
    ];
    for (const [hi, lo, c] of cases) {
      assert.deepEqual(
        decodeExternal(hi, lo),
        { ok: true, celsius: c },
        `0x${hi.toString(16)}/0x${lo.toString(16)}`,
      );
      assert.deepEqual(encodeExternal(c), [hi, lo]);
    }
  });
  it('reports diode faults (open 0x7F/0x00, short 0x7F/0xE0) instead of 127 °C', () => {
    assert.deepEqual(decodeExternal(0x7f, 0x00), { ok: false, fault: 'open' });
    assert.deepEqual(decodeExternal(0x7f, 0xe0), { ok: false, fault: 'short' });
  });
  it('ignores the unused low 5 bits of the low byte', () => {
    assert.deepEqual(decodeExternal(0x32, 0x3f), { ok: true, celsius: 50.125 });
  });
  it('tach count → RPM = 5 400 000 / count; stopped reads 0xFFFF', () => {
    assert.equal(tachToRpm(1800), 3000);
    assert.equal(tachToRpm(900), 6000);
    assert.equal(tachToRpm(5400), 1000);
    assert.equal(tachToRpm(0xffff), undefined);
    assert.equal(tachToRpm(0), undefined);
    assert.equal(rpmToTach(3000), 1800);
    assert.equal(rpmToTach(0), 0xffff);
  });
  it('fan setting is 6 bits: 0 → 0 %, 63 → 100 %', () => {
    assert.equal(dutyToSetting(0), 0);
    assert.equal(dutyToSetting(100), 63);
    assert.equal(dutyToSetting(150), 63);
    assert.equal(dutyToSetting(-5), 0);
    assert.equal(dutyToSetting(50), 32);
    assert.equal(settingToDuty(63), 100);
    for (let s = 0; s <= 63; s++) assert.equal(dutyToSetting(settingToDuty(s)), s);
  });
});

describe('NTC thermistor codec', () => {
  it('reads 25 °C at mid-scale with a matched divider (R = R0)', () => {
    assert.ok(Math.abs(adcToCelsius(511.5) - 25) < 1e-9);
  });
  it('follows the β equation: R(85 °C) for β 3950 and 10 kΩ is ≈ 1.07 kΩ', () => {
    // 1/T = 1/T0 + ln(R/R0)/β  →  R = 10k·exp(3950·(1/358.15 − 1/298.15)) ≈ 1 097 Ω
    const count = celsiusToAdc(85);
    const r = (10_000 * count) / (1023 - count);
    assert.ok(Math.abs(r - 1097) < 15, `R=${r}`);
  });
  it('round-trips within a count over 0..120 °C', () => {
    for (let c = 0; c <= 120; c += 5) {
      const back = adcToCelsius(celsiusToAdc(c));
      assert.ok(Math.abs(back - c) < 0.6, `${c} → ${back}`);
    }
  });
  it('rails are NaN (open or shorted thermistor)', () => {
    assert.ok(Number.isNaN(adcToCelsius(0)));
    assert.ok(Number.isNaN(adcToCelsius(1023)));
    assert.ok(Number.isNaN(adcToCelsius(0, { ...DEFAULT_THERMISTOR, topology: 'ntc-high' })));
  });
});
