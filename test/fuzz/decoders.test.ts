/**
 * The `npm run fuzz` decoders with small counts (CI): Stratum lines, BM13xx frames, bridge frames
 * (bitaxe-raw, QAxe) and MQTT commands — no throw, known-good inputs decode, accepted BM13xx frames
 * have a good CRC, accepted MQTT commands are inside the limits. ASICD_FUZZ_LINES raises the count.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fuzzAll } from '../../scripts/fuzz.ts';

const TOTAL = Math.max(20_000, Number(process.env.ASICD_FUZZ_LINES ?? 0) || 0);
const SEED = Number(process.env.ASICD_FUZZ_SEED ?? 0x5eed) >>> 0;

test(`decoders under ${TOTAL} fuzzed inputs (seed ${SEED})`, () => {
  const reports = fuzzAll(TOTAL, SEED);
  for (const r of reports) {
    assert.deepEqual(r.failures, [], `${r.decoder}: ${r.failures.join('\n')}`);
    assert.ok(r.inputs > 0 && r.refused > 0, `${r.decoder} saw bad input and refused some of it`);
  }
  assert.equal(
    reports.reduce((a, r) => a + r.inputs, 0),
    TOTAL,
  );
});
