/**
 * A register-level stand-in for an SC16IS752 on the SPI bus, for unit tests of the bridge driver.
 * There is no real SPI on the test machine, so this is a unit-level fake of one piece (per the brief),
 * written from the NXP datasheet register map: address byte R/W | A[3:0] << 3 | CH[1:0] << 1, RHR/THR
 * FIFO bursts, LCR[7] divisor latch (DLL/DLH), LCR = 0xBF enhanced set (EFR), FCR FIFO reset bits,
 * TXLVL/RXLVL, LSR, IER/IIR, SPR. TX bytes leave the FIFO at `lineBytesPerTransfer` per SPI transfer
 * (standing in for line time); RX bytes are injected by the test. It flags any protocol misuse.
 */
import type { SpiBus, Unsubscribe } from '../../drivers/transport/contract.ts';

const FIFO = 64;

export class Sc16Channel {
  ier = 0;
  lcr = 0x1d; // reset value per datasheet
  mcr = 0;
  spr = 0xff;
  dll = 0;
  dlh = 0;
  efr = 0;
  fifoEnabled = false;
  rx: number[] = [];
  tx: number[] = [];
  /** Bytes that left through TX, in order. */
  line: number[] = [];
  overrun = false;
  /** Bytes written to THR while the FIFO was full (a driver bug). */
  txOverflow = 0;
  rxResets = 0;
  txlvlReads = 0;
  /** Sets the divisor-latch baud from the crystal. */
  baud(crystalHz: number): number {
    const d = this.dll | (this.dlh << 8);
    return d === 0 ? 0 : crystalHz / (16 * d);
  }
}

export class Sc16is7xxEmulator implements SpiBus {
  readonly path: string;
  readonly ch = [new Sc16Channel(), new Sc16Channel()];
  transfers = 0;
  /** Protocol violations seen (bad address byte etc.). */
  errors: string[] = [];
  lineBytesPerTransfer = 16;
  /** When set, every transfer rejects with this error (device gone). */
  failWith: Error | undefined;
  /** When true, the bridge is absent: MISO reads 0xFF. */
  absent = false;
  /** Called with bytes as they leave a channel's TX pin (to wire a device behind the bridge). */
  onLine: ((channel: number, bytes: number[]) => void) | undefined;
  private irqListeners: Array<() => void> = [];

  constructor(path = '/dev/spidev0.0') {
    this.path = path;
  }

  /** Bytes arriving on a channel's RX pin. */
  inject(channel: number, bytes: ArrayLike<number>): void {
    const c = this.ch[channel]!;
    for (let i = 0; i < bytes.length; i++) {
      if (c.rx.length >= FIFO) c.overrun = true;
      else c.rx.push(bytes[i]!);
    }
    if (c.rx.length > 0 && c.ier & 0x01) for (const l of this.irqListeners) l();
  }

  /** The IRQ output as an InterruptLine. */
  irqLine = {
    onFalling: (l: () => void): Unsubscribe => {
      this.irqListeners.push(l);
      return () => {
        this.irqListeners = this.irqListeners.filter((x) => x !== l);
      };
    },
  };

  async transfer(tx: Uint8Array): Promise<Uint8Array> {
    await Promise.resolve();
    if (this.failWith) throw this.failWith;
    this.transfers++;
    const rx = new Uint8Array(tx.length).fill(this.absent ? 0xff : 0);
    this.ch.forEach((c, i) => {
      const out = c.tx.splice(0, this.lineBytesPerTransfer);
      if (out.length === 0) return;
      c.line.push(...out);
      this.onLine?.(i, out);
    });
    if (this.absent) return rx;
    const a = tx[0]!;
    const read = (a & 0x80) !== 0;
    const reg = (a >>> 3) & 0x0f;
    const chn = (a >>> 1) & 0x03;
    if (a & 0x01 || chn > 1) {
      this.errors.push(`bad address byte 0x${a.toString(16)}`);
      return rx;
    }
    if (tx.length < 2) this.errors.push('transfer without data byte');
    const c = this.ch[chn]!;
    for (let i = 1; i < tx.length; i++) {
      if (read) rx[i] = this.readReg(c, reg);
      else this.writeReg(c, reg, tx[i]!);
    }
    return rx;
  }

  private readReg(c: Sc16Channel, reg: number): number {
    const latch = (c.lcr & 0x80) !== 0;
    switch (reg) {
      case 0x00:
        if (latch) return c.dll;
        return c.rx.shift() ?? 0;
      case 0x01:
        return latch ? c.dlh : c.ier;
      case 0x02:
        if (c.lcr === 0xbf) return c.efr;
        return c.rx.length > 0 && c.ier & 1 ? 0x04 : 0x01; // RHR interrupt or none pending
      case 0x03:
        return c.lcr;
      case 0x04:
        return c.mcr;
      case 0x05: {
        const lsr = (c.rx.length > 0 ? 0x01 : 0) | (c.overrun ? 0x02 : 0) | (c.tx.length === 0 ? 0x60 : 0);
        c.overrun = false;
        return lsr;
      }
      case 0x07:
        return c.spr;
      case 0x08:
        c.txlvlReads++;
        return FIFO - c.tx.length;
      case 0x09:
        return c.rx.length;
      default:
        return 0;
    }
  }

  private writeReg(c: Sc16Channel, reg: number, v: number): void {
    const latch = (c.lcr & 0x80) !== 0;
    switch (reg) {
      case 0x00:
        if (latch) c.dll = v;
        else if (c.tx.length >= FIFO) c.txOverflow++;
        else c.tx.push(v);
        return;
      case 0x01:
        if (latch) c.dlh = v;
        else c.ier = v;
        return;
      case 0x02:
        if (c.lcr === 0xbf) {
          c.efr = v;
          return;
        }
        c.fifoEnabled = (v & 0x01) !== 0;
        if (v & 0x02) {
          c.rx = [];
          c.rxResets++;
        }
        if (v & 0x04) c.tx = [];
        return;
      case 0x03:
        c.lcr = v;
        return;
      case 0x04:
        c.mcr = v;
        return;
      case 0x07:
        c.spr = v;
        return;
      default:
        this.errors.push(`write to read-only or unknown register 0x${reg.toString(16)}`);
    }
  }

  async close(): Promise<void> {}
}
