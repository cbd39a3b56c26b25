import type { CompartmentSize } from '../config/schema.ts';

export const itemTypes = ['licence-original', 'licence-copy', 'seal', 'invoice', 'tax-device', 'other'] as const;
export type ItemType = (typeof itemTypes)[number];

/** Names applicants read on the kiosk. */
export const itemTypeNames: Record<ItemType, { zh: string; en: string }> = {
  'licence-original': { zh: '营业执照正本', en: 'business licence (original)' },
  'licence-copy': { zh: '营业执照副本', en: 'business licence (copy)' },
  seal: { zh: '印章', en: 'seal' },
  invoice: { zh: '发票', en: 'invoices' },
  'tax-device': { zh: '税务UKey', en: 'tax USB key' },
  other: { zh: '其他材料', en: 'other documents' },
};

/** Items whose QR pickup needs the ID suffix as a second factor (CONTRACT §3). */
export const sensitiveItemTypes: ReadonlySet<ItemType> = new Set(['seal', 'tax-device']);

export const caseStates = ['awaiting-items', 'ready', 'picking-up', 'collected', 'overdue', 'retrieved', 'cancelled', 'returned'] as const;
export type CaseState = (typeof caseStates)[number];
/** Who sent a case: a clerk at the station, or the hall's case system (HTTP `integration` role, MQTT `cmd/case`). */
export type CaseSource = 'clerk' | 'hall-system';
export type ItemState = 'expected' | 'loading' | 'loaded' | 'collected' | 'retrieved';
export type CompartmentService = 'in-service' | 'disabled' | 'fault';
export type DoorState = 'open' | 'closed' | 'unknown';
export type CompartmentState = 'empty' | 'reserved' | 'loaded' | 'open' | 'fault' | 'disabled';
export type OpenPurpose = 'load' | 'pickup' | 'retrieve' | 'remote' | 'deposit';
/** Whose ID opened the doors (or made a deposit): the applicant, or the agent (代办人) the case names. */
export type Collector = 'applicant' | 'agent';
/**
 * Why an applicant sent items back at the doors (材料有误，退回窗口): fixed choices, so the window can act on them
 * and no free text (or personal data) travels with them.
 */
export const returnReasons = ['wrong-content', 'damaged', 'not-ours', 'missing-item', 'other'] as const;
export type ReturnReason = (typeof returnReasons)[number];
export type OpenState = 'journaled' | 'pulsed' | 'opened' | 'closed' | 'failed' | 'interrupted';

export type { CompartmentSize };

/** What an alarm is about. Each stays open until ops acknowledge it, whatever happens next (README, Admin API). */
export const alarmKinds = [
  'door-forced', 'door-jammed', 'door-unverified', 'sensor-faulty', 'sensor-stuck',
  'remote-open-cap', 'daily-ceiling', 'storage-failed',
  /** The board closed the controller's link itself: another host took its only TCP slot (or its network restarted). */
  'board-link-taken',
  /** A pickup's doors closed with an item still seen inside (item sensors): the compartment is held for a clerk. */
  'item-left',
  /** A compartment that should be empty sees something (a foreign object, or an item a clerk forgot): held for a clerk. */
  'unexpected-item',
  /** The camera over the doors gave no still (unreachable, no answer in time, a refused login, not a JPEG). */
  'camera-unreachable',
  /** The applicant sent a case's items back at the doors (材料有误): a clerk looks at the reasons and retrieves them. */
  'case-returned',
] as const;
export type AlarmKind = (typeof alarmKinds)[number];

/**
 * Why a compartment is held for a clerk (item sensors only): no new load goes there until a clerk has looked
 * inside and cleared it (or ops enable it). Independent of `service`, which is about the door and its switch.
 */
export type CompartmentHold = 'item-left' | 'unexpected-item';

/**
 * The state a person sees, derived from what is stored: out of service wins (a compartment held for a clerk
 * counts as `fault`: it cannot be used until someone acts), then an open door, then contents.
 */
export function compartmentState(c: { service: CompartmentService; door: DoorState; caseNo: string | null; loadedItems: number; hold?: CompartmentHold | null; depositId?: string | null }): CompartmentState {
  if (c.service === 'disabled') return 'disabled';
  if (c.service === 'fault' || c.hold) return 'fault';
  if (c.door === 'open') return 'open';
  if (c.loadedItems > 0 || (c.depositId ?? null) !== null) return 'loaded';
  if (c.caseNo !== null) return 'reserved';
  return 'empty';
}
