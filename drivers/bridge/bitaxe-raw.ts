/**
 * bitaxe-raw / emberOne USB bridge driver: the control protocol (drivers/bridge/bitaxe-raw-codec.ts) over
 * any ByteTransport (the control CDC port), giving the board's I2C bus, GPIO lines and ADC behind the SAME
 * interfaces as the Pi's own (I2cBus, GpioPort), so the TPS546 / INA260 / DS4432U / EMC2101 drivers run
 * unchanged over either. The data CDC port is the chain's UART (a plain UartTransport).
 *
 * One request outstanding at a time, sequential ids 0..254 (0xFF is what the firmware puts in parse-error
 * replies), a timeout per request (mujina: 1 s), and a resync after a timeout or a frame that matches no
 * request: everything buffered is discarded and the port is flushed before the next request, so a late or
 * corrupted reply can never be taken for the answer to a later request. The control port is (re)opened
 * on demand, so a bridge unplugged and plugged back is used again without restarting. That plumbing is
 * request-link.ts, shared with the QAxe driver; the framing and reply matching are here.
 */
import type { Clock } from '../../lib/clock.ts';
import { type Logger, silentLogger } from '../../lib/log.ts';
import { type ByteTransport, type GpioPort, type I2cBus, TransportError } from '../transport/contract.ts';
import {
  ADC_CMD,
  encodeRequest,
  I2C_CMD,
  PAGE,
  type RawReply,
  RawReplyParser,
  type ReplyVersion,
  statusName,
} from './bitaxe-raw-codec.ts';
import { RequestLink, type RequestLinkStats } from './request-link.ts';

export interface BitaxeRawOptions {
  /** The control CDC port. */
  transport: ByteTransport;
  /** Reply framing: 0 (EF main, a Gamma's bitaxe-raw) or 1 (bcdDevice ≥ 0x0510). */
  version: ReplyVersion;
  clock: Clock;
  /** Per-request reply timeout (default 1000 ms, mujina's). */
  timeoutMs?: number;
  logger?: Logger;
}

export interface BitaxeRawStats extends RequestLinkStats {
  /** Bytes discarded by resyncs. */
  discarded: number;
}

const LINK_FIX = 'check the USB cable and that the board runs the bitaxe-raw firmware (`asicd doctor`)';

function checkAddr(path: string, addr: number): void {
  if (!Number.isInteger(addr) || addr < 0x03 || addr > 0x77)
    throw new TransportError('io', path, `I2C address: must be a 7-bit address 0x03..0x77, got ${addr}`);
}
function checkLen(path: string, n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > 255)
    throw new TransportError('io', path, `I2C read length: 1..255 bytes, got ${n}`);
}

export class BitaxeRawBridge {
  readonly path: string;
  readonly transport: ByteTransport;
  readonly version: ReplyVersion;
  private readonly parser: RawReplyParser;
  private readonly link: RequestLink<Uint8Array>;
  private discarded = 0;
  /** The board's I2C bus behind the bridge (the I2cBus contract). close() is a no-op: the bridge owns it. */
  readonly i2c: I2cBus;
  /** The bridge MCU's GPIO lines (the GpioPort contract); line = the firmware's GPIO command code. */
  readonly gpio: GpioPort;

  constructor(o: BitaxeRawOptions) {
    this.transport = o.transport;
    this.path = o.transport.path;
    this.version = o.version;
    this.parser = new RawReplyParser(o.version);
    this.link = new RequestLink<Uint8Array>({
      transport: o.transport,
      clock: o.clock,
      logger: (o.logger ?? silentLogger).child('bitaxe-raw', { path: this.path }),
      timeoutMs: o.timeoutMs ?? 1000,
      // 0..254: 0xFF is what the firmware puts in parse-error replies.
      ids: { first: 0, last: 0xfe },
      fix: LINK_FIX,
      resetParser: () => this.resync(),
    });
    o.transport.onData((chunk) => this.onData(chunk));
    const self = this;
    const i2cPath = `${this.path}:i2c`;
    this.i2c = {
      path: i2cPath,
      async write(addr, data) {
        checkAddr(i2cPath, addr);
        await self.request(PAGE.I2C, I2C_CMD.WRITE, [addr, ...data], 1, `I2C write 0x${addr.toString(16)}`);
      },
      async read(addr, length) {
        checkAddr(i2cPath, addr);
        checkLen(i2cPath, length);
        return self.request(
          PAGE.I2C,
          I2C_CMD.READ,
          [addr, length],
          length,
          `I2C read 0x${addr.toString(16)}`,
        );
      },
      async writeRead(addr, data, length) {
        checkAddr(i2cPath, addr);
        checkLen(i2cPath, length);
        return self.request(
          PAGE.I2C,
          I2C_CMD.WRITE_READ,
          [addr, ...data, length],
          length,
          `I2C write-read 0x${addr.toString(16)}`,
        );
      },
      async close() {},
    };
    const gpioPath = `${this.path}:gpio`;
    this.gpio = {
      path: gpioPath,
      async set(line, high) {
        if (!Number.isInteger(line) || line < 0 || line > 0xff)
          throw new TransportError('io', gpioPath, `GPIO line: 0..255, got ${line}`);
        await self.request(PAGE.GPIO, line, [high ? 1 : 0], 1, `GPIO ${line} ← ${high ? 1 : 0}`);
      },
      async get(line) {
        if (!Number.isInteger(line) || line < 0 || line > 0xff)
          throw new TransportError('io', gpioPath, `GPIO line: 0..255, got ${line}`);
        const d = await self.request(PAGE.GPIO, line, [], 1, `GPIO ${line} read`);
        return d[0] !== 0;
      },
      async close() {},
    };
  }

  /** Requests, timeouts, stray replies, bridge errors and bytes discarded by resyncs. */
  get stats(): BitaxeRawStats {
    return { ...this.link.stats, discarded: this.discarded };
  }

  /** Opens the control port (also done on demand by every request). */
  open(): Promise<void> {
    return this.link.open();
  }

  /** I2C clock of the bridge's bus (Hz); the reply echoes it. */
  async setI2cSpeed(hz: number): Promise<number> {
    if (!Number.isInteger(hz) || hz < 10_000 || hz > 1_000_000)
      throw new RangeError(`I2C speed: 10000..1000000 Hz, got ${hz}`);
    const d = await this.request(
      PAGE.I2C,
      I2C_CMD.SPEED,
      [hz & 0xff, (hz >>> 8) & 0xff, (hz >>> 16) & 0xff, hz >>> 24],
      4,
      'I2C speed',
    );
    return (d[0]! | (d[1]! << 8) | (d[2]! << 16) | (d[3]! << 24)) >>> 0;
  }

  /** ADC channel (VDD 0x50, VIN 0x51) as the raw u16 the firmware sends (millivolts on emberOne). */
  async adc(channel: 'vdd' | 'vin'): Promise<number> {
    const d = await this.request(
      PAGE.ADC,
      channel === 'vdd' ? ADC_CMD.VDD : ADC_CMD.VIN,
      [],
      2,
      `ADC ${channel}`,
    );
    return d[0]! | (d[1]! << 8);
  }

  /** One request → its reply data. Requests are serialised (one outstanding). */
  request(
    page: number,
    cmd: number,
    data: readonly number[] | Uint8Array,
    replyLength: number,
    what = `page 0x${page.toString(16)} cmd 0x${cmd.toString(16)}`,
  ): Promise<Uint8Array> {
    return this.link.request(what, (id) => encodeRequest({ id, page, cmd, data: Uint8Array.from(data) }), {
      // v0 success frames carry only the data length: the parser must know what to expect.
      beforeSend: () => this.parser.expect(replyLength),
    });
  }

  private resync(): void {
    const before = this.parser.discarded;
    this.parser.resync();
    this.discarded += this.parser.discarded - before;
  }

  private onData(chunk: Uint8Array): void {
    let replies: RawReply[];
    try {
      replies = this.parser.push(chunk);
    } catch {
      this.resync();
      return;
    }
    for (const r of replies) this.onReply(r);
  }

  private onReply(r: RawReply): void {
    const p = this.link.current;
    if (r.kind === 'error' && r.id === 0xff && p) {
      // The firmware could not parse our request (invalid / overflow): it answers with id 0xFF.
      this.link.settle({
        error: new TransportError('io', this.path, `${p.what}: bridge says ${statusName(r.code)}`, LINK_FIX),
        resync: true,
      });
      return;
    }
    if (!p || r.id !== p.id) {
      // Late reply to a timed-out request, or garbage that parsed: drop it and what follows.
      this.link.stray({ id: r.id });
      return;
    }
    if (r.kind === 'ok') {
      this.link.settle({ value: r.data });
      return;
    }
    // I2C NACKs and the like: the bridge answered, the part on its bus did not ('io', not a link fault).
    this.link.settle({
      error: new TransportError(
        'io',
        this.path,
        `${p.what}: bridge says ${statusName(r.code)}${r.text ? `: ${r.text}` : ''}`,
        'check the part on the board (address, power)',
      ),
    });
  }

  close(): Promise<void> {
    return this.link.close();
  }
}
