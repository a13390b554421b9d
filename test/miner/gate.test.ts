import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type GateInputs, hashingGate } from '../../host/miner/gate.ts';

const open: GateInputs = {
  stopped: false,
  halted: false,
  thermalAllowed: true,
  paused: false,
  poolActive: true,
  chainsReady: true,
};

describe('hashingGate', () => {
  it('opens only when every condition holds', () => {
    assert.deepEqual(hashingGate(open), { open: true, reason: '' });
    for (const [k, v] of [
      ['stopped', true],
      ['halted', true],
      ['thermalAllowed', false],
      ['paused', true],
      ['poolActive', false],
      ['chainsReady', false],
    ] as const) {
      const d = hashingGate({ ...open, [k]: v });
      assert.equal(d.open, false, k);
      assert.ok(d.reason.length > 0, `${k} has a reason`);
    }
  });

  it('names the first failing condition in safety order', () => {
    assert.equal(hashingGate({ ...open, stopped: true, paused: true }).reason, 'stopping');
    assert.equal(
      hashingGate({ ...open, thermalAllowed: false, paused: true, poolActive: false }).reason,
      'waiting for the first valid temperature',
    );
    assert.equal(
      hashingGate({ ...open, thermalAllowed: false, thermalReason: 'overheat at 80 °C' }).reason,
      'thermal: overheat at 80 °C',
    );
    assert.equal(hashingGate({ ...open, paused: true, poolActive: false }).reason, 'paused');
    assert.equal(hashingGate({ ...open, poolActive: false, chainsReady: false }).reason, 'no pool');
    assert.equal(hashingGate({ ...open, chainsReady: false }).reason, 'chains not ready');
  });
});
