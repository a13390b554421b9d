/**
 * Work engine figures: header checks per second on one core — the WebAssembly SIMD nonce scan, one
 * header at a time (the host's nonce check), the JavaScript kernel — against node:crypto's createHash
 * double SHA-256 and a native OpenSSL midstate loop (bench/native/, built here when a C compiler and
 * OpenSSL's headers are present), all measured in the same run, interleaved, each timed by its own
 * process's CPU time (a shared machine's load then moves them much less); the full checkNonce
 * path; and job-template build time for a 13-branch notify (p50 / p99).
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import {
  buildTemplate,
  checkNonce,
  HeaderHasher,
  makeWork,
  midstate,
  type NotifyJob,
} from '../host/work/index.ts';
import { headerKernel, jsKernel } from '../host/work/kernel/index.ts';
import { type BenchRow, type BenchSuite, cpuRate, percentile, rate } from './harness.ts';

/** Builds bench/native/sha256d-openssl.c; returns the binary's path, or why it could not. */
function buildNative(): { path: string } | { missing: string } {
  const src = new URL('./native/sha256d-openssl.c', import.meta.url).pathname;
  const out = join(tmpdir(), `asicd-sha256d-openssl-${process.pid}`);
  try {
    execFileSync('cc', ['-O2', '-o', out, src, '-lcrypto'], { stdio: 'pipe' });
    return { path: out };
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
    return {
      missing:
        e.code === 'ENOENT'
          ? 'no C compiler (cc)'
          : `cc failed (OpenSSL headers? \`npm run system-deps\` installs them): ${String(e.stderr ?? e.message).split('\n')[0]}`,
    };
  }
}

/** Header checks/s of the native reference for `ms` (env: e.g. OPENSSL_ia32cap to mask CPU features). */
function native(path: string, ms: number, env: NodeJS.ProcessEnv = {}): number {
  const out = execFileSync(path, [String(ms)], { env: { ...process.env, ...env }, encoding: 'utf8' });
  return Number(out.split(' ')[0]);
}

/**
 * Bytes allocated per call of `fn`, from V8's sampling heap profiler (every 256 bytes, objects freed by
 * later GCs included), over `n` calls.
 */
async function allocatedPerCall(fn: (i: number) => void, n: number): Promise<number> {
  for (let i = 0; i < 500; i++) fn(i);
  const s = new Session();
  s.connect();
  try {
    await s.post('HeapProfiler.startSampling', {
      samplingInterval: 256,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
    for (let i = 0; i < n; i++) fn(i);
    const { profile } = await s.post('HeapProfiler.stopSampling');
    let total = 0;
    const walk = (node: { selfSize: number; children: unknown[] }) => {
      total += node.selfSize;
      for (const c of node.children) walk(c as typeof node);
    };
    walk(profile.head as unknown as { selfSize: number; children: unknown[] });
    return total / n;
  } finally {
    s.disconnect();
  }
}

/** Garbage collections (count, total pause ms) while `fn` runs `n` times. */
async function gcDuring(fn: (i: number) => void, n: number): Promise<{ count: number; pauseMs: number }> {
  const r = { count: 0, pauseMs: 0 };
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      r.count++;
      r.pauseMs += e.duration;
    }
  });
  obs.observe({ entryTypes: ['gc'] });
  for (let i = 0; i < n; i++) fn(i);
  await new Promise((res) => setTimeout(res, 20)); // GC entries are delivered asynchronously
  obs.disconnect();
  return r;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const notify13: NotifyJob = {
  jobId: 'bench',
  prevhash: randomBytes(32).toString('hex'),
  coinb1: randomBytes(60).toString('hex'),
  coinb2: randomBytes(180).toString('hex'),
  merkleBranch: Array.from({ length: 13 }, () => randomBytes(32).toString('hex')),
  version: '20000000',
  nbits: '17034219',
  ntime: '6740e3a1',
  cleanJobs: true,
};
const session = { extranonce1: 'a1b2c3d4', extranonce2Size: 8 };

const suite: BenchSuite = {
  name: 'work',
  async run(ctx) {
    const ms = 1500 * ctx.scale;
    const header = randomBytes(80);
    const hasher = new HeaderHasher(header);
    const dv = new DataView(header.buffer, header.byteOffset, 80);
    const mid = midstate(header);
    const [t0, t1, t2] = [dv.getUint32(64), dv.getUint32(68), dv.getUint32(72)];
    const kernel = headerKernel();
    const hits = new Uint32Array(64);
    const out = new Uint32Array(8);
    const buf = Buffer.from(header);
    const nat = buildNative();
    const x64 = process.arch === 'x64';
    ctx.log(
      `  hashing kernel: ${kernel.reason}; native reference: ${'path' in nat ? 'OpenSSL (built)' : nat.missing}`,
    );

    // Interleaved rounds, median of each: the machine's load changes during a run. Timed by CPU time
    // (cpuRate; the native reference likewise), so another process holding the core does not count.
    const r: Record<string, number[]> = {
      scan: [],
      one: [],
      jsOne: [],
      nodeCrypto: [],
      openssl: [],
      opensslNoSha: [],
    };
    let n = 0;
    let s0 = 0;
    let m = 0;
    // Warm-up: WebAssembly functions move to V8's optimising compiler after their first calls.
    cpuRate(() => kernel.scan(mid, t0, t1, t2, 0, 65_536, 0, hits) + 65_536, 200);
    cpuRate(() => {
      for (let i = 0; i < 1000; i++) hasher.hash(i);
      return 1000;
    }, 200);
    for (let round = 0; round < 5; round++) {
      const part = ms / 5;
      r.scan!.push(
        cpuRate(() => {
          kernel.scan(mid, t0, t1, t2, s0, 65_536, 0, hits);
          s0 += 65_536;
          return 65_536;
        }, part),
      );
      r.one!.push(
        cpuRate(() => {
          for (let i = 0; i < 1000; i++) hasher.hash(n++);
          return 1000;
        }, part),
      );
      r.jsOne!.push(
        cpuRate(() => {
          for (let i = 0; i < 1000; i++) jsKernel.hash1(mid, t0, t1, t2, n++, out);
          return 1000;
        }, part),
      );
      r.nodeCrypto!.push(
        cpuRate(() => {
          for (let i = 0; i < 1000; i++) {
            buf.writeUInt32LE(m++ >>> 0, 76);
            createHash('sha256').update(createHash('sha256').update(buf).digest()).digest();
          }
          return 1000;
        }, part),
      );
      if ('path' in nat) {
        r.openssl!.push(native(nat.path, part));
        // The same OpenSSL with the SHA extensions masked (bit 29 of CPUID 7 EBX): its AVX2/SSE code,
        // the closest this machine gets to a CPU without SHA instructions such as a Pi 4's Cortex-A72.
        if (x64) r.opensslNoSha!.push(native(nat.path, part, { OPENSSL_ia32cap: ':~0x20000000' }));
      }
    }
    const scan = median(r.scan!);
    const one = median(r.one!);
    const jsOne = median(r.jsOne!);
    const nodeCrypto = median(r.nodeCrypto!);
    const kernelRows: BenchRow[] = [
      {
        suite: 'work',
        name: `header checks/s, one core, ${kernel.name} nonce scan`,
        value: scan,
        unit: '/s',
        baseline: { name: 'JavaScript kernel, one header at a time', value: jsOne },
        ratio: scan / jsOne,
        better: 'higher',
      },
      {
        suite: 'work',
        name: 'header checks/s, one core, midstate path (the host check, one header)',
        value: one,
        unit: '/s',
        baseline: { name: 'node:crypto createHash ×2', value: nodeCrypto },
        ratio: one / nodeCrypto,
        better: 'higher',
        target: { op: '>=', value: 1.2e6 },
      },
    ];
    if ('path' in nat) rmSync(nat.path, { force: true });
    if ('path' in nat) {
      const openssl = median(r.openssl!);
      kernelRows.push({
        suite: 'work',
        name: `header checks/s per core: ${kernel.name} scan vs native OpenSSL midstate`,
        value: scan / openssl,
        unit: '×',
        baseline: { name: 'native OpenSSL midstate (ctx copy), checks/s', value: openssl },
        ratio: scan / openssl,
        better: 'higher',
        target: { op: '>=', value: 1.0 },
      });
      if (x64) {
        const noSha = median(r.opensslNoSha!);
        kernelRows.push({
          suite: 'work',
          name: `header checks/s per core: ${kernel.name} scan vs native OpenSSL without SHA extensions`,
          value: scan / noSha,
          unit: '×',
          baseline: { name: 'native OpenSSL, SHA-NI masked, checks/s', value: noSha },
          ratio: scan / noSha,
          better: 'higher',
          note: 'a CPU without SHA instructions, such as a Pi 4',
        });
      }
    } else {
      ctx.log(`  native OpenSSL reference not built (${nat.missing}): JavaScript/WebAssembly figures only`);
    }

    const tpl = buildTemplate(notify13, session, { difficulty: 0.001, versionMask: 0x1fffe000 });
    const work = makeWork(tpl, 1);
    let k = 0;
    const full = rate(() => {
      for (let i = 0; i < 1000; i++) checkNonce(work, k++, { version: 0x20000000 | ((k & 0xffff) << 13) });
      return 1000;
    }, ms);
    let j = 0;
    const fullSameVersion = rate(() => {
      for (let i = 0; i < 1000; i++) checkNonce(work, j++);
      return 1000;
    }, ms);

    // Allocation per notify: template build + the first work of each of 4 chains, against the same-run
    // baseline of parsing the notify's JSON line (what every notify costs before any work is made).
    const notifyLine = JSON.stringify({
      id: null,
      method: 'mining.notify',
      params: [
        notify13.jobId,
        notify13.prevhash,
        notify13.coinb1,
        notify13.coinb2,
        notify13.merkleBranch,
        notify13.version,
        notify13.nbits,
        notify13.ntime,
        true,
      ],
    });
    const perNotify = (i: number) => {
      const t = buildTemplate(notify13, session, { difficulty: 0.001, versionMask: 0x1fffe000 });
      for (let c = 0; c < 4; c++) makeWork(t, i * 4 + c);
    };
    const allocN = Math.round(5000 * ctx.scale) + 500;
    const allocBytes = await allocatedPerCall(perNotify, allocN);
    const parseBytes = await allocatedPerCall(() => JSON.parse(notifyLine), allocN);
    const gcN = Math.round(20_000 * ctx.scale);
    const gc = await gcDuring(perNotify, gcN);

    const samples: number[] = [];
    for (let i = 0; i < 2000 * ctx.scale + 200; i++) {
      const t0 = performance.now();
      const t = buildTemplate(notify13, session, { difficulty: 0.001, versionMask: 0x1fffe000 });
      makeWork(t, i);
      samples.push((performance.now() - t0) * 1000);
    }
    samples.splice(0, 200); // warm-up
    samples.sort((a, b) => a - b);
    const workSamples: number[] = [];
    for (let i = 0; i < 2000 * ctx.scale + 200; i++) {
      const t0 = performance.now();
      makeWork(tpl, i, { versions: 4 });
      workSamples.push((performance.now() - t0) * 1000);
    }
    workSamples.splice(0, 200);
    workSamples.sort((a, b) => a - b);

    return [
      ...kernelRows,
      {
        suite: 'work',
        name: 'checkNonce/s (classify, rolled version each call)',
        value: full,
        unit: '/s',
        baseline: { name: 'node:crypto createHash ×2', value: nodeCrypto },
        ratio: full / nodeCrypto,
        better: 'higher',
      },
      {
        suite: 'work',
        name: 'checkNonce/s (classify, job version)',
        value: fullSameVersion,
        unit: '/s',
        baseline: { name: 'node:crypto createHash ×2', value: nodeCrypto },
        ratio: fullSameVersion / nodeCrypto,
        better: 'higher',
      },
      {
        suite: 'work',
        name: 'template build + first work, 13 branches, p50',
        value: percentile(samples, 50),
        unit: 'µs',
        better: 'lower',
      },
      {
        suite: 'work',
        name: 'template build + first work, 13 branches, p99',
        value: percentile(samples, 99),
        unit: 'µs',
        better: 'lower',
        target: { op: '<=', value: 100 },
      },
      {
        suite: 'work',
        name: 'next work (new extranonce2, 4 midstates), p99',
        value: percentile(workSamples, 99),
        unit: 'µs',
        better: 'lower',
      },
      {
        suite: 'work',
        name: 'bytes allocated per notify (template, 13 branches + first work × 4 chains)',
        value: allocBytes,
        unit: 'B',
        baseline: { name: 'JSON.parse of the notify line', value: parseBytes },
        ratio: allocBytes / parseBytes,
        better: 'lower',
      },
      {
        suite: 'work',
        name: `GCs per 1 000 notifies (template + 4 works; ${gcN} notifies)`,
        value: (gc.count / gcN) * 1000,
        unit: '',
        note: `total pause ${gc.pauseMs.toFixed(1)} ms`,
        better: 'lower',
      },
    ];
  },
};
export default suite;
