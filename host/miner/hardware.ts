/**
 * From a board profile to ready hardware: the chain driver over its transport (a UART, a UART behind an
 * SPI bridge, or the in-process emulated chain), and the thermal parts (I2C sensors and fan, a Firmata
 * board, or their emulated counterparts on a thermal model for sim-* boards).
 */
import type { BoardProfile } from '../../boards/types.ts';
import { Bm13xxChain, type ChainOptions, ESP_TIMING, FAST_TIMING } from '../../drivers/bm13xx/chain.ts';
import { MODELS, type ModelInfo } from '../../drivers/bm13xx/models.ts';
import {
  type FanDriver,
  openFirmataBoard,
  openI2cSensors,
  type TemperatureSensor,
} from '../../drivers/sensors/index.ts';
import type { ByteTransport, Unsubscribe } from '../../drivers/transport/contract.ts';
import type { EmulatedChain } from '../../firmware/bm13xx/chain.ts';
import type { EmulatedBridgeBoard } from '../../firmware/bridge/board.ts';
import type { EmulatedEmc2101, ThermalModel, ThermalModelOptions } from '../../firmware/sensors/index.ts';
import type { Clock } from '../../lib/clock.ts';
import type { Logger } from '../../lib/log.ts';
import type { BoardIo } from '../power/board-io.ts';
import { POWER_FAULT_CLEARS, type PowerController, type PowerSnapshot } from '../power/controller.ts';
import type { SimPower } from '../power/sim.ts';
import type { BoardHardware, ChainRuntime } from './daemon.ts';
import type { ChipNonce } from './scheduler.ts';

export interface HardwareOptions {
  clock: Clock;
  logger: Logger;
  frequencyMhz: number;
  /** Skip opening the thermal parts (`--no-thermal`). */
  noThermal?: boolean;
  /** sim boards: leading zero bits of the emulated chips' easy mode. */
  easyBits?: number;
  /** sim boards: cap on the emulated chain's hashes per second (leave CPU for the daemon). */
  maxHashesPerSecond?: number;
  /** Chain driver options for tests (timing, poll period). */
  chain?: Partial<ChainOptions>;
  /** Core voltage to set (mV), range-checked by the power controller. */
  voltageMv?: number;
  /** USB-bridge boards: ports `<link>.control` / `<link>.data` (`asicd sim --board`) instead of USB discovery. */
  bridgeLink?: string;
  /** sim boards: thermal model parameters (tests make boards heat fast). */
  thermalModel?: Partial<Omit<ThermalModelOptions, 'clock'>>;
}

/** The emulated parts of a sim-* board, for tests and fault injection. */
export interface SimParts {
  chain: EmulatedChain;
  model: ThermalModel;
  /** The emulated EMC2101 (absent on a board without one: the QAxe's sensors are its bridge's). */
  emc2101: EmulatedEmc2101 | undefined;
  /** Emulated power parts (sim twins of boards with power capabilities). */
  power?: SimPower;
  /** USB-bridge twins: the whole emulated board behind its bridge MCU (fault knobs, bridge stats). */
  bridge?: EmulatedBridgeBoard;
}

/** What the daemon may use of board power (kept small: lifecycle owns host/miner). */
export interface BoardPower {
  /** The core voltage can be set (TPS546, DS4432U); false on fixed-voltage boards. */
  settable: boolean;
  snapshot(): PowerSnapshot;
  setVoltage(mv: number): Promise<number>;
  clearFault(): Promise<void>;
  window(): { min: number; max: number };
}

/** ChainRuntime over the BM13xx chain driver. */
export class DriverChain implements ChainRuntime {
  readonly name: string;
  readonly model: ModelInfo;
  readonly chipCount: number;
  readonly ticketDifficulty: number;
  readonly driver: Bm13xxChain;
  canHoldReset: boolean;
  private idling: Promise<void> | undefined;
  /** The board's power capabilities (bring-up before init, core off on idle), when it has any. */
  power: PowerController | undefined;

  readonly transport: ByteTransport;
  constructor(
    transport: ByteTransport,
    o: ChainOptions & { expectedChips: number; hostTicketDifficulty: number },
  ) {
    this.transport = transport;
    this.driver = new Bm13xxChain(o);
    this.name = transport.path;
    this.model = typeof o.model === 'string' ? MODELS[o.model] : o.model;
    this.chipCount = o.expectedChips;
    this.ticketDifficulty = o.hostTicketDifficulty;
    this.canHoldReset = o.reset !== undefined;
  }

  /** Attaches board power: init() brings the core up first, idle()/close() switch it off. */
  attachPower(power: PowerController): void {
    this.power = power;
    if (power.hasReset) this.canHoldReset = true;
  }

  async init(frequencyMhz: number): Promise<void> {
    // An idle still switching the core off must finish before a bring-up (else it undoes it).
    await this.idling?.catch(() => {});
    if (!this.transport.isOpen) await this.transport.open();
    if (this.driver.state !== 'ready') {
      // A re-init after the chain failed or went down starts from power off (a buck that tripped on its
      // own, with no PGOOD or status to tell, only comes back after its enable is cycled).
      if (this.power?.state === 'on') await this.power.powerOff();
      await this.power?.bringUp();
      await this.driver.init();
    }
    if (this.driver.frequencyMHz !== frequencyMhz) await this.driver.setFrequency(frequencyMhz);
  }

  sendJob(
    job: Parameters<ChainRuntime['sendJob']>[0],
    beforeWrite?: (chipJobId: number) => void,
  ): Promise<number> {
    return this.driver.sendJob(job, beforeWrite);
  }

  setFrequency(mhz: number): Promise<void> {
    if (this.driver.state !== 'ready' && this.driver.state !== 'idle') return Promise.resolve();
    return this.driver.setFrequency(mhz);
  }

  setVersionMask(mask: number): Promise<void> {
    return this.driver.setVersionMask(mask);
  }

  /**
   * Stops the chips hashing. With a reset line the chips are held in reset (ESP-Miner's stop path);
   * without one they get no more work and are taken down to 50 MHz so the last job runs cool — in one
   * burst of PLL steps without the settling pauses of a ramp up (~0.1 s instead of 7.6 s at 525 MHz),
   * so overheat, pause and stop all idle within the shutdown budget.
   */
  idle(): Promise<void> {
    this.idling ??= (async () => {
      if (!this.canHoldReset && this.driver.state === 'ready')
        await this.driver.setFrequency(50, { fastDown: true }).catch(() => {});
      await this.driver.idle({ holdReset: true });
      // Chips held in reset: switch the core off too where the board can (ESP-Miner's stop path).
      await this.power?.powerOff();
    })().finally(() => {
      this.idling = undefined;
    });
    return this.idling;
  }

  onNonce(listener: (n: ChipNonce) => void): Unsubscribe {
    const fn = (n: ChipNonce) => listener(n);
    this.driver.on('nonce', fn);
    return () => this.driver.off('nonce', fn);
  }

  onFault(listener: (message: string) => void): Unsubscribe {
    const fn = (e: Error) => listener(e.message);
    this.driver.on('fault', fn);
    const off = this.power?.onFault((f) =>
      listener(`power fault: ${f.reason}; chips held in reset, core off, fans 100 % (latched until cleared)`),
    );
    return () => {
      this.driver.off('fault', fn);
      off?.();
    };
  }

  onDown(listener: (latched?: { reason: string; clears: string }) => void): Unsubscribe {
    const fn = (state: string) => {
      if (state === 'offline' || state === 'failed') listener(this.latchedFault());
    };
    this.driver.on('state', fn);
    const off = this.power?.onFault((f) => {
      void this.driver.idle({ holdReset: true });
      listener({ reason: f.reason, clears: POWER_FAULT_CLEARS });
    });
    const lost = this.power?.onLinkLost(() => {
      void this.driver.idle({ holdReset: true }).catch(() => {});
      listener();
    });
    return () => {
      this.driver.off('state', fn);
      off?.();
      lost?.();
    };
  }

  /** The board's power has a latched fault: no init can succeed until it is cleared. */
  private latchedFault(): { reason: string; clears: string } | undefined {
    const f = this.power?.fault;
    return f ? { reason: f.reason, clears: POWER_FAULT_CLEARS } : undefined;
  }

  counterHashrateGhs(): number | undefined {
    return this.driver.hashrate().totalGhs;
  }

  linkHealth() {
    return this.driver.linkHealth();
  }

  async close(): Promise<void> {
    await this.driver.stop({ holdReset: true });
    await this.power?.powerOff();
    await this.transport.close();
  }
}

/** Opens the board's chain transport. */
async function openTransport(
  board: BoardProfile,
  o: HardwareOptions,
): Promise<{ transport: ByteTransport; emu?: EmulatedChain }> {
  const t = board.transport;
  if (t.kind === 'sim') {
    // The emulators load only for simulated boards (a real board's daemon never needs them).
    const { createSimBoardChain } = await import('../../firmware/bm13xx/sim-board.ts');
    const emu = createSimBoardChain({
      model: board.chip,
      chips: board.chips,
      easyBits: o.easyBits ?? board.easyBits ?? 16,
      path: `sim:${board.id}`,
      logger: o.logger.child('emulator'),
      ...(o.maxHashesPerSecond ? { maxHashesPerSecond: o.maxHashesPerSecond } : {}),
    });
    return { transport: emu, emu };
  }
  if (t.kind === 'uart') {
    // serialport (a native addon) loads only for boards on a serial port.
    const { UartTransport } = await import('../../drivers/transport/uart.ts');
    return {
      transport: new UartTransport({ path: t.path, baudRate: t.baud, logger: o.logger.child('uart') }),
    };
  }
  if (t.kind === 'usb-bridge')
    throw new Error(
      `${board.id}: USB bridge boards are listed but not drivable by \`asicd run\` yet (host/power bring-up is not wired to ${board.bridge?.protocol ?? 'the bridge'})`,
    );
  const [{ openSpi }, { Sc16is7xxUart }] = await Promise.all([
    import('../../drivers/transport/spi.ts'),
    import('../../drivers/transport/sc16is7xx.ts'),
  ]);
  const spi = await openSpi({ bus: t.spiBus, device: t.spiDevice });
  return {
    transport: new Sc16is7xxUart({
      spi,
      channel: t.channel,
      crystalHz: t.crystalHz,
      baudRate: t.baud,
      clock: o.clock,
      logger: o.logger.child('sc16is7xx'),
    }),
  };
}

/** Sim twins emulate their power parts (regulator, lines) when the profile declares any. */
function simPowered(board: BoardProfile): boolean {
  return board.simulated && board.power !== undefined;
}

/** Fan that runs at 100 % whatever the controller asks while a power fault is latched. */
function protectedFan(inner: FanDriver, power: PowerController): FanDriver {
  power.onFault(() => void inner.setDuty(100).catch(() => {}));
  return {
    name: inner.name,
    setDuty: (d) => inner.setDuty(power.fault ? 100 : d),
    readRpm: () => inner.readRpm(),
  };
}

/** The regulator's temperature as a thermal-monitor sensor with its own limit; unreadable while latched. */
function vrSensor(power: PowerController, limitC: number): TemperatureSensor {
  return { name: 'vr', limitC, readTemperature: () => power.vrTemperature() };
}

/** The daemon's view of board power (telemetry, --voltage, clear). */
function powerSeam(p: PowerController): BoardPower {
  return {
    settable: p.settable,
    snapshot: () => p.snapshot(),
    setVoltage: (mv) => p.setVoltage(mv),
    clearFault: () => p.clearFault(),
    window: () => p.windowMv,
  };
}

/** Measures the emulated chain's real hash rate from its counters (the sim board's "expected"). */
/**
 * What the emulated chips actually do, in GH/s: the hashes they counted over 2 s windows. Until the first
 * window is full, the rate so far (from 250 ms on), so the expected hashrate is not 0 in the first seconds
 * of mining (an emulator is as fast as the CPU lets it be, so "expected" is measured, not derived).
 */
export function emulatorRate(emu: { readonly stats: { hashes: number } }, clock: Clock): () => number {
  let last = { at: clock.now(), hashes: emu.stats.hashes };
  let rate: number | undefined;
  return () => {
    const now = clock.now();
    const hashes = emu.stats.hashes;
    const dt = now - last.at;
    if (dt >= 2000) {
      rate = ((hashes - last.hashes) / dt) * 1000;
      last = { at: now, hashes };
    } else if (rate === undefined) {
      return dt >= 250 ? ((hashes - last.hashes) / dt) * 1e-6 : 0;
    }
    return rate / 1e9;
  };
}

export async function openBoardHardware(
  board: BoardProfile,
  o: HardwareOptions,
): Promise<BoardHardware & { sim?: SimParts; power?: BoardPower }> {
  const model = MODELS[board.chip];
  // Defence in depth: whatever the caller passes, the chips are never ramped beyond the board's limits.
  const lim = board.limits.frequencyMhz;
  o = { ...o, frequencyMhz: Math.min(lim.max, Math.max(lim.min, o.frequencyMhz)) };
  // Real boards with power capabilities or a USB bridge: their GPIO / I2C / bridge, power controller.
  let io: BoardIo | undefined;
  // Board I/O (GPIO chardev, PWM, USB bridges) loads only for the boards that use it (lazy-imports test).
  const boardIo = () => import('../power/board-io.ts');
  if (!board.simulated && (board.power || board.transport.kind === 'usb-bridge'))
    io = await (await boardIo()).openBoardIo(board, {
      clock: o.clock,
      logger: o.logger,
      ...(o.bridgeLink ? { bridgeLink: o.bridgeLink } : {}),
      ...(o.voltageMv !== undefined ? { voltageMv: o.voltageMv } : {}),
    });
  // Sim twins of USB-bridge boards: the emulated board behind its emulated bridge MCU, driven through
  // the real bridge driver over an in-memory control link (the same path as `--bridge` on a real board).
  let twin: EmulatedBridgeBoard | undefined;
  if (board.simulated && board.bridge && board.power) {
    // Loaded only for these twins (the emulated board and its bridge MCU are not needed otherwise).
    const { createSimBridgeTwin } = await import('../power/bridge-sim.ts');
    const t = createSimBridgeTwin(board, {
      clock: o.clock,
      easyBits: o.easyBits ?? board.easyBits ?? 16,
      ...(o.maxHashesPerSecond ? { maxHashesPerSecond: o.maxHashesPerSecond } : {}),
      thermal: { frequencyMHz: o.frequencyMhz, ...o.thermalModel },
    });
    twin = t.board;
    try {
      io = await (await boardIo()).openBoardIo(board, {
        clock: o.clock,
        logger: o.logger,
        bridgeTransports: { control: t.control, data: t.board.chain },
        ...(o.voltageMv !== undefined ? { voltageMv: o.voltageMv } : {}),
      });
    } catch (err) {
      t.board.close();
      throw err;
    }
  }
  let opened: { transport: ByteTransport; emu?: EmulatedChain };
  try {
    opened = io?.chainTransport ? { transport: io.chainTransport } : await openTransport(board, o);
  } catch (err) {
    await io?.close();
    twin?.close();
    throw err;
  }
  const { transport } = opened;
  const emu = opened.emu ?? twin?.chain;
  const realReset = io?.power && !board.simulated && board.power?.reset ? board.power.reset : undefined;
  // Easy mode: always on emulated boards; on a UART only when asked (a chain served by `asicd sim`).
  const easyBits = emu ? (o.easyBits ?? board.easyBits ?? 16) : o.easyBits;
  const easy = easyBits !== undefined;
  const chain = new DriverChain(transport, {
    model: board.chip,
    transport,
    clock: o.clock,
    logger: o.logger.child('chain0'),
    expectedChips: board.chips,
    frequencyMHz: o.frequencyMhz,
    // Emulated chips: program ticket difficulty 1 (no mask bits) so the easy floor alone decides, and
    // tell the host that floor (2^(easyBits − 32)). Real chips: ESP-Miner's 256.
    ticketDifficulty: easy ? 1 : 256,
    hostTicketDifficulty: easy ? 2 ** (easyBits - 32) : 256,
    timing: emu ? FAST_TIMING : ESP_TIMING,
    // Emulated boards with power parts get their reset line from the power controller below.
    // Emulated boards whose profile has a reset line get it from the power controller below; the others
    // keep the emulator's direct reset (as before boards had power capabilities).
    ...(emu && !twin && !board.power?.reset
      ? { reset: (hold: boolean) => (hold ? emu.reset() : undefined) }
      : {}),
    ...(emu && simPowered(board) && board.power?.reset
      ? { reset: (hold: boolean) => power?.setReset(hold) }
      : {}),
    ...(simPowered(board) && board.power?.reset
      ? {
          timing: {
            ...(emu ? FAST_TIMING : ESP_TIMING),
            // sim twins: the profile's widths capped at 100 ms
            resetPulseMs: Math.min(board.power.reset.assertMs, emu ? 100 : Number.POSITIVE_INFINITY),
            postResetMs: Math.min(board.power.reset.releaseMs, emu ? 100 : Number.POSITIVE_INFINITY),
          },
        }
      : {}),
    // Real boards: reset through the power controller (Pi GPIO or the bridge's), the profile's widths.
    ...(realReset
      ? {
          reset: (hold: boolean) => io!.power!.setReset(hold),
          timing: { ...ESP_TIMING, resetPulseMs: realReset.assertMs, postResetMs: realReset.releaseMs },
        }
      : {}),
    ...o.chain,
  });
  let power: PowerController | undefined = io?.power;

  let sensors: TemperatureSensor[] = [];
  let fan: FanDriver | undefined;
  const closers: Array<() => Promise<void>> = [];
  let hooks: Pick<BoardHardware, 'onHashing' | 'onFrequency'> = {};
  let simParts: SimParts | undefined;
  if (twin) {
    simParts = { chain: twin.chain, model: twin.model, emc2101: twin.emc2101, bridge: twin };
    if (io?.power)
      simParts.power = { board: twin.power, gpio: twin.gpio, bus: twin.bus, controller: io.power };
  }
  if (!o.noThermal) {
    if (emu && !twin) {
      const parts = board.i2c?.parts ?? [];
      const { createSimThermal } = await import('../thermal/sim.ts');
      const sim = await createSimThermal({
        clock: o.clock,
        chips: board.chips,
        frequencyMHz: o.frequencyMhz,
        hashing: false,
        ...o.thermalModel,
        tmp1075At: parts.filter((p) => p.part !== 'EMC2101').map((p) => p.address ?? 0x48),
      });
      sensors = sim.sensors;
      fan = sim.fan;
      hooks = { onHashing: (h) => sim.model.setHashing(h), onFrequency: (f) => sim.model.setFrequency(f) };
      simParts = { chain: emu, model: sim.model, emc2101: sim.emc2101 };
      if (simPowered(board)) {
        const { createSimPower } = await import('../power/sim.ts');
        const sp = createSimPower(board, {
          clock: o.clock,
          chain: emu,
          model: sim.model,
          bus: sim.bus,
          logger: o.logger,
          ...(o.voltageMv !== undefined ? { voltageMv: o.voltageMv } : {}),
        });
        power = sp.controller;
        simParts.power = sp;
        closers.push(async () => sp.board.close());
      }
    } else if (io?.sensors) {
      sensors = io.sensors;
      fan = io.fan;
    } else if (board.i2c && board.i2c.bus === 'bridge' && io?.i2c) {
      ({ sensors, fan } = await openI2cSensors(io.i2c, board.i2c.parts));
    } else if (board.i2c && board.i2c.bus !== 'bridge') {
      const { openI2c } = await import('../../drivers/transport/i2c.ts');
      const bus = await openI2c(board.i2c.bus);
      ({ sensors, fan } = await openI2cSensors(bus, board.i2c.parts));
      closers.push(() => bus.close());
    } else if (board.firmata) {
      const fb = await openFirmataBoard({ ...board.firmata, clock: o.clock });
      sensors = [fb];
      fan = fb;
      closers.push(() => fb.close());
    }
  }
  if (emu && simPowered(board) && !power) {
    // --no-thermal on a powered sim board: power parts on their own bus, no thermal model.
    const { createSimPower } = await import('../power/sim.ts');
    const sp = createSimPower(board, {
      clock: o.clock,
      chain: emu,
      logger: o.logger,
      ...(o.voltageMv !== undefined ? { voltageMv: o.voltageMv } : {}),
    });
    power = sp.controller;
    closers.push(async () => sp.board.close());
  }
  if (io) {
    fan ??= io.fan;
    closers.push(() => io.close());
  }
  if (twin) {
    const tw = twin;
    closers.push(async () => tw.close());
  }
  if (power) {
    chain.attachPower(power);
    const pc = power;
    if (fan) fan = protectedFan(fan, pc);
    // VR temperature joins the thermal monitor with its own limit (TPS546 boards).
    if (board.power?.regulator.kind === 'tps546' && sensors.length > 0)
      sensors = [...sensors, vrSensor(pc, board.power.vrMaxTempC ?? 105)];
  }
  const emuRate = emu ? emulatorRate(emu, o.clock) : undefined;
  return {
    ...(power ? { power: powerSeam(power) } : {}),
    chains: [chain],
    sensors,
    ...(fan ? { fan } : {}),
    expectedGhs: (mhz) => emuRate?.() ?? (mhz * model.smallCoreCount * board.chips) / 1000,
    ...hooks,
    ...(simParts ? { sim: simParts } : {}),
    close: async () => {
      for (const c of closers) await c().catch(() => {});
    },
  };
}
