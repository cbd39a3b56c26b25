import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { IdCardFramer, type IdCardFrame, encodeReadReply, encodeReply, isWellFormedIdNumber, maskIdNumber, parseRequest, TEXT_BLOCK_LENGTH } from '../firmware-bridge/idcard/index.ts';
import { ListenerSet } from '../firmware-bridge/listeners.ts';
import type { Unsubscribe } from '../firmware-bridge/ports.ts';
import { listenOn } from './listen.ts';

// The resident ID-card reader (二代证 SAM module) in software, as it sits behind a serial server: it answers
// find-card, select-card and read-card in the real frames (HARDWARE.md §3), over TCP (one client at a time) or
// any duplex stream (a pseudo-terminal through socat). The person in front of the cabinet puts a card on it and
// takes it away; faults make it answer like a worn reader or a damaged card.

/** `checksum`: the module says our frames reached it damaged (SW3 `10`). `garbled`: its replies arrive with a
 * wrong CHK byte. `unreadable`: a card is found and selected but its read fails (SW3 `41`). */
export const idCardFaults = ['checksum', 'garbled', 'unreadable'] as const;
export type IdCardFault = (typeof idCardFaults)[number];

export interface EmulatedCard {
  /** 18 characters with a GB 11643 check character. */
  readonly idNumber: string;
  /** Goes only into the card's text block, as on a real card. */
  readonly name: string;
}

/** What `startSimulator` takes for the reader: its TCP port (0 or absent: a free one) and, with `pty`, a pseudo-terminal too. */
export interface IdReaderSimOptions {
  readonly port?: number;
  /** Also serve a pseudo-terminal through socat (`idReaderPty`), as a reader on a USB serial adapter. */
  readonly pty?: boolean;
}

export interface IdCardDeviceOptions {
  readonly host?: string;
  /** 0 picks a free port; a restart keeps the port it got. */
  readonly port: number;
}

export interface IdCardDeviceState {
  /** `disconnected` after `disconnect()`: the cable is pulled (`drop`) or the module hangs (`silent`). */
  readonly reader: 'connected' | 'disconnected';
  /** A host (the controller) holds the reader's one connection. */
  readonly host: 'connected' | 'waiting';
  /** The card on the reader, masked; `null` when there is none. */
  readonly card: string | null;
  readonly fault: IdCardFault | null;
  /** Requests answered, by command (to see the host polling). */
  readonly requests: Readonly<Record<string, number>>;
}

interface HostLink {
  readonly stream: Duplex;
  readonly framer: IdCardFramer;
}

/** Requests are 10 bytes; a host sending more per frame is not the cabinet. */
const MAX_REQUEST_FRAME = 64;
const FIND_DATA = Buffer.alloc(4);
const SELECT_DATA = Buffer.alloc(8);

export class IdCardDeviceEmulator {
  readonly #host: string;
  #port: number;
  #server: net.Server | null = null;
  #link: HostLink | null = null;
  #card: { masked: string; text: Buffer; photo: Buffer } | null = null;
  #fault: IdCardFault | null = null;
  #cable: 'connected' | 'drop' | 'silent' = 'connected';
  #pty: { readonly hostPath: string; close(): Promise<void> } | null = null;
  readonly #requests: Record<string, number> = {};
  readonly #changes = new ListenerSet<void>();

  constructor(options: IdCardDeviceOptions) {
    this.#host = options.host ?? '127.0.0.1';
    this.#port = options.port;
  }

  /** Listens; resolves with the port. */
  async start(): Promise<number> {
    if (this.#server) return this.#port;
    const server = net.createServer((socket) => {
      socket.setNoDelay(true);
      // One host at a time, as a serial server's single TCP slot; a pulled cable refuses everyone.
      if (this.#cable === 'drop' || this.#link) socket.destroy();
      else this.attach(socket);
    });
    this.#port = await listenOn(server, this.#port, this.#host);
    this.#server = server;
    return this.#port;
  }

  async stop(): Promise<void> {
    this.#detach(true);
    const server = this.#server;
    this.#server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    await this.#pty?.close();
    this.#pty = null;
  }

  /**
   * Serves a pseudo-terminal too, as a reader on a USB serial adapter: socat joins two, the reader holds one end
   * (115200 8N1) and the controller opens the other, whose path this answers. The pty is then the reader's host.
   */
  async openPty(): Promise<string> {
    if (this.#pty) return this.#pty.hostPath;
    const dir = mkdtempSync(join(tmpdir(), 'govlocker-idcard-'));
    const hostPath = join(dir, 'idcard-host');
    const devicePath = join(dir, 'idcard-device');
    const socat = spawn('socat', [`pty,raw,echo=0,link=${hostPath}`, `pty,raw,echo=0,link=${devicePath}`], { stdio: 'ignore' });
    const cleanUp = () => {
      if (socat.exitCode === null && socat.signalCode === null) socat.kill();
      rmSync(dir, { recursive: true, force: true });
    };
    try {
      await new Promise<void>((resolve, reject) => {
        const deadline = Date.now() + 3000;
        socat.once('error', (error: NodeJS.ErrnoException) => reject(new Error(error.code === 'ENOENT' ? 'the ID-card reader\'s serial path needs socat (apt-get install socat)' : `socat failed: ${error.message}`)));
        const poll = setInterval(() => {
          if (existsSync(hostPath) && existsSync(devicePath)) resolve();
          else if (Date.now() > deadline || socat.exitCode !== null) reject(new Error('socat made no pseudo-terminals within 3 s'));
          else return;
          clearInterval(poll);
        }, 10);
      });
      const { SerialPort } = await import('serialport');
      const port = new SerialPort({ path: devicePath, baudRate: 115200, autoOpen: false });
      await new Promise<void>((resolve, reject) => port.open((error) => (error ? reject(error) : resolve())));
      this.attach(port);
      this.#pty = {
        hostPath,
        close: async () => {
          if (port.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
          cleanUp();
        },
      };
      return hostPath;
    } catch (error) {
      cleanUp();
      throw error;
    }
  }

  get port(): number {
    return this.#port;
  }

  /** A host on any duplex stream (the TCP server uses this; a test may attach a serial port). */
  attach(stream: Duplex): void {
    this.#detach(true);
    const link: HostLink = { stream, framer: new IdCardFramer({ maxFrameLength: MAX_REQUEST_FRAME }) };
    this.#link = link;
    stream.on('data', (chunk: Buffer) => {
      if (this.#link !== link || this.#cable !== 'connected') return;
      for (const frame of link.framer.push(chunk)) this.#answer(link, frame);
    });
    stream.on('error', () => {}); // a host vanishing mid-write: 'close' follows
    stream.on('close', () => {
      if (this.#link === link) this.#detach(false);
    });
    this.#changes.emit();
  }

  /** The person puts a card on the reader (replacing any card there). */
  putCard(card: EmulatedCard): void {
    if (!isWellFormedIdNumber(card.idNumber)) throw new RangeError('idNumber is 17 digits and a GB 11643 check character');
    this.#card = { masked: maskIdNumber(card.idNumber), text: textBlock(card), photo: randomBytes(1024) };
    this.#changes.emit();
  }

  /** The person takes the card away. */
  takeCard(): void {
    this.#card = null;
    this.#changes.emit();
  }

  setFault(fault: IdCardFault | null): void {
    this.#fault = fault;
    this.#changes.emit();
  }

  /**
   * Unplugs the reader. `drop`: the host's connection is reset and new ones are refused (a pulled cable, a
   * serial server switched off). `silent`: the connection stays up but nothing answers (the reader unplugged
   * behind a serial server that is still on).
   */
  disconnect(mode: 'drop' | 'silent' = 'drop'): void {
    this.#cable = mode;
    // A pseudo-terminal stays open (as a USB serial adapter's device node would): the reader just stops answering.
    if (mode === 'drop' && !this.#pty) this.#detach(true);
    this.#changes.emit();
  }

  /** Plugs it back in. */
  connect(): void {
    this.#cable = 'connected';
    this.#changes.emit();
  }

  get state(): IdCardDeviceState {
    return {
      reader: this.#cable === 'connected' ? 'connected' : 'disconnected',
      host: this.#link ? 'connected' : 'waiting',
      card: this.#card?.masked ?? null,
      fault: this.#fault,
      requests: { ...this.#requests },
    };
  }

  /** Something the person or the host did changed the state. */
  onChange(listener: () => void): Unsubscribe {
    return this.#changes.add(listener);
  }

  #answer(link: HostLink, frame: IdCardFrame): void {
    const request = parseRequest(frame);
    const name = request.ok ? request.command : 'unknown';
    this.#requests[name] = (this.#requests[name] ?? 0) + 1;
    let reply = this.#reply(request.ok ? request.command : null);
    if (this.#fault === 'garbled') {
      reply = Buffer.from(reply);
      reply[reply.length - 1]! ^= 0xff;
    }
    link.stream.write(reply);
  }

  #reply(command: 'find-card' | 'select-card' | 'read-card' | null): Buffer {
    if (command === null) return encodeReply('command-error');
    if (this.#fault === 'checksum') return encodeReply('checksum-error');
    const card = this.#card;
    switch (command) {
      case 'find-card':
        return card ? encodeReply('card-found', FIND_DATA) : encodeReply('no-card');
      case 'select-card':
        return card ? encodeReply('ok', SELECT_DATA) : encodeReply('select-failed');
      case 'read-card':
        if (!card || this.#fault === 'unreadable') return encodeReply('read-failed');
        return encodeReadReply(card.text, card.photo);
    }
  }

  /** Lets go of the host; `reset` ends its connection with RST (a reader switched off says no goodbye). */
  #detach(reset: boolean): void {
    const link = this.#link;
    if (!link) return;
    this.#link = null;
    if (reset) {
      if (link.stream instanceof net.Socket && !link.stream.destroyed) link.stream.resetAndDestroy();
      else link.stream.destroy();
    }
    this.#changes.emit();
  }
}

/** The card's 256-byte text block, UTF-16LE and space-padded, laid out as a resident ID card's. */
function textBlock(card: EmulatedCard): Buffer {
  const block = Buffer.alloc(TEXT_BLOCK_LENGTH);
  const put = (offset: number, bytes: number, text: string) => block.write(text.slice(0, bytes / 2).padEnd(bytes / 2, ' '), offset, bytes, 'utf16le');
  const id = card.idNumber;
  put(0, 30, card.name);
  put(30, 2, Number(id.charAt(16)) % 2 === 1 ? '1' : '2'); // gender, from the sequence digit
  put(32, 4, '01'); // nation: 汉
  put(36, 16, id.slice(6, 14)); // birth date
  put(52, 70, '广东省广州市白云区云城街道政务服务中心模拟住址1号');
  put(122, 36, id);
  put(158, 30, '广州市公安局白云分局');
  put(188, 16, '20200101');
  put(204, 16, '20400101');
  put(220, 36, ''); // reserved: a blank card-type mark (a resident ID card)
  return block;
}
