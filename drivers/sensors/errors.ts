/**
 * SensorError: every failure of a temperature sensor or fan driver (I2C NACK / I/O error, wrong
 * product id, diode fault, stale Firmata data, closed board) names the bus, the address and the part,
 * so one log line says which wire to check.
 */
export type SensorErrorCode = 'io' | 'bad-id' | 'fault' | 'stale' | 'closed' | 'range' | 'timeout';

export interface SensorErrorInfo {
  /** Bus or port path, e.g. "/dev/i2c-1" or "/dev/ttyACM0". */
  bus: string;
  /** 7-bit I2C address, or a pin label for Firmata boards (e.g. "A0"). */
  address: number | string;
  /** Part name, e.g. "EMC2101", "TMP1075", "firmata". */
  part: string;
}

function formatAddress(a: number | string): string {
  return typeof a === 'number' ? `0x${a.toString(16).padStart(2, '0')}` : a;
}

export class SensorError extends Error {
  override readonly name = 'SensorError';
  readonly bus: string;
  readonly address: number | string;
  readonly part: string;
  readonly code: SensorErrorCode;
  constructor(code: SensorErrorCode, info: SensorErrorInfo, message: string, options?: { cause?: unknown }) {
    const cause = options?.cause instanceof Error ? `: ${options.cause.message}` : '';
    super(`${info.part} at ${info.bus} ${formatAddress(info.address)}: ${message}${cause}`, options);
    this.code = code;
    this.bus = info.bus;
    this.address = info.address;
    this.part = info.part;
  }
}

/** Wraps any bus failure (TransportError, errno error, anything thrown) into a SensorError 'io'. */
export function ioError(info: SensorErrorInfo, what: string, cause: unknown): SensorError {
  if (cause instanceof SensorError) return cause;
  return new SensorError('io', info, `${what} failed (NACK or bus I/O error)`, { cause });
}
