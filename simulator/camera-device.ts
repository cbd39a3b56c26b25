import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { digestResponse, parseChallenges, readDigestChallenge } from '../firmware-bridge/camera/index.ts';
import { ListenerSet } from '../firmware-bridge/listeners.ts';
import type { Unsubscribe } from '../firmware-bridge/ports.ts';
import { stillJpeg } from './still-jpeg.ts';
import { listenOn } from './listen.ts';

// The camera over the cabinet's doors in software, as an IP camera's snapshot URL: each GET of
// `/snapshot.jpg` answers a fresh small JPEG (its COM segment names a sequence number and the time). It asks
// for no login, HTTP Basic, or HTTP Digest (RFC 7616, offering SHA-256 and MD5 as ONVIF cameras do, checked
// with the bridge's own digest computation). The person in front of it can pull its cable (`down`: every
// connection is closed at once) or hang it (`hang`: connections are taken and never answered), and change
// its login, so the controller's stops matching.

export const cameraAuthModes = ['none', 'basic', 'digest'] as const;
export type CameraAuthMode = (typeof cameraAuthModes)[number];
export const cameraFaults = ['down', 'hang'] as const;
export type CameraFault = (typeof cameraFaults)[number];

export const SNAPSHOT_PATH = '/snapshot.jpg';
const REALM = 'govlocker-camera';
/** Nonces remembered (with the last nonce count seen, so a replayed answer is refused). */
const MAX_NONCES = 256;
/** Stills kept for `served()`: what the controller was given, for tests to compare. */
const KEEP_STILLS = 100;

export interface CameraLogin {
  readonly auth: CameraAuthMode;
  readonly username: string;
  readonly password: string;
}

/** What `startSimulator` takes for the camera: its port (0 or absent: a free one) and its login. */
export interface CameraSimOptions extends Partial<CameraLogin> {
  readonly port?: number;
}

export interface CameraDeviceState {
  readonly url: string;
  readonly fault: CameraFault | null;
  readonly auth: CameraAuthMode;
  /** The login's user name; the password is never shown. */
  readonly username: string;
  /** Stills served since start. */
  readonly stills: number;
  /** Requests refused for a missing or wrong login. */
  readonly refusedLogins: number;
}

export class CameraDeviceEmulator {
  readonly #host: string;
  #port: number;
  #server: Server | null = null;
  readonly #sockets = new Set<Socket>();
  #fault: CameraFault | null = null;
  #login: CameraLogin;
  readonly #opaque = randomBytes(12).toString('base64url');
  readonly #nonces = new Map<string, number>();
  #seq = 0;
  #refused = 0;
  readonly #served: { seq: number; jpeg: Buffer }[] = [];
  readonly #changes = new ListenerSet<void>();

  constructor(options: CameraSimOptions & { host?: string } = {}) {
    this.#host = options.host ?? '127.0.0.1';
    this.#port = options.port ?? 0;
    this.#login = { auth: options.auth ?? 'digest', username: options.username ?? 'govlocker', password: options.password ?? randomBytes(12).toString('base64url') };
  }

  /** Listens; resolves with the port. */
  async start(): Promise<number> {
    if (this.#server) return this.#port;
    const server = createServer((request, response) => this.#answer(request, response));
    server.on('connection', (socket) => {
      if (this.#fault === 'down') {
        socket.destroy();
        return;
      }
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
    this.#port = await listenOn(server, this.#port, this.#host);
    this.#server = server;
    return this.#port;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    for (const socket of this.#sockets) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** The snapshot URL a controller is configured with. */
  get url(): string {
    return `http://${this.#host}:${this.#port}${SNAPSHOT_PATH}`;
  }

  get state(): CameraDeviceState {
    return { url: this.url, fault: this.#fault, auth: this.#login.auth, username: this.#login.username, stills: this.#seq, refusedLogins: this.#refused };
  }

  /** The login a controller needs (the simulator hands it to the demo's config). */
  get login(): CameraLogin {
    return this.#login;
  }

  /** The stills served, oldest first (the last 100). */
  served(): readonly Buffer[] {
    return this.#served.map((s) => s.jpeg);
  }

  /** `down`: the cable pulled (connections closed at once); `hang`: it takes connections and never answers. */
  setFault(fault: CameraFault | null): void {
    this.#fault = fault;
    // Kept-alive connections go too: a camera whose cable is pulled answers nothing on any of them.
    if (fault !== null) for (const socket of this.#sockets) socket.destroy();
    this.#changes.emit();
  }

  /** Another login (the camera's admin changed it): the controller's stops working until its config follows. */
  setLogin(login: Partial<CameraLogin>): void {
    this.#login = { ...this.#login, ...login };
    this.#nonces.clear();
    this.#changes.emit();
  }

  onChange(listener: () => void): Unsubscribe {
    return this.#changes.add(listener);
  }

  #answer(request: IncomingMessage, response: ServerResponse): void {
    if (this.#fault === 'hang') return; // taken, never answered (the socket goes at stop or when the fault changes)
    if (request.method !== 'GET' && request.method !== 'HEAD') return void response.writeHead(405, { allow: 'GET' }).end();
    if (new URL(request.url ?? '/', 'http://camera').pathname !== SNAPSHOT_PATH) return void response.writeHead(404, { 'content-type': 'text/plain' }).end(`no such path: the snapshot is ${SNAPSHOT_PATH}\n`);
    if (!this.#signedIn(request)) {
      this.#refused += 1;
      response.writeHead(401, { 'www-authenticate': this.#challenges(), 'content-type': 'text/plain' }).end('401 Unauthorized\n');
      this.#changes.emit();
      return;
    }
    this.#seq += 1;
    const jpeg = stillJpeg(`govlocker simulated camera still #${this.#seq} ${new Date().toISOString()}`, 8 + (this.#seq % 8));
    this.#served.push({ seq: this.#seq, jpeg });
    if (this.#served.length > KEEP_STILLS) this.#served.shift();
    response.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': jpeg.length, 'cache-control': 'no-store' }).end(request.method === 'HEAD' ? undefined : jpeg);
    this.#changes.emit();
  }

  #challenges(): string[] {
    if (this.#login.auth === 'basic') return [`Basic realm="${REALM}", charset="UTF-8"`];
    const nonce = randomBytes(16).toString('base64url');
    this.#nonces.set(nonce, 0);
    if (this.#nonces.size > MAX_NONCES) this.#nonces.delete(this.#nonces.keys().next().value!);
    return ['SHA-256', 'MD5'].map((algorithm) => `Digest realm="${REALM}", qop="auth", algorithm=${algorithm}, nonce="${nonce}", opaque="${this.#opaque}"`);
  }

  #signedIn(request: IncomingMessage): boolean {
    const { auth, username, password } = this.#login;
    if (auth === 'none') return true;
    const header = request.headers.authorization ?? '';
    if (auth === 'basic') {
      if (!header.startsWith('Basic ')) return false;
      return sameText(Buffer.from(header.slice(6), 'base64').toString('utf8'), `${username}:${password}`);
    }
    const [answer] = parseChallenges(header);
    if (answer?.scheme !== 'digest') return false;
    const p = answer.params;
    const seen = p.nonce === undefined ? undefined : this.#nonces.get(p.nonce);
    const nc = Number.parseInt(p.nc ?? '', 16);
    if (seen === undefined || p.username !== username || p.realm !== REALM || p.opaque !== this.#opaque || p.uri !== request.url || p.qop !== 'auth' || !(nc > seen)) return false;
    const challenge = readDigestChallenge({ scheme: 'digest', params: { realm: REALM, nonce: p.nonce!, qop: 'auth', algorithm: p.algorithm ?? 'MD5' } });
    if ('unsupported' in challenge) return false;
    const expected = digestResponse(challenge, { username, password, method: request.method ?? 'GET', uri: request.url ?? '', nc, cnonce: p.cnonce ?? '' }).response;
    if (!sameText(p.response ?? '', expected)) return false;
    this.#nonces.set(p.nonce!, nc);
    return true;
  }
}

const sameText = (a: string, b: string): boolean => {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
};
