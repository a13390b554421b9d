/**
 * asicd command: sends a command to a miner's `<base>/cmd` topic and outputs the reply that carries
 * the same id (or a timeout error). msg.payload may be a full command object
 * (`{ "command": "fan", "mode": "manual", "percent": 60 }`); with a command configured on the node a
 * number payload is its value (fan %, frequency MHz, pool index) and "auto" sets the fan to auto.
 */
'use strict';
const { randomUUID } = require('node:crypto');
const { topics, baseTopic } = require('../lib/topics.js');

function buildCommand(configured, payload) {
  if (
    payload &&
    typeof payload === 'object' &&
    !Array.isArray(payload) &&
    typeof payload.command === 'string'
  ) {
    return Object.assign({}, payload);
  }
  if (!configured)
    throw new Error('msg.payload must be an object with a "command" field (or configure a command)');
  const cmd = { command: configured };
  if (payload && typeof payload === 'object' && !Array.isArray(payload)) return Object.assign(cmd, payload);
  const n = typeof payload === 'string' && payload.trim() !== '' ? Number(payload) : payload;
  if (configured === 'fan') {
    if (payload === 'auto') cmd.mode = 'auto';
    else Object.assign(cmd, { mode: 'manual', percent: n });
  } else if (configured === 'frequency') cmd.mhz = n;
  else if (configured === 'pool') cmd.index = n;
  return cmd;
}

module.exports = (RED) => {
  function AsicdCommandNode(config) {
    RED.nodes.createNode(this, config);
    const node = this;
    const device = RED.nodes.getNode(config.device);
    if (!device) {
      node.status({ fill: 'red', shape: 'ring', text: 'no device configured' });
      return;
    }
    const timeoutMs = Math.max(0.1, Number(config.timeout) || 10) * 1000;
    const pending = new Map(); // id -> { msg, send, done, timer }
    const replySubs = new Map(); // reply topic -> unsubscribe
    node.onConnection = (up) =>
      node.status(
        up
          ? { fill: 'green', shape: 'ring', text: 'ready' }
          : { fill: 'grey', shape: 'ring', text: 'disconnected' },
      );
    device.register(node);

    function finish(id, reply) {
      const p = pending.get(id);
      if (!p) return;
      pending.delete(id);
      clearTimeout(p.timer);
      p.msg.payload = reply;
      node.status(
        reply.ok
          ? { fill: 'green', shape: 'dot', text: `${reply.command}: ok` }
          : { fill: 'red', shape: 'dot', text: `${reply.command || 'command'}: ${reply.error}` },
      );
      p.send(p.msg);
      if (reply.ok) p.done();
      else p.done(reply.error);
    }

    function ensureReplySubscription(replyTopic) {
      if (replySubs.has(replyTopic)) return;
      replySubs.set(
        replyTopic,
        device.subscribe(replyTopic, (_topic, payload) => {
          let r;
          try {
            r = JSON.parse(payload.toString());
          } catch {
            return;
          }
          if (r && pending.has(r.id)) finish(r.id, r);
        }),
      );
    }

    node.on('input', (msg, send, done) => {
      const deviceId = msg.deviceId || device.deviceId;
      if (!deviceId || deviceId === '+') {
        done('this device config follows all devices ("+"): set msg.deviceId to pick one');
        return;
      }
      const t = device.deviceId === deviceId ? device.topics : topics(baseTopic(deviceId, ''));
      let cmd;
      try {
        cmd = buildCommand(config.command || '', msg.payload);
      } catch (err) {
        done(err.message);
        return;
      }
      const id = typeof msg.commandId === 'string' ? msg.commandId : randomUUID();
      cmd.id = id;
      msg.deviceId = deviceId;
      msg.commandId = id;
      ensureReplySubscription(t.reply);
      const timer = setTimeout(
        () =>
          finish(id, {
            id,
            command: cmd.command,
            ok: false,
            error: `timeout: no reply within ${timeoutMs} ms`,
          }),
        timeoutMs,
      );
      pending.set(id, { msg, send, done, timer });
      node.status({ fill: 'yellow', shape: 'ring', text: `${cmd.command}…` });
      device.publish(t.command, JSON.stringify(cmd), { qos: 1, retain: false }, (err) => {
        if (err) finish(id, { id, command: cmd.command, ok: false, error: err.message });
      });
    });

    node.on('close', () => {
      for (const p of pending.values()) clearTimeout(p.timer);
      pending.clear();
      for (const u of replySubs.values()) u();
      replySubs.clear();
      device.deregister(node);
    });
  }
  RED.nodes.registerType('asicd command', AsicdCommandNode);
};
module.exports.buildCommand = buildCommand;
