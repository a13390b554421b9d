/** Pure parts of the gateway: template validation, coinbase layout, vardiff (times passed in). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseTx } from '../../host/bitcoin/block.ts';
import { hex, unhex } from '../../host/bitcoin/bytes.ts';
import { jobFromTemplate, parseTemplate, TemplateError } from '../../host/gateway/template.ts';
import { Vardiff } from '../../host/gateway/vardiff.ts';
import { StandinNode } from '../helpers/standin-node.ts';

const script = unhex('0014751e76e8199196d454941c45d1b3a323f1433bd6');

describe('getblocktemplate → job', () => {
  it('coinbase: BIP 34 height, tag, extranonce push, payout, witness commitment; parses as a transaction', () => {
    const node = new StandinNode({ height: 300 });
    node.addTx(1);
    const t = parseTemplate(node.template());
    const j = jobFromTemplate(t, {
      payoutScript: script,
      tag: '/x/',
      extranonce1Size: 4,
      extranonce2Size: 4,
    });
    const tx = parseTx(unhex(`${j.coinb1}${'11'.repeat(4)}${'22'.repeat(4)}${j.coinb2}`));
    const sig = hex(tx.inputs[0]!.scriptSig);
    assert.equal(
      sig,
      `022d01032f782f08${'11'.repeat(4)}${'22'.repeat(4)}`,
      'height 301, tag push, 8-byte extranonce push',
    );
    assert.equal(hex(tx.outputs[0]!.scriptPubKey), hex(script));
    assert.equal(tx.outputs[0]!.value, BigInt(t.coinbasevalue));
    assert.equal(hex(tx.outputs[1]!.scriptPubKey), t.default_witness_commitment);
    assert.equal(j.merkleBranch.length, 1);
    assert.equal(j.nbits, '207fffff');
    // A long tag is cut so the scriptSig stays within 100 bytes.
    const long = jobFromTemplate(t, {
      payoutScript: script,
      tag: 'y'.repeat(200),
      extranonce1Size: 4,
      extranonce2Size: 8,
    });
    const tx2 = parseTx(unhex(`${long.coinb1}${'00'.repeat(12)}${long.coinb2}`));
    assert.equal(tx2.inputs[0]!.scriptSig.length, 100);
  });
  it('names the malformed field of a bad template', () => {
    const good = new StandinNode({ height: 1 }).template();
    assert.throws(() => parseTemplate({ ...good, height: -1 }), /getblocktemplate.height/);
    assert.throws(() => parseTemplate({ ...good, previousblockhash: 'zz' }), /previousblockhash/);
    assert.throws(() => parseTemplate({ ...good, bits: 12 }), /bits/);
    assert.throws(() => parseTemplate({ ...good, transactions: [{ data: 'x' }] }), /transactions\[0\]/);
    assert.throws(() => parseTemplate({ ...good, default_witness_commitment: '00' }), /witness_commitment/);
    assert.throws(() => parseTemplate(null), TemplateError);
  });
});

describe('vardiff', () => {
  it('raises a fast miner, lowers a slow one, halves a silent one, honours a suggested floor', () => {
    const v = new Vardiff(1, 0, { targetSeconds: 10, windowSeconds: 60 });
    let changed: number | undefined;
    // 24 shares in 12 s = 2 shares/s → ideal 20, capped at ×4.
    for (let i = 1; i <= 24; i++) changed = v.onShare(i * 500) ?? changed;
    assert.equal(changed, 4);
    // 6 shares in 60 s at diff 4 = one per 10 s: on target, no change.
    let c2: number | undefined;
    for (let i = 1; i <= 6; i++) c2 = v.onShare(12_000 + i * 10_000) ?? c2;
    assert.equal(c2, undefined);
    assert.equal(v.difficulty, 4);
    // Silence for 3 windows halves it.
    assert.equal(v.evaluate(72_000 + 181_000), 2);
    // One share in 60 s at diff 2 → ideal 1/3, but one step moves at most ÷4.
    v.onShare(253_000 + 30_000);
    assert.equal(v.evaluate(253_000 + 60_000), 0.5);
    // A suggestion becomes the floor.
    assert.equal(v.suggest(1, 400_000), 1);
    assert.equal(v.evaluate(400_000 + 600_000), undefined, 'not below the suggested floor');
  });
});
