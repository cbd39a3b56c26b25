import { ListenerSet } from '../firmware-bridge/listeners.ts';
import type { Unsubscribe } from '../firmware-bridge/ports.ts';

// The physical cabinet in software: latches, doors, door switches and the people in front of them.
// No I/O here; the wire emulators (./firmata-device.ts) drive it from the bytes they receive.

export interface SimDoorSpec {
  id: string;
  lockChannel: number;
  doorSensor: number;
}

/** `jam`: the latch does not release on a pulse. `sensor-stuck`: the door switch keeps reporting one level. */
export type SimFault = 'jam' | 'sensor-stuck' | null;

export interface SimDoorState {
  open: boolean;
  latchPulses: number;
  occupied: boolean;
  fault: SimFault;
  /** The lock relay is energised right now. */
  relay: boolean;
  /** What the door switch reports (differs from `open` only while the sensor is stuck). */
  sensorOpen: boolean;
}

/** A person (or the wire) asked for something the cabinet cannot do; the message says what and why. */
export class SimError extends Error {
  override readonly name = 'SimError';
}

interface Door {
  readonly spec: SimDoorSpec;
  open: boolean;
  latchPulses: number;
  occupied: boolean;
  fault: SimFault;
  relaySince: number | null;
  /** The level a stuck sensor keeps reporting. */
  stuckOpen: boolean;
}

export class CabinetModel {
  readonly #doors = new Map<string, Door>();
  readonly #byChannel = new Map<number, Door>();
  readonly #bySensor = new Map<number, Door>();
  readonly #changes = new ListenerSet<string>();
  readonly #now: () => number;

  constructor(doors: SimDoorSpec[], options: { now?: () => number } = {}) {
    this.#now = options.now ?? (() => performance.now());
    for (const spec of doors) {
      if (this.#doors.has(spec.id)) throw new SimError(`door "${spec.id}" is listed twice`);
      if (this.#byChannel.has(spec.lockChannel)) throw new SimError(`doors "${this.#byChannel.get(spec.lockChannel)!.spec.id}" and "${spec.id}" share lock channel ${spec.lockChannel}`);
      if (this.#bySensor.has(spec.doorSensor)) throw new SimError(`doors "${this.#bySensor.get(spec.doorSensor)!.spec.id}" and "${spec.id}" share door sensor ${spec.doorSensor}`);
      const door: Door = { spec: { ...spec }, open: false, latchPulses: 0, occupied: false, fault: null, relaySince: null, stuckOpen: false };
      this.#doors.set(spec.id, door);
      this.#byChannel.set(spec.lockChannel, door);
      this.#bySensor.set(spec.doorSensor, door);
    }
  }

  /** The doors as built, in order. */
  get doors(): readonly SimDoorSpec[] {
    return [...this.#doors.values()].map((d) => ({ ...d.spec }));
  }

  /** From the wire. A rising edge is one latch pulse: a closed door that is not jammed springs open. */
  setRelay(channel: number, energised: boolean): void {
    const door = this.#byChannel.get(channel);
    if (!door) return; // an output no lock is wired to
    const wasOn = door.relaySince !== null;
    if (energised === wasOn) return;
    if (energised) {
      door.relaySince = this.#now();
      door.latchPulses++;
      if (door.fault !== 'jam' && !door.open) door.open = true;
    } else {
      door.relaySince = null;
    }
    this.#changes.emit(door.spec.id);
  }

  /** What the door switch on this input reports, true = open; undefined for an input no switch is wired to. */
  sensorLevel(sensor: number): boolean | undefined {
    const door = this.#bySensor.get(sensor);
    if (!door) return undefined;
    return door.fault === 'sensor-stuck' ? door.stuckOpen : door.open;
  }

  /** A person closes an open door, optionally saying whether an item is inside now. */
  close(id: string, opts: { occupied?: boolean } = {}): void {
    const door = this.#door(id);
    if (!door.open) throw new SimError(`door ${id} is already closed`);
    door.open = false;
    if (opts.occupied !== undefined) door.occupied = opts.occupied;
    this.#changes.emit(id);
  }

  /** A person forces a closed door open without a pulse. */
  force(id: string): void {
    const door = this.#door(id);
    if (door.open) throw new SimError(`door ${id} is already open`);
    door.open = true;
    this.#changes.emit(id);
  }

  setFault(id: string, fault: SimFault): void {
    const door = this.#door(id);
    if (door.fault === fault) return;
    if (fault === 'sensor-stuck') door.stuckOpen = door.open;
    door.fault = fault;
    this.#changes.emit(id);
  }

  setOccupied(id: string, occupied: boolean): void {
    const door = this.#door(id);
    if (door.occupied === occupied) return;
    door.occupied = occupied;
    this.#changes.emit(id);
  }

  snapshot(): Record<string, SimDoorState> {
    const out: Record<string, SimDoorState> = {};
    for (const [id, d] of this.#doors) {
      out[id] = {
        open: d.open,
        latchPulses: d.latchPulses,
        occupied: d.occupied,
        fault: d.fault,
        relay: d.relaySince !== null,
        sensorOpen: d.fault === 'sensor-stuck' ? d.stuckOpen : d.open,
      };
    }
    return out;
  }

  /** How long this door's relay has been energised right now; 0 when it is off. */
  relayEnergisedMs(id: string): number {
    const door = this.#door(id);
    return door.relaySince === null ? 0 : this.#now() - door.relaySince;
  }

  /** Any change to a door, its relay, its sensor or its fault. */
  onChange(listener: (doorId: string) => void): Unsubscribe {
    return this.#changes.add(listener);
  }

  #door(id: string): Door {
    const door = this.#doors.get(id);
    if (!door) throw new SimError(`there is no door "${id}" in this cabinet (doors: ${[...this.#doors.keys()].join(', ') || 'none'})`);
    return door;
  }
}
