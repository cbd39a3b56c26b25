import { lockId } from '../../firmware-bridge/lockboard/lock-id.ts';
import type { LockboardProtocol } from './lockboard-schema.ts';
import type { CompartmentConfig, CompartmentSize } from './schema.ts';

/**
 * The demo cabinet of the contract: columns A–C × rows 01–08; rows 01–04 small, 05–06 medium, 07–08 large.
 * Wiring (an Arduino Mega running StandardFirmata): compartment n (0-based, A01 first) has its lock relay on
 * digital pin 2+n and its door switch on digital pin 26+n, so the 24 relays use pins 2–25, the switches 26–49.
 */
export const DEMO_LOCK_PIN_BASE = 2;
export const DEMO_SENSOR_PIN_BASE = 26;

/** A01 … C08 in order, with their sizes. */
function demoFaces(): { id: string; size: CompartmentSize }[] {
  const faces: { id: string; size: CompartmentSize }[] = [];
  for (const column of ['A', 'B', 'C']) {
    for (let row = 1; row <= 8; row++) {
      faces.push({ id: `${column}${String(row).padStart(2, '0')}`, size: row <= 4 ? 'S' : row <= 6 ? 'M' : 'L' });
    }
  }
  return faces;
}

export function demoCompartments(): CompartmentConfig[] {
  return demoFaces().map((face, n) => ({ ...face, lockChannel: DEMO_LOCK_PIN_BASE + n, doorSensor: DEMO_SENSOR_PIN_BASE + n }));
}

/**
 * The same 24 compartments on RS-485 lock boards. 8a80: one 24-channel board, address 1, channels 1–24 (A01 = 1 …
 * C08 = 24). kerong-cu: A01…B08 on board 0 locks 1–16, C01…C08 on board 1 locks 1–8 (a CU16 and half of another).
 */
export function demoLockboardCompartments(protocol: LockboardProtocol): CompartmentConfig[] {
  return demoFaces().map((face, n) => {
    const [board, channel] = protocol === '8a80' ? [1, n + 1] : n < 16 ? [0, n + 1] : [1, n - 15];
    const id = lockId(board, channel);
    return { ...face, board, channel, lockChannel: id, doorSensor: id };
  });
}

/**
 * A small cabinet on an Arduino Uno running the genuine StandardFirmata (`govlocker start --firmata genuine`):
 * A01–A08, relays on D2–D9, door switches on D10–D12 and A0–A4 (digital 14–18). D0/D1 are the Uno's serial port
 * and D13 is left alone: StandardFirmata blinks its version there at every boot. Rows 01–04 small, 05–06 medium,
 * 07–08 large.
 */
export function unoDemoCompartments(): CompartmentConfig[] {
  const switches = [10, 11, 12, 14, 15, 16, 17, 18];
  return switches.map((doorSensor, n) => ({
    id: `A${String(n + 1).padStart(2, '0')}`,
    size: n < 4 ? 'S' : n < 6 ? 'M' : 'L',
    lockChannel: 2 + n,
    doorSensor,
  }));
}
