/**
 * The thermal monitor: polls the sensors on the Clock (default every 500 ms, each read bounded by a
 * timeout), feeds the hottest reading to the protection state machine and the fan controller, writes
 * the fan, reads the tach, and publishes decisions and a status snapshot. Independent of the chip
 * code: the daemon listens for 'decision' events and applies them (idle/reset chips, set frequency).
 */
import type { FanDriver, TemperatureSensor } from '../../drivers/sensors/types.ts';
import { type Clock, systemClock, type TimerHandle } from '../../lib/clock.ts';
import { type Logger, silentLogger } from '../../lib/log.ts';
import { checkRange, FanController, type FanControllerOptions, type FanMode } from './fan-controller.ts';
import { Protection, type ProtectionOptions, type ThermalDecision, type ThermalState } from './protection.ts';

export interface ThermalMonitorOptions {
  /** Chip-temperature sensors; the hottest one governs (all must read, or the temperature is unknown). */
  sensors: TemperatureSensor[];
  fan?: FanDriver;
  protection: ProtectionOptions;
  fanControl?: FanControllerOptions;
  clock?: Clock;
  logger?: Logger;
  /** Poll period, ms (default 500). */
  pollMs?: number;
  /** A read slower than this counts as failed, ms (default 800). */
  readTimeoutMs?: number;
  /** Readings outside this range are treated as sensor faults (default [-40, 150] °C). */
  plausibleC?: [number, number];
  /** Fan below this rpm while driven at ≥ 30 % for 5 s is reported as stalled (default 200). */
  stallRpm?: number;
}

export interface SensorStatus {
  name: string;
  celsius: number | null;
  error: string | null;
}

export interface ThermalStatus {
  state: ThermalState | 'unmonitored';
  /** ms on the monitor's clock when this state began. */
  since: number;
  at: number;
  hashingAllowed: boolean;
  sensors: SensorStatus[];
  /** Hottest valid reading of the last poll, °C. */
  maxC: number | null;
  /** EMA the fan PID follows. */
  filteredC: number | null;
  targetC: number | null;
  limitC: number | null;
  fan: {
    duty: number | null;
    rpm: number | null;
    mode: FanMode | 'none';
    stalled: boolean;
    error: string | null;
  };
  /** Frequency the chips should run at, MHz (reduced after a trip or while throttled). */
  frequencyMHz: number | null;
  voltageMv: number | null;
  trips: { overheat: number; sensorFault: number; throttle: number };
  lastTrip: { at: number; tempC: number | null; reason: string } | null;
  reason: string | null;
  /** Why a resume is being held back (e.g. fan stalled), or null. */
  resumeBlocked: string | null;
}

type Listener<T> = (v: T) => void;

export class ThermalMonitor {
  readonly clock: Clock;
  readonly pollMs: number;
  readonly readTimeoutMs: number;
  private readonly log: Logger;
  private readonly protection: Protection;
  private readonly fanCtl: FanController;
  private readonly sensors: TemperatureSensor[];
  private readonly fan: FanDriver | undefined;
  private readonly plausible: [number, number];
  private readonly stallRpm: number;
  private timer: TimerHandle | undefined;
  private inFlight = false;
  private stopped = true;
  private readonly decisionListeners = new Set<Listener<ThermalDecision>>();
  private readonly statusListeners = new Set<Listener<ThermalStatus>>();
  private sensorStatus: SensorStatus[];
  private maxC: number | null = null;
  private duty: number | null = null;
  private dutyWrittenAt = Number.NEGATIVE_INFINITY;
  private rpm: number | null = null;
  private fanError: string | null = null;
  private lowRpmSince: number | undefined;
  private stalled = false;
  private lastState: ThermalState;
  private readonly deadlines = new Set<TimerHandle>();

  constructor(o: ThermalMonitorOptions) {
    if (o.sensors.length === 0) {
      throw new Error(
        'thermal.sensors: at least one temperature sensor is required (or run with --no-thermal)',
      );
    }
    this.clock = o.clock ?? systemClock;
    this.log = (o.logger ?? silentLogger).child('thermal');
    this.pollMs = checkRange('thermal.pollMs', o.pollMs ?? 500, 10, 1000);
    this.readTimeoutMs = checkRange('thermal.readTimeoutMs', o.readTimeoutMs ?? 800, 10, 1500);
    this.protection = new Protection(
      { ...o.protection, targetC: o.protection.targetC ?? o.fanControl?.targetC },
      this.clock.now(),
    );
    this.fanCtl = new FanController({ ...o.fanControl, targetC: this.protection.targetC });
    this.sensors = o.sensors;
    this.fan = o.fan;
    this.plausible = o.plausibleC ?? [-40, 150];
    this.stallRpm = o.stallRpm ?? 200;
    this.sensorStatus = o.sensors.map((s) => ({ name: s.name, celsius: null, error: null }));
    this.lastState = this.protection.snapshot().state;
  }

  /** Starts polling (first poll at once). Idempotent. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.log.info('thermal-start', {
      sensors: this.sensors.map((s) => s.name),
      fan: this.fan?.name ?? null,
      limitC: this.protection.limitC,
      targetC: this.fanCtl.target,
      pollMs: this.pollMs,
    });
    this.timer = this.clock.setInterval(() => this.tick(), this.pollMs);
    this.tick();
  }

  /** Stops polling and cancels pending read deadlines; the fan keeps its last duty. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.clock.clearInterval(this.timer);
    this.timer = undefined;
    for (const t of this.deadlines) this.clock.clearTimeout(t);
    this.deadlines.clear();
  }

  onDecision(fn: Listener<ThermalDecision>): () => void {
    this.decisionListeners.add(fn);
    return () => this.decisionListeners.delete(fn);
  }

  onStatus(fn: Listener<ThermalStatus>): () => void {
    this.statusListeners.add(fn);
    return () => this.statusListeners.delete(fn);
  }

  /** Manual fan duty 0..100, or undefined for automatic (PID). Protection still forces 100 % when needed. */
  setManualFan(duty: number | undefined): void {
    this.fanCtl.setManual(duty);
  }

  setTarget(c: number): void {
    this.fanCtl.setTarget(c);
    this.protection.targetC = this.fanCtl.target;
  }

  /** The daemon reports the frequency it applied (after a user change or a decision). */
  setFrequency(mhz: number): void {
    this.protection.setFrequency(mhz);
  }

  status(): ThermalStatus {
    const p = this.protection.snapshot();
    return {
      state: p.state,
      since: p.since,
      at: this.clock.now(),
      hashingAllowed: p.hashingAllowed,
      sensors: this.sensorStatus.map((s) => ({ ...s })),
      maxC: this.maxC,
      filteredC: this.fanCtl.filteredC ?? null,
      targetC: this.fanCtl.target,
      limitC: this.protection.limitC,
      fan: {
        duty: this.duty,
        rpm: this.rpm,
        mode: this.fan ? (p.fanForced ? 'forced' : this.fanCtl.mode) : 'none',
        stalled: this.stalled,
        error: this.fanError,
      },
      frequencyMHz: p.frequencyMHz,
      voltageMv: p.voltageMv ?? null,
      trips: p.trips,
      lastTrip: p.lastTrip,
      reason: p.reason,
      resumeBlocked: p.resumeBlocked,
    };
  }

  private emit(decisions: ThermalDecision[]): void {
    for (const d of decisions) {
      if (d.kind === 'stop-hashing') this.log.error('thermal-stop-hashing', { ...d });
      else this.log.warn(`thermal-${d.kind}`, { ...d });
      for (const fn of this.decisionListeners) {
        try {
          fn(d);
        } catch (err) {
          this.log.error('thermal-listener-failed', { err });
        }
      }
    }
    const state = this.protection.snapshot().state;
    if (state !== this.lastState) {
      this.log.info('thermal-state', { from: this.lastState, to: state });
      this.lastState = state;
    }
  }

  private tick(): void {
    if (this.stopped) return;
    if (this.inFlight) {
      // A read is still pending: the deadline still runs, so a hung bus trips the fail-safe.
      this.emit(this.protection.update(this.clock.now(), undefined));
      if (this.protection.fanForced) void this.writeFan(100);
      return;
    }
    this.inFlight = true;
    this.poll()
      .catch((err) => this.log.error('thermal-poll-failed', { err }))
      .finally(() => {
        this.inFlight = false;
      });
  }

  private withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const t = this.clock.setTimeout(() => {
        this.deadlines.delete(t);
        reject(new Error(`${what}: no answer within ${this.readTimeoutMs} ms`));
      }, this.readTimeoutMs);
      this.deadlines.add(t);
      p.then(
        (v) => {
          this.clock.clearTimeout(t);
          this.deadlines.delete(t);
          resolve(v);
        },
        (e) => {
          this.clock.clearTimeout(t);
          this.deadlines.delete(t);
          reject(e);
        },
      );
    });
  }

  private async readSensor(s: TemperatureSensor, i: number): Promise<number | undefined> {
    const st = this.sensorStatus[i]!;
    try {
      const c = await this.withTimeout(s.readTemperature(), s.name);
      if (!Number.isFinite(c) || c < this.plausible[0] || c > this.plausible[1]) {
        throw new Error(`${s.name}: implausible reading ${c} °C`);
      }
      if (st.error) this.log.info('thermal-sensor-ok', { sensor: s.name, celsius: c });
      st.celsius = c;
      st.error = null;
      return c;
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      if (st.error !== msg) this.log.warn('thermal-sensor-failed', { sensor: s.name, error: msg });
      st.celsius = null;
      st.error = msg;
      return undefined;
    }
  }

  private async poll(): Promise<void> {
    const values = await Promise.all(this.sensors.map((s, i) => this.readSensor(s, i)));
    if (this.stopped) return;
    const now = this.clock.now();
    let max: number | undefined = Number.NEGATIVE_INFINITY;
    let error: string | undefined;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v === undefined) {
        max = undefined;
        error = this.sensorStatus[i]!.error ?? 'unknown';
        break;
      }
      // A sensor with its own limit (VR temperature) counts by its distance to that limit, on the chip scale.
      const lim = this.sensors[i]!.limitC;
      const eff = lim === undefined ? v : v - lim + this.protection.limitC;
      if (max !== undefined && eff > max) max = eff;
    }
    if (this.fanError !== null && max !== undefined) {
      // Cannot cool: treat like an unknown temperature (ESP-Miner stops mining on a fan fault).
      error = `fan: ${this.fanError}`;
      max = undefined;
    }
    this.maxC = max ?? null;
    this.emit(this.protection.update(now, max, error ?? (max === undefined ? 'unknown' : undefined)));
    const auto = this.fanCtl.update(max, now);
    await this.writeFan(this.protection.fanForced ? 100 : auto);
    await this.readTach(now);
    if (this.stopped) return;
    const status = this.status();
    for (const fn of this.statusListeners) {
      try {
        fn(status);
      } catch (err) {
        this.log.error('thermal-listener-failed', { err });
      }
    }
  }

  private async writeFan(duty: number): Promise<void> {
    if (!this.fan) return;
    const now = this.clock.now();
    const rounded = Math.round(duty * 10) / 10;
    if (rounded === this.duty && this.fanError === null && now - this.dutyWrittenAt < 5000) return;
    try {
      await this.withTimeout(this.fan.setDuty(rounded), `${this.fan.name} setDuty`);
      if (this.fanError) this.log.info('thermal-fan-ok', { fan: this.fan.name });
      this.fanError = null;
      this.duty = rounded;
      this.dutyWrittenAt = now;
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      if (this.fanError !== msg) this.log.error('thermal-fan-failed', { fan: this.fan.name, error: msg });
      this.fanError = msg;
    }
  }

  private async readTach(now: number): Promise<void> {
    if (!this.fan) return;
    try {
      const rpm = await this.withTimeout(this.fan.readRpm(), `${this.fan.name} tach`);
      this.rpm = rpm ?? null;
    } catch {
      this.rpm = null;
      return;
    }
    if (this.rpm === null) return;
    const driven = (this.duty ?? 0) >= 30;
    if (driven && this.rpm < this.stallRpm) {
      this.lowRpmSince ??= now;
      if (!this.stalled && now - this.lowRpmSince >= 5000) {
        this.stalled = true;
        this.protection.blockResume(`fan stalled (${this.rpm} rpm at ${this.duty} %)`);
        this.log.error('thermal-fan-stalled', { fan: this.fan.name, duty: this.duty, rpm: this.rpm });
      }
    } else {
      this.lowRpmSince = undefined;
      if (this.stalled) {
        this.log.info('thermal-fan-ok', { fan: this.fan.name, rpm: this.rpm });
        this.protection.blockResume(null);
      }
      this.stalled = false;
    }
  }
}
