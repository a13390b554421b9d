/**
 * Starts a real mosquitto broker for tests: generated config (one listener on 127.0.0.1:<free port>,
 * anonymous, no persistence), waits until it accepts TCP connections, and stops it. kill() and
 * restart() simulate a broker outage on the same port.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './net.ts';

export interface Mosquitto {
  url: string;
  port: number;
  /** SIGKILL: the broker vanishes without closing connections politely. */
  kill(): Promise<void>;
  /** Starts it again on the same port (after kill()). */
  restart(): Promise<void>;
  stop(): Promise<void>;
  /** Broker log lines (stderr), for debugging failed tests. */
  log(): string;
}

export function mosquittoPath(): string {
  for (const p of ['/usr/sbin/mosquitto', '/usr/local/sbin/mosquitto', '/usr/bin/mosquitto']) {
    if (existsSync(p)) return p;
  }
  return 'mosquitto';
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

export interface MosquittoTls {
  /** PEM files: the CA that signed the broker's certificate, the certificate and its key. */
  cafile: string;
  certfile: string;
  keyfile: string;
}

/** Starts a broker; with `tls` its one listener speaks TLS only (url mqtts://127.0.0.1:<port>). */
export async function startMosquitto(o: { tls?: MosquittoTls } = {}): Promise<Mosquitto> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'asicd-mosq-'));
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      ...(o.tls ? [`cafile ${o.tls.cafile}`, `certfile ${o.tls.certfile}`, `keyfile ${o.tls.keyfile}`] : []),
      'allow_anonymous true',
      'persistence false',
      'log_dest stderr',
      'log_type error',
      'log_type warning',
      'max_queued_messages 1000',
      'set_tcp_nodelay true',
      '',
    ].join('\n'),
  );
  let proc: ChildProcess | undefined;
  let logText = '';
  const launch = async () => {
    const p = spawn(mosquittoPath(), ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    proc = p;
    p.stderr!.on('data', (d: Buffer) => {
      logText += d.toString();
    });
    let exited = false;
    p.once('exit', () => {
      exited = true;
    });
    const end = Date.now() + 10_000;
    while (!(await canConnect(port))) {
      if (exited) throw new Error(`mosquitto exited at start: ${logText}`);
      if (Date.now() > end) throw new Error(`mosquitto did not listen on ${port}: ${logText}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const terminate = async (signal: NodeJS.Signals) => {
    const p = proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill(signal);
    });
    proc = undefined;
  };
  await launch();
  return {
    url: `${o.tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${port}`,
    port,
    kill: () => terminate('SIGKILL'),
    restart: launch,
    async stop() {
      await terminate('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
    log: () => logText,
  };
}
