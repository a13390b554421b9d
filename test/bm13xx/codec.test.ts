import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  chainInactiveFrame,
  chipIndexFromNonce,
  commandFrame,
  decodeReply,
  encodeJob,
  encodeNonceReply,
  encodeRegisterReply,
  type JobInput,
  ResponseDecoder,
  readRegisterAllFrame,
  setAddressFrame,
  writeRegisterAllFrame,
  writeRegisterFrame,
} from '../../drivers/bm13xx/codec.ts';
import { crc5, crc16False } from '../../drivers/bm13xx/crc.ts';
import { MODELS } from '../../drivers/bm13xx/models.ts';
import { vector } from '../helpers/vectors.ts';
import { buildHeader, hex, midstate, swapWords, unhex } from './sha256-state.ts';

interface FramesVector {
  frames: Array<{ name: string; hex: string; header: string }>;
}

/** Rebuilds a vector frame through the matching semantic builder. */
function rebuild(bytes: Uint8Array): Uint8Array {
  const d = bytes.subarray(4, bytes.length - 1);
  const v = ((d[2]! << 24) | (d[3]! << 16) | (d[4]! << 8) | d[5]!) >>> 0;
  switch (bytes[2]) {
    case 0x40:
      return setAddressFrame(d[0]!);
    case 0x41:
      return writeRegisterFrame(d[0]!, d[1]!, v);
    case 0x51:
      return writeRegisterAllFrame(d[1]!, v);
    case 0x52:
      return readRegisterAllFrame(d[1]!);
    case 0x53:
      return chainInactiveFrame();
    default:
      throw new Error(`unexpected header ${bytes[2]}`);
  }
}

describe('bm13xx CRCs', () => {
  it('CRC16/CCITT-FALSE check value', () => {
    const v = vector<{ input_ascii: string; expected: string }>('bm13xx', 'crc16-ccitt-false-check');
    assert.equal(crc16False(new TextEncoder().encode(v.input_ascii)), Number(v.expected));
  });

  for (const id of ['bm1366-hardcoded-command-frames', 'chain-inactive-and-set-address-0']) {
    for (const f of vector<FramesVector>('bm13xx', id).frames) {
      it(`command frame: ${f.name}`, () => {
        const bytes = unhex(f.hex);
        assert.equal(bytes[2], Number(f.header));
        assert.equal(bytes[3], bytes.length - 2, 'LEN counts bytes after the preamble');
        assert.equal(crc5(bytes, 2, bytes.length - 1), bytes[bytes.length - 1]);
        assert.equal(hex(commandFrame(bytes[2]!, bytes.subarray(4, bytes.length - 1))), f.hex.toLowerCase());
        assert.equal(hex(rebuild(bytes)), f.hex.toLowerCase());
      });
    }
  }

  it('frames quoted in ESP-Miner bm1370.c comments', () => {
    // ESP-Miner components/asic/bm1370.c comments (public): write all 0x18 and write chip 0 0xA8.
    assert.equal(hex(writeRegisterAllFrame(0x18, 0xf000c100)), '55aa51090018f000c10004');
    assert.equal(hex(writeRegisterFrame(0, 0xa8, 0x000701f0)), '55aa410900a8000701f015');
  });
});

describe('bm13xx job frames', () => {
  const v = vector<{
    frame_hex: string;
    expected_crc16: string;
    inputs: Record<string, string | number>;
  }>('bm13xx', 'bm1397-job-frame-verifier');
  const inp = v.inputs;
  const prevHash = swapWords(unhex(String(inp.prev_block_hash)));
  const merkleRoot = unhex(String(inp.merkle_root));
  const version = Number.parseInt(String(inp.version), 16);
  const nbits = Number.parseInt(String(inp.nbits), 16);
  const ntime = Number.parseInt(String(inp.ntime), 16);
  const header = buildHeader(version, prevHash, merkleRoot, ntime, nbits, 0);

  it('midstate computed independently matches the ESP vector', () => {
    const m = vector<{ expected_midstate_be: string }>('stratum-v1', 'esp-bm-job-midstate');
    const s = midstate(header);
    assert.equal(Array.from(s, (w) => w.toString(16).padStart(8, '0')).join(''), m.expected_midstate_be);
  });

  it('BM1397 job frame from its inputs equals the captured frame (incl. CRC16)', () => {
    const job: JobInput = {
      jobId: Number(inp.job_id),
      version,
      nbits,
      ntime,
      startingNonce: Number(inp.starting_nonce),
      merkleRoot,
      prevHash,
      midstates: [midstate(header), new Uint32Array(8), new Uint32Array(8), new Uint32Array(8)],
    };
    const f = encodeJob(MODELS.BM1397, job);
    assert.equal(f.length, 152);
    assert.equal(hex(f), v.frame_hex.toLowerCase());
    assert.equal((f[150]! << 8) | f[151]!, Number(v.expected_crc16));
  });

  it('BM1397 midstate slots carry the rolled midstates as the vector gives them', () => {
    const base = vector<{ expected_job_field: string }>('stratum-v1', 'esp-bm-job-midstate');
    const rolled = vector<{ rolled: Array<{ version: string; job_field: string }> }>(
      'stratum-v1',
      'esp-bm-job-midstate-rolled-1fffe000',
    ).rolled;
    const mids = [version, ...rolled.slice(0, 3).map((r) => Number.parseInt(r.version, 16))].map((ver) =>
      midstate(buildHeader(ver, prevHash, merkleRoot, ntime, nbits, 0)),
    );
    const f = encodeJob(MODELS.BM1397, {
      jobId: 8,
      version,
      nbits,
      ntime,
      startingNonce: 0,
      merkleRoot,
      prevHash,
      midstates: mids,
    });
    assert.equal(f[5], 4);
    assert.equal(hex(f.subarray(22, 54)), base.expected_job_field);
    for (let k = 0; k < 3; k++) assert.equal(hex(f.subarray(54 + 32 * k, 86 + 32 * k)), rolled[k]!.job_field);
    // One midstate: num_midstates 1, slots 1..3 zero, still 152 bytes.
    const one = encodeJob(MODELS.BM1397, {
      jobId: 8,
      version,
      nbits,
      ntime,
      startingNonce: 0,
      merkleRoot,
      prevHash,
      midstates: mids.slice(0, 1),
    });
    assert.equal(one[5], 1);
    assert.ok(one.subarray(54, 150).every((b) => b === 0));
    assert.equal(crc16False(one, 2, 152), 0, 'CRC16 appended big-endian makes the residue zero');
  });

  for (const model of ['BM1366', 'BM1368', 'BM1370'] as const) {
    it(`${model} full-header job: layout, word-reversed merkle/prevhash, rebuilt header hashes right`, () => {
      // Block 125552 (Bitcoin Wiki worked example): header fields → job → header as the chip builds it.
      const blk = vector<{ header: string; expected_hash: string }>('stratum-v1', 'bitcoin-block-125552');
      const h = unhex(blk.header);
      const dv = new DataView(h.buffer);
      const job: JobInput = {
        jobId: 24,
        version: dv.getUint32(0, true),
        prevHash: h.slice(4, 36),
        merkleRoot: h.slice(36, 68),
        ntime: dv.getUint32(68, true),
        nbits: dv.getUint32(72, true),
        startingNonce: 0,
      };
      const f = encodeJob(MODELS[model], job);
      assert.equal(f.length, 88);
      assert.deepEqual([...f.subarray(0, 6)], [0x55, 0xaa, 0x21, 0x56, 24, 0x01]);
      assert.deepEqual([...f.subarray(10, 14)], [...h.subarray(72, 76)], 'nbits LE');
      assert.deepEqual([...f.subarray(14, 18)], [...h.subarray(68, 72)], 'ntime LE');
      assert.deepEqual([...f.subarray(18, 22)], [...h.subarray(64, 68)], 'merkle word 7 first');
      assert.deepEqual([...f.subarray(46, 50)], [...h.subarray(36, 40)], 'merkle word 0 last');
      assert.deepEqual([...f.subarray(50, 54)], [...h.subarray(32, 36)], 'prevhash word 7 first');
      assert.deepEqual([...f.subarray(82, 86)], [...h.subarray(0, 4)], 'version LE');
      assert.equal(crc16False(f, 2, 88), 0);
      // Rebuild the header from the wire fields like a chip would and check the known block hash.
      const rebuilt = new Uint8Array(80);
      rebuilt.set(f.subarray(82, 86), 0);
      for (let w = 0; w < 8; w++) {
        rebuilt.set(f.subarray(50 + 4 * w, 54 + 4 * w), 4 + 4 * (7 - w));
        rebuilt.set(f.subarray(18 + 4 * w, 22 + 4 * w), 36 + 4 * (7 - w));
      }
      rebuilt.set(f.subarray(14, 18), 68);
      rebuilt.set(f.subarray(10, 14), 72);
      rebuilt.set(h.subarray(76, 80), 76);
      const d = createHash('sha256').update(createHash('sha256').update(rebuilt).digest()).digest();
      assert.equal(hex(d.reverse()), blk.expected_hash);
    });
  }

  it('rejects bad job input naming the field', () => {
    const base = {
      jobId: 0,
      version: 0,
      nbits: 0,
      ntime: 0,
      startingNonce: 0,
      merkleRoot: new Uint8Array(32),
      prevHash: new Uint8Array(32),
    };
    assert.throws(() => encodeJob(MODELS.BM1370, { ...base, jobId: 128 }), /jobId/);
    assert.throws(() => encodeJob(MODELS.BM1370, { ...base, merkleRoot: new Uint8Array(31) }), /merkleRoot/);
    assert.throws(
      () => encodeJob(MODELS.BM1397, { ...base, midstates: [new Uint32Array(8), new Uint32Array(8)] }),
      /midstates/,
    );
    assert.throws(() => encodeJob(MODELS.BM1370, { ...base, version: -1 }), /version/);
  });

  it('reuses a caller buffer', () => {
    const buf = new Uint8Array(200);
    const job = {
      jobId: 8,
      version: 0x20000000,
      nbits: 1,
      ntime: 2,
      startingNonce: 0,
      merkleRoot: new Uint8Array(32),
      prevHash: new Uint8Array(32),
    };
    const f = encodeJob(MODELS.BM1366, job, buf);
    assert.equal(f.buffer, buf.buffer);
    assert.deepEqual([...f], [...encodeJob(MODELS.BM1366, job)]);
  });
});

describe('bm13xx replies', () => {
  for (const [id, model] of [
    ['bm1397-chip-id-reply', MODELS.BM1397],
    ['bm1368-chip-id-reply', MODELS.BM1368],
  ] as const) {
    it(`decodes and re-encodes ${id}`, () => {
      const v = vector<{ hex: string; length: number; is_job: boolean; fields: Record<string, string> }>(
        'bm13xx',
        id,
      );
      const bytes = unhex(v.hex);
      assert.equal(bytes.length, v.length);
      const r = decodeReply(model, bytes);
      assert.ok(r);
      assert.equal(r.kind, v.is_job ? 'nonce' : 'register');
      assert.equal(r.value, Number(v.fields.value));
      assert.equal(r.value >>> 16, Number(v.fields.chip_id));
      assert.equal((r.value >>> 8) & 0xff, Number(v.fields.core_num));
      assert.equal(r.chipAddr, Number(v.fields.byte6));
      assert.equal(r.register, Number(v.fields.byte7));
      assert.equal(hex(encodeRegisterReply(model, r.value, r.chipAddr, r.register)), v.hex.toLowerCase());
      // Any single flipped bit makes it invalid.
      for (let i = 2; i < bytes.length; i++) {
        const c = bytes.slice();
        c[i]! ^= 0x01;
        assert.equal(decodeReply(model, c), undefined, `bit flip at byte ${i}`);
      }
    });
  }

  it('decodes the GPTechinno BM1397 nonce doctest per ESP (job 0x60, midstate 3)', () => {
    // GPTechinno/bm1397-protocol src/response.rs doctest frame AA55 97C328B6 01 63 9C.
    const r = decodeReply(MODELS.BM1397, unhex('AA5597C328B601639C'));
    assert.ok(r);
    assert.equal(r.kind, 'nonce');
    assert.equal(r.nonce, 0xb628c397);
    assert.equal(r.jobId, 0x60);
    assert.equal(r.subId, 3);
    assert.equal(r.versionBits, 0);
    assert.equal(hex(encodeNonceReply(MODELS.BM1397, r.nonce, r.b6, r.b7)), 'aa5597c328b601639c');
  });

  it('decodes BM1366/68/70 nonce job ids, small cores and version bits per model', () => {
    const f66 = encodeNonceReply(MODELS.BM1366, 0x12345678, 0, 0x78 | 5, 0x0003);
    const r66 = decodeReply(MODELS.BM1366, f66)!;
    assert.deepEqual(
      [r66.kind, r66.nonce, r66.jobId, r66.subId, r66.versionBits],
      ['nonce', 0x12345678, 0x78, 5, 0x6000],
    );
    assert.deepEqual([...f66.subarray(2, 6)], [0x78, 0x56, 0x34, 0x12], 'nonce LE on the wire');
    for (const m of [MODELS.BM1368, MODELS.BM1370]) {
      const jobId = 104;
      const f = encodeNonceReply(m, 1, 0, ((jobId << 1) & 0xf0) | 0xe, 0xffff);
      const r = decodeReply(m, f)!;
      assert.deepEqual([r.jobId, r.subId, r.versionBits], [jobId, 0xe, 0x1fffe000]);
    }
  });

  it('attributes nonces to chips by ESP bits 24..17 of the big-endian reading', () => {
    // Chip 2 of 4 (interval 64): bits 24..17 of BE32 = 0x80..0xBF.
    const be = (0x80 << 17) | 0x1234;
    const le = ((be & 0xff) << 24) | (((be >>> 8) & 0xff) << 16) | (((be >>> 16) & 0xff) << 8) | (be >>> 24);
    assert.equal(chipIndexFromNonce(le >>> 0, 64, 4), 2);
    assert.equal(chipIndexFromNonce(le >>> 0, 256, 1), 0);
    assert.equal(chipIndexFromNonce(0xffffffff, 85, 3), -1);
  });
});

describe('ResponseDecoder link statistics', () => {
  it('counts one resync per loss of sync, CRC errors and dropped bytes', () => {
    const m = MODELS.BM1366;
    const good = encodeRegisterReply(m, 0x13662000, 0, 0);
    const bad = good.slice();
    bad[4] = bad[4]! ^ 0x10;
    let frames = 0;
    const d = new ResponseDecoder(m, () => {
      frames++;
    });
    d.push(good);
    d.push(Uint8Array.of(1, 2, 3)); // garbage run → one resync
    d.push(good);
    d.push(bad); // CRC error → one resync (the hunt drops bytes until the next good frame)
    d.push(good);
    d.push(good);
    assert.equal(frames, 4);
    assert.equal(d.stats.resyncs, 2);
    assert.ok(d.stats.crcErrors >= 1);
    assert.equal(d.stats.garbageBytes, 3 + bad.length);
  });
});
