/**
 * The dashboard's time series, kept in the daemon: a fixed-size ring of samples (one every
 * `periodMs`, default 10 s; 24 h = 8640 samples ≈ 0.5 MB in typed arrays), fed from getState() on the
 * injectable clock. Averages over 10 min / 1 h / 24 h are computed from the ring (time-weighted by
 * sample count over the part of the window that has data).
 */
import { type Clock, systemClock, type TimerHandle } from '../../lib/clock.ts';
import type { MinerSource, MinerState } from '../api/types.ts';
import { axePower } from './axeos.ts';

/** Units: hashrate GH/s, temperatures °C, fan rpm and %, power W, input voltage and core voltage mV, current mA. */
export const SERIES = [
  'hashrate',
  'temp',
  'vrTemp',
  'fanRpm',
  'fanPercent',
  'power',
  'voltage',
  'current',
  'asicVoltage',
] as const;
export type SeriesName = (typeof SERIES)[number];

export interface HistoryOptions {
  periodMs?: number;
  /** How long the ring covers (default 24 h). */
  spanMs?: number;
  clock?: Clock;
}

export interface HistoryWindow {
  /** Epoch ms per sample. */
  time: number[];
  /** One array per series, aligned with `time`; null where not measured. */
  series: Record<SeriesName, Array<number | null>>;
}

export class HashrateHistory {
  readonly periodMs: number;
  readonly capacity: number;
  private readonly clock: Clock;
  private readonly times: Float64Array;
  private readonly values: Record<SeriesName, Float64Array>;
  private head = 0;
  private size = 0;
  private timer: TimerHandle | undefined;

  constructor(o: HistoryOptions = {}) {
    this.periodMs = o.periodMs ?? 10_000;
    this.capacity = Math.max(1, Math.ceil((o.spanMs ?? 86_400_000) / this.periodMs));
    this.clock = o.clock ?? systemClock;
    this.times = new Float64Array(this.capacity);
    this.values = Object.fromEntries(SERIES.map((n) => [n, new Float64Array(this.capacity)])) as Record<
      SeriesName,
      Float64Array
    >;
  }

  /** Samples `source` every period until stop(). */
  start(source: MinerSource): void {
    this.record(source.getState());
    this.timer = this.clock.setInterval(() => this.record(source.getState()), this.periodMs);
  }

  stop(): void {
    this.clock.clearInterval(this.timer);
    this.timer = undefined;
  }

  get length(): number {
    return this.size;
  }

  /** Adds one sample from a snapshot (NaN marks "not measured"). */
  record(s: MinerState, time = this.clock.now()): void {
    const temps = s.temperatures.filter((t) => t.celsius !== null && !/^vr/i.test(t.name));
    const p = axePower(s);
    const rpm = s.fan.rpm.find((r) => r !== null);
    const row: Record<SeriesName, number> = {
      hashrate: s.hashrate.now,
      temp: temps.length ? Math.max(...temps.map((t) => t.celsius as number)) : Number.NaN,
      vrTemp: p.vrTemp ?? Number.NaN,
      fanRpm: rpm ?? Number.NaN,
      fanPercent: s.fan.dutyPercent,
      power: p.power ?? Number.NaN,
      voltage: p.voltage ?? Number.NaN,
      current: p.current ?? Number.NaN,
      asicVoltage: p.coreVoltageActual ?? Number.NaN,
    };
    const i = this.head;
    this.times[i] = time;
    for (const n of SERIES) this.values[n][i] = row[n];
    this.head = (i + 1) % this.capacity;
    if (this.size < this.capacity) this.size++;
  }

  /** Index of the k-th oldest sample. */
  private at(k: number): number {
    return (this.head - this.size + k + this.capacity) % this.capacity;
  }

  /** Samples of the last `ms` (all when omitted), oldest first. */
  window(ms?: number, now = this.clock.now()): HistoryWindow {
    const time: number[] = [];
    const series = Object.fromEntries(SERIES.map((n) => [n, [] as Array<number | null>])) as Record<
      SeriesName,
      Array<number | null>
    >;
    for (let k = 0; k < this.size; k++) {
      const i = this.at(k);
      const t = this.times[i]!;
      if (ms !== undefined && t < now - ms) continue;
      time.push(t);
      for (const n of SERIES) {
        const v = this.values[n][i]!;
        series[n].push(Number.isNaN(v) ? null : v);
      }
    }
    return { time, series };
  }

  /** Mean of a series over the last `ms` (0 when there is no sample). */
  average(ms: number, name: SeriesName = 'hashrate', now = this.clock.now()): number {
    let sum = 0;
    let n = 0;
    for (let k = 0; k < this.size; k++) {
      const i = this.at(k);
      if (this.times[i]! < now - ms) continue;
      const v = this.values[name][i]!;
      if (Number.isNaN(v)) continue;
      sum += v;
      n++;
    }
    return n ? sum / n : 0;
  }
}
