/** Addresses, blocks, BIP 34 and BIP 141 against published vectors (test/fixtures/vectors/bitcoin.json). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ripemd160 } from '@noble/hashes/legacy.js';
import { sha256 } from '@noble/hashes/sha2.js';
import {
  AddressError,
  base58checkDecode,
  base58checkEncode,
  decodeAddress,
  encodeSegwitAddress,
  NETWORKS,
  networkOfChain,
  payoutScript,
} from '../../host/bitcoin/address.ts';
import {
  bip34Height,
  findWitnessCommitment,
  headerHashDisplay,
  merkleBranches,
  merkleRootOf,
  parseBlock,
  parseHeader,
  readBip34Height,
  serializeHeader,
  serializeTx,
  type Tx,
  txid,
  witnessCommitment,
  witnessCommitmentScript,
  wtxid,
} from '../../host/bitcoin/block.ts';
import { BitcoinCodecError, hashToDisplay, hex, unhex } from '../../host/bitcoin/bytes.ts';
import { sha256d } from '../../host/work/sha256.ts';
import { merkleRoot as stratumFold } from '../../host/work/template.ts';
import { bitcoinjsBlock } from '../helpers/public-vectors.ts';
import { vector } from '../helpers/vectors.ts';

type Cases<T> = { cases: T[] };

describe('addresses', () => {
  // BIP 173/350 valid and invalid addresses, from the BIPs' own text: public-vectors.test.ts.
  it('base58check P2PKH from public keys (hash160 recomputed) and back', () => {
    const v = vector<Cases<{ address: string; pubkey: string; script: string }>>('bitcoin', 'base58-p2pkh');
    for (const c of v.cases) {
      const h160 = ripemd160(sha256(unhex(c.pubkey)));
      assert.equal(base58checkEncode(0, h160), c.address);
      const d = decodeAddress(c.address);
      assert.equal(d.type, 'p2pkh');
      assert.equal(hex(d.scriptPubKey), c.script);
      assert.deepEqual(d.networks, ['mainnet']);
    }
    // A one-character typo breaks the checksum.
    assert.throws(() => decodeAddress('1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb'), /checksum/);
    assert.throws(() => base58checkDecode('1A1zP1eP5QGefi2DMPTfTL5SLmv7Divf0a'), /base58 character "0"/);
  });
  it('P2SH and testnet/regtest prefixes; payout scripts checked against the node network', () => {
    const h = unhex('751e76e8199196d454941c45d1b3a323f1433bd6');
    const p2sh = base58checkEncode(0x05, h);
    assert.equal(p2sh[0], '3');
    assert.equal(hex(decodeAddress(p2sh).scriptPubKey), 'a914751e76e8199196d454941c45d1b3a323f1433bd687');
    const tP2pkh = base58checkEncode(0x6f, h);
    assert.match(tP2pkh, /^[mn]/);
    assert.deepEqual(decodeAddress(tP2pkh).networks, ['testnet', 'signet', 'regtest']);
    assert.equal(base58checkEncode(0xc4, h)[0], '2');
    const rt = encodeSegwitAddress('bcrt', 0, h);
    assert.equal(rt, 'bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080');
    assert.equal(
      hex(payoutScript(rt, 'regtest').scriptPubKey),
      '0014751e76e8199196d454941c45d1b3a323f1433bd6',
    );
    const rtTr = encodeSegwitAddress('bcrt', 1, new Uint8Array(32).fill(7));
    assert.equal(payoutScript(rtTr, 'regtest').type, 'p2tr');
    assert.throws(() => payoutScript(rt, 'mainnet'), /regtest address, but the node is on mainnet/);
    assert.throws(
      () => payoutScript('bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0', 'signet'),
      /mainnet address/,
    );
    assert.throws(() => payoutScript('BC1SW50QGDZ25J', 'mainnet'), /witness v16.*no wallet can spend/);
    assert.throws(() => payoutScript('', 'mainnet'), /empty/);
    assert.throws(() => payoutScript('hello world', 'mainnet'), AddressError);
    for (const n of NETWORKS) assert.ok(typeof n === 'string');
    assert.equal(networkOfChain('main'), 'mainnet');
    assert.equal(networkOfChain('regtest'), 'regtest');
    assert.throws(() => networkOfChain('nope'), /unknown chain/);
  });
});

describe('blocks and transactions', () => {
  it('parses the genesis block: header hash, coinbase txid = merkle root, byte-exact re-serialization', () => {
    const v = bitcoinjsBlock('Genesis Block');
    const b = parseBlock(unhex(v.hex));
    assert.equal(headerHashDisplay(b.header), v.id);
    assert.equal(b.txs.length, 1);
    assert.equal(hex(txid(b.txs[0]!)), v.merkleRoot);
    assert.equal(hex(merkleRootOf([txid(b.txs[0]!)])), v.merkleRoot);
    assert.equal(
      hashToDisplay(txid(b.txs[0]!)),
      '4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b',
    );
    assert.equal(b.txs[0]!.outputs[0]!.value, 5_000_000_000n);
    assert.equal(`${hex(serializeHeader(b.header))}01${hex(serializeTx(b.txs[0]!))}`, v.hex);
  });
  it('parses block 125552 header fields and hash', () => {
    const v = vector<{
      header: string;
      expected_hash: string;
      prev_hash: string;
      time: number;
      bits: string;
      nonce: number;
    }>('bitcoin', 'block-125552-header');
    // The same header as the Bitcoin Wiki example copied into stratum-v1.json (from /work/shared).
    assert.equal(v.header, vector<{ header: string }>('stratum-v1', 'bitcoin-block-125552').header);
    const h = parseHeader(unhex(v.header));
    assert.equal(headerHashDisplay(h), v.expected_hash);
    assert.equal(hashToDisplay(h.prevHash), v.prev_hash);
    assert.equal(h.time, v.time);
    assert.equal(h.bits, Number.parseInt(v.bits, 16));
    assert.equal(h.nonce, v.nonce);
    assert.equal(hex(serializeHeader(h)), v.header);
    assert.throws(() => parseHeader(unhex(v.header).subarray(0, 79)), BitcoinCodecError);
    assert.throws(() => parseBlock(unhex(`${v.header}05`)), /needs/);
  });
  it('BIP 34 heights as CScript() << height, and read back', () => {
    const v = vector<Cases<{ height: number; push: string }>>('bitcoin', 'bip34-heights');
    for (const c of v.cases) {
      assert.equal(hex(bip34Height(c.height)), c.push, `height ${c.height}`);
      assert.equal(readBip34Height(unhex(`${c.push}0badc0de`)), c.height);
    }
  });
  it('segwit transaction: BIP 144 serialization, txid ≠ wtxid, commitment and its output', () => {
    const tx: Tx = {
      version: 2,
      inputs: [
        {
          prevTxid: new Uint8Array(32).fill(1),
          prevIndex: 3,
          scriptSig: new Uint8Array(0),
          sequence: 0xfffffffd,
          witness: [Uint8Array.of(1, 2, 3), new Uint8Array(33).fill(2)],
        },
      ],
      outputs: [{ value: 12_345n, scriptPubKey: unhex('0014751e76e8199196d454941c45d1b3a323f1433bd6') }],
      locktime: 7,
    };
    const full = serializeTx(tx);
    assert.equal(hex(full.subarray(4, 6)), '0001', 'marker and flag');
    assert.notEqual(hex(txid(tx)), hex(wtxid(tx)));
    assert.equal(hex(txid(tx)), hex(sha256d(serializeTx(tx, false))));
    // The commitment (independent formula): dSHA256(dSHA256(0^32 ‖ wtxid) ‖ 0^32).
    const c = witnessCommitment([wtxid(tx)]);
    const manual = sha256d(
      Uint8Array.from([
        ...sha256d(Uint8Array.from([...new Uint8Array(32), ...wtxid(tx)])),
        ...new Uint8Array(32),
      ]),
    );
    assert.equal(hex(c), hex(manual));
    const script = witnessCommitmentScript(c);
    assert.equal(hex(script).slice(0, 12), '6a24aa21a9ed');
    const cb: Tx = {
      version: 1,
      inputs: [],
      outputs: [
        { value: 0n, scriptPubKey: script },
        { value: 1n, scriptPubKey: unhex('51') },
      ],
      locktime: 0,
    };
    assert.equal(findWitnessCommitment(cb), 0);
  });
  it('Stratum merkle branches fold to the full merkle root for 0..9 transactions', () => {
    for (let n = 0; n < 10; n++) {
      const leaves = Array.from({ length: n + 1 }, (_, i) => sha256d(Uint8Array.of(i, n)));
      const branches = merkleBranches(leaves.slice(1));
      assert.equal(
        hex(stratumFold(leaves[0]!, branches)),
        hex(merkleRootOf(leaves)),
        `${n + 1} transactions`,
      );
    }
  });
});
