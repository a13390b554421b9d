/**
 * The cgminer-compatible API over real TCP on loopback: JSON and plain requests, cgminer field names,
 * joined commands, privileged commands denied / allowed by address, garbage answered with an error
 * STATUS while the server keeps serving.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import {
  type CgminerApi,
  parseAllow,
  parseListen,
  startCgminerApi,
} from '../../host/telemetry/cgminer-api.ts';
import { FakeMiner } from '../helpers/fake-miner.ts';

function request(port: number, payload: string | Buffer, halfClose = false): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = connect({ host: '127.0.0.1', port }, () => (halfClose ? s.end(payload) : s.write(payload)));
    s.on('data', (d) => chunks.push(d));
    s.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    s.on('error', reject);
  });
}

type Status = { STATUS: string; When: number; Code: number; Msg: string; Description: string };
function json(text: string): Record<string, unknown> & { STATUS: Status[] } {
  assert.ok(text.endsWith('\0'), 'reply ends with NUL like cgminer');
  return JSON.parse(text.slice(0, -1));
}

describe('cgminer API over TCP', () => {
  let miner: FakeMiner;
  let open: CgminerApi;
  let closed: CgminerApi;
  before(async () => {
    miner = new FakeMiner('api');
    // Same miner, two servers: one privileged for 127.0.0.1, one with no allow list.
    open = await startCgminerApi(miner, { port: 0, allow: ['W:127.0.0.1'] });
    closed = await startCgminerApi(miner, { port: 0 });
  });
  after(async () => {
    await open.close();
    await closed.close();
  });

  test('summary (JSON) carries cgminer field names and values from the state', async () => {
    const r = json(await request(closed.port, '{"command":"summary","parameter":""}'));
    const st = r.STATUS[0]!;
    assert.deepEqual([st.STATUS, st.Code, st.Msg], ['S', 11, 'Summary']);
    assert.match(st.Description, /^asicd /);
    assert.ok(Math.abs(st.When - Date.now() / 1000) < 5);
    const s = (r.SUMMARY as Record<string, number>[])[0]!;
    assert.equal(s['MHS av'], 1180000);
    assert.equal(s['MHS 5s'], 1210500);
    assert.equal(s['MHS 1m'], 1200250);
    assert.equal(s['MHS 5m'], undefined, 'absent when the source keeps no 5 min window');
    miner.quietPatch({ hashrate: { ...miner.state.hashrate, avg5m: 1195, avg15m: 1191.5 } });
    const r2 = json(await request(closed.port, '{"command":"summary"}'));
    const s2 = (r2.SUMMARY as Record<string, number>[])[0]!;
    assert.deepEqual([s2['MHS 5m'], s2['MHS 15m']], [1195000, 1191500]);
    assert.equal(s.Accepted, 120);
    assert.equal(s.Rejected, 5);
    assert.equal(s['Hardware Errors'], 7);
    assert.equal(s['Best Share'], 1234567);
    assert.equal(s['Difficulty Accepted'], 122880);
    assert.equal(s['Difficulty Rejected'], 5120);
    assert.equal(s.Elapsed, 3600);
    assert.equal(s['Pool Rejected%'], 4);
    assert.equal(r.id, 1);
  });

  test('plain form: command|param and escaped key=value records', async () => {
    const text = await request(closed.port, 'pools|');
    assert.ok(text.endsWith('\0'));
    const parts = text.slice(0, -1).split('|').filter(Boolean);
    assert.match(parts[0]!, /^STATUS=S,When=\d+,Code=7,Msg=2 Pool\(s\),Description=asicd /);
    assert.match(parts[1]!, /^POOL=0,URL=stratum\+tcp:\/\/pool\.example:3333,Status=Alive,/);
    assert.match(parts[1]!, /User=bc1qexample\.worker1/);
    assert.match(parts[2]!, /^POOL=1,/);
    const sum = await request(closed.port, 'summary');
    assert.match(sum, /\|SUMMARY,Elapsed=3600,MHS av=1180000,/);
  });

  test('devs, stats, version, config', async () => {
    const devs = json(await request(closed.port, '{"command":"devs"}'));
    assert.equal(devs.STATUS[0]!.Code, 9);
    const d = (devs.DEVS as Record<string, unknown>[])[0]!;
    assert.deepEqual([d.ASC, d.Name, d['MHS 5s'], d['Hardware Errors']], [0, 'BM1370', 1210500, 7]);
    const stats = json(await request(closed.port, '{"command":"stats"}'));
    // bmminer layout: STATS[0] names the software, STATS[1] has the figures.
    const [sv, st] = stats.STATS as Record<string, unknown>[];
    assert.equal(typeof sv!.BMMiner, 'string');
    assert.equal(sv!.Type, 'Simulated BM1370 x4');
    assert.deepEqual([st!.fan1, st!.temp1, st!.chain_acn1, st!.frequency], [4200, 48.5, 4, 525]);
    assert.deepEqual(
      [st!['GHS 5s'], st!.total_acn, st!.chain_acs1, st!.chain_hw1, st!.temp_max, st!.temp2_1],
      [1210.5, 4, 'ooxo', 7, 61.25, 61.25],
    );
    assert.equal(st!.total_rateideal, 1228.8);
    const ver = json(await request(closed.port, '{"command":"version"}'));
    assert.equal((ver.VERSION as Record<string, string>[])[0]!.API, '3.7');
    const cfg = json(await request(closed.port, '{"command":"config"}'));
    assert.equal((cfg.CONFIG as Record<string, number>[])[0]!['Pool Count'], 2);
  });

  test('joined commands answer each in its slot; privileged ones are refused there', async () => {
    const r = JSON.parse((await request(closed.port, '{"command":"summary+pools+switchpool"}')).slice(0, -1));
    assert.equal(r.summary[0].STATUS[0].Code, 11);
    assert.equal(r.pools[0].POOLS.length, 2);
    assert.equal(r.switchpool[0].STATUS[0].Code, 45);
    const plain = await request(closed.port, 'summary+devs');
    assert.match(plain, /Code=11,.*Code=9,/);
  });

  test('privileged commands: denied without allow, allowed from the configured address', async () => {
    const before = miner.calls.length;
    for (const c of [
      'switchpool|1',
      'restart',
      'quit',
      'addpool|stratum+tcp://x:1,u,p',
      'enablepool|0',
      'disablepool|1',
    ]) {
      const text = await request(closed.port, c);
      assert.match(text, /^STATUS=E,When=\d+,Code=45,Msg=Access denied to '\w+' command/, c);
    }
    assert.equal(miner.calls.length, before, 'nothing called when denied');

    const ok = json(await request(open.port, '{"command":"switchpool","parameter":"1"}'));
    assert.deepEqual([ok.STATUS[0]!.STATUS, ok.STATUS[0]!.Code], ['S', 27]);
    assert.equal(miner.state.pool?.index, 1);
    const bad = json(await request(open.port, '{"command":"switchpool","parameter":"9"}'));
    assert.deepEqual([bad.STATUS[0]!.Code, bad.STATUS[0]!.Msg], [26, 'Invalid pool id 9 - range is 0 - 1']);
    const missing = json(await request(open.port, '{"command":"switchpool"}'));
    assert.equal(missing.STATUS[0]!.Code, 25);
    const add = json(
      await request(
        open.port,
        '{"command":"addpool","parameter":"stratum+tcp://u:pw@new.example:3333,w1,x"}',
      ),
    );
    assert.equal(add.STATUS[0]!.Code, 55);
    assert.ok(!JSON.stringify(add).includes('pw@'), 'password not echoed');
    const priv = json(await request(open.port, '{"command":"privileged"}'));
    assert.equal(priv.STATUS[0]!.Code, 46);
    const rs = json(await request(open.port, '{"command":"restart"}'));
    assert.equal(rs.STATUS[0]!.Msg, 'RESTART');
    await new Promise((r) => setTimeout(r, 20));
    assert.ok(miner.calls.some((c) => c.method === 'restart'));
    const quit = json(await request(open.port, '{"command":"quit"}'));
    assert.equal(quit.STATUS[0]!.Code, 14, 'quit unsupported by this source');
  });

  test('garbage gets an error STATUS and the server keeps serving', async () => {
    const cases: Array<[string | Buffer, number]> = [
      ['{"command":', 23],
      ['{"cmd":"summary"}', 24],
      ['{"command":7}', 24],
      ['[1,2,3]', 14], // not starting with '{': a plain request naming no known command
      ['nonsense', 14],
      [Buffer.from([0xff, 0xfe, 0x00, 0x01]), 14],
      ['', 14],
    ];
    for (const [payload, code] of cases) {
      const text = await request(closed.port, payload, true);
      const m = /"Code":(\d+)|Code=(\d+)/.exec(text);
      assert.ok(m, `status for ${String(payload)}`);
      assert.equal(Number(m[1] ?? m[2]), code, String(payload));
      assert.ok(text.endsWith('\0'));
    }
    const big = await request(closed.port, `{"command":"summary","x":"${'a'.repeat(70_000)}"}`);
    assert.match(big, /"Code":23/);
    const after = json(await request(closed.port, '{"command":"summary"}'));
    assert.equal(after.STATUS[0]!.Code, 11);
  });

  test('allow list and listen parsing', () => {
    const rules = parseAllow(['W:10.0.0/24', '192.168.1.7', '::1']);
    const hit = (a: string) => rules.some((r) => r.test(a));
    assert.equal(hit('10.0.0.99'), true);
    assert.equal(hit('::ffff:10.0.0.5'), true);
    assert.equal(hit('10.0.1.1'), false);
    assert.equal(hit('192.168.1.7'), true);
    assert.equal(hit('192.168.1.8'), false);
    assert.equal(hit('::1'), true);
    assert.throws(() => parseAllow(['W:300.1.1.1']), /api-allow entry "W:300\.1\.1\.1" is invalid/);
    assert.deepEqual(parseListen('0.0.0.0:4028'), { host: '0.0.0.0', port: 4028 });
    assert.deepEqual(parseListen('[::1]:4029'), { host: '::1', port: 4029 });
    assert.throws(() => parseListen('4028'), /--api-listen "4028" is invalid/);
  });
});
