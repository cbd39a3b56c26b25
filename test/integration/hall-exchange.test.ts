import { afterEach, describe, expect, it } from 'vitest';
import { caseBody, ID_SUFFIX, startHarness, until, type Harness } from '../support/cabinet-harness.ts';
import { FULL_ID_NUMBER, loadItem, simDoor } from '../support/cabinet-steps.ts';

// The hall's two-way exchange through the real controller and the simulated cabinet over Firmata/TCP (and the
// Kerong lock boards where item sensors matter): an agent (代办人) collecting with their own ID, a document
// deposited at the kiosk and taken out by a clerk (容缺材料), and items sent back at the doors (材料有误，退回窗口).

const AGENT_ID = '44010619851231003X';
const AGENT_SUFFIX = '31003X';
let h: Harness;

afterEach(async () => {
  await h?.stop();
});

const kiosk = (path: string, body: unknown) => h.call('POST', `/api/v1/kiosk/${path}`, body, null);
const events = (type: string) => h.controller.cabinet.store.outbox.after(0, 100_000).filter((e) => e.type === type).map((e) => e.data);
const withAgent = (caseNo: string, items: { type: string; barcode: string }[]) => ({ ...caseBody(caseNo, items), agent: { name: '李四', idNumber: AGENT_ID } });

async function readyWithAgent(caseNo: string, barcode: string) {
  const created = await h.call('POST', '/api/v1/cases', withAgent(caseNo, [{ type: 'seal', barcode }]));
  expect(created.status, JSON.stringify(created.json)).toBe(201);
  const compartment = await loadItem(h, barcode);
  const notify = await h.call('POST', `/api/v1/cases/${caseNo}/notify`);
  return { compartment, code: notify.json.code as string, qr: notify.json.qr as string, created: created.json };
}

/** Waits until the controller itself has seen the door open (a polled board misses a door opened and shut between polls). */
const seenOpen = (id: string) => until(async () => (await h.call('GET', '/api/v1/compartments')).json.find((c: { id: string }) => c.id === id)?.door === 'open', 3000, `${id} seen open`);

describe('an agent (代办人) named on the case', () => {
  it('collects with their own ID suffix; the pickup records who collected; the case shows the agent masked', async () => {
    h = await startHarness();
    const { compartment, code, created } = await readyWithAgent('AG-1', 'AG1-SEAL');
    expect(created.agent).toEqual({ name: '李*', idNumber: '440106********003X' });
    expect(JSON.stringify(created)).not.toContain(AGENT_ID);

    const answer = await kiosk('pickup', { code, idSuffix: AGENT_SUFFIX });
    expect(answer.json).toMatchObject({ result: 'opened', compartments: [compartment] });
    await until(() => simDoor(h, compartment).open, 3000, 'door open');
    await seenOpen(compartment);
    h.sim.model.close(compartment, { occupied: false });
    await until(async () => (await h.call('GET', '/api/v1/cases/AG-1')).json.state === 'collected', 3000, 'collected');
    expect(events('pickup.started').at(-1)).toMatchObject({ caseNo: 'AG-1', by: 'agent' });
    expect(events('pickup.completed').at(-1)).toMatchObject({ caseNo: 'AG-1', collectedBy: 'agent' });
    const audit = h.controller.cabinet.store.db.prepare(`SELECT actor FROM audit WHERE action = 'pickup.started'`).all() as { actor: string }[];
    expect(audit.at(-1)).toEqual({ actor: 'agent' });
  });

  it('the applicant still collects with theirs, and a stranger\'s suffix is a failed attempt like any wrong one', async () => {
    h = await startHarness();
    const { compartment, code } = await readyWithAgent('AG-2', 'AG2-SEAL');
    expect((await kiosk('pickup', { code, idSuffix: '000000' })).json).toMatchObject({ result: 'denied', reason: 'invalid', attemptsLeft: 4 });
    expect((await kiosk('pickup', { code, idSuffix: ID_SUFFIX })).json).toMatchObject({ result: 'opened', compartments: [compartment] });
    await seenOpen(compartment);
    h.sim.model.close(compartment, { occupied: false });
    await until(() => events('pickup.completed').some((e) => e.caseNo === 'AG-2'), 3000, 'completed');
    expect(events('pickup.completed').at(-1)).toMatchObject({ caseNo: 'AG-2', collectedBy: 'applicant' });
  });

  it('refuses an agent who is the applicant, or whose ID number fails its check digit, by field', async () => {
    h = await startHarness();
    const same = await h.call('POST', '/api/v1/cases', { ...caseBody('AG-3', [{ type: 'seal', barcode: 'AG3-S' }]), agent: { name: '张三', idNumber: FULL_ID_NUMBER } });
    expect(same.status).toBe(400);
    expect(same.json.issues).toEqual([expect.objectContaining({ path: 'agent.idNumber' })]);
    const bad = await h.call('POST', '/api/v1/cases', { ...caseBody('AG-3', [{ type: 'seal', barcode: 'AG3-S' }]), agent: { name: '李四', idNumber: '440106198512310022' } });
    expect(bad.status).toBe(400);
    expect(bad.json.issues[0].path).toBe('agent.idNumber');
    const extra = await h.call('POST', '/api/v1/cases', { ...caseBody('AG-3', [{ type: 'seal', barcode: 'AG3-S' }]), agent: { name: '李四', idNumber: AGENT_ID, phone: '13900139000' } });
    expect(extra.status).toBe(400);
    expect(JSON.stringify(extra.json)).toContain('agent');
    expect((await h.call('GET', '/api/v1/cases/AG-3')).status).toBe(404);
  });

  it('the hall system names the agent: a repeat is the same case, a different agent is refused by field, an amendment changes it', async () => {
    h = await startHarness();
    const token = 'integration-token-hall-0123456789';
    h.controller.cabinet.context.repos.users.add('hall-system', 'integration', token, Date.now());
    const body = withAgent('AG-4', [{ type: 'seal', barcode: 'AG4-SEAL' }]);
    expect((await h.call('POST', '/api/v1/cases', body, token)).status).toBe(201);
    expect((await h.call('POST', '/api/v1/cases', body, token)).status).toBe(200);
    const other = await h.call('POST', '/api/v1/cases', { ...body, agent: { name: '王五', idNumber: AGENT_ID } }, token);
    expect(other.status).toBe(409);
    expect(other.json.issues).toEqual([{ path: 'agent.name', message: 'differs from the case on file' }]);
    expect(JSON.stringify(other.json)).not.toContain('王五');
    const amended = await h.call('PUT', '/api/v1/cases/AG-4', caseBody('AG-4', [{ type: 'seal', barcode: 'AG4-SEAL' }]), token);
    expect(amended.status).toBe(200);
    expect(amended.json.agent).toBeNull();
  });
});

describe('an item the cabinet cannot hold', () => {
  it('is refused when the case comes (clerk or hall system, created or amended), by the item\'s path, with nothing written', async () => {
    h = await startHarness({ config: { compartments: [{ id: 'A01', size: 'S', lockChannel: 2, doorSensor: 3 }, { id: 'A02', size: 'M', lockChannel: 4, doorSensor: 5 }] } });
    const framed = caseBody('FIT-1', [{ type: 'seal', barcode: 'FIT1-SEAL' }, { type: 'licence-original', barcode: 'FIT1-LIC' }]);
    const byClerk = await h.call('POST', '/api/v1/cases', framed);
    expect(byClerk.status).toBe(400);
    expect(byClerk.json).toMatchObject({ code: 'item-cannot-fit', issues: [{ path: 'items.1.type', message: expect.stringContaining('size L') }] });
    expect((await h.call('GET', '/api/v1/cases/FIT-1')).status).toBe(404);
    const token = 'integration-token-fit-0123456789';
    h.controller.cabinet.context.repos.users.add('hall-fit', 'integration', token, Date.now());
    expect((await h.call('POST', '/api/v1/cases', framed, token)).status).toBe(400);
    expect((await h.call('POST', '/api/v1/cases', caseBody('FIT-1', [{ type: 'seal', barcode: 'FIT1-SEAL' }]), token)).status).toBe(201);
    const amended = await h.call('PUT', '/api/v1/cases/FIT-1', framed, token);
    expect(amended.status).toBe(400);
    expect(amended.json.issues[0].path).toBe('items.1.type');
    expect((await h.call('GET', '/api/v1/cases/FIT-1')).json.items).toHaveLength(1);
  });
});

describe('a document deposited at the kiosk (容缺材料)', () => {
  it('opens a free compartment that takes a document, is received when the door shuts, is listed for the clerk and taken out by one', async () => {
    h = await startHarness();
    expect((await h.call('POST', '/api/v1/cases', caseBody('DP-1', [{ type: 'seal', barcode: 'DP1-SEAL' }]))).status).toBe(201);
    const answer = await kiosk('deposit', { caseNo: 'DP-1', idSuffix: ID_SUFFIX });
    expect(answer.json).toMatchObject({ result: 'opened', compartment: expect.any(String) });
    const compartment = answer.json.compartment as string;
    const size = h.controller.cabinet.config.compartments.find((c) => c.id === compartment)!.size;
    expect(['M', 'L']).toContain(size); // a document does not fit a small compartment
    await until(() => simDoor(h, compartment).open, 3000, 'deposit door open');
    await seenOpen(compartment);
    h.sim.model.close(compartment, { occupied: true });
    await until(() => events('deposit.received').length === 1, 3000, 'deposit.received');
    expect(events('deposit.received')[0]).toMatchObject({ caseNo: 'DP-1', compartment, by: 'applicant' });

    const waiting = await h.call('GET', '/api/v1/deposits');
    expect(waiting.json).toEqual([expect.objectContaining({ caseNo: 'DP-1', compartment, state: 'received', depositor: 'applicant' })]);
    // The compartment is taken: the case's own item goes elsewhere.
    const load = await h.call('POST', '/api/v1/loads', { barcode: 'DP1-SEAL' });
    expect(load.json.compartment).not.toBe(compartment);
    await until(() => simDoor(h, load.json.compartment).open, 3000, 'load door');
    h.sim.model.close(load.json.compartment, { occupied: true });

    const taken = await h.call('POST', `/api/v1/deposits/${waiting.json[0].id}/retrieve`);
    expect(taken.status, JSON.stringify(taken.json)).toBe(202);
    expect(taken.json).toMatchObject({ state: 'retrieving', compartment });
    await until(() => simDoor(h, compartment).open, 3000, 'door open for the clerk');
    await seenOpen(compartment);
    h.sim.model.close(compartment, { occupied: false });
    await until(() => events('deposit.retrieved').length === 1, 3000, 'deposit.retrieved');
    expect(events('deposit.retrieved')[0]).toMatchObject({ caseNo: 'DP-1', compartment, by: 'admin:admin' });
    expect((await h.call('GET', '/api/v1/deposits')).json).toEqual([]);
    const view = (await h.call('GET', '/api/v1/compartments')).json.find((c: { id: string }) => c.id === compartment);
    expect(view).toMatchObject({ state: 'empty', caseNo: null });
  });

  it('the agent may deposit too; a wrong case number and a wrong ID answer alike and count as failed attempts', async () => {
    h = await startHarness();
    expect((await h.call('POST', '/api/v1/cases', withAgent('DP-2', [{ type: 'seal', barcode: 'DP2-SEAL' }]))).status).toBe(201);
    expect((await kiosk('deposit', { caseNo: 'DP-NOPE', idSuffix: ID_SUFFIX })).json).toEqual({ result: 'denied', reason: 'invalid', attemptsLeft: 4 });
    expect((await kiosk('deposit', { caseNo: 'DP-2', idSuffix: '000000' })).json).toEqual({ result: 'denied', reason: 'invalid', attemptsLeft: 3 });
    expect(h.controller.cabinet.services.pickup.guardStatus().consecutiveFailures).toBe(2);
    const byAgent = await kiosk('deposit', { caseNo: 'DP-2', idSuffix: AGENT_SUFFIX });
    expect(byAgent.json).toMatchObject({ result: 'opened' });
    await seenOpen(byAgent.json.compartment);
    h.sim.model.close(byAgent.json.compartment, { occupied: true });
    await until(() => events('deposit.received').length === 1, 3000, 'received');
    expect(events('deposit.received')[0]).toMatchObject({ caseNo: 'DP-2', by: 'agent' });
    // Bad input is refused by field before anything is counted.
    const bad = await kiosk('deposit', { caseNo: 'DP-2', idSuffix: '12', idCardReadId: 'x' });
    expect(bad.status).toBe(400);
  });

  it('a department returns something to the window: a courier names the case, a door opens, the clerk lists it as the department\'s', async () => {
    h = await startHarness();
    expect((await h.call('POST', '/api/v1/cases', caseBody('DP-DEPT', [{ type: 'seal', barcode: 'DPD-SEAL' }]))).status).toBe(201);
    const courier = 'courier-token-tax-bureau-0123456789';
    h.controller.cabinet.context.repos.users.add('tax-bureau', 'courier', courier, Date.now(), ['tax-device']);
    const other = 'courier-token-seal-company-0123456789';
    h.controller.cabinet.context.repos.users.add('seal-co', 'courier', other, Date.now(), ['seal']);
    expect((await h.call('POST', '/api/v1/deposits', { caseNo: 'DP-NOBODY' }, courier)).json).toMatchObject({ code: 'unknown-case' });
    const started = await h.call('POST', '/api/v1/deposits', { caseNo: 'DP-DEPT' }, courier);
    expect(started.status, JSON.stringify(started.json)).toBe(202);
    expect(started.json).toMatchObject({ state: 'opening', depositor: 'department', depositedBy: 'courier:tax-bureau' });
    const { id, compartment } = started.json as { id: string; compartment: string };
    // Another courier cannot follow it, nor can the applicant's kiosk hear of it.
    expect((await h.call('GET', `/api/v1/deposits/${id}`, undefined, other)).status).toBe(404);
    await seenOpen(compartment);
    h.sim.model.close(compartment, { occupied: true });
    await until(async () => (await h.call('GET', `/api/v1/deposits/${id}`, undefined, courier)).json.state === 'received', 3000, 'received');
    expect(events('deposit.received')[0]).toMatchObject({ caseNo: 'DP-DEPT', compartment, by: 'department', depositedBy: 'courier:tax-bureau' });
    expect((await h.call('GET', '/api/v1/deposits')).json).toEqual([expect.objectContaining({ id, depositor: 'department', depositedBy: 'courier:tax-bureau' })]);
    // A courier sees no list and takes nothing out.
    expect((await h.call('GET', '/api/v1/deposits', undefined, courier)).status).toBe(403);
    expect((await h.call('POST', `/api/v1/deposits/${id}/retrieve`, undefined, courier)).status).toBe(403);
  });

  it('a restart while the deposit\'s door stands open: shut meanwhile, the deposit is received once the controller is back', async () => {
    h = await startHarness();
    expect((await h.call('POST', '/api/v1/cases', caseBody('DP-RST', [{ type: 'seal', barcode: 'DPR-SEAL' }]))).status).toBe(201);
    const answer = await kiosk('deposit', { caseNo: 'DP-RST', idSuffix: ID_SUFFIX });
    const compartment = answer.json.compartment as string;
    await seenOpen(compartment);
    await h.stopController();
    h.sim.model.close(compartment, { occupied: true });
    await h.restartController();
    await until(async () => (await h.call('GET', '/api/v1/deposits')).json.length === 1, 5000, 'the deposit received after the restart');
    expect((await h.call('GET', '/api/v1/deposits')).json[0]).toMatchObject({ caseNo: 'DP-RST', compartment, state: 'received' });
    // Its compartment stays taken: a load goes elsewhere.
    const load = await h.call('POST', '/api/v1/loads', { barcode: 'DPR-SEAL' });
    expect(load.json.compartment).not.toBe(compartment);
  });

  it('answers no-compartment (with the window) when nothing free takes a document', async () => {
    h = await startHarness({ config: { compartments: [{ id: 'A01', size: 'S', lockChannel: 2, doorSensor: 3 }, { id: 'A02', size: 'M', lockChannel: 4, doorSensor: 5 }] } });
    expect((await h.call('POST', '/api/v1/cases', caseBody('DP-3', [{ type: 'invoice', barcode: 'DP3-INV' }]))).status).toBe(201);
    await loadItem(h, 'DP3-INV'); // the only medium compartment
    const answer = await kiosk('deposit', { caseNo: 'DP-3', idSuffix: ID_SUFFIX });
    expect(answer.json).toEqual({ result: 'denied', reason: 'no-compartment', window: h.controller.cabinet.config.policy.helpWindow });
    expect(events('deposit.refused')).toEqual([{ caseNo: 'DP-3', reason: 'no-compartment' }]);
  });

  it('with item sensors, a door shut on nothing is no deposit: aborted item-not-detected, the compartment free again', async () => {
    h = await startHarness({ lockboard: 'kerong-cu' });
    expect((await h.call('POST', '/api/v1/cases', caseBody('DP-4', [{ type: 'seal', barcode: 'DP4-SEAL' }]))).status).toBe(201);
    const answer = await kiosk('deposit', { caseNo: 'DP-4', idSuffix: ID_SUFFIX });
    const compartment = answer.json.compartment as string;
    await seenOpen(compartment);
    h.sim.model.close(compartment, { occupied: false });
    await until(() => events('deposit.aborted').length === 1, 5000, 'aborted');
    expect(events('deposit.aborted')[0]).toMatchObject({ caseNo: 'DP-4', compartment, reason: 'item-not-detected' });
    expect((await h.call('GET', '/api/v1/deposits')).json).toEqual([]);
  });
});

describe('items sent back at the doors (材料有误，退回窗口)', () => {
  it('while the doors are open: the case becomes returned when they shut, with the reasons, an alarm for the clerk, and the items retrievable', async () => {
    h = await startHarness();
    const created = await h.call('POST', '/api/v1/cases', caseBody('RT-1', [{ type: 'seal', barcode: 'RT1-SEAL' }, { type: 'invoice', barcode: 'RT1-INV' }]));
    expect(created.status).toBe(201);
    await loadItem(h, 'RT1-SEAL');
    await loadItem(h, 'RT1-INV');
    const { code } = (await h.call('POST', '/api/v1/cases/RT-1/notify')).json;
    const opened = await kiosk('pickup', { code, idSuffix: ID_SUFFIX });
    expect(opened.json.result).toBe('opened');
    const doors = opened.json.compartments as string[];
    for (const d of doors) await seenOpen(d);

    const sent = await kiosk('return', { caseNo: 'RT-1', reasons: ['damaged', 'wrong-content', 'damaged'] });
    expect(sent.json).toEqual({ result: 'accepted', compartments: doors });
    for (const d of doors) h.sim.model.close(d, { occupied: true });
    await until(async () => (await h.call('GET', '/api/v1/cases/RT-1')).json.state === 'returned', 3000, 'returned');
    const returned = events('case.returned');
    expect(returned).toEqual([expect.objectContaining({ caseNo: 'RT-1', reasons: ['damaged', 'wrong-content'], compartments: doors, alarmId: expect.any(Number) })]);
    expect(events('pickup.completed')).toEqual([]);
    const alarms = (await h.call('GET', '/api/v1/alarms')).json as { kind: string; data: Record<string, unknown> }[];
    expect(alarms.find((a) => a.kind === 'case-returned')).toMatchObject({ data: expect.objectContaining({ caseNo: 'RT-1' }) });
    // The items are still inside, bound to the case; the code is spent.
    const view = (await h.call('GET', '/api/v1/cases/RT-1')).json;
    expect(view.items.map((i: { state: string }) => i.state)).toEqual(['loaded', 'loaded']);
    expect(view.returnReasons).toEqual(['damaged', 'wrong-content']);
    expect((await kiosk('pickup', { code, idSuffix: ID_SUFFIX })).json).toMatchObject({ result: 'denied' });

    // The clerk takes them back: the case stays `returned`, closed now.
    const back = await h.call('POST', '/api/v1/cases/RT-1/retrieve');
    expect(back.status, JSON.stringify(back.json)).toBe(202);
    for (const d of back.json.compartments as string[]) {
      await seenOpen(d);
      h.sim.model.close(d, { occupied: false });
    }
    await until(async () => (await h.call('GET', '/api/v1/cases/RT-1')).json.closedAt !== null, 3000, 'closed');
    expect((await h.call('GET', '/api/v1/cases/RT-1')).json).toMatchObject({ state: 'returned' });
    expect(events('case.retrieved').at(-1)).toMatchObject({ caseNo: 'RT-1', from: 'returned' });
  });

  it('a restart between the request and the doors shutting still ends the case returned, with its reasons', async () => {
    h = await startHarness();
    expect((await h.call('POST', '/api/v1/cases', caseBody('RT-RST', [{ type: 'seal', barcode: 'RTR-SEAL' }]))).status).toBe(201);
    const compartment = await loadItem(h, 'RTR-SEAL');
    const { code } = (await h.call('POST', '/api/v1/cases/RT-RST/notify')).json;
    expect((await kiosk('pickup', { code, idSuffix: ID_SUFFIX })).json.result).toBe('opened');
    await seenOpen(compartment);
    expect((await kiosk('return', { caseNo: 'RT-RST', reasons: ['not-ours'] })).json.result).toBe('accepted');
    await h.stopController();
    h.sim.model.close(compartment, { occupied: true });
    await h.restartController();
    await until(async () => (await h.call('GET', '/api/v1/cases/RT-RST')).json.state === 'returned', 5000, 'returned after the restart');
    expect((await h.call('GET', '/api/v1/cases/RT-RST')).json.returnReasons).toEqual(['not-ours']);
  });

  it('is refused once the doors have shut (not-in-progress), for another case, and for a reason not on the list', async () => {
    h = await startHarness();
    expect((await h.call('POST', '/api/v1/cases', caseBody('RT-2', [{ type: 'seal', barcode: 'RT2-SEAL' }]))).status).toBe(201);
    const compartment = await loadItem(h, 'RT2-SEAL');
    const { code } = (await h.call('POST', '/api/v1/cases/RT-2/notify')).json;
    expect((await kiosk('return', { caseNo: 'RT-2', reasons: ['damaged'] })).json).toMatchObject({ result: 'denied', reason: 'not-in-progress' });
    await kiosk('pickup', { code, idSuffix: ID_SUFFIX });
    await seenOpen(compartment);
    const unknownReason = await kiosk('return', { caseNo: 'RT-2', reasons: ['too-heavy'] });
    expect(unknownReason.status).toBe(400);
    expect(unknownReason.json.issues[0].path).toBe('reasons.0');
    expect((await kiosk('return', { caseNo: 'RT-2', reasons: [] })).status).toBe(400);
    expect((await kiosk('return', { caseNo: 'RT-OTHER', reasons: ['damaged'] })).json).toMatchObject({ result: 'denied', reason: 'not-in-progress' });
    h.sim.model.close(compartment, { occupied: false });
    await until(async () => (await h.call('GET', '/api/v1/cases/RT-2')).json.state === 'collected', 3000, 'collected');
    expect((await kiosk('return', { caseNo: 'RT-2', reasons: ['damaged'] })).json).toMatchObject({ result: 'denied', reason: 'not-in-progress' });
    expect(events('case.returned')).toEqual([]);
  });
});
