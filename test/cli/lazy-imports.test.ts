/**
 * What `asicd run` loads at start (issue 15, idle memory): the static import graph from bin/asicd.js
 * through host/commands/run.ts must not reach the parts a plain miner does not use until configured —
 * the HTTP stack (Fastify), serialport's native addon (only UART boards and pty emulators), the
 * gateway (only with --node-rpc), the MQTT and Prometheus clients, the broker, Node-RED, ethash. Those
 * load with `await import()` where they are needed. The graph is read from the sources (static
 * `import`/`export … from`, not `import type`, not dynamic `import()`), so the test is the same on
 * every Node version.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const STATIC =
  /^(?:import|export)\s+(?!type\s)([^;]*?)\s*from\s*['"]([^'"]+)['"]|^import\s+['"]([^'"]+)['"]/gm;

/** Files (repo-relative), packages and Node built-ins reachable from `entry` by static imports. */
function graph(entry: string): { files: Set<string>; packages: Set<string>; builtins: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const builtins = new Set<string>();
  const todo = [resolve(ROOT, entry)];
  while (todo.length) {
    const f = todo.pop()!;
    const rel = relative(ROOT, f);
    if (files.has(rel)) continue;
    files.add(rel);
    const src = readFileSync(f, 'utf8');
    for (const m of src.matchAll(STATIC)) {
      const spec = m[2] ?? m[3]!;
      if (spec.startsWith('node:')) {
        builtins.add(spec);
        continue;
      }
      if (spec.startsWith('.')) {
        const target = resolve(dirname(f), spec);
        if (existsSync(target)) todo.push(target);
        else assert.fail(`${rel}: import ${spec} not found`);
      } else {
        const parts = spec.split('/');
        packages.add(spec.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!);
      }
    }
  }
  return { files, packages, builtins };
}

describe('lazy imports of `asicd run`', () => {
  const run = graph('host/commands/run.ts');

  it('the walker sees what it should (so the absences below mean something)', () => {
    assert.ok(run.files.has('host/miner/daemon.ts'));
    assert.ok(run.files.has('host/stratum/client.ts'));
    assert.ok(graph('host/http/server.ts').packages.has('fastify'));
    assert.ok(graph('drivers/transport/uart.ts').packages.has('serialport'));
    assert.ok(graph('host/gateway/gateway.ts').files.has('host/gateway/rpc.ts'));
    assert.ok(graph('host/power/board-io.ts').files.has('host/power/controller.ts'));
    assert.ok(graph('firmware/pty-pair.ts').builtins.has('node:child_process'));
    assert.ok(run.builtins.has('node:net'));
  });

  it('does not load the HTTP stack, serialport, the gateway or the telemetry clients at start', () => {
    for (const pkg of [
      'fastify',
      '@fastify/cors',
      '@fastify/swagger',
      'serialport',
      'mqtt',
      'aedes',
      'prom-client',
      'node-red',
      'yaml',
      '@noble/curves',
      '@noble/ciphers',
    ])
      assert.ok(!run.packages.has(pkg), `asicd run loads ${pkg} at start`);
    for (const file of [
      'host/http/server.ts',
      'drivers/transport/uart.ts',
      'host/gateway/gateway.ts',
      'host/p2p/peer.ts',
      'host/work/kernel/sha256d-wat.ts',
      'host/stratum-v2/client.ts',
    ])
      assert.ok(!run.files.has(file), `asicd run loads ${file} at start`);
    assert.ok(![...run.files].some((f) => f.includes('ethash')), 'asicd run loads ethash at start');
  });

  it('loads no board part driver and no emulator before it knows the board', () => {
    // A board's I/O (GPIO chardev, PWM, USB bridges, SPI/I2C buses) and the emulators (sim-* boards
    // only) load when openBoardHardware finds the board needs them: a real board's daemon holds no
    // emulator, a simulated one no bridge or GPIO driver.
    for (const file of [
      'host/power/board-io.ts',
      'host/power/sim.ts',
      'host/thermal/sim.ts',
      'drivers/gpio/chardev.ts',
      'drivers/pwm/sysfs.ts',
      'drivers/transport/i2c.ts',
      'drivers/transport/spi.ts',
      'drivers/transport/sc16is7xx.ts',
    ])
      assert.ok(!run.files.has(file), `asicd run loads ${file} at start`);
    const early = [...run.files].filter((f) => f.startsWith('firmware/') || f.startsWith('drivers/bridge/'));
    assert.deepEqual(early, [], `asicd run loads ${early.join(', ')} at start`);
    assert.ok(!run.builtins.has('node:child_process'), 'asicd run loads node:child_process at start');
  });

  it('board I/O loads a part driver only where the board has that part', () => {
    const io = graph('host/power/board-io.ts');
    const drivers = [...io.files].filter(
      (f) => f.startsWith('drivers/bridge/') || f.startsWith('drivers/gpio/') || f.startsWith('drivers/pwm/'),
    );
    assert.deepEqual(drivers, []);
    assert.ok(!graph('firmware/bm13xx/sim-board.ts').files.has('firmware/bm13xx/pty.ts'));
  });

  it('host/cli.ts (what bin/asicd.js loads) loads no command module before it knows the command', () => {
    const bin = graph('host/cli.ts');
    assert.ok(![...bin.files].some((f) => f.startsWith('host/commands/')), [...bin.files].join(' '));
  });
});
