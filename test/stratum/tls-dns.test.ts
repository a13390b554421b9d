/**
 * stratum+ssl:// against a TLS server on 127.0.0.1 with a throw-away self-signed certificate made by
 * openssl at test time: verified with the CA file, refused without it, accepted with the explicit
 * insecure flag. And a DNS name (localhost) for stratum+tcp://.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type DisconnectEvent, StratumClient, type StratumClientOptions } from '../../host/stratum/client.ts';
import { ManualClock } from '../../lib/clock.ts';
import { ScriptedServer } from './scripted-server.ts';

let dir = '';
let haveOpenssl = true;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'asicd-tls-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        '2',
        '-subj',
        '/CN=asicd-test',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
      ],
      { stdio: 'ignore' },
    );
  } catch {
    haveOpenssl = false;
  }
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function attempt(url: string, extra: Partial<StratumClientOptions>) {
  const c = new StratumClient({ url, user: 'u', clock: new ManualClock(), ...extra });
  const result = new Promise<'ready' | DisconnectEvent>((resolve) => {
    c.once('ready', () => resolve('ready'));
    c.once('disconnected', (d) => resolve(d));
  });
  c.connect();
  const r = await result;
  c.close();
  return r;
}

describe('TLS and DNS', () => {
  it('verifies the pool certificate against the given CA file; refuses without it; insecure flag skips it', async (t) => {
    if (!haveOpenssl) {
      t.skip('openssl not available');
      return;
    }
    const tls = { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
    const server = await ScriptedServer.start({}, 0, tls);
    try {
      for (const scheme of ['stratum+ssl', 'stratum+tls']) {
        const url = `${scheme}://127.0.0.1:${server.port}`;
        assert.equal(await attempt(url, { tlsCaFile: join(dir, 'cert.pem') }), 'ready', scheme);
      }
      const url = `stratum+ssl://127.0.0.1:${server.port}`;
      const refused = await attempt(url, {});
      assert.notEqual(refused, 'ready');
      if (refused !== 'ready') {
        assert.equal(refused.reason, 'connect-failed');
        assert.match(refused.detail ?? '', /self[- ]signed|certificate/i);
      }
      assert.equal(await attempt(url, { tlsInsecure: true }), 'ready');
      const missing = await attempt(url, { tlsCaFile: join(dir, 'nope.pem') });
      assert.ok(missing !== 'ready' && missing.reason === 'connect-failed');
    } finally {
      await server.stop();
    }
  });

  it('resolves a host name (localhost) for stratum+tcp://', async () => {
    const server = await ScriptedServer.start();
    try {
      const c = new StratumClient({
        url: `stratum+tcp://localhost:${server.port}`,
        user: 'u',
        clock: new ManualClock(),
      });
      c.connect();
      const [ev] = await once(c, 'connected');
      assert.equal(ev.host, 'localhost');
      await once(c, 'ready');
      c.close();
    } finally {
      await server.stop();
    }
  });
});
