import { pino, type Logger } from 'pino';
import { backoffDelay, type BackoffOptions } from '../backoff.ts';
import { ListenerSet } from '../listeners.ts';
import type { IdReader, LinkState, Listener, Unsubscribe } from '../ports.ts';
import type { TransportConfig } from '../transport.ts';
import { describeTransport, openByteLink, type ByteLink } from '../byte-link.ts';
import { parseReadReply, type CardRead } from './card-read.ts';
import { encodeRequest, readReplyHeader, type IdCardCommand } from './codec.ts';
import type { IdCardFrame } from './frame.ts';
import { IdCardFramer, type IdCardFramerStats } from './framer.ts';
import { statusCategory, type IdCardStatus } from './status.ts';

// The resident ID-card reader's driver: it polls the SAM module for a card (find-card every `pollMs`), and
// when one is there selects and reads it, and reports the card once. One request is on the wire at a time,
// each with a timeout; the framer is reset before each request (stale bytes answer nothing) and given up on
// when the line goes quiet mid-frame. A reader that stops answering, or a transport that drops, makes the link
// `lost`; the driver reconnects with backoff and never throws at its caller for what the wire does.
//
// Privacy: a read reply holds the card's whole text block and photo. `parseReadReply` zeroes the frame, the
// framer zeroes its buffer, and each chunk off the wire is zeroed as soon as the framer has it. Only the
// `CardRead` (the ID number, masked when printed) leaves, and the driver keeps no reference to it.

export interface IdCardReaderOptions {
  readonly transport: TransportConfig;
  readonly logger?: Logger;
  /** How often to look for a card. Default 300 ms. */
  readonly pollMs?: number;
  /** Longest wait for the answer to find-card or select-card. Default 1000 ms. */
  readonly replyTimeoutMs?: number;
  /** Longest wait for the answer to read-card (the module reads the chip for about a second). Default 3000 ms. */
  readonly readTimeoutMs?: number;
  /** A frame in progress with no byte for this long is given up (the line went quiet). Default 100 ms. */
  readonly idleMs?: number;
  /** Requests in a row without an answer before the reader counts as lost and the link is reopened. Default 3. */
  readonly silentRequestsLimit?: number;
  /** Finds in a row with no card before a reported card counts as taken away. Default 2. */
  readonly absentPollsToRemove?: number;
  /** Delay before reconnecting: from `minMs`, doubling per failed attempt up to `maxMs`, jittered. */
  readonly reconnect?: BackoffOptions;
  /** TCP only: give up a connection attempt after this long. Default 5000 ms. */
  readonly connectTimeoutMs?: number;
  /** Randomness for the jitter, in [0, 1). */
  readonly random?: () => number;
}

export interface IdCardReaderStats {
  /** Cards read and reported. */
  readonly cards: number;
  readonly requests: number;
  /** Requests the reader did not answer in time. */
  readonly timeouts: number;
  /** Answers that were neither success nor "no card", by status name (`checksum-error`, `read-failed`, …). */
  readonly refusals: Readonly<Record<string, number>>;
  /** Read replies with status `ok` whose card data could not be used, by reason (`bad-id-number`, …). */
  readonly unusableReads: Readonly<Record<string, number>>;
  /** Frames that answered no request (late replies, replies of the wrong kind): wiped unread. */
  readonly strayFrames: number;
  /** The framers' counters, summed over every connection. */
  readonly framer: IdCardFramerStats;
}

/** The longest reply to find-card or select-card (select: SW 3 + 8 bytes). A longer frame is a stray read reply. */
const SHORT_REPLY_MAX = 16;
const DEFAULTS = { pollMs: 300, replyTimeoutMs: 1000, readTimeoutMs: 3000, idleMs: 100, silentRequestsLimit: 3, absentPollsToRemove: 2, connectTimeoutMs: 5000 };
type Settings = typeof DEFAULTS & { readonly transport: TransportConfig; readonly reconnect: BackoffOptions; readonly random: () => number };
const DEFAULT_RECONNECT: BackoffOptions = { minMs: 200, maxMs: 5000 };
/** A link that held this long was a real connection, not a flap: the backoff starts again from `minMs`. */
const STABLE_MS = 5000;

/** One open connection and what belongs to it alone. */
interface Session {
  readonly framer: IdCardFramer;
  link: ByteLink | null;
  open: boolean;
  closed: boolean;
  openedAt: number;
  /** Requests in a row without an answer. */
  silent: number;
  /** The request waiting for its answer; gets `null` on timeout or close. */
  waiter: ((frame: IdCardFrame | null) => void) | null;
  idleTimer: NodeJS.Timeout | null;
  /** Wakes the poll loop from its pause early (on close). */
  wake: (() => void) | null;
  loop: Promise<void>;
}

export class IdCardReader implements IdReader {
  readonly #o: Settings;
  readonly #log: Logger;
  readonly #cards: ListenerSet<CardRead>;
  readonly #links: ListenerSet<LinkState>;
  #link: LinkState = 'connecting';
  #running = false;
  #session: Session | null = null;
  #sessionClosed: Promise<void> = Promise.resolve();
  #retryTimer: NodeJS.Timeout | null = null;
  #failures = 0;
  /** An outage has been logged (once) and not yet its end. */
  #outage = false;
  /** Statuses already warned about since the last good read (the rest go to debug). */
  readonly #warned = new Set<string>();
  #stats = { cards: 0, requests: 0, timeouts: 0, strayFrames: 0 };
  readonly #refusals: Record<string, number> = {};
  readonly #unusable: Record<string, number> = {};
  #framerTotals: IdCardFramerStats = { frames: 0, skippedBytes: 0, badLength: 0, badChecksum: 0, abandoned: 0 };

  constructor(options: IdCardReaderOptions) {
    const timing = Object.fromEntries(Object.keys(DEFAULTS).map((k) => [k, options[k as keyof typeof DEFAULTS] ?? DEFAULTS[k as keyof typeof DEFAULTS]]));
    this.#o = { ...(timing as typeof DEFAULTS), transport: options.transport, reconnect: options.reconnect ?? DEFAULT_RECONNECT, random: options.random ?? Math.random };
    this.#log = (options.logger ?? pino({ enabled: false })).child({ component: 'id-reader', transport: describeTransport(options.transport) });
    const onError = (error: unknown) => this.#log.error({ err: error }, 'an ID-card reader listener failed');
    this.#cards = new ListenerSet(onError);
    this.#links = new ListenerSet(onError);
  }

  get link(): LinkState {
    return this.#link;
  }

  onLink(listener: Listener<LinkState>): Unsubscribe {
    return this.#links.add(listener);
  }

  /** A card put on the reader, once (again only after it was taken away). */
  onCard(listener: Listener<CardRead>): Unsubscribe {
    return this.#cards.add(listener);
  }

  get stats(): IdCardReaderStats {
    const framer = { ...this.#framerTotals };
    const live = this.#session?.framer.stats;
    if (live) for (const k of Object.keys(framer) as (keyof IdCardFramerStats)[]) framer[k] += live[k];
    return { ...this.#stats, refusals: { ...this.#refusals }, unusableReads: { ...this.#unusable }, framer };
  }

  /**
   * Starts connecting; resolves once the first attempt has settled (the reader answered, or did not, or the
   * transport could not be opened). An absent reader is not an error: it is retried until `stop()`.
   */
  async start(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    this.#failures = 0;
    this.#outage = false;
    this.#setLink('connecting');
    await new Promise<void>((settled) => this.#connect(settled));
  }

  /** Closes the link and cancels any pending reconnect; nothing of the driver is left running. */
  async stop(): Promise<void> {
    this.#running = false;
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    const session = this.#session;
    await session?.link?.close();
    await this.#sessionClosed;
    await session?.loop;
  }

  #connect(settled: () => void = () => {}): void {
    this.#retryTimer = null;
    let markClosed!: () => void;
    this.#sessionClosed = new Promise((resolve) => (markClosed = resolve));
    const session: Session = { framer: new IdCardFramer(), link: null, open: false, closed: false, openedAt: 0, silent: 0, waiter: null, idleTimer: null, wake: null, loop: Promise.resolve() };
    this.#session = session;
    session.link = openByteLink(this.#o.transport, {
      opened: () => {
        session.open = true;
        session.openedAt = performance.now();
        session.loop = this.#poll(session, settled).catch((error: unknown) => {
          // A bug of ours, not the wire's: say so, drop this link and let the reconnect start afresh.
          this.#log.error({ err: error }, 'ID-card reader poll loop failed; reopening the link');
          void session.link?.close();
        });
      },
      data: (chunk) => this.#receive(session, chunk),
      closed: (error) => {
        session.closed = true;
        if (session.idleTimer) clearTimeout(session.idleTimer);
        session.waiter?.(null);
        session.wake?.();
        session.framer.reset();
        this.#addFramerStats(session.framer.stats);
        if (this.#session === session) this.#session = null;
        markClosed();
        settled();
        if (!this.#running) return this.#setLink('lost');
        if (this.#link === 'ok') this.#log.warn({ err: error?.message }, 'ID-card reader connection lost; reconnecting');
        else if (!this.#outage) this.#log.warn({ err: error?.message }, 'ID-card reader not reachable; retrying in the background (typed ID suffixes still work)');
        else this.#log.debug({ err: error?.message, failures: this.#failures }, 'ID-card reader still not reachable');
        this.#outage = true;
        this.#failures = session.open && performance.now() - session.openedAt >= STABLE_MS ? 0 : this.#failures + 1;
        this.#setLink('lost');
        this.#retryTimer = setTimeout(() => this.#connect(), backoffDelay(this.#failures, this.#o.reconnect, this.#o.random));
      },
    }, { connectTimeoutMs: this.#o.connectTimeoutMs });
  }

  /** The poll loop of one connection: find; on a new card select and read it; pause; again. */
  async #poll(session: Session, settled: () => void): Promise<void> {
    /** A card was reported and has not been seen gone since. */
    let present = false;
    let absent = 0;
    let first = true;
    while (this.#running && !session.closed) {
      const found = await this.#ask(session, 'find-card');
      if (first) {
        first = false;
        settled();
      }
      if (found) {
        if (found.status === 'card-found') {
          absent = 0;
          if (!present) present = await this.#readCard(session);
        } else if (found.status === 'no-card') {
          if (present && ++absent >= this.#o.absentPollsToRemove) present = false;
        } else this.#refused(found.status, 'find-card');
      }
      await this.#pause(session, this.#o.pollMs);
    }
  }

  /** Select and read the card that was found; true when it was reported. */
  async #readCard(session: Session): Promise<boolean> {
    const selected = await this.#ask(session, 'select-card');
    if (!selected) return false;
    if (selected.status !== 'ok') {
      this.#refused(selected.status, 'select-card');
      return false;
    }
    const reply = await this.#askFrame(session, 'read-card', this.#o.readTimeoutMs);
    if (!reply) return false;
    const parsed = parseReadReply(reply); // zeroes the reply whatever the outcome
    if (!parsed.ok) {
      if (parsed.reason === 'not-ok' && parsed.status) this.#refused(parsed.status, 'read-card');
      else {
        this.#unusable[parsed.reason] = (this.#unusable[parsed.reason] ?? 0) + 1;
        this.#warnOnce(`read:${parsed.reason}`, { reason: parsed.reason, cardType: parsed.cardType }, 'ID card read but its data could not be used');
      }
      return false;
    }
    this.#stats.cards++;
    this.#warned.clear();
    this.#log.info('ID card read');
    this.#cards.emit(parsed.card);
    return true;
  }

  /** Asks and answers the reply's status (the frame itself is wiped: a short reply carries no card data). */
  async #ask(session: Session, command: 'find-card' | 'select-card'): Promise<{ status: IdCardStatus } | null> {
    const frame = await this.#askFrame(session, command, this.#o.replyTimeoutMs);
    if (!frame) return null;
    const header = readReplyHeader(frame);
    frame.wipe();
    if (!header.ok) {
      this.#stats.strayFrames++;
      return null;
    }
    return { status: header.header.status };
  }

  /** One request on the wire and its answer: a frame, or `null` on timeout or when the link closed. */
  #askFrame(session: Session, command: IdCardCommand, timeoutMs: number): Promise<IdCardFrame | null> {
    if (session.closed || !session.link) return Promise.resolve(null);
    session.framer.reset();
    this.#stats.requests++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        session.waiter = null;
        this.#silence(session, command);
        resolve(null);
      }, timeoutMs);
      session.waiter = (frame) => {
        if (frame && command !== 'read-card' && frame.length > SHORT_REPLY_MAX) {
          // A late answer to an earlier read, not to this request: never looked at.
          frame.wipe();
          this.#stats.strayFrames++;
          return;
        }
        clearTimeout(timer);
        session.waiter = null;
        if (frame) this.#answered(session);
        resolve(frame);
      };
      session.link!.write(encodeRequest(command));
    });
  }

  #receive(session: Session, chunk: Buffer): void {
    if (session.closed) return void chunk.fill(0);
    const frames = session.framer.push(chunk);
    chunk.fill(0); // the chunk may hold part of a text block: the framer has its own copy now
    if (session.idleTimer) clearTimeout(session.idleTimer);
    session.idleTimer = session.framer.pending > 0 ? setTimeout(() => {
      session.idleTimer = null;
      for (const frame of session.framer.idle()) this.#deliver(session, frame);
    }, this.#o.idleMs) : null;
    for (const frame of frames) this.#deliver(session, frame);
  }

  #deliver(session: Session, frame: IdCardFrame): void {
    if (session.waiter) return session.waiter(frame);
    frame.wipe();
    this.#stats.strayFrames++;
  }

  #answered(session: Session): void {
    session.silent = 0;
    if (this.#link !== 'ok') {
      if (this.#outage) this.#log.info('ID-card reader answering again');
      else this.#log.info('ID-card reader connected');
      this.#outage = false;
      this.#setLink('ok');
    }
  }

  /** A request went unanswered; after `silentRequestsLimit` in a row the reader is lost and the link reopened. */
  #silence(session: Session, command: IdCardCommand): void {
    this.#stats.timeouts++;
    session.framer.reset();
    session.silent++;
    this.#log.debug({ command, silent: session.silent }, 'ID-card reader did not answer');
    if (session.silent >= this.#o.silentRequestsLimit && !session.closed) {
      if (!this.#outage) this.#log.warn({ requests: session.silent }, 'ID-card reader not answering; reopening the link (typed ID suffixes still work)');
      this.#outage = true;
      this.#setLink('lost');
      void session.link?.close();
    }
  }

  #refused(status: IdCardStatus, command: IdCardCommand): void {
    this.#refusals[status] = (this.#refusals[status] ?? 0) + 1;
    const category = statusCategory(status);
    // A card moved too soon is the applicant's everyday; a module or wire fault is a maintenance matter.
    if (category === 'module' || category === 'unknown' || category === 'transmission') this.#warnOnce(status, { command, status, category }, 'ID-card reader refused a request');
    else this.#log.debug({ command, status, category }, 'ID-card reader refused');
  }

  #warnOnce(key: string, fields: Record<string, unknown>, message: string): void {
    if (this.#warned.has(key)) return void this.#log.debug(fields, message);
    this.#warned.add(key);
    this.#log.warn(fields, message);
  }

  #pause(session: Session, ms: number): Promise<void> {
    if (session.closed || !this.#running) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        session.wake = null;
        resolve();
      }
      session.wake = done;
    });
  }

  #addFramerStats(s: IdCardFramerStats): void {
    const t = this.#framerTotals;
    this.#framerTotals = { frames: t.frames + s.frames, skippedBytes: t.skippedBytes + s.skippedBytes, badLength: t.badLength + s.badLength, badChecksum: t.badChecksum + s.badChecksum, abandoned: t.abandoned + s.abandoned };
  }

  #setLink(state: LinkState): void {
    if (state === this.#link) return;
    this.#link = state;
    this.#links.emit(state);
  }
}
