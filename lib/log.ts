/**
 * Structured logging: one line per event. `json` writes one JSON object per line (for journald, Loki,
 * files); `pretty` writes `time level event key=value ...` for people. Secrets are never printed:
 * every field goes through the one redaction step (lib/redact.ts): secret-looking keys become "***",
 * user-info in any URL and every registered secret value are masked, nested values included.
 */
import { redactKeyValue, redactText } from './redact.ts';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'json' | 'pretty';
export type LogFields = Record<string, unknown>;

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LogRecord {
  time: string;
  level: LogLevel;
  event: string;
  component?: string;
  [key: string]: unknown;
}

export interface Logger {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
  /** A logger that adds `component` (and any extra fields) to every record. */
  child(component: string, fields?: LogFields): Logger;
}

export interface LoggerOptions {
  level?: LogLevel;
  format?: LogFormat;
  /** Where lines go; default process.stderr. */
  write?: (line: string) => void;
  /** Wall-clock source for the time stamp. */
  now?: () => number;
}

export function redact(fields: LogFields): LogFields {
  const out: LogFields = {};
  for (const [k, v] of Object.entries(fields)) out[k] = redactKeyValue(k, v);
  return out;
}

function formatPretty(rec: LogRecord): string {
  const { time, level, event, component, ...rest } = rec;
  const parts = [time.slice(11, 23), level.toUpperCase().padEnd(5), component ? `[${component}]` : '', event];
  for (const [k, v] of Object.entries(rest)) {
    if (v === undefined) continue;
    const s = typeof v === 'string' ? (/\s/.test(v) ? JSON.stringify(v) : v) : JSON.stringify(v);
    parts.push(`${k}=${s}`);
  }
  return parts.filter(Boolean).join(' ');
}

export function createLogger(opts: LoggerOptions = {}, base: LogFields = {}): Logger {
  const min = ORDER[opts.level ?? 'info'];
  const format = opts.format ?? 'json';
  const write = opts.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const now = opts.now ?? Date.now;
  const emit = (level: LogLevel, event: string, fields?: LogFields) => {
    if (ORDER[level] < min) return;
    const rec: LogRecord = {
      time: new Date(now()).toISOString(),
      level,
      event: redactText(event),
      ...redact({ ...base, ...fields }),
    };
    write(format === 'json' ? JSON.stringify(rec) : formatPretty(rec));
  };
  return {
    debug: (e, f) => emit('debug', e, f),
    info: (e, f) => emit('info', e, f),
    warn: (e, f) => emit('warn', e, f),
    error: (e, f) => emit('error', e, f),
    child: (component, fields) => createLogger(opts, { ...base, component, ...fields }),
  };
}

/** A logger that drops everything (unit tests of pieces that log). */
export const silentLogger: Logger = createLogger({ write: () => {} });

/** A logger that keeps records in memory, for tests that assert "logged one clear line". */
export function memoryLogger(level: LogLevel = 'debug'): Logger & { records: LogRecord[] } {
  const records: LogRecord[] = [];
  const logger = createLogger({ level, write: (line) => records.push(JSON.parse(line) as LogRecord) });
  return Object.assign(logger, { records });
}
