import pino, { type Logger } from 'pino';
import type { TransportConfig } from '../transport.ts';
import { ListenerSet } from '../listeners.ts';
import { ReadyWaiters } from '../ready-waiters.ts';
import type { CabinetBoard, DoorEdge, DoorSensors, LinkLoss, LinkLossCause, LinkState, Listener, LockBank, PulseOptions, Unsubscribe } from '../ports.ts';
import { backoffDelay, type BackoffOptions } from '../backoff.ts';
import { DoorDebouncer } from './door-debouncer.ts';
import { HardwareUnavailableError } from '../errors.ts';
import { FirmataLink, type J5Relay } from './firmata-link.ts';
import { SerialQueue } from './serial-queue.ts';

export interface FirmataBoardOptions {
  transport: TransportConfig;
  /** How long a lock relay is energised for one open. */
  pulseMs: number;
  /** After a door switch changes, its contacts settle this long before another change is taken. */
  debounceMs: number;
  /** Output pins driving lock relays (HIGH = energised). */
  lockChannels: number[];
  /** Input pins reading door switches (pull-up on; HIGH = door open). */
  doorSensors: number[];
  logger?: Logger;
  /** Delay between reconnect attempts: jittered, doubling from minMs up to maxMs. Default 250 ms … 10 s. */
  reconnect?: BackoffOptions;
  /** The board must answer something every `timeoutMs`; it is asked every `intervalMs`. Default 1 s / 3 s. */
  heartbeat?: { intervalMs: number; timeoutMs: number };
  /** Transport open + Firmata handshake + first sensor reading must finish in this. Default 5 s. */
  handshakeTimeoutMs?: number;
  /** Injected randomness for the backoff jitter (tests). */
  random?: () => number;
  /** Injected clock for `DoorEdge.at` (ms since the epoch). */
  now?: () => number;
}

interface Connection {
  readonly link: FirmataLink;
  readonly relays: ReadonlyMap<number, J5Relay>;
  readonly heartbeat: NodeJS.Timeout;
  /** performance.now() of the last heartbeat tick, to notice ticks that came late because this process stalled. */
  lastBeatAt: number;
}

/**
 * Lock relays and door switches on an Arduino running StandardFirmata, over TCP (StandardFirmataWiFi/Ethernet)
 * or a serial port, through johnny-five. Keeps the link up by itself: on every (re)connect it drives every lock
 * output LOW, then reads every door switch; a lost link is retried with jittered exponential backoff. While the
 * link is lost, `isOpen` keeps the last level it knew; when `ok` comes back it is current again.
 */
export class FirmataBoard implements CabinetBoard {
  readonly locks: LockBank;
  readonly doors: DoorSensors;

  readonly #options: FirmataBoardOptions;
  readonly #logger: Logger;
  readonly #lockChannels: ReadonlySet<number>;
  readonly #debouncer: DoorDebouncer;
  readonly #queue = new SerialQueue();
  readonly #linkListeners: ListenerSet<LinkState>;
  readonly #edgeListeners: ListenerSet<DoorEdge>;
  readonly #readyWaiters = new ReadyWaiters();
  #link: LinkState = 'connecting';
  #lastLoss: LinkLoss | null = null;
  #connection: Connection | null = null;
  #running = false;
  #stopped = false;
  #attempt = 0;
  #retryTimer: NodeJS.Timeout | null = null;
  #lastFailure = '';
  /** Ends the running pulse's wait early (the link went away: there is nothing left to time). */
  #cutPulse: (() => void) | null = null;
  /** The connect attempt in flight, and how to abort it. */
  #attempting: { promise: Promise<void>; abort: AbortController } | null = null;

  constructor(options: FirmataBoardOptions) {
    this.#options = options;
    this.#logger = (options.logger ?? pino({ level: 'silent' })).child({ component: 'firmata' });
    this.#lockChannels = new Set(options.lockChannels);
    const onError = (error: unknown): void => this.#logger.error({ err: error }, 'a board listener threw');
    this.#linkListeners = new ListenerSet<LinkState>(onError);
    this.#edgeListeners = new ListenerSet<DoorEdge>(onError);
    this.#debouncer = new DoorDebouncer(options.doorSensors, options.debounceMs, (edge) => this.#emitEdge(edge), options.now ?? Date.now);
    this.locks = { pulse: (channel, options) => this.#pulse(channel, options) };
    this.doors = {
      isOpen: (sensor) => this.#debouncer.level(sensor) ?? null,
      onEdge: (listener) => this.#edgeListeners.add(listener),
    };
  }

  get link(): LinkState {
    return this.#link;
  }

  /** Why the link was last lost (`closed-by-board`: the board ended the TCP connection itself, see ports.ts). */
  get lastLoss(): LinkLoss | null {
    return this.#lastLoss;
  }

  onLink(listener: Listener<LinkState>): Unsubscribe {
    return this.#linkListeners.add(listener);
  }

  /** Connects; resolves at the first `ok`, or rejects after `readyTimeoutMs` while it keeps trying in the background. */
  start(options: { readyTimeoutMs?: number } = {}): Promise<void> {
    if (this.#stopped) return Promise.reject(new Error('this board was stopped; build a new one to connect again'));
    if (!this.#running) {
      this.#running = true;
      this.#tryConnect();
    }
    if (this.#link === 'ok') return Promise.resolve();
    const timeoutMs = options.readyTimeoutMs ?? 10_000;
    return this.#readyWaiters.wait(timeoutMs, () => {
      const why = this.#lastFailure ? ` (last attempt: ${this.#lastFailure})` : '';
      return new HardwareUnavailableError(`the board was not ready within ${timeoutMs} ms${why}; still trying in the background`);
    });
  }

  /** Switches every relay off, closes the transport and stops reconnecting; leaves no timer behind. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#stopped = true;
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    this.#readyWaiters.rejectAll(new HardwareUnavailableError('the board was stopped before it was ready'));
    if (this.#attempting) {
      this.#attempting.abort.abort();
      await this.#attempting.promise;
    }
    this.#debouncer.cancelPending();
    const connection = this.#connection;
    this.#connection = null;
    // Not a link change the controller should act on: no onLink listener is called, but `link` reads 'lost'.
    this.#link = 'lost';
    if (connection) {
      clearInterval(connection.heartbeat);
      this.#cutPulse?.();
      for (const relay of connection.relays.values()) relay.open();
      await connection.link.close('stopped', { graceful: true });
    }
    // Let a pulse that is running finish its (now refused) off-write, so nothing outlives stop().
    await this.#queue.run(async () => {});
    this.#logger.info('board stopped');
  }

  async #pulse(channel: number, options: PulseOptions = {}): Promise<void> {
    if (!this.#lockChannels.has(channel)) {
      throw new RangeError(`lock channel ${channel} is not wired to this board (its lock channels: ${[...this.#lockChannels].join(', ')})`);
    }
    if (this.#link !== 'ok' || !this.#connection) throw new HardwareUnavailableError(`the board is ${this.#link === 'connecting' ? 'not connected yet' : 'unreachable'}: lock channel ${channel} was not pulsed`);
    return this.#queue.run(() => (options.stillWanted && !options.stillWanted() ? Promise.resolve() : this.#pulseNow(channel, options.doorSensor)));
  }

  /**
   * One pulse, alone on the wire: energise; once the board confirms the output HIGH, wait pulseMs (so the
   * latch gets at least pulseMs however late the on-write arrived); de-energise, always; confirm it LOW.
   */
  async #pulseNow(channel: number, doorSensor: number | undefined): Promise<void> {
    const connection = this.#connection;
    if (!connection || this.#link !== 'ok') throw new HardwareUnavailableError(`the board went away before lock channel ${channel}'s turn: it was not pulsed`);
    const relay = connection.relays.get(channel)!;
    const started = performance.now();
    // The door's open edge ends the pulse early, but only for a door seen closed when the pulse began.
    let doorOpened = false;
    let endEarly: (() => void) | null = null;
    const watchesDoor = doorSensor !== undefined && this.#debouncer.level(doorSensor) === false;
    const offEdge = watchesDoor
      ? this.#edgeListeners.add((edge) => {
        if (edge.sensor !== doorSensor || !edge.open) return;
        doorOpened = true;
        endEarly?.();
      })
      : () => {};
    try {
      relay.close();
      await this.#confirmOutput(connection, channel, 1);
      if (!doorOpened) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.#options.pulseMs);
          endEarly = () => {
            clearTimeout(timer);
            resolve();
          };
          this.#cutPulse = endEarly;
        });
      }
    } finally {
      offEdge();
      this.#cutPulse = null;
      this.#switchOff(connection, channel, relay);
    }
    if (this.#connection !== connection) {
      throw new HardwareUnavailableError(`the link was lost during the pulse on lock channel ${channel}; every relay is switched off when the board is back`, { energised: true });
    }
    await this.#confirmOutput(connection, channel, 0);
    this.#logger.debug({ channel, ms: Math.round(performance.now() - started) }, 'lock pulsed');
  }

  /** Asks the board what it holds on a lock output; anything but `expected` (or no answer) drops the link. */
  async #confirmOutput(connection: Connection, channel: number, expected: 0 | 1): Promise<void> {
    const timeoutMs = this.#heartbeat.timeoutMs;
    const level = await connection.link.queryOutput(channel, timeoutMs);
    if (this.#connection !== connection) throw new HardwareUnavailableError(`the link was lost during the pulse on lock channel ${channel}; every relay is switched off when the board is back`, { energised: true });
    if (level === expected) return;
    const want = expected ? 'HIGH' : 'LOW';
    const why = level === null ? `the board did not confirm lock channel ${channel} ${want} within ${timeoutMs} ms` : `lock channel ${channel} does not read ${want} after its write`;
    this.#lose(connection, why, level === null ? 'no-answer' : 'bad-answer');
    throw new HardwareUnavailableError(`${why}; reconnecting (which switches every relay off)`, { energised: true });
  }

  /** The off-write. If it cannot be made on this link, the link is dropped: the next connect drives every relay LOW. */
  #switchOff(connection: Connection, channel: number, relay: J5Relay): void {
    if (this.#connection !== connection) return;
    try {
      relay.open();
    } catch (error) {
      this.#lose(connection, `could not switch lock channel ${channel} off: ${(error as Error).message}`, 'bad-answer');
    }
  }

  get #heartbeat(): { intervalMs: number; timeoutMs: number } {
    return this.#options.heartbeat ?? { intervalMs: 1000, timeoutMs: 3000 };
  }

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
    let link: FirmataLink | null = null;
    const onAbort = (): void => void link?.close('stopped');
    signal.addEventListener('abort', onAbort);
    try {
      link = await FirmataLink.open({ transport: this.#options.transport, handshakeTimeoutMs: this.#options.handshakeTimeoutMs ?? 5000, signal });
      // Relays first: whatever a previous host (or this one, before a crash) left HIGH goes LOW now.
      const relays = new Map<number, J5Relay>();
      for (const channel of this.#options.lockChannels) relays.set(channel, link.relay(channel));
      const levels = await this.#readSensors(link);
      if (signal.aborted) throw new Error('stopped');
      this.#online(link, relays, levels);
    } catch (error) {
      await link?.close('failed to start');
      if (!this.#running) return;
      this.#lastFailure = (error as Error).message;
      const delayMs = this.#nextDelay();
      const log = this.#attempt === 1 ? this.#logger.warn.bind(this.#logger) : this.#logger.debug.bind(this.#logger);
      log({ err: this.#lastFailure, retryInMs: delayMs, attempt: this.#attempt }, 'board connect failed');
      this.#retryTimer = setTimeout(() => this.#tryConnect(), delayMs);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  #nextDelay(): number {
    return backoffDelay(this.#attempt++, this.#options.reconnect ?? { minMs: 250, maxMs: 10_000 }, this.#options.random);
  }

  /**
   * Turns on pull-ups and reporting for every door switch and resolves with each one's first reported level
   * (StandardFirmata answers a port's report request with that port's state at once). Later reports go to the
   * debouncer once the link is the driver's current one. Not johnny-five's Switch (a fixed 5 ms debounce)
   * nor Pin (in INPUT mode it starts a 20 ms setInterval nobody can clear): Firmata's own report suffices.
   */
  #readSensors(link: FirmataLink): Promise<Map<number, boolean>> {
    const sensors = this.#options.doorSensors;
    const levels = new Map<number, boolean>();
    const timeoutMs = this.#options.handshakeTimeoutMs ?? 5000;
    return new Promise((resolve, reject) => {
      if (sensors.length === 0) return resolve(levels);
      const fail = (error: Error): void => {
        clearTimeout(timer);
        offClose();
        reject(error);
      };
      const timer = setTimeout(() => fail(new Error(`the board did not report its door switches within ${timeoutMs} ms`)), timeoutMs);
      const offClose = link.onClose((reason) => fail(new Error(`${reason} while reading the door switches`)));
      const legacyPullUps = new Set<number>();
      for (const sensor of sensors) {
        if (link.io.pins[sensor]?.supportedModes.includes(link.io.MODES.PULLUP)) {
          link.io.pinMode(sensor, link.io.MODES.PULLUP);
        } else {
          // StandardFirmata before 2.5 has no PULLUP mode (it answers "unknown pin mode" and the pin stays an
          // output); there an input written HIGH turns its pull-up on, as on the bare AVR.
          link.io.pinMode(sensor, link.io.MODES.INPUT);
          link.io.digitalWrite(sensor, link.io.HIGH);
          legacyPullUps.add(sensor);
        }
      }
      for (const sensor of sensors) {
        link.io.digitalRead(sensor, (value) => {
          // firmata-io stores a reported LOW in its copy of the port, and a relay write on the same port would
          // send that LOW back, switching this pull-up off: keep the bit set.
          if (legacyPullUps.has(sensor)) keepPullUp(link.io, sensor);
          const open = value === 1;
          if (this.#connection?.link === link) {
            this.#debouncer.sample(sensor, open);
            return;
          }
          levels.set(sensor, open);
          if (levels.size === sensors.length) {
            clearTimeout(timer);
            offClose();
            resolve(levels);
          }
        });
      }
    });
  }

  #online(link: FirmataLink, relays: Map<number, J5Relay>, levels: Map<number, boolean>): void {
    const connection: Connection = { link, relays, heartbeat: setInterval(() => this.#beat(connection), this.#heartbeat.intervalMs), lastBeatAt: performance.now() };
    this.#connection = connection;
    this.#watchForRestart(connection);
    this.#attempt = 0;
    this.#lastFailure = '';
    link.onClose((reason, cause) => this.#lose(connection, reason, cause ?? 'connection-lost'));
    const moved = [...levels].map(([sensor, open]) => this.#debouncer.learn(sensor, open)).filter((edge) => edge !== null);
    this.#logger.info({ transport: describe(this.#options.transport), doorsOpen: [...levels].filter(([, open]) => open).map(([s]) => s) }, 'board connected');
    this.#setLink('ok');
    this.#readyWaiters.resolveAll();
    for (const edge of moved) this.#emitEdge(edge);
  }

  /**
   * A board that resets (brown-out, watchdog, a power blip) boots in under the heartbeat's timeout and greets
   * again with its firmware name, having forgotten every pin mode: take that as a lost link, so the reconnect
   * sets the board up again (relays LOW first, door switches reporting). Nothing of ours asks for the firmware
   * name after the handshake.
   */
  #watchForRestart(connection: Connection): void {
    connection.link.io.on('queryfirmware', () => this.#lose(connection, 'the board restarted (it greeted again with its firmware name)', 'board-restarted'));
  }

  #beat(connection: Connection): void {
    const now = performance.now();
    const lateMs = now - connection.lastBeatAt - this.#heartbeat.intervalMs;
    connection.lastBeatAt = now;
    // A tick a whole interval late means this process was stalled (GC, a slow disk, an overloaded PC): the
    // board's answers may be waiting unread in the socket, since timers run before I/O. Judge on the next tick.
    if (lateMs > this.#heartbeat.intervalMs) return connection.link.ping();
    const silentMs = now - connection.link.lastHeardAt;
    if (silentMs > this.#heartbeat.timeoutMs) this.#lose(connection, `the board stopped answering (silent for ${Math.round(silentMs)} ms)`, 'no-answer');
    else connection.link.ping();
  }

  #lose(connection: Connection, reason: string, cause: LinkLossCause): void {
    if (this.#connection !== connection) return;
    this.#connection = null;
    this.#lastLoss = { cause, reason };
    clearInterval(connection.heartbeat);
    this.#cutPulse?.();
    // A board that stopped answering may still be powered and listening: say LOW to every relay on the way
    // out (harmless if the socket is gone). The next connect drives them LOW again before anything else.
    for (const relay of connection.relays.values()) {
      try {
        relay.open();
      } catch { /* the transport is already closed */ }
    }
    this.#debouncer.cancelPending();
    void connection.link.close(reason);
    this.#logger.warn({ reason, cause }, 'board link lost');
    this.#setLink('lost');
    if (this.#running && !this.#retryTimer) this.#retryTimer = setTimeout(() => this.#tryConnect(), this.#nextDelay());
  }

  #emitEdge(edge: DoorEdge): void {
    this.#logger.debug({ sensor: edge.sensor, open: edge.open }, 'door edge');
    this.#edgeListeners.emit(edge);
  }

  #setLink(state: LinkState): void {
    if (this.#link === state) return;
    this.#link = state;
    this.#linkListeners.emit(state);
  }
}

function describe(transport: TransportConfig): string {
  return transport.kind === 'tcp' ? `tcp://${transport.host}:${transport.port}` : `${transport.path}@${transport.baudRate}`;
}

/** Sets `pin`'s bit in firmata-io's copy of its port, so a later write to the port keeps the pull-up on. */
function keepPullUp(io: { ports: number[] }, pin: number): void {
  const port = pin >> 3;
  io.ports[port] = (io.ports[port] ?? 0) | (1 << (pin & 7));
}
