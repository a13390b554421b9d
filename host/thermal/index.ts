/**
 * Thermal control for asicd: sensors in, decisions out. The daemon builds one ThermalMonitor per
 * board (or an UnmonitoredThermal for `--no-thermal`) and applies the decisions; this module never
 * touches the chips.
 *
 * Public API
 * ----------
 *   new ThermalMonitor(opts: ThermalMonitorOptions)      // sensors, fan?, protection, fanControl?, clock?, logger?, pollMs?
 *     .start(): void                                      // poll now, then every pollMs (default 500 ms)
 *     .stop(): Promise<void>
 *     .onDecision(fn: (d: ThermalDecision) => void): () => void
 *         d.kind 'stop-hashing' { reason: 'overheat' | 'sensor-fault', tempC, limitC, detail }
 *                → idle / reset the chips now (fans are already forced to 100 % by the monitor)
 *         d.kind 'resume'       { reason: 'startup' | 'cooled' | 'sensor-recovered', frequencyMHz,
 *                                 reducedFromMHz?, voltageMv? } → (re)start hashing at frequencyMHz
 *         d.kind 'throttle'     { reason: 'approaching-limit' | 'recovered', frequencyMHz, fromMHz }
 *                → change the running frequency
 *     .onStatus(fn: (s: ThermalStatus) => void): () => void   // after every poll
 *     .status(): ThermalStatus                            // state normal|throttled|overheat|sensor-fault|starting
 *     .setManualFan(duty: number | undefined): void       // manual %, or undefined for PID
 *     .setTarget(celsius: number): void
 *     .setFrequency(mhz: number): void                    // tell it what the chips really run at
 *   createThermal(opts: ThermalMonitorOptions | { disabled: true; frequencyMHz?: number }): Thermal
 *   new UnmonitoredThermal(frequencyMHz?, clock?)         // status().state === 'unmonitored'; .warning to print
 *   createSimThermal(opts): Promise<SimThermal>           // ./sim.ts (loaded for sim-* boards only): model + emulated parts + real drivers
 *
 * Sensors come from drivers/sensors: openI2cSensors(bus, specs) for EMC2101 / TMP1075 / LM75 / TMP75 on an
 * I2cBus, openFirmataBoard({ path, fanPin, tachPin }) for a Firmata I/O board (it is both sensor and fan).
 *
 * The daemon must not hash before a 'resume' (reason 'startup') arrives or while
 * status().hashingAllowed is false. Pure pieces (Protection, FanController, Pid) are exported for tests.
 */
import { ThermalMonitor, type ThermalMonitorOptions } from './monitor.ts';
import { UnmonitoredThermal } from './unmonitored.ts';

export {
  checkRange,
  FAN_DEFAULTS,
  FanController,
  type FanControllerOptions,
  type FanMode,
  ThermalConfigError,
} from './fan-controller.ts';
export {
  type SensorStatus,
  ThermalMonitor,
  type ThermalMonitorOptions,
  type ThermalStatus,
} from './monitor.ts';
export { Pid, type PidGains } from './pid.ts';
export {
  Protection,
  type ProtectionOptions,
  type ProtectionSnapshot,
  type ThermalDecision,
  type ThermalState,
  type ThrottleOptions,
} from './protection.ts';
export { UNMONITORED_WARNING, UnmonitoredThermal } from './unmonitored.ts';

/** What the daemon holds: a real monitor or the explicit `--no-thermal` stand-in. */
export type Thermal = Pick<
  ThermalMonitor,
  'start' | 'stop' | 'onDecision' | 'onStatus' | 'status' | 'setManualFan' | 'setTarget' | 'setFrequency'
>;

export function createThermal(
  opts: ThermalMonitorOptions | { disabled: true; frequencyMHz?: number },
): Thermal {
  if ('disabled' in opts) return new UnmonitoredThermal(opts.frequencyMHz ?? null);
  return new ThermalMonitor(opts);
}
