/**
 * Serves an emulated chain on a pseudo-terminal so any program can open it like hardware:
 * socat makes a raw pty pair, one end symlinked at the requested link path (e.g. /tmp/chain0), and
 * the emulator opens the other end with `serialport`. Baud-rate changes on a pty are not physical;
 * the chips track their own rate from their registers (chain.chipBaudRate).
 */
import { openPtyPair } from '../pty-pair.ts';
import { createEmulatedChain, type EmulatedChain, type EmulatedChainOptions } from './chain.ts';

export interface PtyServeOptions extends Omit<EmulatedChainOptions, 'path'> {
  /** Path the host side opens, e.g. /tmp/chain0 (a symlink to a /dev/pts/N device). */
  link: string;
  /** socat binary (default "socat" on PATH). */
  socat?: string;
  /** How long to wait for socat to create the pair (default 5000 ms). */
  startTimeoutMs?: number;
}

export interface PtyServer {
  /** The link path the host opens. */
  readonly link: string;
  /** The pts device behind the link. */
  readonly device: string;
  readonly chain: EmulatedChain;
  /** Closes the port, kills socat, removes the links. Idempotent. */
  stop(): Promise<void>;
}

export async function serveOnPty(opts: PtyServeOptions): Promise<PtyServer> {
  const { link, socat, startTimeoutMs, ...chainOpts } = opts;
  // Imported here: firmware/bm13xx/index.ts re-exports this module, and an in-process emulated chain
  // (asicd run --board sim-*) has no use for serialport's native addon.
  const { SerialPort } = await import('serialport');
  const pair = await openPtyPair(link, {
    ...(socat ? { socat } : {}),
    ...(startTimeoutMs ? { startTimeoutMs } : {}),
  });
  const { inner, device } = pair;
  const chain = createEmulatedChain({ ...chainOpts, path: link });
  const port = new SerialPort({ path: inner, baudRate: 115200, autoOpen: false });
  try {
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  } catch (e) {
    await pair.stop();
    throw new Error(`pty: could not open ${inner}: ${(e as Error).message}`);
  }
  await chain.open();
  port.on('data', (chunk: Buffer) => {
    if (chain.isOpen) void chain.write(chunk);
  });
  port.on('error', () => {
    /* the host side vanishing shows up as EIO on some kernels; stop() cleans up */
  });
  const unsub = chain.onData((chunk) => {
    if (port.isOpen) port.write(Buffer.from(chunk));
  });

  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      unsub();
      await chain.close();
      if (port.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
      await pair.stop();
    })();
    return stopped;
  };
  return { link, device, chain, stop };
}
