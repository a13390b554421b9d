/**
 * TLS options for the broker connection (mqtts:// and wss://): a CA file for a private CA, a client
 * certificate and key for brokers that require one, and certificate checking (on unless switched off
 * explicitly, for a test broker with a self-signed certificate).
 */
'use strict';
const fs = require('node:fs');

/** mqtt.js connect options from the device node's TLS settings; reads the files given. */
function tlsOptions(config, readFile = (p) => fs.readFileSync(p)) {
  const o = {};
  if (config.caFile) o.ca = readFile(config.caFile);
  if (config.certFile) o.cert = readFile(config.certFile);
  if (config.keyFile) o.key = readFile(config.keyFile);
  if (config.certFile && !config.keyFile) throw new Error('TLS: a client certificate needs its key file');
  if (config.rejectUnauthorized === false || config.rejectUnauthorized === 'false')
    o.rejectUnauthorized = false;
  if (config.servername) o.servername = String(config.servername);
  return o;
}

module.exports = { tlsOptions };
