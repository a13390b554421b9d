/**
 * asicd command line. Each subcommand lives in host/commands/<name>.ts and exports
 * `summary`, `usage` and `run(argv): Promise<number>` (the exit code). Modules load lazily so
 * `asicd --help` stays fast on a Pi.
 */
import { readFileSync } from 'node:fs';
import { redactText } from '../lib/redact.ts';
import { VERSION } from './version.ts';

export interface Command {
  summary: string;
  usage: string;
  run(argv: string[]): Promise<number>;
}

const commands: Record<string, () => Promise<Command>> = {
  boards: () => import('./commands/boards.ts'),
  demo: () => import('./commands/demo.ts'),
  doctor: () => import('./commands/doctor.ts'),
  gateway: () => import('./commands/gateway.ts'),
  run: () => import('./commands/run.ts'),
  selfcheck: () => import('./commands/selfcheck.ts'),
  sim: () => import('./commands/sim.ts'),
};

/** Registers a subcommand (used by modules that add commands, e.g. `sim`, `run`, `boards`). */
export function commandNames(): string[] {
  return Object.keys(commands).sort();
}

/**
 * A command's one-line summary without loading its module (which loads the whole stack behind it): the
 * `export const summary = '…'` line of host/commands/<name>.ts read as text. Falls back to loading the
 * module when the line is not a plain string literal. test/cli/help.test.ts checks both agree.
 */
export async function commandSummary(name: string): Promise<string> {
  return summaryFromSource(name) ?? (await commands[name]!()).summary;
}

/** The summary as text (the formatter may wrap a long one after `=`), or undefined when not a plain literal. */
export function summaryFromSource(name: string): string | undefined {
  try {
    const src = readFileSync(new URL(`./commands/${name}.ts`, import.meta.url), 'utf8');
    return /^export const summary =\s*'([^'\\]*)';$/m.exec(src)?.[1];
  } catch {
    return undefined; // not a file of that name: the caller loads the module
  }
}

async function help(): Promise<string> {
  const lines = [
    `asicd ${VERSION} — host daemon for Bitcoin ASIC boards (Stratum V1, BM13xx, thermal, MQTT)`,
    '',
    'Usage: asicd <command> [options]',
    '',
    'Commands:',
  ];
  for (const name of commandNames()) {
    lines.push(`  ${name.padEnd(10)} ${await commandSummary(name)}`);
  }
  lines.push('', 'Run `asicd <command> --help` for the options of one command.');
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(await help());
    return 0;
  }
  if (name === '--version' || name === '-v') {
    console.log(VERSION);
    return 0;
  }
  const load = commands[name];
  if (!load) {
    console.error(`asicd: unknown command "${name}". Commands: ${commandNames().join(', ')}`);
    return 2;
  }
  const cmd = await load();
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(cmd.usage);
    return 0;
  }
  try {
    return await cmd.run(rest);
  } catch (err) {
    // Last line of defence: nothing thrown reaches the terminal unredacted.
    console.error(
      `asicd ${name}: ${redactText(err instanceof Error ? (err.stack ?? err.message) : String(err))}`,
    );
    return 1;
  }
}
