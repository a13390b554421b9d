import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PtyPair {
  /** Path the device side (emulator) opens. */
  a: string;
  /** Path the host side (driver, johnny-five) opens, like /dev/ttyUSB0. */
  b: string;
  close(): Promise<void>;
}

/**
 * A linked pseudo-terminal pair made by socat (raw, no echo). Both paths are symlinks in a fresh
 * temporary folder; close() kills socat and removes the folder.
 */
export async function ptyPair(timeoutMs = 5000): Promise<PtyPair> {
  const dir = mkdtempSync(join(tmpdir(), 'asicd-pty-'));
  const a = join(dir, 'a');
  const b = join(dir, 'b');
  const proc: ChildProcess = spawn('socat', [`pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr?.on('data', (d) => {
    stderr += String(d);
  });
  const end = Date.now() + timeoutMs;
  while (!(existsSync(a) && existsSync(b))) {
    if (proc.exitCode !== null)
      throw new Error(
        `socat exited (${proc.exitCode}): ${stderr.trim()} — is socat installed? (npm run system-deps)`,
      );
    if (Date.now() > end) {
      proc.kill('SIGKILL');
      throw new Error('socat did not create the pty pair in time');
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  return {
    a,
    b,
    close: () =>
      new Promise<void>((resolve) => {
        const done = () => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        };
        if (proc.exitCode !== null || proc.signalCode !== null) return done();
        proc.once('exit', done);
        proc.kill('SIGTERM');
      }),
  };
}
