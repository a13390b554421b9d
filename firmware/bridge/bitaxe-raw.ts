/**
 * An emulated bitaxe-raw bridge MCU (the ESP32-S3 of a Bitaxe running bitaxe-raw, or emberOne's RP2040):
 * it parses control requests from the host and runs them on the board's emulated I2C bus and GPIO
 * lines, answering with the firmware's framing — v0 (EF main: success len = data bytes) or v1 (PR 20:
 * len = whole packet, status byte). Its own framing code (firmware/ does not import drivers/); the host
 * codec is tested against it and against the public vectors.
 *
 * Behaviour taken from the firmware (boards.md §3, §6):
 *   - request: len u16 LE (whole packet), id, bus, page, cmd, data; no sync byte; a gap of more than
 *     `gapMs` (4 ms on the real receiver) between bytes of one packet drops the partial packet;
 *   - a length field ≤ 4 makes the EF firmware panic: the emulator treats it as a bridge reset
 *     (GPIO back to power-on levels, `resets` counted) and answers nothing;
 *   - unknown page/command → error 0x11 with id 0xFF (parse errors carry 0xFF); an I2C NACK → error
 *     0xFF + text with the request's id;
 *   - I2C write replies with the number of bytes written (one byte: a documented choice, the width is not
 *     in the stored sources); read / write-read reply with the bytes; speed echoes the u32;
 *   - GPIO: cmd = line; one data byte sets the level and the reply echoes it, none reads it;
 *   - ADC 0x50 VDD / 0x51 VIN: u16 LE millivolts; LED 0x10 echoes R, G, B.
 */
import type { Clock } from '../../lib/clock.ts';

export interface BridgeI2c {
  write(addr: number, data: Uint8Array): Promise<void>;
  read(addr: number, length: number): Promise<Uint8Array>;
  writeRead(addr: number, data: Uint8Array, length: number): Promise<Uint8Array>;
}
export interface BridgeGpio {
  set(line: number, high: boolean): Promise<void>;
  get(line: number): Promise<boolean>;
}

export interface BitaxeRawMcuOptions {
  clock: Clock;
  version: 0 | 1;
  i2c: BridgeI2c;
  gpio: BridgeGpio;
  /** ADC readings in mV. */
  adc?: () => { vddMv: number; vinMv: number };
  /** Called with every reply frame, in order. */
  send: (frame: Uint8Array) => void;
  /** The MCU rebooted (a ≤ 4-byte length field panics the EF firmware): restore power-on GPIO levels. */
  onReboot?: () => void;
  /** Inter-byte gap that resets the receiver (ms, default 4). */
  gapMs?: number;
}

const PAGE_I2C = 0x05;
const PAGE_GPIO = 0x06;
const PAGE_ADC = 0x07;
const PAGE_LED = 0x08;
const ERR_INVALID = 0x11;
const ERR_TEXT = 0xff;

export class EmulatedBitaxeRawMcu {
  private readonly o: BitaxeRawMcuOptions;
  private buf: number[] = [];
  private lastByteAt = 0;
  private chain: Promise<void> = Promise.resolve();
  /** Fault knob: the MCU hears nothing and answers nothing (a hung bridge). */
  silent = false;
  readonly stats = { requests: 0, replies: 0, errors: 0, resets: 0, droppedPartial: 0 };

  constructor(o: BitaxeRawMcuOptions) {
    this.o = o;
  }

  /** Bytes from the host (any chunking). */
  feed(chunk: Uint8Array): void {
    if (this.silent) return;
    const now = this.o.clock.now();
    if (this.buf.length > 0 && now - this.lastByteAt > (this.o.gapMs ?? 4)) {
      this.stats.droppedPartial++;
      this.buf = [];
    }
    this.lastByteAt = now;
    this.buf.push(...chunk);
    for (;;) {
      if (this.buf.length < 2) return;
      const len = this.buf[0]! | (this.buf[1]! << 8);
      if (len <= 4) {
        // EF firmware: slices buf[2..len] after 5 bytes arrived → panic → the MCU resets.
        if (this.buf.length < 5) return;
        this.buf = [];
        this.stats.resets++;
        this.o.onReboot?.();
        return;
      }
      if (this.buf.length < len) return;
      const pkt = Uint8Array.from(this.buf.slice(0, len));
      this.buf = this.buf.slice(len);
      this.stats.requests++;
      // Requests are served in order, one at a time, like the firmware's control task.
      this.chain = this.chain.then(() => this.handle(pkt)).catch(() => {});
    }
  }

  /** Drops a partial request (the host side went away). */
  reset(): void {
    this.buf = [];
  }

  private ok(id: number, data: readonly number[] | Uint8Array): void {
    const v1 = this.o.version === 1;
    const len = v1 ? 4 + data.length : data.length;
    const out = new Uint8Array((v1 ? 4 : 3) + data.length);
    out[0] = len & 0xff;
    out[1] = len >> 8;
    out[2] = id;
    if (v1) out[3] = 0;
    out.set(data, v1 ? 4 : 3);
    this.stats.replies++;
    if (!this.silent) this.o.send(out);
  }

  private error(id: number, code: number, text = ''): void {
    const t = new TextEncoder().encode(text);
    const out = new Uint8Array(4 + t.length);
    out[0] = out.length & 0xff;
    out[1] = out.length >> 8;
    out[2] = id;
    out[3] = code;
    out.set(t, 4);
    this.stats.errors++;
    if (!this.silent) this.o.send(out);
  }

  private async handle(p: Uint8Array): Promise<void> {
    const id = p[2]!;
    const page = p[4]!;
    const cmd = p[5]!;
    const data = p.subarray(6);
    try {
      switch (page) {
        case PAGE_I2C:
          return await this.i2c(id, cmd, data);
        case PAGE_GPIO: {
          if (data.length >= 1) {
            await this.o.gpio.set(cmd, data[0] !== 0);
            return this.ok(id, [data[0] ? 1 : 0]);
          }
          return this.ok(id, [(await this.o.gpio.get(cmd)) ? 1 : 0]);
        }
        case PAGE_ADC: {
          const a = this.o.adc?.() ?? { vddMv: 0, vinMv: 0 };
          if (cmd !== 0x50 && cmd !== 0x51) return this.error(0xff, ERR_INVALID);
          const mv = Math.max(0, Math.min(0xffff, Math.round(cmd === 0x50 ? a.vddMv : a.vinMv)));
          return this.ok(id, [mv & 0xff, mv >> 8]);
        }
        case PAGE_LED:
          if (cmd !== 0x10 || data.length !== 3) return this.error(0xff, ERR_INVALID);
          return this.ok(id, data);
        default:
          return this.error(0xff, ERR_INVALID);
      }
    } catch (e) {
      // The part on the bus did not answer (NACK) or a line cannot be driven: text error with our id.
      return this.error(id, ERR_TEXT, (e as Error).message.slice(0, 60));
    }
  }

  private async i2c(id: number, cmd: number, d: Uint8Array): Promise<void> {
    switch (cmd) {
      case 0x10:
        if (d.length !== 4) return this.error(0xff, ERR_INVALID);
        return this.ok(id, d);
      case 0x20:
        if (d.length < 1) return this.error(0xff, ERR_INVALID);
        await this.o.i2c.write(d[0]!, d.slice(1));
        return this.ok(id, [(d.length - 1) & 0xff]);
      case 0x30:
        if (d.length !== 2) return this.error(0xff, ERR_INVALID);
        return this.ok(id, await this.o.i2c.read(d[0]!, d[1]!));
      case 0x40:
        if (d.length < 3) return this.error(0xff, ERR_INVALID);
        return this.ok(id, await this.o.i2c.writeRead(d[0]!, d.slice(1, -1), d[d.length - 1]!));
      default:
        return this.error(0xff, ERR_INVALID);
    }
  }
}
