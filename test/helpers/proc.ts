import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/asicd.js', import.meta.url));
/** One throw-away state home per test process (removed at exit). */
const TEST_STATE_HOME = mkdtempSync(join(tmpdir(), 'asicd-state-'));
process.once('exit', () => rmSync(TEST_STATE_HOME, { recursive: true, force: true }));

export interface AsicdProcess {
  proc: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code (or the signal name). */
  exited: Promise<number | string>;
  /** SIGTERM, then SIGKILL after `ms` if still running. */
  stop(ms?: number): Promise<number | string>;
}

/** Runs `node bin/asicd.js ...args` as a child process (a real daemon process, as a user runs it). */
export function asicd(args: string[], env: NodeJS.ProcessEnv = {}): AsicdProcess {
  const proc = spawn(process.execPath, [BIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    // `asicd run` keeps its state under $XDG_STATE_HOME by default: tests never touch the user's.
    env: { ...process.env, XDG_STATE_HOME: TEST_STATE_HOME, ...env },
  });
  let out = '';
  proc.stdout?.on('data', (d) => {
    out += String(d);
  });
  proc.stderr?.on('data', (d) => {
    out += String(d);
  });
  const exited = new Promise<number | string>((resolve) => {
    proc.once('exit', (code, signal) => resolve(code ?? signal ?? -1));
  });
  return {
    proc,
    output: () => out,
    exited,
    stop: async (ms = 8000) => {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), ms);
        const r = await exited;
        clearTimeout(t);
        return r;
      }
      return exited;
    },
  };
}
