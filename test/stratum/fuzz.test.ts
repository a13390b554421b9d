/**
 * Fuzz of the Stratum line parser: ≥ 10 000 generated lines by default (ASICD_FUZZ_LINES for more),
 * from a seeded generator (ASICD_FUZZ_SEED to replay). Valid messages, mutated ones (byte flips,
 * truncation, wrong types, absurd values), random JSON and random bytes go through LineDecoder in random
 * chunk splits, then parseLine → decodeServerMessage / result parsers / classifyReject. Nothing may throw;
 * every malformed line is counted; known-good lines must parse. A smaller sample goes through the real
 * client over TCP. fast-check checks that chunking never changes the lines.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { type ClientJob, StratumClient } from '../../host/stratum/client.ts';
import {
  classifyReject,
  decodeServerMessage,
  LineDecoder,
  parseConfigureResult,
  parseLine,
  parseSubscribeResult,
} from '../../host/stratum/messages.ts';
import { ManualClock } from '../../lib/clock.ts';
import { waitFor } from '../helpers/net.ts';
import { ScriptedServer, slush } from './scripted-server.ts';

const LINES = Math.max(10_000, Number(process.env.ASICD_FUZZ_LINES ?? 0) || 0);
const SEED = Number(process.env.ASICD_FUZZ_SEED ?? 0x5eed) >>> 0;

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Gen = { line: string; expect: 'ok' | 'bad' | 'any' };

function makeGenerator(rand: () => number) {
  const int = (n: number) => Math.floor(rand() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const hex = (n: number) => Array.from({ length: n }, () => '0123456789abcdef'[int(16)]).join('');
  const weird: unknown[] = [
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
    hex(64),
    hex(8),
  ];
  const validNotify = () =>
    JSON.stringify({
      id: pick([null, undefined]),
      method: 'mining.notify',
      params: [
        hex(4),
        hex(64),
        hex(2 * (10 + int(50))),
        hex(2 * (10 + int(50))),
        Array.from({ length: int(13) }, () => hex(64)),
        hex(8),
        hex(8),
        hex(8),
        rand() < 0.5,
      ],
    });
  const valid: Array<() => string> = [
    validNotify,
    () => slush.raw_messages.notify,
    () => slush.raw_messages.subscribe_result,
    () => JSON.stringify({ id: null, method: 'mining.set_difficulty', params: [rand() * 1000 + 1e-9] }),
    () => JSON.stringify({ id: null, method: 'mining.set_version_mask', params: [hex(8)] }),
    () => JSON.stringify({ id: null, method: 'mining.set_extranonce', params: [hex(8), 2 + int(15)] }),
    () =>
      JSON.stringify({
        id: int(100),
        result: rand() < 0.5,
        error: pick([null, [21, 'Job not found', null], 'Stale', { code: 23, message: 'low' }]),
      }),
    () =>
      JSON.stringify({
        id: int(100),
        result: false,
        error: null,
        'reject-reason': pick(['Stale', 'Duplicate', 'Above target']),
      }),
    () => JSON.stringify({ jsonrpc: '2.0', id: int(9), method: 'mining.ping' }),
    () => JSON.stringify({ id: 'v', method: 'client.get_version', params: [] }),
    () =>
      JSON.stringify({
        id: null,
        method: 'client.reconnect',
        params: pick([[], ['h.example', 3333, 1], ['', '', 0]]),
      }),
  ];
  const mutateParams = (): string => {
    const m = JSON.parse(validNotify()) as { params: unknown[] };
    const i = int(9);
    m.params[i] = pick(weird);
    if (rand() < 0.1) m.params[4] = Array.from({ length: 65 + int(200) }, () => hex(64));
    return JSON.stringify({ ...m, method: 'mining.notify' });
  };
  const flip = (s: string): string => {
    const a = [...s];
    for (let k = 0; k < 1 + int(4); k++) a[int(a.length)] = String.fromCharCode(int(128));
    return a.join('').replace(/\n/g, ' ');
  };
  return (): Gen => {
    const r = rand();
    if (r < 0.3) return { line: pick(valid)(), expect: 'ok' };
    if (r < 0.5) return { line: mutateParams(), expect: 'any' };
    if (r < 0.65) {
      const s = pick(valid)();
      return { line: s.slice(0, 1 + int(s.length - 2)), expect: 'bad' }; // truncated → never valid JSON object
    }
    if (r < 0.8) return { line: flip(pick(valid)()), expect: 'any' };
    if (r < 0.9) {
      const v = pick(weird);
      return {
        line: JSON.stringify({
          id: pick(weird),
          method: pick(['mining.notify', 'mining.set_difficulty', 'x', 5]),
          params: v,
        }),
        expect: 'any',
      };
    }
    const bytes = Array.from({ length: 1 + int(200) }, () => String.fromCharCode(int(256)))
      .join('')
      .replace(/[\n\r]/g, '');
    return { line: bytes, expect: 'any' };
  };
}

describe('Stratum line parser fuzz', () => {
  it(`survives ${LINES} generated lines in random chunks, counting the malformed ones (seed ${SEED})`, (t) => {
    const rand = mulberry32(SEED);
    const gen = makeGenerator(rand);
    const gens: Gen[] = [];
    for (let i = 0; i < LINES; i++) gens.push(gen());
    const stream = Buffer.from(gens.map((g) => `${g.line}\n`).join(''), 'utf8');
    const d = new LineDecoder();
    const lines: string[] = [];
    for (let off = 0; off < stream.length; ) {
      const n = 1 + Math.floor(rand() * 4096);
      lines.push(...d.push(stream.subarray(off, off + n)));
      off += n;
    }
    const blank = gens.filter((g) => g.line.trim().length === 0).length;
    assert.equal(lines.length, LINES - blank, 'every non-blank line comes out once');
    const counts = { ok: 0, malformed: 0, invalidParams: 0, responses: 0 };
    let j = 0;
    for (const g of gens) {
      if (g.line.trim().length === 0) continue;
      const line = lines[j++]!;
      const r = parseLine(line);
      if (g.expect === 'ok') assert.ok(r.ok, `valid line refused: ${line.slice(0, 120)}`);
      if (g.expect === 'bad') assert.ok(!r.ok, `truncated line accepted: ${line.slice(0, 120)}`);
      if (!r.ok) {
        assert.ok(r.error.field.length > 0);
        counts.malformed++;
        continue;
      }
      const m = r.value;
      if (m.type === 'response') {
        counts.responses++;
        parseSubscribeResult(m.result);
        parseConfigureResult(m.result);
        const c = classifyReject(m.error, m.rejectReason);
        assert.ok(c.code >= 20 && c.code <= 25);
        counts.ok++;
        continue;
      }
      const s = decodeServerMessage(m);
      if (s.ok) counts.ok++;
      else {
        assert.match(s.error.message, /params/);
        counts.invalidParams++;
      }
    }
    t.diagnostic(
      `fuzz lines: ${LINES}; parsed ${counts.ok}, malformed ${counts.malformed}, invalid params ${counts.invalidParams}`,
    );
    assert.ok(counts.malformed > LINES * 0.1);
    assert.ok(counts.invalidParams > 0);
    assert.equal(counts.ok + counts.malformed + counts.invalidParams, LINES - blank);
  });

  it('line splitting does not depend on how the stream is chunked (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.string({ unit: 'grapheme', maxLength: 40 }).map((s) => s.replace(/[\r\n]/g, '')),
          { maxLength: 20 },
        ),
        fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 20 }),
        (ls, cuts) => {
          const buf = Buffer.from(ls.map((l) => `${l}\n`).join(''), 'utf8');
          const whole = new LineDecoder().push(buf);
          const d = new LineDecoder();
          const parts: string[] = [];
          let off = 0;
          for (let k = 0; off < buf.length; k++) {
            const n = cuts[k % cuts.length]!;
            parts.push(...d.push(buf.subarray(off, off + n)));
            off += n;
          }
          assert.deepEqual(parts, whole);
          assert.deepEqual(
            whole,
            ls.filter((l) => l.trim().length > 0),
          );
        },
      ),
      { numRuns: 300, seed: SEED },
    );
  });

  it('the client over TCP survives 2 000 fuzz lines, counts them, and still takes the next valid job', async () => {
    const server = await ScriptedServer.start();
    const client = new StratumClient({
      url: server.url,
      user: 'u',
      clock: new ManualClock(),
      badInputLimit: 1_000_000,
    });
    try {
      const jobs: ClientJob[] = [];
      client.on('job', (j) => jobs.push(j));
      client.connect();
      await once(client, 'ready');
      const rand = mulberry32(SEED + 1);
      const gen = makeGenerator(rand);
      const out: string[] = [];
      for (let i = 0; i < 2000; i++) {
        const g = gen();
        // Leave out requests the client would answer or act on (reconnect ends the session by design).
        if (/client\.reconnect|"result"|"error"/.test(g.line)) continue;
        out.push(g.line);
      }
      server.send(`${out.join('\n')}\n`, true);
      server.notify({ jobId: 'after-fuzz', prevhash: 'ab'.repeat(32) });
      await waitFor(() => jobs.some((j) => j.job.jobId === 'after-fuzz'), 'job after fuzz');
      assert.equal(client.state, 'ready');
      const bad = Object.values(client.badInput).reduce((a, b) => a + b, 0);
      assert.ok(bad > 300, `bad input counted (${bad})`);
    } finally {
      client.close();
      await server.stop();
    }
  });
});
