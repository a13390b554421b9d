/**
 * The Pi's own GPIO and PWM facilities against sysfs trees laid out like a Raspberry Pi's (a temp
 * directory, real file I/O): the GPIO chip is found by its label whatever its number (Pi 5 moved it),
 * with a clear error naming what was found; hardware PWM is exported, configured (period and duty in ns,
 * enabled) and driven by duty; a missing overlay gives the dtoverlay fix.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, watch, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { PI_GPIO_LABELS } from '../../boards/power-parts.ts';
import { findGpioChip, listGpioChips, parseGpiodetect } from '../../drivers/gpio/chardev.ts';
import { PiPwm } from '../../drivers/pwm/sysfs.ts';

const root = mkdtempSync(join(tmpdir(), 'asicd-pi-sys-'));
after(() => rmSync(root, { recursive: true, force: true }));

function gpioChip(sys: string, base: number, name: string, label: string, lines: number): void {
  const d = join(sys, 'class/gpio', `gpiochip${base}`);
  mkdirSync(join(d, 'device', name), { recursive: true });
  writeFileSync(join(d, 'label'), `${label}\n`);
  writeFileSync(join(d, 'ngpio'), `${lines}\n`);
}

describe('GPIO chip by label', () => {
  it('Pi 4: pinctrl-bcm2711 found among other chips; Pi 5: pinctrl-rp1 on gpiochip0 or gpiochip4', async () => {
    const pi4 = join(root, 'pi4');
    gpioChip(pi4, 504, 'gpiochip1', 'raspberrypi-exp-gpio', 8);
    gpioChip(pi4, 512, 'gpiochip0', 'pinctrl-bcm2711', 58);
    assert.equal((await findGpioChip(PI_GPIO_LABELS, pi4)).name, 'gpiochip0');
    const pi5old = join(root, 'pi5-old');
    gpioChip(pi5old, 571, 'gpiochip4', 'pinctrl-rp1', 54);
    gpioChip(pi5old, 512, 'gpiochip0', 'gpio-brcmstb@107d508500', 32);
    assert.deepEqual(await findGpioChip(PI_GPIO_LABELS, pi5old), {
      name: 'gpiochip4',
      label: 'pinctrl-rp1',
      lines: 54,
    });
    const pi5new = join(root, 'pi5-new');
    gpioChip(pi5new, 569, 'gpiochip0', 'pinctrl-rp1', 54);
    assert.equal((await findGpioChip(PI_GPIO_LABELS, pi5new)).name, 'gpiochip0');
  });

  it('no matching chip: not-found naming the labels looked for and the chips present', async () => {
    const pc = join(root, 'pc');
    gpioChip(pc, 0, 'gpiochip0', 'INT34C5:00', 360);
    assert.equal((await listGpioChips(pc)).length, 1);
    await assert.rejects(findGpioChip(PI_GPIO_LABELS, pc), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'not-found');
      assert.match(e.message, /no GPIO chip labelled pinctrl-rp1 or .*found: gpiochip0 \[INT34C5:00\]/);
      return true;
    });
  });

  it('parses gpiodetect output (libgpiod tools, when sysfs has no gpio class)', () => {
    assert.deepEqual(
      parseGpiodetect('gpiochip0 [pinctrl-bcm2711] (58 lines)\ngpiochip1 [raspberrypi-exp-gpio] (8 lines)\n'),
      [
        { name: 'gpiochip0', label: 'pinctrl-bcm2711', lines: 58 },
        { name: 'gpiochip1', label: 'raspberrypi-exp-gpio', lines: 8 },
      ],
    );
  });
});

describe('Pi hardware PWM via sysfs', () => {
  it('exports the channel, sets duty 0, period (1 kHz = 1 000 000 ns), enables; duty in ns; range-checked', async () => {
    const pwmRoot = join(root, 'pwm');
    const chip = join(pwmRoot, 'pwmchip0');
    mkdirSync(chip, { recursive: true });
    writeFileSync(join(chip, 'export'), '');
    // udev's part: the channel directory appears after "export" is written.
    const w = watch(chip, () => {
      if (readFileSync(join(chip, 'export'), 'utf8').trim() === '0') {
        mkdirSync(join(chip, 'pwm0'), { recursive: true });
        for (const f of ['period', 'duty_cycle', 'enable']) writeFileSync(join(chip, 'pwm0', f), '0');
      }
    });
    try {
      const pwm = new PiPwm({ chip: 0, channel: 0, hz: 1000, root: pwmRoot, exportWaitMs: 5000 });
      await pwm.open();
      const rd = (f: string) => readFileSync(join(chip, 'pwm0', f), 'utf8');
      assert.equal(rd('period'), '1000000');
      assert.equal(rd('duty_cycle'), '0');
      assert.equal(rd('enable'), '1');
      await pwm.setDuty(80);
      assert.equal(rd('duty_cycle'), '800000');
      await assert.rejects(pwm.setDuty(101), /0\.\.100/);
      assert.equal(rd('duty_cycle'), '800000', 'a refused duty writes nothing');
    } finally {
      w.close();
    }
  });

  it('no PWM chip: not-found with the dtoverlay fix', async () => {
    const pwm = new PiPwm({ chip: 0, channel: 0, hz: 1000, root: join(root, 'no-pwm') });
    await assert.rejects(pwm.open(), /no PWM chip.*dtoverlay=pwm/);
  });
});
