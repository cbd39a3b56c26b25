import { pino, type Logger } from 'pino';
import { describeTransport, openByteLink, type ByteLink, type ByteLinkEvents } from '../byte-link.ts';
import type { TransportConfig } from '../transport.ts';
import { ListenerSet } from '../listeners.ts';
import type { LinkState, Listener, Scanner, Unsubscribe } from '../ports.ts';
import { LineFramer, type FramedLine, type LineRejectReason } from './line-framer.ts';

// A barcode/QR scanner that sends one line per scan: over TCP (a serial-to-Ethernet scanner, or the
// simulator) or a serial port. It keeps the link up while started — reconnecting with jittered backoff, and
// quietly: one warning when the scanner goes away, one info line when it is back.

export interface LineRejection {
  readonly reason: LineRejectReason;
  /** Bytes on the wire. The content is never passed on or logged: it may be a credential. */
  readonly length: number;
}

export interface LineScannerOptions {
  readonly transport: TransportConfig;
  /** Longest line accepted, in bytes; longer ones are rejected whole. Default 512. */
  readonly maxLineLength?: number;
  readonly logger?: Logger;
  /** Delay before reconnecting: from `minMs`, doubling per failed attempt up to `maxMs`, jittered. */
  readonly reconnect?: { readonly minMs: number; readonly maxMs: number };
  /** TCP only: give up a connection attempt after this long (an absent host may not answer at all). */
  readonly connectTimeoutMs?: number;
  /** Randomness for the jitter, in [0, 1). */
  readonly random?: () => number;
}

/** One open connection to the scanner; `close()` resolves once it is gone. */

const DEFAULT_RECONNECT = { minMs: 200, maxMs: 5000 };
/** A link that held this long was a real connection, not a flap: the backoff starts again from `minMs`. */
const STABLE_MS = 5000;

export class LineScanner implements Scanner {
  readonly #options: LineScannerOptions;
  readonly #log: Logger;
  readonly #lines: ListenerSet<string>;
  readonly #rejections: ListenerSet<LineRejection>;
  readonly #links: ListenerSet<LinkState>;
  #link: LinkState = 'connecting';
  #running = false;
  #connection: ByteLink | null = null;
  #connectionClosed: Promise<void> = Promise.resolve();
  #retryTimer: NodeJS.Timeout | null = null;
  /** Consecutive attempts that failed (or held less than `STABLE_MS`): the backoff grows with them. */
  #failures = 0;
  /** An outage has been logged (once) and not yet its end. */
  #outage = false;
  #framer: LineFramer;

  constructor(options: LineScannerOptions) {
    this.#options = options;
    this.#log = (options.logger ?? pino({ enabled: false })).child({ component: 'scanner', transport: describeTransport(options.transport) });
    const onError = (error: unknown) => this.#log.error({ err: error }, 'a scanner listener failed');
    this.#lines = new ListenerSet(onError);
    this.#rejections = new ListenerSet(onError);
    this.#links = new ListenerSet(onError);
    this.#framer = new LineFramer({ maxLength: options.maxLineLength });
  }

  onLine(listener: Listener<string>): Unsubscribe {
    return this.#lines.add(listener);
  }

  /** Lines that were dropped (too long, binary noise, cut off by a disconnect). */
  onRejected(listener: Listener<LineRejection>): Unsubscribe {
    return this.#rejections.add(listener);
  }

  get link(): LinkState {
    return this.#link;
  }

  onLink(listener: Listener<LinkState>): Unsubscribe {
    return this.#links.add(listener);
  }

  /**
   * Starts connecting and resolves once the first attempt has settled, connected or not: an absent scanner
   * is not an error, it is retried in the background until `stop()`.
   */
  async start(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    this.#failures = 0;
    this.#outage = false;
    this.#setLink('connecting');
    await new Promise<void>((settled) => this.#connect(settled));
  }

  /** Closes the link and cancels any pending reconnect; nothing of the scanner is left running. */
  async stop(): Promise<void> {
    this.#running = false;
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    await this.#connection?.close();
    await this.#connectionClosed;
  }

  #connect(settled: () => void = () => {}): void {
    this.#retryTimer = null;
    this.#framer = new LineFramer({ maxLength: this.#options.maxLineLength });
    let opened = false;
    let openedAt = 0;
    let connection: ByteLink | null = null;
    let markClosed!: () => void;
    this.#connectionClosed = new Promise((resolve) => (markClosed = resolve));
    const events: ByteLinkEvents = {
      opened: () => {
        opened = true;
        openedAt = performance.now();
        if (this.#outage) this.#log.info('scanner connected again');
        else this.#log.info('scanner connected');
        this.#outage = false;
        this.#setLink('ok');
        settled();
      },
      data: (chunk) => {
        if (connection === this.#connection) this.#deliver(this.#framer.push(chunk));
      },
      closed: (error) => {
        if (connection === this.#connection) {
          this.#connection = null;
          this.#deliver(this.#framer.end());
        }
        markClosed();
        settled();
        if (!this.#running) return this.#setLink('lost');
        if (opened) this.#log.warn({ err: error?.message }, 'scanner connection lost; reconnecting');
        else if (!this.#outage) this.#log.warn({ err: error?.message }, 'scanner not reachable; retrying in the background');
        else this.#log.debug({ err: error?.message, failures: this.#failures }, 'scanner still not reachable');
        this.#outage = true;
        this.#failures = opened && performance.now() - openedAt >= STABLE_MS ? 0 : this.#failures + 1;
        this.#setLink('lost');
        this.#scheduleReconnect();
      },
    };
    connection = openByteLink(this.#options.transport, events, { connectTimeoutMs: this.#options.connectTimeoutMs ?? 5000 });
    this.#connection = connection;
  }

  #scheduleReconnect(): void {
    const { minMs, maxMs } = this.#options.reconnect ?? DEFAULT_RECONNECT;
    const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(this.#failures, 20));
    const random = this.#options.random ?? Math.random;
    const delay = Math.round(ceiling / 2 + (random() * ceiling) / 2);
    this.#retryTimer = setTimeout(() => this.#connect(), delay);
  }

  #deliver(framed: readonly FramedLine[]): void {
    for (const item of framed) {
      if (item.kind === 'line') this.#lines.emit(item.text);
      else {
        this.#log.warn({ reason: item.reason, length: item.length }, 'scanner line rejected');
        this.#rejections.emit({ reason: item.reason, length: item.length });
      }
    }
  }

  #setLink(state: LinkState): void {
    if (state === this.#link) return;
    this.#link = state;
    this.#links.emit(state);
  }
}
