import type { CabinetBoard } from '../../firmware-bridge/ports.ts';
import type { CabinetModel } from '../../simulator/cabinet-model.ts';

// What the conformance suite (./board-suite.ts) needs from a driver and the board it drives: one rig per
// driver/emulator pair, built by that pair's test file. The suite speaks only of this.

/** A compartment the suite may use: its door in the model, its lock channel and door sensor on the driver's ports. */
export interface RigDoor {
  readonly id: string;
  readonly lock: number;
  readonly sensor: number;
}

/** One thing the board heard from the host: a lock-board frame, or one Firmata message. */
export interface WireEntry {
  /** performance.now() when the board heard it. */
  readonly at: number;
  /** The frame as the hardware sheets write it, or the Firmata message in words. */
  readonly text: string;
  /** `open`: it fires a latch; `query`/`setup`: it fires none; `refused`: a frame the board would not obey (forbidden, damaged). */
  readonly kind: 'open' | 'query' | 'setup' | 'refused';
  /** The lock channels it fires (a lock-board open names one; a Firmata write raises the relay pins it takes HIGH). */
  readonly opens: readonly number[];
  /** Firmata: the relay pins HIGH once the board obeyed it. Absent where the frame cannot say (lock boards). */
  readonly energised?: readonly number[];
  readonly reason?: string;
}

/**
 * Who ends a latch pulse. `host`: the relay stays energised until the host switches it off (Firmata: the board
 * keeps its output). `board`: the board times its own pulse of `pulseMs` (RS-485 lock boards).
 */
export type LatchTiming = { readonly timedBy: 'host' } | { readonly timedBy: 'board'; readonly pulseMs: number };

export interface BoardRig {
  readonly model: CabinetModel;
  /** At least three compartments, spread over the board(s) (different ports or boards where there are several). */
  readonly doors: readonly RigDoor[];
  /** The driver started last (by `startDriver`). */
  readonly board: CabinetBoard;
  readonly latch: LatchTiming;
  /** A running driver is heard from at least this often (its poll period or heartbeat interval). */
  readonly heardEveryMs: number;
  /** A board that stops answering must be declared lost within this. */
  readonly lostWithinMs: number;
  /** Builds a new driver on a new connection, starts it and resolves once it is `ok`; it becomes `board`. */
  startDriver(): Promise<CabinetBoard>;
  /** The board stops answering, its connection kept (a hung board); `answerAgain` undoes it. */
  silence(): void;
  answerAgain(): void;
  /**
   * The host dies: its connection is cut without a goodbye, and the driver that held it never reaches the board
   * again (it is then stopped, only to free this process's timers). Start another with `startDriver`.
   */
  crashHost(): Promise<void>;
  /**
   * The board restarts under the driver (a brown-out, a watchdog, a power blip) and resolves once it runs
   * again. Absent where the emulator cannot do it; the rig's setup then says why in `cannot`.
   */
  restartBoard?(): Promise<void>;
  /** The board sees a host connected. */
  hostConnected(): boolean;
  /**
   * Everything the board heard from any host since the rig was opened, oldest first. A lock-board bus keeps its
   * last 500 frames and the first 100 refused ones; refused or damaged frames beyond those still show, as one
   * entry that says how many.
   */
  wire(): readonly WireEntry[];
  /** After each test: the driver stopped, faults cleared, every latch released and every door shut. */
  reset(): Promise<void>;
  dispose(): Promise<void>;
}

/** The suite's tests, by the promise each protects; a rig names the ones its driver is known not to keep yet. */
export const CONFORMANCE_CASES = [
  'pulse-opens-one-door',
  'open-edge',
  'pulses-queue',
  'one-latch-energised',
  'silent-board',
  'one-lock-per-frame',
  'host-crash',
  'board-restart',
  'stop',
] as const;
export type ConformanceCase = (typeof CONFORMANCE_CASES)[number];

export interface RigSetup {
  /** The driver and the board, e.g. "FirmataBoard × the Firmata emulator". */
  readonly name: string;
  open(): Promise<BoardRig>;
  /** How long `open` may take (a board that boots, a firmware fetched once). */
  readonly openTimeoutMs?: number;
  readonly testTimeoutMs?: number;
  /**
   * Tests this driver is known to fail against this board, each with the gap in words: run as `it.fails`, so the
   * day the driver is fixed the test says so and the entry goes.
   */
  readonly knownGaps?: Partial<Record<ConformanceCase, string>>;
  /** Tests the emulator cannot stage (a hook it lacks), each with the reason: skipped, the reason in the title. */
  readonly cannot?: Partial<Record<ConformanceCase, string>>;
}
