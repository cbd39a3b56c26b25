import { hex } from '../firmware-bridge/lockboard/index.ts';
import type { BoardRequest } from './lockboard-protocol.ts';

// What the emulated lock-board bus heard and did with it, kept where tests and `GET /sim/bus` can read it: the
// latest frames, every refused (forbidden) frame, and running counts.

export type LinkKind = 'tcp' | 'serial';

/** Why a frame got no reply. */
export type Unanswered = 'refused' | 'bad-frame' | 'no-such-board' | 'no-such-channel' | 'board-silent' | 'no-open-reply' | 'no-unlock-reply' | 'cable';

/** One frame heard on the bus, and what came of it. */
export interface BusLogEntry {
  readonly seq: number;
  /** Epoch milliseconds. */
  readonly at: number;
  readonly link: LinkKind;
  /** The bytes heard, as the hardware sheets write them. */
  readonly frame: string;
  /** `refused`: a forbidden frame (opens several locks, every board …); `bad-frame`: a wrong check byte or trailer. */
  readonly request: BoardRequest['kind'] | 'refused' | 'bad-frame';
  readonly board?: number;
  readonly channel?: number;
  /** The compartment whose latch an open fired. */
  readonly door?: string;
  readonly reason?: string;
  readonly reply: string | null;
  readonly unanswered?: Unanswered;
}

export interface BusCounts {
  /** Frames heard with a good check byte, refused ones included. */
  readonly requests: number;
  readonly opens: number;
  /** Forbidden frames: none may ever come from the controller. */
  readonly refused: number;
  /** Frames with a wrong check byte or trailer. */
  readonly badFrames: number;
  /** Host bytes outside any frame. */
  readonly strayBytes: number;
  /** TCP clients turned away while one was connected. */
  readonly refusedClients: number;
}

type Tally = { -readonly [K in keyof BusCounts]: BusCounts[K] };
/** An entry while its transaction runs: the reply, the door fired and why it went unanswered are filled in. */
export type BusLogRecord = { -readonly [K in keyof BusLogEntry]: BusLogEntry[K] };

const LOG_LIMIT = 500;
const REFUSED_LIMIT = 100;

export class BusLog {
  readonly #now: () => number;
  #seq = 0;
  #entries: BusLogRecord[] = [];
  readonly #refused: BusLogEntry[] = [];
  readonly #counts: Tally = { requests: 0, opens: 0, refused: 0, badFrames: 0, strayBytes: 0, refusedClients: 0 };

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Logs a frame; the record returned is the log's own, to be completed as the transaction goes on. */
  record(link: LinkKind, frame: Uint8Array, fields: Omit<BusLogRecord, 'seq' | 'at' | 'link' | 'frame' | 'reply'>): BusLogRecord {
    const entry: BusLogRecord = { seq: ++this.#seq, at: this.#now(), link, frame: hex(frame), reply: null, ...fields };
    this.#entries.push(entry);
    if (this.#entries.length > LOG_LIMIT) this.#entries.splice(0, this.#entries.length - LOG_LIMIT);
    if (entry.request === 'refused' && this.#refused.length < REFUSED_LIMIT) this.#refused.push({ ...entry });
    return entry;
  }

  count(what: keyof BusCounts, by = 1): void {
    this.#counts[what] += by;
  }

  get counts(): BusCounts {
    return { ...this.#counts };
  }

  /** Oldest first; `sinceSeq` keeps only the frames heard after that one. */
  entries(sinceSeq = 0): BusLogEntry[] {
    return this.#entries.filter((e) => e.seq > sinceSeq).map((e) => ({ ...e }));
  }

  get refused(): readonly BusLogEntry[] {
    return [...this.#refused];
  }
}
