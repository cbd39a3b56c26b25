import { afterEach, describe, expect, it } from 'vitest';
import type { KioskMessage } from '../../controller/events/bus.ts';
import { startHarness, until, type Harness } from '../support/cabinet-harness.ts';
import { simDoor } from '../support/cabinet-steps.ts';

let h: Harness | null = null;
afterEach(async () => {
  await h?.stop();
  h = null;
});

const leftOpen = (compartment: string) =>
  h!.controller.cabinet.store.outbox.after(0, 5000).filter((e) => e.type === 'door.left_open' && e.data.compartment === compartment);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a door left open', () => {
  it('is reported, and the kiosk told, every leftOpenMs until the door closes; then the reminders stop', async () => {
    h = await startHarness({ config: { hardware: { leftOpenMs: 300 } } });
    const kiosk: KioskMessage[] = [];
    h.controller.cabinet.bus.kiosk.add((m) => void kiosk.push(m));
    await h.call('POST', '/api/v1/cases', { caseNo: 'LEFT-OPEN', enterprise: { name: '某某科技有限公司', uscc: '91440101MA5CXY7A25' }, applicant: { name: '张三', phone: '13800138000', idNumber: '440106199001011235' }, items: [{ type: 'seal', barcode: 'LEFT-SEAL' }] });
    const load = await h.call('POST', '/api/v1/loads', { barcode: 'LEFT-SEAL' });
    const id = load.json.compartment as string;
    await until(() => simDoor(h!, id).open, 3000, 'door open');
    await until(() => leftOpen(id).length >= 2, 3000, 'two reminders');
    expect(leftOpen(id).map((e) => e.data).slice(0, 2)).toEqual([
      expect.objectContaining({ compartment: id, purpose: 'load', reminder: 1 }),
      expect.objectContaining({ compartment: id, purpose: 'load', reminder: 2 }),
    ]);
    expect(kiosk.filter((m) => m.type === 'left-open')).toContainEqual({ type: 'left-open', compartment: id });

    h.sim.model.close(id, { occupied: true });
    await until(async () => (await h!.call('GET', `/api/v1/loads/${load.json.loadId}`)).json.state === 'committed', 3000, 'load committed');
    const after = leftOpen(id).length;
    await sleep(800);
    expect(leftOpen(id).length).toBe(after);
    const closedEvents = h.controller.cabinet.store.outbox.after(0, 5000).filter((e) => e.type === 'door.closed' && e.data.compartment === id);
    expect(closedEvents).toHaveLength(1);
  });

  it('a forced door left open is reminded of too, with no purpose', async () => {
    h = await startHarness({ config: { hardware: { leftOpenMs: 300 } } });
    h.sim.model.force('C05');
    await until(() => leftOpen('C05').length >= 1, 3000, 'a reminder');
    expect(leftOpen('C05')[0]!.data).toMatchObject({ compartment: 'C05', purpose: null, reminder: 1 });
    h.sim.model.close('C05');
    await until(async () => (await h!.call('GET', '/api/v1/compartments')).json.find((c: { id: string }) => c.id === 'C05').door === 'closed', 3000, 'closed');
    const after = leftOpen('C05').length;
    await sleep(700);
    expect(leftOpen('C05').length).toBe(after);
  });
});
