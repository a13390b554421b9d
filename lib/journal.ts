/**
 * journald priorities for log lines: when stderr is the systemd journal (JOURNAL_STREAM names its
 * device:inode), each line gets the sd-daemon prefix `<N>` (3 error, 4 warning, 6 info, 7 debug), so
 * `journalctl -p warning -u asicd` shows warnings and errors only. Elsewhere lines are unchanged.
 */
import { fstatSync } from 'node:fs';

const PRIORITY: Record<string, number> = { error: 3, warn: 4, info: 6, debug: 7 };

/** True when fd 2 is the journal stream systemd announced in JOURNAL_STREAM. */
export function stderrIsJournal(env: NodeJS.ProcessEnv = process.env): boolean {
  const js = env.JOURNAL_STREAM;
  if (!js) return false;
  try {
    const st = fstatSync(2);
    return js === `${st.dev}:${st.ino}`;
  } catch {
    return false;
  }
}

/** The line with its `<N>` priority prefix, for a JSON or pretty line of lib/log.ts. */
export function withPriority(line: string): string {
  const level = /"level":"(\w+)"/.exec(line)?.[1] ?? /^\S+ (\w+)/.exec(line)?.[1]?.toLowerCase() ?? 'info';
  return `<${PRIORITY[level] ?? 6}>${line}`;
}
