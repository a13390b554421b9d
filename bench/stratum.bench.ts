/**
 * Stratum codec benchmarks: mining.notify lines parsed and fully validated per second (LineDecoder +
 * parseLine + decodeServerMessage) against a bare JSON.parse of the same lines as the baseline, and
 * mining.submit lines encoded per second against JSON.stringify of the same request.
 */
import { decodeServerMessage, encodeSubmit, LineDecoder, parseLine } from '../host/stratum/messages.ts';
import { type BenchRow, type BenchSuite, rate } from './harness.ts';

function hex(n: number, seed: number): string {
  let s = '';
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    s += '0123456789abcdef'[(x >>> 0) & 15];
  }
  return s;
}

/** A realistic notify: 12 branches, ~110-byte coinb1, ~170-byte coinb2 (about 1.3 KB per line). */
function notifyLines(count: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    out.push(
      JSON.stringify({
        id: null,
        method: 'mining.notify',
        params: [
          i.toString(16),
          hex(64, i + 1),
          hex(220, i + 2),
          hex(340, i + 3),
          Array.from({ length: 12 }, (_, k) => hex(64, i * 13 + k + 4)),
          '20000000',
          '17034219',
          hex(8, i + 5),
          i % 10 === 0,
        ],
      }),
    );
  }
  return out;
}

const suite: BenchSuite = {
  name: 'stratum',
  async run(ctx) {
    const ms = Math.max(200, Math.round(1500 * ctx.scale));
    const lines = notifyLines(256);
    const buf = Buffer.from(lines.map((l) => `${l}\n`).join(''), 'utf8');
    let sink = 0;
    const ours = rate(() => {
      const d = new LineDecoder();
      // Chunks of 1460 bytes, like TCP segments.
      for (let off = 0; off < buf.length; off += 1460) {
        for (const line of d.push(buf.subarray(off, off + 1460))) {
          const m = parseLine(line);
          if (m.ok && m.value.type !== 'response') {
            const s = decodeServerMessage(m.value);
            if (s.ok) sink++;
          }
        }
      }
      return lines.length;
    }, ms);
    const baseline = rate(() => {
      for (const line of lines) sink += (JSON.parse(line) as { params: unknown[] }).params.length;
      return lines.length;
    }, ms);
    const share = {
      jobId: '1a2b',
      extranonce2: '0100000000000000',
      ntime: 0x6650a1b2,
      nonce: 0xdeadbeef,
      versionBits: 0x00002000,
    };
    const enc = rate(() => {
      for (let i = 0; i < 1000; i++)
        sink += encodeSubmit(i, 'bc1qexampleworkeraddress.rig1', { ...share, nonce: i }).length;
      return 1000;
    }, ms);
    const encBase = rate(() => {
      for (let i = 0; i < 1000; i++) {
        sink += JSON.stringify({
          id: i,
          method: 'mining.submit',
          params: [
            'bc1qexampleworkeraddress.rig1',
            share.jobId,
            share.extranonce2,
            '6650a1b2',
            (i >>> 0).toString(16).padStart(8, '0'),
            '00002000',
          ],
        }).length;
      }
      return 1000;
    }, ms);
    ctx.log(`stratum bench sink ${sink}`);
    const rows: BenchRow[] = [
      {
        suite: 'stratum',
        name: 'notify lines framed+parsed+validated',
        value: ours,
        unit: 'lines/s',
        baseline: { name: 'JSON.parse only', value: baseline },
        ratio: ours / baseline,
        better: 'higher',
        note: '12 merkle branches, ~1.3 KB per line, 1460-byte chunks',
      },
      {
        suite: 'stratum',
        name: 'mining.submit encode',
        value: enc,
        unit: 'lines/s',
        baseline: { name: 'JSON.stringify of the request', value: encBase },
        ratio: enc / encBase,
        better: 'higher',
      },
    ];
    return rows;
  },
};
export default suite;
