/**
 * From a USB-bridge board profile to the emulated board `asicd sim --board` serves (firmware/bridge):
 * the same capabilities as data — regulator, monitor, bridge GPIO lines, thermal parts — so the emulated
 * board is wired the way the profile says the real one is.
 */
import type { BoardProfile } from '../../boards/types.ts';
import { MemoryTransport } from '../../drivers/transport/memory.ts';
import {
  type BridgeBoardOptions,
  type BridgeBoardSpec,
  EmulatedBridgeBoard,
} from '../../firmware/bridge/board.ts';
import type { Clock } from '../../lib/clock.ts';

/** Input supply per board family: Bitaxe 5 V, QAxe 12 V. */
function vinOf(b: BoardProfile): number {
  return b.power?.regulator.kind === 'tps546' || b.power?.regulator.kind === 'ds4432u' ? 5 : 12;
}

export function bridgeBoardSpec(
  board: BoardProfile,
  o: { easyBits?: number; maxHashesPerSecond?: number } = {},
): BridgeBoardSpec {
  const bridge = board.bridge;
  const p = board.power;
  if (!bridge || !p)
    throw new Error(
      `${board.id}: not a USB-bridge board; \`asicd sim --board\` serves boards with a USB bridge (${'`asicd boards`'} lists them). Pi HATs need the Pi's own GPIO: use sim-${board.id.replace(/^sim-/, '')} with \`asicd demo\``,
    );
  const r = p.regulator;
  const lim = board.limits.voltageMv;
  const emc = board.i2c?.parts.find((x) => x.part === 'EMC2101');
  const tmps = (board.i2c?.parts ?? []).filter((x) => x.part !== 'EMC2101').map((x) => x.address ?? 0x48);
  const strip = (l: { line: number; activeLow: boolean } | undefined) =>
    l ? { line: l.line, activeLow: l.activeLow } : undefined;
  const enable = strip(p.enable);
  const reset = strip(p.reset);
  const pgood = strip(p.pgood);
  return {
    id: board.id,
    chip: board.chip,
    chips: board.chips,
    protocol: bridge.protocol,
    version: bridge.replyVersion ?? 0,
    regulator:
      r.kind === 'tps546' || r.kind === 'ds4432u'
        ? { kind: r.kind, address: r.address }
        : { kind: 'bridge', volts: r.mv / 1000 },
    monitor: p.monitor,
    ...(enable ? { enable } : {}),
    ...(reset ? { reset } : {}),
    ...(pgood ? { pgood } : {}),
    minVolts: (lim.min * 0.85) / 1000,
    // Over-voltage damage where the host sequences the buck (an enable line), as the in-process twins.
    ...(enable ? { maxVolts: (lim.max * 1.1) / 1000 } : {}),
    vin: vinOf(board),
    ...(emc ? { emc2101: { address: emc.address ?? 0x4c } } : {}),
    tmp1075: tmps,
    ...(o.easyBits !== undefined ? { easyBits: o.easyBits } : {}),
    ...(o.maxHashesPerSecond !== undefined ? { maxHashesPerSecond: o.maxHashesPerSecond } : {}),
  };
}

/**
 * The in-process twin of a USB-bridge board (`asicd demo --board sim-gamma-usb`, sim QAxe twins): the
 * whole emulated board with its bridge MCU, and the host side of its control port as an in-memory byte
 * link. The host runs the real bridge driver (codec, ids, timeouts, resync) over that link, exactly as
 * over a real board's control CDC port; the data port is the emulated chain itself (transparent).
 */
export function createSimBridgeTwin(
  board: BoardProfile,
  o: { clock: Clock; easyBits?: number; maxHashesPerSecond?: number } & BridgeBoardOptions,
): { board: EmulatedBridgeBoard; control: MemoryTransport } {
  const twin = new EmulatedBridgeBoard(
    bridgeBoardSpec(board, {
      ...(o.easyBits !== undefined ? { easyBits: o.easyBits } : {}),
      ...(o.maxHashesPerSecond !== undefined ? { maxHashesPerSecond: o.maxHashesPerSecond } : {}),
    }),
    o.clock,
    o.thermal ? { thermal: o.thermal } : {},
  );
  const control = new MemoryTransport({
    path: `sim:${board.id}:control`,
    deliver: (chunk) => twin.controlIn(chunk),
  });
  twin.attachControl((frame) => control.receive(frame));
  return { board: twin, control };
}
