import type { Duplex } from 'node:stream';
import type { BusCounters, LinkLossCause } from '../ports.ts';
import { FrameReader, type SkipCounts } from './frame-reader.ts';
import type { Transaction } from './protocol.ts';

// One connection to an RS-485 bus (a serial port, or a TCP serial server in front of it): transactions one at
// a time, in call order. Each gets a fresh FrameReader created before its request is written — the input flush:
// whatever arrived before (a late reply, line noise) is dropped and counted as stray — and waits for the reply
// its matcher awaits, or until its timeout. Never retries and never throws: what happened is the answer's kind,
// and the driver above decides (queries may be asked again, an open never). A connection is never reused: when
// it closes, the driver opens a new one.

export type BusAnswer<T> =
  /** The awaited reply, decoded; `frame` its bytes. */
  | { readonly kind: 'reply'; readonly value: T; readonly frame: Buffer; readonly ms: number }
  /** Nothing awaited came within the timeout. */
  | { readonly kind: 'no-reply'; readonly waitedMs: number }
  /** The connection closed: before the request was written (`sent: false`) or while its reply was awaited. */
  | { readonly kind: 'closed'; readonly sent: boolean };

/** The counters a bus adds to; the driver keeps one set across reconnects. */
export type MutableBusCounters = { -readonly [K in keyof BusCounters]: BusCounters[K] };

export function zeroCounters(): MutableBusCounters {
  return { requests: 0, opens: 0, replies: 0, timeouts: 0, retries: 0, strayBytes: 0, badChecks: 0, wrongAddress: 0, unexpected: 0, echoes: 0, truncated: 0 };
}

export interface LockBusOptions {
  /** Over TCP an orderly close by the far end (FIN) is the serial server's doing: `closed-by-board`. */
  readonly tcp: boolean;
  readonly counters: MutableBusCounters;
  /** Quiet time between a reply and the next request, for boards slow to release the line. */
  readonly gapMs?: number;
}

/** Told once when the connection closes; `cause` is `null` when this side closed it. */
export type BusCloseListener = (reason: string, cause: LinkLossCause | null) => void;

interface Waiting {
  push(chunk: Buffer): void;
  closed(): void;
}

export class LockBus {
  readonly #stream: Duplex;
  readonly #options: LockBusOptions;
  readonly #closeListeners = new Set<BusCloseListener>();
  #tail: Promise<unknown> = Promise.resolve();
  /** Transactions asked for and not yet answered (the one on the line included). */
  #queued = 0;
  #waiting: Waiting | null = null;
  #lastEnd = 0;
  #closed = false;
  #closing = false;
  #peer: { kind: 'ended' } | { kind: 'failed'; message: string } | null = null;
  readonly #gone: Promise<void>;

  constructor(stream: Duplex, options: LockBusOptions) {
    this.#stream = stream;
    this.#options = options;
    this.#gone = new Promise((resolve) => stream.once('close', () => resolve()));
    stream.on('data', (chunk: Buffer) => this.#receive(chunk));
    stream.on('end', () => (this.#peer ??= { kind: 'ended' }));
    stream.on('error', (error: Error) => (this.#peer ??= { kind: 'failed', message: error.message }));
    stream.on('close', () => this.#closedByItself());
    if (stream.destroyed) this.#closedByItself();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Writes the request when its turn comes and resolves with what came back. */
  transact<T>(transaction: Transaction<T>, timeoutMs: number): Promise<BusAnswer<T>> {
    // An idle bus starts at once; a busy one queues behind the last transaction. (Polling asks several times a
    // second for months: one promise per exchange rather than a chain of them.)
    const idle = this.#queued === 0;
    this.#queued++;
    const start = () => this.#startExchange(transaction, timeoutMs);
    const run = idle ? start() : this.#tail.then(start, start);
    this.#tail = run;
    return run;
  }

  /** Called once, when the connection closes for any reason (soon, if it already has). */
  onClose(listener: BusCloseListener): () => void {
    if (this.#closed) {
      queueMicrotask(() => listener('the connection closed', null));
      return () => {};
    }
    this.#closeListeners.add(listener);
    return () => this.#closeListeners.delete(listener);
  }

  /** Closes the connection; a transaction waiting ends as `closed`, queued ones are not sent. Resolves once it is shut. */
  async close(reason: string): Promise<void> {
    this.#closing = true;
    this.#markClosed(reason, null);
    this.#stream.destroy();
    await this.#gone;
  }

  /** Waits out the quiet gap when one is due, then exchanges; never rejects. */
  #startExchange<T>(transaction: Transaction<T>, timeoutMs: number): Promise<BusAnswer<T>> {
    const gapMs = this.#options.gapMs ?? 0;
    const waitMs = gapMs - (performance.now() - this.#lastEnd);
    if (gapMs <= 0 || waitMs <= 0) return this.#exchange(transaction, timeoutMs);
    return new Promise((resolve) => setTimeout(resolve, waitMs)).then(() => this.#exchange(transaction, timeoutMs));
  }

  #exchange<T>(transaction: Transaction<T>, timeoutMs: number): Promise<BusAnswer<T>> {
    try {
      if (this.#closed || this.#stream.destroyed || !this.#stream.writable) {
        this.#queued--;
        return Promise.resolve({ kind: 'closed', sent: false });
      }
      return this.#send(transaction, timeoutMs);
    } catch (error) {
      // A bug, not the wire: the bus stays usable for the next transaction.
      if (this.#waiting) this.#waiting = null;
      this.#queued--;
      return Promise.reject(error);
    }
  }

  /** Writes the request and waits for its reply; a throw here (a bug) reaches `#exchange`, not the promise. */
  #send<T>(transaction: Transaction<T>, timeoutMs: number): Promise<BusAnswer<T>> {
    const counters = this.#options.counters;
    const reader = new FrameReader(transaction.reply);
    const started = performance.now();
    let resolve!: (answer: BusAnswer<T>) => void;
    const answered = new Promise<BusAnswer<T>>((r) => (resolve = r));
    let timer: NodeJS.Timeout | null = null;
    const finish = (answer: BusAnswer<T>): void => {
      if (this.#waiting !== waiting) return;
      if (timer) clearTimeout(timer);
      this.#waiting = null;
      this.#queued--;
      this.#lastEnd = performance.now();
      resolve(answer);
    };
    const waiting: Waiting = {
      push: (chunk) => {
        const step = reader.push(chunk);
        this.#count(step.skipped);
        if (step.kind !== 'frame') return;
        counters.replies++;
        finish({ kind: 'reply', value: step.value, frame: step.frame, ms: performance.now() - started });
      },
      closed: () => {
        this.#count(reader.end());
        finish({ kind: 'closed', sent: true });
      },
    };
    this.#waiting = waiting;
    counters.requests++;
    if (transaction.kind === 'open') counters.opens++;
    this.#stream.write(transaction.bytes);
    timer = setTimeout(() => {
      timer = null;
      // Timers run before I/O: a reply already waiting in the socket (this process was busy) is read first.
      setImmediate(() => {
        if (this.#waiting !== waiting) return;
        this.#count(reader.end());
        counters.timeouts++;
        finish({ kind: 'no-reply', waitedMs: performance.now() - started });
      });
    }, timeoutMs);
    return answered;
  }

  #receive(chunk: Buffer): void {
    if (this.#waiting) return this.#waiting.push(chunk);
    // Between transactions nobody asked: a late reply or noise. Dropped (the input flush), counted.
    this.#options.counters.strayBytes += chunk.length;
  }

  #count(skipped: SkipCounts): void {
    const c = this.#options.counters;
    c.strayBytes += skipped.strayBytes;
    c.badChecks += skipped.badChecks;
    c.wrongAddress += skipped.wrongAddress;
    c.unexpected += skipped.unexpected;
    c.echoes += skipped.echoes;
    c.truncated += skipped.truncated;
  }

  /** The transport closed without `close()`: over TCP a FIN is the serial server's doing, anything else a lost connection. */
  #closedByItself(): void {
    if (this.#closing) return this.#markClosed('the connection closed', null);
    const peer = this.#peer;
    if (peer?.kind === 'ended' && this.#options.tcp) {
      return this.#markClosed('the serial server closed the connection (another host may have taken its only TCP slot)', 'closed-by-board');
    }
    this.#markClosed(peer?.kind === 'failed' ? `the connection failed: ${peer.message}` : 'the connection closed', 'connection-lost');
  }

  #markClosed(reason: string, cause: LinkLossCause | null): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#waiting?.closed();
    for (const listener of this.#closeListeners) listener(reason, cause);
    this.#closeListeners.clear();
  }
}
