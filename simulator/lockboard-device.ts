import net from 'node:net';
import type { Duplex } from 'node:stream';
import { hex } from '../firmware-bridge/lockboard/index.ts';
import { ListenerSet } from '../firmware-bridge/listeners.ts';
import type { Unsubscribe } from '../firmware-bridge/ports.ts';
import { SimError, type CabinetModel } from './cabinet-model.ts';
import { boardSide8a80 } from './lockboard-8a80.ts';
import { boardSideKerong } from './lockboard-kerong.ts';
import { BusLog, type BusCounts, type BusLogEntry, type BusLogRecord, type LinkKind } from './lockboard-log.ts';

export type { BusCounts, BusLogEntry, LinkKind, Unanswered } from './lockboard-log.ts';
import { frameTimeMs, type BoardRequest, type BoardSide, type BusRequest, type ChannelReading, type LockboardProtocol, type LockboardSettings } from './lockboard-protocol.ts';
import { listenOn } from './listen.ts';

// An RS-485 bus of lock-control boards in software (8A/80 or Kerong KR-CU), on the one cabinet model: the host
// asks, the addressed board answers, anyone else stays silent. An open fires that one latch in the model (the
// door springs open as with Firmata); status replies read the model's door switches and item sensors. The bus
// is reached through an RS-485-to-Ethernet converter (a TCP server, one client at a time) or a serial line (any
// duplex stream: the simulator attaches one end of a pseudo-terminal pair). Every frame heard is logged, so a
// test can prove the host never sent a forbidden one; those are refused, as a board that must never open
// several locks would.

/** What a broken board does. `silent`: answers nothing, fires nothing. `stray-bytes`: noise before each reply.
 * `bad-check`: replies with a wrong check byte. `no-open-reply`: fires the latch but never answers the open.
 * `wrong-address`: replies name another lock (8A/80 one-lock replies) or another board. */
export const BUS_FAULTS = ['silent', 'stray-bytes', 'bad-check', 'no-open-reply', 'wrong-address'] as const;
export type BusFault = (typeof BUS_FAULTS)[number];
/** Noise seen before replies on real buses. */
export const DEFAULT_STRAY_BYTES: readonly number[] = [0xfa, 0xfd, 0x99, 0x99];

/** A compartment on the bus: its lock on `channel` (1-based) of board `board`. */
export interface LockboardDoor {
  readonly id: string;
  readonly board: number;
  readonly channel: number;
}

export interface BusBoardState {
  readonly board: number;
  readonly channels: number;
  readonly fault: BusFault | null;
  /** What a `stray-bytes` board sends before each reply. */
  readonly strayBytes: string;
  /** Channel → compartment. */
  readonly doors: Record<string, string>;
}

export interface BusReport {
  readonly protocol: LockboardProtocol;
  readonly baudRate: number;
  readonly settings: LockboardSettings;
  readonly cable: 'connected' | 'disconnected';
  readonly tcp: { readonly port: number | null; readonly client: 'connected' | 'waiting' };
  /** The pseudo-terminal the controller opens, when the serial path runs. */
  readonly pty: string | null;
  readonly boards: readonly BusBoardState[];
  readonly counts: BusCounts;
  /** Every refused frame (the first 100). */
  readonly refused: readonly BusLogEntry[];
  /** The most recent frames (up to 500), oldest first. */
  readonly log: readonly BusLogEntry[];
}

export interface LockboardDeviceOptions {
  readonly protocol: LockboardProtocol;
  readonly settings: LockboardSettings;
  /** The compartments on the bus; the boards they name are the boards that exist. */
  readonly doors: readonly LockboardDoor[];
  readonly host?: string;
  /** TCP port of the converter; 0 picks a free one. */
  readonly port: number;
  /** The clock of the log's `at` (epoch ms). */
  readonly now?: () => number;
}

/** A partial frame followed by this much silence is dropped: frames end by silence. */
const SILENCE_MS = 50;

interface Board {
  readonly board: number;
  /** Channel → the door there and the model's lock channel for it. */
  readonly doors: Map<number, { readonly id: string; readonly lockChannel: number }>;
  fault: BusFault | null;
  stray: Buffer;
}

interface Link {
  readonly stream: Duplex;
  readonly kind: LinkKind;
  pending: Buffer;
  silence: NodeJS.Timeout | null;
  /** One transaction at a time per link: replies leave in the order the requests came. */
  queue: Promise<void>;
  heardRequest: boolean;
}

export function boardSideFor(protocol: LockboardProtocol, settings: LockboardSettings): BoardSide {
  return protocol === '8a80' ? boardSide8a80(settings) : boardSideKerong(settings);
}

export class LockboardBusEmulator {
  readonly #model: CabinetModel;
  readonly #options: LockboardDeviceOptions;
  readonly #side: BoardSide;
  readonly #boards = new Map<number, Board>();
  readonly #changes = new ListenerSet<void>();
  readonly #pulses = new Map<number, NodeJS.Timeout>();
  readonly #sleeps = new Set<NodeJS.Timeout>();
  #server: net.Server | null = null;
  #port: number | null = null;
  #tcp: Link | null = null;
  #serial: { link: Link; path: string | null } | null = null;
  #cable: 'connected' | 'drop' | 'silent' = 'connected';
  #stopped = false;
  readonly #log: BusLog;

  constructor(model: CabinetModel, options: LockboardDeviceOptions) {
    this.#model = model;
    this.#options = options;
    this.#side = boardSideFor(options.protocol, options.settings);
    this.#log = new BusLog(options.now);
    const lockChannels = new Map(model.doors.map((d) => [d.id, d.lockChannel]));
    for (const door of options.doors) {
      const problem = this.#side.addressProblem(door.board, door.channel);
      if (problem) throw new SimError(`door ${door.id}: ${problem}`);
      const lockChannel = lockChannels.get(door.id);
      if (lockChannel === undefined) throw new SimError(`door ${door.id} is not in the cabinet`);
      const board = this.#boards.get(door.board) ?? { board: door.board, doors: new Map(), fault: null, stray: Buffer.from(DEFAULT_STRAY_BYTES) };
      const taken = board.doors.get(door.channel);
      if (taken) throw new SimError(`doors ${taken.id} and ${door.id} share board ${door.board} channel ${door.channel}`);
      board.doors.set(door.channel, { id: door.id, lockChannel });
      this.#boards.set(door.board, board);
    }
  }

  get protocol(): LockboardProtocol {
    return this.#side.protocol;
  }

  get baudRate(): number {
    return this.#side.baudRate;
  }

  /** Listens as the RS-485-to-Ethernet converter; resolves with the bound port. */
  async start(): Promise<number> {
    if (this.#server) return this.#port!;
    const server = net.createServer((socket) => this.#accept(socket));
    this.#port = await listenOn(server, this.#options.port, this.#options.host ?? '127.0.0.1');
    this.#server = server;
    return this.#port;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const timer of this.#sleeps) clearTimeout(timer);
    this.#sleeps.clear();
    for (const [lockChannel, timer] of this.#pulses) {
      clearTimeout(timer);
      this.#model.setRelay(lockChannel, false);
    }
    this.#pulses.clear();
    if (this.#tcp) this.#release(this.#tcp, 'reset');
    if (this.#serial) this.#release(this.#serial.link);
    this.#serial = null;
    const server = this.#server;
    this.#server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /**
   * The serial line (one end of a pseudo-terminal pair, or any duplex stream a test holds). It stays attached
   * until `stop()`; the TCP client rule does not apply to it.
   */
  attachSerial(stream: Duplex, path: string | null = null): void {
    if (this.#serial) this.#release(this.#serial.link);
    this.#serial = { link: this.#link(stream, 'serial'), path };
  }

  /**
   * Pulls the converter's cable. `drop`: the TCP client is reset and new ones refused. `silent` (a hung bus): the
   * connection stays up but no board hears anything. Either way the serial line goes quiet too.
   */
  disconnect(mode: 'drop' | 'silent' = 'drop'): void {
    this.#cable = mode;
    if (mode === 'drop' && this.#tcp) this.#release(this.#tcp, 'reset');
    this.#changes.emit();
  }

  connect(): void {
    this.#cable = 'connected';
    this.#changes.emit();
  }

  get cableConnected(): boolean {
    return this.#cable === 'connected';
  }

  /** A TCP client is connected, or the serial line has carried a request. */
  get hostConnected(): boolean {
    return this.#tcp !== null || this.#serial?.link.heardRequest === true;
  }

  /** A board fault, a cable, a host, a refused frame: whatever `/sim/state` shows changed. */
  onChange(listener: () => void): Unsubscribe {
    return this.#changes.add(listener);
  }

  /** Breaks (or, with `null`, mends) a board. `strayBytes` replaces the noise a `stray-bytes` board sends. */
  setFault(board: number, fault: BusFault | null, strayBytes?: readonly number[]): BusBoardState {
    const found = this.#board(board);
    found.fault = fault;
    if (strayBytes !== undefined) found.stray = Buffer.from(strayBytes);
    this.#changes.emit();
    return this.#boardState(found);
  }

  get boards(): readonly BusBoardState[] {
    return [...this.#boards.values()].sort((a, b) => a.board - b.board).map((b) => this.#boardState(b));
  }

  get counts(): BusCounts {
    return this.#log.counts;
  }

  /** Every frame heard, oldest first (the last 500); `sinceSeq` keeps only the frames heard after that one. */
  log(sinceSeq = 0): BusLogEntry[] {
    return this.#log.entries(sinceSeq);
  }

  /** Every forbidden frame heard (the first 100). */
  get refusedFrames(): readonly BusLogEntry[] {
    return this.#log.refused;
  }

  report(sinceSeq = 0): BusReport {
    return {
      protocol: this.#side.protocol,
      baudRate: this.#side.baudRate,
      settings: this.#options.settings,
      cable: this.cableConnected ? 'connected' : 'disconnected',
      tcp: { port: this.#port, client: this.#tcp ? 'connected' : 'waiting' },
      pty: this.#serial?.path ?? null,
      boards: this.boards,
      counts: this.counts,
      refused: this.refusedFrames,
      log: this.log(sinceSeq),
    };
  }

  #accept(socket: net.Socket): void {
    socket.setNoDelay(true);
    if (this.#cable === 'drop' || this.#stopped) return void socket.destroy();
    if (this.#tcp && !this.#tcp.stream.destroyed && !this.#tcp.stream.readableEnded) {
      this.#log.count('refusedClients');
      return void socket.destroy(); // a converter with one TCP slot: the newcomer is closed, the host kept
    }
    if (this.#tcp) this.#release(this.#tcp);
    this.#tcp = this.#link(socket, 'tcp');
    this.#changes.emit();
  }

  #link(stream: Duplex, kind: LinkKind): Link {
    const link: Link = { stream, kind, pending: Buffer.alloc(0), silence: null, queue: Promise.resolve(), heardRequest: false };
    stream.on('data', (chunk: Buffer) => this.#receive(link, chunk));
    stream.on('error', () => {}); // a host that vanishes mid-write: 'close' follows
    stream.on('close', () => {
      if (this.#tcp === link) {
        this.#tcp = null;
        this.#changes.emit();
      }
    });
    return link;
  }

  #release(link: Link, how: 'reset' | 'destroy' = 'destroy'): void {
    if (link.silence) clearTimeout(link.silence);
    if (this.#tcp === link) {
      this.#tcp = null;
      this.#changes.emit();
    }
    if (link.stream.destroyed) return;
    if (how === 'reset' && link.stream instanceof net.Socket) link.stream.resetAndDestroy();
    else if (link.kind === 'tcp') link.stream.destroy();
    else link.stream.removeAllListeners('data'); // the serial port belongs to whoever opened it
  }

  /** Bytes off the wire: every whole request is handled; noise and damaged frames are counted and logged. */
  #receive(link: Link, chunk: Buffer): void {
    if (this.#cable !== 'connected' || this.#stopped) return; // nobody on the bus hears anything
    if (link.silence) clearTimeout(link.silence);
    link.silence = null;
    const bytes = link.pending.length === 0 ? chunk : Buffer.concat([link.pending, chunk]);
    const matcher = this.#side.requests;
    let at = 0;
    while (at < bytes.length) {
      const candidate = matcher.classify(bytes.subarray(at, at + matcher.maxFrameLength), false);
      if (candidate.kind === 'partial') break;
      if (candidate.kind === 'match') {
        this.#heard(link, Buffer.from(bytes.subarray(at, at + candidate.length)), candidate.value);
        at += candidate.length;
        continue;
      }
      if (candidate.kind === 'bad-check') {
        // The damaged frame runs up to where another could start (a request right behind it is still heard).
        const end = this.#nextFrameStart(bytes, at + 1, at + matcher.maxFrameLength);
        this.#badFrame(link, bytes.subarray(at, end), 'wrong check byte or trailer');
        at = end;
        continue;
      }
      this.#log.count('strayBytes');
      at++;
    }
    link.pending = Buffer.from(bytes.subarray(at));
    if (link.pending.length > 0) {
      link.silence = setTimeout(() => {
        link.silence = null;
        if (link.pending.length > 0) this.#badFrame(link, link.pending, 'cut off by silence');
        link.pending = Buffer.alloc(0);
      }, SILENCE_MS);
    }
  }

  /** The first position in `from..limit` (and within `bytes`) where a request could start; else the end of that range. */
  #nextFrameStart(bytes: Buffer, from: number, limit: number): number {
    const matcher = this.#side.requests;
    const end = Math.min(limit, bytes.length);
    for (let at = from; at < end; at++) {
      const kind = matcher.classify(bytes.subarray(at, at + matcher.maxFrameLength), false).kind;
      if (kind === 'match' || kind === 'partial') return at;
    }
    return end;
  }

  #badFrame(link: Link, bytes: Uint8Array, reason: string): void {
    this.#log.count('badFrames');
    this.#log.record(link.kind, bytes, { request: 'bad-frame', reason, unanswered: 'bad-frame' });
  }

  #heard(link: Link, frame: Buffer, request: BusRequest): void {
    this.#log.count('requests');
    if (request.kind === 'refused') {
      this.#log.count('refused');
      this.#log.record(link.kind, frame, { request: 'refused', reason: request.reason, unanswered: 'refused' });
      this.#changes.emit();
      return;
    }
    if (!link.heardRequest) {
      link.heardRequest = true;
      if (link.kind === 'serial') this.#changes.emit();
    }
    const entry = this.#log.record(link.kind, frame, { request: request.kind, board: request.board, ...('channel' in request ? { channel: request.channel } : {}) });
    link.queue = link.queue
      .then(() => this.#transact(link, request, entry, frame.length))
      .catch((error: unknown) => queueMicrotask(() => { throw error; })); // a bug: loud, never a silent bus
  }

  /** One transaction: the request crosses the line, the board acts, its reply crosses back. */
  async #transact(link: Link, request: BoardRequest, entry: BusLogRecord, requestLength: number): Promise<void> {
    const { settings } = this.#options;
    const baud = this.#side.baudRate;
    if (settings.realTiming) await this.#sleep(frameTimeMs(requestLength, baud));
    if (!this.#carries(link)) return void (entry.unanswered = 'cable');
    const board = this.#boards.get(request.board);
    if (!board) return void (entry.unanswered = 'no-such-board'); // nobody has that address: silence, as on a real bus
    if (request.kind !== 'query-board' && request.channel > settings.channelsPerBoard) return void (entry.unanswered = 'no-such-channel');
    if (board.fault === 'silent') return void (entry.unanswered = 'board-silent');
    if (request.kind === 'open') {
      this.#log.count('opens');
      const door = board.doors.get(request.channel);
      if (door) {
        this.#pulse(door.lockChannel);
        entry.door = door.id;
      }
      if (board.fault === 'no-open-reply') return void (entry.unanswered = 'no-open-reply');
    }
    let reply = this.#side.reply(request, this.#readings(board), board.fault === 'wrong-address');
    if (!reply) return void (entry.unanswered = 'no-unlock-reply');
    if (board.fault === 'bad-check') reply[reply.length - 1]! ^= 0xff;
    if (board.fault === 'stray-bytes') reply = Buffer.concat([board.stray, reply]);
    const wait = (request.kind === 'open' ? settings.openReplyDelayMs : 0) + (settings.realTiming ? settings.turnaroundMs + frameTimeMs(reply.length, baud) : 0);
    if (wait > 0) await this.#sleep(wait);
    if (!this.#carries(link)) return void (entry.unanswered = 'cable');
    entry.reply = hex(reply);
    link.stream.write(reply);
  }

  /** The line to this host is up: not stopped, cable in, host still there. */
  #carries(link: Link): boolean {
    if (this.#stopped || this.#cable !== 'connected' || link.stream.destroyed) return false;
    return link.kind === 'serial' ? this.#serial?.link === link : this.#tcp === link;
  }

  /** The board energises one latch for `pulseMs`; an open while it is energised fires it again (one more pulse). */
  #pulse(lockChannel: number): void {
    const running = this.#pulses.get(lockChannel);
    if (running) {
      clearTimeout(running);
      this.#model.setRelay(lockChannel, false);
    }
    this.#model.setRelay(lockChannel, true);
    this.#pulses.set(lockChannel, setTimeout(() => {
      this.#pulses.delete(lockChannel);
      this.#model.setRelay(lockChannel, false);
    }, this.#options.settings.pulseMs));
  }

  /** Each channel's feedback contact (the door switch, stuck or not) and infrared item sensor. */
  #readings(board: Board): ChannelReading[] {
    const doors = this.#model.snapshot();
    return Array.from({ length: this.#options.settings.channelsPerBoard }, (_, i) => {
      const door = board.doors.get(i + 1);
      const state = door && doors[door.id];
      return state ? { locked: !state.sensorOpen, itemPresent: state.occupied } : null;
    });
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#sleeps.delete(timer);
        resolve();
      }, Math.ceil(ms)); // never early: a reply cannot beat the line
      this.#sleeps.add(timer);
    });
  }

  #board(number: number): Board {
    const board = this.#boards.get(number);
    if (!board) throw Object.assign(new SimError(`no board ${number} on this bus: boards are ${[...this.#boards.keys()].sort((a, b) => a - b).join(', ') || 'none'}`), { statusCode: 404 });
    return board;
  }

  #boardState(board: Board): BusBoardState {
    const doors: Record<string, string> = {};
    for (const [channel, door] of [...board.doors].sort((a, b) => a[0] - b[0])) doors[String(channel)] = door.id;
    return { board: board.board, channels: this.#options.settings.channelsPerBoard, fault: board.fault, strayBytes: hex(board.stray), doors };
  }
}
