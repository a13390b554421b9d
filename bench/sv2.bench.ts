/**
 * Stratum V2 against V1, measured in the same run on loopback:
 * - Noise NX handshake CPU time (initiator + responder in-process, ellswift keys, certificate check);
 * - connect → first job (ready) over TCP: SV2 client + embedded SV2 pool vs V1 client + embedded V1 pool;
 * - bytes on the wire to become ready, and per accepted share (submit + answer, both directions):
 *   SV2's encrypted binary frames vs V1's JSON lines.
 */
import type { Duplex } from 'node:stream';
import { StratumServer } from '../host/pool/server.ts';
import { type ClientJob, StratumClient } from '../host/stratum/client.ts';
import { type Connector, defaultConnector } from '../host/stratum/session.ts';
import { signCertificate, xonlyPublicKey } from '../host/stratum-v2/certificate.ts';
import { Sv2Client } from '../host/stratum-v2/client.ts';
import { bigToBytes32, ellswiftCreate, publicX } from '../host/stratum-v2/ellswift.ts';
import { NoiseInitiator } from '../host/stratum-v2/noise.ts';
import { Sv2Pool } from '../host/stratum-v2/pool.ts';
import { respondNx } from '../host/stratum-v2/pool-noise.ts';
import {
  buildTemplate,
  checkNonce,
  difficultyToTarget,
  encodeExtranonce2,
  makeWork,
} from '../host/work/index.ts';
import { type BenchRow, type BenchSuite, percentile } from './harness.ts';

const median = (xs: number[]) =>
  percentile(
    [...xs].sort((a, b) => a - b),
    50,
  );

/** Counts the bytes a connector's sockets carry. */
function countingConnector(count: { out: number; in: number }): Connector {
  return async (t, signal) => {
    const s: Duplex = await defaultConnector(t, signal);
    s.on('data', (b: Buffer) => {
      count.in += b.length;
    });
    const write = s.write.bind(s) as (...a: unknown[]) => boolean;
    (s as unknown as { write: (...a: unknown[]) => boolean }).write = (
      chunk: unknown,
      ...rest: unknown[]
    ) => {
      count.out += typeof chunk === 'string' ? Buffer.byteLength(chunk) : (chunk as Uint8Array).length;
      return write(chunk, ...rest);
    };
    return s;
  };
}

function shares(j: ClientJob, n: number): Array<{ extranonce2: string; nonce: number; ntime: number }> {
  const t = buildTemplate(j.job, j, { difficulty: j.difficulty, versionMask: j.versionMask });
  const w = makeWork(t, encodeExtranonce2(1, j.extranonce2Size));
  const target = 'target' in j ? (j as { target: bigint }).target : difficultyToTarget(j.difficulty);
  const out: Array<{ extranonce2: string; nonce: number; ntime: number }> = [];
  for (let nonce = 0; out.length < n; nonce++) {
    const c = checkNonce(w, nonce, { ticketDifficulty: 1e-12 });
    if (BigInt(`0x${c.hashHex}`) <= target)
      out.push({ extranonce2: w.extranonce2Hex, nonce, ntime: t.ntime });
  }
  return out;
}

function waitJob<C extends { on(e: 'job', f: (j: ClientJob) => void): unknown }>(c: C): Promise<ClientJob> {
  return new Promise((resolve) => c.on('job', (j) => resolve(j)));
}

const suite: BenchSuite = {
  name: 'stratum-v2',
  async run(ctx) {
    const rows: BenchRow[] = [];
    // 1. Handshake CPU time, both sides in-process.
    const auth = ellswiftCreate().privateKey;
    const server = ellswiftCreate();
    const now = Math.floor(Date.now() / 1000);
    const cert = signCertificate({
      authorityPrivateKey: auth,
      serverStaticKey: bigToBytes32(publicX(server.privateKey)),
      validFrom: now - 60,
      notValidAfter: now + 3600,
    });
    const authPub = xonlyPublicKey(auth);
    const hs: number[] = [];
    const rounds = Math.max(5, Math.round(30 * ctx.scale));
    for (let i = 0; i < rounds + 2; i++) {
      const t0 = performance.now();
      const ini = new NoiseInitiator({ authorityKey: authPub, now: () => now });
      const r = respondNx(ini.act1(), {
        staticPrivateKey: server.privateKey,
        staticEncoding: server.encoding,
        certificate: cert,
      });
      ini.act2(r.act2);
      if (i >= 2) hs.push(performance.now() - t0);
    }
    rows.push({
      suite: 'stratum-v2',
      name: 'Noise NX handshake, both sides in-process (median)',
      value: median(hs),
      unit: 'ms',
      better: 'lower',
      note: `${rounds} handshakes; ellswift encode + 3 ellswift ECDH per side + BIP 340 verify`,
    });

    // 2. connect → ready over TCP, and bytes to get there.
    const sv2Pool = new Sv2Pool({ difficulty: 1e-6, blockIntervalMs: 0 });
    await sv2Pool.listen(0);
    const v1Pool = new StratumServer({ difficulty: 1e-6, blockIntervalMs: 0 });
    await v1Pool.listen(0);
    try {
      const tSv2: number[] = [];
      const tV1: number[] = [];
      let readyBytesSv2 = 0;
      let readyBytesV1 = 0;
      const runs = Math.max(3, Math.round(10 * ctx.scale));
      for (let i = 0; i < runs; i++) {
        const c2 = new Sv2Client({ url: sv2Pool.url, user: 'bench.sv2', versionRollingMask: 0x1fffe000 });
        let t0 = performance.now();
        const j2 = waitJob(c2);
        c2.connect();
        await j2;
        tSv2.push(performance.now() - t0);
        readyBytesSv2 = c2.traffic.bytesIn + c2.traffic.bytesOut;
        c2.close();
        const count = { out: 0, in: 0 };
        const c1 = new StratumClient({
          url: v1Pool.url,
          user: 'bench.v1',
          password: 'x',
          versionRollingMask: 0x1fffe000,
          connector: countingConnector(count),
        });
        t0 = performance.now();
        const j1 = waitJob(c1);
        c1.connect();
        await j1;
        tV1.push(performance.now() - t0);
        readyBytesV1 = count.in + count.out;
        c1.close();
      }
      rows.push({
        suite: 'stratum-v2',
        name: 'connect → first job over loopback TCP, SV2 (median)',
        value: median(tSv2),
        unit: 'ms',
        better: 'lower',
        baseline: { name: 'V1 (configure/subscribe/authorize/notify)', value: median(tV1) },
        ratio: median(tSv2) / median(tV1),
      });
      rows.push({
        suite: 'stratum-v2',
        name: 'bytes on the wire to the first job, SV2 (handshake 298 B included)',
        value: readyBytesSv2,
        unit: 'B',
        better: 'lower',
        baseline: { name: 'V1', value: readyBytesV1 },
        ratio: readyBytesSv2 / readyBytesV1,
      });

      // 3. Bytes per accepted share (submit + answer), SV2 extended channel vs V1.
      const n = Math.max(10, Math.round(50 * ctx.scale));
      const c2 = new Sv2Client({ url: sv2Pool.url, user: 'bench.sv2', versionRollingMask: 0x1fffe000 });
      const j2p = waitJob(c2);
      c2.connect();
      const j2 = await j2p;
      const s2 = shares(j2, n);
      const before2 = c2.traffic.bytesIn + c2.traffic.bytesOut;
      let acc2 = 0;
      for (const s of s2)
        if ((await c2.submit({ poolToken: j2.poolToken, jobId: j2.job.jobId, ...s })).status === 'accepted')
          acc2++;
      const perShare2 = (c2.traffic.bytesIn + c2.traffic.bytesOut - before2) / n;
      c2.close();
      const count = { out: 0, in: 0 };
      const c1 = new StratumClient({
        url: v1Pool.url,
        user: 'bench.v1',
        password: 'x',
        versionRollingMask: 0x1fffe000,
        connector: countingConnector(count),
      });
      const j1p = waitJob(c1);
      c1.connect();
      const j1 = await j1p;
      const s1 = shares(j1, n);
      const before1 = count.in + count.out;
      let acc1 = 0;
      for (const s of s1)
        if ((await c1.submit({ poolToken: j1.poolToken, jobId: j1.job.jobId, ...s })).status === 'accepted')
          acc1++;
      const perShare1 = (count.in + count.out - before1) / n;
      c1.close();
      rows.push({
        suite: 'stratum-v2',
        name: 'bytes on the wire per accepted share (submit + answer), SV2 extended channel',
        value: perShare2,
        unit: 'B',
        better: 'lower',
        baseline: { name: 'V1 mining.submit + result', value: perShare1 },
        ratio: perShare2 / perShare1,
        note: `${acc2}/${n} SV2 and ${acc1}/${n} V1 shares accepted`,
      });
    } finally {
      await sv2Pool.close();
      await v1Pool.close();
    }
    return rows;
  },
};

export default suite;
