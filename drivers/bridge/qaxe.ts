/**
 * QAxe / QAxe+ USB bridge driver: the control protocol (drivers/bridge/qaxe-codec.ts, length-prefixed
 * protobuf) over any ByteTransport (the control CDC port, "CDC#2"). The STM32 firmware owns the board's
 * power sequence: Reset powers the core up in order and releases the chips' reset (≈1.1 s), Shutdown
 * switches it off and holds reset; Control sets the fans; Status reports PGOOD and two temperatures.
 * Those are offered as the capabilities the host asks for: a regulator (on = Reset, off = Shutdown,
 * status = PGOOD), a fan and temperature sensors — the QAxe has no I2C or GPIO page to expose.
 *
 * One request outstanding, ids 1..127 (id 0 would make the "OK" and the error reply identical), a timeout
 * per request and a resync (buffer dropped, port flushed) after a timeout or a reply for another id —
 * request-link.ts, shared with the bitaxe-raw driver.
 */
import type { Clock } from '../../lib/clock.ts';
import { type Logger, silentLogger } from '../../lib/log.ts';
import type { FanDriver, TemperatureSensor } from '../sensors/types.ts';
import { type ByteTransport, TransportError } from '../transport/contract.ts';
import {
  decodeResponse,
  decodeState,
  encodeControl,
  encodeRequest,
  OP,
  QFrameParser,
  type QState,
} from './qaxe-codec.ts';
import { RequestLink, type RequestLinkStats } from './request-link.ts';

export interface QaxeOptions {
  transport: ByteTransport;
  clock: Clock;
  /** Reply timeout for Nop/Control/Status/Shutdown (default 1000 ms). */
  timeoutMs?: number;
  /** Reply timeout for Reset, which sequences the power first (default 3000 ms; the firmware takes ≈1.1 s). */
  resetTimeoutMs?: number;
  logger?: Logger;
}

const LINK_FIX = 'check the USB cable and that the QAxe is powered (`asicd doctor --board qaxe`)';

export class QaxeBridge {
  readonly path: string;
  readonly transport: ByteTransport;
  private readonly resetTimeoutMs: number;
  private readonly parser = new QFrameParser();
  private readonly link: RequestLink<Uint8Array | undefined>;
  /** Last fan duty asked (Control carries both PWMs). */
  private duty = 100;
  /** True after a successful Reset until Shutdown (the firmware has no "is on" query besides PGOOD). */
  powered = false;

  constructor(o: QaxeOptions) {
    this.transport = o.transport;
    this.path = o.transport.path;
    this.resetTimeoutMs = o.resetTimeoutMs ?? 3000;
    this.link = new RequestLink<Uint8Array | undefined>({
      transport: o.transport,
      clock: o.clock,
      logger: (o.logger ?? silentLogger).child('qaxe', { path: this.path }),
      timeoutMs: o.timeoutMs ?? 1000,
      // Never 0: the default response (a lone 00) is both "OK for id 0" and every error.
      ids: { first: 1, last: 127 },
      fix: LINK_FIX,
      resetParser: () => this.parser.reset(),
    });
    o.transport.onData((chunk) => this.onData(chunk));
  }

  /** Requests, timeouts, stray replies and bridge errors. */
  get stats(): RequestLinkStats {
    return { ...this.link.stats };
  }

  open(): Promise<void> {
    return this.link.open();
  }

  nop(): Promise<void> {
    return this.send(OP.NOP, undefined, 'Nop').then(() => {});
  }

  /** Fans 0..100 % (both PWM outputs). */
  async control(pwm1: number, pwm2 = pwm1): Promise<void> {
    await this.send(OP.CONTROL, { pwm1, pwm2 }, `Control pwm ${pwm1}/${pwm2} %`);
  }

  async status(): Promise<QState> {
    const d = await this.send(OP.STATUS, undefined, 'Status');
    if (!d) throw new TransportError('io', this.path, 'Status: reply without state', LINK_FIX);
    return decodeState(d);
  }

  /** Powers the board up in the firmware's order and releases the chips' reset. */
  async reset(): Promise<void> {
    await this.send(OP.RESET, undefined, 'Reset', this.resetTimeoutMs);
    this.powered = true;
  }

  /** Core off, chips held in reset. */
  async shutdown(): Promise<void> {
    this.powered = false;
    await this.send(OP.SHUTDOWN, undefined, 'Shutdown');
  }

  /** The bridge's fan as a FanDriver (no tach on the QAxe bridge protocol). */
  fan(): FanDriver {
    return {
      name: `qaxe-fan@${this.path}`,
      setDuty: async (percent) => {
        if (!Number.isFinite(percent) || percent < 0 || percent > 100)
          throw new RangeError(`fan duty: 0..100 %, got ${percent}`);
        const d = Math.round(percent);
        await this.control(d, d);
        this.duty = d;
      },
      readRpm: async () => undefined,
    };
  }

  get fanDuty(): number {
    return this.duty;
  }

  /** The two board temperatures of Status as sensors (0x48 and 0x49 on the board, read by the STM32). */
  sensors(): TemperatureSensor[] {
    return [1, 2].map((n) => ({
      name: `qaxe-temp${n}@${this.path}`,
      readTemperature: async () => {
        const s = await this.status();
        return n === 1 ? s.temp1C : s.temp2C;
      },
    }));
  }

  private send(
    op: number,
    control: { pwm1: number; pwm2: number } | undefined,
    what: string,
    timeoutMs?: number,
  ): Promise<Uint8Array | undefined> {
    return this.link.request(
      what,
      (id) =>
        control
          ? encodeControl(id, { state1v2: 1, pwm1: control.pwm1, pwm2: control.pwm2 })
          : encodeRequest(id, op),
      timeoutMs !== undefined ? { timeoutMs } : {},
    );
  }

  private onData(chunk: Uint8Array): void {
    for (const body of this.parser.push(chunk)) {
      const p = this.link.current;
      let r: ReturnType<typeof decodeResponse>;
      try {
        r = decodeResponse(body);
      } catch {
        this.link.stray({ undecodable: body.length });
        continue;
      }
      if (r.kind === 'error' && r.id === 0 && p) {
        // The default response: the firmware rejected the request (ids are never 0 here).
        this.link.settle({
          error: new TransportError('io', this.path, `${p.what}: the bridge rejected the request`, LINK_FIX),
        });
        continue;
      }
      if (!p || r.id !== p.id) {
        this.link.stray({ id: r.id });
        continue;
      }
      if (r.kind === 'ok') this.link.settle({ value: r.data });
      else
        this.link.settle({
          error: new TransportError('io', this.path, `${p.what}: bridge error ${r.error}`, LINK_FIX),
        });
    }
  }

  close(): Promise<void> {
    return this.link.close();
  }
}
