/**
 * The emulated Firmata MCU's protocol engine against byte sequences from the Firmata protocol
 * documentation (firmata/protocol protocol.md, capability-query / analog-mapping / pin-state-query),
 * on a ManualClock: version and firmware queries, capability and analog mapping responses, pin modes,
 * analog reporting with the sampling interval, PWM writes (ANALOG_MESSAGE and EXTENDED_ANALOG) into the
 * model's fan, tach edges as DIGITAL_MESSAGE reports, the thermistor divider, and bad input.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FirmataMcu } from '../../firmware/io-mcu/firmata-mcu.ts';
import { ThermalModel } from '../../firmware/sensors/thermal-model.ts';
import { ManualClock } from '../../lib/clock.ts';

function rig() {
  const clock = new ManualClock();
  const model = new ThermalModel({
    clock,
    ambientC: 25,
    initialC: 25,
    hashing: false,
    gPassive: 1e-6,
    gFan: 1e-6,
  });
  const mcu = new FirmataMcu({ model, clock });
  const out: number[] = [];
  mcu.onSend((b) => out.push(...b));
  const take = () => out.splice(0);
  return { clock, model, mcu, take, tx: (...b: number[]) => mcu.receive(Uint8Array.from(b)) };
}

/** Splits a byte stream into messages (sysex, or 2/3-byte MIDI-style). */
function messages(bytes: number[]): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i]!;
    if (b === 0xf0) {
      const end = bytes.indexOf(0xf7, i);
      out.push(bytes.slice(i, end + 1));
      i = end + 1;
    } else {
      const len = (b & 0xf0) === 0xc0 || (b & 0xf0) === 0xd0 ? 2 : 3;
      out.push(bytes.slice(i, i + len));
      i += len;
    }
  }
  return out;
}

describe('Firmata MCU emulator (protocol engine)', () => {
  it('REPORT_VERSION 0xF9 → F9 02 06', () => {
    const r = rig();
    r.tx(0xf9);
    assert.deepEqual(r.take(), [0xf9, 0x02, 0x06]);
  });

  it('firmware query F0 79 F7 → version 2.5 and the name as 7-bit LSB/MSB pairs', () => {
    const r = rig();
    r.tx(0xf0, 0x79, 0xf7);
    const m = r.take();
    assert.deepEqual(m.slice(0, 4), [0xf0, 0x79, 0x02, 0x05]);
    assert.equal(m.at(-1), 0xf7);
    const chars = m.slice(4, -1);
    let name = '';
    for (let i = 0; i < chars.length; i += 2) name += String.fromCharCode(chars[i]! | (chars[i + 1]! << 7));
    assert.equal(name, 'StandardFirmata.ino');
  });

  it('capability response: per pin (mode, resolution) pairs ended by 0x7F; Uno layout', () => {
    const r = rig();
    r.tx(0xf0, 0x6b, 0xf7);
    const m = r.take();
    assert.deepEqual(m.slice(0, 2), [0xf0, 0x6c]);
    const pins: number[][] = [];
    let cur: number[] = [];
    for (const b of m.slice(2, -1)) {
      if (b === 0x7f) {
        pins.push(cur);
        cur = [];
      } else cur.push(b);
    }
    assert.equal(pins.length, 20);
    assert.deepEqual(pins[0], [], 'pin 0 is serial RX');
    const modes = (p: number) =>
      new Map(pins[p]!.flatMap((_, i, a) => (i % 2 === 0 ? [[a[i]!, a[i + 1]!]] : [])));
    assert.equal(modes(9).get(0x03), 8, 'D9 has 8-bit PWM');
    assert.equal(modes(2).has(0x03), false, 'D2 has no PWM');
    assert.equal(modes(14).get(0x02), 10, 'A0 has a 10-bit ADC');
    assert.equal(modes(18).get(0x06), 1, 'A4 is SDA');
  });

  it('analog mapping: F0 6A, channel per pin or 0x7F', () => {
    const r = rig();
    r.tx(0xf0, 0x69, 0xf7);
    const m = r.take();
    assert.deepEqual(m, [0xf0, 0x6a, ...Array(14).fill(0x7f), 0, 1, 2, 3, 4, 5, 0xf7]);
  });

  it('SET_PIN_MODE then PIN_STATE_QUERY reports mode and value', () => {
    const r = rig();
    r.tx(0xf4, 9, 0x03); // D9 → PWM
    r.tx(0xe9, 0x7f, 0x01); // PWM 255
    r.tx(0xf0, 0x6d, 9, 0xf7);
    assert.deepEqual(r.take(), [0xf0, 0x6e, 9, 0x03, 0x7f, 0x01, 0xf7]);
  });

  it('ignores a mode the pin does not support (PWM on D2)', () => {
    const r = rig();
    r.tx(0xf4, 2, 0x03);
    r.tx(0xf0, 0x6d, 2, 0xf7);
    assert.equal(r.take()[3], 0x01, 'still OUTPUT');
  });

  it('REPORT_ANALOG turns on ANALOG_MESSAGE reports every sampling interval; SAMPLING_INTERVAL changes it', () => {
    const r = rig();
    r.mcu.start();
    r.tx(0xc0, 1);
    r.clock.advance(19 * 10);
    const ms = messages(r.take());
    assert.equal(ms.length, 10);
    for (const m of ms) assert.equal(m[0], 0xe0);
    r.tx(0xf0, 0x7a, 100 & 0x7f, 100 >> 7, 0xf7);
    r.take();
    r.clock.advance(1000);
    assert.equal(messages(r.take()).length, 10);
    r.tx(0xc0, 0);
    r.clock.advance(1000);
    assert.equal(r.take().length, 0);
    r.mcu.stop();
    assert.equal(r.clock.pending(), 0);
  });

  it('thermistor count follows the NTC divider: 25 °C → mid-scale, hotter → lower', () => {
    const r = rig();
    assert.equal(r.mcu.thermistorCount(), 512); // 1023 × 10k / 20k = 511.5 → 512
    r.model.setTemperature(85);
    const hot = r.mcu.thermistorCount();
    // R(85 °C) = 10k·exp(3950·(1/358.15 − 1/298.15)) ≈ 1 097 Ω → 1023 × 1097 / 11097 ≈ 101
    assert.ok(Math.abs(hot - 101) <= 1, `${hot}`);
    r.mcu.thermistorFault = 'open';
    assert.equal(r.mcu.thermistorCount(), 1023);
  });

  it('PWM write on the fan pin (ANALOG_MESSAGE E9 lsb msb) sets the model fan duty', () => {
    const r = rig();
    r.tx(0xf4, 9, 0x03);
    r.tx(0xe9, 128 & 0x7f, 128 >> 7);
    assert.ok(Math.abs(r.model.fanDuty() - (128 / 255) * 100) < 1e-9);
    // EXTENDED_ANALOG F0 6F pin lsb msb F7 does the same.
    r.tx(0xf0, 0x6f, 9, 255 & 0x7f, 255 >> 7, 0xf7);
    assert.equal(r.model.fanDuty(), 100);
  });

  it('PWM to a pin not in PWM mode is ignored', () => {
    const r = rig();
    r.tx(0xe9, 0x7f, 0x01);
    assert.equal(r.model.fanDuty(), 0);
  });

  it('tach: REPORT_DIGITAL on port 0 with D2 as INPUT streams DIGITAL_MESSAGE edges at rpm × ppr × 2 / 60', () => {
    const r = rig();
    r.mcu.start();
    r.tx(0xf4, 9, 0x03);
    r.tx(0xe9, 0x7f, 0x01); // 100 %
    r.clock.advance(20_000); // spin up to ~6000 rpm
    r.tx(0xf4, 2, 0x00); // D2 INPUT
    r.tx(0xd0, 1); // report port 0
    r.take();
    const rpm = r.model.fanRpm();
    r.clock.advance(1000);
    const ms = messages(r.take()).filter((m) => m[0] === 0x90);
    let rising = 0;
    let last = -1;
    for (const m of ms) {
      const level = (m[1]! >> 2) & 1;
      if (level === 1 && last === 0) rising++;
      last = level;
    }
    const expected = (rpm / 60) * 2;
    assert.ok(
      Math.abs(rising - expected) <= 2,
      `${rising} rising edges in 1 s, expected ≈ ${expected.toFixed(1)}`,
    );
    r.mcu.stop();
  });

  it('bad input: stray data bytes, unknown commands and truncated sysex do not desync the parser', () => {
    const r = rig();
    r.tx(0x12, 0x34, 0xf3, 0x55, 0xf0, 0x79, 0x01, 0xf9);
    // The truncated sysex is dropped, the 0xF9 inside it is honoured.
    assert.deepEqual(r.take(), [0xf9, 0x02, 0x06]);
    r.tx(0xf0, 0x55, 0x01, 0xf7, 0xf9);
    assert.deepEqual(r.take(), [0xf9, 0x02, 0x06]);
    assert.ok(r.mcu.stats.unknown >= 2);
  });

  it('SYSTEM_RESET clears pin modes and reporting', () => {
    const r = rig();
    r.mcu.start();
    r.tx(0xc0, 1);
    r.tx(0xff);
    r.clock.advance(200);
    assert.equal(r.take().length, 0);
    r.mcu.stop();
  });

  it('a silent (hung) MCU answers nothing', () => {
    const r = rig();
    r.mcu.silent = true;
    r.tx(0xf9);
    assert.equal(r.take().length, 0);
  });
});
