/**
 * asicd event: emits miner events (share accepted / rejected, block found, pool switched, overheat,
 * fault) from `<base>/event/<type>`; msg.eventType names the type, msg.payload is the event.
 */
'use strict';
const { deviceIdOf } = require('../lib/topics.js');

module.exports = (RED) => {
  function AsicdEventNode(config) {
    RED.nodes.createNode(this, config);
    const device = RED.nodes.getNode(config.device);
    if (!device) {
      this.status({ fill: 'red', shape: 'ring', text: 'no device configured' });
      return;
    }
    const type = (config.eventType || '').trim();
    this.onConnection = (up) =>
      this.status(
        up
          ? { fill: 'green', shape: 'ring', text: 'listening' }
          : { fill: 'grey', shape: 'ring', text: 'disconnected' },
      );
    device.register(this);
    let count = 0;
    const unsub = device.subscribe(device.topics.event(type), (topic, payload, packet) => {
      if (packet?.retain) return; // events are never retained by asicd; ignore foreign ones
      let event;
      try {
        event = JSON.parse(payload.toString());
      } catch (err) {
        this.warn(`invalid event JSON on ${topic}: ${err.message}`);
        return;
      }
      count++;
      this.status({ fill: 'green', shape: 'dot', text: `${count} events, last ${event.type}` });
      this.send({
        topic,
        deviceId: deviceIdOf(topic) || device.deviceId,
        eventType: event.type,
        payload: event,
      });
    });
    this.on('close', () => {
      unsub();
      device.deregister(this);
    });
  }
  RED.nodes.registerType('asicd event', AsicdEventNode);
};
