import type { EventPayload } from './payloads.ts';

/** Event types that always need a person: ops see them until someone acknowledges them on the page. */
export const ALARM_EVENT_TYPES: ReadonlySet<string> = new Set([
  'door.forced',
  'door.jammed',
  'door.unverified',
  'alarm.raised',
  'hardware.lost',
  'cmd.refused',
  'sensor.faulty',
  'sensor.stuck',
  'storage.failed',
  // Item-present sensors: an item left after a pickup, something in a compartment that should be empty.
  'pickup.incomplete',
  'compartment.occupied_unexpectedly',
  // The camera over the doors gave no still (its alarm stays until acknowledged; camera.restored says it is back).
  'camera.unreachable',
]);

/** An alarm for central ops: the types above, and any event the cabinet itself flags `alarm: true` (a daily lockout ceiling). */
export function isAlarm(event: Pick<EventPayload, 'type' | 'data'>): boolean {
  return ALARM_EVENT_TYPES.has(event.type) || event.data.alarm === true;
}
