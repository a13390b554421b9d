/**
 * `asicd doctor`: what this machine has (UARTs, I2C buses, GPIO chips, PWM channels, USB bridges),
 * what the user can open and, where not, the exact fix; the serial-console conflict on /dev/serial0;
 * for a chosen board, whether it can be brought up (emulated twins: the real bring-up against the
 * emulated board, with the regulator ID and voltage read back). Roots are injectable for tests.
 */
import { constants } from 'node:fs';
import { access, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { BoardProfile } from '../../boards/types.ts';
import { listUsbTtys, matchBridges } from '../../drivers/bridge/discover.ts';
import { GPIO_PERMISSION_FIX, listGpioChips } from '../../drivers/gpio/chardev.ts';
import { PWM_FIX } from '../../drivers/pwm/sysfs.ts';
import { createSimBoardChain } from '../../firmware/bm13xx/index.ts';
import { systemClock } from '../../lib/clock.ts';
import { silentLogger } from '../../lib/log.ts';
import { type BoardIo, openBoardIo } from './board-io.ts';
import type { PowerController } from './controller.ts';
import { createSimPower } from './sim.ts';

export interface DoctorRoots {
  dev: string;
  sys: string;
  /** /proc/cmdline (the kernel command line; a serial console there conflicts with the chips' UART). */
  cmdline: string;
}

export const REAL_ROOTS: DoctorRoots = { dev: '/dev', sys: '/sys', cmdline: '/proc/cmdline' };

export interface Check {
  what: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

export interface DoctorReport {
  checks: Check[];
  /** The chosen board can be brought up (exit code 0). */
  ready: boolean;
}

const UART_FIX =
  'enable the UART: `sudo raspi-config` → Interface Options → Serial Port → login shell: No, hardware: Yes (enable_uart=1); for the PL011 add `dtoverlay=disable-bt` and `sudo systemctl disable hciuart`';
const DIALOUT_FIX = 'add the user to the dialout group: `sudo usermod -aG dialout $USER`, then log in again';
const I2C_FIX = 'enable I2C: `sudo raspi-config` → Interface Options → I2C (dtparam=i2c_arm=on), then reboot';
const I2C_GROUP_FIX = 'add the user to the i2c group: `sudo usermod -aG i2c $USER`, then log in again';

async function rw(p: string): Promise<boolean> {
  try {
    await access(p, constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
async function list(dir: string, re: RegExp): Promise<string[]> {
  try {
    return (await readdir(dir))
      .filter((n) => re.test(n))
      .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  } catch {
    return [];
  }
}

export async function doctor(
  board: BoardProfile | undefined,
  roots: DoctorRoots = REAL_ROOTS,
  opts: { bridgeLink?: string } = {},
): Promise<DoctorReport> {
  const checks: Check[] = [];
  const need = new Set<string>();
  if (board && !board.simulated) {
    if (board.transport.kind === 'uart') need.add('uart');
    if (
      typeof board.i2c?.bus === 'number' ||
      (board.power &&
        board.power.regulator.kind !== 'fixed' &&
        board.power.gpio.kind === 'pi' &&
        board.power.regulator.kind !== 'bridge')
    )
      need.add('i2c');
    if (board.power?.gpio.kind === 'pi' && (board.power.reset || board.power.enable)) need.add('gpio');
    if (board.fan?.kind === 'pi-pwm') need.add('pwm');
    if (board.bridge) need.add('usb');
  }

  // UARTs
  const uarts = (await list(roots.dev, /^(serial0|ttyS0|ttyAMA0)$/)).map((n) => join(roots.dev, n));
  if (uarts.length === 0)
    checks.push({
      what: 'uart',
      ok: !need.has('uart'),
      detail: 'no /dev/serial0, /dev/ttyS0 or /dev/ttyAMA0',
      fix: UART_FIX,
    });
  for (const u of uarts) {
    const ok = await rw(u);
    checks.push({
      what: 'uart',
      ok: ok || !need.has('uart'),
      detail: `${u} ${ok ? 'can be opened' : 'permission denied'}`,
      ...(ok ? {} : { fix: DIALOUT_FIX }),
    });
  }
  const cmdline = await readFile(roots.cmdline, 'utf8').catch(() => '');
  const console = /console=(serial0|ttyS0|ttyAMA0)/.exec(cmdline);
  if (console)
    checks.push({
      what: 'uart',
      ok: !need.has('uart'),
      detail: `the kernel serial console is on ${console[1]} (${roots.cmdline}): it would talk to the chips`,
      fix: 'disable the login shell over serial: `sudo raspi-config` → Interface Options → Serial Port → login shell: No',
    });

  // I2C
  const i2c = await list(roots.dev, /^i2c-\d+$/);
  if (i2c.length === 0)
    checks.push({ what: 'i2c', ok: !need.has('i2c'), detail: 'no /dev/i2c-* bus', fix: I2C_FIX });
  for (const b of i2c) {
    const ok = await rw(join(roots.dev, b));
    checks.push({
      what: 'i2c',
      ok: ok || !need.has('i2c'),
      detail: `/dev/${b} ${ok ? 'can be opened' : 'permission denied'}`,
      ...(ok ? {} : { fix: I2C_GROUP_FIX }),
    });
  }

  // GPIO
  const chips = await listGpioChips(roots.sys);
  const devChips = await list(roots.dev, /^gpiochip\d+$/);
  if (devChips.length === 0)
    checks.push({
      what: 'gpio',
      ok: !need.has('gpio'),
      detail: 'no /dev/gpiochip* (GPIO character device)',
      fix: 'run on a Raspberry Pi (or a board with a GPIO controller)',
    });
  for (const c of devChips) {
    const label = chips.find((x) => x.name === c)?.label ?? '?';
    const ok = await rw(join(roots.dev, c));
    checks.push({
      what: 'gpio',
      ok: ok || !need.has('gpio'),
      detail: `/dev/${c} [${label}] ${ok ? 'can be opened' : 'permission denied'}`,
      ...(ok ? {} : { fix: GPIO_PERMISSION_FIX }),
    });
  }
  if (board?.power?.gpio.kind === 'pi' && need.has('gpio')) {
    const labels = board.power.gpio.labels;
    const found = chips.find((c) => labels.includes(c.label));
    checks.push({
      what: 'gpio',
      ok: found !== undefined,
      detail: found
        ? `header GPIO: ${found.name} [${found.label}]`
        : `no GPIO chip labelled ${labels.join(' or ')}`,
      ...(found ? {} : { fix: 'run asicd on the Raspberry Pi the HAT is plugged into' }),
    });
  }

  // PWM
  const pwm = await list(join(roots.sys, 'class/pwm'), /^pwmchip\d+$/);
  if (pwm.length === 0)
    checks.push({ what: 'pwm', ok: !need.has('pwm'), detail: 'no PWM chip in /sys/class/pwm', fix: PWM_FIX });
  else checks.push({ what: 'pwm', ok: true, detail: `PWM: ${pwm.join(', ')}` });

  // USB bridges
  const ttys = await listUsbTtys(roots.sys, roots.dev);
  for (const t of ttys)
    checks.push({
      what: 'usb',
      ok: true,
      detail: `${t.path}: ${t.vid.toString(16).padStart(4, '0')}:${t.pid.toString(16).padStart(4, '0')} "${t.manufacturer}" "${t.product}" interface ${t.interface}`,
    });
  let bridgePorts: { control: string; data: string } | undefined;
  if (board?.bridge && !board.simulated) {
    const found = matchBridges(ttys, board.bridge);
    const b = opts.bridgeLink
      ? {
          control: `${opts.bridgeLink}.control`,
          data: `${opts.bridgeLink}.data`,
          serial: '',
          product: board.bridge.product,
        }
      : found[0];
    if (b) bridgePorts = b;
    let ok = b !== undefined;
    let detail = b
      ? `${board.bridge.product} bridge: control ${b.control}, data ${b.data}`
      : `no USB device "${board.bridge.product}" found`;
    let fix = b
      ? undefined
      : 'plug the board in (a data cable, not charge-only) and check `dmesg` for ttyACM';
    const charDevice = async (p: string) =>
      stat(p).then(
        (st) => st.isCharacterDevice(),
        () => false,
      );
    const exists = async (p: string) =>
      access(p).then(
        () => true,
        () => false,
      );
    if (b && !opts.bridgeLink && !((await charDevice(b.control)) && (await charDevice(b.data)))) {
      // Listed in sysfs but not a device node here (a test tree, a stale node): nothing to talk to.
      bridgePorts = undefined;
    }
    if (b && opts.bridgeLink && !((await exists(b.control)) && (await exists(b.data)))) {
      ok = false;
      detail += ' (no such ports)';
      fix = `is \`asicd sim --board ${board.id} --link ${opts.bridgeLink}\` running?`;
      bridgePorts = undefined;
    } else if (b && !((await rw(b.control)) && (await rw(b.data)))) {
      ok = false;
      detail += ' (permission denied)';
      fix = DIALOUT_FIX;
      bridgePorts = undefined;
    }
    checks.push({ what: 'usb', ok, detail, ...(fix ? { fix } : {}) });
  } else if (ttys.length === 0)
    checks.push({ what: 'usb', ok: !need.has('usb'), detail: 'no USB CDC serial devices' });

  // The chosen board: an emulated twin is brought up for real against its emulated parts.
  // USB twins: through the real bridge driver to the emulated bridge MCU (in memory), as `asicd demo`.
  if (board?.simulated && board.power) {
    let sp: { controller: PowerController; close(): Promise<void> };
    if (board.bridge) {
      const { createSimBridgeTwin } = await import('./bridge-sim.ts');
      const twin = createSimBridgeTwin(board, { clock: systemClock });
      const io = await openBoardIo(board, {
        clock: systemClock,
        logger: silentLogger,
        bridgeTransports: { control: twin.control, data: twin.board.chain },
      }).catch((e: unknown) => {
        twin.board.close();
        throw e;
      });
      sp = {
        controller: io.power!,
        close: async () => {
          await io.close();
          twin.board.close();
        },
      };
    } else {
      const chain = createSimBoardChain({ model: board.chip, chips: board.chips, autoHash: false });
      const p = createSimPower(board, { clock: systemClock, chain });
      sp = { controller: p.controller, close: async () => p.board.close() };
    }
    try {
      await sp.controller.bringUp();
      const snap = sp.controller.snapshot();
      const r = await sp.controller.readTelemetry();
      const v = r?.voutV ?? null;
      checks.push({
        what: 'board',
        ok: true,
        detail: `${board.id}: regulator ${snap.regulator ?? board.power.regulator.kind}${v !== null ? `, core ${v.toFixed(3)} V read back` : ''}${r?.vinV != null ? `, input ${r.vinV.toFixed(2)} V` : ''}, power good`,
      });
    } catch (e) {
      checks.push({ what: 'board', ok: false, detail: `${board.id}: ${(e as Error).message}` });
    } finally {
      await sp.controller.powerOff();
      await sp.close();
    }
  }
  // A real USB-bridge board that is there: talk to it through its bridge — regulator ID and the voltages
  // read back, without switching the core on (the daemon's bring-up does that).
  if (board && !board.simulated && board.power && bridgePorts) {
    const port = bridgePorts;
    let io: BoardIo | undefined;
    try {
      io = await openBoardIo(board, { clock: systemClock, logger: silentLogger, bridgePorts: port });
      const reg = io.power?.regulatorCap;
      const id = reg ? await reg.identify() : board.power.regulator.kind;
      const t = await reg?.telemetry?.().catch(() => undefined);
      const mon = io.power?.monitorCap ? await io.power.monitorCap.read().catch(() => undefined) : undefined;
      const vin = mon?.vinV ?? t?.vinV ?? null;
      const vout = t?.voutV ?? null;
      checks.push({
        what: 'board',
        ok: true,
        detail: `${board.id} via ${port.control}: regulator ${id}${vout !== null ? `, core ${vout.toFixed(3)} V read back` : ''}${vin !== null ? `, input ${vin.toFixed(2)} V` : ''}`,
      });
    } catch (e) {
      checks.push({
        what: 'board',
        ok: false,
        detail: `${board.id} via ${port.control}: ${(e as Error).message}`,
        fix: 'check the board is powered and runs its bridge firmware; `asicd run` says which bring-up step fails',
      });
    } finally {
      await io?.close();
    }
  }
  const ready = board !== undefined && checks.every((c) => c.ok);
  return { checks, ready };
}

export function formatReport(r: DoctorReport, board: BoardProfile | undefined): string {
  const lines = r.checks.map(
    (c) =>
      `${c.ok ? (c.fix ? '--  ' : 'ok  ') : 'FAIL'} ${c.what.padEnd(5)} ${c.detail}${c.fix ? `\n           fix: ${c.fix}` : ''}`,
  );
  lines.push(
    board
      ? r.ready
        ? `${board.id}: ready to bring up`
        : `${board.id}: NOT ready — fix the FAIL lines above`
      : 'no --board given: listed what this machine has (pass --board ID to check a board)',
  );
  return lines.join('\n');
}
