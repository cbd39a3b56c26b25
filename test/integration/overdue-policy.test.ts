import { afterEach, describe, expect, it } from 'vitest';
import { ID_SUFFIX, startHarness, until, type Harness } from '../support/cabinet-harness.ts';
import { readyCase, simDoor } from '../support/cabinet-steps.ts';

// `policy.whenOverdue`: what a credential does once its time is up. "expire" (the default): the code stops and
// the kiosk sends the applicant to the window. "keep-valid": the case is overdue for the clerks all the same,
// but the code keeps opening the doors until a clerk takes the items back.

const DAY = 24 * 3_600_000;
let h: Harness;

afterEach(async () => {
  await h?.stop();
});

const pickup = (code: string) => h.call('POST', '/api/v1/kiosk/pickup', { code, idSuffix: ID_SUFFIX }, null);
const events = (type: string) => h.controller.cabinet.store.outbox.after(0, 100_000).filter((e) => e.type === type).map((e) => e.data);
const pulses = () => Object.values(h.sim.model.snapshot()).reduce((n, d) => n + d.latchPulses, 0);
const state = async (caseNo: string) => (await h.call('GET', `/api/v1/cases/${caseNo}`)).json.state as string;

async function takeAndClose(compartments: string[]): Promise<void> {
  for (const id of compartments) {
    await until(() => simDoor(h, id).open, 3000, `door ${id} open`);
    h.sim.model.close(id, { occupied: false });
  }
}

describe('policy.whenOverdue', () => {
  it('"expire" (the default): past its expiry the code opens nothing and the case is overdue for the window', async () => {
    h = await startHarness({ config: { policy: { helpWindow: '2' } } });
    const ready = await readyCase(h, 'OD-EXPIRE', [{ type: 'invoice', barcode: 'ODE-INV' }]);
    h.clock.advance(7 * DAY + 60_000);
    const before = pulses();
    // Refused as expired even before the sweep has marked it.
    expect((await pickup(ready.code)).json).toEqual({ result: 'denied', reason: 'expired', window: '2' });
    expect(h.controller.cabinet.services.expiry.sweep()).toEqual(['OD-EXPIRE']);
    expect(await state('OD-EXPIRE')).toBe('overdue');
    expect(events('case.overdue')).toEqual([{ caseNo: 'OD-EXPIRE', expiredAt: expect.any(String), codeKeepsWorking: false }]);
    expect((await pickup(ready.code)).json).toEqual({ result: 'denied', reason: 'expired', window: '2' });
    expect(pulses()).toBe(before);
    // An expired code is not a guess.
    expect(h.controller.cabinet.services.pickup.guardStatus().consecutiveFailures).toBe(0);
  });

  it('"keep-valid": the case is overdue for the clerks, and the code still collects it', async () => {
    h = await startHarness({ config: { policy: { whenOverdue: 'keep-valid' } } });
    const ready = await readyCase(h, 'OD-KEEP', [{ type: 'licence-copy', barcode: 'ODK-COPY' }]);
    h.clock.advance(10 * DAY);
    expect(h.controller.cabinet.services.expiry.sweep()).toEqual(['OD-KEEP']);
    expect(events('case.overdue')).toEqual([{ caseNo: 'OD-KEEP', expiredAt: expect.any(String), codeKeepsWorking: true }]);
    expect((await h.call('GET', '/api/v1/cases?state=overdue')).json.map((c: { caseNo: string }) => c.caseNo)).toEqual(['OD-KEEP']);
    expect((await pickup(ready.code)).json).toMatchObject({ result: 'opened', compartments: ready.compartments });
    await takeAndClose(ready.compartments);
    await until(async () => (await state('OD-KEEP')) === 'collected', 3000, 'collected');
    expect(h.controller.cabinet.services.expiry.sweep()).toEqual([]);
  });

  it('"keep-valid": once a clerk takes the items back the code stops working', async () => {
    h = await startHarness({ config: { policy: { whenOverdue: 'keep-valid' } } });
    const ready = await readyCase(h, 'OD-RECALL', [{ type: 'invoice', barcode: 'ODR-INV' }]);
    h.clock.advance(8 * DAY);
    h.controller.cabinet.services.expiry.sweep();
    const retrieve = await h.call('POST', '/api/v1/cases/OD-RECALL/retrieve');
    expect(retrieve.status, JSON.stringify(retrieve.json)).toBe(202);
    // While the clerk has the doors open, and after, the code is a wrong code.
    expect((await pickup(ready.code)).json).toMatchObject({ result: 'denied', reason: 'invalid' });
    await takeAndClose(ready.compartments);
    await until(async () => (await state('OD-RECALL')) === 'retrieved', 3000, 'retrieved');
    expect((await pickup(ready.code)).json).toMatchObject({ result: 'denied', reason: 'invalid' });
  });

  it('"keep-valid": an overdue pickup whose door did not open leaves the case overdue, reported once', async () => {
    h = await startHarness({ config: { policy: { whenOverdue: 'keep-valid' } } });
    const ready = await readyCase(h, 'OD-JAM', [{ type: 'invoice', barcode: 'ODJ-INV' }]);
    h.clock.advance(8 * DAY);
    h.controller.cabinet.services.expiry.sweep();
    h.sim.model.setFault(ready.compartments[0]!, 'jam');
    expect((await pickup(ready.code)).json).toMatchObject({ result: 'opened' });
    await until(() => events('pickup.interrupted').length === 1, 5000, 'pickup.interrupted');
    expect(await state('OD-JAM')).toBe('overdue');
    expect(h.controller.cabinet.services.expiry.sweep()).toEqual([]);
    expect(events('case.overdue')).toHaveLength(1);
  });
});
