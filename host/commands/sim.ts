/**
 * `asicd sim`: serves an emulated BM13xx chain on a pseudo-terminal so any program (the daemon, a
 * test tool, another implementation) can open the link path like a real UART. Runs until SIGINT or
 * SIGTERM, printing one ready line and periodic statistics.
 */
import { parseArgs } from 'node:util';
import { CHIP_MODELS, type EmulatedChain, modelInfo, serveOnPty } from '../../firmware/bm13xx/index.ts';
import { serveFirmataMcuOnPty } from '../../firmware/io-mcu/index.ts';
import { ThermalModel } from '../../firmware/sensors/index.ts';
import { systemClock } from '../../lib/clock.ts';
import { runBoardSim } from './sim-board.ts';

export const summary = 'serve an emulated BM13xx chain on a pseudo-terminal';
export const usage = `asicd sim --chip BM1370 --chips 4 --link /tmp/chain0 [options]
asicd sim --board ID --link PATH [board options]

With --board, serves a whole USB-bridge board (bitaxe-raw or QAxe: its control and data ports at
PATH.control and PATH.data, chips, regulator, monitor, sensors, fan) so \`asicd run --board ID
--bridge PATH\` drives it like hardware. Board options: --easy-bits N, --max-hashrate H (default 500000),
--over-current A (the load shorts once the chips draw more than A amps), --extra-load A (the core
draws A amps more, below the regulator's own trip: only a power monitor sees it), --pgood-drop,
--regulator-missing, --bridge-silent. While it runs, stdin takes the same faults as lines
(over-current A, extra-load A (0 removes it), pgood-drop, regulator-missing, regulator-back,
bridge-silent, bridge-back, unplug, replug) and \`status\`, which prints one JSON line of the board's
state.

Serves N emulated chips on a pty (via socat) at --link; open that path like /dev/ttyUSB0.
The chips really hash (double SHA-256) their slice of the nonce space.

Options:
  --chip MODEL          ${CHIP_MODELS.join(' | ')} (required)
  --chips N             chips in the chain, 1..256 (default 1)
  --link PATH           path of the pty link to create (default /tmp/asicd-chain0)
  --easy-bits N         easy mode: report hashes with N leading zero bits instead of 32 (1..32)
  --max-hashrate H      cap emulated hashing at H hashes per second for the whole chain
  --always-long-replies BM1366+: 11-byte replies even before 0xA4 enables version rolling
  --stats-every S       print statistics every S seconds (default 10, 0 = never)

Fault knobs (reproduce a link or chip fault; the same --seed replays the same faults):
  --corrupt P           probability 0..1 that a reply frame gets one byte corrupted
  --drop P              probability 0..1 that a reply frame is lost
  --nonce-errors P      probability 0..1 that a found nonce is reported wrong (a hardware error)
  --silent-chip N       chip N (0-based) never answers (absent for the host); repeatable
  --slow-chip N[:F]     chip N hashes at F × full speed (default 0.25); repeatable
  --seed N              seed for the fault-knob random numbers (default random, printed)
  --mcu-link PATH       also serve an emulated Firmata I/O board (thermistor A0, fan PWM D9, tach D2)
                        on a pty at PATH, on a thermal model heated by this chain's hashing; open it with
                        \`asicd run --firmata PATH\``;

function fail(msg: string): number {
  console.error(`asicd sim: ${msg}\n\n${usage}`);
  return 2;
}

export async function run(argv: string[]): Promise<number> {
  if (argv.includes('--board') || argv.some((a) => a.startsWith('--board='))) return runBoardSim(argv, usage);
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        chip: { type: 'string' },
        chips: { type: 'string', default: '1' },
        link: { type: 'string', default: '/tmp/asicd-chain0' },
        'easy-bits': { type: 'string' },
        'max-hashrate': { type: 'string' },
        'always-long-replies': { type: 'boolean', default: false },
        'stats-every': { type: 'string', default: '10' },
        seed: { type: 'string' },
        corrupt: { type: 'string' },
        drop: { type: 'string' },
        'nonce-errors': { type: 'string' },
        'silent-chip': { type: 'string', multiple: true },
        'slow-chip': { type: 'string', multiple: true },
        'mcu-link': { type: 'string' },
      },
      strict: true,
    }));
  } catch (e) {
    return fail((e as Error).message);
  }
  if (!values.chip) return fail('--chip is required');
  let model: string;
  try {
    model = modelInfo(String(values.chip)).model;
  } catch (e) {
    return fail((e as Error).message);
  }
  const int = (name: string, min: number, max: number): number | undefined | Error => {
    const raw = values[name];
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max)
      return new Error(`--${name} must be an integer ${min}..${max}, got "${raw}"`);
    return n;
  };
  const chips = int('chips', 1, 256);
  const easy = int('easy-bits', 1, 32);
  const statsEvery = int('stats-every', 0, 86_400);
  const seed = int('seed', 0, 2 ** 32 - 1);
  const cap = values['max-hashrate'] === undefined ? undefined : Number(values['max-hashrate']);
  for (const v of [chips, easy, statsEvery, seed]) if (v instanceof Error) return fail(v.message);
  const prob = (name: string): number | Error => {
    const raw = values[name];
    if (raw === undefined) return 0;
    const p = Number(raw);
    return Number.isFinite(p) && p >= 0 && p <= 1 && String(raw).trim() !== ''
      ? p
      : new Error(`--${name} must be a probability 0..1, got "${raw}"`);
  };
  const corrupt = prob('corrupt');
  const drop = prob('drop');
  const nonceErrors = prob('nonce-errors');
  for (const v of [corrupt, drop, nonceErrors]) if (v instanceof Error) return fail(v.message);
  const chipCount = chips as number;
  const chipArg = (raw: string, flag: string): { chip: number; factor?: number } | Error => {
    const m = /^(\d+)(?::([0-9.]+))?$/.exec(raw.trim());
    const chip = m ? Number(m[1]) : Number.NaN;
    const factor = m?.[2] === undefined ? undefined : Number(m[2]);
    if (!m || chip >= chipCount)
      return new Error(`--${flag} takes a chip index 0..${chipCount - 1}, got "${raw}"`);
    if (factor !== undefined && !(factor > 0 && factor <= 1))
      return new Error(`--${flag} speed factor must be in (0, 1], got "${m[2]}"`);
    return factor === undefined ? { chip } : { chip, factor };
  };
  const silentChips: number[] = [];
  for (const raw of (values['silent-chip'] as string[] | undefined) ?? []) {
    const a = chipArg(raw, 'silent-chip');
    if (a instanceof Error) return fail(a.message);
    silentChips.push(a.chip);
  }
  const slowChips: Array<{ chip: number; factor: number }> = [];
  for (const raw of (values['slow-chip'] as string[] | undefined) ?? []) {
    const a = chipArg(raw, 'slow-chip');
    if (a instanceof Error) return fail(a.message);
    slowChips.push({ chip: a.chip, factor: a.factor ?? 0.25 });
  }
  const seedValue = (seed as number | undefined) ?? Math.floor(Math.random() * 2 ** 32);
  if (cap !== undefined && !(cap > 0))
    return fail(`--max-hashrate must be a number > 0, got "${values['max-hashrate']}"`);

  let server: Awaited<ReturnType<typeof serveOnPty>>;
  try {
    server = await serveOnPty({
      link: String(values.link),
      model,
      chips: chips as number,
      easyBits: easy as number | undefined,
      maxHashesPerSecond: cap,
      shortRepliesUntilRolling: !values['always-long-replies'],
      seed: seedValue,
      faults: {
        corruptProbability: corrupt as number,
        dropProbability: drop as number,
        nonceErrorProbability: nonceErrors as number,
      },
    });
    for (const i of silentChips) server.chain.chips[i]!.faults.silent = true;
    for (const s of slowChips) server.chain.chips[s.chip]!.faults.speed = s.factor;
  } catch (e) {
    console.error(`asicd sim: ${(e as Error).message}`);
    return 1;
  }
  const { chain } = server;
  // Signal handlers go in before any ready line: a supervisor that stops us as soon as it reads
  // "ready" must get the orderly stop (exit 0), not the default SIGTERM death.
  const stopped = new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  let mcu: Awaited<ReturnType<typeof serveMcu>> | undefined;
  if (values['mcu-link']) {
    try {
      mcu = await serveMcu(String(values['mcu-link']), chain, chips as number);
    } catch (e) {
      await server.stop();
      console.error(`asicd sim: ${(e as Error).message}`);
      return 1;
    }
    console.log(`asicd sim: Firmata I/O board ready on ${mcu.link} (thermistor A0, fan D9, tach D2)`);
  }
  console.log(
    `asicd sim: ${chips} × ${model} ready on ${server.link} (${server.device}); ` +
      `${easy ? `easy mode ${easy} zero bits` : 'real difficulty-1 floor'}; Ctrl-C to stop`,
  );
  const faults = [
    corrupt ? `corrupt ${corrupt}` : '',
    drop ? `drop ${drop}` : '',
    nonceErrors ? `nonce errors ${nonceErrors}` : '',
    ...silentChips.map((i) => `chip ${i} silent`),
    ...slowChips.map((s) => `chip ${s.chip} at ${s.factor} × speed`),
  ].filter(Boolean);
  console.log(`asicd sim: faults: ${faults.length ? faults.join(', ') : 'none'}; seed ${seedValue}`);

  let last = { t: Date.now(), hashes: 0 };
  const timer =
    (statsEvery as number) > 0
      ? setInterval(
          () => {
            const s = chain.stats;
            const now = Date.now();
            const hps = ((s.hashes - last.hashes) / (now - last.t)) * 1000;
            last = { t: now, hashes: s.hashes };
            console.log(
              `asicd sim: ${(hps / 1e6).toFixed(2)} MH/s emulated, frames ${s.framesIn} (crc errors ${s.crcErrors}), ` +
                `jobs ${s.jobs}, nonces ${s.nonceReplies}, register replies ${s.registerReplies}, chip baud ${chain.chipBaudRate}` +
                (faults.length
                  ? `; injected: ${s.corruptedReplies} corrupted, ${s.droppedReplies} dropped, ${s.silencedReplies} silenced, ${s.nonceErrors} nonce errors`
                  : ''),
            );
          },
          (statsEvery as number) * 1000,
        )
      : undefined;

  await stopped;
  if (timer) clearInterval(timer);
  await mcu?.close();
  await server.stop();
  console.log(`asicd sim: stopped; removed ${server.link}`);
  return 0;
}

/**
 * An emulated Firmata I/O board whose thermistor reads a thermal model heated by the chain: the model
 * hashes (and heats) while the emulated chips' hash counter moves, at the chips' PLL frequency.
 */
async function serveMcu(link: string, chain: EmulatedChain, chips: number) {
  const model = new ThermalModel({ clock: systemClock, chips, hashing: false });
  let hashes = chain.stats.hashes;
  const follow = setInterval(() => {
    const now = chain.stats.hashes;
    model.setHashing(now > hashes);
    hashes = now;
    const mhz = chain.chips[0]?.frequencyMhz;
    if (mhz) model.setFrequency(mhz);
  }, 250);
  const served = await serveFirmataMcuOnPty(link, { model, clock: systemClock, fanPin: 9, tachPin: 2 });
  return {
    link,
    close: async () => {
      clearInterval(follow);
      await served.close();
    },
  };
}
