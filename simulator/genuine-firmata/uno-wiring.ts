import { unoDemoCompartments } from '../../controller/config/demo-cabinet.ts';
import { SimError, type SimDoorSpec } from '../cabinet-model.ts';
import { UNO_PIN_COUNT } from './uno-machine.ts';

// How a small cabinet is wired to an Arduino Uno: D0/D1 are its serial port, and D13 is left alone, since
// StandardFirmata blinks its version on it at every boot (the Uno's LED hangs there too): a relay on D13 would
// unlock a door at each power-on, and a switch to ground would short the pin while it blinks. That leaves
// D2–D12 and A0–A5 (digital 14–19), 17 pins; the layout below uses 16 of them for 8 compartments.

/** StandardFirmata's version-blink pin. */
export const UNO_BLINK_PIN = 13;
/** A01–A08 on an Uno: relays D2–D9, door switches D10–D12 and A0–A4 (the controller's Uno demo cabinet). */
export const unoCompartments = unoDemoCompartments;

export interface UnoWiring {
  /** Output pins that energise a lock relay when HIGH. */
  readonly relays: readonly number[];
  /** Input pins with a door switch to ground (closed while the door is shut). */
  readonly switches: readonly number[];
}

/** The pins the doors use, refused when one is not a free Uno pin or serves twice. */
export function unoWiring(doors: readonly SimDoorSpec[]): UnoWiring {
  const used = new Map<number, string>();
  const take = (pin: number, what: string): number => {
    if (!Number.isInteger(pin) || pin < 2 || pin >= UNO_PIN_COUNT || pin === UNO_BLINK_PIN) {
      throw new SimError(`${what} is on pin ${pin}, but an Uno offers D2–D12 and A0–A5 (14–19) only (D0/D1 are its serial port, D13 blinks at boot)`);
    }
    const other = used.get(pin);
    if (other) throw new SimError(`${what} and ${other} share pin ${pin}`);
    used.set(pin, what);
    return pin;
  };
  const relays = doors.map((d) => take(d.lockChannel, `door ${d.id}'s lock relay`));
  const switches = doors.map((d) => take(d.doorSensor, `door ${d.id}'s switch`));
  return { relays, switches };
}
