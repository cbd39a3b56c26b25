import type { Duplex } from 'node:stream';
import firmataIo from 'firmata-io';
import five from 'johnny-five';
import type { TransportConfig } from '../transport.ts';
import { finishWrites, openTransport } from '../open-transport.ts';
import type { LinkLossCause } from '../ports.ts';

// One connection to a Firmata board: the transport (TCP socket or serial port), firmata-io on it, and a
// johnny-five Board around that, up to `ready`. A link is never reused: when it closes, the driver builds a
// new one. Everything johnny-five keeps per board (its board cache, pin normalisers, timers) is undone here.

type Firmata = InstanceType<typeof firmataIo.Firmata>;

/** The parts of johnny-five's Board we rely on that @types/johnny-five does not describe. */
export interface J5Board {
  readonly io: Firmata;
  isReady: boolean;
  timer: NodeJS.Timeout | null;
  on(event: 'ready', listener: () => void): this;
  on(event: 'error', listener: (error: Error) => void): this;
  once(event: 'ready', listener: () => void): this;
  removeAllListeners(): this;
}

interface J5BoardStatics {
  new (options: { io: Firmata; repl: false; debug: false; sigint: false; timeout: number; id?: string }): J5Board;
  readonly cache: J5Board[];
  readonly Pins: { normalize: { clear(): void } };
}

/** johnny-five's relay (its @types name `isOn`, which does not exist; `isClosed` does). */
export interface J5Relay {
  close(): void;
  open(): void;
  readonly isClosed: boolean;
}

interface J5RelayStatics {
  new (options: { pin: number; board: J5Board; type: 'NO' | 'NC' }): J5Relay;
}

const J5Board = five.Board as unknown as J5BoardStatics;
const J5Relay = five.Relay as unknown as J5RelayStatics;

const REPORT_VERSION = 0xf9;

export interface FirmataLinkOptions {
  transport: TransportConfig;
  /** Transport open + Firmata handshake (version, firmware, capabilities, analog mapping) must finish in this. */
  handshakeTimeoutMs: number;
  /** Aborting closes whatever is open and rejects. */
  signal?: AbortSignal;
}

/**
 * Told once when the link closes. `cause` says why when the connection closed by itself (see `LinkLossCause`);
 * it is `null` when this side closed it (`close()`).
 */
export type LinkCloseListener = (reason: string, cause: LinkLossCause | null) => void;

export class FirmataLink {
  #closed = false;
  #closeReason = '';
  #closeCause: LinkLossCause | null = null;
  /** This side is closing the connection: whatever the board does meanwhile is its answer, not its doing. */
  #closing = false;
  /** What the board's side did first: an orderly close (TCP FIN, 'end') or a failure ('error': RST, …). */
  #peer: { kind: 'ended' } | { kind: 'failed'; message: string } | null = null;
  readonly #closeListeners = new Set<LinkCloseListener>();
  /** performance.now() of the last byte from the board. */
  lastHeardAt = performance.now();

  private constructor(
    readonly stream: Duplex,
    readonly io: Firmata,
    readonly board: J5Board,
    readonly transportKind: TransportConfig['kind'],
  ) {
    stream.on('data', () => (this.lastHeardAt = performance.now()));
    stream.on('end', () => (this.#peer ??= { kind: 'ended' }));
    stream.on('error', (error: Error) => (this.#peer ??= { kind: 'failed', message: error.message }));
    stream.on('close', () => this.#closedByItself());
    if (stream.destroyed) this.#closedByItself();
  }

  /** Opens the transport and completes the Firmata handshake; rejects (leaving nothing open) if either fails. */
  static async open(options: FirmataLinkOptions): Promise<FirmataLink> {
    const deadline = performance.now() + options.handshakeTimeoutMs;
    const stream = await openTransport(options.transport, { timeoutMs: options.handshakeTimeoutMs, signal: options.signal });
    const onAbort = (): void => void stream.destroy();
    options.signal?.addEventListener('abort', onAbort);
    // Errors arrive as 'close' too; without a listener an 'error' would be thrown at the process.
    stream.on('error', () => {});
    let io: Firmata | undefined;
    let board: J5Board | undefined;
    try {
      // A Wi-Fi/Ethernet board greets only at boot, so over TCP ask for the version at once; a board on a
      // serial port resets when the port opens and greets by itself once booted (about 2 s).
      io = new firmataIo.Firmata(stream, { reportVersionTimeout: options.transport.kind === 'tcp' ? 100 : 2500 });
      io.on('error', () => {}); // firmata-io re-emits transport errors here before johnny-five listens
      board = new J5Board({ io, repl: false, debug: false, sigint: false, timeout: Math.max(1, deadline - performance.now()) });
      const ready = waitForReady(stream, board, Math.max(1, deadline - performance.now()));
      // firmata-io emits 'connect' on the transport's 'open', which a net.Socket never emits and a SerialPort
      // already has: johnny-five waits for 'connect' before it passes on 'ready', so announce it here.
      io.emit('connect');
      await ready;
      if (options.signal?.aborted) throw new Error('aborted');
      return new FirmataLink(stream, io, board, options.transport.kind);
    } catch (error) {
      release(stream, io, board);
      stream.destroy();
      throw error;
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Called once, when the connection closes for any reason (soon, if it already has). */
  onClose(listener: LinkCloseListener): () => void {
    if (this.#closed) {
      queueMicrotask(() => listener(this.#closeReason, this.#closeCause));
      return () => {};
    }
    this.#closeListeners.add(listener);
    return () => this.#closeListeners.delete(listener);
  }

  /** A johnny-five relay on an output pin, driven LOW before it is handed out. */
  relay(pin: number): J5Relay {
    // johnny-five's Relay never sets a pin mode (it relies on Firmata's power-on OUTPUT): set it explicitly.
    this.io.pinMode(pin, this.io.MODES.OUTPUT);
    const relay = new J5Relay({ pin, board: this.board, type: 'NO' });
    relay.open();
    return relay;
  }

  /** Asks the board for the level it holds on an output pin; resolves with it, or null after `timeoutMs`. */
  queryOutput(pin: number, timeoutMs: number): Promise<number | null> {
    return new Promise((resolve) => {
      const event = `pin-state-${pin}`;
      const finish = (state: number | null): void => {
        clearTimeout(timer);
        offClose();
        this.io.removeListener(event, onState);
        resolve(state);
      };
      const onState = (): void => finish(this.io.pins[pin]?.state ?? null);
      const timer = setTimeout(() => finish(null), timeoutMs);
      const offClose = this.onClose(() => finish(null));
      this.io.queryPinState(pin, onState);
    });
  }

  /** A heartbeat: the board answers REPORT_VERSION with its version, which refreshes `lastHeardAt`. */
  ping(): void {
    this.write([REPORT_VERSION]);
  }

  write(bytes: number[]): void {
    if (!this.#closed && !this.stream.destroyed && this.stream.writable) this.stream.write(Uint8Array.from(bytes));
  }

  /** Closes the connection: `graceful` lets the writes already queued (relays LOW) reach the board first. */
  async close(reason: string, { graceful = false }: { graceful?: boolean } = {}): Promise<void> {
    this.#closing = true;
    if (graceful && !this.#closed && !this.stream.destroyed) await finishWrites(this.stream, 500);
    this.#markClosed(reason, null);
    release(this.stream, this.io, this.board);
    this.stream.destroy();
  }

  /**
   * The transport closed without `close()`: tell why from what the board's side did first. Only a TCP peer's
   * orderly close (FIN) is the board's own doing; a reset, an error or a serial port that went away is a
   * connection lost.
   */
  #closedByItself(): void {
    if (this.#closing) return this.#markClosed('the connection closed', null);
    const peer = this.#peer;
    if (peer?.kind === 'ended' && this.transportKind === 'tcp') {
      return this.#markClosed('the board closed the connection (another host may have taken its only TCP slot)', 'closed-by-board');
    }
    this.#markClosed(peer?.kind === 'failed' ? `the connection failed: ${peer.message}` : 'the connection closed', 'connection-lost');
  }

  #markClosed(reason: string, cause: LinkLossCause | null): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeReason = reason;
    this.#closeCause = cause;
    for (const listener of this.#closeListeners) listener(reason, cause);
    this.#closeListeners.clear();
  }
}

function waitForReady(stream: Duplex, board: J5Board, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (error?: Error): void => {
      clearTimeout(timer);
      stream.off('close', onClose);
      if (error) reject(error);
      else resolve();
    };
    const onClose = (): void => done(new Error('the board closed the connection during the Firmata handshake'));
    const timer = setTimeout(() => done(new Error(`the board did not finish the Firmata handshake in ${Math.round(timeoutMs)} ms (is it running StandardFirmata?)`)), timeoutMs);
    stream.once('close', onClose);
    board.once('ready', () => done());
    board.on('error', (error) => done(error));
  });
}

/** Undoes what firmata-io and johnny-five keep per board, so a reconnecting driver leaks nothing. */
function release(stream: Duplex, io: Firmata | undefined, board: J5Board | undefined): void {
  if (io?.reportVersionTimeoutId) clearTimeout(io.reportVersionTimeoutId);
  if (board) {
    if (board.timer) clearTimeout(board.timer);
    board.timer = null;
    const index = J5Board.cache.indexOf(board);
    if (index >= 0) J5Board.cache.splice(index, 1);
    // Its pin normalisers are cached per board in a module-level Map; it is only a cache, so emptying it is safe.
    J5Board.Pins.normalize.clear();
  }
  board?.removeAllListeners();
  if (io) {
    io.removeAllListeners();
    io.on('error', () => {}); // firmata-io still re-emits the transport's errors here
  }
  stream.removeAllListeners('data');
}
