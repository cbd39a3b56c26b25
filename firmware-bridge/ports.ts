// The interfaces the controller sees. Every driver (Firmata, RS-485 lock boards, the simulator's wire
// protocols) implements these; the controller never imports a driver directly.

export type Unsubscribe = () => void;
export type Listener<T> = (value: T) => void;

/** A door switch changed state (after debounce). `at` is the driver's clock in ms since the epoch. */
export interface DoorEdge {
  readonly sensor: number;
  readonly open: boolean;
  readonly at: number;
}

/** Relays that release compartment latches. A channel is energised only for a pulse, never held. */
export interface LockBank {
  /**
   * Energise the channel for the driver's configured pulse length, then de-energise it.
   * Resolves once the relay is off again; rejects if the board is not reachable (nothing was energised then).
   */
  pulse(channel: number): Promise<void>;
}

/** Door switches, one per compartment. */
export interface DoorSensors {
  /** The last known debounced state; `null` while unknown (board not yet reporting). */
  isOpen(sensor: number): boolean | null;
  onEdge(listener: Listener<DoorEdge>): Unsubscribe;
}

export type LinkState = 'connecting' | 'ok' | 'lost';

/** One board (Firmata or a lock-control board) driving locks and reading doors. */
export interface CabinetBoard {
  readonly locks: LockBank;
  readonly doors: DoorSensors;
  readonly link: LinkState;
  onLink(listener: Listener<LinkState>): Unsubscribe;
  /** Connects (and keeps reconnecting with backoff); resolves when first `ok` or rejects after the timeout. */
  start(options?: { readyTimeoutMs?: number }): Promise<void>;
  stop(): Promise<void>;
}

/** A line-framed barcode/QR scanner. Lines arrive already trimmed, never empty, printable text only. */
export interface Scanner {
  onLine(listener: Listener<string>): Unsubscribe;
  start(): Promise<void>;
  stop(): Promise<void>;
}
