import { Duplex } from 'node:stream';
import { board8a80, boardKerong, codec8a80, codecKerong, decodeFrame, hex } from '../../firmware-bridge/lockboard/index.ts';

// A scripted stand-in for an RS-485 bus, in memory: the host's end is a Duplex handed to the driver (its
// `openWire`), the far end hears each request with the codec's board side and answers with the codec's board-side
// encoders — or as the test's script says (late, never, with noise, damaged). It also checks that the host never
// writes while a request is still unanswered and within its window.

export type HeardRequest = board8a80.HeardRequest8a80 | boardKerong.HeardRequestKerong;

/** What the script does with one request: the default reply, other bytes, nothing, or bytes after a delay. */
export type Answer = 'default' | null | Buffer | { readonly after: number; readonly bytes: Buffer | 'default' };

export interface PeerBoard {
  /** Channel → latched (door shut). Unlisted channels read open. */
  locked: Map<number, boolean>;
  /** Kerong: channel → item seen. */
  items: Map<number, boolean>;
}

export interface Heard {
  readonly at: number;
  readonly frame: string;
  readonly request: HeardRequest;
}

/** Two Duplex ends joined back to back: what one writes, the other reads. Destroying one ends the other. */
export function duplexPair(): [Duplex, Duplex] {
  const ends: Duplex[] = [];
  const make = (index: 0 | 1) => new Duplex({
    read() {},
    write(chunk: Buffer, _encoding, callback) {
      ends[1 - index]!.push(chunk);
      callback();
    },
    final(callback) {
      ends[1 - index]!.push(null);
      callback();
    },
    destroy(error, callback) {
      const other = ends[1 - index]!;
      if (!other.destroyed) other.destroy();
      callback(error);
    },
  });
  ends.push(make(0), make(1));
  return [ends[0]!, ends[1]!];
}

export class ScriptedBus {
  readonly heard: Heard[] = [];
  /** Requests written while an earlier one was still awaiting its (scripted) reply. */
  readonly overlaps: string[] = [];
  readonly boards = new Map<number, PeerBoard>();
  /** Every end the host opened (one per connection). */
  readonly ends: Duplex[] = [];
  script: (request: HeardRequest, heard: Heard) => Answer = () => 'default';
  /** An open releases the latch (the door springs open), as a board with a door would. */
  opensDoors = true;
  #outstanding: string | null = null;
  #timers = new Set<NodeJS.Timeout>();

  constructor(readonly protocol: '8a80' | 'kerong-cu', boards: readonly number[], readonly channels = protocol === '8a80' ? 24 : 16) {
    for (const board of boards) {
      this.boards.set(board, { locked: new Map(Array.from({ length: channels }, (_, i) => [i + 1, true])), items: new Map() });
    }
  }

  /** For the driver's `openWire`: a fresh in-memory connection. */
  open = async (): Promise<Duplex> => {
    const [host, far] = duplexPair();
    this.ends.push(far);
    far.on('data', (chunk: Buffer) => this.#hear(far, chunk));
    return host;
  };

  /** The open frames heard, as hex. */
  get opens(): string[] {
    return this.heard.filter((h) => h.request.kind === 'open').map((h) => h.frame);
  }

  get refused(): Heard[] {
    return this.heard.filter((h) => h.request.kind === 'refused');
  }

  /** Drops every connection, as a pulled cable would. */
  cut(): void {
    for (const end of this.ends) end.destroy();
  }

  stop(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.cut();
  }

  /** The board's default answer to a request, from its state. */
  reply(request: HeardRequest): Buffer | null {
    if (request.kind === 'refused') return null;
    const address = request.kind === 'query-board' ? request.board.board : request.lock.board;
    const board = this.boards.get(address);
    if (!board) return null;
    if (this.protocol === '8a80') {
      const r = request as board8a80.HeardRequest8a80;
      if (r.kind === 'open') return board8a80.encodeOpenReply(r.lock);
      if (r.kind === 'query-lock') return board8a80.encodeLockStatus(r.lock, board.locked.get(r.lock.channel) ?? false);
      if (r.kind === 'query-board') return board8a80.encodeBoardStatus(r.board, Array.from({ length: this.channels }, (_, i) => board.locked.get(i + 1) ?? false));
      return null;
    }
    const parsed = codecKerong.parseBoardAddress(address);
    if (!parsed.ok) return null;
    return boardKerong.encodeStatus(parsed.value, Array.from({ length: this.channels }, (_, i) => ({ locked: board.locked.get(i + 1) ?? false, itemPresent: board.items.get(i + 1) ?? false })));
  }

  #hear(far: Duplex, chunk: Buffer): void {
    const decoded = this.protocol === '8a80' ? decodeFrame<HeardRequest>(board8a80.expectRequest(), chunk) : decodeFrame<HeardRequest>(boardKerong.expectRequest(), chunk);
    const request: HeardRequest = decoded.ok ? decoded.value : { kind: 'refused', reason: `not one whole request: ${decoded.reason}`, frame: hex(chunk) };
    const heard: Heard = { at: performance.now(), frame: hex(chunk), request };
    this.heard.push(heard);
    if (this.#outstanding !== null) this.overlaps.push(`${heard.frame} while ${this.#outstanding} was awaiting its reply`);
    if (request.kind === 'open' && this.opensDoors) {
      const board = this.boards.get(request.lock.board);
      board?.locked.set(request.lock.channel, false);
    }
    const answer = this.script(request, heard);
    if (answer === null) return;
    const send = (bytes: Buffer | null) => {
      this.#outstanding = null;
      if (bytes && !far.destroyed) far.write(bytes);
    };
    if (Buffer.isBuffer(answer)) return send(answer);
    if (answer === 'default') return send(this.reply(request));
    this.#outstanding = heard.frame;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      send(answer.bytes === 'default' ? this.reply(request) : answer.bytes);
    }, answer.after);
    this.#timers.add(timer);
  }
}

export { codec8a80, codecKerong };
