/**
 * A Firmata-speaking I/O microcontroller (StandardFirmata subset, see PROTOCOL.md), emulated byte for
 * byte so johnny-five / firmata.js talk to it exactly as to an Arduino Uno running StandardFirmata.
 * It is a pure protocol engine: bytes in with receive(), bytes out through onSend(); serve.ts puts
 * it on a serial port. Wiring (Uno numbering):
 *   A0 (pin 14)  NTC thermistor divider, temperature from the thermal model
 *   D9  (PWM)    fan PWM → the model's fan duty (cooling)
 *   D2  (input)  fan tach, open-collector pulses (pulsesPerRev per revolution) from the model's rpm
 * Time comes from the Clock: analog reports every sampling interval (default 19 ms), the tach pin is
 * scanned every 5 ms like StandardFirmata's main loop scans its inputs.
 * Knobs: thermistorFault ('open' | 'short'), stuckC, silent (MCU hung: no replies, no reports).
 */
import { type Clock, systemClock, type TimerHandle } from '../../lib/clock.ts';
import type { ThermalModel } from '../sensors/thermal-model.ts';

// Protocol constants (Firmata protocol 2.6, firmata/protocol protocol.md).
const DIGITAL_MESSAGE = 0x90;
const REPORT_ANALOG = 0xc0;
const REPORT_DIGITAL = 0xd0;
const ANALOG_MESSAGE = 0xe0;
const START_SYSEX = 0xf0;
const SET_PIN_MODE = 0xf4;
const SET_DIGITAL_PIN_VALUE = 0xf5;
const END_SYSEX = 0xf7;
const REPORT_VERSION = 0xf9;
const SYSTEM_RESET = 0xff;
const EXTENDED_ANALOG = 0x6f;
const CAPABILITY_QUERY = 0x6b;
const CAPABILITY_RESPONSE = 0x6c;
const ANALOG_MAPPING_QUERY = 0x69;
const ANALOG_MAPPING_RESPONSE = 0x6a;
const PIN_STATE_QUERY = 0x6d;
const PIN_STATE_RESPONSE = 0x6e;
const REPORT_FIRMWARE = 0x79;
const SAMPLING_INTERVAL = 0x7a;
const STRING_DATA = 0x71;

export const MODE = { INPUT: 0, OUTPUT: 1, ANALOG: 2, PWM: 3, SERVO: 4, I2C: 6, PULLUP: 0x0b } as const;

export const PROTOCOL_VERSION = [2, 6] as const;
export const FIRMWARE_VERSION = [2, 5] as const;
export const FIRMWARE_NAME = 'StandardFirmata.ino';

const PIN_COUNT = 20;
const PWM_PINS = new Set([3, 5, 6, 9, 10, 11]);
const FIRST_ANALOG_PIN = 14;
const UNUSED = 0x7f;

export interface FirmataMcuOptions {
  model: ThermalModel;
  clock?: Clock;
  /** Analog channel of the thermistor (default 0 = A0). */
  thermistorChannel?: number;
  fanPin?: number;
  tachPin?: number;
  tachPulsesPerRev?: number;
  /** NTC: R at 25 °C, β, series resistor; NTC from the pin to ground, series resistor to Vref. */
  ntc?: { r25?: number; beta?: number; series?: number };
  /** Coupling of the thermistor (on the heatsink) to the chip temperature. */
  coupling?: number;
  /** Tach / digital input scan period, ms (default 5). */
  scanMs?: number;
}

interface PinState {
  mode: number;
  value: number;
}

export class FirmataMcu {
  readonly clock: Clock;
  readonly model: ThermalModel;
  thermistorFault: 'open' | 'short' | undefined;
  stuckC: number | undefined;
  /** A hung MCU: ignores input, sends nothing. */
  silent = false;
  /** Counters for tests. */
  readonly stats = { bytesIn: 0, bytesOut: 0, pwmWrites: 0, analogReports: 0, tachEdges: 0, unknown: 0 };

  private readonly pins: PinState[] = [];
  private readonly analogReporting = new Set<number>();
  private readonly portReporting = new Set<number>();
  private readonly lastPortSent = new Map<number, number>();
  private samplingMs = 19;
  private readonly scanMs: number;
  private readonly thermistorChannel: number;
  private readonly fanPin: number;
  private readonly tachPin: number;
  private readonly ppr: number;
  private readonly r25: number;
  private readonly beta: number;
  private readonly series: number;
  private readonly coupling: number;
  private readonly senders = new Set<(b: Uint8Array) => void>();
  private sampleTimer: TimerHandle | undefined;
  private scanTimer: TimerHandle | undefined;
  private lastScanAt: number;
  private tachPhase = 0;
  private tachLevel = 1;
  // Parser state
  private readonly msg: number[] = [];
  private need = 0;
  private inSysex = false;

  constructor(o: FirmataMcuOptions) {
    this.model = o.model;
    this.clock = o.clock ?? systemClock;
    this.thermistorChannel = o.thermistorChannel ?? 0;
    this.fanPin = o.fanPin ?? 9;
    this.tachPin = o.tachPin ?? 2;
    this.ppr = o.tachPulsesPerRev ?? 2;
    this.r25 = o.ntc?.r25 ?? 10_000;
    this.beta = o.ntc?.beta ?? 3950;
    this.series = o.ntc?.series ?? 10_000;
    this.coupling = o.coupling ?? 1;
    this.scanMs = o.scanMs ?? 5;
    this.lastScanAt = this.clock.now();
    this.reset();
  }

  private reset(): void {
    this.pins.length = 0;
    for (let p = 0; p < PIN_COUNT; p++) {
      this.pins.push({ mode: p >= FIRST_ANALOG_PIN ? MODE.ANALOG : MODE.OUTPUT, value: 0 });
    }
    this.pins[this.tachPin]!.value = this.tachLevel;
    this.analogReporting.clear();
    this.portReporting.clear();
    this.lastPortSent.clear();
    this.samplingMs = 19;
    this.msg.length = 0;
    this.need = 0;
    this.inSysex = false;
  }

  onSend(fn: (bytes: Uint8Array) => void): () => void {
    this.senders.add(fn);
    return () => this.senders.delete(fn);
  }

  private send(bytes: number[]): void {
    if (this.silent) return;
    const b = Uint8Array.from(bytes);
    this.stats.bytesOut += b.length;
    for (const fn of this.senders) fn(b);
  }

  /** Starts the sampling and scan timers. */
  start(): void {
    this.stop();
    this.lastScanAt = this.clock.now();
    this.sampleTimer = this.clock.setInterval(() => this.sample(), this.samplingMs);
    this.scanTimer = this.clock.setInterval(() => this.scan(), this.scanMs);
  }

  stop(): void {
    this.clock.clearInterval(this.sampleTimer);
    this.clock.clearInterval(this.scanTimer);
    this.sampleTimer = undefined;
    this.scanTimer = undefined;
  }

  /** What StandardFirmata sends after a reset: protocol version, then firmware name and version. */
  announce(): void {
    this.send([REPORT_VERSION, PROTOCOL_VERSION[0], PROTOCOL_VERSION[1]]);
    this.sendFirmware();
  }

  private sendFirmware(): void {
    const out = [START_SYSEX, REPORT_FIRMWARE, FIRMWARE_VERSION[0], FIRMWARE_VERSION[1]];
    for (const ch of FIRMWARE_NAME) {
      const c = ch.charCodeAt(0);
      out.push(c & 0x7f, (c >> 7) & 0x7f);
    }
    out.push(END_SYSEX);
    this.send(out);
  }

  /** Thermistor ADC count (10 bit) for the present temperature. */
  thermistorCount(): number {
    if (this.thermistorFault === 'open') return 1023; // NTC missing: the pin is pulled to Vref
    if (this.thermistorFault === 'short') return 0;
    const c = this.stuckC ?? this.model.boardTempC(this.coupling);
    const r = this.r25 * Math.exp(this.beta * (1 / (c + 273.15) - 1 / 298.15));
    return Math.max(0, Math.min(1023, Math.round((1023 * r) / (r + this.series))));
  }

  private sample(): void {
    if (this.silent) return;
    for (const ch of this.analogReporting) {
      const v = ch === this.thermistorChannel ? this.thermistorCount() : 0;
      this.stats.analogReports++;
      this.send([ANALOG_MESSAGE | (ch & 0x0f), v & 0x7f, (v >> 7) & 0x7f]);
    }
  }

  private portValue(port: number): number {
    let v = 0;
    for (let i = 0; i < 8; i++) {
      const p = port * 8 + i;
      const pin = this.pins[p];
      if (pin && (pin.mode === MODE.INPUT || pin.mode === MODE.PULLUP) && pin.value) {
        v |= 1 << i;
      }
    }
    return v;
  }

  private sendPort(port: number, force = false): void {
    const v = this.portValue(port);
    if (!force && this.lastPortSent.get(port) === v) return;
    this.lastPortSent.set(port, v);
    this.send([DIGITAL_MESSAGE | (port & 0x0f), v & 0x7f, (v >> 7) & 0x7f]);
  }

  /** Advances the tach waveform to now and reports every edge on a reported input port. */
  private scan(): void {
    const now = this.clock.now();
    const dt = (now - this.lastScanAt) / 1000;
    this.lastScanAt = now;
    if (this.silent) return;
    const edgesPerSec = (this.model.fanRpm() / 60) * this.ppr * 2;
    this.tachPhase += edgesPerSec * dt;
    let edges = Math.min(64, Math.floor(this.tachPhase));
    this.tachPhase -= Math.floor(this.tachPhase);
    const pin = this.pins[this.tachPin]!;
    const port = this.tachPin >> 3;
    while (edges-- > 0) {
      this.tachLevel ^= 1;
      pin.value = this.tachLevel;
      this.stats.tachEdges++;
      if (this.portReporting.has(port) && (pin.mode === MODE.INPUT || pin.mode === MODE.PULLUP))
        this.sendPort(port);
    }
  }

  /** Host → MCU bytes. */
  receive(bytes: Uint8Array): void {
    this.stats.bytesIn += bytes.length;
    if (this.silent) return;
    for (const b of bytes) this.byte(b);
  }

  private byte(b: number): void {
    if (this.inSysex) {
      if (b === END_SYSEX) {
        this.inSysex = false;
        this.sysex(this.msg.splice(0));
      } else if (b & 0x80) {
        // A status byte inside a sysex: the sysex was truncated; start over with this byte.
        this.inSysex = false;
        this.msg.length = 0;
        this.byte(b);
      } else this.msg.push(b);
      return;
    }
    if (b & 0x80) {
      this.msg.length = 0;
      this.msg.push(b);
      const cmd = b < 0xf0 ? b & 0xf0 : b;
      switch (cmd) {
        case START_SYSEX:
          this.msg.length = 0;
          this.inSysex = true;
          this.need = 0;
          return;
        case REPORT_VERSION:
          this.need = 0;
          this.send([REPORT_VERSION, PROTOCOL_VERSION[0], PROTOCOL_VERSION[1]]);
          return;
        case SYSTEM_RESET:
          this.need = 0;
          this.reset();
          return;
        case DIGITAL_MESSAGE:
        case ANALOG_MESSAGE:
        case SET_PIN_MODE:
        case SET_DIGITAL_PIN_VALUE:
          this.need = 2;
          return;
        case REPORT_ANALOG:
        case REPORT_DIGITAL:
          this.need = 1;
          return;
        default:
          this.stats.unknown++;
          this.need = 0;
          this.msg.length = 0;
          return;
      }
    }
    if (this.msg.length === 0 || this.need === 0) return; // stray data byte
    this.msg.push(b);
    if (--this.need === 0) this.command(this.msg.splice(0));
  }

  private command(m: number[]): void {
    const status = m[0]!;
    const cmd = status < 0xf0 ? status & 0xf0 : status;
    const ch = status & 0x0f;
    switch (cmd) {
      case ANALOG_MESSAGE:
        this.analogWrite(ch, m[1]! | (m[2]! << 7));
        break;
      case DIGITAL_MESSAGE: {
        const v = m[1]! | (m[2]! << 7);
        for (let i = 0; i < 8; i++) {
          const pin = this.pins[ch * 8 + i];
          if (pin && pin.mode === MODE.OUTPUT) pin.value = (v >> i) & 1;
        }
        break;
      }
      case SET_PIN_MODE:
        this.setPinMode(m[1]!, m[2]!);
        break;
      case SET_DIGITAL_PIN_VALUE: {
        const pin = this.pins[m[1]!];
        if (pin && pin.mode === MODE.OUTPUT) pin.value = m[2]! ? 1 : 0;
        break;
      }
      case REPORT_ANALOG:
        if (m[1]) this.analogReporting.add(ch);
        else this.analogReporting.delete(ch);
        break;
      case REPORT_DIGITAL:
        if (m[1]) {
          this.portReporting.add(ch);
          this.sendPort(ch, true); // StandardFirmata reports the port's state at once
        } else this.portReporting.delete(ch);
        break;
    }
  }

  private capabilities(pin: number): number[] {
    if (pin < 2) return []; // serial RX/TX
    const caps = [MODE.INPUT, 1, MODE.PULLUP, 1, MODE.OUTPUT, 1];
    if (pin >= FIRST_ANALOG_PIN) caps.push(MODE.ANALOG, 10);
    if (PWM_PINS.has(pin)) caps.push(MODE.PWM, 8);
    caps.push(MODE.SERVO, 14);
    if (pin === 18 || pin === 19) caps.push(MODE.I2C, 1);
    return caps;
  }

  private setPinMode(p: number, mode: number): void {
    const pin = this.pins[p];
    if (!pin) return;
    const caps = this.capabilities(p);
    let supported = false;
    for (let i = 0; i < caps.length; i += 2) if (caps[i] === mode) supported = true;
    if (!supported) return;
    pin.mode = mode;
    if (mode === MODE.ANALOG && p >= FIRST_ANALOG_PIN) this.analogReporting.add(p - FIRST_ANALOG_PIN);
    if (p === this.tachPin && (mode === MODE.INPUT || mode === MODE.PULLUP)) pin.value = this.tachLevel;
    else if (mode === MODE.INPUT || mode === MODE.PULLUP) pin.value = mode === MODE.PULLUP ? 1 : 0;
  }

  private analogWrite(p: number, value: number): void {
    const pin = this.pins[p];
    if (!pin || pin.mode !== MODE.PWM) return;
    pin.value = Math.min(255, value);
    this.stats.pwmWrites++;
    if (p === this.fanPin) this.model.setFanDuty((pin.value / 255) * 100);
  }

  /** PWM value last written to the fan pin (0..255). */
  fanPwm(): number {
    return this.pins[this.fanPin]!.value;
  }

  private sysex(d: number[]): void {
    const cmd = d[0];
    switch (cmd) {
      case REPORT_FIRMWARE:
        this.sendFirmware();
        break;
      case CAPABILITY_QUERY: {
        const out = [START_SYSEX, CAPABILITY_RESPONSE];
        for (let p = 0; p < PIN_COUNT; p++) out.push(...this.capabilities(p), UNUSED);
        out.push(END_SYSEX);
        this.send(out);
        break;
      }
      case ANALOG_MAPPING_QUERY: {
        const out = [START_SYSEX, ANALOG_MAPPING_RESPONSE];
        for (let p = 0; p < PIN_COUNT; p++) out.push(p >= FIRST_ANALOG_PIN ? p - FIRST_ANALOG_PIN : UNUSED);
        out.push(END_SYSEX);
        this.send(out);
        break;
      }
      case PIN_STATE_QUERY: {
        const p = d[1] ?? 0;
        const pin = this.pins[p];
        if (!pin) break;
        const out = [START_SYSEX, PIN_STATE_RESPONSE, p, pin.mode];
        let v = pin.value;
        do {
          out.push(v & 0x7f);
          v >>= 7;
        } while (v > 0);
        out.push(END_SYSEX);
        this.send(out);
        break;
      }
      case SAMPLING_INTERVAL: {
        const ms = (d[1] ?? 0) | ((d[2] ?? 0) << 7);
        this.samplingMs = Math.max(10, ms); // StandardFirmata's MINIMUM_SAMPLING_INTERVAL is 1; 10 keeps the emulator cheap
        if (this.sampleTimer) {
          this.clock.clearInterval(this.sampleTimer);
          this.sampleTimer = this.clock.setInterval(() => this.sample(), this.samplingMs);
        }
        break;
      }
      case EXTENDED_ANALOG: {
        let v = 0;
        for (let i = 2; i < d.length; i++) v |= d[i]! << (7 * (i - 2));
        this.analogWrite(d[1] ?? 0xff, v);
        break;
      }
      case STRING_DATA:
        break;
      default:
        this.stats.unknown++;
    }
  }
}
