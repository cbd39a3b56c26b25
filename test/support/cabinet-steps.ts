import { expect } from 'vitest';
import { caseBody, until, type Harness } from './cabinet-harness.ts';

/** What the simulator's door `id` is doing now. */
export const simDoor = (h: Harness, id: string) => h.sim.model.snapshot()[id]!;

/** A clerk scans a barcode, the door opens, the clerk puts the item in and closes it; resolves once committed. */
export async function loadItem(h: Harness, barcode: string): Promise<string> {
  const l = await h.call('POST', '/api/v1/loads', { barcode });
  expect(l.status, JSON.stringify(l.json)).toBe(202);
  await until(() => simDoor(h, l.json.compartment).open, 3000, `door ${l.json.compartment} open`);
  h.sim.model.close(l.json.compartment, { occupied: true });
  await until(async () => (await h.call('GET', `/api/v1/loads/${l.json.loadId}`)).json.state === 'committed', 3000, 'load committed');
  return l.json.compartment;
}

/** Creates a case, loads every item and issues a credential the test knows (`POST …/notify`). */
export async function readyCase(h: Harness, caseNo: string, items: { type: string; barcode: string; label?: string }[]) {
  const created = await h.call('POST', '/api/v1/cases', caseBody(caseNo, items));
  expect(created.status, JSON.stringify(created.json)).toBe(201);
  const compartments = new Set<string>();
  for (const item of items) compartments.add(await loadItem(h, item.barcode));
  const notify = await h.call('POST', `/api/v1/cases/${caseNo}/notify`);
  expect(notify.status, JSON.stringify(notify.json)).toBe(200);
  return { compartments: [...compartments], code: notify.json.code as string, qr: notify.json.qr as string };
}

/** Adds a user the way `govlocker users add` does and returns its bearer token. */
export function addUser(h: Harness, name: string, role: 'clerk' | 'ops' | 'admin'): string {
  const token = `${role}-token-${name}-0123456789`;
  h.controller.cabinet.context.repos.users.add(name, role, token, Date.now());
  return token;
}

export const FULL_PHONE = '13800138000';
export const FULL_ID_NUMBER = '440106199001011235';
