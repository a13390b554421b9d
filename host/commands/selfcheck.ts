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
} from '../work/index.ts';

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

  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < 1000) for (let i = 0; i < 10_000; i++) genesis.hash(n++);
  const rate = n / ((performance.now() - t0) / 1000);
  console.log(`     ${Math.round(rate).toLocaleString('en-US')} header checks/s on one core (midstate path)`);
  console.log(ok ? 'selfcheck passed' : 'selfcheck FAILED');
  return ok ? 0 : 1;
}
