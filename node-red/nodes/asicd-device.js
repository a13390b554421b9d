/**
 * asicd-device: config node holding one MQTT connection to the broker an asicd miner publishes to,
 * shared by the status, event and command nodes that use it. Credentials live in Node-RED's
 * credential store, never in the flow file.
 */
'use strict';
const mqtt = require('mqtt');
const { baseTopic, topics, matches } = require('../lib/topics.js');
const { tlsOptions } = require('../lib/tls.js');

module.exports = (RED) => {
  function AsicdDeviceNode(config) {
    RED.nodes.createNode(this, config);
    const node = this;
    node.broker = config.broker || 'mqtt://127.0.0.1:1883';
    node.deviceId = (config.deviceId || '').trim() || '+';
    node.baseTopic = (config.baseTopic || '').trim();
    node.topics = topics(baseTopic(node.deviceId, node.baseTopic));
    node.connected = false;
    const subs = new Map(); // filter -> Set(handler)
    const users = new Set();
    let client = null;

    function notify() {
      for (const u of users) if (typeof u.onConnection === 'function') u.onConnection(node.connected);
    }

    function connect() {
      if (client) return;
      const opts = {
        clientId: `nodered_asicd_${Math.random().toString(16).slice(2, 10)}`,
        clean: true,
        reconnectPeriod: Number(config.reconnectMs) || 5000,
        connectTimeout: 10000,
        queueQoSZero: false,
        resubscribe: false,
      };
      if (node.credentials?.username) opts.username = node.credentials.username;
      if (node.credentials?.password) opts.password = node.credentials.password;
      try {
        Object.assign(opts, tlsOptions(config));
      } catch (err) {
        node.error(`TLS settings: ${err.message}`);
        return;
      }
      client = mqtt.connect(node.broker, opts);
      client.on('connect', () => {
        node.connected = true;
        const filters = [...subs.keys()];
        if (filters.length) client.subscribe(filters, { qos: 1 });
        notify();
      });
      client.on('close', () => {
        if (node.connected) {
          node.connected = false;
          notify();
        }
      });
      client.on('error', (err) => node.log(`mqtt ${node.broker}: ${err.message}`));
      client.on('message', (topic, payload, packet) => {
        for (const [filter, handlers] of subs) {
          if (!matches(filter, topic)) continue;
          for (const h of handlers) {
            try {
              h(topic, payload, packet);
            } catch (err) {
              node.error(`handler for ${topic} failed: ${err.message}`);
            }
          }
        }
      });
    }

    /** Registers a user node; the connection opens with the first user. */
    node.register = (user) => {
      users.add(user);
      connect();
      if (typeof user.onConnection === 'function') user.onConnection(node.connected);
    };
    node.deregister = (user) => {
      users.delete(user);
    };
    /** Subscribes `handler(topic, payload, packet)` to `filter`; returns an unsubscribe function. */
    node.subscribe = (filter, handler) => {
      connect();
      let set = subs.get(filter);
      if (!set) {
        set = new Set();
        subs.set(filter, set);
        if (node.connected) client.subscribe(filter, { qos: 1 });
      }
      set.add(handler);
      return () => {
        set.delete(handler);
        if (set.size === 0) {
          subs.delete(filter);
          if (client && node.connected) client.unsubscribe(filter);
        }
      };
    };
    /** Publishes only while connected (a command must never wait offline and run late). */
    node.publish = (topic, payload, opts, cb) => {
      if (!client || !node.connected) {
        cb(new Error(`not connected to ${node.broker}`));
        return;
      }
      client.publish(topic, payload, opts || { qos: 1 }, cb);
    };

    node.on('close', (done) => {
      users.clear();
      subs.clear();
      node.connected = false;
      if (!client) return done();
      const c = client;
      client = null;
      c.end(true, {}, () => done());
    });
  }

  RED.nodes.registerType('asicd-device', AsicdDeviceNode, {
    credentials: { username: { type: 'text' }, password: { type: 'password' } },
  });
};
