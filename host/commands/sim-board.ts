/**
 * `asicd sim --board ID --link PATH`: a whole USB-bridge board on two ptys (PATH.control, PATH.data),
 * with fault knobs as flags and as stdin lines (see `asicd sim --help`).
 */
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { findBoard } from '../../boards/index.ts';
import { EmulatedBridgeBoard } from '../../firmware/bridge/board.ts';
import { BridgeBoardPtys } from '../../firmware/bridge/ptys.ts';
import { systemClock } from '../../lib/clock.ts';
import { bridgeBoardSpec } from '../power/bridge-sim.ts';

export async function runBoardSim(argv: string[], usage: string): Promise<number> {
  const fail = (msg: string) => {
    console.error(`asicd sim: ${msg}\n\n${usage}`);
    return 2;
  };
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        board: { type: 'string' },
        link: { type: 'string', default: '/tmp/asicd-board' },
        'easy-bits': { type: 'string', default: '16' },
        'max-hashrate': { type: 'string' },
        'over-current': { type: 'string' },
        'extra-load': { type: 'string' },
        'pgood-drop': { type: 'boolean', default: false },
        'regulator-missing': { type: 'boolean', default: false },
        'bridge-silent': { type: 'boolean', default: false },
      },
      strict: true,
    }));
  } catch (e) {
    return fail((e as Error).message);
  }
  const board = findBoard(String(values.board));
  if (!board) return fail(`--board: unknown board "${values.board}" (see \`asicd boards\`)`);
  const easy = Number(values['easy-bits']);
  if (!Number.isInteger(easy) || easy < 1 || easy > 32) return fail('--easy-bits must be an integer 1..32');
  // Capped by default: an uncapped emulator takes a whole core and starves the daemon next to it.
  const cap = values['max-hashrate'] === undefined ? 500_000 : Number(values['max-hashrate']);
  if (cap !== undefined && !(cap > 0)) return fail('--max-hashrate must be a number > 0');
  const amps = (raw: string | undefined): number | Error | undefined => {
    if (raw === undefined) return undefined;
    const a = Number(raw);
    return Number.isFinite(a) && a > 0 ? a : new Error(`over-current: a current in A > 0, got "${raw}"`);
  };
  const oc = amps(values['over-current'] as string | undefined);
  if (oc instanceof Error) return fail(oc.message);
  /** Extra core load in A: 0..100 (0 removes it). */
  const load = (raw: string | undefined): number | Error | undefined => {
    if (raw === undefined) return undefined;
    const a = Number(raw);
    return raw.trim() !== '' && Number.isFinite(a) && a >= 0 && a <= 100
      ? a
      : new Error(`extra-load: a current in A from 0 to 100, got "${raw}"`);
  };
  const extra = load(values['extra-load'] as string | undefined);
  if (extra instanceof Error) return fail(extra.message);
  let spec: ReturnType<typeof bridgeBoardSpec>;
  try {
    spec = bridgeBoardSpec(board, { easyBits: easy, ...(cap ? { maxHashesPerSecond: cap } : {}) });
  } catch (e) {
    return fail((e as Error).message);
  }
  const emu = new EmulatedBridgeBoard(spec, systemClock);
  emu.applyFaults({
    ...(oc !== undefined ? { overCurrentAtA: oc } : {}),
    ...(extra !== undefined ? { extraLoadA: extra } : {}),
    pgoodDrop: Boolean(values['pgood-drop']),
    regulatorMissing: Boolean(values['regulator-missing']),
    bridgeSilent: Boolean(values['bridge-silent']),
  });
  const ptys = new BridgeBoardPtys(emu, String(values.link));
  const stopped = new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  try {
    await ptys.plug();
  } catch (e) {
    emu.close();
    console.error(`asicd sim: ${(e as Error).message}`);
    return 1;
  }
  const say = (m: string) => console.log(`asicd sim: ${m}`);
  say(
    `${board.name} (${spec.chips} × ${spec.chip}, ${spec.protocol} bridge) ready: control ${ptys.controlPath}, data ${ptys.dataPath}; easy mode ${easy} zero bits; Ctrl-C to stop`,
  );
  const faults = [
    oc !== undefined ? `over-current at ${oc} A` : '',
    extra ? `extra load ${extra} A` : '',
    values['pgood-drop'] ? 'PGOOD dropped' : '',
    values['regulator-missing'] ? 'regulator missing' : '',
    values['bridge-silent'] ? 'bridge silent' : '',
  ].filter(Boolean);
  say(`faults: ${faults.join(', ') || 'none'}`);
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    const [cmd, arg] = line.trim().split(/\s+/);
    void (async () => {
      switch (cmd) {
        case 'status':
          return say(`status ${JSON.stringify({ plugged: ptys.plugged, ...emu.status() })}`);
        case 'over-current': {
          const a = amps(arg);
          if (a instanceof Error || a === undefined)
            return say(`error: ${a ?? 'over-current needs a current'}`);
          emu.applyFaults({ overCurrentAtA: a });
          return say(`fault armed: over-current at ${a} A`);
        }
        case 'extra-load': {
          const a = load(arg);
          if (a instanceof Error || a === undefined)
            return say(`error: ${a ?? 'extra-load needs a current'}`);
          emu.applyFaults({ extraLoadA: a });
          return say(`fault: extra load ${a} A`);
        }
        case 'pgood-drop':
          emu.applyFaults({ pgoodDrop: true });
          return say('fault: PGOOD dropped');
        case 'regulator-missing':
        case 'regulator-back':
          emu.applyFaults({ regulatorMissing: cmd === 'regulator-missing' });
          return say(`fault: ${cmd}`);
        case 'bridge-silent':
        case 'bridge-back':
          emu.applyFaults({ bridgeSilent: cmd === 'bridge-silent' });
          return say(`fault: ${cmd}`);
        case 'unplug':
          await ptys.unplug();
          return say('unplugged: control and data ports removed');
        case 'replug':
          await ptys.plug();
          return say(`replugged: control ${ptys.controlPath}, data ${ptys.dataPath}`);
        case undefined:
        case '':
          return;
        default:
          return say(`error: unknown command "${cmd}"`);
      }
    })().catch((e) => say(`error: ${(e as Error).message}`));
  });
  await stopped;
  rl.close();
  await ptys.stop();
  say(`stopped; removed ${ptys.controlPath} and ${ptys.dataPath}`);
  return 0;
}
