/** The Bitcoin P2P codec: framing, checksums, every message both ways, BIP 152 short ids, bad input. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseBlock, parseHeader, wtxid } from '../../host/bitcoin/block.ts';
import { BitcoinCodecError, hex, unhex } from '../../host/bitcoin/bytes.ts';
import {
  compactBlockOf,
  decodeCmpctBlock,
  decodeMessage,
  encodeBlock,
  encodeCmpctBlock,
  encodeFrame,
  encodeGetHeaders,
  encodeHeaders,
  encodeInv,
  encodePing,
  encodeSendCmpct,
  encodeVersion,
  FrameDecoder,
  INV,
  ipv4Addr,
  MAGIC,
  P2PError,
  shortId,
  shortIdKeys,
} from '../../host/p2p/codec.ts';
import { bitcoinjsBlock, p2pCapture } from '../helpers/public-vectors.ts';

const genesisRaw = () => unhex(bitcoinjsBlock('Genesis Block').hex);

describe('P2P framing', () => {
  it('encodes the verack frame a Bitcoin Core 23.0 node sent, byte for byte', () => {
    const v = p2pCapture('verack-core-23.0');
    assert.equal(hex(encodeFrame(MAGIC.mainnet, 'verack')), v.frame);
    const d = new FrameDecoder(MAGIC.mainnet);
    const frames = d.push(unhex(v.frame));
    assert.deepEqual(
      frames.map((f) => f.command),
      ['verack'],
    );
    assert.deepEqual(decodeMessage(frames[0]!), { command: 'verack' });
  });
  it('reassembles frames split at every byte and several per chunk', () => {
    const bytes = Uint8Array.from([
      ...encodeFrame(MAGIC.regtest, 'ping', encodePing(42n)),
      ...encodeFrame(MAGIC.regtest, 'block', genesisRaw()),
      ...encodeFrame(MAGIC.regtest, 'sendheaders'),
    ]);
    for (const step of [1, 7, 24, 300, bytes.length]) {
      const d = new FrameDecoder(MAGIC.regtest);
      const got: string[] = [];
      for (let i = 0; i < bytes.length; i += step)
        for (const f of d.push(bytes.subarray(i, i + step))) got.push(f.command);
      assert.deepEqual(got, ['ping', 'block', 'sendheaders'], `step ${step}`);
      assert.equal(d.buffered, 0);
    }
  });
  it('refuses a wrong magic, a bad checksum, an oversize length and a garbled command', () => {
    const f = encodeFrame(MAGIC.mainnet, 'ping', encodePing(1n));
    assert.throws(
      () => new FrameDecoder(MAGIC.regtest).push(f),
      (e: Error) => e instanceof P2PError && /magic f9beb4d9/.test(e.message),
    );
    const bad = Uint8Array.from(f);
    bad[bad.length - 1]! ^= 1;
    assert.throws(() => new FrameDecoder(MAGIC.mainnet).push(bad), /ping: checksum mismatch/);
    const big = Uint8Array.from(f);
    new DataView(big.buffer).setUint32(16, 50_000_000, true);
    assert.throws(() => new FrameDecoder(MAGIC.mainnet).push(big.subarray(0, 24)), /exceeds/);
    const cmd = Uint8Array.from(f);
    cmd[9] = 0x41; // a byte after the NUL padding ("ping\0A…")
    assert.throws(() => new FrameDecoder(MAGIC.mainnet).push(cmd), /after its NUL padding/);
    assert.throws(() => encodeFrame(MAGIC.mainnet, 'waytoolongcommand'), /bad command/);
  });
});

describe('P2P messages', () => {
  it('version round trip (with and without the relay byte)', () => {
    const m = {
      version: 70016,
      services: 9n,
      timestamp: 1_700_000_000n,
      recv: ipv4Addr('127.0.0.1', 18444),
      from: ipv4Addr('0.0.0.0', 0),
      nonce: 0x1122334455667788n,
      userAgent: '/asicd:0.1.0/',
      startHeight: 101,
      relay: false,
    };
    const p = encodeVersion(m);
    assert.equal(p.length, 4 + 8 + 8 + 26 + 26 + 8 + 1 + 13 + 4 + 1);
    assert.equal(hex(p.subarray(0, 4)), '80110100');
    const d = decodeMessage({ magic: 0, command: 'version', payload: p });
    assert.deepEqual(d, { command: 'version', msg: m });
    const noRelay = decodeMessage({ magic: 0, command: 'version', payload: p.subarray(0, p.length - 1) });
    assert.equal(noRelay.command === 'version' && noRelay.msg.relay, true);
    assert.throws(
      () => decodeMessage({ magic: 0, command: 'version', payload: p.subarray(0, 50) }),
      BitcoinCodecError,
    );
  });
  it('sendcmpct, ping/pong, inv, headers, getheaders', () => {
    assert.equal(hex(encodeSendCmpct({ announce: true, version: 2n })), '010200000000000000');
    assert.deepEqual(
      decodeMessage({ magic: 0, command: 'sendcmpct', payload: unhex('000100000000000000') }),
      { command: 'sendcmpct', msg: { announce: false, version: 1n } },
    );
    assert.throws(
      () => decodeMessage({ magic: 0, command: 'sendcmpct', payload: unhex('020100000000000000') }),
      /announce/,
    );
    assert.deepEqual(decodeMessage({ magic: 0, command: 'pong', payload: encodePing(7n) }), {
      command: 'pong',
      nonce: 7n,
    });
    const hash = new Uint8Array(32).fill(0xab);
    const inv = encodeInv([{ type: INV.BLOCK, hash }]);
    assert.equal(hex(inv), `0102000000${'ab'.repeat(32)}`);
    assert.deepEqual(decodeMessage({ magic: 0, command: 'inv', payload: inv }), {
      command: 'inv',
      items: [{ type: 2, hash }],
    });
    assert.throws(
      () => decodeMessage({ magic: 0, command: 'inv', payload: unhex('fe00000100') }),
      /exceeds 50000/,
    );
    const genesis = parseBlock(genesisRaw()).header;
    const h = encodeHeaders([genesis, genesis]);
    assert.equal(h.length, 1 + 2 * 81);
    const dh = decodeMessage({ magic: 0, command: 'headers', payload: h });
    assert.ok(dh.command === 'headers' && dh.headers.length === 2 && dh.headers[1]!.nonce === 2083236893);
    const withTx = Uint8Array.from(h);
    withTx[81] = 1;
    assert.throws(() => decodeMessage({ magic: 0, command: 'headers', payload: withTx }), /txn_count/);
    const gh = encodeGetHeaders({ version: 70016, locator: [hash], stop: new Uint8Array(32) });
    const dgh = decodeMessage({ magic: 0, command: 'getheaders', payload: gh });
    assert.ok(dgh.command === 'getheaders' && dgh.msg.locator.length === 1);
    assert.throws(
      () => decodeMessage({ magic: 0, command: 'verack', payload: Uint8Array.of(1) }),
      /empty payload/,
    );
    assert.deepEqual(
      decodeMessage({ magic: 0, command: 'addrv2', payload: Uint8Array.of(0) }).command,
      'other',
    );
  });
  it('block round trip is byte-exact (genesis)', () => {
    const raw = genesisRaw();
    const m = decodeMessage({ magic: 0, command: 'block', payload: raw });
    assert.ok(m.command === 'block');
    assert.equal(hex(encodeBlock(m.block)), hex(raw));
  });
});

describe('BIP 152 compact blocks', () => {
  // SipHash-2-4 against all 64 reference vectors: test/bitcoin/public-vectors.test.ts.
  it('short ids: keys from SHA256(header ‖ nonce), low 48 bits of SipHash(wtxid); cmpctblock round trip', () => {
    const g = parseBlock(genesisRaw());
    const other = { ...g.txs[0]!, locktime: 1 };
    const block = { header: g.header, txs: [g.txs[0]!, other] };
    const cb = compactBlockOf(block, 0xdeadbeefn, wtxid);
    const keys = shortIdKeys(g.header, 0xdeadbeefn);
    const sid = shortId(keys, wtxid(other));
    assert.ok(sid < 2 ** 48);
    assert.deepEqual(cb.shortIds, [sid]);
    const p = encodeCmpctBlock(cb);
    assert.equal(p.length, 80 + 8 + 1 + 6 + 1 + 1 + (genesisRaw().length - 81));
    const d = decodeCmpctBlock(p);
    assert.deepEqual(d.header, g.header);
    assert.deepEqual(d.shortIds, [sid]);
    assert.equal(d.prefilled[0]!.index, 0);
    assert.deepEqual(parseHeader(p.subarray(0, 80)), g.header);
    assert.throws(() => decodeCmpctBlock(p.subarray(0, p.length - 3)), BitcoinCodecError);
    // Differential indexes: 0 then 2 are written as 0, 1.
    const two = encodeCmpctBlock({
      ...cb,
      shortIds: [1],
      prefilled: [
        { index: 0, tx: g.txs[0]! },
        { index: 2, tx: other },
      ],
    });
    assert.deepEqual(
      decodeCmpctBlock(two).prefilled.map((x) => x.index),
      [0, 2],
    );
  });
});
