/**
 * GpioChardev drives lines with the libgpiod tools: a long-lived gpioset per output holds its level. The
 * tools are stood in for by test/fixtures/gpiod-tools (no GPIO chip on a CI machine), which enforce the
 * one rule that matters to the driver: the kernel grants a line to one requester at a time, so a new
 * level can only be requested once the gpioset holding the old one is gone. Both tool versions' syntax.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { GpioChardev } from '../../drivers/gpio/chardev.ts';
import { waitFor } from '../helpers/net.ts';

const TOOLS = fileURLToPath(new URL('../fixtures/gpiod-tools', import.meta.url));
process.env.PATH = `${TOOLS}${delimiter}${process.env.PATH}`;
const root = mkdtempSync(join(tmpdir(), 'asicd-gpio-'));
// Ports close (ending their gpioset holders) even when a test failed half-way.
const ports: GpioChardev[] = [];
after(async () => {
  for (const p of ports) await p.close();
  rmSync(root, { recursive: true, force: true });
});

function setup(name: string, version: '1' | '2') {
  const dev = mkdtempSync(join(root, `${name}-dev-`));
  const state = mkdtempSync(join(root, `${name}-state-`));
  writeFileSync(join(dev, 'gpiochip0'), ''); // the character device's path (checked for access)
  process.env.FAKE_GPIO_DIR = state;
  process.env.FAKE_GPIOD_VERSION = version;
  const level = (line: number) => readFileSync(join(state, `gpiochip0-${line}.level`), 'utf8').trim();
  const events = () =>
    readFileSync(join(state, 'events.log'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split(' ').slice(0, 4).join(' '));
  const held = (line: number) => {
    try {
      readFileSync(join(state, `gpiochip0-${line}.lock`));
      return true;
    } catch {
      return false;
    }
  };
  const port = new GpioChardev('gpiochip0', dev);
  ports.push(port);
  return { port, level, events, held };
}

describe('GPIO through the character device (libgpiod tools)', () => {
  for (const version of ['2', '1'] as const) {
    it(`v${version} tools: a level held while open, changed by replacing its holder (never two requests at once), released on close`, async () => {
      const { port, level, events, held } = setup(`v${version}`, version);
      await port.open();
      // A reset pulse as bring-up does it: assert, release; and an enable line.
      await port.set(17, false);
      assert.equal(level(17), '0');
      await port.set(17, true);
      assert.equal(level(17), '1');
      await port.set(17, true); // same level: nothing requested again
      await port.set(27, true);
      assert.equal(await port.get(17), true);
      assert.equal(await port.get(27), true);
      assert.deepEqual(events(), [
        'request gpiochip0 17 0',
        'release gpiochip0 17 0',
        'request gpiochip0 17 1',
        'request gpiochip0 27 1',
      ]);
      assert.ok(held(17) && held(27), 'both lines held while the port is open');
      await port.close();
      // close() resolves once the holders exited: nothing holds a line afterwards.
      assert.ok(!held(17) && !held(27), 'lines released on close');
      await assert.rejects(port.set(17, false), /closed/);
    });
  }

  it('a line another program holds: the set fails as busy, naming the line', async () => {
    const { port, held } = setup('busy', '2');
    const other = new GpioChardev('gpiochip0', join(root, 'unused'));
    ports.push(other);
    await port.open();
    await port.set(22, true);
    await waitFor(() => held(22), 'line 22 held');
    // A second port (another program) asks for the same line.
    await assert.rejects(
      other.set(22, false),
      (e: Error) => /busy/.test(e.message) && /line 22/.test(e.message),
    );
    await port.close();
    await other.close();
  });
});
