import type { CompartmentConfig, CompartmentSize } from './schema.ts';

/**
 * The demo cabinet of the contract: columns A–C × rows 01–08; rows 01–04 small, 05–06 medium, 07–08 large.
 * Wiring (an Arduino Mega running StandardFirmata): compartment n (0-based, A01 first) has its lock relay on
 * digital pin 2+n and its door switch on digital pin 26+n, so the 24 relays use pins 2–25, the switches 26–49.
 */
export const DEMO_LOCK_PIN_BASE = 2;
export const DEMO_SENSOR_PIN_BASE = 26;

export function demoCompartments(): CompartmentConfig[] {
  const compartments: CompartmentConfig[] = [];
  let n = 0;
  for (const column of ['A', 'B', 'C']) {
    for (let row = 1; row <= 8; row++) {
      const size: CompartmentSize = row <= 4 ? 'S' : row <= 6 ? 'M' : 'L';
      compartments.push({
        id: `${column}${String(row).padStart(2, '0')}`,
        size,
        lockChannel: DEMO_LOCK_PIN_BASE + n,
        doorSensor: DEMO_SENSOR_PIN_BASE + n,
      });
      n++;
    }
  }
  return compartments;
}
