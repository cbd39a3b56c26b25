import { FirmataHostParser } from '../../simulator/firmata-device.ts';
import type { HostBytes } from './tcp-tap.ts';

// What a Firmata host wrote to a board's relay pins, message by message, read from the bytes it sent (a
// TcpTap hears them). The board's output latches outlive a connection, so one recorder follows every
// connection to the same board: a relay left HIGH by a host that died is still HIGH for the next one.

type HostMessage = Parameters<Parameters<FirmataHostParser['push']>[1]>[0];

const MODE_OUTPUT = 0x01;

/** One message the host sent, as it concerns the relays. */
export interface RelayWrite {
  /** performance.now() when the board's side heard it. */
  readonly at: number;
  readonly message: string;
  /** Relay pins this message took from LOW to HIGH. */
  readonly raised: readonly number[];
  /** Relay pins HIGH once the board has obeyed it. */
  readonly high: readonly number[];
}

export class FirmataRelayWrites {
  readonly writes: RelayWrite[] = [];
  readonly #relays: ReadonlySet<number>;
  /** The board's output latch and mode per pin (StandardFirmata powers digital pins up as OUTPUT LOW). */
  readonly #latch = new Map<number, 0 | 1>();
  readonly #output = new Map<number, boolean>();

  constructor(relayPins: readonly number[]) {
    this.#relays = new Set(relayPins);
  }

  /** For `TcpTap`'s `onConnection`: a parser for one new connection. */
  readonly connection = (): HostBytes => {
    const parser = new FirmataHostParser();
    return (chunk) => parser.push(chunk, (message) => this.#obey(message));
  };

  #obey(message: HostMessage): void {
    const before = this.#high();
    switch (message.kind) {
      case 'digital-port':
        for (let bit = 0; bit < 8; bit++) this.#write(message.port * 8 + bit, (message.value >> bit) & 1);
        break;
      case 'pin-value':
        this.#write(message.pin, message.value ? 1 : 0);
        break;
      case 'pin-mode':
        this.#output.set(message.pin, message.mode === MODE_OUTPUT);
        if (message.mode !== MODE_OUTPUT) this.#latch.set(message.pin, 0); // an input drives nothing
        break;
      default:
        break;
    }
    const high = this.#high();
    this.writes.push({ at: performance.now(), message: describe(message), raised: high.filter((pin) => !before.includes(pin)), high });
  }

  #write(pin: number, level: number): void {
    if (this.#output.get(pin) ?? true) this.#latch.set(pin, level ? 1 : 0);
  }

  #high(): number[] {
    return [...this.#relays].filter((pin) => this.#latch.get(pin) === 1 && (this.#output.get(pin) ?? true)).sort((a, b) => a - b);
  }
}

function describe(message: HostMessage): string {
  switch (message.kind) {
    case 'digital-port':
      return `digital port ${message.port} = ${message.value.toString(2).padStart(8, '0')}`;
    case 'pin-value':
      return `pin ${message.pin} = ${message.value}`;
    case 'pin-mode':
      return `pin ${message.pin} mode ${message.mode}`;
    case 'sysex':
      return `sysex ${message.command.toString(16)}`;
    default:
      return message.kind;
  }
}
