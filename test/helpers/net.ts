import { createServer } from 'node:net';

/** A free TCP port on 127.0.0.1 (bind to 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      if (addr && typeof addr === 'object') {
        const { port } = addr;
        srv.close(() => resolve(port));
      } else reject(new Error('no port'));
    });
  });
}

/**
 * Polls `cond` every `everyMs` until it holds or `timeoutMs` passes (then rejects naming `what`). Pass
 * `what` as a function when it quotes output: it is read when the wait fails, not when it starts.
 */
export async function waitFor(
  cond: () => boolean,
  what: string | (() => string),
  timeoutMs = 10_000,
  everyMs = 10,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${typeof what === 'function' ? what() : what}`,
      );
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
