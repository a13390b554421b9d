/**
 * Host-side check of every nonce a worker returns, before it goes to the pool: the job's epoch cache
 * (from the store: memory, disk, or built off the hot path), hashimoto-light, compare with the job's
 * target. Counts what it saw so the miner can report hardware errors (nonces that do not meet target).
 */
import { boundaryWords } from './boundary.ts';
import type { EthashCacheStore } from './cache-store.ts';
import { checkShare, headerWords, type ShareCheck } from './index.ts';

export interface VerifiableJob {
  headerHash: string;
  epoch: number;
  epochLength: number;
  target: bigint;
}

export class EthashShareVerifier {
  checked = 0;
  passed = 0;
  /** Nonces that did not meet their job's target (a worker computing wrong, or a stale target). */
  failed = 0;
  private readonly headers = new Map<string, Uint32Array>();
  private readonly boundaries = new Map<bigint, Uint32Array>();

  private readonly store: EthashCacheStore;
  constructor(store: EthashCacheStore) {
    this.store = store;
  }

  async verify(job: VerifiableJob, nonce: bigint): Promise<ShareCheck> {
    const light = await this.store.get(job.epoch, job.epochLength);
    let hw = this.headers.get(job.headerHash);
    if (!hw) {
      hw = headerWords(job.headerHash);
      this.headers.set(job.headerHash, hw);
      if (this.headers.size > 64) this.headers.delete(this.headers.keys().next().value!);
    }
    let bw = this.boundaries.get(job.target);
    if (!bw) {
      bw = boundaryWords(job.target);
      this.boundaries.set(job.target, bw);
      if (this.boundaries.size > 16) this.boundaries.delete(this.boundaries.keys().next().value!);
    }
    const r = checkShare(light, hw, nonce, bw);
    this.checked++;
    if (r.meets) this.passed++;
    else this.failed++;
    return r;
  }
}
