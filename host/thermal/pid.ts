/**
 * A small PID controller in physical units (output %, input °C, time s), direct acting for cooling:
 * error = input − setpoint, so a hotter input gives more output. Derivative on measurement (no kick
 * when the setpoint changes), integral clamped to the output range (no wind-up), bumpless start from
 * a given output. ESP-Miner's tuning (Kp 5, Ki 0.1, Kd 2 at 100 ms, Arduino PID library semantics)
 * is Kp = 5 %/K, Ki = 0.1 %/(K·s), Kd = 2 %·s/K here.
 */
export interface PidGains {
  kp: number;
  ki: number;
  kd: number;
}

export class Pid {
  private integral = 0;
  private lastInput: number | undefined;

  gains: PidGains;
  min: number;
  max: number;
  constructor(gains: PidGains, min: number, max: number) {
    this.gains = gains;
    this.min = min;
    this.max = max;
  }

  /** Starts from `output` (bumpless transfer) with no derivative history. */
  reset(output: number): void {
    this.integral = clamp(output, this.min, this.max);
    this.lastInput = undefined;
  }

  /** One step of `dtSec` seconds; returns the clamped output. */
  step(input: number, setpoint: number, dtSec: number): number {
    const error = input - setpoint;
    const dt = Math.max(0, dtSec);
    this.integral = clamp(this.integral + this.gains.ki * error * dt, this.min, this.max);
    const dInput = this.lastInput === undefined || dt === 0 ? 0 : (input - this.lastInput) / dt;
    this.lastInput = input;
    return clamp(this.gains.kp * error + this.integral + this.gains.kd * dInput, this.min, this.max);
  }
}

export function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}
