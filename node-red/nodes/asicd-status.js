/**
 * asicd status: emits the miner's state (the retained `<base>/state` JSON) as msg.payload, with
 * msg.deviceId. With device id "+" it follows every asicd device on the broker (farm view).
 */
'use strict';
const { deviceIdOf, formatHashrate } = require('../lib/topics.js');

module.exports = (RED) => {
  function AsicdStatusNode(config) {
    RED.nodes.createNode(this, config);
    const device = RED.nodes.getNode(config.device);
    if (!device) {
      this.status({ fill: 'red', shape: 'ring', text: 'no device configured' });
      return;
    }
    const onlyChanges = !!config.onlyChanges;
    let last = new Map();
    const availability = new Map();
    this.onConnection = (up) => {
      if (!up) this.status({ fill: 'grey', shape: 'ring', text: 'broker disconnected' });
      else this.status({ fill: 'yellow', shape: 'ring', text: 'waiting for state' });
    };
    device.register(this);
    const unsubs = [
      device.subscribe(device.topics.availability, (topic, payload) => {
        const id = deviceIdOf(topic) || device.deviceId;
        availability.set(id, payload.toString());
        if (payload.toString() === 'offline')
          this.status({ fill: 'grey', shape: 'dot', text: `${id} offline` });
      }),
      device.subscribe(device.topics.state, (topic, payload) => {
        let state;
        try {
          state = JSON.parse(payload.toString());
        } catch (err) {
          this.warn(`invalid state JSON on ${topic}: ${err.message}`);
          return;
        }
        const id = deviceIdOf(topic) || state.device?.id || device.deviceId;
        const text = payload.toString();
        if (onlyChanges && last.get(id) === text) return;
        last.set(id, text);
        const mining = state.mining;
        const fill = mining === 'running' ? 'green' : mining === 'overheat' ? 'red' : 'yellow';
        const hr = state.hashrate ? formatHashrate(state.hashrate.now) : '?';
        this.status({
          fill,
          shape: 'dot',
          text: `${device.deviceId === '+' ? `${id}: ` : ''}${mining} ${hr}`,
        });
        this.send({ topic, deviceId: id, availability: availability.get(id), payload: state });
      }),
    ];
    this.on('close', () => {
      for (const u of unsubs) u();
      device.deregister(this);
      last = new Map();
    });
  }
  RED.nodes.registerType('asicd status', AsicdStatusNode);
};
