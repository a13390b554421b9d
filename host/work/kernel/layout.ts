/** The kernel's memory layout, shared by the generator (sha256d-wat.ts) and the loader (index.ts). */
export const LAYOUT = {
  /** hash4 input: 8 midstate vectors (word i of lanes 0..3 at 16·i), then t0, t1, t2, nonce vectors. */
  IN4: 0,
  /** hash4 output: 8 digest vectors (word i of lanes 0..3). */
  OUT4: 256,
  /** hash1 / scan input: 8 midstate words, then t0, t1, t2, nonce (hash1 only). */
  IN1: 512,
  /** hash1 output: 8 digest words. */
  OUT1: 576,
  /** scan hits: nonces, up to HITS_MAX. */
  HITS: 1024,
  HITS_MAX: 4096,
  /**
   * merkle: the running root (8 words), then the branches (8 words each, up to MERKLE_MAX), all as
   * the big-endian words SHA-256 reads.
   */
  MERKLE: 17408,
  MERKLE_MAX: 64,
  /** The SIMD constants (a data segment written by the module; read-only to the loader). */
  CONSTS: 32768,
} as const;
