/**
 * GPIO through the Linux character device, behind GpioPort. The chip is found by its label (Pi 0–4:
 * pinctrl-bcm2835/2711; Pi 5: pinctrl-rp1, which moved from gpiochip4 to gpiochip0 — never a fixed
 * number). Lines are driven with the libgpiod tools (`apt install gpiod`), a well-contained fallback:
 * the only npm binding (node-libgpiod 0.5.3) needs libgpiod 1.x headers and a native build on the Pi.
 * An output is held by a long-lived `gpioset` child for as long as the port is open (levels are only
 * guaranteed while a line is requested); changing it replaces that child. The Pi keeps the last level
 * after release, so a systemd ExecStopPost must force the board's safe levels (README "Real boards").
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type GpioPort, TransportError } from '../transport/contract.ts';

const run = promisify(execFile);

export const GPIO_PERMISSION_FIX =
  'add the user to the gpio group (`sudo usermod -aG gpio $USER`, then log in again) or add a udev rule for /dev/gpiochip*';
export const GPIO_TOOLS_FIX = 'install the libgpiod tools: `sudo apt install gpiod`';

export interface GpioChipInfo {
  /** gpiochip0 … */
  name: string;
  label: string;
  lines: number;
}

/** Parses `gpiodetect` output: "gpiochip0 [pinctrl-bcm2711] (58 lines)". */
export function parseGpiodetect(out: string): GpioChipInfo[] {
  const chips: GpioChipInfo[] = [];
  for (const line of out.split('\n')) {
    const m = /^(gpiochip\d+)\s+\[([^\]]*)\]\s+\((\d+) lines\)/.exec(line.trim());
    if (m) chips.push({ name: m[1]!, label: m[2]!, lines: Number(m[3]) });
  }
  return chips;
}

/** GPIO chips from sysfs (no tools needed): /sys/bus/gpio/devices/gpiochipN → ../../(label via gpio class). */
export async function listGpioChips(sysRoot = '/sys'): Promise<GpioChipInfo[]> {
  const out: GpioChipInfo[] = [];
  // /sys/class/gpio/gpiochipBASE/{label,ngpio,device/gpiochipN} (present on Raspberry Pi OS kernels)
  const cls = join(sysRoot, 'class/gpio');
  let entries: string[] = [];
  try {
    entries = (await readdir(cls)).filter((e) => /^gpiochip\d+$/.test(e));
  } catch {
    return out;
  }
  for (const e of entries) {
    const label = (await readFile(join(cls, e, 'label'), 'utf8').catch(() => '')).trim();
    const ngpio = Number((await readFile(join(cls, e, 'ngpio'), 'utf8').catch(() => '0')).trim());
    const dev = await readdir(join(cls, e, 'device')).catch(() => [] as string[]);
    const name = dev.find((d) => /^gpiochip\d+$/.test(d));
    if (name) out.push({ name, label, lines: ngpio });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
}

/** Finds the chip carrying one of `labels` (first label wins). Rejects with a fix naming what is missing. */
export async function findGpioChip(labels: readonly string[], sysRoot = '/sys'): Promise<GpioChipInfo> {
  let chips = await listGpioChips(sysRoot);
  if (chips.length === 0) {
    try {
      chips = parseGpiodetect((await run('gpiodetect', [], { timeout: 5000 })).stdout);
    } catch {
      /* tools absent: report below */
    }
  }
  for (const l of labels) {
    const c = chips.find((x) => x.label === l);
    if (c) return c;
  }
  throw new TransportError(
    'not-found',
    '/dev/gpiochip*',
    `no GPIO chip labelled ${labels.join(' or ')} (found: ${chips.map((c) => `${c.name} [${c.label}]`).join(', ') || 'none'})`,
    'run asicd on the Raspberry Pi the HAT is plugged into; `gpiodetect` lists the chips',
  );
}

export class GpioChardev implements GpioPort {
  readonly path: string;
  private readonly chip: string;
  private readonly held = new Map<number, { level: boolean; child: ChildProcess }>();
  private tools: 1 | 2 | undefined;
  private closed = false;

  constructor(chip: GpioChipInfo | string, devRoot = '/dev') {
    this.chip = typeof chip === 'string' ? chip : chip.name;
    this.path = join(devRoot, this.chip);
  }

  /** Checks the device is accessible and the tools are installed. */
  async open(): Promise<void> {
    try {
      await access(this.path, constants.R_OK | constants.W_OK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EPERM')
        throw new TransportError('permission', this.path, 'permission denied', GPIO_PERMISSION_FIX, {
          cause: err,
        });
      throw new TransportError('not-found', this.path, 'no such GPIO chip', 'check `ls /dev/gpiochip*`', {
        cause: err,
      });
    }
    this.tools = await toolsVersion();
  }

  private async version(): Promise<1 | 2> {
    this.tools ??= await toolsVersion();
    return this.tools;
  }

  async set(line: number, high: boolean): Promise<void> {
    if (this.closed) throw new TransportError('closed', this.path, 'GPIO port is closed');
    const cur = this.held.get(line);
    if (cur?.level === high) return;
    const v = await this.version();
    const args =
      v === 1
        ? ['--mode=signal', this.chip, `${line}=${high ? 1 : 0}`]
        : ['-c', this.chip, `${line}=${high ? 1 : 0}`];
    // A line has one requester at a time (the kernel refuses a second request as busy): the gpioset that
    // holds the old level must be gone before the new one asks for the line. In between the line keeps
    // its level (the Pi does not float a released output).
    if (cur) {
      this.held.delete(line);
      await release(cur.child);
    }
    const child = spawn('gpioset', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (d) => {
      stderr += String(d);
    });
    // A gpioset that exits within 150 ms failed to request the line (busy, permission).
    const failed = await new Promise<string | undefined>((resolve) => {
      const t = setTimeout(() => resolve(undefined), 150);
      child.once('error', (e) => {
        clearTimeout(t);
        resolve(e.message);
      });
      child.once('exit', (code) => {
        clearTimeout(t);
        resolve(`gpioset exited with ${code}: ${stderr.trim()}`);
      });
    });
    if (failed) {
      const busy = /busy/i.test(failed);
      throw new TransportError(
        busy ? 'busy' : 'io',
        this.path,
        `line ${line}: ${failed}`,
        busy ? 'another program holds this line' : GPIO_PERMISSION_FIX,
      );
    }
    this.held.set(line, { level: high, child });
  }

  async get(line: number): Promise<boolean> {
    const h = this.held.get(line);
    if (h) return h.level;
    const v = await this.version();
    const args = v === 1 ? [this.chip, String(line)] : ['-c', this.chip, '--numeric', String(line)];
    try {
      const { stdout } = await run('gpioget', args, { timeout: 5000 });
      return /1\s*$/.test(stdout.trim());
    } catch (err) {
      throw new TransportError(
        'io',
        this.path,
        `line ${line}: ${(err as Error).message}`,
        GPIO_PERMISSION_FIX,
        {
          cause: err,
        },
      );
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const children = [...this.held.values()].map((h) => h.child);
    this.held.clear();
    await Promise.all(children.map(release));
  }
}

/** Ends a holding gpioset and resolves once it exited (SIGKILL after 1 s), releasing its line. */
function release(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => child.kill('SIGKILL'), 1000);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** libgpiod tools major version (1 or 2); rejects with the apt fix when absent. */
export async function toolsVersion(): Promise<1 | 2> {
  try {
    const { stdout } = await run('gpioset', ['--version'], { timeout: 5000 });
    return /v2\./.test(stdout) ? 2 : 1;
  } catch (err) {
    throw new TransportError(
      'unsupported',
      'gpioset',
      'the libgpiod tools are not installed',
      GPIO_TOOLS_FIX,
      {
        cause: err,
      },
    );
  }
}
