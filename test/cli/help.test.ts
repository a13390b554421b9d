/**
 * `asicd --help` lists each command's summary without loading the command's module (read as text from
 * host/commands/<name>.ts): the text must be what the module exports, for every command.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { commandNames, commandSummary, main, summaryFromSource } from '../../host/cli.ts';

describe('asicd --help', () => {
  it('reads the same summary as each command module exports', async () => {
    const names = commandNames();
    assert.ok(names.length >= 5);
    for (const name of names) {
      const mod = (await import(`../../host/commands/${name}.ts`)) as { summary: string };
      assert.equal(await commandSummary(name), mod.summary, name);
      // Read as text, so --help loads no command module (the gateway's would load its whole stack).
      assert.equal(summaryFromSource(name), mod.summary, `${name}: summary is not a plain string literal`);
    }
  });

  it('prints every command with its summary', async () => {
    const out: string[] = [];
    const log = console.log;
    console.log = (s: string) => out.push(s);
    try {
      assert.equal(await main(['--help']), 0);
    } finally {
      console.log = log;
    }
    const text = `${out.join('\n')}\n`;
    for (const name of commandNames())
      assert.ok(text.includes(`\n  ${name.padEnd(10)} ${await commandSummary(name)}\n`), name);
  });
});
