/**
 * The gateway's Bitcoin codecs against public vectors copied verbatim into test/fixtures/vectors/ (see
 * SOURCES.md): the test-vector sections of BIP 173 and BIP 350 (bitcoin/bips), Bitcoin Core's base58
 * vectors and real mainnet/testnet blocks as bitcoinjs-lib ships them (genesis, a segwit block with its
 * witness commitment and BIP 34 height), P2P frames captured from real nodes, and SipHash's reference
 * vectors.h (all 64).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  AddressError,
  base58Decode,
  base58Encode,
  bech32Decode,
  decodeAddress,
} from '../../host/bitcoin/address.ts';
import {
  findWitnessCommitment,
  headerHashDisplay,
  merkleRootOf,
  parseBlock,
  parseHeader,
  readBip34Height,
  serializeHeader,
  serializeTx,
  txid,
  witnessCommitment,
  wtxid,
} from '../../host/bitcoin/block.ts';
import { hex, unhex } from '../../host/bitcoin/bytes.ts';
import {
  decodeVersion,
  encodeFrame,
  encodeVersion,
  FrameDecoder,
  MAGIC,
  siphash24,
} from '../../host/p2p/codec.ts';
import { nbitsToTarget } from '../../host/work/target.ts';

const fixture = (p: string) => readFileSync(new URL(`../fixtures/vectors/${p}`, import.meta.url), 'utf8');

/** The `* <tt>…</tt>` lines of a BIP's test-vector section, grouped under the sentence before them. */
function bipLists(text: string): Map<string, Array<{ value: string; rest: string }>> {
  const out = new Map<string, Array<{ value: string; rest: string }>>();
  let heading = '';
  for (const line of text.split('\n')) {
    const m = /^\* (?:0x([0-9A-F]{2}) \+ )?<tt>([^<]*)<\/tt>(?::\s*(.*)|\s.*)?$/.exec(line);
    if (!m) {
      if (/^The following/.test(line)) heading = line;
      continue;
    }
    const value = (m[1] ? String.fromCharCode(Number.parseInt(m[1], 16)) : '') + m[2]!;
    const list = out.get(heading) ?? [];
    list.push({ value, rest: (m[3] ?? '').replace(/<\/?tt>/g, '') });
    out.set(heading, list);
  }
  return out;
}
const listUnder = (lists: ReturnType<typeof bipLists>, start: string) => {
  const k = [...lists.keys()].find((h) => h.startsWith(start));
  assert.ok(k, `section "${start}"`);
  return lists.get(k)!;
};

describe('BIP 173 / BIP 350 test vectors (bitcoin/bips, verbatim sections)', () => {
  const b173 = bipLists(fixture('bips/bip-0173-test-vectors.mediawiki'));
  const b350 = bipLists(fixture('bips/bip-0350-test-vectors.mediawiki'));

  it('valid Bech32 and Bech32m strings decode with the right constant; the invalid ones are refused', () => {
    const v32 = listUnder(b173, 'The following strings are valid Bech32');
    const v32m = listUnder(b350, 'The following strings are valid Bech32m');
    assert.equal(v32.length, 7);
    assert.equal(v32m.length, 7);
    for (const { value } of v32) assert.equal(bech32Decode(value).encoding, 'bech32', value);
    for (const { value } of v32m) assert.equal(bech32Decode(value).encoding, 'bech32m', value);
    const bad = [
      ...listUnder(b173, 'The following string are not valid Bech32'),
      ...listUnder(b350, 'The following string are not valid Bech32m'),
    ];
    assert.ok(bad.length >= 24);
    for (const { value, rest } of bad) {
      let enc: string | undefined;
      try {
        enc = bech32Decode(value).encoding;
      } catch (e) {
        assert.ok(e instanceof AddressError, `${JSON.stringify(value)}: ${e}`);
        continue;
      }
      // A string valid under the other constant is not "valid Bech32(m)" for its section.
      const section173 = listUnder(b173, 'The following string are not valid Bech32').some(
        (x) => x.value === value,
      );
      assert.notEqual(enc, section173 ? 'bech32' : 'bech32m', `${JSON.stringify(value)} (${rest}) accepted`);
    }
  });

  it('valid segwit addresses give the published scriptPubKey (BIP 350 list; v0 ones of BIP 173)', () => {
    const v350 = listUnder(b350, 'The following list gives valid segwit addresses');
    const v173 = listUnder(b173, 'The following list gives valid segwit addresses');
    assert.equal(v350.length, 8);
    // BIP 173's v1+ examples use the Bech32 constant, which BIP 350 replaced: only its v0 ones still hold.
    const v0 = v173.filter((x) => x.rest.startsWith('00'));
    assert.ok(v0.length >= 3);
    for (const { value, rest } of [...v350, ...v0])
      assert.equal(hex(decodeAddress(value).scriptPubKey), rest, value);
    for (const { value } of v173.filter((x) => !x.rest.startsWith('00')))
      assert.throws(() => decodeAddress(value), AddressError, `${value}: v1+ with a Bech32 checksum`);
  });

  it('every invalid segwit address of both BIPs is refused with an AddressError', () => {
    const bad = [
      ...listUnder(b350, 'The following list gives invalid segwit addresses'),
      ...listUnder(b173, 'The following list gives invalid segwit addresses'),
    ];
    assert.ok(bad.length >= 24);
    for (const { value, rest } of bad)
      assert.throws(() => decodeAddress(value), AddressError, `${value} should be refused (${rest})`);
  });
});

describe("Bitcoin Core's base58 vectors (as bitcoinjs-lib ships them)", () => {
  it('base58_encode_decode.json: every pair both ways', () => {
    const pairs = JSON.parse(fixture('bitcoinjs/core-base58_encode_decode.json')) as Array<[string, string]>;
    assert.ok(pairs.length >= 10);
    for (const [h, b58] of pairs) {
      assert.equal(base58Encode(unhex(h)), b58, h);
      assert.equal(hex(base58Decode(b58)), h, b58);
    }
  });

  it('base58_keys_valid.json: every P2PKH / P2SH address → its script and network', () => {
    const rows = JSON.parse(fixture('bitcoinjs/core-base58_keys_valid.json')) as Array<
      [string, string, { isPrivkey: boolean; isTestnet: boolean; addrType?: string }]
    >;
    const addrs = rows.filter((r) => !r[2].isPrivkey);
    assert.ok(addrs.length >= 10);
    for (const [addr, h160, meta] of addrs) {
      const d = decodeAddress(addr);
      const script = meta.addrType === 'pubkey' ? `76a914${h160}88ac` : `a914${h160}87`;
      assert.equal(hex(d.scriptPubKey), script, addr);
      assert.equal(d.type, meta.addrType === 'pubkey' ? 'p2pkh' : 'p2sh');
      assert.equal(d.networks.includes('mainnet'), !meta.isTestnet, addr);
    }
  });
});

interface JsBlock {
  description: string;
  hex: string;
  id: string;
  merkleRoot: string;
  prevHash: string;
  version: number;
  timestamp: number;
  bits: number;
  nonce: number;
  height?: number;
  witnessCommit?: string;
  valid: boolean;
}

describe('real blocks (bitcoinjs-lib test/fixtures/block.json)', () => {
  const fx = JSON.parse(fixture('bitcoinjs/block.json')) as {
    targets: Array<{ bits: string; expected: string }>;
    valid: JsBlock[];
    invalid: Array<{ hex: string }>;
  };

  it('headers: fields, hash, byte-exact re-serialization; a changed nonce misses the target', () => {
    for (const b of fx.valid) {
      const h = parseHeader(unhex(b.hex).subarray(0, 80));
      assert.equal(headerHashDisplay(h), b.id, b.description);
      assert.equal(hex(h.prevHash), b.prevHash);
      assert.equal(hex(h.merkleRoot), b.merkleRoot);
      assert.equal(h.version >>> 0, Number(b.version));
      assert.equal(h.time, Number(b.timestamp));
      assert.equal(h.bits, Number(b.bits));
      assert.equal(h.nonce >>> 0, Number(b.nonce));
      assert.equal(hex(serializeHeader(h)), b.hex.slice(0, 160));
      const meets = BigInt(`0x${b.id}`) <= nbitsToTarget(h.bits).target;
      assert.equal(meets, b.valid, `${b.description}: proof of work ${b.valid ? 'met' : 'missed'}`);
    }
    for (const bad of fx.invalid) assert.throws(() => parseHeader(unhex(bad.hex)), /needs|short|80/);
    for (const t of fx.targets)
      assert.equal(
        nbitsToTarget(Number.parseInt(t.bits, 16)).target.toString(16).padStart(64, '0'),
        t.expected,
      );
  });

  it('full blocks: transactions, merkle root, BIP 34 height, BIP 141 witness commitment', () => {
    const full = fx.valid.filter((b) => b.hex.length > 160 && b.description !== 'Headers + Coinbase');
    assert.ok(full.length >= 4);
    let witnessChecked = 0;
    for (const b of full) {
      const raw = unhex(b.hex);
      const blk = parseBlock(raw);
      assert.equal(hex(merkleRootOf(blk.txs.map(txid))), b.merkleRoot, `${b.description}: merkle root`);
      // Byte-exact: header ‖ count ‖ transactions as serialized (with witness where present).
      const body = blk.txs.map((t) => hex(serializeTx(t))).join('');
      assert.ok(b.hex.endsWith(body), `${b.description}: re-serialization`);
      assert.equal(b.hex.length, 160 + (b.hex.length - 160 - body.length) + body.length);
      if (b.height !== undefined && Number(b.version) >= 2)
        assert.equal(
          readBip34Height(blk.txs[0]!.inputs[0]!.scriptSig),
          Number(b.height),
          `${b.description}: BIP 34`,
        );
      if (b.witnessCommit) {
        const cb = blk.txs[0]!;
        const i = findWitnessCommitment(cb);
        assert.ok(i >= 0, 'commitment output present');
        const script = cb.outputs[i]!.scriptPubKey;
        assert.equal(hex(script.subarray(6, 38)), b.witnessCommit, 'the commitment in the coinbase');
        // Recomputed: dSHA256(witness merkle root ‖ the coinbase's reserved value), coinbase wtxid = 0.
        const reserved = cb.inputs[0]!.witness[0]!;
        assert.equal(reserved.length, 32);
        const c = witnessCommitment(blk.txs.slice(1).map(wtxid), reserved);
        assert.equal(hex(c), b.witnessCommit, 'recomputed from the wtxids');
        witnessChecked++;
      }
    }
    assert.equal(witnessChecked, 1);
  });
});

describe('P2P frames from real nodes (p2p-captures.json)', () => {
  const fx = JSON.parse(fixture('p2p-captures.json')) as {
    vectors: Array<{ id: string; frame: string; expect: Record<string, unknown> }>;
  };
  it('checksums, commands and version fields; frames and versions re-encode byte for byte', () => {
    for (const v of fx.vectors) {
      const frames = new FrameDecoder(MAGIC.mainnet).push(unhex(v.frame));
      assert.equal(frames.length, 1, v.id);
      const f = frames[0]!;
      assert.equal(f.command, v.expect.command);
      assert.equal(hex(encodeFrame(MAGIC.mainnet, f.command, f.payload)), v.frame, `${v.id}: re-framed`);
      if (f.command !== 'version') continue;
      const m = decodeVersion(f.payload);
      assert.equal(m.version, v.expect.version);
      assert.equal(m.services, BigInt(v.expect.services as string));
      assert.equal(m.timestamp, BigInt(v.expect.timestamp as number));
      assert.equal(m.userAgent, v.expect.userAgent);
      assert.equal(m.startHeight, v.expect.startHeight);
      if (v.expect.relay !== undefined) {
        assert.equal(m.relay, v.expect.relay);
        assert.equal(hex(encodeVersion(m)), hex(f.payload), `${v.id}: version re-encoded`);
      }
    }
    // One flipped payload bit: the checksum catches it.
    const core = unhex(fx.vectors.find((v) => v.id === 'version-core-23.0')!.frame);
    core[40] ^= 1;
    assert.throws(() => new FrameDecoder(MAGIC.mainnet).push(core), /checksum mismatch/);
    assert.throws(
      () => new FrameDecoder(MAGIC.testnet).push(unhex(fx.vectors[0]!.frame)),
      /wrong network magic/,
    );
  });
});

describe('SipHash-2-4 reference vectors (veorq/SipHash vectors.h, vectors_sip64)', () => {
  it('all 64: key 00..0f, message 00..(i−1)', () => {
    const text = fixture('siphash/vectors.h');
    const block = text.slice(text.indexOf('vectors_sip64'), text.indexOf('vectors_sip128'));
    const bytes = [...block.matchAll(/0x([0-9a-f]{2})/g)].map((m) => Number.parseInt(m[1]!, 16));
    assert.equal(bytes.length, 64 * 8);
    const key = Uint8Array.from({ length: 16 }, (_, i) => i);
    const dv = new DataView(key.buffer);
    const k0 = dv.getBigUint64(0, true);
    const k1 = dv.getBigUint64(8, true);
    for (let i = 0; i < 64; i++) {
      const msg = Uint8Array.from({ length: i }, (_, j) => j);
      const want = new DataView(Uint8Array.from(bytes.slice(i * 8, i * 8 + 8)).buffer).getBigUint64(0, true);
      assert.equal(siphash24(k0, k1, msg), want, `length ${i}`);
    }
  });
});
