/**
 * The gateway's Stratum server alone (real TCP, ManualClock for vardiff and rate limits): version-rolling
 * negotiation, suggest_difficulty, vardiff raising a fast miner, clean/stale across a new prevhash,
 * fuzzed lines that never disturb a good miner.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import fc from 'fast-check';
import { GatewayServer, type GatewayServerOptions } from '../../host/gateway/server.ts';
import { jobFromTemplate, parseTemplate } from '../../host/gateway/template.ts';
import { ManualClock } from '../../lib/clock.ts';
import { waitFor } from '../helpers/net.ts';
import { StandinNode } from '../helpers/standin-node.ts';
import { grind, hex8, RawClient } from '../pool/helpers.ts';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});
const script = Uint8Array.from(Buffer.from('0014751e76e8199196d454941c45d1b3a323f1433bd6', 'hex'));

async function start(o: GatewayServerOptions = {}) {
  const clock = new ManualClock();
  const node = new StandinNode({ bits: 0x1d00ffff, height: 5 });
  const server = new GatewayServer({ clock, difficulty: 1e-6, ...o });
  const job = () =>
    jobFromTemplate(parseTemplate(node.template()), {
      payoutScript: script,
      extranonce1Size: 4,
      extranonce2Size: server.extranonce2Size,
    });
  server.setJob(job(), true);
  await server.listen(0);
  cleanup.push(() => server.close());
  return { server, clock, node, job };
}
async function miner(port: number, mask?: string) {
  const c = await RawClient.open(port);
  cleanup.push(() => c.close());
  const conf = mask
    ? await c.call('mining.configure', [
        ['version-rolling', 'minimum-difficulty', 'subscribe-extranonce'],
        { 'version-rolling.mask': mask },
      ])
    : undefined;
  const sub = await c.call('mining.subscribe', ['esp-miner/2.0']);
  const [, extranonce1, extranonce2Size] = sub.result as [unknown, string, number];
  await c.call('mining.authorize', ['w', 'x']);
  await waitFor(() => c.notifications('mining.notify').length > 0, 'notify');
  return { c, conf, session: { extranonce1, extranonce2Size } };
}

describe('gateway Stratum server', () => {
  it('negotiates version rolling (server mask ∩ miner mask) and validates rolled shares', async () => {
    const { server } = await start({ vardiff: false });
    const m = await miner(server.port, 'ffffffff');
    assert.deepEqual(m.conf!.result, {
      'version-rolling': true,
      'version-rolling.mask': '1fffe000',
      'minimum-difficulty': true,
      'subscribe-extranonce': false,
    });
    const job = m.c.lastJob();
    const version = (Number.parseInt(job.version, 16) | 0x00ffe000) >>> 0;
    const f = grind(job, m.session, '00000000', (d) => d >= 1e-6, { version, versionMask: 0x1fffe000 });
    const r = await m.c.call('mining.submit', [
      'w',
      job.jobId,
      '00000000',
      job.ntime,
      hex8(f.nonce),
      hex8(version & 0x1fffe000),
    ]);
    assert.equal(r.result, true, JSON.stringify(r.error));
    const narrow = await miner(server.port, '00006000');
    assert.equal((narrow.conf!.result as Record<string, string>)['version-rolling.mask'], '00006000');
  });

  it('suggest_difficulty sets the difficulty (as the floor) and a new job id carries it at once', async () => {
    const { server } = await start({ vardiff: { targetSeconds: 10 } });
    const m = await miner(server.port);
    const before = m.c.notifications('mining.notify').length;
    await m.c.call('mining.suggest_difficulty', [0.5]);
    await waitFor(() => m.c.notifications('mining.notify').length > before, 're-notify');
    assert.deepEqual(m.c.notifications('mining.set_difficulty').at(-1)!.params, [0.5]);
    const id = server.connectionIds[0]!;
    assert.equal(server.connection(id)!.difficulty, 0.5);
    const bad = await m.c.call('mining.suggest_difficulty', ['lots']);
    assert.match(JSON.stringify(bad.error), /positive number/);
  });

  it('vardiff raises the difficulty of a miner that shares too fast (fractional difficulties)', async () => {
    const { server, clock } = await start({
      vardiff: { targetSeconds: 10, windowSeconds: 60, maxShares: 8 },
    });
    const m = await miner(server.port);
    const job = m.c.lastJob();
    for (let i = 0; i < 8; i++) {
      clock.advance(100);
      const en2 = hex8(i);
      const f = grind(job, m.session, en2, (d) => d >= 1e-6);
      assert.equal(
        (await m.c.call('mining.submit', ['w', job.jobId, en2, job.ntime, hex8(f.nonce)])).result,
        true,
      );
    }
    await waitFor(() => m.c.notifications('mining.set_difficulty').length >= 2, 'new difficulty');
    assert.deepEqual(m.c.notifications('mining.set_difficulty').at(-1)!.params, [4e-6]);
    const last = m.c.lastJob();
    assert.notEqual(last.jobId, job.jobId, 'a fresh job id so the new difficulty applies now');
    // A share at the old difficulty on the old job is still judged at the old difficulty.
    const f = grind(job, m.session, '000000ff', (d) => d >= 1e-6 && d < 4e-6);
    assert.equal(
      (await m.c.call('mining.submit', ['w', job.jobId, '000000ff', job.ntime, hex8(f.nonce)])).result,
      true,
    );
    const g = grind(last, m.session, '000000fe', (d) => d >= 1e-6 && d < 4e-6);
    assert.equal(
      (await m.c.call('mining.submit', ['w', last.jobId, '000000fe', last.ntime, hex8(g.nonce)])).error
        ?.toString()
        .startsWith('23'),
      true,
    );
  });

  it('vardiff per worker name: a worker that reconnects resumes at its learned difficulty', async () => {
    const { server, clock } = await start({
      vardiff: { targetSeconds: 10, windowSeconds: 60, maxShares: 8 },
    });
    const m = await miner(server.port);
    const job = m.c.lastJob();
    for (let i = 0; i < 8; i++) {
      clock.advance(100);
      const en2 = hex8(i);
      const f = grind(job, m.session, en2, (d) => d >= 1e-6);
      assert.equal(
        (await m.c.call('mining.submit', ['w', job.jobId, en2, job.ntime, hex8(f.nonce)])).result,
        true,
      );
    }
    await waitFor(() => m.c.notifications('mining.set_difficulty').length >= 2, 'new difficulty');
    assert.deepEqual(m.c.notifications('mining.set_difficulty').at(-1)!.params, [4e-6]);
    assert.equal(server.learnedDifficulty('w'), 4e-6);
    m.c.close();
    await waitFor(() => server.connectionCount === 0, 'disconnected');
    // Same worker name on a new connection: starts at 4e-6, not the server's 1e-6.
    const again = await miner(server.port);
    assert.deepEqual(
      again.c.notifications('mining.set_difficulty').map((n) => n.params),
      [[4e-6]],
    );
    // Another name starts from the default; a miner that suggests its own difficulty keeps it.
    const other = await RawClient.open(server.port);
    cleanup.push(() => other.close());
    await other.call('mining.subscribe', ['cgminer/4.11']);
    await other.call('mining.authorize', ['other', 'x']);
    await waitFor(() => other.notifications('mining.set_difficulty').length > 0, 'difficulty');
    assert.deepEqual(other.notifications('mining.set_difficulty')[0]!.params, [1e-6]);
    const sugg = await RawClient.open(server.port);
    cleanup.push(() => sugg.close());
    await sugg.call('mining.subscribe', ['bitaxe']);
    await sugg.call('mining.suggest_difficulty', [2e-6]);
    await sugg.call('mining.authorize', ['w', 'x']);
    await waitFor(() => sugg.notifications('mining.set_difficulty').length > 0, 'difficulty');
    assert.deepEqual(sugg.notifications('mining.set_difficulty')[0]!.params, [2e-6]);
  });

  it('a new prevhash makes older jobs stale; a refresh on the same block keeps them valid', async () => {
    const { server, node, job } = await start({ vardiff: false });
    const m = await miner(server.port);
    const old = m.c.lastJob();
    node.addTx(3);
    server.setJob(job(), false);
    await waitFor(() => m.c.lastJob().jobId !== old.jobId, 'refresh');
    assert.equal(m.c.lastJob().cleanJobs, false);
    const f = grind(old, m.session, '00000001', (d) => d >= 1e-6);
    assert.equal(
      (await m.c.call('mining.submit', ['w', old.jobId, '00000001', old.ntime, hex8(f.nonce)])).result,
      true,
    );
    node.mineExternal();
    server.setJob(job(), false);
    await waitFor(() => m.c.lastJob().cleanJobs, 'clean job on the new prevhash even when not asked');
    const g = grind(old, m.session, '00000002', (d) => d >= 1e-6);
    const r = await m.c.call('mining.submit', ['w', old.jobId, '00000002', old.ntime, hex8(g.nonce)]);
    assert.deepEqual(r.error, [21, 'Stale', null]);
  });

  it('fuzzed lines from one miner: answered or dropped, never a crash; the good miner keeps mining', async () => {
    const { server } = await start({ vardiff: false, maxBadLines: 1000, maxRequestsPerSecond: 1e6 });
    const good = await miner(server.port);
    const line = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.json({ maxDepth: 3 }),
      fc
        .record({
          id: fc.oneof(fc.integer(), fc.string(), fc.constant(null)),
          method: fc.constantFrom(
            'mining.submit',
            'mining.subscribe',
            'mining.authorize',
            'mining.configure',
            'mining.suggest_difficulty',
            'x',
          ),
          params: fc.array(
            fc.oneof(
              fc.string({ maxLength: 70 }),
              fc.integer(),
              fc.double(),
              fc.constant(null),
              fc.array(fc.string({ maxLength: 8 })),
            ),
            { maxLength: 7 },
          ),
        })
        .map((o) => JSON.stringify(o)),
    );
    const fuzz = await RawClient.open(server.port);
    cleanup.push(() => fuzz.close());
    const samples = fc.sample(line, 400).map((x) => x.replace(/\n/g, ' '));
    fuzz.socket.write(`${samples.join('\n')}\n`);
    await waitFor(() => server.totals.badLines > 0, 'fuzz lines processed');
    await new Promise((r) => setTimeout(r, 200));
    const job = good.c.lastJob();
    const g = grind(job, good.session, '00000007', (d) => d >= 1e-6);
    assert.equal(
      (await good.c.call('mining.submit', ['w', job.jobId, '00000007', job.ntime, hex8(g.nonce)])).result,
      true,
    );
    assert.ok(server.totals.badLines > 0);
  });
});
