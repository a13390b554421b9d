/**
 * Pi hardware PWM through sysfs (`dtoverlay=pwm` → GPIO18 channel 0; `pwm-2chan` → 18/19), as a
 * FanDriver: export the channel, duty 0 before any period change, period and duty in ns, enable
 * (rpi_hardware_pwm; boards.md §4). Pi 5: GPIO18/19 are channels 2/3 of pwmchip2 (0 from kernel 6.12).
 * `root` is injectable for tests (default /sys/class/pwm).
 */
import { access, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FanDriver } from '../sensors/types.ts';
import { TransportError } from '../transport/contract.ts';

export const PWM_FIX =
  'add `dtoverlay=pwm` (GPIO18) or `dtoverlay=pwm-2chan` to /boot/firmware/config.txt and reboot';

export interface PiPwmOptions {
  chip: number;
  channel: number;
  hz: number;
  root?: string;
  /** Wait for udev to create the channel after export (ms, default 1000). */
  exportWaitMs?: number;
}

export class PiPwm implements FanDriver {
  readonly name: string;
  private readonly dir: string;
  private readonly chipDir: string;
  private readonly periodNs: number;
  private readonly o: PiPwmOptions;
  duty = 0;

  constructor(o: PiPwmOptions) {
    if (!(o.hz > 0 && o.hz <= 1_000_000)) throw new RangeError(`PWM frequency: 1..1000000 Hz, got ${o.hz}`);
    this.o = o;
    const root = o.root ?? '/sys/class/pwm';
    this.chipDir = join(root, `pwmchip${o.chip}`);
    this.dir = join(this.chipDir, `pwm${o.channel}`);
    this.periodNs = Math.round(1e9 / o.hz);
    this.name = `pwm${o.chip}.${o.channel}`;
  }

  private async w(file: string, v: string | number): Promise<void> {
    try {
      await writeFile(join(this.dir, file), String(v));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new TransportError(
        code === 'EACCES' ? 'permission' : 'io',
        this.dir,
        `write ${file}=${v}: ${(err as Error).message}`,
        code === 'EACCES'
          ? 'add the user to the gpio group (Raspberry Pi OS gives it /sys/class/pwm)'
          : PWM_FIX,
        { cause: err },
      );
    }
  }

  async open(): Promise<void> {
    try {
      await access(this.chipDir);
    } catch (err) {
      throw new TransportError('not-found', this.chipDir, 'no PWM chip', PWM_FIX, { cause: err });
    }
    try {
      await access(this.dir);
    } catch {
      await writeFile(join(this.chipDir, 'export'), String(this.o.channel)).catch((err) => {
        throw new TransportError(
          'io',
          this.chipDir,
          `export ${this.o.channel}: ${(err as Error).message}`,
          PWM_FIX,
        );
      });
      const until = Date.now() + (this.o.exportWaitMs ?? 1000);
      for (;;) {
        try {
          await access(join(this.dir, 'period'));
          break;
        } catch {
          if (Date.now() > until)
            throw new TransportError('not-found', this.dir, 'channel did not appear after export', PWM_FIX);
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    }
    // duty 0 first: the kernel refuses a period shorter than the current duty.
    await this.w('duty_cycle', 0);
    await this.w('period', this.periodNs);
    await this.w('enable', 1);
  }

  async setDuty(percent: number): Promise<void> {
    if (!Number.isFinite(percent) || percent < 0 || percent > 100)
      throw new RangeError(`fan duty: 0..100 %, got ${percent}`);
    await this.w('duty_cycle', Math.round((this.periodNs * percent) / 100));
    this.duty = percent;
  }

  async readRpm(): Promise<number | undefined> {
    return undefined;
  }
}
