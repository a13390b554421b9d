/**
 * The I2C sensor drivers (drivers/sensors) against the emulated parts (firmware/sensors) over the
 * I2cBus interface: init (id checks, fan configuration), temperatures following the thermal model,
 * fan PWM driving the model and the tach read back, and clear SensorErrors on NACK / wrong part /
 * diode fault.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Emc2101 } from '../../drivers/sensors/emc2101.ts';
import { SensorError } from '../../drivers/sensors/errors.ts';
import { Lm75Sensor, tmp1075 } from '../../drivers/sensors/lm75.ts';
import type { I2cBus } from '../../drivers/transport/contract.ts';
import { EmulatedEmc2101 } from '../../firmware/sensors/emc2101.ts';
import { EmulatedI2cBus } from '../../firmware/sensors/i2c-bus.ts';
import { ThermalModel } from '../../firmware/sensors/thermal-model.ts';
import { EmulatedTmp1075 } from '../../firmware/sensors/tmp1075.ts';
import { ManualClock } from '../../lib/clock.ts';

function rig(productId = 0x16) {
  const clock = new ManualClock();
  const model = new ThermalModel({ clock, initialC: 55.3, ambientC: 25 });
  const bus = new EmulatedI2cBus('sim:i2c-1');
  const emc = new EmulatedEmc2101(model, { productId });
  const tmpA = new EmulatedTmp1075(model, { coupling: 1 });
  const lm = new EmulatedTmp1075(model, { flavour: 'LM75', coupling: 1 });
  bus.attach(0x4c, emc).attach(0x4a, tmpA).attach(0x49, lm);
  const i2c: I2cBus = bus; // structural match with the transport contract
  return { clock, model, bus: i2c, emc, tmpA, lm };
}

describe('EMC2101 driver on the emulated part', () => {
  it('init checks the product id and configures TACH input + direct PWM', async () => {
    const { bus, emc } = rig();
    const d = new Emc2101(bus);
    await d.init();
    assert.equal(d.productId, 0x16);
    assert.equal(emc.regs[0x03]! & 0x04, 0x04, 'ALERT/TACH pin set to TACH');
    assert.equal(emc.regs[0x4a]! & 0x20, 0x20, 'look-up table disabled');
  });
  it('accepts the EMC2101-R id (0x28)', async () => {
    const { bus } = rig(0x28);
    const d = new Emc2101(bus);
    await d.init();
    assert.equal(d.productId, 0x28);
  });
  it('rejects a part with another product id, naming bus, address and part', async () => {
    const { bus } = rig(0x11);
    await assert.rejects(new Emc2101(bus).init(), (e: unknown) => {
      assert.ok(e instanceof SensorError);
      assert.equal(e.code, 'bad-id');
      assert.match(e.message, /EMC2101 at sim:i2c-1 0x4c/);
      return true;
    });
  });
  it('writes ideality and beta when configured (ESP Gamma: 0x24, 0)', async () => {
    const { bus, emc } = rig();
    await new Emc2101(bus, { ideality: 0x24, beta: 0x00 }).init();
    assert.equal(emc.regs[0x17], 0x24);
    assert.equal(emc.regs[0x18], 0x00);
  });
  it('external temperature follows the model to 0.125 °C', async () => {
    const { bus, model, clock } = rig();
    const d = new Emc2101(bus);
    await d.init();
    for (const c of [55.3, 71.9, 30.06, -5.2]) {
      model.setTemperature(c);
      model.setHashing(false);
      const got = await d.readTemperature();
      assert.ok(Math.abs(got - model.chipTempC()) <= 0.0625 + 1e-9, `${got} vs ${model.chipTempC()}`);
      clock.advance(10);
    }
  });
  it('internal channel reads the board temperature in whole degrees', async () => {
    const { bus, model } = rig();
    const d = new Emc2101(bus, { channel: 'internal' });
    await d.init();
    const got = await d.readTemperature();
    assert.equal(got, Math.round(model.boardTempC(0.6)));
    assert.ok(Number.isInteger(got));
  });
  it('the ideality setting shifts the reading the way the diode physics says', async () => {
    const { bus, model } = rig();
    model.setHashing(false);
    // A diode with η = 1.040 read with the default setting (1.008) reads high.
    const bus2 = new EmulatedI2cBus('sim:i2c-2');
    bus2.attach(0x4c, new EmulatedEmc2101(model, { diodeIdeality: 1.04 }));
    const mismatched = new Emc2101(bus2);
    await mismatched.init();
    const high = await mismatched.readTemperature();
    const truth = model.chipTempC();
    assert.ok(high > truth + 5, `mismatched diode reads high: ${high} vs ${truth}`);
    const matched = new Emc2101(bus2, { ideality: 0x12 + Math.round((1.04 - 1.008) / 0.0013) });
    await matched.init();
    assert.ok(Math.abs((await matched.readTemperature()) - truth) < 0.5);
    assert.ok(bus);
  });
  it('fan duty drives the model; the tach reads the model rpm back', async () => {
    const { bus, model, clock } = rig();
    const d = new Emc2101(bus);
    await d.init();
    await d.setDuty(50);
    assert.ok(Math.abs(model.fanDuty() - (32 / 63) * 100) < 1e-9);
    assert.ok(Math.abs((await d.readDuty()) - (32 / 63) * 100) < 1e-9);
    clock.advance(20_000); // spin-up
    const rpm = await d.readRpm();
    assert.ok(Math.abs(rpm - model.fanRpm()) / model.fanRpm() < 0.002, `${rpm} vs ${model.fanRpm()}`);
    assert.ok(rpm > 2900 && rpm < 3100);
    model.setFanFailed(true);
    clock.advance(30_000);
    assert.equal(await d.readRpm(), 0);
  });
  it('reports an open diode as a fault, not as 127 °C', async () => {
    const { bus, emc } = rig();
    const d = new Emc2101(bus);
    await d.init();
    emc.diodeFault = 'open';
    await assert.rejects(d.readTemperature(), (e: unknown) => e instanceof SensorError && e.code === 'fault');
    emc.diodeFault = 'short';
    await assert.rejects(d.readTemperature(), /diode short/);
  });
  it('an unplugged part gives a SensorError io naming the bus, address and part', async () => {
    const { bus, emc } = rig();
    const d = new Emc2101(bus);
    await d.init();
    emc.unplugged = true;
    await assert.rejects(d.readTemperature(), (e: unknown) => {
      assert.ok(e instanceof SensorError);
      assert.equal(e.code, 'io');
      assert.equal(e.bus, 'sim:i2c-1');
      assert.equal(e.address, 0x4c);
      assert.equal(e.part, 'EMC2101');
      assert.match(e.message, /no ACK/);
      return true;
    });
    await assert.rejects(d.setDuty(100), SensorError);
    emc.unplugged = false;
    assert.equal(typeof (await d.readTemperature()), 'number');
  });
  it('a stuck sensor returns the stuck value', async () => {
    const { bus, emc } = rig();
    const d = new Emc2101(bus);
    await d.init();
    emc.stuckC = 42.5;
    assert.equal(await d.readTemperature(), 42.5);
  });
});

describe('TMP1075 / LM75 driver on the emulated part', () => {
  it('TMP1075 init checks the device id 0x7500 and reads to 1/16 °C', async () => {
    const { bus, model } = rig();
    const s = tmp1075(bus, 0x4a);
    await s.init();
    model.setHashing(false);
    model.setTemperature(63.21);
    const got = await s.readTemperature();
    assert.ok(Math.abs(got - model.chipTempC()) <= 0.03125 + 1e-9, `${got}`);
  });
  it('an LM75 at the address fails the TMP1075 id check with a clear message', async () => {
    const { bus } = rig();
    await assert.rejects(tmp1075(bus, 0x49).init(), /device id 0xffff is not a TMP1075/);
  });
  it('LM75 reads in 0.5 °C steps', async () => {
    const { bus, model } = rig();
    model.setHashing(false);
    model.setTemperature(40.3);
    const s = new Lm75Sensor(bus, { address: 0x49, part: 'LM75' });
    await s.init();
    const got = await s.readTemperature();
    assert.equal(got % 0.5, 0);
    assert.ok(Math.abs(got - 40.3) <= 0.5);
  });
  it('a missing address NACKs → SensorError naming the part', async () => {
    const { bus } = rig();
    await assert.rejects(
      tmp1075(bus, 0x4f).readTemperature(),
      /TMP1075 at sim:i2c-1 0x4f: read of register 0x0 failed/,
    );
  });
  it('offset is added (board calibration)', async () => {
    const { bus, tmpA } = rig();
    tmpA.stuckC = 50;
    assert.equal(await tmp1075(bus, 0x4a, 2.5).readTemperature(), 52.5);
  });
});
