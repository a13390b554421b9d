/**
 * The emulated ethash worker (firmware/ethash, an independent implementation): it reproduces the public
 * chfast block-0 vector on its own, and the nonces it reports for an easy boundary pass the host's
 * word-based check — two implementations that share no code agree.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import {
  EmulatedEthashWorker,
  type FoundNonce,
  fwCacheBytes,
  fwDatasetBytes,
  fwSeed,
} from '../../firmware/ethash/worker.ts';
import { boundaryWords, bytesToHex, checkShare, headerWords, seedHash } from '../../host/ethash/index.ts';
import { waitFor } from '../helpers/net.ts';
import { vector } from '../helpers/vectors.ts';
import { TEST_CACHE_DIR, testCacheStore } from './shared-cache.ts';

const workers: EmulatedEthashWorker[] = [];
after(() => {
  for (const w of workers) w.stop();
});

test('worker sizes and seeds match the public facts', () => {
  const v = vector<{ light_cache_size: number; full_dataset_size: number }>('ethash', 'ethash-epoch-0-sizes');
  assert.equal(fwCacheBytes(0), v.light_cache_size);
  assert.equal(fwDatasetBytes(0), v.full_dataset_size);
  assert.equal(fwCacheBytes(3), 17170112);
  assert.equal(
    Buffer.from(fwSeed(1)).toString('hex'),
    '290decd9548b62a8d60345a988386fc84ba6bc95484008f6362f93160ef3e563',
  );
  assert.equal(Buffer.from(fwSeed(195, 60000)).toString('hex'), bytesToHex(seedHash(390)));
});

test('worker reproduces the chfast block-0 vector with its own cache', async () => {
  const v = vector<{ header_hash: string; nonce: string; mix_hash: string; final_hash: string }>(
    'ethash',
    'chfast-ethash-block-0',
  );
  const w = new EmulatedEthashWorker({ cacheDir: TEST_CACHE_DIR });
  workers.push(w);
  const cache = await w.prepare(0);
  const r = cache.hashimoto(Buffer.from(v.header_hash, 'hex'), BigInt(`0x${v.nonce}`));
  assert.equal(Buffer.from(r.mix).toString('hex'), v.mix_hash);
  assert.equal(Buffer.from(r.result).toString('hex'), v.final_hash);
});

test('nonces the worker reports for an easy boundary pass the host check; a new job replaces the old', async () => {
  const light = await testCacheStore().get(0);
  const w = new EmulatedEthashWorker({ cacheDir: TEST_CACHE_DIR, batch: 4 });
  workers.push(w);
  const found: FoundNonce[] = [];
  w.on('nonce', (n) => found.push(n));
  const boundary = (1n << 252n) - 1n; // ~1 in 16 nonces
  const header = 'ab'.repeat(32);
  w.setWork({
    jobId: 'j1',
    headerHash: header,
    epoch: 0,
    boundary: boundary.toString(16).padStart(64, '0'),
    startNonce: 1000n,
    count: 64n,
  });
  const exhausted = new Promise((r) => w.once('exhausted', r));
  await exhausted;
  assert.equal(w.hashes, 64);
  assert.ok(found.length > 0, 'some nonce among 64 meets a 1/16 boundary (p of none ≈ 1.6 %)');
  const hw = headerWords(header);
  for (const f of found) {
    assert.equal(f.jobId, 'j1');
    assert.ok(f.nonce >= 1000n && f.nonce < 1064n);
    const c = checkShare(light, hw, f.nonce, boundaryWords(boundary));
    assert.equal(c.meets, true);
    assert.equal(c.mixHash, f.mixHash);
    assert.equal(c.finalHash, f.finalHash);
  }
  // Every nonce it skipped fails the boundary on the host too (no missed shares).
  const reported = new Set(found.map((f) => f.nonce));
  for (let n = 1000n; n < 1064n; n++) {
    if (!reported.has(n))
      assert.equal(checkShare(light, hw, n, boundaryWords(boundary)).meets, false, `nonce ${n}`);
  }
  found.length = 0;
  w.setWork({
    jobId: 'j2',
    headerHash: 'cd'.repeat(32),
    epoch: 0,
    boundary: 'f'.repeat(64),
    startNonce: 5n,
    count: 3n,
  });
  await waitFor(() => found.length === 3, 'three nonces for the always-met boundary');
  assert.deepEqual(
    found.map((f) => [f.jobId, f.nonce]),
    [
      ['j2', 5n],
      ['j2', 6n],
      ['j2', 7n],
    ],
  );
  assert.throws(
    () => w.setWork({ jobId: 'x', headerHash: 'zz', epoch: 0, boundary: 'f', startNonce: 0n }),
    /headerHash/,
  );
});
