import { afterEach, describe, expect, it } from 'vitest';
import { caseBody, ID_SUFFIX, startHarness, until, type Harness } from '../support/cabinet-harness.ts';
import { addUser } from '../support/cabinet-steps.ts';

// Item-present sensors (CONTRACT §7): the real controller with a real SQLite file, its lock-board driver polling
// the simulator's emulated Kerong KR-CU bus over TCP, whose infrared item bits follow the cabinet model's
// `occupied`. A load commits only when its door closed with the item seen; a pickup that leaves an item is
// `pickup.incomplete` and its compartment held until a clerk clears it; something in an empty compartment is
// reported and held; contents that change behind a switch stuck shut make it `sensor.stuck` (stuck-shut), not
// `door.jammed`. A polled bus never sees a door opened and shut within one poll, so each test waits until the
// controller has seen a door open before closing it.

let h: Harness | null = null;
afterEach(async () => {
  await h?.stop();
  h = null;
});

/** The cabinet on emulated lock boards of `protocol`, through the shared harness. */
const startOnLockBoards = (protocol: '8a80' | 'kerong-cu' = 'kerong-cu'): Promise<Harness> => startHarness({ lockboard: protocol });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const events = (harness: Harness, type?: string) => harness.controller.cabinet.store.outbox.after(0, 10_000).filter((e) => type === undefined || e.type === type);
const compartment = async (harness: Harness, id: string) => (await harness.call('GET', '/api/v1/compartments')).json.find((c: { id: string }) => c.id === id);
const openAlarms = async (harness: Harness) => (await harness.call('GET', '/api/v1/alarms')).json as { id: number; kind: string; compartment: string | null; data: Record<string, unknown> }[];
const lockOf = (harness: Harness, id: string) => harness.controller.cabinet.config.compartments.find((c) => c.id === id)!.lockChannel;

/** The controller has seen the door open (by polling). */
async function seenOpen(harness: Harness, id: string): Promise<void> {
  await until(() => harness.controller.cabinet.board.doors.isOpen(lockOf(harness, id)) === true, 3000, `${id} seen open`);
}

/** The controller's item sensor reading of a compartment has caught up with the simulator. */
async function itemSeen(harness: Harness, id: string, present: boolean): Promise<void> {
  await until(() => harness.controller.cabinet.board.items?.isPresent(lockOf(harness, id)) === present, 3000, `${id} item ${present ? 'seen' : 'gone'}`);
}

/** The person at the cabinet puts an item in, or takes it out of, a compartment (CONTRACT §5's control API). */
async function simItem(harness: Harness, id: string, present: boolean): Promise<void> {
  const r = await fetch(`http://127.0.0.1:${harness.sim.ports.control}/sim/doors/${id}/item`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ present }) });
  expect(r.status, await r.text()).toBe(200);
}

async function simFault(harness: Harness, door: string, fault: 'sensor-stuck' | 'jam' | null): Promise<void> {
  const r = await fetch(`http://127.0.0.1:${harness.sim.ports.control}/sim/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ door, fault }) });
  expect(r.status, await r.text()).toBeLessThan(300);
}

/** A clerk scans the barcode; once the door is seen open it is shut, with or without the item inside. */
async function load(harness: Harness, barcode: string, withItem: boolean): Promise<{ loadId: string; compartment: string; state: string; reason: string | null }> {
  const started = await harness.call('POST', '/api/v1/loads', { barcode });
  expect(started.status, JSON.stringify(started.json)).toBe(202);
  const { loadId, compartment: door } = started.json as { loadId: string; compartment: string };
  await seenOpen(harness, door);
  harness.sim.model.close(door, { occupied: withItem });
  const ended = await until(async () => {
    const l = (await harness.call('GET', `/api/v1/loads/${loadId}`)).json;
    return l.state !== 'open' && l;
  }, 3000, 'load ended');
  return { loadId, compartment: door, state: ended.state, reason: ended.reason };
}

async function readyCase(harness: Harness, caseNo: string, barcode: string) {
  expect((await harness.call('POST', '/api/v1/cases', caseBody(caseNo, [{ type: 'seal', barcode, label: '公章' }]))).status).toBe(201);
  const loaded = await load(harness, barcode, true);
  expect(loaded.state).toBe('committed');
  const notify = await harness.call('POST', `/api/v1/cases/${caseNo}/notify`);
  return { door: loaded.compartment, code: notify.json.code as string };
}

describe('loads on a board with item sensors', () => {
  it('a door closed with the item seen commits the load; one closed empty aborts it item-not-detected with nothing half-written', async () => {
    h = await startOnLockBoards();
    expect((await h.call('POST', '/api/v1/cases', caseBody('IT-LOAD-1', [{ type: 'seal', barcode: 'IT-SEAL-1' }, { type: 'tax-device', barcode: 'IT-TAX-1' }]))).status).toBe(201);

    const empty = await load(h, 'IT-SEAL-1', false);
    expect(empty).toMatchObject({ state: 'aborted', reason: 'item-not-detected' });
    expect((await h.call('GET', `/api/v1/loads/${empty.loadId}`)).json).toMatchObject({ state: 'aborted', reason: 'item-not-detected' });
    const aborted = events(h, 'load.aborted');
    expect(aborted.map((e) => e.data)).toEqual([{ loadId: empty.loadId, caseNo: 'IT-LOAD-1', compartment: empty.compartment, reason: 'item-not-detected', by: 'admin:admin' }]);
    expect(events(h, 'item.loaded')).toEqual([]);
    // The item is expected again and its compartment free: the case is as it was before the scan.
    const c = (await h.call('GET', '/api/v1/cases/IT-LOAD-1')).json;
    expect(c.state).toBe('awaiting-items');
    expect(c.items.find((i: { barcode: string }) => i.barcode === 'IT-SEAL-1')).toMatchObject({ state: 'expected', compartment: null });
    expect(await compartment(h, empty.compartment)).toMatchObject({ state: 'empty', caseNo: null, hold: null });
    expect(await openAlarms(h)).toEqual([]);

    // Scanned again and put in this time: committed, and the case's second item joins it.
    const seal = await load(h, 'IT-SEAL-1', true);
    expect(seal).toMatchObject({ state: 'committed', compartment: empty.compartment });
    const tax = await load(h, 'IT-TAX-1', true);
    expect(tax).toMatchObject({ state: 'committed', compartment: seal.compartment });
    expect((await h.call('GET', '/api/v1/cases/IT-LOAD-1')).json.state).toBe('ready');
    expect(events(h, 'item.loaded')).toHaveLength(2);
  });

  it('without item sensors (8A/80 boards) a load commits on the close alone, as before', async () => {
    h = await startOnLockBoards('8a80');
    expect(h.controller.cabinet.board.items).toBeUndefined();
    expect((await h.call('POST', '/api/v1/cases', caseBody('IT-8A80-1', [{ type: 'seal', barcode: 'IT-8A80-SEAL' }]))).status).toBe(201);
    expect(await load(h, 'IT-8A80-SEAL', false)).toMatchObject({ state: 'committed' });
  });
});

describe('a pickup that leaves an item behind', () => {
  it('is pickup.incomplete with an item-left alarm; the compartment is not given to the next load until a clerk clears it', async () => {
    h = await startOnLockBoards();
    const { door, code } = await readyCase(h, 'IT-LEFT-1', 'IT-LEFT-SEAL');
    const pickup = await h.call('POST', '/api/v1/kiosk/pickup', { code, idSuffix: ID_SUFFIX }, null);
    expect(pickup.json).toMatchObject({ result: 'opened', compartments: [door] });
    await seenOpen(h, door);
    h.sim.model.close(door); // the item is still inside
    const incomplete = await until(() => events(h!, 'pickup.incomplete')[0], 5000, 'pickup.incomplete');
    expect(incomplete.data).toEqual({ caseNo: 'IT-LEFT-1', compartment: door, alarmId: expect.any(Number) });
    expect(events(h, 'pickup.completed').map((e) => e.data)).toEqual([{ caseNo: 'IT-LEFT-1', compartments: [door], collectedBy: 'applicant', leftBehind: [door] }]);
    expect((await h.call('GET', '/api/v1/cases/IT-LEFT-1')).json.state).toBe('collected');
    expect((await openAlarms(h)).map((a) => [a.kind, a.compartment, a.data.caseNo])).toEqual([['item-left', door, 'IT-LEFT-1']]);
    expect(await compartment(h, door)).toMatchObject({ state: 'fault', caseNo: null, hold: { kind: 'item-left', caseNo: 'IT-LEFT-1', alarmId: incomplete.data.alarmId } });

    // The next seal would have gone to the same (smallest, first) compartment: it goes elsewhere.
    expect((await h.call('POST', '/api/v1/cases', caseBody('IT-LEFT-2', [{ type: 'seal', barcode: 'IT-LEFT-SEAL-2' }]))).status).toBe(201);
    const next = await load(h, 'IT-LEFT-SEAL-2', true);
    expect(next.state).toBe('committed');
    expect(next.compartment).not.toBe(door);

    // A clerk may clear it (ops may not: that is the clerk's look inside), and not while the item is still seen.
    const clerk = addUser(h, 'li', 'clerk');
    const ops = addUser(h, 'wang', 'ops');
    expect((await h.call('POST', `/api/v1/compartments/${door}/clear`, {}, ops)).status).toBe(403);
    const stillThere = await h.call('POST', `/api/v1/compartments/${door}/clear`, {}, clerk);
    expect(stillThere.status).toBe(409);
    expect(stillThere.json).toMatchObject({ code: 'item-still-seen' });
    await simItem(h, door, false); // taken out (by the hall's key, or an ops remote open)
    await itemSeen(h, door, false);
    const cleared = await h.call('POST', `/api/v1/compartments/${door}/clear`, { note: 'handed to the applicant at window 1' }, clerk);
    expect(cleared.status, JSON.stringify(cleared.json)).toBe(200);
    expect(cleared.json).toMatchObject({ id: door, state: 'empty', hold: null });
    expect(events(h, 'compartment.cleared').map((e) => e.data)).toEqual([{ compartment: door, hold: 'item-left', caseNo: 'IT-LEFT-1', alarmId: incomplete.data.alarmId, note: 'handed to the applicant at window 1', by: 'clerk:li' }]);
    const audit = h.controller.cabinet.store.db.prepare(`SELECT actor, action FROM audit WHERE action IN ('pickup.incomplete', 'compartment.cleared') ORDER BY seq`).all();
    expect(audit).toEqual([{ actor: 'cabinet', action: 'pickup.incomplete' }, { actor: 'clerk:li', action: 'compartment.cleared' }]);
    expect((await h.call('POST', `/api/v1/compartments/${door}/clear`, {}, clerk)).json).toMatchObject({ code: 'nothing-to-clear' });
    // The alarm stays until ops acknowledge it, like every alarm.
    expect((await openAlarms(h)).map((a) => a.kind)).toEqual(['item-left']);

    // Cleared: the compartment takes loads again.
    expect((await h.call('POST', '/api/v1/cases', caseBody('IT-LEFT-3', [{ type: 'seal', barcode: 'IT-LEFT-SEAL-3' }]))).status).toBe(201);
    expect(await load(h, 'IT-LEFT-SEAL-3', true)).toMatchObject({ state: 'committed', compartment: door });
  });

  it('a pickup that takes everything out is completed as before, with nothing held', async () => {
    h = await startOnLockBoards();
    const { door, code } = await readyCase(h, 'IT-DONE-1', 'IT-DONE-SEAL');
    expect((await h.call('POST', '/api/v1/kiosk/pickup', { code, idSuffix: ID_SUFFIX }, null)).json).toMatchObject({ result: 'opened' });
    await seenOpen(h, door);
    h.sim.model.close(door, { occupied: false });
    await until(async () => (await h!.call('GET', '/api/v1/cases/IT-DONE-1')).json.state === 'collected', 5000, 'collected');
    await sleep(300);
    expect(events(h, 'pickup.completed').map((e) => e.data)).toEqual([{ caseNo: 'IT-DONE-1', compartments: [door], collectedBy: 'applicant' }]);
    expect(events(h, 'pickup.incomplete')).toEqual([]);
    expect(events(h, 'compartment.occupied_unexpectedly')).toEqual([]);
    expect(await compartment(h, door)).toMatchObject({ state: 'empty', hold: null });
    expect(await openAlarms(h)).toEqual([]);
  });
});

describe('something in a compartment that should be empty', () => {
  it('is reported when it appears and when found at start-up, held with an alarm, and not allocated', async () => {
    h = await startOnLockBoards();
    await simItem(h, 'A01', true); // a foreign object in the smallest, first compartment
    const appeared = await until(() => events(h!, 'compartment.occupied_unexpectedly')[0], 3000, 'compartment.occupied_unexpectedly');
    expect(appeared.data).toEqual({ compartment: 'A01', found: 'appeared', alarmId: expect.any(Number) });
    expect((await openAlarms(h)).map((a) => [a.kind, a.compartment])).toEqual([['unexpected-item', 'A01']]);
    expect(await compartment(h, 'A01')).toMatchObject({ state: 'fault', caseNo: null, hold: { kind: 'unexpected-item', caseNo: null } });
    await sleep(500); // reported once
    expect(events(h, 'compartment.occupied_unexpectedly')).toHaveLength(1);

    expect((await h.call('POST', '/api/v1/cases', caseBody('IT-FOREIGN-1', [{ type: 'seal', barcode: 'IT-FOREIGN-SEAL' }]))).status).toBe(201);
    const next = await load(h, 'IT-FOREIGN-SEAL', true);
    expect(next).toMatchObject({ state: 'committed' });
    expect(next.compartment).not.toBe('A01');

    // While the controller is away, something is left in another empty compartment: found at start-up.
    await h.stopController();
    h.sim.model.setOccupied('A03', true);
    await h.restartController();
    const found = await until(() => events(h!, 'compartment.occupied_unexpectedly').find((e) => e.data.compartment === 'A03'), 5000, 'found at start-up');
    expect(found.data).toMatchObject({ found: 'read' });
    // A01's hold survived the restart and is not reported again.
    expect(events(h, 'compartment.occupied_unexpectedly').filter((e) => e.data.compartment === 'A01')).toHaveLength(1);
    expect((await compartment(h, 'A01')).hold).toMatchObject({ kind: 'unexpected-item' });

    // Ops enabling it while something is still seen ends the hold, and it is reported again at once.
    const enabled = await h.call('POST', '/api/v1/compartments/A03/enable');
    expect(enabled.status).toBe(200);
    await until(() => events(h!, 'compartment.occupied_unexpectedly').filter((e) => e.data.compartment === 'A03').length === 2, 3000, 'reported again');
    expect((await compartment(h, 'A03')).hold).toMatchObject({ kind: 'unexpected-item' });
  });

  it('an item a clerk forgot in a retrieval is reported when the door closes on it, with the case it belonged to', async () => {
    h = await startOnLockBoards();
    const { door } = await readyCase(h, 'IT-RETR-1', 'IT-RETR-SEAL');
    expect((await h.call('POST', '/api/v1/cases/IT-RETR-1/retrieve')).status).toBe(202);
    await seenOpen(h, door);
    h.sim.model.close(door); // the seal is still inside
    const forgot = await until(() => events(h!, 'compartment.occupied_unexpectedly')[0], 3000, 'compartment.occupied_unexpectedly');
    expect(forgot.data).toEqual({ compartment: door, found: 'door-closed', caseNo: 'IT-RETR-1', alarmId: expect.any(Number) });
    expect((await h.call('GET', '/api/v1/cases/IT-RETR-1')).json.state).toBe('retrieved');
    expect(await compartment(h, door)).toMatchObject({ state: 'fault', caseNo: null, hold: { kind: 'unexpected-item', caseNo: 'IT-RETR-1' } });
    await sleep(300);
    expect(events(h, 'compartment.occupied_unexpectedly')).toHaveLength(1);
  });
});

describe('a door switch stuck shut, told from a jammed lock by the item sensor', () => {
  it('an item taken out while the switch never said open is sensor.stuck (stuck-shut), out of service, not door.jammed', async () => {
    h = await startOnLockBoards();
    const { door, code } = await readyCase(h, 'IT-STUCK-1', 'IT-STUCK-SEAL');
    await simFault(h, door, 'sensor-stuck'); // the door is shut: its switch keeps saying shut
    expect((await h.call('POST', '/api/v1/kiosk/pickup', { code, idSuffix: ID_SUFFIX }, null)).json).toMatchObject({ result: 'opened' });
    await until(() => h!.sim.model.snapshot()[door]!.open, 3000, 'the door really opens');
    await simItem(h, door, false); // the applicant takes the seal
    const stuck = await until(() => events(h!, 'sensor.stuck')[0], 3000, 'sensor.stuck');
    expect(stuck.data).toEqual({ compartment: door, kind: 'stuck-shut', alarmId: expect.any(Number) });
    await sleep(3500); // past the pulse's timeout and its retry's: never jammed, never pulsed again
    expect(events(h, 'door.jammed')).toEqual([]);
    expect(h.sim.model.snapshot()[door]!.latchPulses).toBe(2); // the load's and the pickup's
    expect((await compartment(h, door)).state).toBe('fault');
    expect((await openAlarms(h)).map((a) => [a.kind, a.compartment])).toEqual([['sensor-stuck', door]]);
    expect(events(h, 'pickup.interrupted')).toHaveLength(1);
    expect(events(h, 'door.opened')).toHaveLength(1); // the load's: this one was never seen
  });

  it('a lock that does not open (nothing moves inside) is still door.jammed', async () => {
    h = await startOnLockBoards();
    const { door, code } = await readyCase(h, 'IT-JAM-1', 'IT-JAM-SEAL');
    await simFault(h, door, 'jam');
    expect((await h.call('POST', '/api/v1/kiosk/pickup', { code, idSuffix: ID_SUFFIX }, null)).json).toMatchObject({ result: 'opened' });
    await until(() => events(h!, 'door.jammed').length === 1, 6000, 'door.jammed');
    expect(events(h, 'sensor.stuck')).toEqual([]);
    expect((await openAlarms(h)).map((a) => a.kind)).toEqual(['door-jammed']);
  });
});
