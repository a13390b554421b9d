/**
 * Serves an emulated chain on a pseudo-terminal so any program can open it like hardware:
 * socat makes a raw pty pair, one end symlinked at the requested link path (e.g. /tmp/chain0), and
 * the emulator opens the other end with `serialport`. Baud-rate changes on a pty are not physical;
 * the chips track their own rate from their registers (chain.chipBaudRate).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readlinkSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
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

function removeStaleLink(path: string): void {
  try {
    const st = lstatSync(path);
    if (st.isSymbolicLink() && readlinkSync(path).startsWith('/dev/pts/')) unlinkSync(path);
    else throw new Error(`link: ${path} exists and is not a stale pty link; choose another --link path`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

export async function serveOnPty(opts: PtyServeOptions): Promise<PtyServer> {
  const { link, socat = 'socat', startTimeoutMs = 5000, ...chainOpts } = opts;
  removeStaleLink(link);
  const dir = mkdtempSync(join(tmpdir(), 'asicd-emu-'));
  const inner = join(dir, 'chip');
  const proc: ChildProcess = spawn(socat, [`pty,raw,echo=0,link=${link}`, `pty,raw,echo=0,link=${inner}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr?.on('data', (d) => {
    stderr += String(d);
  });
  let spawnError: Error | undefined;
  proc.on('error', (e) => {
    spawnError = e;
  });
  const killSocat = () =>
    new Promise<void>((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null || spawnError) return resolve();
      proc.once('exit', () => resolve());
      proc.kill('SIGTERM');
    });
  const cleanup = () => {
    rmSync(dir, { recursive: true, force: true });
    try {
      if (lstatSync(link).isSymbolicLink()) unlinkSync(link);
    } catch {
      /* already gone */
    }
  };

  const end = Date.now() + startTimeoutMs;
  while (!(existsSync(link) && existsSync(inner))) {
    if (spawnError) {
      cleanup();
      throw new Error(`socat: could not start (${spawnError.message}); install socat (npm run system-deps)`);
    }
    if (proc.exitCode !== null) {
      cleanup();
      throw new Error(`socat: exited with ${proc.exitCode}: ${stderr.trim()}`);
    }
    if (Date.now() > end) {
      await killSocat();
      cleanup();
      throw new Error(`socat: did not create ${link} within ${startTimeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  const device = readlinkSync(link);

  const chain = createEmulatedChain({ ...chainOpts, path: link });
  const port = new SerialPort({ path: inner, baudRate: 115200, autoOpen: false });
  try {
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  } catch (e) {
    await killSocat();
    cleanup();
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
      await killSocat();
      cleanup();
    })();
    return stopped;
  };
  return { link, device, chain, stop };
}
