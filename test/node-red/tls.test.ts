/**
 * The broker node's TLS settings become mqtt.js options: CA, client certificate and key read from
 * their files, certificate checking on unless switched off, a certificate without its key refused.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';

const require = createRequire(import.meta.url);
const { tlsOptions } = require('../../node-red/lib/tls.js') as {
  tlsOptions(c: Record<string, unknown>, read?: (p: string) => Buffer): Record<string, unknown>;
};

test('TLS options for the broker connection', () => {
  const read = (p: string) => Buffer.from(`PEM of ${p}`);
  assert.deepEqual(tlsOptions({}, read), {}, 'plain mqtt:// needs nothing');
  const o = tlsOptions(
    {
      caFile: '/ca.pem',
      certFile: '/c.pem',
      keyFile: '/k.pem',
      rejectUnauthorized: true,
      servername: 'b.lan',
    },
    read,
  );
  assert.equal(String(o.ca), 'PEM of /ca.pem');
  assert.equal(String(o.cert), 'PEM of /c.pem');
  assert.equal(String(o.key), 'PEM of /k.pem');
  assert.equal(o.rejectUnauthorized, undefined, 'verification stays on (mqtt.js default)');
  assert.equal(o.servername, 'b.lan');
  assert.equal(tlsOptions({ rejectUnauthorized: false }, read).rejectUnauthorized, false);
  assert.throws(() => tlsOptions({ certFile: '/c.pem' }, read), /needs its key file/);
  assert.throws(() => tlsOptions({ caFile: '/nonexistent/ca.pem' }), /ENOENT/);
});
