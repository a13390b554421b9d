/**
 * Writes the WebAssembly text (WAT) of the header-hashing kernel: double SHA-256 of 80-byte block
 * headers from a midstate (the state after header bytes 0..63) and the three tail words, fully unrolled.
 *
 * The WAT is generated rather than typed by hand because the 64 rounds × 2 compressions are the same few
 * lines with different names and constants; the generator folds everything it knows in advance:
 *   - constants: the padding words of both blocks (w4..w15 of the first, w8..w15 of the second), the
 *     second compression's initial state (the IV), so e.g. its round 0 is `w0 + const`;
 *   - uniform values (`scan` only): everything that depends on the midstate and the tail but not on the
 *     nonce (rounds 0..2 of the first compression and the schedule words they feed) is computed once
 *     before the nonce loop;
 *   - the scan needs only digest word 7 (the hash's most significant 32 bits): its second compression
 *     stops after round 60, whose new `e` is the final `h`.
 *   - SIMD constants are loaded from a data segment (ConstPool below) rather than built inline, and the
 *     SIMD majority function reuses the previous round's a ^ b (three operations instead of four).
 *
 * Exports (memory layout in kernel/index.ts):
 *   scan(start, groups, limit) → hits   four nonces per pass (i32x4 lanes), one shared midstate;
 *                                       writes each nonce whose bswap(digest[7]) ≤ limit (unsigned)
 *   hash4()                             four independent headers (own midstate, tail, nonce), full digests
 *   hash1()                             one header, scalar i32 code (native rotates), full digest
 *   merkle(count)                       folds `count` merkle branches into the root (scalar i32: each
 *                                       level is sha256d(root ‖ branch), three compressions, the
 *                                       padding block's schedule folded to constants)
 *
 * `scripts/build-kernel.ts` writes this text to sha256d.wat and compiles it with wabt to sha256d.wasm;
 * test/work/kernel.test.ts regenerates both and compares them byte for byte with the committed files.
 */

const K = [
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
];
const IV = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

import { LAYOUT } from './layout.ts';

export { LAYOUT };

/** A value during generation: a constant known now (same in all lanes) or a WAT expression. */
type Val = { c: number } | { e: string; uniform: boolean };

const u32 = (n: number) => n >>> 0;

/**
 * The SIMD constants (round constants, padding words, folded sums): each distinct value once, as four
 * equal lanes in a data segment at LAYOUT.CONSTS, read with `v128.load`. V8 builds a `v128.const`
 * inline from general-purpose registers (a 64-bit move, a move to the vector register and a shuffle:
 * two vector-port µops per use); a load goes to a load port. Measured: +8 % nonces/s (bench/RESULTS.md).
 */
class ConstPool {
  readonly values: number[] = [];
  private readonly index = new Map<number, number>();
  /** The byte address of `n`'s four-lane vector. */
  addr(n: number): number {
    let i = this.index.get(n);
    if (i === undefined) {
      i = this.values.length;
      this.values.push(n);
      this.index.set(n, i);
    }
    return LAYOUT.CONSTS + 16 * i;
  }
  /** The `(data …)` segment: little-endian lanes, as the loads read them. */
  segment(): string {
    if (LAYOUT.CONSTS + 16 * this.values.length > 65536)
      throw new Error('kernel constants overflow the page');
    const lane = (n: number) =>
      Array.from({ length: 4 }, (_, i) => `\\${((n >>> (8 * i)) & 0xff).toString(16).padStart(2, '0')}`).join(
        '',
      );
    const bytes = this.values.map((n) => lane(n).repeat(4)).join('');
    return `  (data (i32.const ${LAYOUT.CONSTS}) "${bytes}")`;
  }
}
const rotr32 = (x: number, n: number) => u32((x >>> n) | (x << (32 - n)));

class Gen {
  readonly simd: boolean;
  /** Hoist uniform values into `pre` (scan: before the nonce loop). */
  readonly hoist: boolean;
  readonly locals: string[] = [];
  readonly pre: string[] = [];
  readonly body: string[] = [];
  readonly pool: ConstPool;
  private n = 0;
  constructor(simd: boolean, hoist: boolean, pool: ConstPool) {
    this.simd = simd;
    this.hoist = hoist;
    this.pool = pool;
  }

  private get t(): string {
    return this.simd ? 'i32x4' : 'i32';
  }
  constExpr(n: number): string {
    const s = `0x${u32(n).toString(16).padStart(8, '0')}`;
    return this.simd ? `(v128.load offset=${this.pool.addr(u32(n))} (i32.const 0))` : `(i32.const ${s})`;
  }
  expr(v: Val): string {
    return 'c' in v ? this.constExpr(v.c) : v.e;
  }
  private uni(...vs: Val[]): boolean {
    return vs.every((v) => 'c' in v || v.uniform);
  }

  /** Stores a value in a new local (so later uses read it instead of recomputing); constants stay. */
  bind(v: Val, hint: string): Val {
    if ('c' in v) return v;
    if (/^\(local\.get \$[\w.]+\)$/.test(v.e)) return v;
    const name = `$${hint}_${this.n++}`;
    this.locals.push(`(local ${name} ${this.simd ? 'v128' : 'i32'})`);
    const line = `(local.set ${name} ${v.e})`;
    if (v.uniform && this.hoist) this.pre.push(line);
    else this.body.push(line);
    return { e: `(local.get ${name})`, uniform: v.uniform };
  }

  add(...vs: Val[]): Val {
    let c = 0;
    const uni: Val[] = [];
    const vary: Val[] = [];
    for (const v of vs) {
      if ('c' in v) c = u32(c + v.c);
      else if (v.uniform) uni.push(v);
      else vary.push(v);
    }
    if (uni.length === 0 && vary.length === 0) return { c };
    // Uniform terms and the constant first, so that (in scan) their partial sum is computed once,
    // before the nonce loop; then the per-lane terms.
    let e: string | undefined;
    for (const v of uni) e = e === undefined ? this.expr(v) : `(${this.t}.add ${e} ${this.expr(v)})`;
    if (c !== 0 && e !== undefined) e = `(${this.t}.add ${e} ${this.constExpr(c)})`;
    if (vary.length === 0) return { e: e!, uniform: true };
    if (e !== undefined && this.hoist) e = this.expr(this.bind({ e, uniform: true }, 'u'));
    for (const v of vary) e = e === undefined ? this.expr(v) : `(${this.t}.add ${e} ${this.expr(v)})`;
    if (c !== 0 && uni.length === 0) e = `(${this.t}.add ${e} ${this.constExpr(c)})`;
    return { e: e!, uniform: false };
  }

  private bin(op: 'xor' | 'and' | 'or', a: Val, b: Val, f: (x: number, y: number) => number): Val {
    if ('c' in a && 'c' in b) return { c: u32(f(a.c, b.c)) };
    const name = this.simd ? `v128.${op}` : `i32.${op}`;
    return { e: `(${name} ${this.expr(a)} ${this.expr(b)})`, uniform: this.uni(a, b) };
  }
  xor(a: Val, b: Val): Val {
    return this.bin('xor', a, b, (x, y) => x ^ y);
  }
  and(a: Val, b: Val): Val {
    return this.bin('and', a, b, (x, y) => x & y);
  }
  or(a: Val, b: Val): Val {
    return this.bin('or', a, b, (x, y) => x | y);
  }
  rotr(a: Val, n: number): Val {
    if ('c' in a) return { c: rotr32(a.c, n) };
    const x = this.expr(a);
    const e = this.simd
      ? `(v128.or (i32x4.shr_u ${x} (i32.const ${n})) (i32x4.shl ${x} (i32.const ${32 - n})))`
      : `(i32.rotr ${x} (i32.const ${n}))`;
    return { e, uniform: a.uniform };
  }
  shr(a: Val, n: number): Val {
    if ('c' in a) return { c: a.c >>> n };
    return { e: `(${this.t}.shr_u ${this.expr(a)} (i32.const ${n}))`, uniform: a.uniform };
  }
  /** (e & f) ^ (~e & g): one v128.bitselect with SIMD. */
  ch(e: Val, f: Val, g: Val): Val {
    if ('c' in e && 'c' in f && 'c' in g) return { c: u32((e.c & f.c) ^ (~e.c & g.c)) };
    if (this.simd) {
      return {
        e: `(v128.bitselect ${this.expr(f)} ${this.expr(g)} ${this.expr(e)})`,
        uniform: this.uni(e, f, g),
      };
    }
    return this.xor(g, this.and(e, this.xor(f, g)));
  }
  /** majority(a, b, c): where a and b differ, c decides (compress uses the cheaper form in SIMD). */
  maj(a: Val, b: Val, c: Val): Val {
    if ('c' in a && 'c' in b && 'c' in c) return { c: u32((a.c & b.c) ^ (a.c & c.c) ^ (b.c & c.c)) };
    if (this.simd) {
      return {
        e: `(v128.bitselect ${this.expr(c)} ${this.expr(a)} ${this.expr(this.xor(a, b))})`,
        uniform: this.uni(a, b, c),
      };
    }
    return this.or(this.and(a, b), this.and(c, this.or(a, b)));
  }
  bigSigma0(x: Val): Val {
    return this.xor(this.xor(this.rotr(x, 2), this.rotr(x, 13)), this.rotr(x, 22));
  }
  bigSigma1(x: Val): Val {
    return this.xor(this.xor(this.rotr(x, 6), this.rotr(x, 11)), this.rotr(x, 25));
  }
  smallSigma0(x: Val): Val {
    return this.xor(this.xor(this.rotr(x, 7), this.rotr(x, 18)), this.shr(x, 3));
  }
  smallSigma1(x: Val): Val {
    return this.xor(this.xor(this.rotr(x, 17), this.rotr(x, 19)), this.shr(x, 10));
  }

  /**
   * One compression of `w0..15` onto `state`. Returns the 8 output words (state + working variables),
   * or with `lastE` only the final h word's working value (the `e` of round `lastE`), unbound.
   */
  compress(state: Val[], w16: Val[], tag: string, lastE?: number): Val[] {
    const w: Val[] = w16.slice();
    const W = (i: number): Val => {
      while (w.length <= i) {
        const j = w.length;
        const v = this.add(this.smallSigma1(W(j - 2)), W(j - 7), this.smallSigma0(W(j - 15)), W(j - 16));
        w.push(this.bind(v, `${tag}w${j}`));
      }
      return w[i]!;
    };
    let [a, b, c, d, e, f, g, h] = state as [Val, Val, Val, Val, Val, Val, Val, Val];
    const rounds = lastE ?? 63;
    // SIMD maj as b ^ ((a ^ b) & (b ^ c)): this round's a ^ b is the next round's b ^ c, so it costs
    // three operations instead of four (bitselect is three on x64).
    let prevAB: Val | undefined;
    for (let i = 0; i <= rounds; i++) {
      const t1 = this.bind(
        this.add(h, this.bigSigma1(e), this.ch(e, f, g), { c: K[i]! }, W(i)),
        `${tag}t${i}`,
      );
      const newE = this.add(d, t1);
      if (lastE !== undefined && i === lastE) return [newE];
      let mj: Val;
      if (this.simd) {
        const ab = this.bind(this.xor(a, b), `${tag}ab${i}`);
        mj = this.xor(b, this.and(ab, prevAB ?? this.xor(b, c)));
        prevAB = ab;
      } else mj = this.maj(a, b, c);
      const t2 = this.add(this.bigSigma0(a), mj);
      h = g;
      g = f;
      f = e;
      e = this.bind(newE, `${tag}e${i}`);
      d = c;
      c = b;
      b = a;
      a = this.bind(this.add(t1, t2), `${tag}a${i}`);
    }
    const out = [a, b, c, d, e, f, g, h];
    return out.map((v, i) => this.add(state[i]!, v));
  }
}

function pad1(t: Val[], w3: Val): Val[] {
  return [
    t[0]!,
    t[1]!,
    t[2]!,
    w3,
    { c: 0x80000000 },
    ...Array.from({ length: 10 }, () => ({ c: 0 })),
    { c: 640 },
  ];
}
function pad2(h: Val[]): Val[] {
  return [...h, { c: 0x80000000 }, ...Array.from({ length: 6 }, () => ({ c: 0 })), { c: 256 }];
}

/** Byte swap of each 32-bit lane (the nonce as the header holds it → the big-endian message word). */
const BSWAP = 'i8x16.shuffle 3 2 1 0 7 6 5 4 11 10 9 8 15 14 13 12';

/**
 * The nonce scan. `vectors` = 2 interleaves two independent i32x4 computations (8 nonces per pass) so
 * the CPU has two dependency chains to overlap; on x64 it measured slower (3.5 vs 5.0 M nonces/s: the
 * two vectors' state no longer fits the 16 SIMD registers), so the module has the 4-lane scan only.
 */
function scanFunc(vectors: 1 | 2, pool: ConstPool): string {
  const g = new Gen(true, true, pool);
  const L = LAYOUT.IN1;
  const mid = IV.map((_, i) =>
    g.bind({ e: `(v128.load32_splat offset=${L + 4 * i} (i32.const 0))`, uniform: true }, `m${i}`),
  );
  const tail = [0, 1, 2].map((i) =>
    g.bind({ e: `(v128.load32_splat offset=${L + 32 + 4 * i} (i32.const 0))`, uniform: true }, `t${i}`),
  );
  const tops: Val[] = [];
  const slices: string[][] = [];
  for (let v = 0; v < vectors; v++) {
    const from = g.body.length;
    const nonces = `(local.get $nonces${v})`;
    const w3 = g.bind({ e: `(${BSWAP} ${nonces} ${nonces})`, uniform: false }, `v${v}w3`);
    const h1 = g.compress(mid, pad1(tail, w3), `v${v}a`).map((x, i) => g.bind(x, `v${v}h${i}`));
    const [lastE] = g.compress(
      IV.map((c) => ({ c })),
      pad2(h1),
      `v${v}b`,
      60,
    );
    tops.push(g.bind(g.add(lastE!, { c: IV[7]! }), `v${v}top`));
    slices.push(g.body.splice(from));
  }
  // Interleave the vectors' straight-line code line by line (each keeps its own order).
  const body: string[] = [];
  for (let i = 0; i < Math.max(...slices.map((x) => x.length)); i++) {
    for (const sl of slices) if (i < sl.length) body.push(sl[i]!);
  }
  const lanes = 4 * vectors;
  const masks = tops.map((t, v) => {
    const m = `(i32x4.bitmask (i32x4.le_u (${BSWAP} ${g.expr(t)} ${g.expr(t)}) (local.get $lim)))`;
    return v === 0 ? m : `(i32.shl ${m} (i32.const ${4 * v}))`;
  });
  const mask = masks.length === 1 ? masks[0]! : `(i32.or ${masks[0]} ${masks[1]})`;
  const nonceLocals = tops.map((_, v) => `(local $nonces${v} v128)`).join(' ');
  const nonceInit = tops
    .map(
      (_, v) =>
        `(local.set $nonces${v} (i32x4.add (i32x4.splat (local.get $start)) (v128.const i32x4 ${4 * v} ${4 * v + 1} ${4 * v + 2} ${4 * v + 3})))`,
    )
    .join('\n    ');
  const nonceStep = tops
    .map(
      (_, v) =>
        `(local.set $nonces${v} (i32x4.add (local.get $nonces${v}) (v128.const i32x4 ${lanes} ${lanes} ${lanes} ${lanes})))`,
    )
    .join('\n        ');
  return `  (func (export "${vectors === 1 ? 'scan' : 'scan8'}") (param $start i32) (param $groups i32) (param $limit i32) (result i32)
    ${nonceLocals} (local $lim v128) (local $hits i32) (local $mask i32) (local $lane i32) (local $base i32)
    ${g.locals.join(' ')}
    ${g.pre.join('\n    ')}
    (local.set $lim (i32x4.splat (local.get $limit)))
    (local.set $base (local.get $start))
    ${nonceInit}
    (block $done
      (br_if $done (i32.eqz (local.get $groups)))
      (loop $next
        ${body.join('\n        ')}
        (local.set $mask ${mask})
        (if (local.get $mask)
          (then
            (local.set $lane (i32.const 0))
            (loop $lanes
              (if (i32.and (local.get $mask) (i32.shl (i32.const 1) (local.get $lane)))
                (then
                  (if (i32.lt_u (local.get $hits) (i32.const ${LAYOUT.HITS_MAX}))
                    (then
                      (i32.store offset=${LAYOUT.HITS}
                        (i32.shl (local.get $hits) (i32.const 2))
                        (i32.add (local.get $base) (local.get $lane)))))
                  (local.set $hits (i32.add (local.get $hits) (i32.const 1)))))
              (local.set $lane (i32.add (local.get $lane) (i32.const 1)))
              (br_if $lanes (i32.lt_u (local.get $lane) (i32.const ${lanes}))))))
        ${nonceStep}
        (local.set $base (i32.add (local.get $base) (i32.const ${lanes})))
        (local.set $groups (i32.sub (local.get $groups) (i32.const 1)))
        (br_if $next (local.get $groups))))
    (local.get $hits))`;
}

function fullFunc(simd: boolean, pool: ConstPool): string {
  const g = new Gen(simd, false, pool);
  const step = simd ? 16 : 4;
  const base = simd ? LAYOUT.IN4 : LAYOUT.IN1;
  const out = simd ? LAYOUT.OUT4 : LAYOUT.OUT1;
  const load = (off: number, hint: string) =>
    g.bind({ e: `(${simd ? 'v128' : 'i32'}.load offset=${off} (i32.const 0))`, uniform: false }, hint);
  const mid = IV.map((_, i) => load(base + step * i, `m${i}`));
  const tail = [0, 1, 2].map((i) => load(base + step * (8 + i), `t${i}`));
  const nonce = load(base + step * 11, 'n');
  const w3: Val = simd
    ? { e: `(${BSWAP} ${g.expr(nonce)} ${g.expr(nonce)})`, uniform: false }
    : {
        e: `(i32.or (i32.rotr (i32.and ${g.expr(nonce)} (i32.const 0x00ff00ff)) (i32.const 8)) (i32.rotl (i32.and ${g.expr(nonce)} (i32.const 0xff00ff00)) (i32.const 8)))`,
        uniform: false,
      };
  const h1 = g.compress(mid, pad1(tail, g.bind(w3, 'w3')), 'a').map((v, i) => g.bind(v, `h${i}`));
  const h2 = g.compress(
    IV.map((c) => ({ c })),
    pad2(h1),
    'b',
  );
  const stores = h2.map(
    (v, i) => `(${simd ? 'v128' : 'i32'}.store offset=${out + step * i} (i32.const 0) ${g.expr(v)})`,
  );
  return `  (func (export "${simd ? 'hash4' : 'hash1'}")
    ${g.locals.join(' ')}
    ${g.body.join('\n    ')}
    ${stores.join('\n    ')})`;
}

/**
 * The merkle fold, scalar: root ← sha256d(root ‖ branch) for each branch. The work engine runs it once
 * per chain per notify (each chain has its own extranonce2, so its own coinbase and root), 12–13
 * levels on mainnet; in JavaScript that is most of the notify → job frame time on Node 20.
 */
function merkleFunc(pool: ConstPool): string {
  const g = new Gen(false, false, pool);
  const R = LAYOUT.MERKLE;
  const load = (e: string, hint: string) => g.bind({ e, uniform: false }, hint);
  const root = IV.map((_, i) => load(`(i32.load offset=${R + 4 * i} (i32.const 0))`, `r${i}`));
  const branch = IV.map((_, i) => load(`(i32.load offset=${R + 32 + 4 * i} (local.get $p))`, `b${i}`));
  const iv = IV.map((c) => ({ c }));
  const s1 = g.compress(iv, [...root, ...branch], 'x').map((v, i) => g.bind(v, `s${i}`));
  // The 64-byte message's padding block: every schedule word is a constant, folded by the generator.
  const pad64: Val[] = [{ c: 0x80000000 }, ...Array.from({ length: 14 }, () => ({ c: 0 })), { c: 512 }];
  const s2 = g.compress(s1, pad64, 'y').map((v, i) => g.bind(v, `d${i}`));
  const s3 = g.compress(iv, pad2(s2), 'z');
  const stores = s3.map((v, i) => `(i32.store offset=${R + 4 * i} (i32.const 0) ${g.expr(v)})`);
  return `  (func (export "merkle") (param $count i32) (local $p i32)
    ${g.locals.join(' ')}
    (block $done
      (br_if $done (i32.eqz (local.get $count)))
      (loop $next
        ${g.body.join('\n        ')}
        ${stores.join('\n        ')}
        (local.set $p (i32.add (local.get $p) (i32.const 32)))
        (local.set $count (i32.sub (local.get $count) (i32.const 1)))
        (br_if $next (local.get $count)))))`;
}

/** The kernel's WAT text (deterministic: the same text on every run). */
export function kernelWat(): string {
  const pool = new ConstPool();
  const funcs = [scanFunc(1, pool), fullFunc(true, pool), fullFunc(false, pool), merkleFunc(pool)];
  return `;; Generated by host/work/kernel/sha256d-wat.ts (scripts/build-kernel.ts). Do not edit: edit the generator.
;; Double SHA-256 of 80-byte block headers from a midstate: scan (i32x4, 4 nonces per pass), hash4, hash1;
;; merkle (the merkle branch fold).
(module
  (memory (export "memory") 1)
${funcs.join('\n')}
${pool.segment()}
)
`;
}
