/**
 * A raw pseudo-terminal pair made by socat for the emulators: one end is symlinked at the path the host
 * opens (e.g. /tmp/chain0, like /dev/ttyUSB0), the other (`inner`) is opened by the emulator with
 * `serialport`. stop() kills socat and removes the links.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readlinkSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PtyPair {
  /** The link path the host opens. */
  readonly link: string;
  /** The pts device behind the link. */
  readonly device: string;
  /** The other end, for the emulator. */
  readonly inner: string;
  stop(): Promise<void>;
}

function removeStaleLink(path: string): void {
  try {
    const st = lstatSync(path);
    if (st.isSymbolicLink() && readlinkSync(path).startsWith('/dev/pts/')) unlinkSync(path);
    else throw new Error(`link: ${path} exists and is not a stale pty link; choose another link path`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

export async function openPtyPair(
  link: string,
  opts: { socat?: string; startTimeoutMs?: number } = {},
): Promise<PtyPair> {
  const { socat = 'socat', startTimeoutMs = 5000 } = opts;
  removeStaleLink(link);
  const dir = mkdtempSync(join(tmpdir(), 'asicd-emu-'));
  const inner = join(dir, 'device');
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
  let stopped: Promise<void> | undefined;
  return {
    link,
    device: readlinkSync(link),
    inner,
    stop: () => {
      stopped ??= killSocat().then(cleanup);
      return stopped;
    },
  };
}
