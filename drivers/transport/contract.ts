/**
 * The transport contract (see CONTRACT.md beside this file). Every byte link the chip drivers use —
 * a real UART through `serialport`, a UART behind an SPI bridge, an in-process emulator link, a
 * pseudo-terminal — implements ByteTransport. Sensor drivers use I2cBus; bridge drivers use SpiBus.
 * Drivers take these interfaces, never a concrete device (mujina's split, node-serialport's binding
 * interface). Emulators in firmware/ implement them structurally (they must not import drivers/).
 */

export type Unsubscribe = () => void;

export interface ByteTransport {
  /** Human-readable name used in every error and log line, e.g. "/dev/ttyUSB0" or "sim:chain0". */
  readonly path: string;
  readonly isOpen: boolean;
  /** Current line rate in baud (informational for links without a real UART). */
  readonly baudRate: number;
  /** Opens the link. Rejects with a TransportError naming the path and the fix. Idempotent when open. */
  open(): Promise<void>;
  /**
   * Queues bytes for transmission; resolves once they were handed to the device (drained).
   * Writes are delivered in call order. Rejects with TransportError when the link is closed or fails.
   */
  write(data: Uint8Array): Promise<void>;
  /** Received bytes, in order, in chunks of any size ≥ 1. Returns a function that removes the listener. */
  onData(listener: (chunk: Uint8Array) => void): Unsubscribe;
  /** Asynchronous faults (device unplugged, I/O error). The link is closed after an error. */
  onError(listener: (err: TransportError) => void): Unsubscribe;
  /** Called once when the link closes, for whatever reason. */
  onClose(listener: () => void): Unsubscribe;
  /** Changes the line rate (after chip init raises the chips' UART speed). */
  setBaudRate(baud: number): Promise<void>;
  /**
   * Optional (added compatibly): whether setBaudRate(baud) can reach this rate closely enough (±2 %).
   * Drivers ask before raising the chips' rate, so a link that cannot follow (e.g. an SPI bridge whose
   * crystal cannot make 1 Mbaud) keeps the chips at a rate it can. Absent means "yes".
   */
  supportsBaudRate?(baud: number): boolean;
  /** Discards bytes received but not yet delivered, where the link can. */
  flush(): Promise<void>;
  /** Closes the link. Pending writes reject with code 'closed'. Idempotent. */
  close(): Promise<void>;
}

export interface I2cBus {
  readonly path: string;
  /** Writes `data` to a 7-bit address. */
  write(addr: number, data: Uint8Array): Promise<void>;
  /** Reads `length` bytes from a 7-bit address. */
  read(addr: number, length: number): Promise<Uint8Array>;
  /** Write then read with a repeated start (register read). */
  writeRead(addr: number, data: Uint8Array, length: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

export interface SpiBus {
  readonly path: string;
  /** Full-duplex transfer: returns as many bytes as were sent. */
  transfer(tx: Uint8Array): Promise<Uint8Array>;
  close(): Promise<void>;
}

export type TransportErrorCode =
  | 'not-found'
  | 'permission'
  | 'busy'
  | 'unplugged'
  | 'io'
  | 'closed'
  | 'unsupported'
  | 'timeout';

/** An error that names the device path and says how to fix it. */
export class TransportError extends Error {
  override readonly name = 'TransportError';
  readonly code: TransportErrorCode;
  readonly path: string;
  readonly fix?: string;
  constructor(
    code: TransportErrorCode,
    path: string,
    message: string,
    fix?: string,
    options?: { cause?: unknown },
  ) {
    super(`${path}: ${message}${fix ? ` (${fix})` : ''}`, options);
    this.code = code;
    this.path = path;
    this.fix = fix;
  }
}

/**
 * Digital lines by number (added for board power/reset): the Pi's own GPIO controller through the
 * Linux character device, a USB bridge's GPIO page, or emulated lines. Levels are electrical
 * (true = high); polarity lives in the board profile. An output keeps its level while the port is open.
 */
export interface GpioPort {
  readonly path: string;
  /** Drives `line` to `high` (requests it as an output on first use). */
  set(line: number, high: boolean): Promise<void>;
  /** Reads `line` (an input, or the level an output drives). */
  get(line: number): Promise<boolean>;
  close(): Promise<void>;
}
