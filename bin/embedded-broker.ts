import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { Aedes, type AedesOptions, type Client } from 'aedes';
import type { Logger } from 'pino';
import { cabinetsOfClientId, grantsOf, mayPublish, mayRead, maySubscribe, type Grants } from './broker-acl.ts';

export interface EmbeddedBroker {
  readonly port: number;
  /** `mqtt://host:port`, without credentials. */
  readonly url: string;
  stop(): Promise<void>;
}

export interface EmbeddedBrokerOptions {
  /** Port 1883 by default; taken: the next free one. 0 picks a free port. */
  readonly port?: number;
  readonly host?: string;
  /**
   * Account name → password. A name without a dot is a cabinet (its id); the services are `ops.central`,
   * `ops.sms-gateway` and `ops.fleet-monitor` (bin/broker-acl.ts). Nobody else gets in.
   */
  readonly accounts: ReadonlyMap<string, string>;
  /** Told of every refusal (account, client id, topic; never a password). */
  readonly logger?: Logger;
}

const digest = (s: string | Buffer): Buffer => createHash('sha256').update(s).digest();

/** MQTT 3.1.1 CONNACK codes: 2 identifier rejected, 4 bad user name or password, 5 not authorized. */
const refusal = (returnCode: 2 | 4 | 5, message: string) => Object.assign(new Error(message), { returnCode });

/**
 * The in-process MQTT broker `npm start` uses when MQTT_URL is unset (a demo stand-in for central ops'
 * Mosquitto). It has the same shape as deploy/mosquitto: no anonymous clients, a password per account, the
 * per-cabinet ACL, and a cabinet's client ids (its session and last will) for the cabinet's own account only.
 */
export async function startEmbeddedBroker(options: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const preferredPort = options.port ?? 1883;
  const host = options.host ?? '127.0.0.1';
  const passwords = new Map([...options.accounts].map(([name, password]) => [name, digest(password)]));
  const grants = new WeakMap<Client, { account: string; grants: Grants }>();
  const log = options.logger;

  const handlers: AedesOptions = {
    // Runs before aedes registers the client, i.e. before it would disconnect an older client with the same id:
    // a refused CONNECT takes over nothing.
    authenticate(client, username, password, done) {
      if (username === undefined || password === undefined) {
        log?.warn({ clientId: client.id }, 'MQTT connect refused: no user name or password');
        return done(refusal(5, 'anonymous clients are not allowed'), false);
      }
      const expected = passwords.get(username);
      // Both sides hashed: equal length for timingSafeEqual, and the time says nothing about the password.
      if (!expected || !timingSafeEqual(expected, digest(password))) {
        log?.warn({ account: username, clientId: client.id }, 'MQTT connect refused: unknown account or wrong password');
        return done(refusal(4, 'bad user name or password'), false);
      }
      const owner = cabinetsOfClientId(client.id).find((id) => id !== username && passwords.has(id));
      if (owner) {
        log?.warn({ account: username, clientId: client.id }, `MQTT connect refused: that client id belongs to cabinet ${owner}`);
        return done(refusal(2, `client id ${client.id} belongs to cabinet ${owner}`), false);
      }
      grants.set(client, { account: username, grants: grantsOf(username) });
      done(null, true);
    },
    // Also the last will, when it is due: a will someone set on another cabinet's status is never published.
    authorizePublish(client, packet, done) {
      const who = client ? grants.get(client) : undefined;
      if (who && mayPublish(who.grants, packet.topic, packet.retain)) return done(null);
      log?.warn({ account: who?.account, clientId: client?.id, topic: packet.topic, retain: packet.retain }, 'MQTT publish refused');
      // MQTT 3.1.1 has no negative PUBACK: aedes closes the connection (MQTT-3.3.5-2), and nothing is delivered.
      done(new Error(`${who?.account ?? 'nobody'} may not publish ${packet.retain ? 'a retained message ' : ''}to ${packet.topic}`));
    },
    authorizeSubscribe(client, subscription, done) {
      const who = grants.get(client);
      if (who && maySubscribe(who.grants, subscription.topic)) return done(null, subscription);
      log?.warn({ account: who?.account, clientId: client.id, topic: subscription.topic }, 'MQTT subscribe refused');
      done(null, null); // SUBACK 0x80 for this filter
    },
    // Every delivery (retained ones included) is checked again: a wide subscription gets only what the account may read.
    authorizeForward(client, packet) {
      const who = grants.get(client);
      return who && mayRead(who.grants, packet.topic) ? packet : null;
    },
  };
  const broker = await Aedes.createBroker(handlers);
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket: Socket) => {
    socket.setNoDelay(true); // QoS-1 round trips otherwise wait on Nagle and delayed ACKs
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
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
      // A socket still open (a client mid-CONNECT) would keep server.close() waiting.
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
