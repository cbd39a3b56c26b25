import net from 'node:net';
import type { Duplex } from 'node:stream';
import { ListenerSet } from '../firmware-bridge/listeners.ts';
import type { Unsubscribe } from '../firmware-bridge/ports.ts';
import type { CabinetModel } from './cabinet-model.ts';
import { listenOn } from './listen.ts';

// An Arduino Mega running StandardFirmataWiFi, in software: it speaks Firmata 2.5 over TCP (or any duplex
// stream), drives the model's lock relays from the pins the host writes and reports the model's door switches
// on the pins the host reads. Pin n is lock channel n and door sensor n; a door switch reads HIGH when open.
// It serves one host at a time. The board has no authentication: whoever holds its TCP slot drives the relays.

const REPORT_VERSION = 0xf9;
const SYSTEM_RESET = 0xff;
const START_SYSEX = 0xf0;
const END_SYSEX = 0xf7;
const DIGITAL_MESSAGE = 0x90;
const ANALOG_MESSAGE = 0xe0;
const REPORT_ANALOG = 0xc0;
const REPORT_DIGITAL = 0xd0;
const SET_PIN_MODE = 0xf4;
const SET_DIGITAL_PIN_VALUE = 0xf5;
const QUERY_FIRMWARE = 0x79;
const CAPABILITY_QUERY = 0x6b;
const CAPABILITY_RESPONSE = 0x6c;
const ANALOG_MAPPING_QUERY = 0x69;
const ANALOG_MAPPING_RESPONSE = 0x6a;
const PIN_STATE_QUERY = 0x6d;
const PIN_STATE_RESPONSE = 0x6e;
const SAMPLING_INTERVAL = 0x7a;

const MODE = { INPUT: 0x00, OUTPUT: 0x01, ANALOG: 0x02, PWM: 0x03, PULLUP: 0x0b } as const;

/** The Arduino Mega's pins: 0–53 digital, 54–69 are A0–A15 (which work as digital pins too). */
const TOTAL_PINS = 70;
const FIRST_ANALOG_PIN = 54;
const PWM_PINS = new Set([2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 44, 45, 46]);
const PROTOCOL_VERSION = [2, 5] as const;
const MAX_SYSEX = 4096;

/** One complete message from the host. */
type HostMessage =
  | { kind: 'report-version' }
  | { kind: 'system-reset' }
  | { kind: 'digital-port'; port: number; value: number }
  | { kind: 'analog-write'; pin: number; value: number }
  | { kind: 'report-analog'; channel: number; enable: boolean }
  | { kind: 'report-digital'; port: number; enable: boolean }
  | { kind: 'pin-mode'; pin: number; mode: number }
  | { kind: 'pin-value'; pin: number; value: number }
  | { kind: 'sysex'; command: number; data: number[] };

/** Data bytes that follow each fixed-length command byte. */
function dataLength(command: number): number | null {
  switch (command & 0xf0) {
    case DIGITAL_MESSAGE:
    case ANALOG_MESSAGE:
      return 2;
    case REPORT_ANALOG:
    case REPORT_DIGITAL:
      return 1;
  }
  if (command === SET_PIN_MODE || command === SET_DIGITAL_PIN_VALUE) return 2;
  if (command === REPORT_VERSION || command === SYSTEM_RESET) return 0;
  return null;
}

/**
 * Turns the host's byte stream into messages. Keeps its state across chunks (a message may arrive split over
 * TCP segments); a command byte in the middle of a message starts over, stray data bytes and unknown commands
 * are dropped, as the firmware does.
 */
export class FirmataHostParser {
  #command: number | null = null;
  #args: number[] = [];
  #sysex: number[] | null = null;

  push(chunk: Uint8Array, emit: (message: HostMessage) => void): void {
    for (const byte of chunk) {
      if (this.#sysex) {
        if (byte === END_SYSEX) {
          const [command, ...data] = this.#sysex;
          this.#sysex = null;
          if (command !== undefined) emit({ kind: 'sysex', command, data });
          continue;
        }
        if (byte < 0x80) {
          if (this.#sysex.length < MAX_SYSEX) this.#sysex.push(byte);
          else this.#sysex = null; // overlong: not a message we could answer
          continue;
        }
        this.#sysex = null; // a command byte inside a sysex: the sysex was cut short
      }
      if (byte >= 0x80) {
        this.#command = null;
        this.#args = [];
        if (byte === START_SYSEX) {
          this.#sysex = [];
          continue;
        }
        const length = dataLength(byte);
        if (length === null) continue;
        this.#command = byte;
      } else if (this.#command === null) {
        continue;
      } else {
        this.#args.push(byte);
      }
      const command = this.#command;
      if (command === null || this.#args.length < dataLength(command)!) continue;
      const [a = 0, b = 0] = this.#args;
      this.#command = null;
      this.#args = [];
      emit(decode(command, a, b));
    }
  }
}

function decode(command: number, a: number, b: number): HostMessage {
  switch (command & 0xf0) {
    case DIGITAL_MESSAGE:
      return { kind: 'digital-port', port: command & 0x0f, value: a | (b << 7) };
    case ANALOG_MESSAGE:
      return { kind: 'analog-write', pin: command & 0x0f, value: a | (b << 7) };
    case REPORT_ANALOG:
      return { kind: 'report-analog', channel: command & 0x0f, enable: a !== 0 };
    case REPORT_DIGITAL:
      return { kind: 'report-digital', port: command & 0x0f, enable: a !== 0 };
  }
  if (command === SET_PIN_MODE) return { kind: 'pin-mode', pin: a, mode: b };
  if (command === SET_DIGITAL_PIN_VALUE) return { kind: 'pin-value', pin: a, value: b };
  if (command === REPORT_VERSION) return { kind: 'report-version' };
  return { kind: 'system-reset' };
}

interface PinState {
  mode: number;
  /** The output latch: what an OUTPUT pin drives. */
  latch: 0 | 1;
}

interface HostLink {
  readonly stream: Duplex;
  readonly parser: FirmataHostParser;
  greeting: NodeJS.Timeout | null;
}

/**
 * What the board does with a second TCP client while one is connected. `refuse` (default): a board with a
 * single TCP slot closes the newcomer at once and keeps serving its host. `replace`: as StandardFirmataWiFi
 * does (ESP8266 WiFiServerStream), it stops the old client with an orderly close (FIN) and serves the new one.
 */
export type FirmataClientPolicy = 'refuse' | 'replace';

/** How the board lets go of its host: an orderly close (FIN), a reset (RST: a pulled cable), or at once. */
type Release = 'end' | 'reset' | 'destroy';

/** An old host that does not answer the board's FIN is cut off after this. */
const END_GRACE_MS = 2000;

export interface FirmataDeviceOptions {
  host?: string;
  port: number;
  firmwareName?: string;
  /** The version report repeats this often until the host speaks (a serial host flushes what came before). */
  versionRepeatMs?: number;
  /** A second TCP client while one is connected: `refuse` (default) or `replace` (StandardFirmataWiFi). */
  clients?: FirmataClientPolicy;
}

export class FirmataDeviceEmulator {
  readonly #model: CabinetModel;
  readonly #options: Required<FirmataDeviceOptions>;
  readonly #hostListeners = new ListenerSet<boolean>();
  #pins: PinState[] = defaultPins();
  #reporting: boolean[] = new Array<boolean>(16).fill(false);
  #lastReported: (number | null)[] = new Array<number | null>(16).fill(null);
  #samplingIntervalMs = 19;
  #server: net.Server | null = null;
  #host: HostLink | null = null;
  #cable = true;
  #silent = false;
  #clients: FirmataClientPolicy;
  #offModel: Unsubscribe | null = null;

  constructor(model: CabinetModel, opts: FirmataDeviceOptions) {
    this.#model = model;
    this.#options = { host: '127.0.0.1', firmwareName: 'StandardFirmataWiFi.ino', versionRepeatMs: 50, clients: 'refuse', ...opts };
    this.#clients = this.#options.clients;
  }

  /** Listens for the host; resolves with the bound port (port 0 picks a free one). */
  async start(): Promise<number> {
    if (this.#server) return (this.#server.address() as net.AddressInfo).port;
    this.#offModel = this.#model.onChange(() => this.#reportInputs());
    const server = net.createServer((socket) => {
      socket.setNoDelay(true);
      if (!this.#cable && !this.#silent) socket.destroy();
      else if (this.#clients === 'refuse' && this.#hostAlive()) socket.destroy(); // the only slot is taken
      else this.attach(socket);
    });
    this.#server = server;
    return listenOn(server, this.#options.port, this.#options.host);
  }

  async stop(): Promise<void> {
    this.#offModel?.();
    this.#offModel = null;
    this.#detach('reset'); // a board switched off says no goodbye: never the FIN of a board that took another client
    const server = this.#server;
    this.#server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /**
   * Pulls the cable. `drop` (a USB cable, a converter reset): the host's connection is reset (TCP RST, never
   * the board's orderly FIN) and new ones are refused. `silent` (Wi-Fi gone, a hung board): the connection
   * stays up but nothing is answered or reported.
   */
  disconnect(mode: 'drop' | 'silent' = 'drop'): void {
    this.#cable = false;
    this.#silent = mode === 'silent';
    if (mode === 'drop') this.#detach('reset');
  }

  /** Restores the cable; a host still connected (after `silent`) hears about inputs that changed meanwhile. */
  connect(): void {
    this.#cable = true;
    this.#silent = false;
    this.#reportInputs();
  }

  get cableConnected(): boolean {
    return this.#cable;
  }

  get hostConnected(): boolean {
    return this.#host !== null;
  }

  /** What a second TCP client gets while a host is connected (takes effect for the next one). */
  get clients(): FirmataClientPolicy {
    return this.#clients;
  }

  set clients(policy: FirmataClientPolicy) {
    this.#clients = policy;
  }

  onHost(listener: (connected: boolean) => void): Unsubscribe {
    return this.#hostListeners.add(listener);
  }

  /**
   * A host on any duplex stream (the TCP server uses this; a test may attach a serial port). Replaces the
   * current host, which is closed in an orderly way (FIN), as StandardFirmataWiFi stops its old client.
   */
  attach(stream: Duplex): void {
    this.#detach('end');
    const link: HostLink = { stream, parser: new FirmataHostParser(), greeting: null };
    this.#host = link;
    stream.on('data', (chunk: Buffer) => {
      if (this.#host !== link || this.#silent) return;
      this.#stopGreeting(link);
      link.parser.push(chunk, (message) => this.#handle(message));
    });
    stream.on('error', () => {}); // a host that vanishes mid-write: 'close' follows
    stream.on('close', () => {
      if (this.#host === link) this.#detach();
    });
    this.#greet();
    link.greeting = setInterval(() => this.#greet(), this.#options.versionRepeatMs);
    this.#hostListeners.emit(true);
  }

  /** A host is connected and has not closed its side (its close may still be on the way). */
  #hostAlive(): boolean {
    const link = this.#host;
    if (!link) return false;
    if (!link.stream.destroyed && !link.stream.readableEnded) return true;
    this.#detach('destroy');
    return false;
  }

  /** Lets go of the host: `release` says how its connection ends; absent, it has closed already. */
  #detach(release?: Release): void {
    const link = this.#host;
    if (!link) return;
    this.#host = null;
    this.#stopGreeting(link);
    if (release) releaseStream(link.stream, release);
    this.#hostListeners.emit(false);
  }

  #stopGreeting(link: HostLink): void {
    if (link.greeting) clearInterval(link.greeting);
    link.greeting = null;
  }

  /** What the firmware sends when it starts: its protocol version and its name. */
  #greet(): void {
    this.#send([REPORT_VERSION, ...PROTOCOL_VERSION]);
    this.#send(this.#firmwareReport());
  }

  #send(bytes: number[]): void {
    const link = this.#host;
    if (!link || this.#silent || link.stream.destroyed) return;
    link.stream.write(Uint8Array.from(bytes));
  }

  #handle(message: HostMessage): void {
    switch (message.kind) {
      case 'report-version':
        return this.#send([REPORT_VERSION, ...PROTOCOL_VERSION]);
      case 'system-reset':
        return this.#reset();
      case 'digital-port':
        return this.#writePort(message.port, message.value);
      case 'pin-value':
        return this.#writePin(message.pin, message.value ? 1 : 0);
      case 'pin-mode':
        return this.#setMode(message.pin, message.mode);
      case 'report-digital':
        return this.#setReporting(message.port, message.enable);
      case 'report-analog':
      case 'analog-write':
        return; // nothing analog is wired; a report of an unwired analog input would only be noise
      case 'sysex':
        return this.#sysex(message.command, message.data);
    }
  }

  #sysex(command: number, data: number[]): void {
    switch (command) {
      case QUERY_FIRMWARE:
        return this.#send(this.#firmwareReport());
      case CAPABILITY_QUERY:
        return this.#send(capabilityResponse());
      case ANALOG_MAPPING_QUERY:
        return this.#send([START_SYSEX, ANALOG_MAPPING_RESPONSE, ...this.#pins.map((_, pin) => (pin >= FIRST_ANALOG_PIN ? pin - FIRST_ANALOG_PIN : 0x7f)), END_SYSEX]);
      case PIN_STATE_QUERY: {
        const pin = data[0] ?? 0;
        const state = this.#pins[pin];
        if (!state) return this.#send([START_SYSEX, PIN_STATE_RESPONSE, pin, END_SYSEX]);
        const level = state.mode === MODE.OUTPUT ? state.latch : state.mode === MODE.PULLUP ? 1 : 0;
        return this.#send([START_SYSEX, PIN_STATE_RESPONSE, pin, state.mode, level, END_SYSEX]);
      }
      case SAMPLING_INTERVAL:
        this.#samplingIntervalMs = Math.max(1, (data[0] ?? 0) | ((data[1] ?? 0) << 7));
        return;
      default:
        return; // unknown sysex: the firmware ignores it too
    }
  }

  #setMode(pin: number, mode: number): void {
    const state = this.#pins[pin];
    if (!state || !supportsMode(pin, mode)) return;
    const wasOutput = state.mode === MODE.OUTPUT;
    state.mode = mode;
    if (mode === MODE.OUTPUT) {
      this.#drive(pin);
    } else {
      state.latch = 0;
      if (wasOutput) this.#model.setRelay(pin, false); // an input drives nothing: the relay drops
    }
    this.#reportInputs();
  }

  #writePort(port: number, value: number): void {
    for (let bit = 0; bit < 8; bit++) {
      const pin = port * 8 + bit;
      const state = this.#pins[pin];
      if (!state) continue;
      const level = (value >> bit) & 1;
      if (state.mode === MODE.OUTPUT) this.#writePin(pin, level ? 1 : 0);
      // StandardFirmata on Arduino ≥ 1.0: writing 1 to an INPUT pin turns on its pull-up.
      else if (state.mode === MODE.INPUT && level) state.mode = MODE.PULLUP;
    }
  }

  #writePin(pin: number, level: 0 | 1): void {
    const state = this.#pins[pin];
    if (!state || state.mode !== MODE.OUTPUT) return;
    state.latch = level;
    this.#drive(pin);
  }

  #drive(pin: number): void {
    const state = this.#pins[pin]!;
    this.#model.setRelay(pin, state.mode === MODE.OUTPUT && state.latch === 1);
  }

  #setReporting(port: number, enable: boolean): void {
    if (port >= this.#reporting.length) return;
    this.#reporting[port] = enable;
    if (!enable) return;
    // Like StandardFirmata: enabling a port's report sends its current state at once.
    const value = this.#inputsOf(port);
    this.#lastReported[port] = value;
    this.#send([DIGITAL_MESSAGE | port, value & 0x7f, (value >> 7) & 0x7f]);
  }

  /** Sends every reported port whose inputs differ from what the host last heard. */
  #reportInputs(): void {
    if (!this.#host || this.#silent) return;
    for (let port = 0; port < this.#reporting.length; port++) {
      if (!this.#reporting[port]) continue;
      const value = this.#inputsOf(port);
      if (value === this.#lastReported[port]) continue;
      this.#lastReported[port] = value;
      this.#send([DIGITAL_MESSAGE | port, value & 0x7f, (value >> 7) & 0x7f]);
    }
  }

  /** The levels of a port's input pins (HIGH = door open; an unwired pull-up reads HIGH). */
  #inputsOf(port: number): number {
    let value = 0;
    for (let bit = 0; bit < 8; bit++) {
      const pin = port * 8 + bit;
      const state = this.#pins[pin];
      if (!state || (state.mode !== MODE.INPUT && state.mode !== MODE.PULLUP)) continue;
      const open = this.#model.sensorLevel(pin) ?? state.mode === MODE.PULLUP;
      if (open) value |= 1 << bit;
    }
    return value;
  }

  /**
   * A power blip or a watchdog reset: the board forgets every pin mode and report, drops every relay (a
   * rebooting AVR's pins float as inputs), and greets the host it still has with its version and name, as
   * StandardFirmata does at boot.
   */
  restart(): void {
    this.#pins = defaultPins();
    this.#pins.forEach((p, pin) => {
      p.latch = 0;
      this.#model.setRelay(pin, false);
    });
    this.#reporting.fill(false);
    this.#lastReported.fill(null);
    this.#samplingIntervalMs = 19;
    this.#greet();
  }

  /** SYSTEM_RESET: pins back to their power-on modes and reporting off; output latches keep their level. */
  #reset(): void {
    const latches = this.#pins.map((p) => (p.mode === MODE.OUTPUT ? p.latch : 0));
    this.#pins = defaultPins();
    this.#pins.forEach((p, pin) => {
      p.latch = p.mode === MODE.OUTPUT ? (latches[pin] ?? 0) : 0;
      if (p.mode !== MODE.OUTPUT) this.#model.setRelay(pin, false);
    });
    this.#reporting.fill(false);
    this.#lastReported.fill(null);
    this.#samplingIntervalMs = 19;
  }

  #firmwareReport(): number[] {
    const name = [...Buffer.from(this.#options.firmwareName, 'utf8')].flatMap((c) => [c & 0x7f, (c >> 7) & 0x7f]);
    return [START_SYSEX, QUERY_FIRMWARE, ...PROTOCOL_VERSION, ...name, END_SYSEX];
  }

  /** The sampling interval the host asked for (this emulator reports changes at once, as the firmware does). */
  get samplingIntervalMs(): number {
    return this.#samplingIntervalMs;
  }
}

function releaseStream(stream: Duplex, release: Release): void {
  if (stream.destroyed) return;
  if (release === 'reset' && stream instanceof net.Socket) {
    stream.resetAndDestroy();
  } else if (release === 'end') {
    // An orderly close: our FIN now; the host answers with its own and the socket closes. One that never does
    // is cut off after a grace period.
    stream.end();
    const timer = setTimeout(() => stream.destroy(), END_GRACE_MS);
    timer.unref();
    stream.once('close', () => clearTimeout(timer));
  } else {
    stream.destroy();
  }
}

/** StandardFirmata's power-on state: every digital pin an output, the analog pins analog inputs. */
function defaultPins(): PinState[] {
  return Array.from({ length: TOTAL_PINS }, (_, pin) => ({ mode: pin >= FIRST_ANALOG_PIN ? MODE.ANALOG : MODE.OUTPUT, latch: 0 as const }));
}

function supportsMode(pin: number, mode: number): boolean {
  if (mode === MODE.INPUT || mode === MODE.OUTPUT || mode === MODE.PULLUP) return true;
  if (mode === MODE.ANALOG) return pin >= FIRST_ANALOG_PIN;
  if (mode === MODE.PWM) return PWM_PINS.has(pin);
  return false;
}

function capabilityResponse(): number[] {
  const bytes: number[] = [START_SYSEX, CAPABILITY_RESPONSE];
  for (let pin = 0; pin < TOTAL_PINS; pin++) {
    bytes.push(MODE.INPUT, 1, MODE.OUTPUT, 1, MODE.PULLUP, 1);
    if (PWM_PINS.has(pin)) bytes.push(MODE.PWM, 8);
    if (pin >= FIRST_ANALOG_PIN) bytes.push(MODE.ANALOG, 10);
    bytes.push(0x7f);
  }
  bytes.push(END_SYSEX);
  return bytes;
}
