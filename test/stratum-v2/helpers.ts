/** Shared by the SV2 end-to-end tests: find shares for a job with the work engine (host side). */
import type { ClientJob } from '../../host/stratum/client.ts';
import type { Sv2ClientJob } from '../../host/stratum-v2/client.ts';
import { buildTemplate, checkNonce, encodeExtranonce2, makeWork } from '../../host/work/index.ts';
import { sha256d } from '../../host/work/sha256.ts';

export interface Found {
  extranonce2: string;
  nonce: number;
  ntime: number;
  hash: bigint;
}

/** First nonce from `start` whose hash meets (`meets` true) or misses the job's 256-bit target. */
export function findNonce(
  j: Sv2ClientJob | ClientJob,
  target: bigint,
  meets = true,
  en2 = 1,
  start = 0,
  version?: number,
): Found {
  const t = buildTemplate(j.job, j, { difficulty: j.difficulty, versionMask: j.versionMask });
  const w = makeWork(t, encodeExtranonce2(en2, j.extranonce2Size));
  for (let n = start; n < start + 50_000_000; n++) {
    const c = checkNonce(w, n, { ticketDifficulty: 1e-12, ...(version !== undefined ? { version } : {}) });
    const hash = BigInt(`0x${c.hashHex}`);
    if (hash <= target === meets) return { extranonce2: w.extranonce2Hex, nonce: n, ntime: t.ntime, hash };
  }
  throw new Error('no nonce found');
}

/** Header-only (standard channel): the header from the pool's merkle root, hashed directly. */
export function findStandardNonce(
  j: Sv2ClientJob,
  target: bigint,
  meets = true,
  start = 0,
): { nonce: number; ntime: number } {
  const root = j.standard!.merkleRoot;
  const h = new Uint8Array(80);
  const v = new DataView(h.buffer);
  v.setUint32(0, Number.parseInt(j.job.version, 16), true);
  const prev = Buffer.from(j.job.prevhash, 'hex');
  // prevhash text is word-swapped: back to header order.
  for (let i = 0; i < 32; i += 4) for (let k = 0; k < 4; k++) h[4 + i + k] = prev[i + 3 - k]!;
  h.set(root, 36);
  const ntime = Number.parseInt(j.job.ntime, 16);
  v.setUint32(68, ntime, true);
  v.setUint32(72, Number.parseInt(j.job.nbits, 16), true);
  for (let n = start; n < start + 50_000_000; n++) {
    v.setUint32(76, n, true);
    const d = sha256d(h);
    let x = 0n;
    for (let i = 31; i >= 0; i--) x = (x << 8n) | BigInt(d[i]!);
    if (x <= target === meets) return { nonce: n, ntime };
  }
  throw new Error('no nonce found');
}
