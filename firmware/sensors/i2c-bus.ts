/**
 * An emulated I2C bus: devices attached by 7-bit address, matching the I2cBus contract structurally
 * (firmware/ does not import drivers/). An address with no device, or a device that is "unplugged",
 * fails like a real bus NACK: the promise rejects with an error carrying code 'io' and the bus path.
 */
export interface EmulatedI2cDevice {
  /** True while the device is disconnected (it NACKs every transfer). */
  readonly unplugged: boolean;
  /** Master write: the first byte sets the register pointer, the rest are written from there. */
  onWrite(data: Uint8Array): void;
  /** Master read of `length` bytes from the register pointer. */
  onRead(length: number): Uint8Array;
}

export class I2cNackError extends Error {
  override readonly name = 'TransportError';
  readonly code = 'io';
  readonly path: string;
  readonly addr: number;
  constructor(path: string, addr: number) {
    super(`${path}: no ACK from address 0x${addr.toString(16).padStart(2, '0')} (EREMOTEIO)`);
    this.path = path;
    this.addr = addr;
  }
}

export class EmulatedI2cBus {
  private readonly devices = new Map<number, EmulatedI2cDevice>();
  private closed = false;
  /** Transfers done (for tests and benches). */
  transfers = 0;

  readonly path: string;
  constructor(path = 'sim:i2c-0') {
    this.path = path;
  }

  attach(addr: number, device: EmulatedI2cDevice): this {
    this.devices.set(addr & 0x7f, device);
    return this;
  }

  detach(addr: number): void {
    this.devices.delete(addr & 0x7f);
  }

  private device(addr: number): EmulatedI2cDevice {
    if (this.closed)
      throw Object.assign(new Error(`${this.path}: bus is closed`), { code: 'closed', path: this.path });
    const d = this.devices.get(addr & 0x7f);
    if (!d || d.unplugged) throw new I2cNackError(this.path, addr);
    this.transfers++;
    return d;
  }

  async write(addr: number, data: Uint8Array): Promise<void> {
    this.device(addr).onWrite(data);
  }

  async read(addr: number, length: number): Promise<Uint8Array> {
    return this.device(addr).onRead(length);
  }

  async writeRead(addr: number, data: Uint8Array, length: number): Promise<Uint8Array> {
    const d = this.device(addr);
    d.onWrite(data);
    return d.onRead(length);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
