/**
 * ByteTransport for one UART channel of an NXP SC16IS752 / SC16IS762 (two channels) or SC16IS740/750/760
 * (one channel) SPI-to-UART bridge — the part Pi HATs use to add UARTs — over any SpiBus.
 *
 * Register access (NXP datasheet, SPI interface): the first byte of each transfer is
 * R/W (bit 7, 1 = read) | register A[3:0] << 3 | channel << 1; data bytes follow. Reading RHR or
 * writing THR in one transfer moves a burst through the 64-byte FIFO.
 * Setup: scratch-register probe (SPR) to detect a missing bridge, divisor latch (LCR[7] = 1 → DLL/DLH,
 * baud = crystal / (16 · divisor), prescaler 1), LCR = 0x03 (8N1), FCR = 0x07 (enable FIFOs, reset both).
 * Receive: polled on the Clock (RXLVL, then an RHR burst) or, given an IRQ line, on its falling edge
 * (IIR read, then drain). Transmit: TXLVL says how much FIFO space there is; bursts never exceed it.
 * The SpiBus belongs to the caller (two channels share it); close() does not close it.
 */
import type { Clock, TimerHandle } from '../../lib/clock.ts';
import type { Logger } from '../../lib/log.ts';
import { silentLogger } from '../../lib/log.ts';
import { type ByteTransport, type SpiBus, TransportError, type Unsubscribe } from './contract.ts';
import { closedError, transportError } from './errors.ts';
import { Listeners } from './listeners.ts';

export const SC16_REG = Object.freeze({
  RHR: 0x00, // read (LCR[7] = 0)
  THR: 0x00, // write
  IER: 0x01,
  FCR: 0x02, // write
  IIR: 0x02, // read
  LCR: 0x03,
  MCR: 0x04,
  LSR: 0x05,
  SPR: 0x07,
  TXLVL: 0x08,
  RXLVL: 0x09,
  DLL: 0x00, // LCR[7] = 1
  DLH: 0x01, // LCR[7] = 1
});

export const SC16_FIFO_SIZE = 64;

/** The SPI address byte for a register access. */
export function sc16Address(reg: number, channel: number, read: boolean): number {
  return (read ? 0x80 : 0) | ((reg & 0x0f) << 3) | ((channel & 0x03) << 1);
}

/** Divisor for a baud rate and the rate it really gives. */
export function sc16Divisor(
  crystalHz: number,
  baud: number,
): { divisor: number; actual: number; error: number } {
  const divisor = Math.min(0xffff, Math.max(1, Math.round(crystalHz / (16 * baud))));
  const actual = crystalHz / (16 * divisor);
  return { divisor, actual, error: Math.abs(actual - baud) / baud };
}

/** An active-low interrupt line from the bridge (a GPIO input). */
export interface InterruptLine {
  onFalling(listener: () => void): Unsubscribe;
}

export interface Sc16is7xxOptions {
  spi: SpiBus;
  /** 0 or 1 (SC16IS752/762); 0 for single-channel parts. */
  channel?: 0 | 1;
  /** Crystal frequency. Default 14.7456 MHz. */
  crystalHz?: number;
  /** Line rate at open. Default 115200. */
  baudRate?: number;
  clock: Clock;
  /** Poll period when no IRQ line is given. Default 2 ms (a 64-byte FIFO fills in 5.5 ms at 115200). */
  pollMs?: number;
  irq?: InterruptLine;
  logger?: Logger;
}

const MAX_BAUD_ERROR = 0.02;

export class Sc16is7xxUart implements ByteTransport {
  readonly path: string;
  private readonly spi: SpiBus;
  private readonly ch: number;
  private readonly crystal: number;
  private baud: number;
  private readonly clock: Clock;
  private readonly pollMs: number;
  private readonly irq: InterruptLine | undefined;
  private readonly log: Logger;
  private open_ = false;
  private lock: Promise<unknown> = Promise.resolve();
  private writes: Promise<unknown> = Promise.resolve();
  private poller: TimerHandle | undefined;
  private irqUnsub: Unsubscribe | undefined;
  private draining = false;
  private readonly dataL = new Listeners<[Uint8Array]>();
  private readonly errorL = new Listeners<[TransportError]>();
  private readonly closeL = new Listeners<[]>();
  /** Receive overruns seen in LSR. */
  overruns = 0;

  constructor(o: Sc16is7xxOptions) {
    this.spi = o.spi;
    this.ch = o.channel ?? 0;
    this.crystal = o.crystalHz ?? 14_745_600;
    this.baud = o.baudRate ?? 115_200;
    this.clock = o.clock;
    this.pollMs = o.pollMs ?? 2;
    this.irq = o.irq;
    this.path = `${o.spi.path}:uart${this.ch}`;
    this.log = (o.logger ?? silentLogger).child('sc16is7xx', { path: this.path });
  }

  get isOpen(): boolean {
    return this.open_;
  }
  get baudRate(): number {
    return this.baud;
  }

  /** Runs `fn` with exclusive use of the SPI bus (register sequences must not interleave). */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => {});
    return run;
  }
  private async writeReg(reg: number, value: number): Promise<void> {
    await this.spi.transfer(Uint8Array.of(sc16Address(reg, this.ch, false), value));
  }
  private async readReg(reg: number): Promise<number> {
    const rx = await this.spi.transfer(Uint8Array.of(sc16Address(reg, this.ch, true), 0));
    return rx[1]!;
  }
  private async programBaud(baud: number): Promise<void> {
    const { divisor } = sc16Divisor(this.crystal, baud);
    await this.writeReg(SC16_REG.LCR, 0x80); // divisor latch enable
    await this.writeReg(SC16_REG.DLL, divisor & 0xff);
    await this.writeReg(SC16_REG.DLH, divisor >>> 8);
    await this.writeReg(SC16_REG.LCR, 0x03); // 8 data bits, no parity, 1 stop bit
  }

  supportsBaudRate(baud: number): boolean {
    return Number.isFinite(baud) && baud > 0 && sc16Divisor(this.crystal, baud).error <= MAX_BAUD_ERROR;
  }

  private unsupportedBaud(baud: number): TransportError {
    const { actual, error } = sc16Divisor(this.crystal, baud);
    return new TransportError(
      'unsupported',
      this.path,
      `cannot make ${baud} baud from a ${this.crystal / 1e6} MHz crystal (nearest ${Math.round(actual)}, ${(error * 100).toFixed(1)} % off)`,
      'use a crystal that divides this rate (e.g. 16 MHz for 1 Mbaud) or keep the chain at a lower rate',
    );
  }

  async open(): Promise<void> {
    if (this.open_) return;
    if (!this.supportsBaudRate(this.baud)) throw this.unsupportedBaud(this.baud);
    await this.exclusive(async () => {
      try {
        // Probe: the scratch register must hold what we write (no bridge → reads 0x00 or 0xFF).
        for (const probe of [0x5a, 0xa5]) {
          await this.writeReg(SC16_REG.SPR, probe);
          const got = await this.readReg(SC16_REG.SPR);
          if (got !== probe) {
            throw new TransportError(
              'not-found',
              this.path,
              `no SC16IS7xx answered (scratch register wrote 0x${probe.toString(16)}, read 0x${got.toString(16)})`,
              'check the HAT is seated, the SPI chip select and the crystal, and that SPI is enabled in raspi-config',
            );
          }
        }
        await this.programBaud(this.baud);
        await this.writeReg(SC16_REG.FCR, 0x07); // enable FIFOs, reset RX and TX FIFOs
        await this.writeReg(SC16_REG.IER, this.irq ? 0x01 : 0x00); // RHR interrupt when IRQ-driven
      } catch (err) {
        throw transportError(this.path, err);
      }
    });
    this.open_ = true;
    if (this.irq) this.irqUnsub = this.irq.onFalling(() => void this.service(true));
    else this.poller = this.clock.setInterval(() => void this.service(false), this.pollMs);
    this.log.info('sc16is7xx.open', {
      baud: this.baud,
      crystalHz: this.crystal,
      mode: this.irq ? 'irq' : 'poll',
    });
  }

  /** Reads everything waiting in the RX FIFO and delivers it. */
  private async service(fromIrq: boolean): Promise<void> {
    if (!this.open_ || this.draining) return;
    this.draining = true;
    try {
      await this.exclusive(async () => {
        if (fromIrq) await this.readReg(SC16_REG.IIR); // acknowledge
        for (let round = 0; round < 4 && this.open_; round++) {
          const level = await this.readReg(SC16_REG.RXLVL);
          if (level === 0) break;
          if (level >= SC16_FIFO_SIZE) {
            const lsr = await this.readReg(SC16_REG.LSR);
            if (lsr & 0x02) {
              this.overruns++;
              this.log.warn('sc16is7xx.overrun', { overruns: this.overruns });
            }
          }
          const tx = new Uint8Array(level + 1);
          tx[0] = sc16Address(SC16_REG.RHR, this.ch, true);
          const rx = await this.spi.transfer(tx);
          this.dataL.emit(rx.subarray(1));
        }
      });
    } catch (err) {
      this.fail(transportError(this.path, err));
    } finally {
      this.draining = false;
    }
  }

  private fail(err: TransportError): void {
    if (!this.open_) return;
    this.log.warn('sc16is7xx.error', { code: err.code, error: err.message });
    this.errorL.emit(err);
    this.shutdown();
  }

  private shutdown(): void {
    if (!this.open_) return;
    this.open_ = false;
    this.clock.clearInterval(this.poller);
    this.poller = undefined;
    this.irqUnsub?.();
    this.irqUnsub = undefined;
    this.closeL.emit();
  }

  write(data: Uint8Array): Promise<void> {
    if (!this.open_) return Promise.reject(closedError(this.path));
    const copy = Uint8Array.from(data);
    const job = this.writes.then(() => this.pushOut(copy));
    this.writes = job.catch(() => {});
    return job;
  }

  private async pushOut(data: Uint8Array): Promise<void> {
    let o = 0;
    while (o < data.length) {
      if (!this.open_) throw closedError(this.path);
      const sent = await this.exclusive(async () => {
        const space = await this.readReg(SC16_REG.TXLVL);
        const n = Math.min(space, data.length - o);
        if (n <= 0) return 0;
        const tx = new Uint8Array(n + 1);
        tx[0] = sc16Address(SC16_REG.THR, this.ch, false);
        tx.set(data.subarray(o, o + n), 1);
        await this.spi.transfer(tx);
        return n;
      }).catch((err) => {
        const te = transportError(this.path, err);
        this.fail(te);
        throw te;
      });
      o += sent;
      if (sent === 0) await this.clock.sleep(this.pollMs); // FIFO full: wait for the line to drain it
    }
  }

  onData(listener: (chunk: Uint8Array) => void): Unsubscribe {
    return this.dataL.add(listener);
  }
  onError(listener: (err: TransportError) => void): Unsubscribe {
    return this.errorL.add(listener);
  }
  onClose(listener: () => void): Unsubscribe {
    return this.closeL.add(listener);
  }

  async setBaudRate(baud: number): Promise<void> {
    if (!this.supportsBaudRate(baud)) throw this.unsupportedBaud(baud);
    if (this.open_) {
      await this.writes;
      await this.exclusive(() => this.programBaud(baud)).catch((err) => {
        throw transportError(this.path, err);
      });
    }
    this.baud = baud;
    this.log.info('sc16is7xx.baud', { baud, actual: Math.round(sc16Divisor(this.crystal, baud).actual) });
  }

  async flush(): Promise<void> {
    if (!this.open_) return;
    await this.exclusive(() => this.writeReg(SC16_REG.FCR, 0x03)); // keep FIFOs on, reset RX FIFO
  }

  async close(): Promise<void> {
    if (!this.open_) return;
    this.shutdown();
    await this.lock;
    await this.exclusive(() => this.writeReg(SC16_REG.IER, 0x00)).catch(() => {});
  }
}
