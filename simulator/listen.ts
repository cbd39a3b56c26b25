import type net from 'node:net';

/**
 * Starts `server` listening on `host:port` (0: any free port) and resolves with the port it got; rejects with
 * the listen error (a port in use, a host not ours) instead of leaving it to an unhandled 'error' event.
 */
export function listenOn(server: net.Server, port: number, host: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}
