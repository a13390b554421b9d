/**
 * `npm run fuzz`: a million seeded inputs across the decoders that take bytes from outside the process —
 * Stratum lines (LineDecoder → parseLine → decodeServerMessage), BM13xx reply frames (ResponseDecoder),
 * the USB bridge protocols (bitaxe-raw RawReplyParser v0/v1, QAxe QFrameParser → decodeResponse /
 * decodeState) and MQTT commands (parseCommand). Valid inputs, mutations (bit flips, truncation, wrong
 * types, absurd values) and random bytes, fed in random chunk splits.
 *
 * Invariants (a violation is a failure, printed with the seed and index to replay):
 * - stream decoders never throw, whatever the bytes;
 * - known-good inputs decode (and decode to what was encoded);
 * - every BM13xx frame the decoder accepts has a good CRC5; a clean stream is decoded completely;
 * - one-message decoders either return or throw an Error with a message (never a crash);
 * - an accepted MQTT command is inside the board's limits.
 *
 *   npm run fuzz                      # 1 000 000 inputs, seed 0x5eed
 *   npm run fuzz -- --count 200000 --seed 7
 * The CI suite runs the same code with small counts (test/fuzz/decoders.test.ts).
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  encodeNonceReply,
  encodeRegisterReply,
  ResponseDecoder,
  replyValid,
} from '../drivers/bm13xx/codec.ts';
import { CHIP_MODELS, MODELS } from '../drivers/bm13xx/models.ts';
import { encodeError, encodeReply, RawReplyParser } from '../drivers/bridge/bitaxe-raw-codec.ts';
import {
  cToTempWord,
  decodeResponse,
  decodeState,
  encodeResponse,
  encodeState,
  QFrameParser,
} from '../drivers/bridge/qaxe-codec.ts';
import type { MinerLimits } from '../host/api/types.ts';
import { decodeServerMessage, LineDecoder, parseLine } from '../host/stratum/messages.ts';
import { parseCommand } from '../host/telemetry/commands.ts';

export interface FuzzReport {
  decoder: string;
  inputs: number;
  /** Inputs the decoder refused cleanly (bad line, bad CRC, error result). */
  refused: number;
  ms: number;
  failures: string[];
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Rng {
  rand: () => number;
  int(n: number): number;
  pick<T>(xs: readonly T[]): T;
  hex(n: number): string;
  bytes(n: number): Uint8Array;
}

function rng(seed: number): Rng {
  const rand = mulberry32(seed);
  const int = (n: number) => Math.floor(rand() * n);
  return {
    rand,
    int,
    pick: (xs) => xs[int(xs.length)]!,
    hex: (n) => Array.from({ length: n }, () => '0123456789abcdef'[int(16)]).join(''),
    bytes: (n) => Uint8Array.from({ length: n }, () => int(256)),
  };
}

const WEIRD: unknown[] = [
  null,
  true,
  false,
  0,
  -1,
  1e308,
  -1e308,
  Number.MAX_SAFE_INTEGER,
  0.5,
  '',
  'x',
  'zz'.repeat(32),
  [],
  {},
  [[]],
  { a: 1 },
  '\u0000',
  '😀',
  'ffffffff',
];

/** Splits `data` into random chunks and feeds them to `push`. */
function chunked<T extends { length: number; subarray?: unknown; slice: (a: number, b: number) => T }>(
  r: Rng,
  data: T,
  push: (c: T) => void,
): void {
  let i = 0;
  while (i < data.length) {
    const n = 1 + r.int(r.rand() < 0.2 ? 4 : 256);
    push(data.slice(i, i + n));
    i += n;
  }
}

function guard(report: FuzzReport, where: string, fn: () => void): void {
  try {
    fn();
  } catch (err) {
    if (report.failures.length < 20)
      report.failures.push(`${where}: threw ${(err as Error)?.stack?.split('\n').slice(0, 3).join(' | ')}`);
  }
}

// ------------------------------------------------------------------------------------------------
// Stratum

export function fuzzStratum(count: number, seed: number): FuzzReport {
  const r = rng(seed);
  const report: FuzzReport = { decoder: 'stratum lines', inputs: 0, refused: 0, ms: 0, failures: [] };
  const t0 = performance.now();
  const validNotify = () =>
    JSON.stringify({
      id: null,
      method: 'mining.notify',
      params: [
        r.hex(4),
        r.hex(64),
        r.hex(2 * (10 + r.int(50))),
        r.hex(2 * (10 + r.int(50))),
        Array.from({ length: r.int(13) }, () => r.hex(64)),
        '20000000',
        r.hex(8),
        r.hex(8),
        r.rand() < 0.5,
      ],
    });
  const valid: Array<() => string> = [
    validNotify,
    () => JSON.stringify({ id: null, method: 'mining.set_difficulty', params: [r.rand() * 1000 + 1e-9] }),
    () => JSON.stringify({ id: null, method: 'mining.set_version_mask', params: [r.hex(8)] }),
    () => JSON.stringify({ id: null, method: 'mining.set_extranonce', params: [r.hex(8), 2 + r.int(15)] }),
    () => JSON.stringify({ id: r.int(100), result: r.rand() < 0.5, error: null }),
    () => JSON.stringify({ id: r.int(100), result: null, error: [21, 'Job not found', null] }),
    () => JSON.stringify({ id: null, method: 'client.reconnect', params: ['h.example', 3333, 1] }),
    () => JSON.stringify({ id: 'v', method: 'client.get_version', params: [] }),
    () => JSON.stringify({ id: null, method: 'client.show_message', params: ['hello'] }),
  ];
  const line = (): { text: string; good: boolean } => {
    const k = r.rand();
    if (k < 0.3) return { text: r.pick(valid)(), good: true };
    if (k < 0.5) {
      const m = JSON.parse(validNotify()) as { params: unknown[] };
      m.params[r.int(9)] = r.pick(WEIRD);
      if (r.rand() < 0.1) m.params[4] = Array.from({ length: 65 + r.int(200) }, () => r.hex(64));
      return { text: JSON.stringify(m), good: false };
    }
    if (k < 0.65) {
      const s = r.pick(valid)();
      return { text: s.slice(0, 1 + r.int(s.length - 2)), good: false };
    }
    if (k < 0.8) {
      const a = [...r.pick(valid)()];
      for (let j = 0; j < 1 + r.int(4); j++) a[r.int(a.length)] = String.fromCharCode(r.int(128));
      return { text: a.join('').replace(/[\n\r]/g, ' '), good: false };
    }
    if (k < 0.9)
      return {
        text: JSON.stringify({
          id: r.pick(WEIRD),
          method: r.pick(['mining.notify', 'x', 5]),
          params: r.pick(WEIRD),
        }),
        good: false,
      };
    return {
      text: Array.from({ length: 1 + r.int(200) }, () => String.fromCharCode(r.int(256)))
        .join('')
        .replace(/[\n\r]/g, ''),
      good: false,
    };
  };
  const BATCH = 64;
  for (let done = 0; done < count; ) {
    const n = Math.min(BATCH, count - done);
    const lines = Array.from({ length: n }, line);
    const buf = Buffer.from(lines.map((l) => `${l.text}\n`).join(''), 'utf8');
    const dec = new LineDecoder();
    const got: string[] = [];
    guard(report, `stratum batch at ${done}`, () => chunked(r, buf, (c) => got.push(...dec.push(c))));
    for (const [i, text] of got.entries()) {
      guard(report, `stratum line ${done + i}`, () => {
        const p = parseLine(text);
        if (!p.ok) {
          report.refused++;
          return;
        }
        const m = p.value;
        if (m.type === 'request' || m.type === 'notification') {
          const d = decodeServerMessage(m);
          if (!d.ok) report.refused++;
        }
      });
    }
    // Known-good lines must come out of the line decoder and parse.
    for (const l of lines)
      if (l.good && !got.includes(l.text) && report.failures.length < 20)
        report.failures.push(`stratum: a valid line was lost by the line decoder: ${l.text.slice(0, 80)}`);
    for (const l of lines)
      if (l.good && !parseLine(l.text).ok && report.failures.length < 20)
        report.failures.push(`stratum: a valid line did not parse: ${l.text.slice(0, 80)}`);
    report.inputs += n;
    done += n;
  }
  report.ms = performance.now() - t0;
  return report;
}

// ------------------------------------------------------------------------------------------------
// BM13xx

export function fuzzBm13xx(count: number, seed: number): FuzzReport {
  const r = rng(seed);
  const report: FuzzReport = { decoder: 'bm13xx reply frames', inputs: 0, refused: 0, ms: 0, failures: [] };
  const t0 = performance.now();
  const models = CHIP_MODELS.map((n) => MODELS[n]);
  const FRAMES = 200;
  for (let done = 0; done < count; ) {
    const m = r.pick(models);
    const L = m.replyLength;
    const n = Math.min(FRAMES, count - done);
    const clean = r.rand() < 0.25;
    const parts: Uint8Array[] = [];
    let intact = 0;
    for (let i = 0; i < n; i++) {
      const f =
        r.rand() < 0.5
          ? encodeNonceReply(m, r.int(2 ** 32), r.int(256), r.int(256), r.int(0x10000))
          : encodeRegisterReply(m, r.int(2 ** 32), r.int(256), r.int(256));
      if (clean) {
        parts.push(f);
        intact++;
        continue;
      }
      const k = r.rand();
      if (k < 0.6) {
        parts.push(f);
        intact++;
      } else if (k < 0.75) {
        f[r.int(L)] ^= 1 + r.int(255);
        parts.push(f);
      } else if (k < 0.85) parts.push(f.subarray(0, 1 + r.int(L - 1)));
      else if (k < 0.95) parts.push(r.bytes(1 + r.int(3 * L)));
      else parts.push(Uint8Array.of(0xaa, 0x55, ...r.bytes(r.int(L))));
    }
    const stream = Buffer.concat(parts);
    let accepted = 0;
    const dec = new ResponseDecoder(m, (_reply, buf, at) => {
      accepted++;
      if (!replyValid(buf, at, L) && report.failures.length < 20)
        report.failures.push(`bm13xx ${m.model}: accepted a frame with a bad CRC at ${done}`);
    });
    guard(report, `bm13xx ${m.model} batch at ${done}`, () => chunked(r, stream, (c) => dec.push(c)));
    if (clean && accepted !== intact && report.failures.length < 20)
      report.failures.push(`bm13xx ${m.model}: clean stream of ${intact} frames decoded ${accepted}`);
    report.refused += dec.stats.crcErrors;
    report.inputs += n;
    done += n;
  }
  report.ms = performance.now() - t0;
  return report;
}

// ------------------------------------------------------------------------------------------------
// USB bridges

export function fuzzBridges(count: number, seed: number): FuzzReport {
  const r = rng(seed);
  const report: FuzzReport = {
    decoder: 'bridge frames (bitaxe-raw, QAxe)',
    inputs: 0,
    refused: 0,
    ms: 0,
    failures: [],
  };
  const t0 = performance.now();
  const FRAMES = 50;
  for (let done = 0; done < count; ) {
    const n = Math.min(FRAMES, count - done);
    const kind = r.int(3);
    const clean = r.rand() < 0.3;
    if (kind < 2) {
      // bitaxe-raw v0 or v1
      const version = kind as 0 | 1;
      const parts: Uint8Array[] = [];
      const sent: Array<{ id: number; data: number[] }> = [];
      for (let i = 0; i < n; i++) {
        const id = r.int(256);
        const data = Array.from(r.bytes(version === 0 ? 2 : r.int(40)));
        const f =
          clean || r.rand() < 0.6
            ? encodeReply(version, id, data)
            : r.rand() < 0.5
              ? encodeError(id, r.int(256), 'x'.repeat(r.int(20)))
              : r.bytes(1 + r.int(30));
        if (clean) sent.push({ id, data });
        parts.push(f);
      }
      const p = new RawReplyParser(version);
      if (version === 0) p.expect(2);
      const got: Array<{ id: number; data?: Uint8Array }> = [];
      guard(report, `bitaxe-raw v${version} batch at ${done}`, () =>
        chunked(r, Buffer.concat(parts), (c) => {
          for (const x of p.push(c)) {
            if (x.kind === 'ok') got.push(x);
            else report.refused++;
          }
        }),
      );
      if (clean) {
        const same =
          got.length === sent.length &&
          got.every(
            (g, i) => g.id === sent[i]!.id && Buffer.from(g.data ?? []).equals(Buffer.from(sent[i]!.data)),
          );
        if (!same && report.failures.length < 20)
          report.failures.push(
            `bitaxe-raw v${version}: clean stream of ${sent.length} replies decoded ${got.length} at ${done}`,
          );
      }
    } else {
      const parts: Uint8Array[] = [];
      const sent: number[] = [];
      for (let i = 0; i < n; i++) {
        const id = 1 + r.int(127);
        let f: Uint8Array =
          r.rand() < 0.5
            ? encodeResponse(
                id,
                encodeState({
                  pgood: r.rand() < 0.5,
                  temp1Word: cToTempWord(r.rand() * 100),
                  temp2Word: r.int(0x10000),
                }),
              )
            : encodeResponse(id);
        if (!clean && r.rand() < 0.4) {
          f = f.slice();
          if (f.length > 1) f[1 + r.int(f.length - 1)] ^= 1 + r.int(255);
          else f = r.bytes(1 + r.int(10));
        }
        if (clean) sent.push(id);
        parts.push(f);
      }
      const q = new QFrameParser();
      const ids: number[] = [];
      guard(report, `qaxe batch at ${done}`, () =>
        chunked(r, Buffer.concat(parts), (c) => {
          for (const body of q.push(c)) {
            try {
              const resp = decodeResponse(body);
              if (resp.kind === 'ok') {
                ids.push(resp.id);
                if (resp.data) decodeState(resp.data);
              } else report.refused++;
            } catch (err) {
              if (!(err instanceof Error) || !err.message || err instanceof TypeError) throw err;
              report.refused++;
            }
          }
        }),
      );
      if (
        clean &&
        (ids.length !== sent.length || ids.some((x, i) => x !== sent[i])) &&
        report.failures.length < 20
      )
        report.failures.push(`qaxe: clean stream of ${sent.length} replies decoded ${ids.length} at ${done}`);
    }
    report.inputs += n;
    done += n;
  }
  report.ms = performance.now() - t0;
  return report;
}

// ------------------------------------------------------------------------------------------------
// MQTT commands

const LIMITS: MinerLimits = { frequencyMhz: { min: 400, max: 625 }, fanPercent: { min: 20, max: 100 } };

export function fuzzMqttCommands(count: number, seed: number): FuzzReport {
  const r = rng(seed);
  const report: FuzzReport = { decoder: 'mqtt commands', inputs: 0, refused: 0, ms: 0, failures: [] };
  const t0 = performance.now();
  const commands = ['pause', 'resume', 'restart', 'fan', 'frequency', 'pool', 'identify', 'x', ''];
  const valid = (): Record<string, unknown> => {
    const command = r.pick(commands);
    const o: Record<string, unknown> = { id: r.pick([1, 'abc', null, undefined]), command };
    if (command === 'fan')
      Object.assign(o, r.rand() < 0.5 ? { mode: 'auto' } : { mode: 'manual', percent: r.int(140) - 20 });
    if (command === 'frequency') o.mhz = r.pick([r.int(1200) - 100, 500, Number.NaN, '500']);
    if (command === 'pool') o.index = r.pick([0, 1, 2, 5, -1, 0.5]);
    return o;
  };
  for (let i = 0; i < count; i++) {
    const k = r.rand();
    let payload: string | Uint8Array;
    if (k < 0.4) payload = JSON.stringify(valid());
    else if (k < 0.6) {
      const o = valid();
      o[r.pick(['command', 'mhz', 'percent', 'index', 'mode', 'id', '__proto__', 'constructor'])] =
        r.pick(WEIRD);
      payload = JSON.stringify(o);
    } else if (k < 0.75) {
      const s = JSON.stringify(valid());
      payload = s.slice(0, r.int(s.length));
    } else if (k < 0.85)
      payload = r.pick([
        'pause',
        'resume',
        '',
        'null',
        '[]',
        '{}',
        '"fan"',
        '1e400',
        '{"command":"fan","percent":1e400}',
      ]);
    else if (k < 0.95) payload = r.bytes(r.int(200));
    else payload = JSON.stringify({ command: 'pause', pad: 'x'.repeat(r.int(9000)) });
    guard(report, `mqtt command ${i}`, () => {
      const res = parseCommand(payload, LIMITS, 2);
      if (!res.ok) {
        report.refused++;
        if (typeof res.error !== 'string' || res.error === '') throw new Error('refusal without a reason');
        return;
      }
      const c = res.cmd as { command: string; mhz?: number; percent?: number; index?: number };
      const bad =
        (c.command === 'frequency' &&
          !(c.mhz! >= LIMITS.frequencyMhz.min && c.mhz! <= LIMITS.frequencyMhz.max)) ||
        (c.mhz !== undefined && !Number.isFinite(c.mhz)) ||
        (c.percent !== undefined && !(c.percent >= 0 && c.percent <= 100)) ||
        (c.command === 'pool' && !(Number.isInteger(c.index) && c.index! >= 0 && c.index! < 2));
      if (bad) throw new Error(`accepted out-of-limits command ${JSON.stringify(c)}`);
    });
    report.inputs++;
  }
  report.ms = performance.now() - t0;
  return report;
}

/** Runs every decoder; `total` inputs split 40 % Stratum, 30 % BM13xx, 10 % bridges, 20 % MQTT. */
export function fuzzAll(total: number, seed: number): FuzzReport[] {
  return [
    fuzzStratum(Math.round(total * 0.4), seed),
    fuzzBm13xx(Math.round(total * 0.3), seed + 1),
    fuzzBridges(Math.round(total * 0.1), seed + 2),
    fuzzMqttCommands(Math.round(total * 0.2), seed + 3),
  ];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      count: { type: 'string', default: '1000000' },
      seed: { type: 'string', default: String(0x5eed) },
    },
  });
  const total = Number(values.count);
  const seed = Number(values.seed) >>> 0;
  console.log(`fuzz: ${total.toLocaleString('en-US')} inputs, seed ${seed}`);
  const reports = fuzzAll(total, seed);
  let failed = 0;
  for (const rep of reports) {
    console.log(
      `  ${rep.decoder.padEnd(34)} ${rep.inputs.toLocaleString('en-US').padStart(10)} inputs, ${rep.refused.toLocaleString('en-US').padStart(9)} refused cleanly, ${(rep.ms / 1000).toFixed(1).padStart(6)} s, ${rep.failures.length} failures`,
    );
    for (const f of rep.failures) console.log(`    FAIL ${f}`);
    failed += rep.failures.length;
  }
  const sum = reports.reduce((a, x) => a + x.inputs, 0);
  console.log(
    failed
      ? `fuzz FAILED (${failed} failures; replay with --seed ${seed})`
      : `fuzz passed: ${sum.toLocaleString('en-US')} inputs, no crash, every invariant held`,
  );
  process.exitCode = failed ? 1 : 0;
}
