import { lockId } from '../firmware-bridge/lockboard/lock-id.ts';
import { CabinetModel } from '../simulator/cabinet-model.ts';
import { LockboardBusEmulator, type BusLogEntry } from '../simulator/lockboard-device.ts';
import { frameTimeMs, resolveLockboardSettings, type LockboardProtocol } from '../simulator/lockboard-protocol.ts';

// The emulated RS-485 bus the lock-board benchmarks drive: the simulator's boards with the line's real timing
// (a reply comes after the request and the reply have crossed the line at 9600 or 19200 baud, 10 bits a
// byte), on a free TCP port. Its log stamps each frame with a sub-millisecond clock comparable to
// performance.now(), so the time a frame reached the board can be set against the controller's.

export interface BenchBusDoor {
  readonly id: string;
  readonly board: number;
  readonly channel: number;
}

export interface BenchBus {
  readonly model: CabinetModel;
  readonly device: LockboardBusEmulator;
  readonly port: number;
  readonly baudRate: number;
  /** performance.now() when the board heard the entry's frame. */
  heardAt(entry: BusLogEntry): number;
  /** How long the entry's request and its reply kept the line busy. */
  lineMs(entry: BusLogEntry): number;
  stop(): Promise<void>;
}

export async function startBenchBus(protocol: LockboardProtocol, doors: readonly BenchBusDoor[], settings: { pulseMs?: number; channelsPerBoard?: number } = {}): Promise<BenchBus> {
  const model = new CabinetModel(doors.map((d) => ({ id: d.id, lockChannel: lockId(d.board, d.channel), doorSensor: lockId(d.board, d.channel) })));
  const device = new LockboardBusEmulator(model, {
    protocol,
    settings: resolveLockboardSettings(protocol, { ...settings, realTiming: true }),
    doors,
    port: 0,
    now: () => performance.timeOrigin + performance.now(),
  });
  const port = await device.start();
  const bytes = (hex: string | null) => (hex ? hex.split(' ').length : 0);
  return {
    model, device, port, baudRate: device.baudRate,
    heardAt: (entry) => entry.at - performance.timeOrigin,
    lineMs: (entry) => frameTimeMs(bytes(entry.frame) + bytes(entry.reply), device.baudRate),
    stop: () => device.stop(),
  };
}

/**
 * Two frame times of a status exchange on this line: the request and the board's status reply (8A/80: 5 + 3
 * status bytes' 7 for 24 channels; Kerong: 5 + 9), the least a poll can add to a door's being seen.
 */
export function statusExchangeMs(protocol: LockboardProtocol, baudRate: number): number {
  return frameTimeMs(protocol === '8a80' ? 5 + 7 : 5 + 9, baudRate);
}
