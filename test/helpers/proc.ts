import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/asicd.js', import.meta.url));

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
    env: { ...process.env, ...env },
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
