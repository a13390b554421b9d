/**
 * MQTT telemetry and control over MQTT.js v5 (topic schema in TOPICS.md):
 * - availability: retained `online`, last will `offline`;
 * - state: retained JSON every `intervalMs` and, debounced, whenever the daemon reports a change;
 * - events: not retained, QoS 1, rate limited;
 * - commands (off unless enabled) on `<base>/cmd`, replies on `<base>/cmd/reply`;
 * - Home Assistant discovery (discovery.ts) on every connect and when the entity set changes.
 *
 * Broker trouble never reaches mining: the client connects in the background, every publish is
 * guarded, and reconnects use our own jittered exponential backoff (MQTT.js's reconnectPeriod is fixed,
 * so it is set to 0 and we call reconnect()). Nothing buffers without bound: QoS 0 is never queued
 * offline (queueQoSZero false), state is coalesced to one pending publish, events wait in a small
 * bounded queue while offline and are limited in flight while online. Stale commands are never
 * replayed: clean sessions (no persistent subscription) and retained command messages are ignored.
 */
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import { Backoff, type BackoffOptions, withDefaults } from '../../lib/backoff.ts';
import { type Clock, systemClock, type TimerHandle } from '../../lib/clock.ts';
import { type Logger, silentLogger } from '../../lib/log.ts';
import { redactText, safeJson } from '../../lib/redact.ts';
import { sanitizePoolUrl } from '../api/sanitize.ts';
import type { MinerEvent, MinerSource, MinerState, Unsubscribe } from '../api/types.ts';
import { applyCommand, type CommandReply, parseCommand } from './commands.ts';
import { deriveDeviceId } from './device-id.ts';
import { buildDiscovery } from './discovery.ts';
import { defaultBaseTopic, type Topics, topicsFor, validateBaseTopic } from './topics.ts';

/** MQTT.js has only a fixed reconnect period; ours grows from 1 s to 60 s, each delay cut by up to half. */
const RECONNECT_BACKOFF = { initialMs: 1000, maxMs: 60_000, factor: 2, jitter: 0.5 };

export interface MqttTelemetryOptions {
  /** mqtt://host:1883 or mqtts://host:8883 (ws:// and wss:// work too). */
  url: string;
  username?: string;
  password?: string;
  /** PEM CA file for mqtts:// with a private CA. */
  caFile?: string;
  /** PEM CA contents (instead of caFile). */
  ca?: string | Buffer;
  /** Default true; false only for testing against self-signed brokers. */
  rejectUnauthorized?: boolean;
  /** Configured id; default derived from the board serial / MAC (device-id.ts). */
  deviceId?: string;
  /** Default `asicd/<deviceId>`. */
  baseTopic?: string;
  /** State publish interval, default 10 000 ms. */
  intervalMs?: number;
  /** Delay that coalesces bursts of changes into one state publish, default 250 ms. */
  debounceMs?: number;
  /** Commands are refused ("commands disabled") unless true. */
  commandsEnabled?: boolean;
  /** Home Assistant discovery prefix, default `homeassistant`. */
  discoveryPrefix?: string;
  /** Publish discovery, default true. */
  discovery?: boolean;
  /** The dashboard's address for HA's device page (`configuration_url`). */
  configurationUrl?: string;
  clientId?: string;
  /** 4 (MQTT 3.1.1, default: works with every broker incl. aedes) or 5. */
  protocolVersion?: 4 | 5;
  /** Reconnect backoff (lib/backoff.ts); defaults: initialMs 1000, maxMs 60 000, factor 2, jitter 0.5. */
  reconnect?: BackoffOptions;
  connectTimeoutMs?: number;
  keepaliveS?: number;
  /** Events kept while the broker is unreachable (oldest dropped first), default 100. */
  maxQueuedEvents?: number;
  /** Unacknowledged QoS 1 events allowed on the wire, default 64 (more are dropped and counted). */
  maxInflight?: number;
  /** Sustained events per second (burst of the same size), default 50. */
  eventRatePerSec?: number;
  clock?: Clock;
  logger?: Logger;
}

export interface MqttTelemetryStats {
  connected: boolean;
  connects: number;
  reconnectAttempts: number;
  statePublished: number;
  eventsPublished: number;
  eventsDropped: number;
  eventsQueued: number;
  commandsOk: number;
  commandsFailed: number;
  retainedCommandsIgnored: number;
  discoveryPublished: number;
}

interface Events {
  connect: [];
  close: [];
  reply: [CommandReply];
}

const MAX_PENDING_COMMANDS = 8;

export class MqttTelemetry extends EventEmitter<Events> {
  readonly deviceId: string;
  readonly topics: Topics;
  private readonly opts: MqttTelemetryOptions;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly backoff: Backoff;
  private client: MqttClient | undefined;
  private unsubscribe: Unsubscribe | undefined;
  private intervalTimer: TimerHandle | undefined;
  private debounceTimer: TimerHandle | undefined;
  private reconnectTimer: TimerHandle | undefined;
  private stopping = false;
  /** Increments per connection, so late callbacks of an old connection are ignored. */
  private epoch = 0;
  private statePending = false;
  private stateDirty = false;
  private inflight = 0;
  private readonly queue: MinerEvent[] = [];
  private tokens: number;
  private tokensAt: number;
  private commandChain: Promise<void> = Promise.resolve();
  private pendingCommands = 0;
  private lastDiscoveryKey = '';
  private lastDiscoveryShape = '';
  private readonly s: MqttTelemetryStats = {
    connected: false,
    connects: 0,
    reconnectAttempts: 0,
    statePublished: 0,
    eventsPublished: 0,
    eventsDropped: 0,
    eventsQueued: 0,
    commandsOk: 0,
    commandsFailed: 0,
    retainedCommandsIgnored: 0,
    discoveryPublished: 0,
  };

  private readonly source: MinerSource;
  constructor(source: MinerSource, opts: MqttTelemetryOptions) {
    super();
    this.source = source;
    if (!/^(mqtts?|wss?):\/\//.test(opts.url)) {
      throw new Error(
        `mqtt url "${redactText(opts.url)}" is invalid: expected mqtt://, mqtts://, ws:// or wss://`,
      );
    }
    this.opts = opts;
    this.clock = opts.clock ?? systemClock;
    this.log = (opts.logger ?? silentLogger).child('mqtt');
    this.backoff = new Backoff(withDefaults(opts.reconnect, RECONNECT_BACKOFF));
    this.deviceId =
      opts.deviceId !== undefined ? deriveDeviceId({ configured: opts.deviceId }) : deriveDeviceId();
    const base = opts.baseTopic ?? defaultBaseTopic(this.deviceId);
    validateBaseTopic(base);
    this.topics = topicsFor(base);
    this.tokens = this.rate;
    this.tokensAt = this.clock.now();
  }

  private get rate(): number {
    return this.opts.eventRatePerSec ?? 50;
  }

  /** The underlying MQTT.js client (diagnostics and tests; do not publish through it). */
  get mqttClient(): MqttClient | undefined {
    return this.client;
  }

  get connected(): boolean {
    return this.s.connected;
  }

  stats(): MqttTelemetryStats {
    return { ...this.s, eventsQueued: this.queue.length };
  }

  /** Starts connecting in the background; returns at once (mining never waits for the broker). */
  start(): void {
    if (this.client) return;
    const o = this.opts;
    const options: IClientOptions = {
      clientId: o.clientId ?? `asicd_${this.deviceId}_${Math.random().toString(16).slice(2, 8)}`,
      protocolVersion: o.protocolVersion ?? 4,
      clean: true,
      reconnectPeriod: 0,
      connectTimeout: o.connectTimeoutMs ?? 10_000,
      keepalive: o.keepaliveS ?? 30,
      queueQoSZero: false,
      resubscribe: false,
      will: { topic: this.topics.availability, payload: Buffer.from('offline'), qos: 1, retain: true },
    };
    if (o.username !== undefined) options.username = o.username;
    if (o.password !== undefined) options.password = o.password;
    if (o.caFile) options.ca = readFileSync(o.caFile);
    else if (o.ca) options.ca = o.ca;
    if (o.rejectUnauthorized !== undefined) options.rejectUnauthorized = o.rejectUnauthorized;
    this.log.info('mqtt_connecting', { url: o.url, base: this.topics.base, commands: !!o.commandsEnabled });
    const client = mqtt.connect(o.url, options);
    this.client = client;
    client.on('connect', () => this.onConnect());
    client.on('close', () => this.onClose());
    client.on('error', (err) => {
      const hint = tlsHint(err as NodeJS.ErrnoException, o);
      if (hint) this.log.error('mqtt_tls_error', { url: o.url, error: err.message, hint });
      else this.log.warn('mqtt_error', { error: err.message });
    });
    client.on('message', (topic, payload, packet) => this.onMessage(topic, payload, packet));
    this.unsubscribe = this.source.onEvent((e) => this.onMinerEvent(e));
    this.intervalTimer = this.clock.setInterval(() => this.publishState(), o.intervalMs ?? 10_000);
  }

  /** Resolves once connected (or rejects after timeoutMs). For the demo and tests. */
  waitConnected(timeoutMs = 10_000): Promise<void> {
    if (this.s.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.off('connect', ok);
        reject(new Error(`mqtt: not connected to ${this.opts.url} after ${timeoutMs} ms`));
      }, timeoutMs);
      const ok = () => {
        clearTimeout(t);
        resolve();
      };
      this.once('connect', ok);
    });
  }

  /** Publishes `offline`, disconnects cleanly and releases every timer and listener. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.unsubscribe?.();
    this.clock.clearInterval(this.intervalTimer);
    this.clock.clearTimeout(this.debounceTimer);
    this.clock.clearTimeout(this.reconnectTimer);
    const client = this.client;
    if (!client) return;
    if (this.s.connected) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 2000);
        client.publish(this.topics.availability, 'offline', { qos: 1, retain: true }, () => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        client.end(true);
        resolve();
      }, 2000);
      client.end(false, {}, () => {
        clearTimeout(t);
        resolve();
      });
    });
    this.s.connected = false;
  }

  /** Publishes the state now (coalesced: at most one state publish is in flight). */
  publishState(): void {
    const client = this.client;
    if (!client || !this.s.connected) {
      this.stateDirty = true;
      return;
    }
    if (this.statePending) {
      this.stateDirty = true;
      return;
    }
    this.stateDirty = false;
    let state: MinerState;
    try {
      state = this.source.getState();
    } catch (err) {
      this.log.error('state_read_failed', { error: err as Error });
      return;
    }
    this.maybePublishDiscovery(state);
    const payload = safeJson(publicState(state));
    this.statePending = true;
    const epoch = this.epoch;
    client.publish(this.topics.state, payload, { qos: 0, retain: true }, (err) => {
      if (epoch !== this.epoch) return;
      this.statePending = false;
      if (!err) this.s.statePublished++;
      if (this.stateDirty) this.publishState();
    });
  }

  private scheduleState(): void {
    if (this.debounceTimer || this.stopping) return;
    this.debounceTimer = this.clock.setTimeout(() => {
      this.debounceTimer = undefined;
      this.publishState();
    }, this.opts.debounceMs ?? 250);
  }

  private onConnect(): void {
    // A CONNACK that lands after stop() began: the client is ending (its store is gone), so nothing may
    // be published or subscribed — mqtt.js throws from inside its packet handler and the process dies.
    if (this.stopping) return;
    this.epoch++;
    this.statePending = false;
    this.inflight = 0;
    this.s.connected = true;
    this.s.connects++;
    this.backoff.reset();
    this.lastDiscoveryKey = '';
    this.lastDiscoveryShape = '';
    const client = this.client!;
    // Small messages (replies, events): send at once instead of waiting on Nagle's algorithm.
    (client.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
    this.log.info('mqtt_connected', { url: this.opts.url, connects: this.s.connects });
    // MQTT 5: retain handling 2 = do not send retained messages on subscribe (3.1.1: we check the flag).
    client.subscribe(this.topics.command, {
      qos: 1,
      ...(client.options.protocolVersion === 5 ? { rh: 2 } : {}),
    });
    client.publish(this.topics.availability, 'online', { qos: 1, retain: true });
    this.publishState();
    const queued = this.queue.splice(0);
    for (const e of queued) this.sendEvent(e);
    this.emit('connect');
  }

  private onClose(): void {
    const was = this.s.connected;
    this.s.connected = false;
    this.epoch++;
    this.statePending = false;
    this.inflight = 0;
    if (was) {
      this.log.warn('mqtt_disconnected', { url: this.opts.url });
      this.emit('close');
    }
    if (this.stopping || this.reconnectTimer) return;
    const delay = this.backoff.next();
    this.s.reconnectAttempts++;
    this.log.info('mqtt_reconnect_scheduled', { inMs: delay, attempt: this.backoff.attempts });
    this.reconnectTimer = this.clock.setTimeout(() => {
      this.reconnectTimer = undefined;
      if (!this.stopping) this.client?.reconnect();
    }, delay);
  }

  private maybePublishDiscovery(state: MinerState): void {
    if (this.opts.discovery === false) return;
    // Discovery only depends on the state's shape; skip the rebuild while the shape is unchanged.
    const shape = discoveryShape(state);
    if (shape === this.lastDiscoveryShape) return;
    this.lastDiscoveryShape = shape;
    const msgs = buildDiscovery(state, {
      deviceId: this.deviceId,
      prefix: this.opts.discoveryPrefix ?? 'homeassistant',
      topics: this.topics,
      commandsEnabled: !!this.opts.commandsEnabled,
      ...(this.opts.configurationUrl ? { configurationUrl: this.opts.configurationUrl } : {}),
    });
    const key = msgs.map((m) => `${m.topic}\n${m.payload}`).join('\n');
    if (key === this.lastDiscoveryKey) return;
    this.lastDiscoveryKey = key;
    for (const m of msgs) this.client!.publish(m.topic, redactText(m.payload), { qos: 1, retain: true });
    this.s.discoveryPublished++;
  }

  private onMinerEvent(e: MinerEvent): void {
    if (e.type === 'state_changed') {
      this.scheduleState();
      return;
    }
    if (!this.takeToken()) {
      this.s.eventsDropped++;
      return;
    }
    if (e.type === 'overheat' || e.type === 'pool_switched' || e.type === 'fault') this.scheduleState();
    if (!this.s.connected) {
      this.queue.push(e);
      const max = this.opts.maxQueuedEvents ?? 100;
      while (this.queue.length > max) {
        this.queue.shift();
        this.s.eventsDropped++;
      }
      return;
    }
    this.sendEvent(e);
  }

  private takeToken(): boolean {
    const now = this.clock.now();
    const rate = this.rate;
    this.tokens = Math.min(rate, this.tokens + ((now - this.tokensAt) / 1000) * rate);
    this.tokensAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  private sendEvent(e: MinerEvent): void {
    if (this.inflight >= (this.opts.maxInflight ?? 64)) {
      this.s.eventsDropped++;
      return;
    }
    this.inflight++;
    const epoch = this.epoch;
    this.client!.publish(this.topics.event(e.type), safeJson(e), { qos: 1, retain: false }, (err) => {
      if (epoch !== this.epoch) return;
      this.inflight--;
      if (err) this.s.eventsDropped++;
      else this.s.eventsPublished++;
    });
  }

  private onMessage(topic: string, payload: Buffer, packet: IPublishPacket): void {
    if (topic !== this.topics.command) return;
    if (packet.retain) {
      // A retained command is old by definition (someone published it with retain): never act on it.
      this.s.retainedCommandsIgnored++;
      this.log.warn('mqtt_retained_command_ignored', { topic });
      return;
    }
    if (!this.opts.commandsEnabled) {
      const parsed = parseCommand(payload, this.source.limits, 0);
      this.reply({
        id: parsed.id,
        command: parsed.ok ? parsed.cmd.command : parsed.command,
        ok: false,
        error: 'commands disabled (enable them in the asicd config: mqtt.commands: true)',
      });
      return;
    }
    let poolCount = 0;
    try {
      poolCount = this.source.getState().pools.length;
    } catch {}
    const parsed = parseCommand(payload, this.source.limits, poolCount);
    if (!parsed.ok) {
      this.log.warn('mqtt_command_rejected', { command: parsed.command, error: parsed.error });
      this.reply({ id: parsed.id, command: parsed.command, ok: false, error: parsed.error });
      return;
    }
    if (this.pendingCommands >= MAX_PENDING_COMMANDS) {
      this.reply({
        id: parsed.id,
        command: parsed.cmd.command,
        ok: false,
        error: 'busy: too many pending commands',
      });
      return;
    }
    this.pendingCommands++;
    // Commands run one at a time, in arrival order.
    this.commandChain = this.commandChain.then(async () => {
      const { id, cmd } = parsed;
      try {
        const result = await applyCommand(cmd, this.source.control);
        this.log.info('mqtt_command_applied', { command: cmd.command, result });
        this.reply({ id, command: cmd.command, ok: true, result });
      } catch (err) {
        this.log.warn('mqtt_command_failed', { command: cmd.command, error: err as Error });
        this.reply({ id, command: cmd.command, ok: false, error: (err as Error).message });
      } finally {
        this.pendingCommands--;
        this.scheduleState();
      }
    });
  }

  private reply(r: CommandReply): void {
    if (r.ok) this.s.commandsOk++;
    else this.s.commandsFailed++;
    this.emit('reply', r);
    if (this.s.connected) this.client?.publish(this.topics.reply, safeJson(r), { qos: 1, retain: false });
  }
}

const CERT_UNTRUSTED = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'CERT_SIGNATURE_FAILURE',
]);

/** A sentence that tells the user what to fix when the broker's TLS certificate is refused. */
export function tlsHint(
  err: NodeJS.ErrnoException,
  o: Pick<MqttTelemetryOptions, 'caFile' | 'ca' | 'url'>,
): string | undefined {
  const code = String(err.code ?? '');
  const ca = o.caFile ? `the CA in --mqtt-ca (${o.caFile})` : o.ca ? 'the configured CA' : "the system's CAs";
  if (CERT_UNTRUSTED.has(code))
    return `the broker's certificate is not signed by ${ca}: point --mqtt-ca at the CA that signed the broker's certificate`;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID')
    return `the broker's certificate does not name the host in ${o.url}: connect by a name the certificate lists`;
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID')
    return `the broker's certificate is outside its validity period (${code}); check the broker's certificate and this machine's clock`;
  return undefined;
}

/** What discovery depends on (names, counts, limits, optional figures), as a cheap string. */
function discoveryShape(s: MinerState): string {
  return JSON.stringify([
    s.device.name,
    s.device.version,
    s.board.model,
    s.temperatures.map((t) => t.name),
    s.fan.rpm.length,
    s.pools.map((p) => p.url),
    s.limits,
    s.powerW === undefined,
    s.voltageMv === undefined,
    s.power ? [s.power.inputV, s.power.currentA, s.power.vrTempC].map((x) => x === undefined) : null,
  ]);
}

/** The state as published: pool URLs without credentials. */
export function publicState(state: MinerState): MinerState {
  return {
    ...state,
    pool: state.pool ? { ...state.pool, url: sanitizePoolUrl(state.pool.url) } : null,
    pools: state.pools.map((p) => ({ ...p, url: sanitizePoolUrl(p.url) })),
  };
}
