/**
 * `asicd selfcheck`: proves the hashing engine right on this machine with public facts (Bitcoin's
 * genesis header and the slush/braiins example share) and measures header checks per second.
 */

import {
  buildTemplate,
  checkNonce,
  digestToDisplayHex,
  HeaderHasher,
  hexToBytes,
  makeWork,
  midstate,
} from '../work/index.ts';
import { headerKernel, jsKernel } from '../work/kernel/index.ts';

export const summary = 'check the hashing engine against public blocks and measure it';
export const usage =
  'asicd selfcheck\n\nHashes the genesis block and a known pool share and measures header checks per second.';

// Bitcoin genesis block header (bitcoin/bitcoin chainparams.cpp) and its hash.
const GENESIS =
  '0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c';
const GENESIS_HASH = '000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f';

export async function run(): Promise<number> {
  let ok = true;
  const say = (pass: boolean, what: string) => {
    ok &&= pass;
    console.log(`${pass ? 'ok  ' : 'FAIL'} ${what}`);
  };
  const genesis = new HeaderHasher(hexToBytes('header', GENESIS, 80));
  say(
    digestToDisplayHex(genesis.hash(2083236893)) === GENESIS_HASH,
    'genesis block header hashes to 000000000019d668…',
  );

  // slush/braiins Stratum V1 documentation, "real-world example" (testnet3 block 000000002076870f…).
  const tpl = buildTemplate(
    {
      jobId: 'bf',
      prevhash: '4d16b6f85af6e2198f44ae2a6de67f78487ae5611b77c6c0440b921e00000000',
      coinb1:
        '01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff20020862062f503253482f04b8864e5008',
      coinb2:
        '072f736c7573682f000000000100f2052a010000001976a914d23fcdf86f7e756a64a7a9688ef9903327048ed988ac00000000',
      merkleBranch: [],
      version: '00000002',
      nbits: '1c2ac4af',
      ntime: '504e86b9',
      cleanJobs: false,
    },
    { extranonce1: '08000002', extranonce2Size: 4 },
  );
  const r = checkNonce(makeWork(tpl, '00000001'), 0xb2957c02, { ntime: 0x504e86ed });
  say(
    r.kind === 'block' && r.hashHex.startsWith('000000002076870f'),
    'slush example share rebuilds to testnet3 block 000000002076870f…',
  );

  // The kernel this process uses (chosen on the first hash above), cross-checked against the
  // JavaScript kernel on a nonce range around the genesis nonce.
  const k = headerKernel();
  console.log(`     hashing kernel: ${k.reason}`);
  // How bin/asicd.js loads the TypeScript sources (Node's type stripping, bin/ts-mirror.mjs, bin/ts-hooks.mjs or tsx).
  const loader = (globalThis as { __asicdLoader?: string }).__asicdLoader;
  if (loader) console.log(`     TypeScript loader: ${loader}`);
  const g = hexToBytes('header', GENESIS, 80);
  const dv = new DataView(g.buffer, g.byteOffset, 80);
  const mid = midstate(g);
  const [t0w, t1w, t2w] = [dv.getUint32(64), dv.getUint32(68), dv.getUint32(72)];
  const found = new Uint32Array(4);
  const jsFound = new Uint32Array(4);
  const start = 2083236893 - 5000;
  const n1 = k.scan(mid, t0w, t1w, t2w, start, 10_001, 0, found);
  const n2 = jsKernel.scan(mid, t0w, t1w, t2w, start, 10_001, 0, jsFound);
  say(
    n1 === 1 && found[0] === 2083236893 && n2 === 1 && jsFound[0] === 2083236893,
    `${k.name} nonce scan finds the genesis nonce (as the JavaScript kernel does)`,
  );

  const hits = new Uint32Array(16);
  const timeScan = (ms: number) => {
    let scanned = 0;
    const s0 = performance.now();
    while (performance.now() - s0 < ms) {
      k.scan(mid, t0w, t1w, t2w, scanned, 50_000, 0, hits);
      scanned += 50_000;
    }
    return scanned / ((performance.now() - s0) / 1000);
  };
  timeScan(200); // warm-up: WebAssembly tiers up to its optimising compiler after the first calls
  const scanRate = timeScan(500);
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < 500) for (let i = 0; i < 10_000; i++) genesis.hash(n++);
  const rate = n / ((performance.now() - t0) / 1000);
  const fmt = (r: number) => Math.round(r).toLocaleString('en-US');
  console.log(`     ${fmt(scanRate)} header checks/s on one core (${k.name} nonce scan)`);
  console.log(`     ${fmt(rate)} header checks/s on one core (one header at a time, the host's nonce check)`);
  console.log(ok ? 'selfcheck passed' : 'selfcheck FAILED');
  return ok ? 0 : 1;
}
