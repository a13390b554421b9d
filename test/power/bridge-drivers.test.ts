/**
 * USB bridge drivers against the emulated bridge MCUs (firmware/bridge), over an in-memory byte link
 * (here) and over real ptys (bridge-pty.test.ts): bitaxe-raw I2C / GPIO / ADC behind the same I2cBus
 * and GpioPort interfaces as the Pi's, v0 and v1 replies, sequential ids, timeouts and resync after a
 * bad or late frame; the QAxe Control / Status / Reset / Shutdown ops with the firmware's line sequence.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TPS546_SINGLE_CHIP_INIT } from '../../boards/power-parts.ts';
import { BitaxeRawBridge } from '../../drivers/bridge/bitaxe-raw.ts';
import { QaxeBridge } from '../../drivers/bridge/qaxe.ts';
import { Ds4432u } from '../../drivers/power/ds4432u.ts';
import { Ina260 } from '../../drivers/power/ina260.ts';
import { Tps546 } from '../../drivers/power/tps546.ts';
import { Emc2101 } from '../../drivers/sensors/emc2101.ts';
import type { ByteTransport } from '../../drivers/transport/contract.ts';
import { EmulatedBitaxeRawMcu } from '../../firmware/bridge/bitaxe-raw.ts';
import { EmulatedQaxeMcu, QAXE_LINES } from '../../firmware/bridge/qaxe.ts';
import { EmulatedDs4432u, EmulatedIna260, EmulatedTps546 } from '../../firmware/power/board.ts';
import { EmulatedGpio } from '../../firmware/power/gpio.ts';
import { EmulatedEmc2101 } from '../../firmware/sensors/emc2101.ts';
import { EmulatedI2cBus } from '../../firmware/sensors/i2c-bus.ts';
import { ThermalModel } from '../../firmware/sensors/thermal-model.ts';
import { ManualClock } from '../../lib/clock.ts';
import { loadVectors } from '../helpers/vectors.ts';

const vectors = loadVectors('boards').vectors;
const tick = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};
const vec = (id: string) =>
  Uint8Array.from(
    String(vectors.find((v) => v.id === id)!.bytes)
      .split(/\s+/)
      .map((x) => Number.parseInt(x, 16)),
  );

/** An in-memory ByteTransport whose far end is a function (the MCU), with a record of what was written. */
class MemLink implements ByteTransport {
  readonly path = 'mem:control';
  readonly baudRate = 115200;
  isOpen = false;
  readonly written: Uint8Array[] = [];
  private readonly data = new Set<(c: Uint8Array) => void>();
  private readonly closes = new Set<() => void>();
  far: (c: Uint8Array) => void = () => {};
  async open() {
    this.isOpen = true;
  }
  async write(d: Uint8Array) {
    const c = d.slice();
    this.written.push(c);
    this.far(c);
  }
  /** Bytes from the far end. */
  deliver(c: Uint8Array) {
    for (const l of [...this.data]) l(c);
  }
  onData(l: (c: Uint8Array) => void) {
    this.data.add(l);
    return () => this.data.delete(l);
  }
  onError() {
    return () => {};
  }
  onClose(l: () => void) {
    this.closes.add(l);
    return () => this.closes.delete(l);
  }
  async setBaudRate() {}
  async flush() {}
  async close() {
    this.isOpen = false;
    for (const l of [...this.closes]) l();
  }
}

function rawRig(version: 0 | 1) {
  const clock = new ManualClock();
  const bus = new EmulatedI2cBus('emu:i2c');
  const tps = new EmulatedTps546({ clock, vin: 5 });
  bus.attach(0x24, tps);
  const ina = new EmulatedIna260(() => ({ volts: 5.02, amps: 2.5 }));
  bus.attach(0x40, ina);
  const dac = new EmulatedDs4432u();
  bus.attach(0x48, dac);
  const model = new ThermalModel({ clock, chips: 1 });
  bus.attach(0x4c, new EmulatedEmc2101(model));
  const gpio = new EmulatedGpio('emu:gpio', { 0: false });
  const link = new MemLink();
  let hold = false;
  const held: Uint8Array[] = [];
  const mcu = new EmulatedBitaxeRawMcu({
    clock,
    version,
    i2c: bus,
    gpio,
    adc: () => ({ vddMv: 3300, vinMv: 5020 }),
    send: (f) => (hold ? held.push(f) : link.deliver(f)),
  });
  link.far = (c) => mcu.feed(c);
  const bridge = new BitaxeRawBridge({ transport: link, version, clock, timeoutMs: 1000 });
  return {
    clock,
    bus,
    tps,
    dac,
    gpio,
    link,
    mcu,
    bridge,
    hold: (h: boolean) => {
      hold = h;
    },
    release: () => {
      for (const f of held.splice(0)) link.deliver(f);
    },
  };
}

describe('bitaxe-raw bridge driver', () => {
  it('writes the public example requests byte for byte, with sequential ids', async () => {
    const r = rawRig(0);
    await r.bridge.gpio.set(0, false); // reset low, id 0
    // TPS546 READ_VOUT through I2C write-read, id 1
    await r.bridge.i2c.writeRead(0x24, Uint8Array.of(0x8b), 2);
    assert.deepEqual(r.link.written[0], vec('raw-req-reset-low'));
    assert.deepEqual(r.link.written[1], vec('raw-req-read-vout'));
    await r.bridge.gpio.get(0);
    assert.deepEqual(
      r.link.written.map((w) => w[2]),
      [0, 1, 2],
    );
  });

  for (const version of [0, 1] as const) {
    it(`v${version}: the TPS546, INA260, DS4432U and EMC2101 drivers work over the bridge as over a Pi bus`, async () => {
      const r = rawRig(version);
      const overBridge = new Tps546(r.bridge.i2c, 0x24);
      const direct = new Tps546(r.bus, 0x24);
      assert.equal(await overBridge.identify(), await direct.identify());
      await overBridge.configure(TPS546_SINGLE_CHIP_INIT);
      assert.ok(Math.abs((await overBridge.setVout(1.15, { minV: 1.0, maxV: 1.25 })) - 1.15) < 0.003);
      await overBridge.on();
      assert.ok(Math.abs(r.tps.vout - 1.15) < 0.003, `emulated VOUT ${r.tps.vout}`);
      const t = await overBridge.telemetry();
      assert.ok(Math.abs((t.voutV ?? 0) - 1.15) < 0.003);
      assert.deepEqual(t, await direct.telemetry());
      const ina = await new Ina260(r.bridge.i2c, 0x40).read();
      assert.ok(Math.abs((ina.vinV ?? 0) - 5.02) < 0.002 && Math.abs((ina.currentA ?? 0) - 2.5) < 0.002);
      await new Ds4432u(r.bridge.i2c, 0x48).setVout(1.2, { minV: 1.1, maxV: 1.3 });
      assert.equal(r.dac.code, 0xc6, 'DS4432U code for 1.2 V (boards.md vector)');
      const emc = new Emc2101(r.bridge.i2c, { address: 0x4c });
      await emc.init();
      const c = await emc.readTemperature();
      assert.ok(c > 0 && c < 100, `EMC2101 °C ${c}`);
      assert.equal(r.bridge.stats.timeouts + r.bridge.stats.stray + r.bridge.stats.errors, 0);
    });
  }

  it('GPIO and ADC: set drives the emulated line, get reads it; ADC u16 LE', async () => {
    const r = rawRig(1);
    await r.bridge.gpio.set(0, true);
    assert.equal(r.gpio.level(0), true);
    assert.equal(await r.bridge.gpio.get(0), true);
    await r.bridge.gpio.set(0, false);
    assert.equal(await r.bridge.gpio.get(0), false);
    assert.equal(await r.bridge.adc('vin'), 5020);
    assert.equal(await r.bridge.adc('vdd'), 3300);
    assert.equal(await r.bridge.setI2cSpeed(100_000), 100_000);
  });

  it('an I2C NACK is an io error naming the part, not a link fault; the next request works', async () => {
    const r = rawRig(0);
    await assert.rejects(r.bridge.i2c.read(0x33, 1), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'io');
      assert.match(e.message, /I2C read 0x33: bridge says error: .*no ACK/);
      return true;
    });
    assert.equal((await r.bridge.i2c.writeRead(0x24, Uint8Array.of(0x20), 1))[0], 0x97);
  });

  it('a parse-error frame (04 00 ff 11) rejects the pending request as invalid', async () => {
    const r = rawRig(0);
    r.hold(true);
    const p = r.bridge.i2c.read(0x24, 2);
    await tick();
    r.link.deliver(vec('raw-err-v0-invalid'));
    await assert.rejects(p, /invalid request/);
    r.hold(false);
    r.mcu.reset();
    assert.equal((await r.bridge.i2c.writeRead(0x24, Uint8Array.of(0x20), 1))[0], 0x97);
  });

  it('timeout: a silent bridge rejects with code timeout after 1 s; afterwards it resyncs and answers', async () => {
    const r = rawRig(0);
    r.mcu.silent = true;
    const p = r.bridge.gpio.get(0);
    const rejected = assert.rejects(p, (e: Error & { code?: string }) => e.code === 'timeout');
    await r.clock.advanceAsync(999);
    let settled = false;
    void p.catch(() => {
      settled = true;
    });
    await new Promise((res) => setImmediate(res));
    assert.equal(settled, false, 'not before the timeout');
    await r.clock.advanceAsync(2);
    await rejected;
    r.mcu.silent = false;
    assert.equal(await r.bridge.gpio.get(0), false);
    assert.equal(r.bridge.stats.timeouts, 1);
  });

  it('a late reply to a timed-out request is never taken for the next one (resync)', async () => {
    const r = rawRig(0);
    r.hold(true);
    // The EMC2101 product id (0xFD) reply arrives only after its request timed out.
    const late = r.bridge.i2c.writeRead(0x4c, Uint8Array.of(0xfd), 1);
    const lateRejected = assert.rejects(late, /no reply within 1000 ms/);
    await r.clock.advanceAsync(1001);
    await lateRejected;
    // Next request: the late frame arrives first, then the real one.
    const next = r.bridge.i2c.writeRead(0x24, Uint8Array.of(0x20), 1);
    await tick();
    r.release();
    r.hold(false);
    const got = await Promise.race([next, r.clock.advanceAsync(1500).then(() => 'timeout' as const)]).catch(
      (e: Error) => e.message,
    );
    // Either the real reply came through (0x97) or the request timed out cleanly: never the late 0x16.
    assert.notDeepEqual(got, Uint8Array.of(0x16));
    assert.ok(r.bridge.stats.stray >= 1, `stray replies counted: ${JSON.stringify(r.bridge.stats)}`);
    assert.equal((await r.bridge.i2c.writeRead(0x24, Uint8Array.of(0x20), 1))[0], 0x97);
  });

  it('garbage on the line before a reply: that request times out (no sync byte), the resync makes the next one work', async () => {
    const r = rawRig(1);
    r.hold(true);
    const p = r.bridge.gpio.get(0);
    const rejected = assert.rejects(p, (e: Error & { code?: string }) => e.code === 'timeout');
    await tick();
    r.link.deliver(Uint8Array.of(0x02, 0x00)); // a torn frame: the real reply after it no longer parses
    r.release();
    r.hold(false);
    await r.clock.advanceAsync(1001);
    await rejected;
    assert.equal(await r.bridge.gpio.get(0), false);
    assert.ok(
      r.bridge.stats.discarded > 0,
      `bytes discarded by the resync: ${JSON.stringify(r.bridge.stats)}`,
    );
  });

  it('the emulated MCU resets on a length field ≤ 4, as the EF firmware panics', async () => {
    const r = rawRig(0);
    let reboots = 0;
    const mcu = new EmulatedBitaxeRawMcu({
      clock: r.clock,
      version: 0,
      i2c: r.bus,
      gpio: r.gpio,
      send: () => {},
      onReboot: () => reboots++,
    });
    mcu.feed(Uint8Array.of(0x04, 0x00, 0x01, 0x00, 0x06));
    assert.equal(reboots, 1);
    assert.equal(mcu.stats.resets, 1);
  });
});

function qaxeRig() {
  const clock = new ManualClock();
  const L = QAXE_LINES;
  // Power-on levels (qaxe.rs): RUN low, LDO low, RESET high.
  const gpio = new EmulatedGpio('emu:qaxe', { [L.RUN]: false, [L.LDO_EN]: false, [L.RESET]: true });
  const order: string[] = [];
  const t0 = clock.now();
  gpio.onChange((line, high) => order.push(`${line}=${high ? 1 : 0}@${clock.now() - t0}`));
  let pgood = false;
  const link = new MemLink();
  const mcu = new EmulatedQaxeMcu({
    clock,
    lines: gpio,
    pgood: () => pgood,
    temps: () => [45.5, -2],
    send: (f) => link.deliver(f),
  });
  link.far = (c) => mcu.feed(c);
  const q = new QaxeBridge({ transport: link, clock });
  return {
    clock,
    gpio,
    order,
    link,
    mcu,
    q,
    setPgood: (v: boolean) => {
      pgood = v;
    },
  };
}

describe('QAxe bridge driver', () => {
  it('Status request bytes match the public example; state decoded (pgood, temperatures incl. below 0 °C)', async () => {
    const r = qaxeRig();
    r.setPgood(true);
    const s = await r.q.status();
    assert.deepEqual(r.link.written[0], vec('qaxe-status'));
    assert.deepEqual(s, { pgood: true, temp1C: 45.5, temp2C: -2 });
  });

  it('Control sets both fan PWMs; ids run 1, 2, 3…', async () => {
    const r = qaxeRig();
    await r.q.fan().setDuty(100);
    await r.q.fan().setDuty(40);
    assert.deepEqual(r.mcu.fan, [40, 40]);
    assert.deepEqual(
      r.link.written.map((w) => w[2]),
      [1, 2],
    );
    await assert.rejects(r.q.fan().setDuty(120), /0\.\.100/);
  });

  it('Reset runs the firmware power sequence in order with its delays; Shutdown drops RUN/LDO and asserts RESET', async () => {
    const r = qaxeRig();
    const p = r.q.reset();
    await r.clock.advanceAsync(1000, 10);
    await p;
    const L = QAXE_LINES;
    assert.deepEqual(r.order, [`${L.LDO_EN}=1@250`, `${L.RUN}=1@350`, `${L.RESET}=0@600`]);
    assert.equal(r.q.powered, true);
    r.order.length = 0;
    await r.q.shutdown();
    assert.deepEqual(r.order, [`${L.RUN}=0@1000`, `${L.LDO_EN}=0@1000`, `${L.RESET}=1@1000`]);
  });

  it('an unknown op gets the default response and rejects; a silent bridge times out, then resyncs', async () => {
    const r = qaxeRig();
    // op 9 through the raw request path: the firmware answers 00
    const reply = new Promise<Uint8Array>((res) => {
      const off = r.link.onData((c) => {
        off();
        res(c);
      });
    });
    r.mcu.feed(Uint8Array.of(0x04, 0x08, 0x07, 0x10, 0x09));
    assert.deepEqual(await reply, vec('qaxe-ok-id0'));
    r.mcu.silent = true;
    const p = assert.rejects(r.q.nop(), (e: Error & { code?: string }) => e.code === 'timeout');
    await r.clock.advanceAsync(1001);
    await p;
    r.mcu.silent = false;
    await r.q.nop();
    assert.equal(r.q.stats.timeouts, 1);
  });
});
