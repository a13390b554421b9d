/**
 * An embedded MQTT 3.1.1 broker (aedes) for the demo when no --mqtt is given: listens on 127.0.0.1
 * (port 0 = any free port) and returns the URL to give the publisher and to print for `mosquitto_sub`.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { Aedes } from 'aedes';

export interface EmbeddedBroker {
  url: string;
  host: string;
  port: number;
  stop(): Promise<void>;
}

export async function startEmbeddedBroker(
  opts: { host?: string; port?: number } = {},
): Promise<EmbeddedBroker> {
  const host = opts.host ?? '127.0.0.1';
  const broker = await Aedes.createBroker();
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    broker.handle(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  if (!addr || typeof addr !== 'object') throw new Error('embedded broker: no address');
  const port = addr.port;
  let stopped = false;
  return {
    url: `mqtt://${host}:${port}`,
    host,
    port,
    async stop() {
      if (stopped) return;
      stopped = true;
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
