/**
 * SpiBus over Linux spidev through the optional `spi-device` package. The module is imported
 * dynamically, so machines without it (or without SPI) still run everything else and get a clear
 * 'unsupported' error here. The SC16IS7xx bridge driver runs on any SpiBus.
 */
import type { SpiBus } from './contract.ts';
import { TransportError } from './contract.ts';
import { closedError, transportError } from './errors.ts';

export interface SpiOptions {
  /** /dev/spidev<bus>.<device> */
  bus: number;
  device: number;
  /** Clock (Hz). Default 4 MHz (SC16IS752 allows up to 4 MHz in SPI mode 0). */
  maxSpeedHz?: number;
  mode?: 0 | 1 | 2 | 3;
}

const SPI_NOT_FOUND_FIX =
  'enable SPI (`raspi-config` → Interface Options → SPI, or dtparam=spi=on in config.txt), reboot, and check `ls /dev/spidev*`';

interface SpiDeviceModule {
  open(
    bus: number,
    device: number,
    options: object,
    cb: (err: Error | null | undefined) => void,
  ): SpiDeviceLike;
}
interface SpiDeviceLike {
  transfer(
    message: Array<{ byteLength: number; sendBuffer?: Buffer; receiveBuffer?: Buffer; speedHz?: number }>,
    cb: (err: Error | null | undefined) => void,
  ): void;
  close(cb: (err: Error | null | undefined) => void): void;
}

async function loadSpiDevice(path: string): Promise<SpiDeviceModule> {
  try {
    const mod = (await import('spi-device')) as unknown as { default?: SpiDeviceModule } & SpiDeviceModule;
    const m = typeof mod.open === 'function' ? mod : mod.default;
    if (!m || typeof m.open !== 'function') throw new Error('spi-device has no open()');
    return m;
  } catch (err) {
    throw new TransportError(
      'unsupported',
      path,
      `SPI is not available: the optional spi-device module could not be loaded (${(err as Error).message})`,
      'SPI needs Linux with spidev and the spi-device package built (npm install with build tools present)',
      { cause: err },
    );
  }
}

class SpiDeviceBus implements SpiBus {
  private closed = false;
  readonly path: string;
  private readonly dev: SpiDeviceLike;
  private readonly speedHz: number;
  constructor(path: string, dev: SpiDeviceLike, speedHz: number) {
    this.path = path;
    this.dev = dev;
    this.speedHz = speedHz;
  }
  transfer(tx: Uint8Array): Promise<Uint8Array> {
    if (this.closed) return Promise.reject(closedError(this.path));
    const sendBuffer = Buffer.from(tx);
    const receiveBuffer = Buffer.alloc(tx.length);
    return new Promise((resolve, reject) => {
      this.dev.transfer(
        [{ byteLength: tx.length, sendBuffer, receiveBuffer, speedHz: this.speedHz }],
        (err) => (err ? reject(transportError(this.path, err)) : resolve(new Uint8Array(receiveBuffer))),
      );
    });
  }
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return new Promise((resolve) => this.dev.close(() => resolve()));
  }
}

/** Opens /dev/spidev<bus>.<device>. Rejects with 'unsupported', 'not-found', 'permission'… naming the path. */
export async function openSpi(o: SpiOptions): Promise<SpiBus> {
  const path = `/dev/spidev${o.bus}.${o.device}`;
  const mod = await loadSpiDevice(path);
  const speedHz = o.maxSpeedHz ?? 4_000_000;
  return new Promise<SpiBus>((resolve, reject) => {
    let dev: SpiDeviceLike | undefined;
    try {
      dev = mod.open(o.bus, o.device, { mode: o.mode ?? 0, maxSpeedHz: speedHz }, (err) => {
        if (err) {
          const te = transportError(path, err);
          reject(
            te.code === 'not-found'
              ? transportError(path, err, 'not-found', undefined, SPI_NOT_FOUND_FIX)
              : te,
          );
        } else resolve(new SpiDeviceBus(path, dev!, speedHz));
      });
    } catch (err) {
      reject(transportError(path, err));
    }
  });
}
