/**
 * `--no-thermal`: a stand-in with the monitor's surface that reads nothing and says so. Its status is
 * state 'unmonitored' (never "normal"), and `warning` is the line the daemon must print at start.
 * Only for test rigs; hashing is allowed because the operator asked for it explicitly.
 */
import { type Clock, systemClock } from '../../lib/clock.ts';
import type { ThermalStatus } from './monitor.ts';
import type { ThermalDecision } from './protection.ts';

export const UNMONITORED_WARNING =
  'thermal protection is DISABLED (--no-thermal): no temperature is read, no fan is driven and nothing stops the chips from overheating. Use only on test rigs.';

export class UnmonitoredThermal {
  readonly warning = UNMONITORED_WARNING;
  private readonly startedAt: number;

  private readonly frequencyMHz: number | null;
  private readonly clock: Clock;
  constructor(frequencyMHz: number | null = null, clock: Clock = systemClock) {
    this.frequencyMHz = frequencyMHz;
    this.clock = clock;
    this.startedAt = clock.now();
  }

  start(): void {}
  async stop(): Promise<void> {}
  onDecision(_fn: (d: ThermalDecision) => void): () => void {
    return () => {};
  }
  onStatus(_fn: (s: ThermalStatus) => void): () => void {
    return () => {};
  }
  setManualFan(_duty: number | undefined): void {}
  setTarget(_c: number): void {}
  setFrequency(_mhz: number): void {}

  status(): ThermalStatus {
    return {
      state: 'unmonitored',
      since: this.startedAt,
      at: this.clock.now(),
      hashingAllowed: true,
      sensors: [],
      maxC: null,
      filteredC: null,
      targetC: null,
      limitC: null,
      fan: { duty: null, rpm: null, mode: 'none', stalled: false, error: null },
      frequencyMHz: this.frequencyMHz,
      voltageMv: null,
      trips: { overheat: 0, sensorFault: 0, throttle: 0 },
      lastTrip: null,
      reason: 'unmonitored (--no-thermal)',
      resumeBlocked: null,
    };
  }
}
