/**
 * One owner for the terminal: the live status line and the log lines never interleave. On a terminal the
 * status line is the last line of the screen; each log line first clears it (CR + erase line), is written
 * whole, and the status line is drawn again below it. Off a terminal the status is printed as plain lines
 * and logs pass straight through.
 */

export interface TerminalStreams {
  /** Where the status line goes (stdout). */
  out: (s: string) => void;
  /** Where log lines go (stderr). */
  err: (s: string) => void;
  /** Both streams are the same terminal: the status line is redrawn in place. */
  tty: boolean;
}

const CLEAR = '\r\x1b[2K';

export class Terminal {
  private readonly s: TerminalStreams;
  private line: string | undefined;

  constructor(s: TerminalStreams) {
    this.s = s;
  }

  /** A log line (no trailing newline). */
  log(text: string): void {
    if (this.s.tty && this.line !== undefined) {
      this.s.out(CLEAR);
      this.s.err(`${text}\n`);
      this.s.out(this.line);
      return;
    }
    this.s.err(`${text}\n`);
  }

  /** Shows (replaces) the status line. */
  status(text: string): void {
    const line = text.replace(/[\r\n]+/g, ' ');
    if (!this.s.tty) {
      this.s.out(`${line}\n`);
      return;
    }
    this.line = line;
    this.s.out(`${CLEAR}${line}`);
  }

  /** Removes the status line (before the process exits or prints a final message). */
  clearStatus(): void {
    if (this.line === undefined) return;
    this.line = undefined;
    if (this.s.tty) this.s.out(`${CLEAR}`);
  }
}

/** The process's terminal: logs (stderr) and the status line (stdout) go through it. */
export const processTerminal = new Terminal({
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
  tty: process.stdout.isTTY === true && process.stderr.isTTY === true,
});
