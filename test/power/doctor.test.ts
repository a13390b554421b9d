import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { findBoard } from '../../boards/index.ts';
import { listUsbTtys, matchBridges } from '../../drivers/bridge/discover.ts';
import { doctor } from '../../host/power/doctor.ts';

const run = promisify(execFile);

describe('asicd doctor', () => {
  it('against the emulated board: brings it up, reads the regulator ID and voltage back, exit 0', async () => {
    const { stdout } = await run(process.execPath, ['bin/asicd.js', 'doctor', '--board', 'sim-gamma-usb'], {
      timeout: 60_000,
    });
    assert.match(stdout, /regulator TPS546D24A, core 1\.1\d\d V read back, input 5\.00 V, power good/);
    assert.match(stdout, /sim-gamma-usb: ready to bring up/);
  });

  it('on a machine with none of the devices: exit 1 and the exact fixes', async () => {
    const root = await mkdtemp(join(tmpdir(), 'asicd-doctor-'));
    try {
      const r = await run(process.execPath, ['bin/asicd.js', 'doctor', '--board', 'piaxe'], {
        timeout: 60_000,
        env: { ...process.env, ASICD_DOCTOR_ROOT: root },
      }).then(
        () => ({ code: 0, stdout: '' }),
        (e: { code: number; stdout: string }) => e,
      );
      assert.equal(r.code, 1);
      assert.match(r.stdout, /FAIL uart {2}no \/dev\/serial0/);
      assert.match(r.stdout, /raspi-config/);
      assert.match(r.stdout, /FAIL i2c .*\n.*dtparam=i2c_arm=on/);
      assert.match(r.stdout, /FAIL gpio {2}no GPIO chip labelled pinctrl-rp1/);
      assert.match(r.stdout, /FAIL pwm .*\n.*dtoverlay=pwm/);
      assert.match(r.stdout, /piaxe: NOT ready/);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('finds a QAxe by VID/PID/product and interface, not by ttyACM number; flags a serial console', async () => {
    const root = await mkdtemp(join(tmpdir(), 'asicd-doctor-'));
    try {
      const usb = join(root, 'sys/devices/usb1/1-1');
      await mkdir(usb, { recursive: true });
      for (const [f, v] of Object.entries({
        idVendor: 'c0de',
        idProduct: 'caff',
        manufacturer: 'Microengineer',
        product: 'Qaxe',
        serial: 'Q1',
      }))
        await writeFile(join(usb, f), `${v}\n`);
      await mkdir(join(root, 'sys/class/tty'), { recursive: true });
      await mkdir(join(root, 'dev'), { recursive: true });
      // ttyACM7 = data (interface 0), ttyACM3 = control (interface 2): numbers say nothing.
      for (const [tty, iface] of [
        ['ttyACM7', '00'],
        ['ttyACM3', '02'],
      ] as const) {
        const ifdir = join(usb, `1-1:1.${iface}`);
        await mkdir(ifdir, { recursive: true });
        await writeFile(join(ifdir, 'bInterfaceNumber'), `${iface}\n`);
        await mkdir(join(root, 'sys/class/tty', tty), { recursive: true });
        await symlink(ifdir, join(root, 'sys/class/tty', tty, 'device'));
        await writeFile(join(root, 'dev', tty), '');
      }
      await mkdir(join(root, 'proc'), { recursive: true });
      await writeFile(join(root, 'proc/cmdline'), 'console=serial0,115200 console=tty1 root=/dev/mmcblk0p2');
      const ttys = await listUsbTtys(join(root, 'sys'), join(root, 'dev'));
      const qaxe = findBoard('qaxe')!;
      const [m] = matchBridges(ttys, qaxe.bridge!);
      assert.deepEqual(m, {
        control: join(root, 'dev/ttyACM3'),
        data: join(root, 'dev/ttyACM7'),
        serial: 'Q1',
        product: 'Qaxe',
      });
      const rep = await doctor(qaxe, {
        dev: join(root, 'dev'),
        sys: join(root, 'sys'),
        cmdline: join(root, 'proc/cmdline'),
      });
      assert.ok(
        rep.checks.some(
          (c) => c.what === 'usb' && c.ok && /control .*ttyACM3, data .*ttyACM7/.test(c.detail),
        ),
      );
      assert.ok(rep.checks.some((c) => /serial console is on serial0/.test(c.detail)));
      assert.equal(rep.ready, true, JSON.stringify(rep.checks.filter((c) => !c.ok)));
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
