import type { Duplex } from 'node:stream';
import pino, { type Logger } from 'pino';
import { HardwareUnavailableError } from '../errors.ts';
import { backoffDelay, type BackoffOptions } from '../backoff.ts';
import { ListenerSet } from '../listeners.ts';
import { ReadyWaiters } from '../ready-waiters.ts';
import { describeTransport, openTransport } from '../open-transport.ts';
import type { BusCounters, CabinetBoard, DoorSensors, ItemSensors, LinkLoss, LinkLossCause, LinkState, Listener, LockBank, PulseOptions, Unsubscribe } from '../ports.ts';
import type { TransportConfig } from '../transport.ts';
import { LockBus, zeroCounters, type MutableBusCounters } from './bus.ts';
import { BusBoards, type BoardOnBus } from './bus-boards.ts';
import { lockId, lockIdParts } from './lock-id.ts';
import { PolledLocks } from './polled-locks.ts';
import type { BoardReading, BusProtocol, ProtocolChoice, Transaction } from './protocol.ts';
import { protocolFor } from './protocols.ts';

/** How often and how patiently the bus is asked. Every field has a default (see `DEFAULT_TIMING`). */
export interface BusTiming {
  /** Every board is read this often (door and item state come only from this). */
  readonly pollMs: number;
  /** How long a query's reply may take. */
  readonly replyMs: number;
  /** How long an open's reply may take (the protocol's default: 1500 ms 8A/80, 1000 ms Kerong). */
  readonly openReplyMs?: number;
  /** A query that got no reply is asked again this many times (an open never is). */
  readonly queryRetries: number;
  /**
   * A board that answered and then misses this many polls in a row is lost — or sooner, once it has missed a
   * poll and been silent for as long as that many polls take (many silent boards make each poll slow).
   */
  readonly lostAfterPolls: number;
  /**
   * How long the board energises a latch for one open (the board times it, not the driver). `pulse()` resolves
   * only once this has passed since its open frame, so the next open never overlaps it: one latch at a time.
   */
  readonly latchMs: number;
}

export const DEFAULT_TIMING: BusTiming = Object.freeze({ pollMs: 250, replyMs: 300, queryRetries: 1, lostAfterPolls: 3, latchMs: 500 });

export type LockboardBusOptions = ProtocolChoice & Partial<BusTiming> & { readonly transport: TransportConfig };

export interface LockboardBoardOptions {
  readonly bus: LockboardBusOptions;
  /** Every lock the cabinet uses; each is known on the ports by `lockId(board, channel)`. */
  readonly locks: readonly { readonly board: number; readonly channel: number }[];
  readonly logger?: Logger;
  /** Delay between reconnect attempts: jittered, doubling from minMs up to maxMs. Default 250 ms … 10 s. */
  readonly reconnect?: BackoffOptions;
  /** Opening the transport must finish in this. Default 5 s. */
  readonly connectTimeoutMs?: number;
  /** Quiet time between a reply and the next request. Default 2 ms on a serial port, none over TCP (see defaultGapMs). */
  readonly gapMs?: number;
  /** The wire, for tests: replaces opening `bus.transport`. */
  readonly openWire?: (signal: AbortSignal) => Promise<Duplex>;
  /** Injected randomness for the backoff jitter (tests). */
  readonly random?: () => number;
  /** Injected clock for `DoorEdge.at` / `ItemChange.at` (ms since the epoch). */
  readonly now?: () => number;
}

interface Connection {
  readonly bus: LockBus;
  pollTimer: NodeJS.Timeout | null;
  /** The poll cycle running now, so stop() can wait for it. */
  cycle: Promise<void> | null;
}

/**
 * RS-485 lock-control boards (8A/80 or Kerong KR-CU) on one bus, over a serial port or a TCP serial server. One
 * request on the bus at a time (LockBus); every board is polled every `pollMs`, and door state (the lock's
 * feedback contact: latched = shut) and Kerong's item sensors come only from those replies. `pulse(lockId)` sends
 * exactly one open frame for that lock — never again because its reply was lost — then reads the board at once,
 * which both confirms the board is there and shows the door spring open. The board times the latch pulse
 * itself, so nothing here is ever left energised: a crash of this process between two frames leaves every lock
 * as the boards left it (de-energised after their own pulse).
 *
 * The link is `ok` while the transport is open and every board answers; a board that answered and then stops
 * (see `BusBoards.missed`) makes it `lost` (`no-answer`), and its answering again makes it `ok`. A closed
 * transport is `lost` too and is reopened with jittered exponential backoff.
 */
export class LockboardBoard implements CabinetBoard {
  readonly locks: LockBank;
  readonly doors: DoorSensors;
  readonly items?: ItemSensors;

  readonly #options: LockboardBoardOptions;
  readonly #protocol: BusProtocol;
  readonly #timing: Required<BusTiming>;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #boards: BusBoards;
  /** The lock ids on this bus. */
  readonly #lockIds: ReadonlySet<number>;
  readonly #polled: PolledLocks;
  readonly #counters: MutableBusCounters = zeroCounters();
  readonly #linkListeners: ListenerSet<LinkState>;
  readonly #readyWaiters = new ReadyWaiters();
  #pulses: Promise<unknown> = Promise.resolve();
  #link: LinkState = 'connecting';
  #lastLoss: LinkLoss | null = null;
  #connection: Connection | null = null;
  #running = false;
  #stopped = false;
  #attempt = 0;
  #retryTimer: NodeJS.Timeout | null = null;
  #lastFailure = '';
  #attempting: { promise: Promise<void>; abort: AbortController } | null = null;

  /** Throws a RangeError naming the first lock that is not on this bus (the configuration checks them first). */
  constructor(options: LockboardBoardOptions) {
    this.#options = options;
    this.#protocol = protocolFor(options.bus);
    this.#timing = {
      pollMs: options.bus.pollMs ?? DEFAULT_TIMING.pollMs,
      replyMs: options.bus.replyMs ?? DEFAULT_TIMING.replyMs,
      openReplyMs: options.bus.openReplyMs ?? this.#protocol.openReplyMs,
      queryRetries: options.bus.queryRetries ?? DEFAULT_TIMING.queryRetries,
      lostAfterPolls: options.bus.lostAfterPolls ?? DEFAULT_TIMING.lostAfterPolls,
      latchMs: options.bus.latchMs ?? DEFAULT_TIMING.latchMs,
    };
    this.#logger = (options.logger ?? pino({ level: 'silent' })).child({ component: 'lockboard', protocol: this.#protocol.name });
    this.#now = options.now ?? Date.now;
    for (const { board, channel } of options.locks) {
      const problem = this.#protocol.lockProblem(board, channel);
      if (problem) throw new RangeError(`board ${board} channel ${channel}: ${problem}`);
    }
    this.#lockIds = new Set(options.locks.map((l) => lockId(l.board, l.channel)));
    this.#boards = new BusBoards(options.locks, this.#timing);
    const onError = (error: unknown): void => this.#logger.error({ err: error }, 'a board listener threw');
    this.#linkListeners = new ListenerSet<LinkState>(onError);
    this.#polled = new PolledLocks(this.#protocol.reportsItems, onError);
    this.locks = { pulse: (id, pulseOptions) => this.#pulse(id, pulseOptions) };
    this.doors = this.#polled.doors;
    if (this.#polled.items) this.items = this.#polled.items;
  }

  get link(): LinkState {
    return this.#link;
  }

  get lastLoss(): LinkLoss | null {
    return this.#lastLoss;
  }

  onLink(listener: Listener<LinkState>): Unsubscribe {
    return this.#linkListeners.add(listener);
  }

  stats(): BusCounters {
    return { ...this.#counters };
  }

  /** Connects; resolves once every board has answered, or rejects after `readyTimeoutMs` while it keeps trying. */
  start(options: { readyTimeoutMs?: number } = {}): Promise<void> {
    if (this.#stopped) return Promise.reject(new Error('this board was stopped; build a new one to connect again'));
    if (!this.#running) {
      this.#running = true;
      this.#tryConnect();
    }
    if (this.#link === 'ok') return Promise.resolve();
    const timeoutMs = options.readyTimeoutMs ?? 10_000;
    return this.#readyWaiters.wait(timeoutMs, () => new HardwareUnavailableError(`the lock boards were not ready within ${timeoutMs} ms (${this.#notReady()}); still trying in the background`));
  }

  /** Stops polling and reconnecting and closes the transport; leaves no timer and nothing open. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#stopped = true;
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    this.#readyWaiters.rejectAll(new HardwareUnavailableError('the lock boards were stopped before they were ready'));
    if (this.#attempting) {
      this.#attempting.abort.abort();
      await this.#attempting.promise;
    }
    const connection = this.#connection;
    this.#connection = null;
    // Not a link change the controller should act on: no onLink listener is called, but `link` reads 'lost'.
    this.#link = 'lost';
    if (connection) {
      if (connection.pollTimer) clearTimeout(connection.pollTimer);
      connection.pollTimer = null;
      await connection.bus.close('stopped');
      await connection.cycle;
    }
    await this.#pulses;
    this.#logger.info('lock boards stopped');
  }

  // ——— opening a lock ———

  #pulse(id: number, options: PulseOptions = {}): Promise<void> {
    const lock = lockIdParts(id);
    if (!this.#lockIds.has(id)) return Promise.reject(new RangeError(`lock ${id} is not on this bus (board ${lock.board} channel ${lock.channel} is not configured)`));
    if (this.#link !== 'ok' || !this.#connection) {
      return Promise.reject(new HardwareUnavailableError(`the lock boards are ${this.#link === 'connecting' ? 'not connected yet' : 'unreachable'}: board ${lock.board} channel ${lock.channel} was not opened`));
    }
    // Opens run one at a time, each with its confirming read, so no two latches are fired back to back.
    const run = this.#pulses.then(() => (options.stillWanted && !options.stillWanted() ? undefined : this.#open(lock.board, lock.channel)));
    this.#pulses = run.catch(() => {});
    return run;
  }

  /** One open frame, never repeated; then the board is read, which is how the open is confirmed. */
  async #open(boardAddress: number, channel: number): Promise<void> {
    const connection = this.#connection;
    const board = this.#boards.get(boardAddress)!;
    if (!connection || this.#link !== 'ok') throw new HardwareUnavailableError(`the lock boards went away before board ${boardAddress} channel ${channel}'s turn: it was not opened`);
    const started = performance.now();
    const answer = await connection.bus.transact(this.#protocol.open(boardAddress, channel), this.#timing.openReplyMs);
    if (answer.kind === 'closed') {
      throw new HardwareUnavailableError(answer.sent
        ? `the connection closed while board ${boardAddress} channel ${channel} was being opened: whether it fired is unknown`
        : `the connection closed before board ${boardAddress} channel ${channel}'s open was sent: it was not opened`, { energised: answer.sent });
    }
    if (answer.kind === 'no-reply') this.#logger.warn({ board: boardAddress, channel, waitedMs: Math.round(answer.waitedMs) }, 'no reply to an open: confirming by reading the board, never by opening again');
    const read = await this.#readBoard(connection, board);
    if (read === 'closed') throw new HardwareUnavailableError(`the connection closed right after board ${boardAddress} channel ${channel} was opened: whether it fired is unknown`, { energised: true });
    if (read === 'missed') throw new HardwareUnavailableError(`board ${boardAddress} answered neither the open of channel ${channel} nor the status query after it: whether it fired is unknown`, { energised: true });
    this.#logger.debug({ board: boardAddress, channel, ms: Math.round(performance.now() - started), replied: answer.kind === 'reply' }, 'lock opened');
    // The board still holds the latch for its own pulse: the next open in line waits it out (polling goes on).
    const holdMs = started + this.#timing.latchMs - performance.now();
    if (holdMs > 0) await new Promise((resolve) => setTimeout(resolve, holdMs).unref());
  }

  // ——— polling ———

  /** Reads one board (all its queries, each asked again on silence); its doors, items and health follow. */
  async #readBoard(connection: Connection, board: BoardOnBus): Promise<'answered' | 'missed' | 'closed'> {
    const readings: BoardReading[] = [];
    const tries = this.#boards.tries(board);
    for (const query of this.#protocol.readBoard(board.address, board.channels)) {
      const reading = await this.#ask(connection, query, tries);
      if (reading === 'closed') return 'closed';
      if (reading === null) {
        if (this.#connection === connection) this.#missed(board);
        return 'missed';
      }
      readings.push(reading);
    }
    if (this.#connection === connection) this.#answered(board, readings);
    return 'answered';
  }

  async #ask(connection: Connection, query: Transaction<BoardReading>, tries: number): Promise<BoardReading | null | 'closed'> {
    for (let attempt = 1; attempt <= tries; attempt++) {
      if (attempt > 1) this.#counters.retries++;
      const answer = await connection.bus.transact(query, this.#timing.replyMs);
      if (answer.kind === 'reply') return answer.value;
      if (answer.kind === 'closed') return 'closed';
    }
    return null;
  }

  #schedulePoll(connection: Connection, delayMs: number): void {
    if (this.#connection !== connection) return;
    connection.pollTimer = setTimeout(() => {
      connection.pollTimer = null;
      connection.cycle = this.#pollCycle(connection)
        .catch((error: unknown) => {
          // A bug, not the wire: said loudly, and polling goes on.
          this.#logger.error({ err: error }, 'a poll of the lock boards failed');
          this.#schedulePoll(connection, this.#timing.pollMs);
        })
        .finally(() => (connection.cycle = null));
    }, delayMs);
  }

  /** Every board once, in address order; the next cycle starts `pollMs` after this one started. */
  async #pollCycle(connection: Connection): Promise<void> {
    const started = performance.now();
    for (const board of this.#boards.all) {
      if (this.#connection !== connection) return;
      if ((await this.#readBoard(connection, board)) === 'closed') return;
    }
    this.#schedulePoll(connection, Math.max(0, this.#timing.pollMs - (performance.now() - started)));
  }

  #answered(board: BoardOnBus, readings: readonly BoardReading[]): void {
    for (const reading of readings) this.#protocol.learn(reading);
    const taken = this.#polled.take(board.address, board.channelSet, readings, this.#now());
    if (!board.warned && taken.uncovered.length > 0) {
      board.warned = true;
      this.#logger.warn({ board: board.address, channels: taken.uncovered }, 'the board\'s replies do not cover these configured channels: their doors stay unknown (check channelsPerBoard and the wiring)');
    }
    if (this.#boards.answered(board, performance.now())) this.#logger.warn({ board: board.address }, 'lock board answers again');
    // `ok` first, then what moved meanwhile: isOpen is already current when the link listeners run.
    this.#updateLink();
    for (const edge of taken.edges) this.#logger.debug({ sensor: edge.sensor, open: edge.open }, 'door edge');
    this.#polled.announce(taken);
  }

  #missed(board: BoardOnBus): void {
    const lost = this.#boards.missed(board, performance.now());
    if (lost.length === 0) return;
    const silentMs = Math.round(performance.now() - Math.max(...lost.map((b) => b.lastAnswerAt)));
    this.#lastLoss = { cause: 'no-answer', reason: `lock board${lost.length > 1 ? 's' : ''} ${lost.map((b) => b.address).join(', ')} stopped answering (silent for ${silentMs} ms)` };
    this.#logger.warn({ boards: lost.map((b) => b.address), silentMs }, 'lock board stopped answering');
    this.#updateLink();
  }

  /** `ok` when every board answers; `lost` as soon as one that answered stops; otherwise as it was. */
  #updateLink(): void {
    if (this.#connection && this.#boards.everyOk()) {
      this.#attempt = 0;
      this.#lastFailure = '';
      if (this.#link !== 'ok') this.#logger.info({ transport: describeTransport(this.#options.bus.transport), boards: this.#boards.all.map((b) => b.address) }, 'lock boards connected');
      this.#setLink('ok');
      this.#readyWaiters.resolveAll();
    } else if (this.#boards.anyLost()) {
      this.#setLink('lost');
    }
  }

  /** Board addresses that answered on the current connection, and those that have not (or stopped). */
  boardsHeard(): { answering: number[]; silent: number[] } {
    if (!this.#connection) return { answering: [], silent: this.#boards.all.map((b) => b.address) };
    const silent = this.#boards.notAnswering();
    return { answering: this.#boards.all.map((b) => b.address).filter((a) => !silent.includes(a)), silent };
  }

  #notReady(): string {
    const silent = this.#boards.notAnswering();
    if (!this.#connection) return this.#lastFailure ? `last attempt: ${this.#lastFailure}` : 'not connected';
    return `board${silent.length === 1 ? '' : 's'} ${silent.join(', ')} not answering`;
  }

  // ——— the connection ———

  #tryConnect(): void {
    this.#retryTimer = null;
    if (!this.#running || this.#attempting) return;
    const abort = new AbortController();
    const attempt = { abort, promise: this.#connect(abort.signal) };
    this.#attempting = attempt;
    void attempt.promise.finally(() => {
      if (this.#attempting === attempt) this.#attempting = null;
    });
  }

  /** One connect attempt; never throws (a failure schedules the next attempt). */
  async #connect(signal: AbortSignal): Promise<void> {
    const transport = this.#options.bus.transport;
    try {
      const stream = this.#options.openWire
        ? await this.#options.openWire(signal)
        : await openTransport(transport, { timeoutMs: this.#options.connectTimeoutMs ?? 5000, signal, framing: this.#protocol.line, directReads: true });
      if (signal.aborted) {
        stream.destroy();
        return;
      }
      const bus = new LockBus(stream, { tcp: transport.kind === 'tcp', counters: this.#counters, gapMs: this.#options.gapMs ?? defaultGapMs(transport) });
      const connection: Connection = { bus, pollTimer: null, cycle: null };
      this.#connection = connection;
      this.#boards.reset(performance.now());
      bus.onClose((reason, cause) => this.#lose(connection, reason, cause ?? 'connection-lost'));
      this.#logger.debug({ transport: describeTransport(transport) }, 'bus open: reading every board');
      this.#schedulePoll(connection, 0);
    } catch (error) {
      if (!this.#running) return;
      this.#lastFailure = (error as Error).message;
      this.#retryLater('bus connect failed');
    }
  }

  #lose(connection: Connection, reason: string, cause: LinkLossCause): void {
    if (this.#connection !== connection) return;
    this.#connection = null;
    if (connection.pollTimer) clearTimeout(connection.pollTimer);
    connection.pollTimer = null;
    this.#lastFailure = reason;
    if (this.#link !== 'connecting') {
      this.#lastLoss = { cause, reason };
      // Said once when the link goes; a bus that keeps closing as soon as it opens is retried quietly.
      if (this.#link === 'ok') this.#logger.warn({ reason, cause }, 'lock-board bus lost');
      this.#setLink('lost');
    }
    if (this.#running) this.#retryLater('bus connection closed');
  }

  #retryLater(what: string): void {
    if (this.#retryTimer) return;
    const delayMs = backoffDelay(this.#attempt++, this.#options.reconnect ?? { minMs: 250, maxMs: 10_000 }, this.#options.random);
    const log = this.#attempt === 1 ? this.#logger.warn.bind(this.#logger) : this.#logger.debug.bind(this.#logger);
    log({ err: this.#lastFailure, retryInMs: delayMs, attempt: this.#attempt }, what);
    this.#retryTimer = setTimeout(() => this.#tryConnect(), delayMs);
  }

  #setLink(state: LinkState): void {
    if (this.#link === state) return;
    this.#link = state;
    this.#linkListeners.emit(state);
  }
}

/**
 * A serial port gets 2 ms of quiet after each reply, for boards slow to turn their transceiver round. A TCP
 * serial server already leaves the line quiet for longer than that (it forwards a reply only after its packing
 * interval of silence, and the next request then crosses the network), so there it would only cost a timer
 * wake-up per exchange.
 */
function defaultGapMs(transport: TransportConfig): number {
  return transport.kind === 'tcp' ? 0 : 2;
}
