/**
 * Ethash on the host against public facts: the chfast/ethash block-0 hash vector, the epoch sizes
 * (vector file + go-ethereum's size tables), seed hashes, etchash epochs, the word keccak against
 * @noble/hashes' byte API, and boundary compares against bigint arithmetic.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { keccak_256, keccak_512 } from '@noble/hashes/sha3.js';
import fc from 'fast-check';
import {
  boundaryFromDifficulty,
  boundaryWords,
  bytesToHex,
  bytesToWords,
  cacheSize,
  checkShare,
  DIFF1_TARGET,
  datasetSize,
  ETCHASH,
  epochFromSeed,
  epochOf,
  headerWords,
  hexToBytes,
  isPrime,
  meetsBoundary,
  resultToBigInt,
  seedHash,
  shareDifficultyFromTarget,
  targetFromShareDifficulty,
  wordsToBytes,
} from '../../host/ethash/index.ts';
import { KeccakWords } from '../../host/ethash/keccak.ts';
import { vector } from '../helpers/vectors.ts';
import { testCacheStore } from './shared-cache.ts';

interface HashVector {
  block_number: number;
  header_hash: string;
  nonce: string;
  mix_hash: string;
  final_hash: string;
}
interface SizeVector {
  epoch: number;
  light_cache_size: number;
  full_dataset_size: number;
}

test('epoch-0 sizes match the vector', () => {
  const v = vector<SizeVector>('ethash', 'ethash-epoch-0-sizes');
  assert.equal(cacheSize(v.epoch), v.light_cache_size);
  assert.equal(datasetSize(v.epoch), v.full_dataset_size);
});

test('later epoch sizes match the go-ethereum size tables', () => {
  // go-ethereum consensus/ethash/algorithm.go cacheSizes[0..6] and datasetSizes[0..4].
  const caches = [16776896, 16907456, 17039296, 17170112, 17301056, 17432512, 17563072];
  const datasets = [1073739904, 1082130304, 1090514816, 1098906752, 1107293056];
  caches.forEach((c, e) => {
    assert.equal(cacheSize(e), c, `cache epoch ${e}`);
  });
  datasets.forEach((d, e) => {
    assert.equal(datasetSize(e), d, `dataset epoch ${e}`);
  });
  for (let e = 0; e < 40; e++) {
    assert.ok(isPrime(cacheSize(e) / 64));
    assert.ok(isPrime(datasetSize(e) / 128));
  }
  assert.throws(() => cacheSize(-1), /epoch/);
  assert.throws(() => datasetSize(1.5), /epoch/);
});

test('seed hashes chain keccak256 from zero; etchash epochs follow ECIP-1099', () => {
  assert.equal(bytesToHex(seedHash(0)), '00'.repeat(32));
  // keccak256 of 32 zero bytes (a well-known constant).
  assert.equal(bytesToHex(seedHash(1)), '290decd9548b62a8d60345a988386fc84ba6bc95484008f6362f93160ef3e563');
  assert.equal(bytesToHex(seedHash(2)), bytesToHex(keccak_256(seedHash(1))));
  assert.equal(epochFromSeed(bytesToHex(seedHash(37))), 37);
  assert.equal(epochFromSeed('ab'.repeat(32)), undefined);
  assert.throws(() => epochFromSeed('zz'), /seed hash/);

  assert.deepEqual(epochOf(29_999), { epoch: 0, epochLength: 30_000 });
  assert.deepEqual(epochOf(11_700_000), { epoch: 390, epochLength: 30_000 });
  assert.deepEqual(epochOf(11_699_999, ETCHASH), { epoch: 389, epochLength: 30_000 });
  assert.deepEqual(epochOf(11_700_000, ETCHASH), { epoch: 195, epochLength: 60_000 });
  // A 60000-block epoch starts at block 60000·e, i.e. 2e seed rounds.
  assert.equal(bytesToHex(seedHash(195, 60_000)), bytesToHex(seedHash(390)));
  assert.equal(epochFromSeed(bytesToHex(seedHash(195, 60_000)), 60_000), 195);
  assert.equal(epochFromSeed(bytesToHex(seedHash(3)), 60_000), undefined);
});

test('word keccak equals @noble/hashes keccak_512 / keccak_256 on the ethash input sizes', () => {
  const k = new KeccakWords();
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 64, maxLength: 64 }),
      fc.uint8Array({ minLength: 96, maxLength: 96 }),
      (a, b) => {
        const out = new Uint32Array(16);
        const w = bytesToWords(a);
        k.k512(w, 0, 16, out, 0);
        assert.equal(bytesToHex(wordsToBytes(out)), bytesToHex(keccak_512(a)));
        k.k512(w, 0, 10, out, 0);
        assert.equal(bytesToHex(wordsToBytes(out)), bytesToHex(keccak_512(a.subarray(0, 40))));
        const o8 = new Uint32Array(8);
        k.k256(bytesToWords(b), 0, 24, o8, 0);
        assert.equal(bytesToHex(wordsToBytes(o8)), bytesToHex(keccak_256(b)));
        k.k256(w, 0, 8, o8, 0);
        assert.equal(bytesToHex(wordsToBytes(o8)), bytesToHex(keccak_256(a.subarray(0, 32))));
        const x = new Uint8Array(64);
        for (let i = 0; i < 64; i++) x[i] = a[i]! ^ b[i]!;
        k.k512xor(w, 0, bytesToWords(b.subarray(0, 64)), 0, out, 0);
        assert.equal(bytesToHex(wordsToBytes(out)), bytesToHex(keccak_512(x)));
      },
    ),
    { numRuns: 50 },
  );
});

test('boundary compare agrees with bigint arithmetic', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.bigInt({ min: 0n, max: (1n << 256n) - 1n }),
      (h, b) => {
        const words = bytesToWords(h);
        const asNumber = BigInt(`0x${bytesToHex(h)}`);
        assert.equal(resultToBigInt(words), asNumber);
        assert.equal(meetsBoundary(words, boundaryWords(b)), asNumber <= b);
        assert.equal(meetsBoundary(words, boundaryWords(asNumber)), true);
        if (asNumber > 0n) assert.equal(meetsBoundary(words, boundaryWords(asNumber - 1n)), false);
      },
    ),
    { numRuns: 300 },
  );
});

test('difficulty ↔ target: Stratum diff-1 base, ethash-native 2^256/d, exact for fractions', () => {
  assert.equal(targetFromShareDifficulty(1), DIFF1_TARGET);
  assert.equal(targetFromShareDifficulty(0.5), DIFF1_TARGET * 2n);
  assert.equal(targetFromShareDifficulty(2 ** -20), DIFF1_TARGET << 20n);
  assert.equal(targetFromShareDifficulty(3), DIFF1_TARGET / 3n);
  assert.equal(targetFromShareDifficulty(1e-80), (1n << 256n) - 1n);
  assert.equal(boundaryFromDifficulty(2 ** 32), 1n << 224n);
  assert.equal(shareDifficultyFromTarget(DIFF1_TARGET / 1000n), 1000);
  assert.throws(() => targetFromShareDifficulty(0), /share difficulty/);
  assert.throws(() => boundaryFromDifficulty(Number.NaN), /difficulty/);
});

test('chfast/ethash block 0 vector: mix hash and final hash (light evaluation, epoch 0)', async () => {
  const v = vector<HashVector>('ethash', 'chfast-ethash-block-0');
  const { epoch } = epochOf(v.block_number);
  const light = await testCacheStore().get(epoch);
  assert.equal(light.rows * 64, cacheSize(0));
  const nonce = BigInt(`0x${v.nonce}`);
  const r = light.compute(hexToBytes(v.header_hash, 32), nonce);
  assert.equal(r.mixHash, v.mix_hash);
  assert.equal(r.finalHash, v.final_hash);
  // The final hash is keccak256(keccak512(header ‖ nonce_le) ‖ mix) (the vector's note).
  const nonceLe = new Uint8Array(8);
  new DataView(nonceLe.buffer).setBigUint64(0, nonce, true);
  const seed = keccak_512(new Uint8Array([...hexToBytes(v.header_hash), ...nonceLe]));
  assert.equal(bytesToHex(keccak_256(new Uint8Array([...seed, ...hexToBytes(v.mix_hash)]))), v.final_hash);

  // The share check: exactly at the final hash passes, one below fails; another nonce differs.
  const fh = BigInt(`0x${v.final_hash}`);
  const hw = headerWords(v.header_hash);
  const ok = checkShare(light, hw, nonce, boundaryWords(fh));
  assert.equal(ok.meets, true);
  assert.equal(ok.mixHash, v.mix_hash);
  assert.equal(checkShare(light, hw, nonce, boundaryWords(fh - 1n)).meets, false);
  const other = checkShare(light, hw, nonce + 1n, boundaryWords(fh));
  assert.notEqual(other.finalHash, v.final_hash);
  assert.throws(() => checkShare(light, hw, -1n, boundaryWords(fh)), /nonce/);
});
