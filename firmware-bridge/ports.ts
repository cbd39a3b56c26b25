// The interfaces the controller sees. Every driver (Firmata, RS-485 lock boards, the simulator's wire
// protocols) implements these; the controller never imports a driver directly.

export { HardwareUnavailableError } from './errors.ts';

export type Unsubscribe = () => void;
export type Listener<T> = (value: T) => void;

/** A door switch changed state (after debounce). `at` is the driver's clock in ms since the epoch. */
export interface DoorEdge {
  readonly sensor: number;
  readonly open: boolean;
  readonly at: number;
}

export interface PulseOptions {
  /**
   * The door switch of the compartment this lock holds. When given, and that door was closed when the pulse
   * began, the relay is switched off as soon as the door is reported open (the latch has done its work), so
   * the next lock in line is not kept waiting. A door already "open" (a lying sensor) gets the full pulse.
   */
  readonly doorSensor?: number;
  /**
   * Asked right before the relay is energised (a pulse may wait behind others): false skips the pulse, e.g.
   * when the door opened meanwhile and a retry is no longer needed.
   */
  readonly stillWanted?: () => boolean;
}

/** Relays that release compartment latches. A channel is energised only for a pulse, never held. */
export interface LockBank {
  /**
   * Energise the channel for at most the driver's configured pulse length, then de-energise it. Pulses run
   * one at a time. Resolves once the relay is off again; rejects if the board is not reachable.
   */
  pulse(channel: number, options?: PulseOptions): Promise<void>;
}

/** Door switches, one per compartment. */
export interface DoorSensors {
  /** The last known debounced state; `null` while unknown (board not yet reporting). */
  isOpen(sensor: number): boolean | null;
  onEdge(listener: Listener<DoorEdge>): Unsubscribe;
}

export type LinkState = 'connecting' | 'ok' | 'lost';

/**
 * Why a link went `lost`, as far as the driver can tell. The driver only says what it saw on the wire; what
 * that means for the cabinet (an alarm or not) is the controller's decision.
 *
 * - `closed-by-board`: the board closed the connection in an orderly way (over TCP: a FIN the driver did not
 *   ask for). A StandardFirmataWiFi/Ethernet board has one client slot and does this when another host
 *   connects, so another host now holds the board (or its network stack restarted).
 * - `connection-lost`: the connection failed or was reset (a TCP RST, a pulled cable, a serial port gone).
 * - `no-answer`: the board stopped answering (heartbeat, or an output it did not confirm in time).
 * - `bad-answer`: the driver dropped the link itself: an output did not read what was written, or a write failed.
 * - `board-restarted`: the board greeted again as after power-on (a brown-out, a watchdog reset): it forgot its
 *   set-up, so the driver connects afresh.
 */
export type LinkLossCause = 'closed-by-board' | 'connection-lost' | 'no-answer' | 'bad-answer' | 'board-restarted';

export interface LinkLoss {
  readonly cause: LinkLossCause;
  /** The driver's own words, for logs. */
  readonly reason: string;
}

/** The item sensor of a compartment saw an item arrive or go. `at` is the driver's clock in ms since the epoch. */
export interface ItemChange {
  readonly lockId: number;
  readonly present: boolean;
  readonly at: number;
}

/**
 * Item-present sensors, one per compartment, where the board has them (Kerong KR-CU's infrared bits). Read by
 * polling, like the doors. A compartment is known by its lock id (`firmware-bridge/lockboard/lock-id.ts`), the
 * same number as its lock channel and door sensor.
 */
export interface ItemSensors {
  /** Whether an item is seen in the compartment; `null` while unknown (board not yet answering). */
  isPresent(lockId: number): boolean | null;
  /** Called when a polled reading differs from the last one (the first reading is not a change). */
  onChange(listener: Listener<ItemChange>): Unsubscribe;
}

/**
 * What a bus driver counts on its wire since it was built, for /metrics. The skip counts are the frame reader's
 * (see `firmware-bridge/lockboard/frame-reader.ts`); bytes that arrive between transactions count as stray.
 */
export interface BusCounters {
  /** Requests written (opens and queries, retries included). */
  readonly requests: number;
  /** Open frames written: exactly one per `pulse()` that reached the wire. */
  readonly opens: number;
  /** Requests answered by the awaited reply. */
  readonly replies: number;
  /** Requests that got no awaited reply in time. */
  readonly timeouts: number;
  /** Queries asked again after a timeout (an open is never sent again). */
  readonly retries: number;
  readonly strayBytes: number;
  readonly badChecks: number;
  readonly wrongAddress: number;
  readonly unexpected: number;
  readonly echoes: number;
  readonly truncated: number;
}

/** One board (Firmata or a lock-control board) driving locks and reading doors. */
export interface CabinetBoard {
  readonly locks: LockBank;
  readonly doors: DoorSensors;
  /** Present only when the board reports item-present sensors (Kerong KR-CU); absent for Firmata and 8A/80. */
  readonly items?: ItemSensors;
  readonly link: LinkState;
  /**
   * Why the link was last lost; set before the `lost` listeners are called, so they can read it. `null` until a
   * first loss. A driver that cannot tell why leaves it out.
   */
  readonly lastLoss?: LinkLoss | null;
  onLink(listener: Listener<LinkState>): Unsubscribe;
  /** Connects (and keeps reconnecting with backoff); resolves when first `ok` or rejects after the timeout. */
  start(options?: { readyTimeoutMs?: number }): Promise<void>;
  stop(): Promise<void>;
  /** What the driver counted on a request/response bus (RS-485 lock boards); absent where that means nothing. */
  stats?(): BusCounters;
}

/** A line-framed barcode/QR scanner. Lines arrive already trimmed, never empty, printable text only. */
export interface Scanner {
  onLine(listener: Listener<string>): Unsubscribe;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A resident ID-card reader (二代证). Each card is reported once while it lies on the reader (again only after
 * it was taken away). A `CardRead` holds the ID number and nothing else of the card; drop it once compared.
 */
export interface IdReader {
  readonly link: LinkState;
  onLink(listener: Listener<LinkState>): Unsubscribe;
  onCard(listener: Listener<import('./idcard/card-read.ts').CardRead>): Unsubscribe;
  /** What the reader answered, counted (requests, timeouts, refusals by status name …), for /metrics. */
  readonly stats?: import('./idcard/reader.ts').IdCardReaderStats;
  /** Connects and keeps reconnecting with backoff; an absent reader is not an error (its link is `lost`). */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Why a still could not be taken, in the camera's terms (the message says it in words). */
export type StillFailure = 'unreachable' | 'timeout' | 'wrong-credentials' | 'unsupported-auth' | 'http-error' | 'not-jpeg' | 'too-large';

export type StillCapture =
  | { readonly ok: true; readonly jpeg: Buffer }
  | { readonly ok: false; readonly reason: StillFailure; readonly message: string };

/** A camera over the cabinet's doors (an IP camera's snapshot URL): one JPEG per capture. Never throws. */
export interface StillCamera {
  capture(): Promise<StillCapture>;
}
