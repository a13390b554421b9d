/**
 * ByteTransport over a real serial device through `serialport` v13 (/dev/ttyS0, /dev/ttyAMA0,
 * /dev/ttyUSB0, /dev/ttyACM0, pty paths). Opens with an exclusive lock, switches baud with
 * port.update(), and turns failures into TransportErrors that name the path and the fix: 'not-found',
 * 'permission', 'busy', and 'unplugged' (error event, then close) when the device vanishes mid-run.
 * Does not use SerialPort.list() (it needs udevadm, absent on many small systems).
 */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { SerialPort } from 'serialport';
import type { Logger } from '../../lib/log.ts';
import { silentLogger } from '../../lib/log.ts';
import { type ByteTransport, TransportError, type Unsubscribe } from './contract.ts';
import { closedError, transportError } from './errors.ts';
import { Listeners } from './listeners.ts';

export interface UartOptions {
  path: string;
  /** Line rate at open. Default 115200 (BM13xx after reset). */
  baudRate?: number;
  /** Take an exclusive lock on the device (default true). */
  lock?: boolean;
  /**
   * A write not drained this long (plus twice its time on the wire) means the device stopped taking
   * bytes — a hung USB bridge or adapter, a pty nobody reads: the link is dropped as lost (the write
   * rejects with `timeout`) and reopened by its owner, instead of the caller waiting forever (default
   * 5000 ms).
   */
  writeTimeoutMs?: number;
  logger?: Logger;
}

type PortState = 'closed' | 'opening' | 'open' | 'closing';

export class UartTransport implements ByteTransport {
  readonly path: string;
  private baud: number;
  private readonly lock: boolean;
  private readonly writeTimeoutMs: number;
  private readonly log: Logger;
  private port: SerialPort | undefined;
  private state: PortState = 'closed';
  private opening: Promise<void> | undefined;
  private readonly pending = new Set<(err: TransportError) => void>();
  private readonly dataL = new Listeners<[Uint8Array]>();
  private readonly errorL = new Listeners<[TransportError]>();
  private readonly closeL = new Listeners<[]>();

  constructor(opts: UartOptions) {
    this.path = opts.path;
    this.baud = opts.baudRate ?? 115_200;
    this.lock = opts.lock ?? true;
    this.writeTimeoutMs = opts.writeTimeoutMs ?? 5000;
    this.log = (opts.logger ?? silentLogger).child('uart', { path: opts.path });
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }
  get baudRate(): number {
    return this.baud;
  }

  open(): Promise<void> {
    if (this.state === 'open') return Promise.resolve();
    if (this.opening) return this.opening;
    this.opening = this.doOpen().finally(() => {
      this.opening = undefined;
    });
    return this.opening;
  }

  private async doOpen(): Promise<void> {
    this.state = 'opening';
    try {
      // fs.access gives real errno codes (ENOENT, EACCES) where serialport only gives a message.
      await access(this.path, constants.R_OK | constants.W_OK);
    } catch (err) {
      this.state = 'closed';
      throw transportError(this.path, err);
    }
    const port = new SerialPort({ path: this.path, baudRate: this.baud, autoOpen: false, lock: this.lock });
    await new Promise<void>((resolve, reject) => {
      port.open((err) => (err ? reject(transportError(this.path, err)) : resolve()));
    }).catch((err) => {
      this.state = 'closed';
      throw err;
    });
    this.port = port;
    this.state = 'open';
    port.on('data', (chunk: Buffer) => this.dataL.emit(chunk));
    port.on('error', (err: Error) => {
      const te = transportError(this.path, err);
      this.log.warn('uart.error', { code: te.code, error: te.message });
      this.errorL.emit(te);
    });
    port.on('close', (err?: Error & { disconnected?: boolean }) => {
      if (this.port !== port) return; // already handled by lost()
      if (err?.disconnected) this.lost(transportError(this.path, err, 'unplugged', 'device disconnected'));
      else {
        this.finish(closedError(this.path));
        this.closeL.emit();
      }
    });
    this.log.info('uart.open', { baud: this.baud });
  }

  /** The device went away: error event, then close (the serialport object is dropped). */
  private lost(te: TransportError): void {
    const port = this.port;
    if (!port) return;
    this.log.warn(te.code === 'timeout' ? 'uart.write_timeout' : 'uart.unplugged', { error: te.message });
    this.finish(te);
    if (port.isOpen) port.close(() => {});
    this.errorL.emit(te);
    this.closeL.emit();
  }

  private finish(err: TransportError): void {
    this.state = 'closed';
    this.port?.removeAllListeners('data');
    this.port = undefined;
    for (const reject of this.pending) reject(err);
    this.pending.clear();
  }

  write(data: Uint8Array): Promise<void> {
    const port = this.port;
    if (this.state !== 'open' || !port) return Promise.reject(closedError(this.path));
    // Copy now: callers may reuse their buffer as soon as write() returns.
    const copy = Buffer.from(data);
    return new Promise<void>((resolve, reject) => {
      const budgetMs = this.writeTimeoutMs + 2 * Math.ceil((copy.length * 10_000) / this.baud);
      const timer = setTimeout(() => {
        if (!this.pending.has(fail) || this.port !== port) return;
        this.lost(
          new TransportError(
            'timeout',
            this.path,
            `a write of ${copy.length} bytes was not drained within ${budgetMs} ms: the device stopped reading`,
            'check the adapter or USB bridge (a hung bridge needs a replug or power cycle); the link is reopened',
          ),
        );
      }, budgetMs);
      const fail = (err: TransportError) => {
        clearTimeout(timer);
        this.pending.delete(fail);
        reject(err);
      };
      this.pending.add(fail);
      port.write(copy, (err) => {
        if (!err) return;
        const gone = /bad file descriptor|EIO|ENXIO|EBADF|input\/output error/i.test(err.message);
        const te = transportError(this.path, err, gone ? 'unplugged' : undefined);
        fail(te);
        if (gone) this.lost(te);
      });
      port.drain((err) => {
        clearTimeout(timer);
        if (!this.pending.has(fail)) return;
        this.pending.delete(fail);
        if (err) reject(transportError(this.path, err));
        else resolve();
      });
    });
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
    if (!(Number.isInteger(baud) && baud > 0)) throw transportError(this.path, `bad baud rate ${baud}`, 'io');
    const port = this.port;
    if (this.state !== 'open' || !port) {
      this.baud = baud; // applied at the next open
      return;
    }
    await new Promise<void>((resolve, reject) =>
      port.update({ baudRate: baud }, (err) => (err ? reject(transportError(this.path, err)) : resolve())),
    );
    this.log.info('uart.baud', { baud });
    this.baud = baud;
  }

  supportsBaudRate(baud: number): boolean {
    return Number.isInteger(baud) && baud > 0;
  }

  async flush(): Promise<void> {
    const port = this.port;
    if (this.state !== 'open' || !port) return;
    await new Promise<void>((resolve, reject) =>
      port.flush((err) => (err ? reject(transportError(this.path, err)) : resolve())),
    );
  }

  async close(): Promise<void> {
    if (this.opening) await this.opening.catch(() => {});
    const port = this.port;
    if (this.state !== 'open' || !port) return;
    this.state = 'closing';
    await new Promise<void>((resolve) => {
      port.close(() => resolve());
    });
    // The 'close' event handler finishes the state change and notifies listeners.
    if ((this.state as PortState) !== 'closed') {
      this.finish(closedError(this.path));
      this.closeL.emit();
    }
  }
}

/** Opens a UART transport (convenience). */
export async function openUart(opts: UartOptions): Promise<UartTransport> {
  const t = new UartTransport(opts);
  await t.open();
  return t;
}
