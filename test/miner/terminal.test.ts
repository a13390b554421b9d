import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { describe, it } from 'node:test';
import { freeDemoApiPort } from '../../host/commands/demo.ts';
import { ConfigError, checkListenAddresses, loadConfig } from '../../host/config.ts';
import { Terminal } from '../../host/miner/terminal.ts';

/** A fake terminal: both streams land on one screen, like stdout and stderr on a tty. */
function screen(tty = true) {
  let text = '';
  const t = new Terminal({ out: (s) => (text += s), err: (s) => (text += s), tty });
  /** The screen as a person sees it: CR + erase-line wipes the current line. */
  const lines = () => {
    const out: string[] = [''];
    for (const part of text.split(/(\r\x1b\[2K|\n)/)) {
      if (part === '\n') out.push('');
      else if (part === '\r\x1b[2K') out[out.length - 1] = '';
      else out[out.length - 1] += part;
    }
    return out;
  };
  return { t, lines };
}

describe('Terminal: logs and the status line never interleave', () => {
  it('a log line clears the status line, is written whole, and the status is redrawn below it', () => {
    const { t, lines } = screen();
    t.status('512 GH/s  A 3  R 0  diff 0.0002');
    t.log('06:37:33.635 INFO share.accepted chain=0');
    t.log('06:37:34.001 INFO share.accepted chain=0');
    t.status('515 GH/s  A 5  R 0  diff 0.0002');
    assert.deepEqual(lines(), [
      '06:37:33.635 INFO share.accepted chain=0',
      '06:37:34.001 INFO share.accepted chain=0',
      '515 GH/s  A 5  R 0  diff 0.0002',
    ]);
    t.clearStatus();
    t.log('bye');
    assert.deepEqual(lines(), [
      '06:37:33.635 INFO share.accepted chain=0',
      '06:37:34.001 INFO share.accepted chain=0',
      'bye',
      '',
    ]);
  });

  it('off a terminal the status is a plain line and logs pass through', () => {
    const { t, lines } = screen(false);
    t.status('s1');
    t.log('l1');
    assert.deepEqual(lines(), ['s1', 'l1', '']);
  });
});

async function occupy(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const a = server.address();
  return { server, port: typeof a === 'object' && a ? a.port : 0 };
}

describe('cgminer API port in use', () => {
  it('the demo picks a free port when its default is taken, and says which', async () => {
    const { server, port } = await occupy();
    try {
      const cfg: Record<string, unknown> = { 'api.listen': `127.0.0.1:${port}` };
      const note = await freeDemoApiPort(cfg);
      assert.match(String(note), new RegExp(`127\\.0\\.0\\.1:${port} is in use, using 127\\.0\\.0\\.1:\\d+`));
      assert.match(String(note), /--api-listen/);
      assert.notEqual(cfg['api.listen'], `127.0.0.1:${port}`);
      // A free default is left alone.
      const free: Record<string, unknown> = { 'api.listen': '127.0.0.1:0' };
      assert.equal(await freeDemoApiPort(free), undefined);
    } finally {
      server.close();
    }
  });

  it('asicd run names the flag to choose another port', async () => {
    const { server, port } = await occupy();
    try {
      const cfg = loadConfig({ command: 'run', argv: ['--api-listen', `127.0.0.1:${port}`] });
      await assert.rejects(
        checkListenAddresses(cfg),
        (e: unknown) =>
          e instanceof ConfigError &&
          /port in use; choose another with --api-listen HOST:PORT, or "off"/.test(e.message),
      );
    } finally {
      server.close();
    }
  });
});
