/**
 * I2cBus over Linux i2c-dev through the optional `i2c-bus` package (dynamic import: machines without it
 * still run and get a clear 'unsupported' error). writeRead() with a one-byte register address uses the
 * SMBus I2C-block read (one transaction with a repeated start, ≤ 32 bytes); longer writes fall back to a
 * write followed by a read (two transactions).
 */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import type { I2cBus } from './contract.ts';
import { TransportError } from './contract.ts';
import { closedError, transportError } from './errors.ts';

interface PromisifiedBus {
  i2cWrite(addr: number, length: number, buffer: Buffer): Promise<{ bytesWritten: number }>;
  i2cRead(addr: number, length: number, buffer: Buffer): Promise<{ bytesRead: number; buffer: Buffer }>;
  readI2cBlock(
    addr: number,
    cmd: number,
    length: number,
    buffer: Buffer,
  ): Promise<{ bytesRead: number; buffer: Buffer }>;
  close(): Promise<void>;
}
interface I2cModule {
  openPromisified(bus: number): Promise<PromisifiedBus>;
}

const I2C_NOT_FOUND_FIX =
  'enable I2C (`raspi-config` → Interface Options → I2C, or dtparam=i2c_arm=on), reboot, and check `ls /dev/i2c-*`';
const I2C_PERMISSION_FIX = 'add the user to the i2c group (`sudo usermod -aG i2c $USER`, then log in again)';

function checkAddr(path: string, addr: number): void {
  if (!Number.isInteger(addr) || addr < 0x03 || addr > 0x77) {
    throw new TransportError('io', path, `I2C address: must be a 7-bit address 0x03..0x77, got ${addr}`);
  }
}

class LinuxI2cBus implements I2cBus {
  private closed = false;
  readonly path: string;
  private readonly bus: PromisifiedBus;
  constructor(path: string, bus: PromisifiedBus) {
    this.path = path;
    this.bus = bus;
  }
  private guard<T>(p: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(closedError(this.path));
    return p().catch((err) => {
      throw transportError(this.path, err);
    });
  }
  write(addr: number, data: Uint8Array): Promise<void> {
    checkAddr(this.path, addr);
    return this.guard(async () => {
      await this.bus.i2cWrite(addr, data.length, Buffer.from(data));
    });
  }
  read(addr: number, length: number): Promise<Uint8Array> {
    checkAddr(this.path, addr);
    return this.guard(async () => {
      const buf = Buffer.alloc(length);
      const r = await this.bus.i2cRead(addr, length, buf);
      return new Uint8Array(buf.subarray(0, r.bytesRead));
    });
  }
  writeRead(addr: number, data: Uint8Array, length: number): Promise<Uint8Array> {
    checkAddr(this.path, addr);
    return this.guard(async () => {
      const buf = Buffer.alloc(length);
      if (data.length === 1 && length <= 32) {
        const r = await this.bus.readI2cBlock(addr, data[0]!, length, buf);
        return new Uint8Array(buf.subarray(0, r.bytesRead));
      }
      await this.bus.i2cWrite(addr, data.length, Buffer.from(data));
      const r = await this.bus.i2cRead(addr, length, buf);
      return new Uint8Array(buf.subarray(0, r.bytesRead));
    });
  }
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.bus.close().catch(() => {});
  }
}

/** Opens /dev/i2c-<bus>. Rejects with 'unsupported', 'not-found', 'permission'… naming the path. */
export async function openI2c(bus: number): Promise<I2cBus> {
  const path = `/dev/i2c-${bus}`;
  let mod: I2cModule;
  try {
    const name = 'i2c-bus'; // a variable keeps tsc from requiring type declarations
    const m = (await import(name)) as unknown as { default?: I2cModule } & I2cModule;
    mod = typeof m.openPromisified === 'function' ? m : m.default!;
    if (typeof mod?.openPromisified !== 'function') throw new Error('i2c-bus has no openPromisified()');
  } catch (err) {
    throw new TransportError(
      'unsupported',
      path,
      `I2C is not available: the optional i2c-bus module could not be loaded (${(err as Error).message})`,
      'I2C needs Linux with i2c-dev and the i2c-bus package built (npm install with build tools present)',
      { cause: err },
    );
  }
  try {
    // i2c-bus opens lazily; access() reports a missing or forbidden device now, with errno codes.
    await access(path, constants.R_OK | constants.W_OK);
    return new LinuxI2cBus(path, await mod.openPromisified(bus));
  } catch (err) {
    const te = transportError(path, err);
    if (te.code === 'not-found') throw transportError(path, err, 'not-found', undefined, I2C_NOT_FOUND_FIX);
    if (te.code === 'permission')
      throw transportError(path, err, 'permission', undefined, I2C_PERMISSION_FIX);
    throw te;
  }
}
