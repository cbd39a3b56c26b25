/**
 * The number a lock-board compartment goes by on the cabinet's ports (`LockBank.pulse(lockId)`,
 * `DoorSensors.isOpen(lockId)`, `ItemSensors`): board and channel in one integer, so the controller, which
 * knows compartments by one lock number and one sensor number, needs no second addressing scheme. On a lock
 * board the lock's feedback contact is the door's state, so lock and sensor are the same number.
 */
export const lockId = (board: number, channel: number): number => board * 256 + channel;

export const lockIdParts = (id: number): { board: number; channel: number } => ({ board: Math.floor(id / 256), channel: id % 256 });
