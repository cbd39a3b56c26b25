// firmata-io 2.3.0 ships no types: the part of its API this driver (and its tests) use.
declare module 'firmata-io' {
  import { EventEmitter } from 'node:events';
  import type { Duplex } from 'node:stream';

  namespace bindTransport {
    interface FirmataPin {
      supportedModes: number[];
      mode?: number;
      value: number;
      report?: number;
      analogChannel?: number;
      /** For outputs: the last value written, as reported by a pin-state query. */
      state?: number;
    }

    interface FirmataOptions {
      /** Ask for the version ourselves if the board has not sent it after this long (default 5000 ms). */
      reportVersionTimeout?: number;
      samplingInterval?: number;
      skipCapabilities?: boolean;
    }

    class Firmata extends EventEmitter {
      constructor(transport: Duplex, options?: FirmataOptions, callback?: (error?: Error) => void);
      readonly MODES: { readonly INPUT: 0; readonly OUTPUT: 1; readonly ANALOG: 2; readonly PWM: 3; readonly SERVO: 4; readonly PULLUP: 11 };
      readonly HIGH: 1;
      readonly LOW: 0;
      isReady: boolean;
      versionReceived: boolean;
      pins: FirmataPin[];
      analogPins: number[];
      ports: number[];
      transport: Duplex;
      name: string;
      pending: number;
      version: { major?: number; minor?: number };
      firmware: { name?: string; version?: { major: number; minor: number } };
      reportVersionTimeoutId?: NodeJS.Timeout;
      pinMode(pin: number, mode: number): void;
      digitalWrite(pin: number, value: number, enqueue?: boolean): void;
      digitalRead(pin: number, callback: (value: number) => void): void;
      reportDigitalPin(pin: number, value: 0 | 1): void;
      queryPinState(pin: number, callback: () => void): void;
      queryFirmware(callback: () => void): void;
      reportVersion(callback: () => void): void;
      setSamplingInterval(ms: number): void;
      reset(): void;
    }
  }

  function bindTransport(transport: unknown): typeof bindTransport.Firmata;
  export = bindTransport;
}
