import { createServer, type Server, type Socket } from 'node:net';
import { Aedes } from 'aedes';

export interface EmbeddedBroker {
  readonly port: number;
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * The in-process MQTT broker `npm start` uses when MQTT_URL is unset (a demo stand-in for central ops'
 * broker; production cabinets connect to Mosquitto or the like). Port 1883, or the next free one.
 */
export async function startEmbeddedBroker(preferredPort = 1883, host = '127.0.0.1'): Promise<EmbeddedBroker> {
  const broker = await Aedes.createBroker();
  const server: Server = createServer((socket: Socket) => {
    socket.setNoDelay(true); // QoS-1 round trips otherwise wait on Nagle and delayed ACKs
    broker.handle(socket);
  });
  let port = preferredPort;
  for (let tries = 0; ; tries++) {
    const ok = await new Promise<boolean>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) => (error.code === 'EADDRINUSE' && tries < 20 ? resolve(false) : reject(error)));
      server.listen(port, host, () => resolve(true));
    });
    if (ok) break;
    port = preferredPort === 0 ? 0 : port + 1;
  }
  const address = server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  return {
    port: bound,
    url: `mqtt://${host}:${bound}`,
    async stop() {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
