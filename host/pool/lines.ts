/**
 * The connection side both embedded pools share (Bitcoin host/pool/server.ts, Ethereum
 * host/pool-eth/server.ts): an accepted socket becomes a stream of LF-terminated lines. Nagle off,
 * socket errors swallowed (the 'close' that follows is what ends a connection), and a line over
 * 64 KiB drops the connection after `onOverflow` (the server decides whether to count it).
 */
import type { Socket } from 'node:net';
import { LineDecoder, LineTooLongError } from '../stratum/messages.ts';

export interface LineHandlers {
  /** One complete line (CR dropped, blank lines skipped), in arrival order. */
  onLine(line: string): void;
  /** The connection closed (by either side). */
  onClose(): void;
  /** A line was longer than the decoder allows; the socket is destroyed right after. */
  onOverflow?(): void;
}

export function serveLines(socket: Socket, h: LineHandlers): void {
  const decoder = new LineDecoder();
  socket.setNoDelay(true);
  socket.on('error', () => {});
  socket.on('close', () => h.onClose());
  socket.on('data', (chunk: Buffer) => {
    let lines: string[];
    try {
      lines = decoder.push(chunk);
    } catch (e) {
      if (e instanceof LineTooLongError) {
        h.onOverflow?.();
        socket.destroy();
        return;
      }
      throw e;
    }
    for (const line of lines) h.onLine(line);
  });
}
