/**
 * The work engine against the public vectors (test/fixtures/vectors/stratum-v1.json; sources in each
 * entry): slush/braiins example share, ESP-Miner coinbase/merkle/nonce-difficulty/midstate vectors,
 * genesis and block 125552 headers, Bitcoin Core's SetCompact edge cases.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  buildTemplate,
  bytesToHex,
  checkNonce,
  coinbaseTx,
  DIFF1_TARGET,
  digestToDisplayHex,
  encodeExtranonce2,
  enumerateVersions,
  HeaderHasher,
  hashToDifficulty,
  hexToBytes,
  makeWork,
  midstate,
  nbitsToTarget,
  targetToDifficulty,
  targetToNbits,
  versionBits,
  wordsToBytesBE,
  writeHeader,
} from '../../host/work/index.ts';
import { vector } from '../helpers/vectors.ts';

const hex = (n: bigint) => n.toString(16).padStart(64, '0');
const u32 = (s: string) => Number.parseInt(s, 16) >>> 0;

function wordsToBytesLE(words: ArrayLike<number>): string {
  const out = Buffer.alloc(words.length * 4);
  for (let i = 0; i < words.length; i++) out.writeUInt32LE(words[i]! >>> 0, i * 4);
  return out.toString('hex');
}

const dummyCoinbase = { coinb1: '01000000', coinb2: '00000000', merkleBranch: [] as string[] };

/** A template from header-field vectors (no coinbase given: the merkle root comes with the vector). */
function headerTemplate(
  v: { prev_block_hash: string; version: string; nbits: string; ntime: string },
  versionMask?: number,
) {
  return buildTemplate(
    {
      ...dummyCoinbase,
      jobId: 'x',
      prevhash: v.prev_block_hash,
      version: v.version,
      nbits: v.nbits,
      ntime: v.ntime,
      cleanJobs: false,
    },
    { extranonce1: '00', extranonce2Size: 4 },
    versionMask === undefined ? {} : { versionMask },
  );
}

describe('slush/braiins example share (testnet3 block 000000002076870f…)', () => {
  type V = {
    extranonce1: string;
    extranonce2_size: number;
    notify: {
      job_id: string;
      prevhash: string;
      coinb1: string;
      coinb2: string;
      merkle_branch: string[];
      version: string;
      nbits: string;
      ntime: string;
      clean_jobs: boolean;
    };
    submit: { job_id: string; extranonce2: string; ntime: string; nonce: string };
    expected: { merkle_root_internal: string; header: string; block_hash: string; meets_nbits: boolean };
  };
  const v = vector<V>('stratum-v1', 'slush-example-testnet3');
  const n = v.notify;
  const tpl = buildTemplate(
    {
      jobId: n.job_id,
      prevhash: n.prevhash,
      coinb1: n.coinb1,
      coinb2: n.coinb2,
      merkleBranch: n.merkle_branch,
      version: n.version,
      nbits: n.nbits,
      ntime: n.ntime,
      cleanJobs: n.clean_jobs,
    },
    { extranonce1: v.extranonce1, extranonce2Size: v.extranonce2_size },
  );
  const work = makeWork(tpl, v.submit.extranonce2);

  it('builds the merkle root (coinbase txid, no branches)', () => {
    assert.equal(bytesToHex(work.merkleRoot), v.expected.merkle_root_internal);
  });

  it('builds the header with the submitted ntime and nonce', () => {
    const header = writeHeader(tpl, tpl.version, work.merkleRoot, u32(v.submit.ntime));
    new DataView(header.buffer).setUint32(76, u32(v.submit.nonce), true);
    assert.equal(bytesToHex(header), v.expected.header);
  });

  it('checks the nonce: the block hash, a block under nbits, and the submit params as sent', () => {
    const r = checkNonce(work, u32(v.submit.nonce), { ntime: u32(v.submit.ntime) });
    assert.equal(r.hashHex, v.expected.block_hash);
    assert.equal(r.kind, v.expected.meets_nbits ? 'block' : 'share');
    assert.deepEqual(r.submitParams(false), [
      v.submit.job_id,
      v.submit.extranonce2,
      v.submit.ntime,
      v.submit.nonce,
    ]);
  });

  it('a wrong nonce is not a share', () => {
    const r = checkNonce(work, u32(v.submit.nonce) ^ 1, { ntime: u32(v.submit.ntime) });
    assert.notEqual(r.kind, 'block');
    assert.notEqual(r.kind, 'share');
  });
});

describe('ESP-Miner coinbase and merkle vectors', () => {
  it('concatenates coinb1 ‖ extranonce1 ‖ extranonce2 ‖ coinb2', () => {
    const v = vector<{
      coinbase_1: string;
      coinbase_2: string;
      extranonce: string;
      extranonce_2: string;
      expected_coinbase_tx: string;
    }>('stratum-v1', 'esp-coinbase-construction');
    const tpl = buildTemplate(
      {
        ...dummyCoinbase,
        jobId: 'x',
        prevhash: '0'.repeat(64),
        coinb1: v.coinbase_1,
        coinb2: v.coinbase_2,
        version: '20000000',
        nbits: '1d00ffff',
        ntime: '00000000',
        cleanJobs: false,
      },
      { extranonce1: v.extranonce, extranonce2Size: v.extranonce_2.length / 2 },
    );
    assert.equal(bytesToHex(coinbaseTx(tpl, v.extranonce_2)), v.expected_coinbase_tx);
  });

  for (const id of ['esp-merkle-root-1', 'esp-merkle-root-2', 'esp-nonce-diff-2']) {
    it(`folds the branches as sent (${id})`, () => {
      const v = vector<{
        coinbase_1: string;
        coinbase_2: string;
        extranonce: string;
        extranonce_2: string;
        merkle_branches: string[];
        expected_merkle_root: string;
      }>('stratum-v1', id);
      const tpl = buildTemplate(
        {
          jobId: 'x',
          prevhash: '0'.repeat(64),
          coinb1: v.coinbase_1,
          coinb2: v.coinbase_2,
          merkleBranch: v.merkle_branches,
          version: '20000000',
          nbits: '1d00ffff',
          ntime: '00000000',
          cleanJobs: false,
        },
        { extranonce1: v.extranonce, extranonce2Size: v.extranonce_2.length / 2 },
      );
      assert.equal(bytesToHex(makeWork(tpl, v.extranonce_2).merkleRoot), v.expected_merkle_root);
    });
  }
});

describe('ESP-Miner nonce difficulty vectors', () => {
  type V = {
    prev_block_hash: string;
    version: string;
    nbits: string;
    ntime: string;
    merkle_root?: string;
    nonce: string;
    expected_int_diff: number;
    expected_header: string;
    expected_block_hash: string;
    expected_diff_approx: number;
    coinbase_1?: string;
    coinbase_2?: string;
    extranonce?: string;
    extranonce_2?: string;
    merkle_branches?: string[];
  };
  it('esp-nonce-diff-1: header, hash and difficulty 18.04 from a given merkle root', () => {
    const v = vector<V>('stratum-v1', 'esp-nonce-diff-1');
    const tpl = headerTemplate(v);
    const header = writeHeader(tpl, tpl.version, hexToBytes('merkle', v.merkle_root!), tpl.ntime);
    const h = new HeaderHasher(header);
    const digest = h.hash(u32(v.nonce));
    new DataView(header.buffer).setUint32(76, u32(v.nonce), true);
    assert.equal(bytesToHex(header), v.expected_header);
    assert.equal(digestToDisplayHex(digest), v.expected_block_hash);
    const d = hashToDifficulty(digest);
    assert.equal(Math.trunc(d), v.expected_int_diff);
    assert.ok(Math.abs(d - v.expected_diff_approx) < 1e-6, `difficulty ${d}`);
  });

  it('esp-nonce-diff-2: full path from the notify fields, difficulty 683.5 → share at pool difficulty 512', () => {
    const v = vector<V>('stratum-v1', 'esp-nonce-diff-2');
    const tpl = buildTemplate(
      {
        jobId: 'j',
        prevhash: v.prev_block_hash,
        coinb1: v.coinbase_1!,
        coinb2: v.coinbase_2!,
        merkleBranch: v.merkle_branches!,
        version: v.version,
        nbits: v.nbits,
        ntime: v.ntime,
        cleanJobs: true,
      },
      { extranonce1: v.extranonce!, extranonce2Size: 4 },
      { difficulty: 512 },
    );
    const work = makeWork(tpl, v.extranonce_2!);
    const r = checkNonce(work, u32(v.nonce));
    assert.equal(r.hashHex, v.expected_block_hash);
    assert.equal(Math.trunc(r.difficulty), v.expected_int_diff);
    assert.equal(r.kind, 'share');
    // At pool difficulty 1000 the same nonce is below the pool target but still meets diff 1.
    const hard = makeWork(
      buildTemplate(
        {
          jobId: 'j',
          prevhash: v.prev_block_hash,
          coinb1: v.coinbase_1!,
          coinb2: v.coinbase_2!,
          merkleBranch: v.merkle_branches!,
          version: v.version,
          nbits: v.nbits,
          ntime: v.ntime,
          cleanJobs: true,
        },
        { extranonce1: v.extranonce!, extranonce2Size: 4 },
        { difficulty: 1000 },
      ),
      v.extranonce_2!,
    );
    assert.equal(checkNonce(hard, u32(v.nonce)).kind, 'low');
    assert.equal(checkNonce(hard, u32(v.nonce), { ticketDifficulty: 1024 }).kind, 'hw-error');
  });
});

describe('midstates', () => {
  type V = {
    prev_block_hash: string;
    version: string;
    nbits: string;
    ntime: string;
    merkle_root: string;
    expected_midstate_be: string;
    expected_midstate_le_words: string;
  };
  const v = vector<V>('stratum-v1', 'esp-bm-job-midstate');
  const tpl = headerTemplate(v, 0x1fffe000);
  const root = hexToBytes('merkle', v.merkle_root);

  it('base midstate (big-endian state and ESP little-endian word form)', () => {
    const m = midstate(writeHeader(tpl, tpl.version, root, tpl.ntime));
    assert.equal(bytesToHex(wordsToBytesBE(m)), v.expected_midstate_be);
    assert.equal(wordsToBytesLE(m), v.expected_midstate_le_words.toLowerCase());
  });

  it('rolled midstates with mask 1fffe000 and their version_bits', () => {
    const r = vector<{ rolled: Array<{ version: string; version_bits: string; midstate_le_words: string }> }>(
      'stratum-v1',
      'esp-bm-job-midstate-rolled-1fffe000',
    );
    const versions = enumerateVersions(tpl.version, 0x1fffe000, r.rolled.length + 1);
    r.rolled.forEach((row, i) => {
      const ver = versions[i + 1]!;
      assert.equal(ver, u32(row.version));
      assert.equal(versionBits(ver, 0x1fffe000), u32(row.version_bits));
      assert.equal(wordsToBytesLE(midstate(writeHeader(tpl, ver, root, tpl.ntime))), row.midstate_le_words);
    });
  });

  it('makeWork prepares 4 midstates that match the per-version header', () => {
    const t2 = buildTemplate(
      {
        jobId: 'x',
        prevhash: v.prev_block_hash,
        coinb1: '01',
        coinb2: '02',
        merkleBranch: [],
        version: v.version,
        nbits: v.nbits,
        ntime: v.ntime,
        cleanJobs: false,
      },
      { extranonce1: 'aabbccdd', extranonce2Size: 4 },
      { versionMask: 0x1fffe000 },
    );
    const w = makeWork(t2, 5, { versions: 4 });
    assert.equal(w.midstates.length, 4);
    w.versions.forEach((ver, k) => {
      assert.deepEqual(w.midstates[k], midstate(writeHeader(t2, ver, w.merkleRoot, t2.ntime)));
    });
  });

  it('increments the masked field like ESP-Miner (esp-increment-bitmask)', () => {
    const inc = vector<{ version: string; mask: string; sequence: string[] }>(
      'stratum-v1',
      'esp-increment-bitmask',
    );
    const seq = enumerateVersions(u32(inc.version), u32(inc.mask), inc.sequence.length + 1).slice(1);
    assert.deepEqual(
      seq,
      inc.sequence.map((s) => Number.parseInt(s, 16)),
    );
  });
});

describe('extranonce2 encoding (ESP-Miner)', () => {
  const v = vector<{ cases: Array<{ value: number; length: number; expected: string }> }>(
    'stratum-v1',
    'esp-extranonce2-encoding',
  );
  for (const c of v.cases) {
    it(`${c.value} in ${c.length} bytes → ${c.expected}`, () => {
      assert.equal(encodeExtranonce2(c.value, c.length), c.expected);
    });
  }
});

describe('block headers', () => {
  for (const id of ['bitcoin-genesis-header', 'bitcoin-block-125552']) {
    it(`${id}: hash and target`, () => {
      const v = vector<{
        header: string;
        expected_hash: string;
        expected_target: string;
        fields: { nbits: string; nonce: number };
      }>('stratum-v1', id);
      const header = hexToBytes('header', v.header, 80);
      const digest = new HeaderHasher(header).hash(v.fields.nonce);
      assert.equal(digestToDisplayHex(digest), v.expected_hash);
      const t = nbitsToTarget(u32(v.fields.nbits));
      assert.equal(hex(t.target), v.expected_target);
      assert.ok(BigInt(`0x${v.expected_hash}`) <= t.target, 'the block meets its own target');
    });
  }
});

describe('targets', () => {
  it('difficulty 1 target is 0xFFFF·2^208 = target(0x1d00ffff)', () => {
    const v = vector<{ target: string; truediffone_decimal: string }>('stratum-v1', 'difficulty-1-target');
    assert.equal(hex(DIFF1_TARGET), v.target);
    assert.equal(DIFF1_TARGET.toString(), v.truediffone_decimal);
    assert.equal(nbitsToTarget(0x1d00ffff).target, DIFF1_TARGET);
  });

  for (const id of ['nbits-to-target-core-setcompact', 'nbits-to-target-common']) {
    const v = vector<{
      cases: Array<{ nbits: string; target?: string; negative: boolean; overflow: boolean; bdiff?: number }>;
    }>('stratum-v1', id);
    for (const c of v.cases) {
      it(`${id}: ${c.nbits}`, () => {
        const r = nbitsToTarget(u32(c.nbits));
        assert.equal(r.negative, c.negative, 'negative');
        assert.equal(r.overflow, c.overflow, 'overflow');
        if (c.target !== undefined) assert.equal(hex(r.target), c.target);
        if (c.bdiff !== undefined)
          assert.ok(Math.abs(targetToDifficulty(r.target) - c.bdiff) < 1e-9 * c.bdiff);
      });
    }
  }

  it('target → nbits never sets the sign bit (Core GetCompact)', () => {
    const v = vector<{ cases: Array<{ target: string; nbits: string }> }>(
      'stratum-v1',
      'target-to-nbits-sign-bit',
    );
    for (const c of v.cases) assert.equal(targetToNbits(BigInt(`0x${c.target}`)), Number(c.nbits), c.target);
  });
});
