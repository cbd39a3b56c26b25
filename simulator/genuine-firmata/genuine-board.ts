import net from 'node:net';
import { ListenerSet } from '../../firmware-bridge/listeners.ts';
import type { Unsubscribe } from '../../firmware-bridge/ports.ts';
import type { CabinetModel } from '../cabinet-model.ts';
import { loadStandardFirmata, type LoadOptions } from './firmata-hex.ts';
import { UnoMachine, type UnoMachineOptions } from './uno-machine.ts';
import { unoWiring, type UnoWiring } from './uno-wiring.ts';
import { listenOn } from '../listen.ts';

// An Arduino Uno running the genuine StandardFirmata, its serial port reachable over TCP (as through a
// serial-to-Ethernet bridge, one client at a time) and its pins wired to the cabinet model: a relay pin driven
// HIGH energises that door's lock (the model decides whether the door springs open), and a door switch pulls
// its pin to ground while the door is shut, so with the pin's pull-up on an open door reads HIGH. Without the
// pull-up an open switch leaves the pin floating; it is read LOW here (a real one reads noise).

export interface GenuineBoardOptions {
  host?: string;
  /** The TCP port of the board's serial line; 0 picks a free one. */
  port: number;
  machine?: UnoMachineOptions;
}

export class GenuineBoard {
  readonly machine: UnoMachine;
  readonly #model: CabinetModel;
  readonly #wiring: UnoWiring;
  readonly #options: GenuineBoardOptions;
  readonly #hostListeners = new ListenerSet<boolean>();
  readonly #unsubscribe: Unsubscribe[] = [];
  #server: net.Server | null = null;
  #host: net.Socket | null = null;
  #cable = true;

  /** `flash`: the sketch's flash image (see `loadStandardFirmata`). Refuses doors that do not fit an Uno. */
  constructor(model: CabinetModel, flash: Uint8Array, options: GenuineBoardOptions) {
    this.#model = model;
    this.#wiring = unoWiring(model.doors);
    this.#options = options;
    this.machine = new UnoMachine(flash, options.machine);
  }

  /** Powers the Uno on (StandardFirmata boots in about 2 s: it blinks its version first) and listens; resolves with the port. */
  async start(): Promise<number> {
    if (this.#server) return this.port;
    const server = net.createServer((socket) => this.#accept(socket));
    await listenOn(server, this.#options.port, this.#options.host ?? '127.0.0.1');
    this.#server = server;
    this.#unsubscribe.push(
      this.machine.onPins(() => this.#follow()),
      this.machine.onTransmit((bytes) => this.#toHost(bytes)),
      this.#model.onChange(() => this.#driveSwitches()),
    );
    this.#driveSwitches();
    this.machine.powerOn();
    return this.port;
  }

  async stop(): Promise<void> {
    for (const off of this.#unsubscribe.splice(0)) off();
    this.machine.powerOff();
    this.#drop();
    const server = this.#server;
    this.#server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  get port(): number {
    return (this.#server?.address() as net.AddressInfo | null)?.port ?? this.#options.port;
  }

  get hostConnected(): boolean {
    return this.#host !== null;
  }

  get cableConnected(): boolean {
    return this.#cable;
  }

  onHost(listener: (connected: boolean) => void): Unsubscribe {
    return this.#hostListeners.add(listener);
  }

  /**
   * `drop`: the cable is pulled: the host's connection is reset and new ones refused; the Uno runs on and keeps
   * its outputs. `silent`: the board hangs (its CPU stops): the connection stays up, nothing is answered.
   */
  disconnect(mode: 'drop' | 'silent' = 'drop'): void {
    if (mode === 'silent') return this.machine.pause();
    this.#cable = false;
    this.#drop();
  }

  /** Restores the cable and lets a hung board run on. */
  connect(): void {
    this.#cable = true;
    this.machine.resume();
  }

  #accept(socket: net.Socket): void {
    socket.setNoDelay(true); // Firmata messages are 3 bytes: the worst case for Nagle
    const host = this.#host;
    if (host && (host.destroyed || host.readableEnded)) this.#release(host);
    if (!this.#cable || this.#host) {
      socket.destroy(); // the serial line has one end: a second client is turned away
      return;
    }
    this.#host = socket;
    socket.on('data', (chunk: Buffer) => {
      if (this.#host === socket) this.machine.receive(chunk);
    });
    socket.on('error', () => {}); // 'close' follows
    socket.on('close', () => this.#release(socket));
    this.#hostListeners.emit(true);
  }

  #release(socket: net.Socket): void {
    if (this.#host !== socket) return;
    this.#host = null;
    this.#hostListeners.emit(false);
  }

  /** Resets the host's connection (a pulled cable says no goodbye). */
  #drop(): void {
    const host = this.#host;
    if (!host) return;
    this.#release(host);
    if (!host.destroyed) host.resetAndDestroy();
  }

  #toHost(bytes: Uint8Array): void {
    const host = this.#host;
    if (host && !host.destroyed && host.writable) host.write(bytes);
    // With no host the bytes go nowhere, as on a serial line nobody listens to.
  }

  /** The sketch changed a pin: relays follow their outputs, switches their pull-ups. */
  #follow(): void {
    for (const pin of this.#wiring.relays) this.#model.setRelay(pin, this.machine.pin(pin) === 'high');
    this.#driveSwitches();
  }

  #driveSwitches(): void {
    for (const pin of this.#wiring.switches) {
      const open = this.#model.sensorLevel(pin) === true;
      this.machine.setInput(pin, open && this.machine.pin(pin) === 'input-pullup');
    }
  }
}

/** Loads StandardFirmata (fetching it the first time, see firmata-hex.ts), powers the Uno on and listens. */
export async function startGenuineBoard(model: CabinetModel, options: GenuineBoardOptions & LoadOptions): Promise<GenuineBoard> {
  const board = new GenuineBoard(model, await loadStandardFirmata(options), options);
  await board.start();
  return board;
}
