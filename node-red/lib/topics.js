/**
 * The asicd MQTT topic schema (host/telemetry/TOPICS.md), mirrored in CommonJS for the Node-RED nodes
 * (they run without a build step and cannot import the TypeScript original). Keep both in step.
 */
'use strict';

/** Base topic for a device id ('+' = every device under the default prefix). */
function baseTopic(deviceId, override) {
  if (override) return String(override).replace(/\/+$/, '');
  return `asicd/${deviceId || '+'}`;
}

function topics(base) {
  return {
    base,
    availability: `${base}/availability`,
    state: `${base}/state`,
    event: (type) => `${base}/event/${type || '+'}`,
    command: `${base}/cmd`,
    reply: `${base}/cmd/reply`,
  };
}

/** MQTT filter match (+ and # wildcards). */
function matches(filter, topic) {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

/** Device id of a topic under the default `asicd/<id>/...` schema (undefined for custom bases). */
function deviceIdOf(topic) {
  const m = /^asicd\/([^/]+)\//.exec(topic);
  return m ? m[1] : undefined;
}

/** Formats GH/s for node status text. */
function formatHashrate(ghs) {
  if (typeof ghs !== 'number' || !Number.isFinite(ghs)) return '?';
  if (ghs >= 1000) return `${(ghs / 1000).toFixed(2)} TH/s`;
  return `${ghs.toFixed(1)} GH/s`;
}

module.exports = { baseTopic, topics, matches, deviceIdOf, formatHashrate };
