/**
 * A real board's power, I/O and thermal parts from its capabilities — the same code for a Pi HAT and a
 * USB-bridge board:
 *   - GPIO:  `gpio.kind: 'pi'`  → the Pi's GPIO character device, chip found by label (drivers/gpio);
 *            `gpio.kind: 'bridge'` → the bitaxe-raw bridge's GPIO page (same GpioPort interface);
 *   - I2C:   a bus number → /dev/i2c-N; `'bridge'` → the bridge's I2C page (same I2cBus interface);
 *   - regulator / monitor drivers (TPS546, DS4432U, INA260) on whichever I2C that is; a QAxe's power is
 *     sequenced by its firmware (Reset / Shutdown), offered as the regulator capability;
 *   - the chain's UART: the bridge's data CDC port.
 * Bridge ports are found by VID/PID/product/interface (drivers/bridge/discover.ts), or given as
 * `<link>.control` / `<link>.data` (a board served by `asicd sim --board`).
 */
import type { BoardProfile } from '../../boards/types.ts';
import type { QaxeBridge } from '../../drivers/bridge/qaxe.ts';
import type { FanDriver, TemperatureSensor } from '../../drivers/sensors/types.ts';
import type { ByteTransport, GpioPort, I2cBus } from '../../drivers/transport/contract.ts';
import { TransportError } from '../../drivers/transport/contract.ts';
import type { Clock } from '../../lib/clock.ts';
import type { Logger } from '../../lib/log.ts';
import { PowerController, type RegulatorCap } from './controller.ts';
import { monitorFor, regulatorFor } from './parts.ts';

export interface BoardIo {
  /** The chain's byte link when the board decides it (a USB bridge's data port). */
  chainTransport?: ByteTransport;
  /** The I2C bus of the board's thermal parts, when it is the bridge's. */
  i2c?: I2cBus;
  power?: PowerController;
  /** Bridge-owned fan and temperatures (QAxe). */
  fan?: FanDriver;
  sensors?: TemperatureSensor[];
  close(): Promise<void>;
}

export interface BoardIoOptions {
  clock: Clock;
  logger: Logger;
  /** `<link>.control` / `<link>.data` instead of USB discovery. */
  bridgeLink?: string;
  /** The bridge's ports, already found (asicd doctor). */
  bridgePorts?: { control: string; data: string };
  voltageMv?: number;
  /** Reply timeout of bridge requests (ms). */
  bridgeTimeoutMs?: number;
  /**
   * The bridge's two ports as byte links already made (a sim twin's in-memory link to its emulated bridge
   * MCU): the same bridge drivers run over them as over the CDC ports of a real board.
   */
  bridgeTransports?: { control: ByteTransport; data: ByteTransport };
}

/** The control and data ports of the board's bridge. */
export async function bridgePorts(
  board: BoardProfile,
  link: string | undefined,
): Promise<{ control: string; data: string }> {
  if (link) return { control: `${link}.control`, data: `${link}.data` };
  const b = board.bridge!;
  const { listUsbTtys, matchBridges } = await import('../../drivers/bridge/discover.ts');
  const found = matchBridges(await listUsbTtys(), b);
  if (found.length === 0)
    throw new TransportError(
      'not-found',
      `usb:${b.vid?.toString(16) ?? '*'}:${b.pid?.toString(16) ?? '*'} "${b.product}"`,
      `no ${board.name} found on USB (looked for product "${b.product}"${b.manufacturer ? ` by "${b.manufacturer}"` : ''}, control interface ${b.controlInterface}, data interface ${b.dataInterface})`,
      `plug the board in and run \`asicd doctor --board ${board.id}\`; for an emulated board pass --bridge <link> of \`asicd sim --board ${board.id}\``,
    );
  return found[0]!;
}

/** QAxe firmware power sequence as the regulator capability (on = Reset, off = Shutdown, PGOOD in Status). */
function qaxeRegulator(q: QaxeBridge, mv: number): RegulatorCap {
  return {
    name: `QAxe bridge ${q.path}`,
    identify: async () => {
      await q.nop();
      return 'QAxe bridge (STM32L072)';
    },
    setVout: async (v) => {
      if (Math.abs(v * 1000 - mv) > 0.5)
        throw new Error(`voltage: this board's core is fixed at ${mv} mV by its firmware`);
      return mv / 1000;
    },
    on: () => q.reset(),
    off: () => q.shutdown(),
    status: async () => {
      const s = await q.status();
      return {
        word: s.pgood ? 0 : 0x0800,
        flags: s.pgood ? [] : ['POWER_GOOD#'],
        faults: [],
        outputOn: q.powered,
        powerGood: s.pgood,
      };
    },
  };
}

export async function openBoardIo(board: BoardProfile, o: BoardIoOptions): Promise<BoardIo> {
  const spec = board.power;
  const closers: Array<() => Promise<void>> = [];
  const io: BoardIo = {
    close: async () => {
      for (const c of closers.reverse()) await c().catch(() => {});
    },
  };
  try {
    let i2c: I2cBus | undefined;
    let gpio: GpioPort | undefined;
    let regulator: RegulatorCap | undefined;
    if (board.bridge && (board.transport.kind === 'usb-bridge' || o.bridgeTransports)) {
      let control: ByteTransport;
      if (o.bridgeTransports) {
        control = o.bridgeTransports.control;
        io.chainTransport = o.bridgeTransports.data;
      } else {
        // serialport (a native addon) loads only for boards behind a USB bridge (lazy-imports test).
        const { UartTransport } = await import('../../drivers/transport/uart.ts');
        const ports = o.bridgePorts ?? (await bridgePorts(board, o.bridgeLink));
        control = new UartTransport({
          path: ports.control,
          baudRate: 115200,
          logger: o.logger.child('bridge-control'),
        });
        io.chainTransport = new UartTransport({
          path: ports.data,
          baudRate: board.transport.kind === 'usb-bridge' ? board.transport.baud : 115200,
          logger: o.logger.child('uart'),
        });
      }
      closers.push(() => io.chainTransport!.close());
      // Each part's driver loads only for the boards that have that part (lazy-imports test).
      if (board.bridge!.protocol === 'bitaxe-raw') {
        const { BitaxeRawBridge } = await import('../../drivers/bridge/bitaxe-raw.ts');
        const bridge = new BitaxeRawBridge({
          transport: control,
          version: board.bridge!.replyVersion ?? 0,
          clock: o.clock,
          logger: o.logger,
          ...(o.bridgeTimeoutMs ? { timeoutMs: o.bridgeTimeoutMs } : {}),
        });
        await bridge.open();
        closers.push(() => bridge.close());
        i2c = bridge.i2c;
        gpio = bridge.gpio;
      } else {
        const { QaxeBridge } = await import('../../drivers/bridge/qaxe.ts');
        const q = new QaxeBridge({
          transport: control,
          clock: o.clock,
          logger: o.logger,
          ...(o.bridgeTimeoutMs ? { timeoutMs: o.bridgeTimeoutMs } : {}),
        });
        await q.open();
        closers.push(async () => {
          // Leaving: core off and chips in reset even if the daemon could not say so (best effort).
          await q.shutdown().catch(() => {});
          await q.close();
        });
        regulator = qaxeRegulator(q, spec?.regulator.kind === 'bridge' ? spec.regulator.mv : 1200);
        io.fan = q.fan();
        io.sensors = q.sensors();
      }
    }
    if (spec) {
      if (!gpio && spec.gpio.kind === 'pi' && (spec.enable || spec.reset || spec.pgood)) {
        const { findGpioChip, GpioChardev } = await import('../../drivers/gpio/chardev.ts');
        const chip = await findGpioChip(spec.gpio.labels);
        const g = new GpioChardev(chip);
        await g.open();
        gpio = g;
        closers.push(() => g.close());
      }
      if (!i2c && typeof board.i2c?.bus === 'number' && spec.regulator.kind !== 'fixed') {
        const { openI2c } = await import('../../drivers/transport/i2c.ts');
        const bus = await openI2c(board.i2c.bus);
        i2c = bus;
        closers.push(() => bus.close());
      }
      regulator ??= regulatorFor(spec, i2c);
      const monitor = monitorFor(spec, i2c);
      const lim = board.limits.voltageMv;
      const r = spec.regulator;
      io.power = new PowerController({
        spec,
        clock: o.clock,
        logger: o.logger,
        ...(gpio ? { gpio } : {}),
        ...(regulator ? { regulator } : {}),
        ...(monitor ? { monitor } : {}),
        windowMv: { min: lim.min, max: lim.max },
        voltageMv: o.voltageMv ?? (r.kind === 'fixed' || r.kind === 'bridge' ? r.mv : lim.default),
      });
    }
    if (i2c && board.i2c?.bus === 'bridge') io.i2c = i2c;
    if (board.fan?.kind === 'pi-pwm' && !io.fan) {
      const f = board.fan;
      const { PiPwm } = await import('../../drivers/pwm/sysfs.ts');
      const pwm = new PiPwm({ chip: f.chip, channel: f.channel, hz: f.hz });
      await pwm.open();
      io.fan = pwm;
    }
    return io;
  } catch (err) {
    await io.close();
    throw err;
  }
}
