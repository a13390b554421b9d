/**
 * The protection state machine (pure, time passed in): it turns readings into decisions the daemon
 * applies to the chips. It never touches hardware.
 *
 *   starting ──first valid reading──▶ normal ◀──recovered── throttled
 *      │                               │  ▲  ──near limit──▶    │
 *      │                          ≥ limit │ cooled (≥ minCooldown and ≤ resume threshold)
 *      │                               ▼  │                     │
 *      │                            overheat ◀──────────────────┘ (≥ limit)
 *      └──no valid reading for faultGraceMs──▶ sensor-fault ──valid for faultRecoverMs──▶ normal
 *
 * - Trip at temp ≥ limitC: 'stop-hashing' (chips idle / reset), fans forced to 100 %.
 * - Resume after at least minCooldownMs once temp ≤ min(targetC, limitC − hysteresisC): 'resume' at
 *   the frequency reduced by tripStepMHz (not below minFrequencyMHz). The reduced frequency is also
 *   the new ceiling for throttle recovery, so the board does not climb back into the same trip.
 * - Unknown temperature (read failure, timeout, implausible value) forces fans to 100 % at once and
 *   stops hashing when no valid reading has been seen for faultGraceMs (default 1 s, i.e. well within
 *   2 s). Hashing resumes, at the same frequency, after faultRecoverMs of valid readings.
 * - A resume is held back while blockResume() is set (the monitor sets it while the tach says the fan
 *   is stalled), so a dead fan does not cause a trip / passive cool-down / resume loop.
 * - Progressive throttle: at temp ≥ limitC − throttle.marginC, lower the frequency by stepMHz at most
 *   every intervalMs; step back up after recoverAfterMs below limitC − marginC − recoverGapC.
 */
import { checkRange } from './fan-controller.ts';

export type ThermalState = 'starting' | 'normal' | 'throttled' | 'overheat' | 'sensor-fault';

export type ThermalDecision =
  | {
      kind: 'stop-hashing';
      reason: 'overheat' | 'sensor-fault';
      tempC: number | null;
      limitC: number;
      detail: string;
    }
  | {
      kind: 'resume';
      reason: 'startup' | 'cooled' | 'sensor-recovered';
      frequencyMHz: number;
      /** Set when the resume frequency is lower than before the trip. */
      reducedFromMHz?: number;
      voltageMv?: number;
    }
  | { kind: 'throttle'; reason: 'approaching-limit' | 'recovered'; frequencyMHz: number; fromMHz: number };

export interface ThrottleOptions {
  marginC?: number;
  stepMHz?: number;
  intervalMs?: number;
  recoverGapC?: number;
  recoverAfterMs?: number;
}

export interface ProtectionOptions {
  /** The board's maximum chip temperature, °C (trip point). */
  limitC: number;
  /** Fan target, °C (part of the resume threshold). */
  targetC?: number;
  hysteresisC?: number;
  minCooldownMs?: number;
  faultGraceMs?: number;
  faultRecoverMs?: number;
  /** Frequency the chips run at now, MHz. */
  frequencyMHz: number;
  minFrequencyMHz?: number;
  /** Frequency reduction per overheat trip, MHz (ESP-Miner: 100). */
  tripStepMHz?: number;
  voltageMv?: number;
  /** Core-voltage reduction per trip, mV (ESP-Miner: 100; default 0 = keep voltage). */
  tripStepMv?: number;
  minVoltageMv?: number;
  /** Progressive throttle before the trip; false to disable. */
  throttle?: ThrottleOptions | false;
}

export interface ProtectionSnapshot {
  state: ThermalState;
  since: number;
  hashingAllowed: boolean;
  fanForced: boolean;
  frequencyMHz: number;
  ceilingMHz: number;
  voltageMv: number | undefined;
  trips: { overheat: number; sensorFault: number; throttle: number };
  lastTrip: { at: number; tempC: number | null; reason: string } | null;
  reason: string | null;
  resumeBlocked: string | null;
}

export class Protection {
  readonly limitC: number;
  targetC: number;
  readonly hysteresisC: number;
  readonly minCooldownMs: number;
  readonly faultGraceMs: number;
  readonly faultRecoverMs: number;
  readonly minFrequencyMHz: number;
  readonly tripStepMHz: number;
  readonly tripStepMv: number;
  readonly minVoltageMv: number;
  private readonly throttle: Required<ThrottleOptions> | false;

  private state: ThermalState = 'starting';
  private since: number;
  private frequency: number;
  private ceiling: number;
  private voltage: number | undefined;
  private lastGoodAt: number;
  private validSince: number | undefined;
  private lastThrottleAt = Number.NEGATIVE_INFINITY;
  private coolSince: number | undefined;
  private reason: string | null = null;
  private readonly trips = { overheat: 0, sensorFault: 0, throttle: 0 };
  private lastTrip: ProtectionSnapshot['lastTrip'] = null;
  private faulty = false;
  private preTripMHz: number | undefined;
  private resumeBlocked: string | null = null;

  constructor(o: ProtectionOptions, now: number) {
    this.limitC = checkRange('thermal.limitC', o.limitC, 40, 150);
    this.targetC = checkRange('thermal.targetC', o.targetC ?? 60, 30, this.limitC - 1);
    this.hysteresisC = checkRange('thermal.hysteresisC', o.hysteresisC ?? 15, 1, 60);
    this.minCooldownMs = checkRange('thermal.minCooldownMs', o.minCooldownMs ?? 30_000, 0, 3_600_000);
    this.faultGraceMs = checkRange('thermal.faultGraceMs', o.faultGraceMs ?? 1000, 0, 2000);
    this.faultRecoverMs = checkRange('thermal.faultRecoverMs', o.faultRecoverMs ?? 10_000, 0, 3_600_000);
    this.frequency = checkRange('thermal.frequencyMHz', o.frequencyMHz, 1, 10_000);
    this.minFrequencyMHz = checkRange('thermal.minFrequencyMHz', o.minFrequencyMHz ?? 200, 1, this.frequency);
    this.tripStepMHz = checkRange('thermal.tripStepMHz', o.tripStepMHz ?? 100, 0, 10_000);
    this.voltage = o.voltageMv;
    this.tripStepMv = checkRange('thermal.tripStepMv', o.tripStepMv ?? 0, 0, 1000);
    this.minVoltageMv = o.minVoltageMv ?? 0;
    this.ceiling = this.frequency;
    this.throttle =
      o.throttle === false
        ? false
        : {
            marginC: checkRange('thermal.throttle.marginC', o.throttle?.marginC ?? 5, 0.5, 40),
            stepMHz: checkRange('thermal.throttle.stepMHz', o.throttle?.stepMHz ?? 25, 1, 1000),
            intervalMs: checkRange(
              'thermal.throttle.intervalMs',
              o.throttle?.intervalMs ?? 10_000,
              0,
              3_600_000,
            ),
            recoverGapC: checkRange('thermal.throttle.recoverGapC', o.throttle?.recoverGapC ?? 5, 0, 40),
            recoverAfterMs: checkRange(
              'thermal.throttle.recoverAfterMs',
              o.throttle?.recoverAfterMs ?? 60_000,
              0,
              3_600_000,
            ),
          };
    this.since = now;
    this.lastGoodAt = now;
  }

  /** Temperature at or below which an overheat cool-down may end. */
  get resumeBelowC(): number {
    return Math.min(this.targetC, this.limitC - this.hysteresisC);
  }

  /** The daemon reports the frequency it actually applied (user change, ramp). */
  setFrequency(mhz: number): void {
    this.frequency = checkRange('thermal.frequencyMHz', mhz, 1, 10_000);
    this.ceiling = Math.max(this.ceiling, mhz);
  }

  /**
   * Holds the board stopped after a trip or fault while set (e.g. 'fan stalled': cooling down
   * passively and resuming would only trip again). null lifts it.
   */
  blockResume(reason: string | null): void {
    this.resumeBlocked = reason;
  }

  snapshot(): ProtectionSnapshot {
    return {
      state: this.state,
      since: this.since,
      hashingAllowed: this.state === 'normal' || this.state === 'throttled',
      fanForced: this.fanForced,
      frequencyMHz: this.frequency,
      ceilingMHz: this.ceiling,
      voltageMv: this.voltage,
      trips: { ...this.trips },
      lastTrip: this.lastTrip,
      reason: this.reason,
      resumeBlocked: this.resumeBlocked,
    };
  }

  /** Fans must run at 100 %: tripped, faulted, or the latest reading was unknown. */
  get fanForced(): boolean {
    return this.state === 'overheat' || this.state === 'sensor-fault' || this.faulty;
  }

  private enter(state: ThermalState, now: number, reason: string | null): void {
    this.state = state;
    this.since = now;
    this.reason = reason;
  }

  /**
   * One evaluation. `tempC` is the hottest valid reading, or undefined when unknown (then `error`
   * says why). Call it for every poll, and also between polls with `tempC` undefined and no error
   * (`check`) so a hung read still trips the fault deadline.
   */
  update(now: number, tempC: number | undefined, error?: string): ThermalDecision[] {
    const out: ThermalDecision[] = [];
    const valid = tempC !== undefined && Number.isFinite(tempC);
    if (valid) {
      this.lastGoodAt = now;
      this.validSince ??= now;
      this.faulty = false;
    } else if (error !== undefined) {
      this.validSince = undefined;
      this.faulty = true;
    }

    // Unknown temperature beyond the grace period → fail-safe.
    if (!valid && now - this.lastGoodAt >= this.faultGraceMs && this.state !== 'sensor-fault') {
      const wasHashing = this.state === 'normal' || this.state === 'throttled' || this.state === 'starting';
      if (this.state !== 'overheat') {
        this.trips.sensorFault++;
        const detail = error ?? `no valid temperature for ${now - this.lastGoodAt} ms`;
        this.lastTrip = { at: now, tempC: null, reason: `sensor-fault: ${detail}` };
        this.enter('sensor-fault', now, detail);
        if (wasHashing)
          out.push({
            kind: 'stop-hashing',
            reason: 'sensor-fault',
            tempC: null,
            limitC: this.limitC,
            detail,
          });
      }
      return out;
    }
    if (!valid) return out;
    const t = tempC as number;

    // Over the limit from any state → overheat trip.
    if (t >= this.limitC && this.state !== 'overheat') {
      const wasHashing = this.state !== 'sensor-fault';
      this.trips.overheat++;
      const from = this.frequency;
      this.preTripMHz ??= from;
      this.frequency = Math.max(this.minFrequencyMHz, this.frequency - this.tripStepMHz);
      this.ceiling = this.frequency;
      if (this.voltage !== undefined && this.tripStepMv > 0) {
        this.voltage = Math.max(this.minVoltageMv, this.voltage - this.tripStepMv);
      }
      const detail = `${t.toFixed(2)} °C ≥ limit ${this.limitC} °C`;
      this.lastTrip = { at: now, tempC: t, reason: `overheat: ${detail}` };
      this.enter('overheat', now, `${detail}; will resume at ${this.frequency} MHz (was ${from} MHz)`);
      this.coolSince = undefined;
      if (wasHashing)
        out.push({ kind: 'stop-hashing', reason: 'overheat', tempC: t, limitC: this.limitC, detail });
      return out;
    }

    switch (this.state) {
      case 'starting':
        this.enter('normal', now, null);
        out.push({ kind: 'resume', reason: 'startup', frequencyMHz: this.frequency, ...this.volt() });
        break;
      case 'overheat':
        if (this.resumeBlocked === null && now - this.since >= this.minCooldownMs && t <= this.resumeBelowC) {
          const from = this.preTripMHz;
          this.preTripMHz = undefined;
          this.enter('normal', now, null);
          this.lastThrottleAt = now;
          out.push({
            kind: 'resume',
            reason: 'cooled',
            frequencyMHz: this.frequency,
            ...(from !== undefined && from > this.frequency ? { reducedFromMHz: from } : {}),
            ...this.volt(),
          });
        }
        break;
      case 'sensor-fault':
        if (
          this.resumeBlocked === null &&
          this.validSince !== undefined &&
          now - this.validSince >= this.faultRecoverMs &&
          t <= this.limitC - this.hysteresisC
        ) {
          this.enter('normal', now, null);
          out.push({
            kind: 'resume',
            reason: 'sensor-recovered',
            frequencyMHz: this.frequency,
            ...this.volt(),
          });
        }
        break;
      case 'normal':
      case 'throttled':
        this.throttleStep(now, t, out);
        break;
    }
    return out;
  }

  private volt(): { voltageMv?: number } {
    return this.voltage === undefined ? {} : { voltageMv: this.voltage };
  }

  private throttleStep(now: number, t: number, out: ThermalDecision[]): void {
    const th = this.throttle;
    if (!th) return;
    const near = this.limitC - th.marginC;
    if (t >= near) {
      this.coolSince = undefined;
      if (now - this.lastThrottleAt >= th.intervalMs && this.frequency > this.minFrequencyMHz) {
        const from = this.frequency;
        this.frequency = Math.max(this.minFrequencyMHz, this.frequency - th.stepMHz);
        this.lastThrottleAt = now;
        this.trips.throttle++;
        if (this.state !== 'throttled') this.enter('throttled', now, `${t.toFixed(2)} °C ≥ ${near} °C`);
        out.push({
          kind: 'throttle',
          reason: 'approaching-limit',
          frequencyMHz: this.frequency,
          fromMHz: from,
        });
      }
      return;
    }
    if (this.state !== 'throttled') return;
    if (t > near - th.recoverGapC) {
      this.coolSince = undefined;
      return;
    }
    this.coolSince ??= now;
    if (now - this.coolSince >= th.recoverAfterMs) {
      const from = this.frequency;
      this.frequency = Math.min(this.ceiling, this.frequency + th.stepMHz);
      this.coolSince = now;
      this.lastThrottleAt = now;
      if (this.frequency >= this.ceiling) this.enter('normal', now, null);
      if (this.frequency !== from) {
        out.push({ kind: 'throttle', reason: 'recovered', frequencyMHz: this.frequency, fromMHz: from });
      }
    }
  }
}
