import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { writeRegisterAllFrame } from '../../drivers/bm13xx/codec.ts';
import {
  addressInterval,
  enumerationFrame,
  postEnumeration,
  preEnumeration,
  rampSteps,
} from '../../drivers/bm13xx/init.ts';
import {
  bmTimeoutMs,
  CHIP_MODELS,
  jobIntervalMs,
  MODELS,
  modelInfo,
  nextJobId,
} from '../../drivers/bm13xx/models.ts';
import { frequencyRamp, pllFor, pllRegisterValue, pllSearch } from '../../drivers/bm13xx/pll.ts';
import {
  baudFromDivisor,
  bm1397HashrateGhs,
  bm1397MiscControlBaud,
  counterGhs,
  hashCountingNumber,
  ticketMaskValue,
  versionMaskValue,
} from '../../drivers/bm13xx/registers.ts';
import { vector } from '../helpers/vectors.ts';
import { hex, unhex } from './sha256-state.ts';

describe('bm13xx PLL', () => {
  it('450 MHz vector', () => {
    const v = vector<{
      target_mhz: number;
      fb_min: number;
      fb_max: number;
      expected: Record<string, number>;
    }>('bm13xx', 'pll-450mhz');
    const p = pllSearch(v.target_mhz, v.fb_min, v.fb_max);
    assert.ok(p);
    assert.deepEqual(
      [p.fb, p.refdiv, p.postdiv1, p.postdiv2, p.actualMHz],
      [
        v.expected.fb_divider,
        v.expected.refdiv,
        v.expected.postdiv1,
        v.expected.postdiv2,
        v.expected.actual_mhz,
      ],
    );
    // BM1397 raw post-dividers; BM1366+ encode (p − 1).
    assert.equal(pllRegisterValue(MODELS.BM1397, p), 0x40480221);
    assert.equal(pllRegisterValue(MODELS.BM1366, p), 0x40480210);
  });

  it('every model finds a setting in range for its default frequency; post-divider rule holds', () => {
    for (const name of CHIP_MODELS) {
      const m = MODELS[name];
      for (const f of [50, 100, 200, 400, m.defaultMHz, 600]) {
        const p = pllFor(m, f);
        assert.ok(p.fb >= m.fbMin && p.fb <= m.fbMax, `${name} ${f}`);
        assert.ok(p.postdiv1 > p.postdiv2);
        assert.ok(Math.abs(p.actualMHz - f) < 3, `${name} ${f} → ${p.actualMHz}`);
      }
    }
    // The VCO flag (0x50) appears only at or above 2400 MHz.
    const p = pllFor(MODELS.BM1370, 600);
    assert.equal(pllRegisterValue(MODELS.BM1370, p) >>> 24, p.vcoMHz >= 2400 ? 0x50 : 0x40);
    assert.throws(() => pllFor(MODELS.BM1397, 100_000), /frequency/);
  });

  it('ramps in 6.25 MHz steps and ends exactly at the target', () => {
    assert.deepEqual(frequencyRamp(50, 75), [56.25, 62.5, 68.75, 75]);
    assert.deepEqual(frequencyRamp(50, 60), [56.25, 60]);
    assert.deepEqual(frequencyRamp(52, 40), [50, 43.75, 40]);
    assert.deepEqual(frequencyRamp(490, 490), []);
    const up = frequencyRamp(50, 525);
    assert.equal(up.at(-1), 525);
    assert.equal(up.length, Math.ceil((525 - 50) / 6.25));
  });
});

describe('bm13xx registers', () => {
  it('ticket masks (vector)', () => {
    const v = vector<{ cases: Array<{ difficulty: number; register_bytes: string }> }>(
      'bm13xx',
      'ticket-mask',
    );
    for (const c of v.cases) {
      assert.equal(
        ticketMaskValue(c.difficulty).toString(16).padStart(8, '0').toUpperCase(),
        c.register_bytes,
      );
    }
    assert.equal(ticketMaskValue(1), 0);
    assert.throws(() => ticketMaskValue(0), /ticket difficulty/);
  });

  it('version-mask register (vector)', () => {
    const v = vector<{ version_mask: string; register_value: string; write_all_frame: string }>(
      'bm13xx',
      'version-mask-register-1fffe000',
    );
    const value = versionMaskValue(Number.parseInt(v.version_mask, 16));
    assert.equal(value.toString(16).toUpperCase(), v.register_value);
    assert.equal(hex(writeRegisterAllFrame(0xa4, value)), v.write_all_frame.toLowerCase());
  });

  it('hash counting number per model', () => {
    assert.equal(hashCountingNumber(MODELS.BM1397, 1, 425), undefined);
    // BM1366, 1 chip, 485 MHz: 2^32/128/1 · 25/485 · 0.5
    assert.equal(hashCountingNumber(MODELS.BM1366, 1, 485), Math.floor((2 ** 25 * 25) / 485 / 2));
    // BM1370 subtracts 268 before truncating.
    assert.equal(hashCountingNumber(MODELS.BM1370, 2, 525), Math.floor((2 ** 24 * 25) / 525 / 2 - 268));
  });

  it('baud divisors and hashrate units', () => {
    assert.equal(bm1397MiscControlBaud(26), 0x00007a31);
    assert.equal(bm1397MiscControlBaud(0), MODELS.BM1397.maxBaud.value);
    assert.equal(Math.round(baudFromDivisor(26)), 115741);
    assert.equal(baudFromDivisor(0), 3_125_000);
    assert.equal(counterGhs(10, 20, 500), undefined);
    assert.equal(counterGhs(0xffff_fff0, 0x10, 2000), (0x20 * 2 ** 32) / 2 / 1e9);
    assert.equal(bm1397HashrateGhs(0x8000_0001), undefined);
    assert.equal(bm1397HashrateGhs(0x007f_ffff), undefined);
    assert.equal(bm1397HashrateGhs(1000), (1000 * 2 ** 20) / 1e9);
  });
});

describe('bm13xx models and init sequences', () => {
  it('job-id stepping per model visits the documented ids', () => {
    for (const name of CHIP_MODELS) {
      const m = MODELS[name];
      const seen = new Set<number>();
      let id = 0;
      for (let i = 0; i < 200; i++) {
        id = nextJobId(m, id);
        seen.add(id);
      }
      assert.equal(seen.size, m.jobIdCount, name);
      for (const s of seen) {
        assert.equal(
          m.replyJobId(m.jobFormat === 'midstate' || name === 'BM1366' ? s : (s << 1) & 0xf0),
          s,
          name,
        );
      }
    }
    assert.equal(nextJobId(MODELS.BM1370, 0), 24);
    assert.equal(nextJobId(MODELS.BM1370, 120), 16);
  });

  it('job interval (ESP test_timeout values)', () => {
    assert.equal(bmTimeoutMs(450, 1, 672, 168, 4, 0.75, 20).toFixed(3), '27.962');
    assert.equal(bmTimeoutMs(450, 3, 2040, 128, 256, 0.5, 500).toFixed(3), '149.131');
    assert.equal(bmTimeoutMs(450, 0, 2040, 128, 65536, 0.5, 500), 500);
    assert.equal(jobIntervalMs(MODELS.BM1370, 2), 250);
    assert.equal(jobIntervalMs(MODELS.BM1366, 6), 250);
  });

  it('modelInfo rejects unknown models naming the field', () => {
    assert.equal(modelInfo('bm1370').chipId, 0x1370);
    assert.throws(() => modelInfo('BM1234'), /chip model/);
  });

  it('BM1366 init sends the ESP hardcoded frames in order', () => {
    const frames = vector<{ frames: Array<{ hex: string }> }>(
      'bm13xx',
      'bm1366-hardcoded-command-frames',
    ).frames.map((f) => f.hex.toLowerCase());
    const m = MODELS.BM1366;
    const seq = [
      ...preEnumeration(m).map((s) => s.frame),
      enumerationFrame(),
      ...postEnumeration(m, { chipCount: 1, frequencyMHz: 485 }).map((s) => s.frame),
    ].map(hex);
    // The vector frames (except the max-baud one) occur in this order within the sequence.
    let at = -1;
    for (const f of frames.slice(0, 9)) {
      const i = seq.indexOf(f, at + 1);
      assert.ok(i > at, `frame ${f} after position ${at}`);
      at = i;
    }
    assert.equal(
      seq[0],
      hex(unhex('55AA510900A49000FFFF1C')),
      'version mask first (replies become 11 bytes)',
    );
  });

  it('every model addresses chips at floor(256/n) and ramps to the target', () => {
    for (const name of CHIP_MODELS) {
      const m = MODELS[name];
      const steps = postEnumeration(m, { chipCount: 3, frequencyMHz: m.defaultMHz }).map((s) => hex(s.frame));
      assert.equal(addressInterval(3), 85);
      for (const a of [0, 85, 170]) {
        const aa = a.toString(16).padStart(2, '0');
        assert.ok(
          steps.some((s) => s.startsWith(`55aa4005${aa}00`)),
          `${name} address ${a}`,
        );
      }
      const lastPll = pllRegisterValue(m, pllFor(m, m.defaultMHz)).toString(16).padStart(8, '0');
      assert.ok(
        steps.some((s) => s.startsWith(`55aa51090008${lastPll}`)),
        `${name} final PLL`,
      );
      assert.ok(
        steps.some((s) => s.startsWith('55aa51090014000000ff')),
        `${name} ticket mask`,
      );
      const hcn = rampSteps(m, 50, m.defaultMHz, 3).some((s) => hex(s.frame).startsWith('55aa51090010'));
      assert.equal(hcn, name !== 'BM1397', `${name} HCN write`);
    }
  });
});
