import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { KEY_FILE_NAME } from '../../controller/secrets/keyring.ts';
import { ID_SUFFIX, startHarness, until, type Harness } from '../support/cabinet-harness.ts';
import { readyCase, simDoor } from '../support/cabinet-steps.ts';

let h: Harness | null = null;
afterEach(async () => {
  await h?.stop();
  h = null;
});

describe('guards around the doors', () => {
  it('asks for a token before it looks at the body (no token and a bad body: 401, not 400)', async () => {
    h = await startHarness();
    const r = await h.call('POST', '/api/v1/cases', { caseNo: 1 }, null);
    expect(r.status).toBe(401);
  });

  it('answers the kiosk endpoints only for the cabinet\'s own screen', async () => {
    h = await startHarness();
    const far = await h.controller.api.inject({ method: 'POST', url: '/api/v1/kiosk/pickup', remoteAddress: '192.0.2.7', payload: { code: '12345678', idSuffix: ID_SUFFIX } });
    expect(far.statusCode).toBe(403);
    expect(far.json().error).toMatch(/kioskClients/);
    expect(h.controller.cabinet.services.pickup.guardStatus().failuresToday).toBe(0);
    const near = await h.call('POST', '/api/v1/kiosk/pickup', { code: '12345678', idSuffix: ID_SUFFIX }, null);
    expect(near.status).toBe(200);
  });

  it('a second tap while the doors are opening is "in progress", not a failed attempt', async () => {
    h = await startHarness();
    const ready = await readyCase(h, 'TAP-TWICE', [{ type: 'seal', barcode: 'TAP-SEAL' }]);
    const first = await h.call('POST', '/api/v1/kiosk/pickup', { code: ready.code, idSuffix: ID_SUFFIX }, null);
    expect(first.json.result).toBe('opened');
    const second = await h.call('POST', '/api/v1/kiosk/pickup', { code: ready.code, idSuffix: ID_SUFFIX }, null);
    expect(second.json).toMatchObject({ result: 'denied', reason: 'in-progress' });
    expect(h.controller.cabinet.services.pickup.guardStatus().consecutiveFailures).toBe(0);
  });

  it('a pickup whose only door jammed gives the case back (still collectable) and keeps the faulty compartment shut', async () => {
    h = await startHarness();
    const ready = await readyCase(h, 'JAM-PICK', [{ type: 'seal', barcode: 'JAM-PICK-SEAL' }]);
    const id = ready.compartments[0]!;
    h.sim.model.setFault(id, 'jam');
    await h.call('POST', '/api/v1/kiosk/pickup', { code: ready.code, idSuffix: ID_SUFFIX }, null);
    await until(async () => (await h!.call('GET', '/api/v1/cases/JAM-PICK')).json.state === 'ready', 5000, 'case ready again');
    const compartments = await h.call('GET', '/api/v1/compartments');
    expect(compartments.json.find((c: { id: string }) => c.id === id).state).toBe('fault');
    const again = await h.call('POST', '/api/v1/kiosk/pickup', { code: ready.code, idSuffix: ID_SUFFIX }, null);
    expect(again.json).toMatchObject({ result: 'denied', reason: 'out-of-service', window: '1' });
    expect(simDoor(h, id).latchPulses).toBe(3); // the load's pulse and the pickup's two; none for the refused retry
    // A clerk repairs it and enables the compartment: the same credential works.
    h.sim.model.setFault(id, null);
    await h.call('POST', `/api/v1/compartments/${id}/enable`);
    expect((await h.call('POST', '/api/v1/kiosk/pickup', { code: ready.code, idSuffix: ID_SUFFIX }, null)).json.result).toBe('opened');
  });

  it('refuses to start when the key file is gone but the database holds cases', async () => {
    h = await startHarness();
    await readyCase(h, 'KEY-GONE', [{ type: 'seal', barcode: 'KEY-SEAL' }]);
    await h.stopController();
    rmSync(join(h.dataDir, KEY_FILE_NAME));
    await expect(h.restartController()).rejects.toThrow(/restore the key file/);
  });

  it('a start without the board settles the journal when the board comes back, without pulsing', async () => {
    h = await startHarness({ config: { hardware: { readyTimeoutMs: 300 } } });
    const ready = await readyCase(h, 'NO-BOARD', [{ type: 'seal', barcode: 'NO-BOARD-SEAL' }]);
    const id = ready.compartments[0]!;
    await h.call('POST', '/api/v1/kiosk/pickup', { code: ready.code, idSuffix: ID_SUFFIX }, null);
    await until(() => simDoor(h!, id).open);
    // Stop only once the controller has seen it open (else the restart rightly calls the pulse unverified).
    await until(async () => (await h!.call('GET', '/api/v1/compartments')).json.find((c: { id: string }) => c.id === id).door === 'open', 3000, 'the controller to see the door open');
    await h.stopController();
    h.sim.firmata.disconnect();
    h.sim.model.close(id, { occupied: false }); // the applicant took the items and closed the door meanwhile
    const restarting = h.restartController();
    await restarting;
    expect((await h.call('GET', '/api/v1/health', undefined, null)).json.hardware).toBe('lost');
    h.sim.firmata.connect();
    await until(async () => (await h!.call('GET', '/api/v1/cases/NO-BOARD')).json.state === 'collected', 15_000, 'collected once the board is back');
    expect(simDoor(h, id).latchPulses).toBe(2);
  });

  it('a retrieval with one jammed door takes back only what came out, and a second round finishes the case', async () => {
    h = await startHarness();
    const ready = await readyCase(h, 'TWO-DOORS', [1, 2, 3].map((n) => ({ type: 'licence-original', barcode: `TWO-L${n}` })));
    expect(ready.compartments).toHaveLength(2);
    const [good, stuck] = ready.compartments as [string, string];
    h.sim.model.setFault(stuck, 'jam');
    expect((await h.call('POST', '/api/v1/cases/TWO-DOORS/retrieve')).status).toBe(202);
    await until(() => simDoor(h!, good).open, 3000, 'the good door open');
    h.sim.model.close(good, { occupied: false });
    await until(() => h!.controller.cabinet.store.outbox.after(0, 2000).find((e) => e.type === 'case.retrieve_partial'), 5000, 'partial retrieval reported');
    const partial = await h.call('GET', '/api/v1/cases/TWO-DOORS');
    expect(partial.json.state).toBe('ready');
    expect(partial.json.items.filter((i: { state: string }) => i.state === 'loaded').every((i: { compartment: string }) => i.compartment === stuck)).toBe(true);
    expect((await h.call('GET', '/api/v1/compartments')).json.find((c: { id: string }) => c.id === good).state).toBe('empty');
    // The old code stopped working when the clerk started taking the items back.
    expect((await h.call('POST', '/api/v1/kiosk/pickup', { code: ready.code, idSuffix: ID_SUFFIX }, null)).json.result).toBe('denied');
    h.sim.model.setFault(stuck, null);
    await h.call('POST', `/api/v1/compartments/${stuck}/enable`);
    expect((await h.call('POST', '/api/v1/cases/TWO-DOORS/retrieve')).json.compartments).toEqual([stuck]);
    await until(() => simDoor(h!, stuck).open, 3000, 'the repaired door open');
    h.sim.model.close(stuck, { occupied: false });
    await until(async () => (await h!.call('GET', '/api/v1/cases/TWO-DOORS')).json.state === 'retrieved', 3000, 'retrieved');
  });
});
