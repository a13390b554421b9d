/**
 * Home Assistant MQTT discovery: one device per miner with sensors, binary sensors, and (when commands
 * are enabled) a switch, numbers, a select and buttons whose command topics speak the command schema
 * (commands.ts) through `command_template`. Config topics are
 * `<prefix>/<component>/asicd_<deviceId>/<key>/config`, unique ids `asicd_<deviceId>_<key>`.
 * The builder is pure: the publisher decides when to (re)send (on connect, when the set changes).
 */
import type { MinerState } from '../api/types.ts';
import type { Topics } from './topics.ts';

export interface DiscoveryMessage {
  topic: string;
  /** JSON config, or '' to remove an entity that no longer exists. */
  payload: string;
  /** Component and key, for tests and logs. */
  component: string;
  key: string;
}

export interface DiscoveryOptions {
  deviceId: string;
  prefix: string;
  topics: Topics;
  commandsEnabled: boolean;
  /** The dashboard's address (HA's "Visit" link on the device page), when the HTTP server runs. */
  configurationUrl?: string;
}

/** HA `origin` block: which software published the discovery (shown in HA's MQTT info). */
export const ORIGIN = { name: 'asicd', support_url: 'https://github.com/asicd/asicd' } as const;

type Config = Record<string, unknown>;

export const CONTROL_COMPONENTS = ['switch', 'number', 'select', 'button'] as const;

export function slug(s: string): string {
  return (
    s
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '_')
      .replace(/^_+|_+$/g, '') || 'x'
  );
}

/** The option label of a pool in the HA select ("<index>: <url>"). */
export function poolOption(p: { index: number; url: string }): string {
  return `${p.index}: ${p.url}`;
}

/** Builds every discovery message for the current state (temperature sensors and pool options vary). */
export function buildDiscovery(state: MinerState, opts: DiscoveryOptions): DiscoveryMessage[] {
  const { deviceId, prefix, topics } = opts;
  const node = `asicd_${deviceId}`;
  const device = {
    identifiers: [node],
    name: state.device.name || `asicd ${deviceId}`,
    manufacturer: 'asicd',
    model: state.board.model,
    sw_version: state.device.version,
    ...(opts.configurationUrl ? { configuration_url: opts.configurationUrl } : {}),
  };
  const origin = { ...ORIGIN, sw_version: state.device.version };
  const common = {
    availability_topic: topics.availability,
    payload_available: 'online',
    payload_not_available: 'offline',
    device,
    origin,
  };
  const out: DiscoveryMessage[] = [];
  const add = (component: string, key: string, cfg: Config) => {
    out.push({
      component,
      key,
      topic: `${prefix}/${component}/${node}/${key}/config`,
      payload: JSON.stringify({ ...cfg, unique_id: `${node}_${key}`, ...common }),
    });
  };
  const sensor = (key: string, name: string, tpl: string, extra: Config = {}) =>
    add('sensor', key, { name, state_topic: topics.state, value_template: `{{ ${tpl} }}`, ...extra });
  const ghs = { unit_of_measurement: 'GH/s', state_class: 'measurement', icon: 'mdi:pickaxe' };
  sensor('hashrate', 'Hashrate', 'value_json.hashrate.now', ghs);
  sensor('hashrate_1m', 'Hashrate 1m', 'value_json.hashrate.avg1m', ghs);
  sensor('hashrate_10m', 'Hashrate 10m', 'value_json.hashrate.avg10m', ghs);
  sensor('hashrate_1h', 'Hashrate 1h', 'value_json.hashrate.avg1h', ghs);
  sensor('hashrate_expected', 'Expected hashrate', 'value_json.hashrate.expected', ghs);
  for (const t of state.temperatures) {
    sensor(
      `temp_${slug(t.name)}`,
      `Temperature ${t.name}`,
      `(value_json.temperatures | selectattr('name', 'eq', ${JSON.stringify(t.name)}) | map(attribute='celsius') | first) | default(none)`,
      { unit_of_measurement: '°C', device_class: 'temperature', state_class: 'measurement' },
    );
  }
  state.fan.rpm.forEach((_, i) => {
    sensor(`fan_rpm_${i}`, `Fan ${i} speed`, `value_json.fan.rpm[${i}]`, {
      unit_of_measurement: 'rpm',
      state_class: 'measurement',
      icon: 'mdi:fan',
      entity_category: 'diagnostic',
    });
  });
  sensor('fan_duty', 'Fan duty', 'value_json.fan.dutyPercent', {
    unit_of_measurement: '%',
    state_class: 'measurement',
    icon: 'mdi:fan',
    entity_category: 'diagnostic',
  });
  sensor('shares_accepted', 'Shares accepted', 'value_json.shares.accepted', {
    state_class: 'total_increasing',
  });
  sensor('shares_rejected', 'Shares rejected', 'value_json.shares.rejected', {
    state_class: 'total_increasing',
  });
  sensor('best_difficulty', 'Best difficulty', 'value_json.bestDifficulty.session', { icon: 'mdi:trophy' });
  sensor('best_difficulty_all_time', 'Best difficulty (all time)', 'value_json.bestDifficulty.allTime', {
    icon: 'mdi:trophy',
  });
  sensor('frequency', 'Frequency', 'value_json.frequencyMhz', {
    unit_of_measurement: 'MHz',
    state_class: 'measurement',
    entity_category: 'diagnostic',
  });
  sensor('uptime', 'Uptime', 'value_json.device.uptimeS', {
    unit_of_measurement: 's',
    device_class: 'duration',
    entity_category: 'diagnostic',
  });
  sensor('pool', 'Pool', "value_json.pool.url if value_json.pool else 'none'", {
    icon: 'mdi:server-network',
    entity_category: 'diagnostic',
  });
  if (state.powerW !== undefined) {
    sensor('power', 'Power', 'value_json.powerW', {
      unit_of_measurement: 'W',
      device_class: 'power',
      state_class: 'measurement',
    });
  }
  if (state.voltageMv !== undefined) {
    sensor('voltage', 'Voltage', 'value_json.voltageMv', {
      unit_of_measurement: 'mV',
      device_class: 'voltage',
      state_class: 'measurement',
    });
  }
  // Board power (boards with a regulator or power monitor): base units, HA device classes.
  const pw = state.power;
  if (pw?.inputV !== undefined)
    sensor('input_voltage', 'Input voltage', 'value_json.power.inputV', {
      unit_of_measurement: 'V',
      device_class: 'voltage',
      state_class: 'measurement',
      entity_category: 'diagnostic',
    });
  if (pw?.currentA !== undefined)
    sensor('current', 'Current', 'value_json.power.currentA', {
      unit_of_measurement: 'A',
      device_class: 'current',
      state_class: 'measurement',
      entity_category: 'diagnostic',
    });
  if (pw?.vrTempC !== undefined)
    sensor('vr_temperature', 'VR temperature', 'value_json.power.vrTempC', {
      unit_of_measurement: '°C',
      device_class: 'temperature',
      state_class: 'measurement',
      entity_category: 'diagnostic',
    });
  if (pw)
    sensor('core_voltage_setting', 'Core voltage setting', 'value_json.power.setMv', {
      unit_of_measurement: 'mV',
      device_class: 'voltage',
      entity_category: 'diagnostic',
    });
  if (pw?.powerW !== undefined)
    sensor('efficiency', 'Efficiency', 'value_json.power.efficiencyJth | default(none)', {
      unit_of_measurement: 'J/TH',
      state_class: 'measurement',
      icon: 'mdi:lightning-bolt-circle',
    });
  if (pw)
    add('binary_sensor', 'power_fault', {
      name: 'Power fault',
      state_topic: topics.state,
      value_template:
        "{{ 'ON' if value_json.power is defined and value_json.power.fault is defined else 'OFF' }}",
      device_class: 'problem',
      entity_category: 'diagnostic',
    });
  add('binary_sensor', 'mining', {
    name: 'Mining',
    state_topic: topics.state,
    value_template: "{{ 'ON' if value_json.mining == 'running' else 'OFF' }}",
    device_class: 'running',
  });
  add('binary_sensor', 'overheat', {
    name: 'Overheat',
    state_topic: topics.state,
    value_template: "{{ 'ON' if value_json.overheat.active else 'OFF' }}",
    device_class: 'heat',
  });

  // HA event entities: the published events (`<base>/event/<type>`) as HA events with an event_type.
  add('event', 'block_found', {
    name: 'Block found',
    state_topic: topics.event('block_found'),
    event_types: ['block_found'],
    value_template: '{"event_type":"block_found","hash":"{{ value_json.hash }}"}',
    icon: 'mdi:cube-outline',
  });
  add('event', 'overheat_event', {
    name: 'Overheat protection',
    state_topic: topics.event('overheat'),
    event_types: ['tripped', 'cleared'],
    value_template: `{"event_type":"{{ 'tripped' if value_json.active else 'cleared' }}"}`,
    icon: 'mdi:thermometer-alert',
  });
  add('event', 'failover', {
    name: 'Pool failover',
    state_topic: topics.event('pool_switched'),
    event_types: ['pool_switched'],
    value_template: '{"event_type":"pool_switched","to":{{ value_json.to }}}',
    icon: 'mdi:swap-horizontal',
  });

  // Controls: only offered when commands are enabled; otherwise their configs are removed ('').
  const controls: DiscoveryMessage[] = [];
  const control = (component: string, key: string, cfg: Config) => {
    const before = out.length;
    add(component, key, { command_topic: topics.command, ...cfg });
    controls.push(...out.splice(before));
  };
  control('switch', 'mining_switch', {
    name: 'Mining enabled',
    state_topic: topics.state,
    value_template: "{{ 'ON' if value_json.mining in ['running', 'overheat'] else 'OFF' }}",
    state_on: 'ON',
    state_off: 'OFF',
    payload_on: '{"command":"resume"}',
    payload_off: '{"command":"pause"}',
    icon: 'mdi:pickaxe',
  });
  control('number', 'fan_percent', {
    entity_category: 'config',
    name: 'Fan',
    state_topic: topics.state,
    value_template: '{{ value_json.fan.dutyPercent }}',
    command_template: '{"command":"fan","mode":"manual","percent":{{ value }}}',
    min: state.limits.fanPercent.min,
    max: state.limits.fanPercent.max,
    step: 1,
    unit_of_measurement: '%',
    mode: 'slider',
    icon: 'mdi:fan',
  });
  control('number', 'frequency_set', {
    entity_category: 'config',
    name: 'Frequency setting',
    state_topic: topics.state,
    value_template: '{{ value_json.frequencyMhz }}',
    command_template: '{"command":"frequency","mhz":{{ value }}}',
    min: state.limits.frequencyMhz.min,
    max: state.limits.frequencyMhz.max,
    step: 1,
    unit_of_measurement: 'MHz',
    mode: 'box',
  });
  control('select', 'pool_select', {
    entity_category: 'config',
    name: 'Active pool',
    state_topic: topics.state,
    value_template: "{{ value_json.pool.index ~ ': ' ~ value_json.pool.url if value_json.pool else '' }}",
    command_template: '{"command":"pool","index":{{ value.split(\':\')[0] | int }}}',
    options: state.pools.map(poolOption),
    icon: 'mdi:server-network',
  });
  if (state.limits.voltageMv)
    control('number', 'core_voltage_set', {
      entity_category: 'config',
      name: 'Core voltage',
      state_topic: topics.state,
      value_template: '{{ value_json.power.setMv if value_json.power is defined else none }}',
      command_template: '{"command":"voltage","mv":{{ value }}}',
      min: state.limits.voltageMv.min,
      max: state.limits.voltageMv.max,
      step: 1,
      unit_of_measurement: 'mV',
      device_class: 'voltage',
      mode: 'box',
    });
  control('button', 'fan_auto', {
    entity_category: 'config',
    name: 'Fan auto',
    payload_press: '{"command":"fan","mode":"auto"}',
    icon: 'mdi:fan-auto',
  });
  control('button', 'restart', {
    entity_category: 'config',
    name: 'Restart mining',
    payload_press: '{"command":"restart"}',
    device_class: 'restart',
  });
  if (opts.commandsEnabled) out.push(...controls);
  else out.push(...controls.map((m) => ({ ...m, payload: '' })));
  return out;
}
