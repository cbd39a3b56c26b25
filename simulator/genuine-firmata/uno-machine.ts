import { createRequire } from 'node:module';
import type * as Avr8 from 'avr8js';
import { ListenerSet } from '../../firmware-bridge/listeners.ts';
import type { Unsubscribe } from '../../firmware-bridge/ports.ts';

// An Arduino Uno (ATmega328P at 16 MHz) running a compiled sketch on avr8js, paced to the wall clock: the
// CPU runs in short slices on timers, each slice catching up with real time, so the event loop stays free.
// Its pins are the Arduino's numbers (D0–D13, A0–A5 = 14–19); D0/D1 are the serial port, reached through
// `receive` and `onTransmit` at the baud rate the sketch set.

export const UNO_CLOCK_HZ = 16_000_000;
export const UNO_FLASH_BYTES = 0x8000;
/** D0–D13 and A0–A5 (14–19). */
export const UNO_PIN_COUNT = 20;

/** What a pin does: drives LOW or HIGH (an output), or is an input with or without its pull-up. */
export type PinLevel = 'low' | 'high' | 'input' | 'input-pullup';

export interface UnoMachineOptions {
  /** How often a slice runs; a slice emulates the wall time since the last one. Default 4 ms. */
  sliceMs?: number;
  /**
   * The most emulated time one slice may catch up. When this process stalls for longer (GC, an overloaded
   * machine), the rest is skipped: the chip's clock loses that time instead of burning a long slice. Default 20 ms.
   */
  maxCatchUpMs?: number;
  /** Bytes waiting for the USART, as a serial bridge buffers them; more are dropped. Default 16 KiB. */
  rxBufferBytes?: number;
}

export interface UnoMachineStats {
  /** Time the chip has run, in its own clock. */
  emulatedMs: number;
  /** Wall time it was powered and not paused. */
  wallMs: number;
  /** Wall time spent executing it (the CPU it costs this process). */
  busyMs: number;
  /** Emulated time skipped because this process fell behind. */
  skippedMs: number;
}

/** The silicon: rebuilt on every power-on, so nothing survives a reset but the flash. */
interface Chip {
  readonly cpu: Avr8.CPU;
  readonly ports: { readonly B: Avr8.AVRIOPort; readonly C: Avr8.AVRIOPort; readonly D: Avr8.AVRIOPort };
  readonly usart: Avr8.AVRUSART;
}

const CYCLES_PER_MS = UNO_CLOCK_HZ / 1000;

// Through Node's require, so every runner executes avr8js's CommonJS build natively (as Node's import does
// too): a test runner that transforms the package's ESM build instead runs the CPU at half the speed.
const avr8: typeof Avr8 = createRequire(import.meta.url)('avr8js');
const { avrInstruction, PinState } = avr8;

export class UnoMachine {
  readonly #program: Uint16Array;
  readonly #options: Required<UnoMachineOptions>;
  readonly #pinListeners = new ListenerSet<void>();
  readonly #txListeners = new ListenerSet<Uint8Array>();
  /** What the outside world drives on each pin (a switch, a sensor); an output pin ignores it. */
  readonly #inputs = new Array<boolean>(UNO_PIN_COUNT).fill(false);
  #chip: Chip;
  /** Bytes waiting for the USART: a ring buffer, as a serial bridge's. */
  #rx: Uint8Array;
  #rxHead = 0;
  #rxCount = 0;
  #tx: number[] = [];
  #timer: NodeJS.Timeout | null = null;
  #powered = false;
  #paused = false;
  /** The wall clock and cycle count the pacing is measured from (moved on after a pause or a skip). */
  #baseWall = 0;
  #baseCycles = 0;
  #stats = { wallMs: 0, busyMs: 0, skippedMs: 0, emulatedCycles: 0 };
  #wallSince = 0;

  constructor(flash: Uint8Array, options: UnoMachineOptions = {}) {
    if (flash.length > UNO_FLASH_BYTES) throw new RangeError(`a sketch of ${flash.length} bytes does not fit the Uno's ${UNO_FLASH_BYTES}-byte flash`);
    const image = new Uint8Array(UNO_FLASH_BYTES).fill(0xff);
    image.set(flash);
    this.#program = new Uint16Array(image.buffer);
    this.#options = { sliceMs: 4, maxCatchUpMs: 20, rxBufferBytes: 16_384, ...options };
    this.#rx = new Uint8Array(this.#options.rxBufferBytes);
    this.#chip = this.#build();
  }

  /** Powers the board on: the sketch starts from its reset vector. */
  powerOn(): void {
    if (this.#powered) return;
    this.#chip = this.#build();
    this.#powered = true;
    this.#paused = false;
    this.#rebase();
    this.#schedule();
  }

  powerOff(): void {
    if (!this.#powered) return;
    this.#account();
    this.#powered = false;
    this.#rxCount = 0;
    this.#tx = [];
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** A reset (the button, a brown-out, DTR on a USB Uno): every pin back to an input, the sketch boots again. */
  reset(): void {
    this.powerOff();
    this.powerOn();
    this.#pinListeners.emit();
  }

  /** The chip stops executing (a hung sketch, a debugger's breakpoint): pins hold, nothing is received or sent. */
  pause(): void {
    if (!this.#powered || this.#paused) return;
    this.#account();
    this.#paused = true;
    this.#rxCount = 0;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  resume(): void {
    if (!this.#powered || !this.#paused) return;
    this.#paused = false;
    this.#rebase();
    this.#schedule();
  }

  get running(): boolean {
    return this.#powered && !this.#paused;
  }

  /** What Arduino pin `pin` does right now. */
  pin(pin: number): PinLevel {
    const { port, bit } = this.#locate(pin);
    switch (port.pinState(bit)) {
      case PinState.High: return 'high';
      case PinState.Low: return 'low';
      case PinState.InputPullUp: return 'input-pullup';
      default: return 'input';
    }
  }

  /** Drives an input pin from outside (true = HIGH); read by the sketch from the next instruction on. */
  setInput(pin: number, high: boolean): void {
    if (pin === 0 || pin === 1) throw new RangeError('D0 and D1 are the serial port');
    const { port, bit } = this.#locate(pin);
    this.#inputs[pin] = high;
    port.setPin(bit, high);
  }

  /** Any pin's direction, output level or pull-up changed (called while the sketch runs: keep it short). */
  onPins(listener: () => void): Unsubscribe {
    return this.#pinListeners.add(listener);
  }

  /** Bytes the sketch sent on its serial port, once per slice. */
  onTransmit(listener: (bytes: Uint8Array) => void): Unsubscribe {
    return this.#txListeners.add(listener);
  }

  /** Bytes arriving on the serial port's RX line; the USART takes them one character time apart. */
  receive(bytes: Uint8Array): void {
    if (!this.running) return; // a board that is off or hung hears nothing
    const size = this.#rx.length;
    const taken = Math.min(size - this.#rxCount, bytes.length);
    for (let i = 0; i < taken; i++) this.#rx[(this.#rxHead + this.#rxCount + i) % size] = bytes[i]!;
    this.#rxCount += taken;
    this.#feed();
  }

  /** The USART's baud rate as the sketch configured it (0 before it did). */
  get baudRate(): number {
    const usart = this.#chip.usart;
    return usart.rxEnable || usart.txEnable ? usart.baudRate : 0;
  }

  stats(): UnoMachineStats {
    this.#account();
    const s = this.#stats;
    return { emulatedMs: s.emulatedCycles / CYCLES_PER_MS, wallMs: s.wallMs, busyMs: s.busyMs, skippedMs: s.skippedMs };
  }

  #build(): Chip {
    const cpu = new avr8.CPU(new Uint16Array(this.#program));
    // Timer 0 keeps millis()/delay(); 1 and 2 serve PWM and Servo; the ADC answers analogRead().
    new avr8.AVRTimer(cpu, avr8.timer0Config);
    new avr8.AVRTimer(cpu, avr8.timer1Config);
    new avr8.AVRTimer(cpu, avr8.timer2Config);
    new avr8.AVRADC(cpu, avr8.adcConfig);
    const ports = { B: new avr8.AVRIOPort(cpu, avr8.portBConfig), C: new avr8.AVRIOPort(cpu, avr8.portCConfig), D: new avr8.AVRIOPort(cpu, avr8.portDConfig) };
    const usart = new avr8.AVRUSART(cpu, avr8.usart0Config, UNO_CLOCK_HZ);
    const chip: Chip = { cpu, ports, usart };
    for (const port of Object.values(ports)) port.addListener(() => this.#pinListeners.emit());
    usart.onByteTransmit = (byte) => this.#tx.push(byte);
    usart.onRxComplete = () => this.#feed();
    for (let pin = 2; pin < UNO_PIN_COUNT; pin++) {
      const { port, bit } = locate(chip, pin);
      port.setPin(bit, this.#inputs[pin]!);
    }
    return chip;
  }

  /** Hands the next waiting byte to the USART when its receiver is free; a receiver that is off drops them. */
  #feed(): void {
    const usart = this.#chip.usart;
    if (this.#rxCount === 0 || usart.rxBusy) return;
    if (!usart.rxEnable) {
      this.#rxCount = 0;
      return;
    }
    const byte = this.#rx[this.#rxHead]!;
    this.#rxHead = (this.#rxHead + 1) % this.#rx.length;
    this.#rxCount--;
    usart.writeByte(byte);
  }

  #schedule(): void {
    this.#timer = setTimeout(() => this.#slice(), this.#options.sliceMs);
  }

  /** Runs the chip up to the wall clock (at most `maxCatchUpMs` of it), then hands on what it sent. */
  #slice(): void {
    this.#timer = null;
    if (!this.running) return;
    const started = performance.now();
    const { cpu } = this.#chip;
    const maxCatchUp = this.#options.maxCatchUpMs * CYCLES_PER_MS;
    let due = this.#baseCycles + (started - this.#baseWall) * CYCLES_PER_MS;
    if (due - cpu.cycles > maxCatchUp) {
      this.#stats.skippedMs += (due - cpu.cycles - maxCatchUp) / CYCLES_PER_MS;
      this.#baseCycles = cpu.cycles + maxCatchUp;
      this.#baseWall = started;
      due = this.#baseCycles;
    }
    const from = cpu.cycles;
    while (cpu.cycles < due) {
      avrInstruction(cpu);
      cpu.tick();
    }
    this.#stats.emulatedCycles += cpu.cycles - from;
    this.#stats.busyMs += performance.now() - started;
    if (this.#tx.length > 0) {
      const bytes = Uint8Array.from(this.#tx);
      this.#tx = [];
      this.#txListeners.emit(bytes);
    }
    if (this.running && !this.#timer) this.#schedule();
  }

  /** Pacing starts afresh from now: time spent off or paused is not caught up. */
  #rebase(): void {
    this.#baseWall = performance.now();
    this.#baseCycles = this.#chip.cpu.cycles;
    this.#wallSince = this.#baseWall;
  }

  /** Adds the running wall time so far to the stats. */
  #account(): void {
    if (!this.running) return;
    const now = performance.now();
    this.#stats.wallMs += now - this.#wallSince;
    this.#wallSince = now;
  }

  #locate(pin: number): { port: Avr8.AVRIOPort; bit: number } {
    return locate(this.#chip, pin);
  }
}

/** Arduino pin → AVR port and bit: D0–D7 are PORTD, D8–D13 PORTB, A0–A5 (14–19) PORTC. */
function locate(chip: Chip, pin: number): { port: Avr8.AVRIOPort; bit: number } {
  if (!Number.isInteger(pin) || pin < 0 || pin >= UNO_PIN_COUNT) throw new RangeError(`the Uno has pins 0–${UNO_PIN_COUNT - 1}, not ${pin}`);
  if (pin < 8) return { port: chip.ports.D, bit: pin };
  if (pin < 14) return { port: chip.ports.B, bit: pin - 8 };
  return { port: chip.ports.C, bit: pin - 14 };
}
