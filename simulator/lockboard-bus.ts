import { z } from 'zod';
import type { CompartmentConfig } from '../controller/config/schema.ts';
import { lockId, lockIdParts } from '../firmware-bridge/lockboard/lock-id.ts';
import { SimError, type CabinetModel } from './cabinet-model.ts';
import { LockboardBusEmulator, type LockboardDoor } from './lockboard-device.ts';
import { openLockboardPty, type LockboardPty } from './lockboard-pty.ts';
import { LOCKBOARD_PROTOCOLS, resolveLockboardSettings, type LockboardProtocol, type LockboardSettings, type LockboardSettingsInput } from './lockboard-protocol.ts';

// `startSimulator({ lockboard })`: the compartments' board/channel turned into the bus's doors, the bus on TCP,
// and with `pty` the serial path through a socat pseudo-terminal pair.

export interface LockboardOptions {
  readonly protocol: LockboardProtocol;
  /** The RS-485-to-Ethernet converter's TCP port; 0 or absent picks a free one (`sim.ports.lockboard`). */
  readonly port?: number;
  /** Also serve the bus on a pseudo-terminal (needs socat); the controller opens `sim.lockboardPty`. */
  readonly pty?: boolean;
  readonly settings?: LockboardSettingsInput;
}

/** A compartment as the simulator takes it: on a lock board it names its board and 1-based channel. */
export type SimCompartment = CompartmentConfig & { readonly board?: number; readonly channel?: number };

export interface StartedLockboardBus {
  readonly device: LockboardBusEmulator;
  readonly port: number;
  readonly ptyPath: string | null;
  stop(): Promise<void>;
}

/**
 * Where each compartment sits on the bus. Its `lockChannel` and `doorSensor` must both be `lockId(board,
 * channel)` (the controller's ports know a lock-board compartment by that one number); without `board` and
 * `channel` they are read back from `lockChannel`.
 */
export function lockboardDoors(compartments: readonly SimCompartment[]): LockboardDoor[] {
  return compartments.map((c) => {
    if ((c.board === undefined) !== (c.channel === undefined)) throw new SimError(`compartment ${c.id}: give both board and channel, or neither`);
    const { board, channel } = c.board !== undefined && c.channel !== undefined ? { board: c.board, channel: c.channel } : lockIdParts(c.lockChannel);
    const id = lockId(board, channel);
    if (c.lockChannel !== id || c.doorSensor !== id) {
      throw new SimError(`compartment ${c.id}: on a lock board lockChannel and doorSensor are both lockId(${board}, ${channel}) = ${id}, not ${c.lockChannel} and ${c.doorSensor}`);
    }
    return { id: c.id, board, channel };
  });
}

export function parseLockboardSettings(protocol: LockboardProtocol, input: unknown): LockboardSettings {
  if (!LOCKBOARD_PROTOCOLS.includes(protocol)) throw new SimError(`lockboard.protocol is ${LOCKBOARD_PROTOCOLS.map((p) => `"${p}"`).join(' or ')}`);
  try {
    return resolveLockboardSettings(protocol, input);
  } catch (error) {
    if (error instanceof z.ZodError) throw new SimError(`lockboard.settings: ${z.prettifyError(error)}`);
    if (error instanceof RangeError) throw new SimError(`lockboard.settings: ${error.message}`);
    throw error;
  }
}

export async function startLockboardBus(model: CabinetModel, compartments: readonly SimCompartment[], options: LockboardOptions, host: string): Promise<StartedLockboardBus> {
  const settings = parseLockboardSettings(options.protocol, options.settings ?? {});
  const device = new LockboardBusEmulator(model, { protocol: options.protocol, settings, doors: lockboardDoors(compartments), host, port: options.port ?? 0 });
  const port = await device.start();
  let pty: LockboardPty | null = null;
  if (options.pty) {
    try {
      pty = await openLockboardPty(device.baudRate);
    } catch (error) {
      await device.stop();
      throw error;
    }
    device.attachSerial(pty.port, pty.hostPath);
  }
  return {
    device,
    port,
    ptyPath: pty?.hostPath ?? null,
    async stop() {
      await device.stop();
      await pty?.close();
    },
  };
}
