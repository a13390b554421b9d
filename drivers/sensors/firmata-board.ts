/**
 * A Firmata I/O board (Arduino running StandardFirmata, or our emulated MCU) as a temperature sensor
 * and fan through johnny-five: an NTC thermistor on an analog pin read with five.Thermometer (our
 * β-equation codec as its toCelsius), the fan PWM through five.Led on a PWM pin, and the tach as
 * pulses on a digital input counted from Firmata digital reports.
 *
 * johnny-five is created with a custom io (`new Firmata(port)`) on a serialport v13 SerialPort we
 * open ourselves, so johnny-five's own (unbuilt) serialport 8 is never loaded. The REPL, debug output
 * and the SIGINT handler are disabled; close() stops the thermometer, removes the listeners and
 * closes the port so the process can exit.
 */
import type { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import five from 'johnny-five';
import { SerialPort } from 'serialport';
import { type Clock, systemClock } from '../../lib/clock.ts';
import { SensorError, type SensorErrorInfo } from './errors.ts';
import { adcToCelsius, DEFAULT_THERMISTOR, type ThermistorParams } from './thermistor.ts';
import type { FanDriver, TemperatureSensor } from './types.ts';

const require = createRequire(import.meta.url);

/** The part of firmata.js's Board we use. */
interface FirmataIo {
  isReady: boolean;
  MODES: { INPUT: number; PWM: number; ANALOG: number };
  transport: SerialPort;
  firmware: { name?: string; version?: { major: number; minor: number } };
  analogPins: number[];
  pinMode(pin: number, mode: number): void;
  digitalRead(pin: number, cb: (v: number) => void): void;
  reportDigitalPin(pin: number, value: 0 | 1): void;
  reportAnalogPin(pin: number, value: 0 | 1): void;
  on(ev: string, fn: (...a: unknown[]) => void): void;
  once(ev: string, fn: (...a: unknown[]) => void): void;
  removeAllListeners(ev?: string): void;
}
type FirmataCtor = new (port: SerialPort, options: Record<string, unknown>) => FirmataIo;

export interface FirmataBoardOptions {
  /** Serial device path, e.g. /dev/ttyACM0. */
  path: string;
  baudRate?: number;
  /** Analog channel of the thermistor (0 = A0). */
  thermistorChannel?: number;
  thermistor?: Partial<ThermistorParams>;
  /** PWM pin driving the fan (e.g. 9); omit when the board has no fan. */
  fanPin?: number;
  /** Digital pin with the fan tach (e.g. 2); omit when there is none. */
  tachPin?: number;
  tachPulsesPerRev?: number;
  /** A temperature older than this is refused (MCU hung or unplugged), ms (default 400: ~20 missed reports). */
  staleAfterMs?: number;
  /** Give up opening after this long, ms. */
  openTimeoutMs?: number;
  clock?: Clock;
}

export class FirmataBoard implements TemperatureSensor, FanDriver {
  readonly name: string;
  private readonly info: SensorErrorInfo;
  private readonly params: ThermistorParams;
  private thermometer: (five.Thermometer & { disable(): void }) | undefined;
  private led: five.Led | undefined;
  private lastAnalogAt = Number.NEGATIVE_INFINITY;
  private rising = 0;
  private lastLevel = -1;
  private rpmWindowStart: number;
  private lastRpm: number | undefined;
  private closed = false;
  private readonly clock: Clock;
  private readonly staleAfterMs: number;
  private readonly ppr: number;

  private readonly opts: FirmataBoardOptions;
  private readonly port: SerialPort;
  private readonly io: FirmataIo;
  readonly board: five.Board;
  private constructor(opts: FirmataBoardOptions, port: SerialPort, io: FirmataIo, board: five.Board) {
    this.opts = opts;
    this.port = port;
    this.io = io;
    this.board = board;
    this.clock = opts.clock ?? systemClock;
    this.staleAfterMs = opts.staleAfterMs ?? 400;
    this.ppr = opts.tachPulsesPerRev ?? 2;
    this.params = { ...DEFAULT_THERMISTOR, ...opts.thermistor };
    const ch = opts.thermistorChannel ?? 0;
    this.info = { bus: opts.path, address: `A${ch}`, part: 'firmata' };
    this.name = `firmata@${opts.path}:A${ch}`;
    this.rpmWindowStart = this.clock.now();
  }

  /** Opens the port, waits for johnny-five "ready" (Firmata handshake + capability query), sets up pins. */
  static async open(opts: FirmataBoardOptions): Promise<FirmataBoard> {
    const info = { bus: opts.path, address: `A${opts.thermistorChannel ?? 0}`, part: 'firmata' };
    // firmata-io with our serialport v13 as its transport: the `firmata` package would load
    // johnny-five's own serialport 8, whose native binding is not built.
    const Firmata = (require('firmata-io') as (transport: unknown) => FirmataCtor)(SerialPort);
    const port = new SerialPort({ path: opts.path, baudRate: opts.baudRate ?? 57_600, autoOpen: false });
    // Short version timeout: if the board's boot banner was missed, ask for it.
    const io = new Firmata(port, { reportVersionTimeout: 200 });
    const board = new five.Board({
      io,
      repl: false,
      debug: false,
      sigint: false,
      timeout: opts.openTimeoutMs ?? 10_000,
    } as five.BoardOption);
    const events = board as unknown as EventEmitter;
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new SensorError('timeout', info, 'no Firmata handshake (is StandardFirmata flashed?)')),
        opts.openTimeoutMs ?? 10_000,
      );
      events.once('ready', () => {
        clearTimeout(timer);
        resolve();
      });
      events.once('error', (err: unknown) => {
        clearTimeout(timer);
        reject(new SensorError('io', info, 'johnny-five error', { cause: err }));
      });
    });
    try {
      await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
    } catch (err) {
      throw new SensorError('io', info, 'cannot open the serial port', { cause: err });
    }
    try {
      await ready;
    } catch (err) {
      if (port.isOpen) await new Promise<void>((r) => port.close(() => r()));
      throw err;
    }
    const fb = new FirmataBoard(opts, port, io, board);
    fb.setup();
    return fb;
  }

  private setup(): void {
    const ch = this.opts.thermistorChannel ?? 0;
    // Thermometer with our own conversion; disabled so it runs no interval timer — we read .celsius.
    this.thermometer = new five.Thermometer({
      board: this.board,
      pin: ch,
      controller: 'ANALOG',
      toCelsius: (raw: number) => adcToCelsius(raw, this.params),
      enabled: false,
    } as five.ThermometerOption) as five.Thermometer & { disable(): void };
    this.io.on(`analog-read-${ch}`, () => {
      this.lastAnalogAt = this.clock.now();
    });
    this.port.on('close', () => {
      this.closed = true;
    });
    this.port.on('error', () => {});
    if (this.opts.fanPin !== undefined) this.led = new five.Led({ board: this.board, pin: this.opts.fanPin });
    if (this.opts.tachPin !== undefined) {
      this.io.pinMode(this.opts.tachPin, this.io.MODES.INPUT);
      this.io.digitalRead(this.opts.tachPin, (v) => {
        if (v === 1 && this.lastLevel === 0) this.rising++;
        this.lastLevel = v;
      });
    }
  }

  /** Firmware name and protocol version the board reported. */
  get firmware(): string {
    const f = this.io.firmware;
    return `${f.name ?? '?'} ${f.version ? `${f.version.major}.${f.version.minor}` : ''}`.trim();
  }

  async readTemperature(): Promise<number> {
    if (this.closed)
      throw new SensorError('closed', this.info, 'the Firmata board is closed or was unplugged');
    const age = this.clock.now() - this.lastAnalogAt;
    if (age > this.staleAfterMs) {
      throw new SensorError(
        'stale',
        this.info,
        Number.isFinite(age)
          ? `no analog report for ${Math.round(age)} ms (board hung?)`
          : 'no analog report yet',
      );
    }
    const c = this.thermometer!.celsius;
    if (!Number.isFinite(c))
      throw new SensorError('fault', this.info, 'thermistor open or shorted (ADC at a rail)');
    return c;
  }

  async setDuty(percent: number): Promise<void> {
    if (!this.led) throw new SensorError('range', this.info, 'no fan pin configured');
    if (this.closed)
      throw new SensorError('closed', this.info, 'the Firmata board is closed or was unplugged');
    if (!Number.isFinite(percent))
      throw new SensorError('range', this.info, `fan duty ${percent} is not a number`);
    const p = Math.max(0, Math.min(100, percent));
    this.led.brightness(Math.round((p * 255) / 100));
  }

  /** RPM from rising tach edges since the previous call (≥ 250 ms windows). */
  async readRpm(): Promise<number | undefined> {
    if (this.opts.tachPin === undefined) return undefined;
    const now = this.clock.now();
    const dt = now - this.rpmWindowStart;
    if (dt < 250) return this.lastRpm;
    this.lastRpm = (this.rising / this.ppr) * (60_000 / dt);
    this.rising = 0;
    this.rpmWindowStart = now;
    return this.lastRpm;
  }

  async close(): Promise<void> {
    this.thermometer?.disable();
    const ch = this.opts.thermistorChannel ?? 0;
    if (this.port.isOpen) {
      try {
        this.io.reportAnalogPin(ch, 0);
        if (this.opts.tachPin !== undefined) this.io.reportDigitalPin(this.opts.tachPin, 0);
      } catch {
        // best effort
      }
    }
    this.io.removeAllListeners(`analog-read-${ch}`);
    if (this.opts.tachPin !== undefined) this.io.removeAllListeners(`digital-read-${this.opts.tachPin}`);
    this.closed = true;
    if (this.port.isOpen) await new Promise<void>((resolve) => this.port.close(() => resolve()));
  }
}
