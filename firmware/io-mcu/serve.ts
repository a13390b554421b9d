/**
 * Puts a FirmataMcu on a serial device (one end of a socat pty pair in tests and `asicd sim`), with
 * serialport v13 — the same library the host uses, so nothing here is a mock.
 */
import { SerialPort } from 'serialport';
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
