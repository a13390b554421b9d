/**
 * A real libzmq publisher for tests: Debian's python3-zmq (pyzmq on libzmq, installed by
 * `npm run system-deps`) binds a PUB socket on 127.0.0.1 and publishes what the test writes to it,
 * as Bitcoin Core does: [topic, 32-byte body, uint32 LE sequence].
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { waitFor } from './net.ts';

const SCRIPT = `
import sys, struct, zmq
ctx = zmq.Context()
pub = ctx.socket(zmq.PUB)
port = int(sys.argv[1])
if port: pub.bind('tcp://127.0.0.1:%d' % port)
else: port = pub.bind_to_random_port('tcp://127.0.0.1')
print('port %d libzmq %s' % (port, zmq.zmq_version()), flush=True)
for line in sys.stdin:
    p = line.split()
    if not p: continue
    if p[0] == 'quit': break
    pub.send_multipart([p[0].encode(), bytes.fromhex(p[1]), struct.pack('<I', int(p[2]))])
    print('sent', flush=True)
pub.close(linger=0)
ctx.term()
`;

/** A python3 that has the zmq module (Debian's first: a pyenv python on PATH may lack it). */
export function pythonWithZmq(): string {
  for (const py of ['/usr/bin/python3', 'python3']) {
    const r = spawnSync(py, ['-c', 'import zmq'], { stdio: 'ignore' });
    if (r.status === 0) return py;
  }
  throw new Error('no python3 with the zmq module (python3-zmq): run `npm run system-deps`');
}

export class ZmqPublisher {
  port = 0;
  libzmq = '';
  private proc: ChildProcess | undefined;
  private out = '';
  private sent = 0;

  async start(port = 0): Promise<void> {
    const proc = spawn(pythonWithZmq(), ['-c', SCRIPT, String(port)], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc = proc;
    proc.stdout!.on('data', (d) => {
      this.out += String(d);
    });
    proc.stderr!.on('data', (d) => {
      this.out += String(d);
    });
    await waitFor(() => /port \d+/.test(this.out), `python PUB socket bound (${this.out})`, 20_000);
    const m = /port (\d+) libzmq (\S+)/.exec(this.out)!;
    this.port = Number(m[1]);
    this.libzmq = m[2]!;
  }

  get endpoint(): string {
    return `tcp://127.0.0.1:${this.port}`;
  }

  /** Publishes one message and waits until libzmq took it. */
  async publish(topic: string, bodyHex: string, sequence: number): Promise<void> {
    const before = this.sent++;
    this.proc!.stdin!.write(`${topic} ${bodyHex} ${sequence}\n`);
    await waitFor(() => (this.out.match(/sent/g) ?? []).length > before, 'published', 20_000);
  }

  async stop(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.stdin!.end('quit\n');
    const t = setTimeout(() => p.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  }
}
