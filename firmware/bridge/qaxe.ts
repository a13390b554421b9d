/**
 * An emulated QAxe / QAxe+ bridge MCU (STM32L072, shufps/qaxe fw-L072CB): the control port's
 * length-prefixed protobuf requests (Nop, Control, Status, Reset, Shutdown), with the firmware's power
 * sequence on its own GPIO lines (buck RUN PA2, LDO_EN PA7, chip RESET PB13 — asserted high) and its
 * replies (boards.md §3, §6.7): OK for id 0 is a lone `00`, otherwise `02 08 <id>`; Status carries a
 * length-prefixed QState {pgood_1v2, temp1, temp2 in 1/16 °C as u16}; any error is the default response
 * (`00`). `state_1v2` in Control is ignored, as in the firmware.
 *
 * Framing on a pty: the real MCU takes one USB packet per request; a pty has no packets, so the emulator
 * frames by the length byte and drops a partial frame that stays incomplete for `resyncMs` (50 ms) —
 * the documented resync rule (drivers/bridge/REFERENCE.md).
 */
import type { Clock } from '../../lib/clock.ts';

export interface QaxeLines {
  set(line: number, high: boolean): Promise<void>;
}

/** MCU pin numbers used as emulated line ids: port A pins 0..15, port B pins 16..31. */
export const QAXE_LINES = { RUN: 2, PGOOD: 3, LDO_EN: 7, RESET: 16 + 13 } as const;

export interface QaxeMcuOptions {
  clock: Clock;
  lines: QaxeLines;
  /** PGOOD input (the buck's power-good). */
  pgood: () => boolean;
  /** Board temperatures °C (TMP 0x48 / 0x49). */
  temps: () => [number, number];
  /** Fan PWM outputs changed (percent). */
  onFan?: (pwm1: number, pwm2: number) => void;
  send: (frame: Uint8Array) => void;
  /** Delays of the Reset sequence (ms; default the firmware's 250/100/250/250). */
  delays?: { off: number; ldo: number; run: number; release: number };
  resyncMs?: number;
}

function varint(out: number[], v: number): void {
  let x = v >>> 0;
  while (x >= 0x80) {
    out.push((x & 0x7f) | 0x80);
    x >>>= 7;
  }
  out.push(x);
}

function fields(b: Uint8Array): Map<number, number | Uint8Array> {
  const f = new Map<number, number | Uint8Array>();
  let i = 0;
  const rv = (): number => {
    let v = 0;
    let s = 0;
    for (;;) {
      if (i >= b.length) throw new Error('truncated varint');
      const x = b[i++]!;
      v += (x & 0x7f) * 2 ** s;
      if (!(x & 0x80)) return v;
      s += 7;
      if (s > 35) throw new Error('varint too long');
    }
  };
  while (i < b.length) {
    const key = rv();
    const wt = key & 7;
    if (wt === 0) f.set(key >>> 3, rv());
    else if (wt === 2) {
      const n = rv();
      if (i + n > b.length) throw new Error('truncated field');
      f.set(key >>> 3, b.slice(i, i + n));
      i += n;
    } else throw new Error(`wire type ${wt}`);
  }
  return f;
}

export class EmulatedQaxeMcu {
  private readonly o: QaxeMcuOptions;
  private buf: number[] = [];
  private firstByteAt = 0;
  private chain: Promise<void> = Promise.resolve();
  silent = false;
  fan: [number, number] = [100, 100];
  readonly stats = { requests: 0, errors: 0, resets: 0, shutdowns: 0, droppedPartial: 0 };

  constructor(o: QaxeMcuOptions) {
    this.o = o;
  }

  /** Power-on levels (qaxe.rs:149-202): RUN low, LDO low, RESET high (asserted). */
  async powerOnLevels(): Promise<void> {
    await this.o.lines.set(QAXE_LINES.RUN, false);
    await this.o.lines.set(QAXE_LINES.LDO_EN, false);
    await this.o.lines.set(QAXE_LINES.RESET, true);
  }

  feed(chunk: Uint8Array): void {
    if (this.silent) return;
    const now = this.o.clock.now();
    if (this.buf.length > 0 && now - this.firstByteAt > (this.o.resyncMs ?? 50)) {
      this.stats.droppedPartial++;
      this.buf = [];
    }
    if (this.buf.length === 0) this.firstByteAt = now;
    this.buf.push(...chunk);
    while (this.buf.length >= 1) {
      const len = this.buf[0]!;
      if (this.buf.length < 1 + len) return;
      const body = Uint8Array.from(this.buf.slice(1, 1 + len));
      this.buf = this.buf.slice(1 + len);
      this.firstByteAt = now;
      this.stats.requests++;
      this.chain = this.chain.then(() => this.handle(body)).catch(() => {});
    }
  }

  private reply(id: number, data?: Uint8Array): void {
    const body: number[] = [];
    if (id !== 0) {
      varint(body, 1 << 3);
      varint(body, id);
    }
    if (data) {
      varint(body, (3 << 3) | 2);
      varint(body, data.length);
      body.push(...data);
    }
    if (!this.silent) this.o.send(Uint8Array.from([body.length, ...body]));
  }

  private fail(): void {
    this.stats.errors++;
    if (!this.silent) this.o.send(Uint8Array.of(0));
  }

  private async handle(body: Uint8Array): Promise<void> {
    let f: Map<number, number | Uint8Array>;
    try {
      f = fields(body);
    } catch {
      return this.fail();
    }
    const id = Number(f.get(1) ?? 0);
    const op = Number(f.get(2) ?? 0);
    const d = f.get(3);
    const params = d instanceof Uint8Array && d.length > 0 ? d.subarray(1, 1 + d[0]!) : new Uint8Array(0);
    const sleep = (ms: number) => this.o.clock.sleep(ms);
    const L = QAXE_LINES;
    switch (op) {
      case 0:
        return this.reply(id);
      case 1: {
        let c: Map<number, number | Uint8Array>;
        try {
          c = fields(params);
        } catch {
          return this.fail();
        }
        const p1 = Number(c.get(2) ?? 0);
        const p2 = Number(c.get(3) ?? 0);
        if (p1 > 100 || p2 > 100) return this.fail();
        this.fan = [p1, p2];
        this.o.onFan?.(p1, p2);
        return this.reply(id);
      }
      case 2: {
        const [t1, t2] = this.o.temps();
        const w = (c: number) => Math.round(c * 16) & 0xffff;
        const inner: number[] = [];
        const put = (n: number, v: number) => {
          if (v === 0) return;
          varint(inner, n << 3);
          varint(inner, v);
        };
        put(1, this.o.pgood() ? 1 : 0);
        put(2, w(t1));
        put(3, w(t2));
        return this.reply(id, Uint8Array.from([inner.length, ...inner]));
      }
      case 3: {
        const dl = this.o.delays ?? { off: 250, ldo: 100, run: 250, release: 250 };
        this.stats.resets++;
        await this.o.lines.set(L.RUN, false);
        await this.o.lines.set(L.LDO_EN, false);
        await this.o.lines.set(L.RESET, true);
        await sleep(dl.off);
        await this.o.lines.set(L.LDO_EN, true);
        await sleep(dl.ldo);
        await this.o.lines.set(L.RUN, true);
        await sleep(dl.run);
        await this.o.lines.set(L.RESET, false);
        await sleep(dl.release);
        return this.reply(id);
      }
      case 4:
        this.stats.shutdowns++;
        await this.o.lines.set(L.RUN, false);
        await this.o.lines.set(L.LDO_EN, false);
        await this.o.lines.set(L.RESET, true);
        return this.reply(id);
      default:
        return this.fail();
    }
  }
}
