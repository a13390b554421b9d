/**
 * An in-memory byte link (the transport contract, CONTRACT.md): the host side of a device that lives in
 * the same process — the emulated bridge MCU of a sim USB board twin. Bytes written are handed to
 * `deliver` (the device's receiver); the device answers with `receive()`. Both directions are
 * asynchronous (a microtask), as on a real port: a reply never re-enters the writer's stack, and order
 * is kept. No baud limit, no packet boundaries (chunk boundaries carry no meaning, as on a pty).
 */
import { type ByteTransport, TransportError, type Unsubscribe } from './contract.ts';
import { Listeners } from './listeners.ts';

export interface MemoryTransportOptions {
  /** The name in logs and errors ("sim:sim-gamma-usb:control"). */
  path: string;
  /** The device's receiver: every written chunk, in order (a copy). */
  deliver: (chunk: Uint8Array) => void;
  baudRate?: number;
}

export class MemoryTransport implements ByteTransport {
  readonly path: string;
  private readonly deliver: (chunk: Uint8Array) => void;
  private open_ = false;
  private baud: number;
  /** Bumped by flush() and close(): received chunks queued before it are dropped. */
  private epoch = 0;
  private readonly data = new Listeners<[Uint8Array]>();
  private readonly errors = new Listeners<[TransportError]>();
  private readonly closes = new Listeners<[]>();

  constructor(o: MemoryTransportOptions) {
    this.path = o.path;
    this.deliver = o.deliver;
    this.baud = o.baudRate ?? 115200;
  }

  get isOpen(): boolean {
    return this.open_;
  }
  get baudRate(): number {
    return this.baud;
  }

  async open(): Promise<void> {
    this.open_ = true;
  }

  async write(data: Uint8Array): Promise<void> {
    if (!this.open_) throw new TransportError('closed', this.path, 'write on a closed link');
    const copy = Uint8Array.from(data);
    const epoch = this.epoch;
    await Promise.resolve();
    if (!this.open_ || epoch !== this.epoch)
      throw new TransportError('closed', this.path, 'link closed before the write');
    this.deliver(copy);
  }

  /** The device side: bytes to the host (delivered in order on a microtask; dropped while closed). */
  receive(chunk: Uint8Array): void {
    if (!this.open_ || chunk.length === 0) return;
    const copy = Uint8Array.from(chunk);
    const epoch = this.epoch;
    queueMicrotask(() => {
      if (this.open_ && epoch === this.epoch) this.data.emit(copy);
    });
  }

  onData(listener: (chunk: Uint8Array) => void): Unsubscribe {
    return this.data.add(listener);
  }
  onError(listener: (err: TransportError) => void): Unsubscribe {
    return this.errors.add(listener);
  }
  onClose(listener: () => void): Unsubscribe {
    return this.closes.add(listener);
  }

  async setBaudRate(baud: number): Promise<void> {
    this.baud = baud;
  }

  /** Drops received bytes not yet delivered. */
  async flush(): Promise<void> {
    this.epoch++;
  }

  async close(): Promise<void> {
    if (!this.open_) return;
    this.open_ = false;
    this.epoch++;
    this.closes.emit();
  }
}
