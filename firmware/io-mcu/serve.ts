/**
 * Puts a FirmataMcu on a serial device (one end of a socat pty pair in tests and `asicd sim`), with
 * serialport v13 — the same library the host uses, so nothing here is a mock.
 */
import { SerialPort } from 'serialport';
import { openPtyPair } from '../pty-pair.ts';
import { FirmataMcu, type FirmataMcuOptions } from './firmata-mcu.ts';

export interface ServedMcu {
  mcu: FirmataMcu;
  path: string;
  close(): Promise<void>;
}

export async function serveFirmataMcu(
  path: string,
  opts: FirmataMcuOptions | FirmataMcu,
): Promise<ServedMcu> {
  const mcu = opts instanceof FirmataMcu ? opts : new FirmataMcu(opts);
  const port = new SerialPort({ path, baudRate: 57_600, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  port.on('data', (chunk: Buffer) => mcu.receive(chunk));
  port.on('error', () => {});
  const off = mcu.onSend((b) => {
    if (port.isOpen) port.write(Buffer.from(b));
  });
  mcu.start();
  let closed = false;
  return {
    mcu,
    path,
    close: async () => {
      if (closed) return;
      closed = true;
      off();
      mcu.stop();
      if (port.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
    },
  };
}

/** Serves the MCU on a fresh pty pair: the host opens `link` (like /dev/ttyACM0) with johnny-five. */
export async function serveFirmataMcuOnPty(
  link: string,
  opts: FirmataMcuOptions | FirmataMcu,
): Promise<ServedMcu & { link: string }> {
  const pair = await openPtyPair(link);
  let served: ServedMcu;
  try {
    served = await serveFirmataMcu(pair.inner, opts);
  } catch (e) {
    await pair.stop();
    throw e;
  }
  return {
    ...served,
    link,
    close: async () => {
      await served.close();
      await pair.stop();
    },
  };
}
