/**
 * The epoch-0 light cache for tests. Building it takes ~10 s of pure JS, so test files share one disk
 * cache in the OS temp dir (checked by header + SHA-256 on every load; a bad file is rebuilt). The
 * directory name carries the file-format version so an incompatible layout is never read.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EthashCacheStore, FILE_VERSION } from '../../host/ethash/index.ts';

export const TEST_CACHE_DIR = join(tmpdir(), `asicd-test-ethash-v${FILE_VERSION}`);

export function testCacheStore(): EthashCacheStore {
  return new EthashCacheStore({ cacheDir: TEST_CACHE_DIR });
}
