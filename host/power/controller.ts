/**
 * Board power: bring-up in the documented order, shutdown/idle, protection — pure sequencing over
 * capability interfaces (a regulator driver, GPIO lines, a power monitor) on the injectable Clock, so it
 * runs the same on a Pi, behind a USB bridge, on the emulated board and under ManualClock.
 *
 * Bring-up (boards.md §2; ESP-Miner power task, mujina Gamma, piaxe-miner):
 *   1 reset     chips held in reset (safe state first)
 *   2 regulator identified and configured with the output off (TPS546 init table; DS4432U set to the
 *               target before the buck is enabled — ESP-Miner's race, §5.9, avoided)
 *   3 enable    buck/ASIC enable asserted
 *   4 voltage   VOUT_COMMAND (range-checked), CLEAR_FAULTS, OPERATION on; settle; PGOOD seen
 * then the chain driver pulses reset (profile widths), initialises the chips and ramps the PLL.
 * A failing step throws BringUpError naming the step and the likely cause, after switching power off.
 *
 * Protection (every `pollMs` while on): regulator faults in STATUS_WORD (VOUT_OV, IOUT_OC, VIN_UV,
 * TEMPERATURE) or PGOOD lost → reset held, core off, listeners told (chips stopped, fans 100 %, event),
 * latched: bringUp() refuses until clearFault() (or a restart) — the overheat policy.
 * Boards with an input limit (DS4432U Bitaxes: no regulator status, no PGOOD) read their power monitor
 * every `inputLimit.sampleMs` and trip the same latch when the input stays above the limit for its
 * debounce time (input-limit.ts, a pure decision).
 */
import type { PowerSpec } from '../../boards/types.ts';
import type { PowerReading, RegulatorStatus } from '../../drivers/power/tps546.ts';
import type { GpioPort } from '../../drivers/transport/contract.ts';
import type { Clock, TimerHandle } from '../../lib/clock.ts';
import { type Logger, silentLogger } from '../../lib/log.ts';
import { InputLimitGuard } from './input-limit.ts';

export type { PowerReading, RegulatorStatus };

/** What bring-up needs from a core regulator (TPS546 / DS4432U drivers implement it). */
export interface RegulatorCap {
  readonly name: string;
  identify(): Promise<string>;
  /** Init table with the output off (TPS546). */
  configure?(): Promise<void>;
  setVout(volts: number, window: { minV: number; maxV: number }): Promise<number>;
  on?(): Promise<void>;
  off?(): Promise<void>;
  clearFaults?(): Promise<void>;
  status?(): Promise<RegulatorStatus>;
  telemetry?(): Promise<PowerReading>;
}

export interface MonitorCap {
  readonly name: string;
  identify?(): Promise<string>;
  read(): Promise<PowerReading>;
}

export type BringUpStep = 'reset' | 'regulator' | 'enable' | 'voltage' | 'pgood';

export class BringUpError extends Error {
  override readonly name = 'BringUpError';
  readonly step: BringUpStep;
  constructor(step: BringUpStep, message: string, options?: { cause?: unknown }) {
    super(`power bring-up failed at step "${step}": ${message}`, options);
    this.step = step;
  }
}

/** What clears a latched power fault (the chain supervisor's one line, the miner state). */
export const POWER_FAULT_CLEARS =
  'restart asicd, or the clear_fault command (MQTT {"command":"clear_fault"}) once the cause is fixed';

export interface PowerFault {
  at: number;
  reason: string;
}

export interface PowerControllerOptions {
  spec: PowerSpec;
  clock: Clock;
  logger?: Logger;
  gpio?: GpioPort;
  regulator?: RegulatorCap;
  monitor?: MonitorCap;
  /** Core voltage window (mV) from the chip model ∩ the profile; the regulator's own window is added. */
  windowMv: { min: number; max: number };
  /** Core voltage to set (mV). */
  voltageMv: number;
  /** Protection poll period (default 100 ms, ESP-Miner's STATUS_WORD period). */
  pollMs?: number;
  /** Telemetry read period (default 1000 ms). */
  telemetryMs?: number;
}

export type PowerState = 'off' | 'bringing-up' | 'on' | 'fault';

export interface PowerSnapshot {
  state: PowerState;
  voltageMv: number;
  fault: PowerFault | null;
  reading: PowerReading | null;
  regulator: string | null;
}

export class PowerController {
  readonly spec: PowerSpec;
  private readonly o: PowerControllerOptions;
  private readonly clock: Clock;
  private readonly log: Logger;
  private st: PowerState = 'off';
  private mv: number;
  private latched: PowerFault | undefined;
  private poll: TimerHandle | undefined;
  private telTimer: TimerHandle | undefined;
  private polling = false;
  private last: PowerReading | null = null;
  private lastAt: number | undefined;
  private part: string | null = null;
  private bringing: Promise<void> | undefined;
  private readonly faultListeners = new Set<(f: PowerFault) => void>();
  private readonly linkListeners = new Set<(reason: string) => void>();
  private readonly inputGuard: InputLimitGuard | undefined;
  /** Steps done by the last bring-up, in order (tests check the sequence). */
  readonly trace: string[] = [];

  constructor(o: PowerControllerOptions) {
    this.o = o;
    this.spec = o.spec;
    this.clock = o.clock;
    this.log = (o.logger ?? silentLogger).child('power');
    this.mv = o.voltageMv;
    this.checkMv(this.mv);
    if (o.spec.inputLimit && o.monitor) this.inputGuard = new InputLimitGuard(o.spec.inputLimit);
  }

  get state(): PowerState {
    return this.st;
  }
  get fault(): PowerFault | undefined {
    return this.latched;
  }
  /** The board can switch its core off (a regulator with OPERATION, or an enable line). */
  get canSwitchOff(): boolean {
    return Boolean(this.o.regulator?.off || this.spec.enable);
  }
  /** Chips can be held in reset: a reset line, or a bridge firmware whose Shutdown asserts it (QAxe). */
  /** The regulator and monitor capabilities (for `asicd doctor`'s read-back). */
  get regulatorCap(): RegulatorCap | undefined {
    return this.o.regulator;
  }
  get monitorCap(): MonitorCap | undefined {
    return this.o.monitor;
  }

  get hasReset(): boolean {
    return this.spec.reset !== undefined || this.spec.regulator.kind === 'bridge';
  }

  /** Voltage window in mV: chip model ∩ profile ∩ regulator (TPS546 VOUT_MIN/VOUT_MAX). */
  get windowMv(): { min: number; max: number } {
    let { min, max } = this.o.windowMv;
    const r = this.spec.regulator;
    if (r.kind === 'tps546') {
      min = Math.max(min, r.voutMinV * 1000);
      max = Math.min(max, r.voutMaxV * 1000);
    }
    return { min, max };
  }

  get settable(): boolean {
    return this.spec.regulator.kind === 'tps546' || this.spec.regulator.kind === 'ds4432u';
  }

  private checkMv(mv: number): void {
    const r = this.spec.regulator;
    if (r.kind === 'fixed' || r.kind === 'bridge') {
      if (mv !== r.mv && mv !== this.o.voltageMv)
        throw new Error(`voltage: this board's core is fixed at ${r.mv} mV; ${mv} mV cannot be set`);
      return;
    }
    const w = this.windowMv;
    if (!Number.isFinite(mv) || mv < w.min || mv > w.max)
      throw new Error(`voltage: ${mv} mV is outside this board's ${w.min}–${w.max} mV window`);
  }

  onFault(fn: (f: PowerFault) => void): () => void {
    this.faultListeners.add(fn);
    return () => this.faultListeners.delete(fn);
  }

  /**
   * The USB bridge carrying the power parts stopped answering or vanished (not a regulator fault: the
   * regulator cannot be reached at all). Power is marked off, not latched; the chain goes down and its
   * re-init runs the whole bring-up again once the bridge is back.
   */
  onLinkLost(fn: (reason: string) => void): () => void {
    this.linkListeners.add(fn);
    return () => this.linkListeners.delete(fn);
  }

  private isLinkError(e: unknown): boolean {
    const code = (e as { code?: string } | undefined)?.code;
    return (
      this.spec.gpio.kind === 'bridge' &&
      (code === 'timeout' || code === 'unplugged' || code === 'closed' || code === 'not-found')
    );
  }

  private async line(l: PowerSpec['enable'], asserted: boolean): Promise<void> {
    if (!l || !this.o.gpio) return;
    await this.o.gpio.set(l.line, asserted !== l.activeLow);
  }

  /** Reset line: asserted = chips held in reset. No-op on boards without one. */
  async setReset(held: boolean): Promise<void> {
    await this.line(this.spec.reset, held);
  }

  private async pgoodOk(): Promise<boolean> {
    const p = this.spec.pgood;
    if (p && this.o.gpio) return (await this.o.gpio.get(p.line)) !== p.activeLow;
    const s = await this.o.regulator?.status?.();
    if (s) return s.outputOn && s.powerGood && s.faults.length === 0;
    return true;
  }

  /** Brings the core up (idempotent while on). Rejects with BringUpError; power is left off. */
  bringUp(): Promise<void> {
    if (this.st === 'on') return Promise.resolve();
    this.bringing ??= this.doBringUp().finally(() => {
      this.bringing = undefined;
    });
    return this.bringing;
  }

  private async doBringUp(): Promise<void> {
    if (this.latched)
      throw new BringUpError(
        'regulator',
        `power fault latched (${this.latched.reason}); clear it (MQTT "clear_fault" command) or restart asicd`,
      );
    this.st = 'bringing-up';
    this.trace.length = 0;
    this.inputGuard?.reset();
    const t0 = this.clock.now();
    let step: BringUpStep = 'reset';
    const reg = this.o.regulator;
    try {
      await this.setReset(true);
      this.trace.push('reset held');
      step = 'regulator';
      if (reg) {
        this.part = await this.retry(() => reg.identify(), 6, 3);
        this.trace.push(`identified ${this.part}`);
        if (reg.configure) {
          await reg.configure();
          this.trace.push('configured, output off');
        }
        if (!reg.on) {
          // A DAC-trimmed buck: set the target before the buck is enabled.
          await reg.setVout(this.mv / 1000, this.windowV());
          this.trace.push(`dac ${this.mv} mV`);
        }
      }
      const mon = this.o.monitor;
      if (mon?.identify) {
        await mon.identify();
        this.trace.push(`monitor ${mon.name}`);
      }
      step = 'enable';
      if (this.spec.enable) {
        await this.line(this.spec.enable, true);
        this.trace.push('enable asserted');
      }
      step = 'voltage';
      if (reg?.on) {
        await reg.setVout(this.mv / 1000, this.windowV());
        await reg.clearFaults?.();
        await reg.on();
        this.trace.push(`vout ${this.mv} mV, output on`);
      }
      if (this.spec.settleMs > 0) await this.clock.sleep(this.spec.settleMs);
      step = 'pgood';
      const deadline = this.clock.now() + this.spec.pgoodTimeoutMs;
      while (!(await this.pgoodOk())) {
        if (this.clock.now() >= deadline) {
          const s = await reg?.status?.().catch(() => undefined);
          throw new Error(
            `power good not seen within ${this.spec.pgoodTimeoutMs} ms${s ? ` (STATUS_WORD 0x${s.word.toString(16)}: ${s.flags.join(', ') || 'none'})` : ''}: check the input supply and the regulator`,
          );
        }
        await this.clock.sleep(100);
      }
      this.trace.push('power good');
    } catch (err) {
      const cause = (err as Error).message;
      await this.switchOff();
      this.st = 'off';
      const hint = this.isLinkError(err)
        ? ' (the USB bridge does not answer: check the cable and that the board runs its bridge firmware)'
        : step === 'regulator'
          ? ' (no regulator answering on the bus? check I2C wiring, the address and the input supply)'
          : '';
      this.log.error('power.bringup_failed', { step, error: cause });
      throw new BringUpError(step, `${cause}${hint}`, { cause: err });
    }
    this.st = 'on';
    this.log.info('power.on', {
      mv: this.mv,
      ms: this.clock.now() - t0,
      regulator: this.part ?? this.spec.regulator.kind,
    });
    this.startPolling();
  }

  private windowV(): { minV: number; maxV: number } {
    const w = this.windowMv;
    return { minV: w.min / 1000, maxV: w.max / 1000 };
  }

  private async retry<T>(fn: () => Promise<T>, tries: number, gapMs: number): Promise<T> {
    let last: unknown;
    for (let i = 0; i < tries; i++) {
      try {
        return await fn();
      } catch (e) {
        last = e;
        if (i + 1 < tries) await this.clock.sleep(gapMs);
      }
    }
    throw last;
  }

  /** Reset held, core off (regulator OPERATION off, enable released). Never throws. */
  private async switchOff(): Promise<void> {
    await this.setReset(true).catch((e) => this.log.warn('power.reset_failed', { error: String(e) }));
    await this.o.regulator?.off?.().catch((e) => this.log.warn('power.off_failed', { error: String(e) }));
    await this.line(this.spec.enable, false).catch((e) =>
      this.log.warn('power.enable_failed', { error: String(e) }),
    );
  }

  /** Safe state: chips held in reset and the core off where the board can. Idempotent. */
  async powerOff(): Promise<void> {
    this.stopPolling();
    await this.bringing?.catch(() => {});
    await this.switchOff();
    if (this.st !== 'fault') this.st = 'off';
  }

  /** Sets the core voltage (mV) after the range check; applied now when on, else at the next bring-up. */
  async setVoltage(mv: number): Promise<number> {
    if (!this.settable) {
      const r = this.spec.regulator as { mv: number };
      throw new Error(`voltage: this board's core is fixed at ${r.mv} mV`);
    }
    this.checkMv(mv);
    if (this.st === 'on' && this.o.regulator) await this.o.regulator.setVout(mv / 1000, this.windowV());
    this.mv = mv;
    this.log.info('power.voltage', { mv });
    return mv;
  }

  get voltageMv(): number {
    return this.mv;
  }

  /** Clears a latched fault (the regulator's status too); the next chain init brings power up again. */
  async clearFault(): Promise<void> {
    if (!this.latched) return;
    await this.o.regulator?.clearFaults?.().catch(() => {});
    this.log.warn('power.fault_cleared', { reason: this.latched.reason });
    this.latched = undefined;
    this.inputGuard?.reset();
    this.st = 'off';
  }

  private startPolling(): void {
    this.stopPolling();
    this.poll = this.clock.setInterval(() => void this.check(), this.o.pollMs ?? 100);
    // An input limit is checked on every monitor reading: read as often as it asks.
    const telMs = Math.min(this.o.telemetryMs ?? 1000, this.inputGuard?.limit.sampleMs ?? Infinity);
    this.telTimer = this.clock.setInterval(() => void this.readTelemetry(), telMs);
    void this.readTelemetry();
  }

  private stopPolling(): void {
    this.clock.clearInterval(this.poll);
    this.clock.clearInterval(this.telTimer);
    this.poll = this.telTimer = undefined;
  }

  /** One protection check (exposed for tests). */
  async check(): Promise<void> {
    if (this.st !== 'on' || this.polling) return;
    this.polling = true;
    try {
      let reason: string | undefined;
      const reg = this.o.regulator;
      try {
        if (reg?.status) {
          const s = await reg.status().catch((e: Error) => {
            if (this.isLinkError(e)) throw e;
            return { error: e.message };
          });
          if ('error' in s) reason = `regulator not answering: ${s.error}`;
          else if (s.faults.length)
            reason = `regulator fault ${s.faults.join(' + ')} (STATUS_WORD 0x${s.word.toString(16)})`;
          else if (!s.outputOn) reason = 'regulator output switched off';
          else if (!s.powerGood) reason = `power good lost (STATUS 0x${s.word.toString(16)})`;
        }
        if (!reason && this.spec.pgood && this.o.gpio) {
          const ok = (await this.o.gpio.get(this.spec.pgood.line)) !== this.spec.pgood.activeLow;
          if (!ok) reason = `PGOOD lost (${this.spec.pgood.label})`;
        }
      } catch (e) {
        if (!this.isLinkError(e)) throw e;
        if (this.st === 'on') this.lostLink((e as Error).message);
        return;
      }
      if (reason && this.st === 'on') await this.trip(reason);
    } finally {
      this.polling = false;
    }
  }

  private lostLink(reason: string): void {
    this.st = 'off';
    this.stopPolling();
    this.log.warn('power.link_lost', {
      reason,
      action: 'chips stopped; full bring-up again when the bridge answers',
    });
    for (const l of [...this.linkListeners]) {
      try {
        l(reason);
      } catch (e) {
        this.log.warn('power.listener_failed', { error: String(e) });
      }
    }
  }

  private async trip(reason: string): Promise<void> {
    this.latched = { at: this.clock.now(), reason };
    this.st = 'fault';
    this.stopPolling();
    this.log.error('power.fault', { reason, action: 'chips held in reset, core off, fans 100 %, latched' });
    await this.switchOff();
    for (const l of [...this.faultListeners]) {
      try {
        l(this.latched);
      } catch (e) {
        this.log.warn('power.listener_failed', { error: String(e) });
      }
    }
  }

  /** Reads the monitor (or the regulator's telemetry) now; resolves with the reading or null. */
  async readTelemetry(): Promise<PowerReading | null> {
    const src =
      this.o.monitor ??
      (this.o.regulator?.telemetry ? { read: () => this.o.regulator!.telemetry!() } : undefined);
    if (!src) return null;
    try {
      const r = await src.read();
      // A monitor on the input (INA260) gives no VR temperature; the regulator may.
      this.last = r;
      this.lastAt = this.clock.now();
      if (this.inputGuard && this.st === 'on') {
        const trip = this.inputGuard.update(this.lastAt, r);
        if (trip && this.st === 'on') await this.trip(trip);
      }
      return r;
    } catch (e) {
      this.log.debug('power.telemetry_failed', { error: String(e) });
      return null;
    }
  }

  /** VR temperature from the regulator (°C), for the thermal monitor. */
  async vrTemperature(): Promise<number> {
    if (this.latched) throw new Error(`power fault latched: ${this.latched.reason}`);
    // The periodic telemetry read already has it when recent (saves bus traffic: a USB bridge carries
    // every register read of the regulator, the sensors and the protection poll).
    const fresh =
      this.lastAt !== undefined && this.clock.now() - this.lastAt <= 2 * (this.o.telemetryMs ?? 1000);
    if (this.st === 'on' && fresh && this.last?.vrTempC != null) return this.last.vrTempC;
    const t = await this.o.regulator?.telemetry?.();
    if (!t || t.vrTempC === null) throw new Error('regulator has no temperature reading');
    return t.vrTempC;
  }

  snapshot(): PowerSnapshot {
    return {
      state: this.st,
      voltageMv: this.mv,
      fault: this.latched ?? null,
      reading: this.st === 'on' ? this.last : null,
      regulator: this.part,
    };
  }
}
