import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { BOARDS, findBoard, monitorName, regulatorName } from '../../boards/index.ts';
import { ds4432uCode } from '../../drivers/power/ds4432u-codec.ts';
import { PMBUS } from '../../drivers/power/pmbus.ts';

const run = promisify(execFile);

describe('board profiles are data with capabilities', () => {
  it('ids are unique and every real board has an emulated twin named sim-<id>', () => {
    const ids = BOARDS.map((b) => b.id);
    assert.equal(new Set(ids).size, ids.length);
    for (const b of BOARDS.filter((x) => !x.simulated)) {
      const twin = BOARDS.find((x) => x.simulated && x.name === `Simulated ${b.name}`);
      assert.ok(twin, `${b.id} has a sim twin`);
      assert.deepEqual(twin.power, b.power, `${twin.id} keeps the power capabilities of ${b.id}`);
    }
    for (const id of [
      'piaxe',
      'qaxe',
      'qaxe-plus',
      'bitaxe-gamma-usb',
      'bitaxe-supra-usb',
      'bitaxe-ultra-usb',
      'bitaxe-max-usb',
    ])
      assert.ok(findBoard(id), id);
    for (const id of ['sim-piaxe', 'sim-qaxe', 'sim-qaxe-plus', 'sim-gamma-usb'])
      assert.ok(findBoard(id), id);
  });

  it('default voltage and frequency sit inside the limits; regulators can make the default', () => {
    for (const b of BOARDS) {
      const { voltageMv: v, frequencyMhz: f } = b.limits;
      assert.ok(v.min <= v.default && v.default <= v.max, `${b.id} voltage default`);
      assert.ok(f.min <= f.default && f.default <= f.max, `${b.id} frequency default`);
      const r = b.power?.regulator;
      if (r?.kind === 'ds4432u') {
        assert.doesNotThrow(() => ds4432uCode(v.min / 1000), `${b.id}: DAC reaches ${v.min} mV`);
        assert.doesNotThrow(() => ds4432uCode(v.max / 1000), `${b.id}: DAC reaches ${v.max} mV`);
      }
      if (r?.kind === 'tps546') {
        assert.ok(r.voutMinV * 1000 <= v.min && v.max <= r.voutMaxV * 1000, `${b.id}: VOUT window`);
        for (const step of r.init) assert.ok(step.cmd in PMBUS, `${b.id}: ${step.cmd} is a known command`);
      }
    }
  });

  it('bridge boards name their bridge by USB strings; Pi boards find GPIO chips by label', () => {
    for (const b of BOARDS) {
      if (b.transport.kind === 'usb-bridge' || (b.simulated && b.bridge)) {
        assert.ok(b.bridge?.product, `${b.id} names its USB product`);
        assert.equal(b.power?.gpio.kind, 'bridge');
      }
      if (b.power?.gpio.kind === 'pi' && (b.power.reset || b.power.enable))
        assert.ok(b.power.gpio.labels.length > 0, `${b.id} GPIO labels`);
    }
    const piaxe = findBoard('piaxe')!;
    assert.equal(piaxe.power?.reset?.line, 22);
    assert.equal(piaxe.power?.enable?.line, 17);
    assert.equal(piaxe.power?.pgood?.line, 27);
    assert.equal(regulatorName(findBoard('bitaxe-gamma-usb')!), 'TPS546@0x24');
    assert.equal(monitorName(findBoard('bitaxe-supra-usb')!), 'INA260@0x40');
  });

  it('`asicd boards` lists the regulator and the monitor of each profile', async () => {
    const { stdout } = await run(process.execPath, ['bin/asicd.js', 'boards'], { timeout: 60_000 });
    const line = (id: string) => stdout.split('\n').find((l) => l.startsWith(`${id} `)) ?? '';
    assert.match(line('bitaxe-gamma-usb'), /TPS546@0x24\s+regulator telemetry/);
    assert.match(line('bitaxe-max-usb'), /DS4432U@0x48\s+INA260@0x40/);
    assert.match(line('piaxe'), /fixed 1200 mV/);
    assert.match(line('qaxe-plus'), /4 × BM1368\s+usb qaxe/);
  });
});
