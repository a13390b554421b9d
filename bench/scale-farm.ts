/**
 * The farm side of the scale bench, run as its own process (bench/scale.bench.ts forks it) so the
 * daemon's CPU and memory are measured alone: the embedded StratumServer on 127.0.0.1 and N emulated
 * BM1370 chains, each served on a socat pseudo-terminal like `asicd sim` does.
 *
 * Replay mode: no CPU could hash 5 000 nonces/s for real, so the emulated chains replay nonces that were
 * pre-computed (with the emulator's own search, firmware/bm13xx/search.ts) for the one header the
 * daemon will send: the pool's job with a known extranonce1 (firstExtranonce1) and extranonce2 = 0
 * (the first chip job of a clean pool job). Every nonce has at least `zeroBits` leading zero bits in
 * its own rolled version (many versions, interleaved, as BM1370 chips report them); about one in 2^7
 * also meets the pool target and becomes a share. The lists of the chains are disjoint and long enough
 * that no share repeats during the run, so the pool should accept every one.
 *
 * IPC (process.send / 'message'): → {type:'ready', url, links}; ← {type:'replay', perSecondPerChain};
 * ← {type:'stop-replay'}; ← {type:'stats'} → {type:'stats', ...}; ← {type:'exit'}.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findNonces, type PtyServer, type ReplayNonce, serveOnPty } from '../firmware/bm13xx/index.ts';
import { StratumServer } from '../host/pool/server.ts';

export interface FarmConfig {
  chains: number;
  chips: number;
  /** Nonces needed per chain (rate × seconds, with margin). */
  noncesPerChain: number;
  zeroBits: number;
  poolDifficulty: number;
}

const cfg = JSON.parse(process.argv[2] ?? '{}') as FarmConfig;
const send = (m: unknown) => process.send?.(m);

const pool = new StratumServer({
  difficulty: cfg.poolDifficulty,
  blockIntervalMs: 0,
  renotifyMs: 60_000,
  branches: 12,
  extranonce2Size: 4,
});
await pool.listen(0);

/**
 * Nonces for the header a chain's chips hold now (as the emulator rebuilt it from the job frame the
 * daemon sent): `count` nonces over many rolled versions (version field `firstField`, `firstField + 1`, …;
 * chains use disjoint ranges so no share repeats), interleaved so consecutive nonces carry different
 * versions, as BM1370 chips report them.
 */
function replayList(
  jobHeader: Uint8Array,
  count: number,
  firstField: number,
): { list: ReplayNonce[]; versions: number } {
  const header = Uint8Array.from(jobHeader);
  const hv = new DataView(header.buffer);
  const base = hv.getUint32(0, true) & ~0x1fffe000;
  const perVersion = Math.min(2 ** (16 - cfg.zeroBits), Math.ceil(count / 32));
  const maxHashes = Math.min(2 ** 16, Math.ceil(perVersion * 2 ** cfg.zeroBits * 1.5));
  const groups: ReplayNonce[][] = [];
  let have = 0;
  for (let field = firstField; have < count; field++) {
    hv.setUint32(0, (base | (field << 13)) >>> 0, true);
    const found = findNonces({ header, zeroBits: cfg.zeroBits, count: perVersion, maxHashes });
    groups.push(found.map((nonce) => ({ nonce, versionBits: field })));
    have += found.length;
  }
  const list: ReplayNonce[] = [];
  for (let i = 0; list.length < count; i++) for (const g of groups) if (i < g.length) list.push(g[i]!);
  return { list: list.slice(0, count), versions: groups.length };
}

const dir = join(tmpdir(), `asicd-bench-${process.pid}`);
const servers: PtyServer[] = [];
for (let i = 0; i < cfg.chains; i++) {
  servers.push(
    await serveOnPty({
      link: `${dir}-chain${i}`,
      model: 'BM1370',
      chips: cfg.chips,
      autoHash: false,
      seed: i + 1,
    }),
  );
}

let stopping = false;
async function shutdown(): Promise<void> {
  if (stopping) return;
  stopping = true;
  for (const s of servers) s.chain.setReplay(undefined);
  await Promise.all(servers.map((s) => s.stop()));
  await pool.close();
}
process.on('SIGTERM', () => void shutdown().then(() => process.exit(0)));
process.on('disconnect', () => void shutdown().then(() => process.exit(0)));

let lists: ReplayNonce[][] = [];
process.on('message', (m: { type: string; perSecondPerChain?: number }) => {
  if (m.type === 'prepare') {
    const t0 = performance.now();
    let versions = 0;
    lists = servers.map((s, i) => {
      const job = s.chain.chips[0]?.job;
      if (!job?.header) throw new Error(`farm: chain ${i} has no header-format job yet`);
      const r = replayList(job.header, cfg.noncesPerChain, 1 + i * 4096);
      versions += r.versions;
      return r.list;
    });
    send({
      type: 'prepared',
      precomputeMs: performance.now() - t0,
      nonces: lists.reduce((a, l) => a + l.length, 0),
      versions,
      jobs: servers.map((s) => s.chain.stats.jobs),
    });
  } else if (m.type === 'replay') {
    servers.forEach((s, i) => {
      s.chain.setReplay({ nonces: lists[i]!, perSecond: m.perSecondPerChain!, tickMs: 10 });
    });
  } else if (m.type === 'stop-replay') {
    for (const s of servers) s.chain.setReplay(undefined);
  } else if (m.type === 'stats') {
    const st = servers.map((s) => s.chain.stats);
    send({
      type: 'stats',
      replayed: st.reduce((a, s) => a + s.replayed, 0),
      nonceReplies: st.reduce((a, s) => a + s.nonceReplies, 0),
      registerReplies: st.reduce((a, s) => a + s.registerReplies, 0),
      jobs: st.reduce((a, s) => a + s.jobs, 0),
      crcErrorsIn: st.reduce((a, s) => a + s.crcErrors, 0),
      pool: { ...pool.stats },
      cpu: process.cpuUsage(),
    });
  } else if (m.type === 'exit') {
    void shutdown().then(() => {
      send({ type: 'bye' });
      process.disconnect?.();
    });
  }
});

send({ type: 'ready', url: pool.url, links: servers.map((s) => s.link) });
