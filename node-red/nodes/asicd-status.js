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
    // A device is offline when its last will says so, or when no live state came for staleAfter s.
    const staleMs =
      (config.staleAfter === undefined || config.staleAfter === '' ? 60 : Number(config.staleAfter)) * 1000;
    let last = new Map();
    const availability = new Map();
    /** deviceId -> { online, reason, lastSeen } */
    const health = new Map();
    const setOnline = (id, online, reason) => {
      const h = health.get(id) || { online: undefined, reason: undefined, lastSeen: 0 };
      const prev = h.online;
      h.online = online;
      h.reason = reason;
      health.set(id, h);
      if (prev === online || (prev === undefined && online)) return;
      if (!online) this.status({ fill: 'grey', shape: 'dot', text: `${id} ${reason}` });
      this.send([
        null,
        {
          topic: device.topics.availability.replace('+', id),
          deviceId: id,
          payload: { deviceId: id, online, reason, time: Date.now() },
        },
      ]);
    };
    this.onConnection = (up) => {
      if (!up) this.status({ fill: 'grey', shape: 'ring', text: 'broker disconnected' });
      else this.status({ fill: 'yellow', shape: 'ring', text: 'waiting for state' });
    };
    device.register(this);
    const timer =
      staleMs > 0
        ? setInterval(
            () => {
              const now = Date.now();
              for (const [id, h] of health)
                if (h.online && h.lastSeen > 0 && now - h.lastSeen > staleMs) setOnline(id, false, 'stale');
            },
            Math.max(250, Math.min(5000, staleMs / 4)),
          )
        : undefined;
    const unsubs = [
      device.subscribe(device.topics.availability, (topic, payload) => {
        const id = deviceIdOf(topic) || device.deviceId;
        const text = payload.toString();
        availability.set(id, text);
        if (text === 'offline') setOnline(id, false, 'offline');
        else if (text === 'online') {
          const h = health.get(id);
          if (!h) health.set(id, { online: true, reason: 'online', lastSeen: Date.now() });
          else if (!h.online) {
            h.lastSeen = Date.now();
            setOnline(id, true, 'online');
          }
        }
      }),
      device.subscribe(device.topics.state, (topic, payload, packet) => {
        let state;
        try {
          state = JSON.parse(payload.toString());
        } catch (err) {
          this.warn(`invalid state JSON on ${topic}: ${err.message}`);
          return;
        }
        const id = deviceIdOf(topic) || state.device?.id || device.deviceId;
        // A live (not retained) state is proof of life; a retained one may be old.
        if (!packet?.retain) {
          const h = health.get(id) || { online: undefined, reason: undefined, lastSeen: 0 };
          h.lastSeen = Date.now();
          health.set(id, h);
          if (h.online === false && availability.get(id) !== 'offline') setOnline(id, true, 'state');
          else if (h.online === undefined) h.online = availability.get(id) !== 'offline';
        }
        const text = payload.toString();
        if (onlyChanges && last.get(id) === text) return;
        last.set(id, text);
        const h = health.get(id);
        const offline = availability.get(id) === 'offline' || (h && h.online === false);
        const mining = state.mining;
        const fill = offline
          ? 'grey'
          : mining === 'running'
            ? 'green'
            : mining === 'overheat'
              ? 'red'
              : 'yellow';
        const hr = state.hashrate ? formatHashrate(state.hashrate.now) : '?';
        this.status({
          fill,
          shape: 'dot',
          text: `${device.deviceId === '+' ? `${id}: ` : ''}${offline ? `${h?.reason || 'offline'} (last: ${mining})` : `${mining} ${hr}`}`,
        });
        this.send({
          topic,
          deviceId: id,
          availability: offline
            ? h?.reason === 'stale'
              ? 'stale'
              : 'offline'
            : availability.get(id) || 'online',
          online: !offline,
          payload: state,
        });
      }),
    ];
    this.on('close', () => {
      if (timer) clearInterval(timer);
      for (const u of unsubs) u();
      device.deregister(this);
      last = new Map();
    });
  }
  RED.nodes.registerType('asicd status', AsicdStatusNode);
};
