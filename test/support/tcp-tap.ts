import net from 'node:net';

// A length of cable between a driver and a board reached over TCP: every connection the driver opens to the
// tap is joined to one of its own to the board, the host's bytes can be heard on the way, and the cable can be
// cut as a dying host cuts it (the board sees its host go; whatever the host writes afterwards goes nowhere, and
// the host can never reach the board through this tap again).

/** Hears one connection's bytes from the host, in order. */
export type HostBytes = (chunk: Buffer) => void;

export interface TcpTapOptions {
  readonly host?: string;
  readonly port: number;
  /** Called once per connection the host opens; the listener it returns hears that connection's bytes. */
  readonly onConnection?: () => HostBytes;
}

export class TcpTap {
  readonly #server: net.Server;
  readonly #pairs = new Set<{ host: net.Socket; board: net.Socket }>();
  #cut = false;

  private constructor(server: net.Server) {
    this.#server = server;
  }

  static async open(options: TcpTapOptions): Promise<TcpTap> {
    const server = net.createServer();
    const tap = new TcpTap(server);
    server.on('connection', (socket) => tap.#join(socket, options));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return tap;
  }

  get port(): number {
    return (this.#server.address() as net.AddressInfo).port;
  }

  /** Connections joined right now. */
  get connections(): number {
    return this.#pairs.size;
  }

  /**
   * The host dies: the board's side of every connection is closed as the kernel closes a dead process's
   * sockets, the host's side is dropped, and new connections are refused from now on.
   */
  cut(): void {
    this.#cut = true;
    this.#server.close();
    for (const pair of this.#pairs) {
      pair.board.destroy();
      pair.host.destroy();
    }
    this.#pairs.clear();
  }

  /** Closes every connection and the listener. */
  async close(): Promise<void> {
    const closed = this.#cut ? Promise.resolve() : new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.cut();
    await closed;
  }

  #join(host: net.Socket, options: TcpTapOptions): void {
    if (this.#cut) return void host.destroy();
    host.setNoDelay(true);
    const board = net.createConnection({ host: options.host ?? '127.0.0.1', port: options.port });
    board.setNoDelay(true);
    const pair = { host, board };
    this.#pairs.add(pair);
    const hear = options.onConnection?.();
    host.on('data', (chunk: Buffer) => {
      if (this.#cut) return;
      hear?.(chunk);
      board.write(chunk); // queued by the socket until it is connected
    });
    board.on('data', (chunk: Buffer) => {
      if (!host.destroyed) host.write(chunk);
    });
    // Either end going closes the other, as one cable would.
    const end = (): void => {
      this.#pairs.delete(pair);
      host.destroy();
      board.destroy();
    };
    host.on('close', end);
    board.on('close', end);
    host.on('error', () => {});
    board.on('error', () => {});
  }
}
