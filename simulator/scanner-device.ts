import net from 'node:net';
import { ListenerSet } from '../firmware-bridge/listeners.ts';
import type { Unsubscribe } from '../firmware-bridge/ports.ts';
import { listenOn } from './listen.ts';

// The cabinet's barcode/QR scanner in software, as a serial-to-Ethernet scanner behaves: a TCP server that
// sends each scan as one line (text + terminator) to every connected reader, and ignores what readers send.

export interface ScannerDeviceOptions {
  /** Interface to listen on; default 127.0.0.1. */
  readonly host?: string;
  /** 0 picks a free port; a restart (`stop()` then `start()`) keeps the port it got. */
  readonly port: number;
  /** What ends a scan on the wire; scanners are configurable, CRLF is the common default. */
  readonly terminator?: '\r\n' | '\r' | '\n';
}

export class ScannerDeviceEmulator {
  readonly #host: string;
  readonly #terminator: string;
  #port: number;
  #server: net.Server | null = null;
  readonly #sockets = new Set<net.Socket>();
  readonly #readerWaiters = new Set<() => void>();
  readonly #readerChanges = new ListenerSet<number>();

  constructor(options: ScannerDeviceOptions) {
    this.#host = options.host ?? '127.0.0.1';
    this.#port = options.port;
    this.#terminator = options.terminator ?? '\r\n';
  }

  /** Listens; resolves with the port. */
  async start(): Promise<number> {
    if (this.#server) return this.#port;
    const server = net.createServer((socket) => this.#accept(socket));
    this.#port = await listenOn(server, this.#port, this.#host);
    this.#server = server;
    return this.#port;
  }

  /** Drops every reader and stops listening, as when the scanner loses power. */
  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = null;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
    await closed;
  }

  /** A scan: `text` and the terminator, UTF-8, to every connected reader. */
  scan(text: string): void {
    this.sendRaw(Buffer.from(text + this.#terminator, 'utf8'));
  }

  /** Bytes exactly as given, for tests: noise, a half line, a line split across packets. */
  sendRaw(bytes: Buffer): void {
    for (const socket of this.#sockets) socket.write(bytes);
  }

  /** Readers connected now. */
  get readers(): number {
    return this.#sockets.size;
  }

  get port(): number {
    return this.#port;
  }

  /** A reader connected or left; the listener gets how many are connected now. */
  onReaders(listener: (readers: number) => void): Unsubscribe {
    return this.#readerChanges.add(listener);
  }

  /** Resolves once at least `count` readers are connected; rejects after `timeoutMs`. */
  waitForReaders(count = 1, timeoutMs = 5000): Promise<void> {
    if (this.readers >= count) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.readers < count) return;
        clearTimeout(timer);
        this.#readerWaiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#readerWaiters.delete(check);
        reject(new Error(`no ${count} scanner reader(s) connected within ${timeoutMs} ms (now ${this.readers})`));
      }, timeoutMs);
      this.#readerWaiters.add(check);
    });
  }

  #accept(socket: net.Socket): void {
    socket.setNoDelay(true);
    socket.on('error', () => {}); // a reader vanishing is its business; 'close' follows
    socket.on('close', () => {
      if (this.#sockets.delete(socket)) this.#readerChanges.emit(this.#sockets.size);
    });
    socket.resume(); // a scanner ignores what it is sent
    this.#sockets.add(socket);
    this.#readerChanges.emit(this.#sockets.size);
    for (const check of [...this.#readerWaiters]) check();
  }
}
