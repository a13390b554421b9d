/**
 * A whole USB-bridge board, emulated: chips (firmware/bm13xx), their thermal model and sensors, the
 * electrical model (firmware/power: regulator, monitor, lines), and the bridge MCU (bitaxe-raw or QAxe)
 * wired to them — served on two pty pairs like the real board's two CDC ports: `<link>.control` and
 * `<link>.data` (the data port is the chain's UART, transparent) by ptys.ts, or reached in process over
 * an in-memory control link (the sim twins of `asicd demo`). `asicd sim --board <profile>` builds one
 * from a board profile; `asicd run --board <profile> --bridge <link>` drives it like hardware.
 *
 * Fault knobs (also live, for tests): over-current at a given load current, PGOOD drop, regulator
 * missing, bridge silent, bridge unplugged (both ports vanish; the MCU loses USB power, so its lines go
 * back to their power-on levels: chips held in reset, buck enable off) and plugged back.
 */
import type { Clock, TimerHandle } from '../../lib/clock.ts';
import { createEmulatedChain, type EmulatedChain } from '../bm13xx/chain.ts';
import { type EmuLine, EmulatedPowerBoard } from '../power/board.ts';
import { EmulatedGpio } from '../power/gpio.ts';
import { EmulatedEmc2101 } from '../sensors/emc2101.ts';
import { EmulatedI2cBus } from '../sensors/i2c-bus.ts';
import { ThermalModel, type ThermalModelOptions } from '../sensors/thermal-model.ts';
import { EmulatedTmp1075 } from '../sensors/tmp1075.ts';
import { EmulatedBitaxeRawMcu } from './bitaxe-raw.ts';
import { EmulatedQaxeMcu, QAXE_LINES } from './qaxe.ts';

export interface BridgeBoardSpec {
  id: string;
  chip: string;
  chips: number;
  protocol: 'bitaxe-raw' | 'qaxe';
  /** bitaxe-raw reply framing. */
  version?: 0 | 1;
  regulator:
    | { kind: 'tps546'; address: number }
    | { kind: 'ds4432u'; address: number }
    | { kind: 'bridge'; volts: number };
  monitor?: { kind: 'ina260'; address: number } | { kind: 'regulator' } | { kind: 'none' };
  /** bitaxe-raw: the bridge GPIO lines (command codes) of the profile. */
  enable?: EmuLine;
  reset?: EmuLine;
  pgood?: EmuLine;
  /** Chips brown out below / are damaged above (V). */
  minVolts: number;
  maxVolts?: number;
  vin: number;
  /** Thermal parts on the bridge's I2C bus. */
  emc2101?: { address: number };
  tmp1075?: number[];
  easyBits?: number;
  maxHashesPerSecond?: number;
}

export interface BridgeBoardFaults {
  overCurrentAtA?: number;
  /** Extra core load (A): a partial short below the regulator's own trip; 0 removes it. */
  extraLoadA?: number;
  pgoodDrop?: boolean;
  regulatorMissing?: boolean;
  bridgeSilent?: boolean;
}

/** In-process options (the sim twins of `asicd demo`): thermal model parameters (tests heat boards fast). */
export interface BridgeBoardOptions {
  thermal?: Partial<Omit<ThermalModelOptions, 'clock' | 'chips'>>;
}

export class EmulatedBridgeBoard {
  readonly spec: BridgeBoardSpec;
  readonly clock: Clock;
  readonly chain: EmulatedChain;
  readonly model: ThermalModel;
  readonly bus: EmulatedI2cBus;
  readonly gpio: EmulatedGpio;
  readonly power: EmulatedPowerBoard;
  readonly raw: EmulatedBitaxeRawMcu | undefined;
  readonly qaxe: EmulatedQaxeMcu | undefined;
  /** The EMC2101 on the bridge's I2C bus (fan and temperature), when the board has one. */
  readonly emc2101: EmulatedEmc2101 | undefined;
  private sendControl: (f: Uint8Array) => void = () => {};
  private readonly follow: TimerHandle;
  private lastHashes = 0;

  constructor(spec: BridgeBoardSpec, clock: Clock, o: BridgeBoardOptions = {}) {
    this.spec = spec;
    this.clock = clock;
    this.chain = createEmulatedChain({
      model: spec.chip,
      chips: spec.chips,
      easyBits: spec.easyBits ?? 16,
      clock,
      path: `sim:${spec.id}`,
      ...(spec.maxHashesPerSecond ? { maxHashesPerSecond: spec.maxHashesPerSecond } : {}),
    });
    this.model = new ThermalModel({ hashing: false, ...o.thermal, clock, chips: spec.chips });
    this.bus = new EmulatedI2cBus(`sim:${spec.id}:i2c`);
    this.emc2101 = spec.emc2101 ? new EmulatedEmc2101(this.model) : undefined;
    if (spec.emc2101 && this.emc2101) this.bus.attach(spec.emc2101.address, this.emc2101);
    for (const a of spec.tmp1075 ?? []) this.bus.attach(a, new EmulatedTmp1075(this.model));
    const q = spec.protocol === 'qaxe';
    const lines = {
      enable: q ? { line: QAXE_LINES.RUN, activeLow: false } : spec.enable,
      reset: q ? { line: QAXE_LINES.RESET, activeLow: false } : spec.reset,
      pgood: q ? undefined : spec.pgood,
    };
    this.gpio = new EmulatedGpio(`sim:${spec.id}:gpio`, this.powerOnLevels(lines));
    this.power = new EmulatedPowerBoard({
      clock,
      chain: this.chain,
      model: this.model,
      bus: this.bus,
      gpio: this.gpio,
      regulator: spec.regulator,
      ...(spec.monitor ? { monitor: spec.monitor } : {}),
      ...(lines.enable ? { enable: lines.enable } : {}),
      ...(lines.reset ? { reset: lines.reset } : {}),
      ...(lines.pgood ? { pgood: lines.pgood } : {}),
      minVolts: spec.minVolts,
      ...(spec.maxVolts !== undefined ? { maxVolts: spec.maxVolts } : {}),
      vin: spec.vin,
    });
    const send = (f: Uint8Array) => this.sendControl(f);
    if (q) {
      this.qaxe = new EmulatedQaxeMcu({
        clock,
        lines: this.gpio,
        pgood: () => this.power.powerGood,
        temps: () => [this.model.boardTempC(), this.model.boardTempC(0.7)],
        onFan: (p1) => this.model.setFanDuty(p1),
        send,
      });
    } else {
      this.raw = new EmulatedBitaxeRawMcu({
        clock,
        version: spec.version ?? 0,
        i2c: this.bus,
        gpio: this.gpio,
        adc: () => ({ vddMv: 3300, vinMv: Math.round(this.power.vin * 1000) }),
        send,
        onReboot: () => this.rebootMcu(),
      });
    }
    // Heat follows the chips: hashing while their hash counter moves, at their PLL frequency.
    this.follow = clock.setInterval(() => {
      const h = this.chain.stats.hashes;
      this.model.setHashing(h > this.lastHashes && this.chain.answering);
      this.lastHashes = h;
      const mhz = this.chain.chips[0]?.frequencyMhz;
      if (mhz) this.model.setFrequency(mhz);
      this.power.update();
    }, 250);
  }

  /** Power-on levels of the MCU's outputs: buck enable off, chips held in reset. */
  private powerOnLevels(l: {
    enable?: EmuLine | undefined;
    reset?: EmuLine | undefined;
  }): Record<number, boolean> {
    const out: Record<number, boolean> = {};
    if (l.enable) out[l.enable.line] = l.enable.activeLow;
    if (l.reset) out[l.reset.line] = !l.reset.activeLow;
    if (this.spec?.protocol === 'qaxe') out[QAXE_LINES.LDO_EN] = false;
    return out;
  }

  /** The MCU restarted (panic, USB power lost): its outputs return to their power-on levels. */
  rebootMcu(): void {
    const q = this.spec.protocol === 'qaxe';
    const levels = this.powerOnLevels({
      enable: q ? { line: QAXE_LINES.RUN, activeLow: false } : this.spec.enable,
      reset: q ? { line: QAXE_LINES.RESET, activeLow: false } : this.spec.reset,
    });
    for (const [line, high] of Object.entries(levels)) void this.gpio.set(Number(line), high);
    this.raw?.reset();
  }

  /** Routes the MCU's replies (the control port's host side). */
  attachControl(send: (f: Uint8Array) => void): void {
    this.sendControl = send;
  }

  /** Bytes from the host on the control port. */
  controlIn(chunk: Uint8Array): void {
    (this.raw ?? this.qaxe)!.feed(chunk);
  }

  get silent(): boolean {
    return (this.raw ?? this.qaxe)!.silent;
  }

  applyFaults(f: BridgeBoardFaults): void {
    if (f.overCurrentAtA !== undefined) this.power.overCurrentAtA = f.overCurrentAtA;
    if (f.extraLoadA !== undefined) this.power.setExtraLoad(f.extraLoadA);
    if (f.pgoodDrop) this.power.dropPgood();
    if (f.regulatorMissing !== undefined) this.power.setRegulatorMissing(f.regulatorMissing);
    if (f.bridgeSilent !== undefined) (this.raw ?? this.qaxe)!.silent = f.bridgeSilent;
  }

  /** One line of state for `asicd sim` and tests. */
  status(): Record<string, unknown> {
    const resetLine = this.spec.protocol === 'qaxe' ? undefined : this.spec.reset;
    return {
      coreV: Number(this.power.coreVolts().toFixed(3)),
      loadA: Number(this.power.loadAmps(this.power.coreVolts()).toFixed(2)),
      inputW: Number((this.power.ina260 ? this.power.inputWatts() : 0).toFixed(2)),
      mhz: this.chain.chips[0]?.frequencyMhz ?? 0,
      powerGood: this.power.powerGood,
      resetHeld: resetLine || this.spec.protocol === 'qaxe' ? this.power.resetHeld : null,
      answering: this.chain.answering,
      hashes: this.chain.stats.hashes,
      jobs: this.chain.stats.jobs,
      fanPercent: Math.round(this.model.fanDuty()),
      fault: this.power.faultLatched ?? null,
      trips: this.power.trips,
      damaged: this.power.damaged ?? null,
      tempC: Number(this.model.chipTempC().toFixed(1)),
      silent: this.silent,
    };
  }

  close(): void {
    this.clock.clearInterval(this.follow);
    this.power.close();
  }
}
