import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMAND_KEY_FILE } from '../../controller/mqtt/central-ops.ts';
import { newCommand, readCommandKey } from '../../controller/mqtt/command-auth.ts';
import { Topics } from '../../controller/mqtt/topics.ts';
import type { ItemType } from '../../controller/domain/types.ts';
import { caseBody, ID_SUFFIX, startHarness, until, type Harness } from '../support/cabinet-harness.ts';
import { addUser, FULL_ID_NUMBER, FULL_PHONE, simDoor } from '../support/cabinet-steps.ts';
import { startMosquitto, type Mosquitto } from '../support/mosquitto.ts';

// The hall's whole workflow through real parts: the hall system sends cases on a real Mosquitto, signed with
// the cabinet's command key (`…/cmd/case`) or over HTTP with an integration token; departments' couriers load
// their own items through the API against the simulator over Firmata/TCP; the applicant collects at the kiosk
// with the code the cabinet sent on `…/notify`; a clerk takes back what a cancelled case left inside.

const CAB = 'HALL-01';
const topics = new Topics(CAB);
let broker: Mosquitto;
let ops: MqttClient;
let h: Harness;
let key: Buffer;
const heard: { topic: string; json: any }[] = [];
const tokens = { hall: 'hall-system-token-0123456789', seal: 'courier-seal-token-0123456789', tax: 'courier-tax-token-0123456789' };

beforeAll(async () => {
  broker = await startMosquitto();
  h = await startHarness({ mqttUrl: broker.url, config: { cabinetId: CAB } });
  key = readCommandKey(join(h.dataDir, COMMAND_KEY_FILE));
  const { users } = h.controller.cabinet.context.repos;
  users.add('hall-system', 'integration', tokens.hall, Date.now());
  users.add('seal-co', 'courier', tokens.seal, Date.now(), ['seal']);
  users.add('tax-bureau', 'courier', tokens.tax, Date.now(), ['tax-device', 'invoice']);
  ops = mqtt.connect(broker.url, { clientId: 'hall-system-and-sms', protocolVersion: 5, reconnectPeriod: 50 });
  ops.on('message', (topic, payload) => {
    try { heard.push({ topic, json: JSON.parse(payload.toString('utf8')) }); } catch { /* not JSON */ }
  });
  await new Promise<void>((resolve, reject) => { ops.once('connect', () => resolve()); ops.once('error', reject); });
  await ops.subscribeAsync([topics.reply, topics.notify], { qos: 1 });
  await until(async () => (await h.call('GET', '/api/v1/health', undefined, null)).json.mqtt === 'connected', 5000, 'cabinet connected');
}, 30_000);

afterAll(async () => {
  await ops?.endAsync(true);
  await h?.stop();
  await broker?.stop();
});

/** The hall system sends `cmd/case` signed with the cabinet's key; resolves with the cabinet's reply. */
async function sendCase(args: Record<string, unknown>): Promise<{ requestId: string; ok: boolean; result?: any; error?: string }> {
  const command = newCommand(key, 'case', args, h.clock.now());
  await ops.publishAsync(topics.command('case'), JSON.stringify(command), { qos: 1 });
  const reply = await until(() => heard.find((m) => m.topic === topics.reply && m.json.requestId === command.requestId), 5000, `reply to ${command.requestId}`);
  return reply.json;
}

/** The code the cabinet sent to the SMS gateway for this case, the newest first after `after` messages. */
const notified = (caseNo: string, after = 0) =>
  until(() => heard.slice(after).filter((m) => m.topic === topics.notify && m.json.caseNo === caseNo).at(-1)?.json as { code: string } | undefined, 5000, `notify for ${caseNo}`);

/** A department's courier scans an item and puts it in; resolves with the compartment once committed. */
async function courierLoads(token: string, barcode: string): Promise<string> {
  const l = await h.call('POST', '/api/v1/loads', { barcode }, token);
  expect(l.status, JSON.stringify(l.json)).toBe(202);
  await until(() => simDoor(h, l.json.compartment).open, 3000, `door ${l.json.compartment} open`);
  h.sim.model.close(l.json.compartment, { occupied: true });
  await until(async () => (await h.call('GET', `/api/v1/loads/${l.json.loadId}`, undefined, token)).json.state === 'committed', 3000, 'load committed');
  return l.json.compartment;
}

const caseOf = async (caseNo: string) => (await h.call('GET', `/api/v1/cases/${caseNo}`)).json;
const eventsOf = (caseNo: string) => h.controller.cabinet.store.outbox.after(0, 100_000).filter((e) => e.data.caseNo === caseNo);
const auditText = () => JSON.stringify(h.controller.cabinet.store.db.prepare('SELECT actor, action, data FROM audit').all());
const item = (type: ItemType, barcode: string, label?: string) => (label ? { type, barcode, label } : { type, barcode });

describe('the hall system sends a case, a courier loads it, the applicant collects it', () => {
  it('a signed cmd/case creates it (source hall-system); the seal courier loads; the code from …/notify opens the door', async () => {
    const sent = await sendCase({ action: 'create', case: caseBody('HW-1', [item('seal', 'HW1-SEAL', '公章')]) });
    expect(sent).toMatchObject({ ok: true, result: { caseNo: 'HW-1', state: 'awaiting-items', source: 'hall-system', applicant: { phone: '138****8000' } } });
    expect(JSON.stringify(sent)).not.toContain(FULL_PHONE);

    const mark = heard.length;
    const compartment = await courierLoads(tokens.seal, 'HW1-SEAL');
    expect((await caseOf('HW-1')).state).toBe('ready');
    const { code } = await notified('HW-1', mark);
    const opened = await h.call('POST', '/api/v1/kiosk/pickup', { code, idSuffix: ID_SUFFIX }, null);
    expect(opened.json).toMatchObject({ result: 'opened', compartments: [compartment] });
    await until(() => simDoor(h, compartment).open, 3000, 'pickup door open');
    h.sim.model.close(compartment, { occupied: false });
    await until(async () => (await caseOf('HW-1')).state === 'collected', 3000, 'collected');

    const created = eventsOf('HW-1').find((e) => e.type === 'case.created')!;
    expect(created.data).toMatchObject({ caseNo: 'HW-1', source: 'hall-system' });
    const load = h.controller.cabinet.store.db.prepare(`SELECT actor FROM loads WHERE case_no = 'HW-1'`).get() as { actor: string };
    expect(load.actor).toBe('courier:seal-co');
    // The audit chain names the command, never the applicant's data in clear.
    expect(auditText()).toContain(`ops:mqtt:${sent.requestId}`);
    expect(auditText()).not.toContain(FULL_PHONE);
    expect(auditText()).not.toContain(FULL_ID_NUMBER);
  });

  it('the same case sent twice is one case; a different one under the same number is refused by field name, with nothing written', async () => {
    const body = caseBody('HW-2', [item('licence-original', 'HW2-LIC'), item('invoice', 'HW2-INV')]);
    const first = await sendCase({ action: 'create', case: body });
    // Sent again by another request, items in another order, the case number in lower case: the same case.
    const again = await sendCase({ action: 'create', case: { ...body, caseNo: 'hw-2', items: [...body.items].reverse() } });
    expect(first.ok && again.ok).toBe(true);
    expect(again.result).toEqual(first.result);
    expect(eventsOf('HW-2').filter((e) => e.type === 'case.created')).toHaveLength(1);

    const seqBefore = h.controller.cabinet.store.outbox.lastSeq();
    const other = { ...body, applicant: { ...body.applicant, phone: '13912345678' }, items: [...body.items, item('seal', 'HW2-SEAL')] };
    const refused = await sendCase({ action: 'create', case: other });
    expect(refused.ok).toBe(false);
    expect(refused.error).toContain('case HW-2 is already on file with other contents');
    expect(refused.error).toContain('applicant.phone');
    expect(refused.error).toContain('items.2.barcode');
    expect(refused.error).not.toMatch(/1391234|13800138000/);
    expect((await caseOf('HW-2')).items).toHaveLength(2);
    // Only the command's own refusal was recorded.
    expect(h.controller.cabinet.store.outbox.after(seqBefore).map((e) => [e.type, e.data.error])).toEqual([['cmd.refused', 'case-differs']]);
  });

  it('an item added later: the ready case awaits items again, its old code stops working, and a new one goes out when the item is in', async () => {
    const body = caseBody('HW-3', [item('seal', 'HW3-SEAL')]);
    expect((await sendCase({ action: 'create', case: body })).ok).toBe(true);
    let mark = heard.length;
    const sealIn = await courierLoads(tokens.seal, 'HW3-SEAL');
    const oldCode = (await notified('HW-3', mark)).code;

    const amended = await sendCase({ action: 'amend', case: { ...body, applicant: { ...body.applicant, name: '张三丰' }, items: [...body.items, item('tax-device', 'HW3-TAX')] } });
    expect(amended).toMatchObject({ ok: true, result: { state: 'awaiting-items', expiresAt: null, applicant: { name: '张**' } } });
    expect(amended.result.items.map((i: { barcode: string; state: string }) => [i.barcode, i.state])).toEqual([['HW3-SEAL', 'loaded'], ['HW3-TAX', 'expected']]);
    expect(eventsOf('HW-3').find((e) => e.type === 'case.amended')!.data).toMatchObject({
      changed: ['applicant.name'], itemsAdded: [{ type: 'tax-device', barcode: 'HW3-TAX' }], itemsRemoved: [], from: 'ready', state: 'awaiting-items', credential: 'revoked',
    });
    // The old code opens nothing now (the applicant waits for the new one).
    expect((await h.call('POST', '/api/v1/kiosk/pickup', { code: oldCode, idSuffix: ID_SUFFIX }, null)).json).toMatchObject({ result: 'denied' });

    // A loaded item cannot leave the case by a message: refused by name, nothing changed.
    const removing = await sendCase({ action: 'amend', case: { ...body, items: [item('tax-device', 'HW3-TAX')] } });
    expect(removing.ok).toBe(false);
    expect(removing.error).toContain(`item HW3-SEAL (seal) is already in compartment ${sealIn}`);
    expect(removing.error).toContain('a clerk must take it out first');
    expect((await caseOf('HW-3')).items).toHaveLength(2);

    mark = heard.length;
    await courierLoads(tokens.tax, 'HW3-TAX');
    expect((await caseOf('HW-3')).state).toBe('ready');
    const newCode = (await notified('HW-3', mark)).code;
    expect(newCode).not.toBe(oldCode);
    expect((await h.call('POST', '/api/v1/kiosk/pickup', { code: newCode, idSuffix: ID_SUFFIX }, null)).json).toMatchObject({ result: 'opened' });
    const doors = (await caseOf('HW-3')).compartments as string[];
    await until(() => doors.every((d) => simDoor(h, d).open), 3000, 'the doors open');
    for (const d of doors) h.sim.model.close(d, { occupied: false });
    await until(async () => (await caseOf('HW-3')).state === 'collected', 3000, 'collected');
  });

  it('an expected item removed from a case whose other items are in makes it ready', async () => {
    const body = caseBody('HW-4', [item('seal', 'HW4-SEAL'), item('invoice', 'HW4-INV')]);
    expect((await sendCase({ action: 'create', case: body })).ok).toBe(true);
    await courierLoads(tokens.seal, 'HW4-SEAL');
    const mark = heard.length;
    const amended = await sendCase({ action: 'amend', case: { ...body, items: [item('seal', 'HW4-SEAL', '公章')] } });
    expect(amended).toMatchObject({ ok: true, result: { state: 'ready', items: [{ barcode: 'HW4-SEAL', label: '公章' }] } });
    await notified('HW-4', mark);
    // The removed barcode belongs to no live item any more.
    expect((await h.call('POST', '/api/v1/loads', { barcode: 'HW4-INV' })).json.code).toBe('unknown-barcode');
  });
});

describe('corrections', () => {
  it('a new phone number on a ready case: a new credential goes to the new number and the old code stops working', async () => {
    const body = caseBody('HW-12', [item('seal', 'HW12-SEAL')]);
    expect((await sendCase({ action: 'create', case: body })).ok).toBe(true);
    let mark = heard.length;
    await courierLoads(tokens.seal, 'HW12-SEAL');
    const old = await notified('HW-12', mark);
    mark = heard.length;
    const amended = await sendCase({ action: 'amend', case: { ...body, applicant: { ...body.applicant, phone: '13912345678' } } });
    expect(amended).toMatchObject({ ok: true, result: { state: 'ready', applicant: { phone: '139****5678' } } });
    const again = await notified('HW-12', mark) as { code: string; phone?: string };
    expect(again.phone).toBe('13912345678');
    expect(again.code).not.toBe(old.code);
    expect(eventsOf('HW-12').filter((e) => e.type === 'case.amended' || e.type === 'credential.reissued').map((e) => e.data)).toEqual([
      { caseNo: 'HW-12', expiresAt: expect.any(String), cause: 'phone-changed' },
      expect.objectContaining({ changed: ['applicant.phone'], from: 'ready', state: 'ready', credential: 'issued' }),
    ]);
    expect((await h.call('POST', '/api/v1/kiosk/pickup', { code: old.code, idSuffix: ID_SUFFIX }, null)).json).toMatchObject({ result: 'denied' });
    // Nothing of either number is in an event or the audit chain.
    const events = JSON.stringify(eventsOf('HW-12'));
    for (const phone of ['13912345678', FULL_PHONE]) {
      expect(events).not.toContain(phone);
      expect(auditText()).not.toContain(phone);
    }
  });
});

describe('cancelled cases', () => {
  it('nothing inside: cancelled at once, its barcodes free again; with an item inside: a clerk takes it back', async () => {
    expect((await sendCase({ action: 'create', case: caseBody('HW-5', [item('invoice', 'HW5-INV')]) })).ok).toBe(true);
    const empty = await sendCase({ action: 'cancel', caseNo: 'HW-5' });
    expect(empty).toMatchObject({ ok: true, result: { state: 'cancelled', closedAt: expect.any(String), items: [{ state: 'retrieved', compartment: null }] } });
    expect((await sendCase({ action: 'cancel', caseNo: 'HW-5' })).result).toEqual(empty.result);
    expect((await sendCase({ action: 'create', case: caseBody('HW-5B', [item('invoice', 'HW5-INV')]) })).ok).toBe(true);

    const body = caseBody('HW-6', [item('seal', 'HW6-SEAL'), item('tax-device', 'HW6-TAX')]);
    expect((await sendCase({ action: 'create', case: body })).ok).toBe(true);
    const inside = await courierLoads(tokens.seal, 'HW6-SEAL');
    const cancelled = await sendCase({ action: 'cancel', caseNo: 'HW-6' });
    expect(cancelled).toMatchObject({ ok: true, result: { state: 'cancelled', closedAt: null, compartments: [inside] } });
    expect(eventsOf('HW-6').find((e) => e.type === 'case.cancelled')!.data).toEqual({ caseNo: 'HW-6', from: 'awaiting-items', toRetrieve: [inside] });
    // Nothing more goes in, and the case is no longer amendable.
    expect((await h.call('POST', '/api/v1/loads', { barcode: 'HW6-TAX' }, tokens.tax)).json.code).toBe('unknown-barcode');
    expect((await sendCase({ action: 'amend', case: { ...body, items: [item('seal', 'HW6-SEAL', '公章')] } })).error).toContain('case HW-6 is cancelled: a closed case cannot be amended');
    expect((await h.call('GET', '/api/v1/cases?state=cancelled')).json.map((c: { caseNo: string }) => c.caseNo)).toEqual(expect.arrayContaining(['HW-5', 'HW-6']));

    const pulses = simDoor(h, inside).latchPulses;
    const retrieve = await h.call('POST', '/api/v1/cases/HW-6/retrieve');
    expect(retrieve.status, JSON.stringify(retrieve.json)).toBe(202);
    expect(retrieve.json).toEqual({ caseNo: 'HW-6', compartments: [inside] });
    await until(() => simDoor(h, inside).open && simDoor(h, inside).latchPulses === pulses + 1, 3000, 'the door opens for the clerk');
    h.sim.model.close(inside, { occupied: false });
    await until(async () => (await caseOf('HW-6')).closedAt !== null, 3000, 'items back');
    const back = await caseOf('HW-6');
    expect(back).toMatchObject({ state: 'cancelled', compartments: [], items: [{ barcode: 'HW6-SEAL', state: 'retrieved' }, { barcode: 'HW6-TAX', state: 'retrieved' }] });
    expect(eventsOf('HW-6').find((e) => e.type === 'case.retrieved')!.data).toEqual({ caseNo: 'HW-6', from: 'cancelled' });
    expect((await h.call('GET', '/api/v1/compartments')).json.find((c: { id: string }) => c.id === inside)).toMatchObject({ state: 'empty', caseNo: null });
    expect((await h.call('POST', '/api/v1/cases/HW-6/retrieve')).json.code).toBe('case-not-retrievable');
  });

  it('a case being picked up right now cannot be cancelled (nor amended): refused "in pickup", and the pickup ends as usual', async () => {
    const body = caseBody('HW-7', [item('seal', 'HW7-SEAL')]);
    expect((await sendCase({ action: 'create', case: body })).ok).toBe(true);
    const mark = heard.length;
    const compartment = await courierLoads(tokens.seal, 'HW7-SEAL');
    const { code } = await notified('HW-7', mark);
    expect((await h.call('POST', '/api/v1/kiosk/pickup', { code, idSuffix: ID_SUFFIX }, null)).json.result).toBe('opened');
    await until(async () => (await caseOf('HW-7')).state === 'picking-up', 3000, 'picking up');

    const refused = await sendCase({ action: 'cancel', caseNo: 'HW-7' });
    expect(refused).toMatchObject({ ok: false, error: expect.stringContaining('case HW-7 is in pickup') });
    const amend = await sendCase({ action: 'amend', case: { ...body, items: [...body.items, item('invoice', 'HW7-INV')] } });
    expect(amend.error).toContain('case HW-7 is in pickup');
    expect(eventsOf('HW-7').filter((e) => e.type === 'case.cancelled' || e.type === 'case.amended')).toEqual([]);

    await until(() => simDoor(h, compartment).open, 3000, 'door open');
    h.sim.model.close(compartment, { occupied: false });
    await until(async () => (await caseOf('HW-7')).state === 'collected', 3000, 'collected');
  });
});

describe('couriers', () => {
  it('a courier is refused an item type not theirs (403 naming the type and who may load it), the clerk hears of it, nothing opens', async () => {
    expect((await sendCase({ action: 'create', case: caseBody('HW-8', [item('seal', 'HW8-SEAL')]) })).ok).toBe(true);
    const before = Object.values(h.sim.model.snapshot()).reduce((n, d) => n + d.latchPulses, 0);
    const refused = await h.call('POST', '/api/v1/loads', { barcode: 'HW8-SEAL' }, tokens.tax);
    expect(refused.status).toBe(403);
    expect(refused.json).toMatchObject({ code: 'not-your-item-type', itemType: 'seal', loadedBy: ['clerk', 'courier:seal-co'], issues: [{ path: 'barcode' }] });
    expect(refused.json.error).toContain('item HW8-SEAL is a 印章 seal: tax-bureau may load tax-device, invoice only; a seal is loaded by a clerk or by the courier seal-co');
    const unknown = await h.call('POST', '/api/v1/loads', { barcode: 'NO-SUCH-ITEM' }, tokens.tax);
    expect(unknown.status).toBe(404);
    await new Promise((r) => setTimeout(r, 100));
    expect(Object.values(h.sim.model.snapshot()).reduce((n, d) => n + d.latchPulses, 0)).toBe(before);

    const alerts = (await h.call('GET', '/api/v1/loading-alerts')).json as { type: string; data: any }[];
    expect(alerts.slice(0, 2).map((a) => [a.type, a.data.reason, a.data.barcode, a.data.by])).toEqual([
      ['load.refused', 'unknown-barcode', 'NO-SUCH-ITEM', 'courier:tax-bureau'],
      ['load.refused', 'not-your-item-type', 'HW8-SEAL', 'courier:tax-bureau'],
    ]);
    // The courier sees only the loading: no case, no grid, no alarms, no event stream.
    for (const path of ['/api/v1/cases/HW-8', '/api/v1/cases', '/api/v1/compartments', '/api/v1/alarms', '/api/v1/loading-alerts']) {
      expect((await h.call('GET', path, undefined, tokens.tax)).status, path).toBe(403);
    }
    expect((await h.call('POST', '/api/v1/cases', caseBody('HW-9', [item('seal', 'HW9-SEAL')]), tokens.seal)).status).toBe(403);
    expect((await h.call('GET', '/api/v1/me', undefined, tokens.tax)).json).toMatchObject({ role: 'courier', itemTypes: ['tax-device', 'invoice'], may: { load: true, loadAndCreate: false, viewCabinet: false } });
    // The right courier loads it; a clerk could too.
    await courierLoads(tokens.seal, 'HW8-SEAL');
  });
});

describe('the hall system over HTTP (role integration)', () => {
  const send = (method: string, url: string, body?: unknown) => h.call(method, url, body, tokens.hall);

  it('201 for a new case, 200 with the case for the same case again, 409 naming the fields of a different one; a clerk still gets duplicate-case', async () => {
    const body = caseBody('HW-10', [item('licence-copy', 'HW10-LIC')]);
    const created = await send('POST', '/api/v1/cases', body);
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ caseNo: 'HW-10', source: 'hall-system', state: 'awaiting-items' });
    const again = await send('POST', '/api/v1/cases', body);
    expect(again.status).toBe(200);
    expect(again.json).toEqual(created.json);

    const other = await send('POST', '/api/v1/cases', { ...body, enterprise: { ...body.enterprise, name: '另一家公司' }, applicant: { ...body.applicant, idNumber: '11010519491231002X' } });
    expect(other.status).toBe(409);
    expect(other.json.code).toBe('case-differs');
    expect(other.json.issues).toEqual([
      { path: 'enterprise.name', message: 'differs from the case on file' },
      { path: 'applicant.idNumber', message: 'differs from the case on file' },
    ]);
    expect(JSON.stringify(other.json)).not.toMatch(/11010519491231002X|另一家公司/);
    expect(eventsOf('HW-10').filter((e) => e.type === 'case.created')).toHaveLength(1);

    const byClerk = await h.call('POST', '/api/v1/cases', body);
    expect(byClerk.status).toBe(409);
    expect(byClerk.json.code).toBe('duplicate-case');
  });

  it('amends with PUT and cancels with POST …/cancel; the audit names the integration user', async () => {
    const body = caseBody('HW-11', [item('seal', 'HW11-SEAL')]);
    expect((await send('POST', '/api/v1/cases', body)).status).toBe(201);
    const mismatch = await send('PUT', '/api/v1/cases/HW-12', body);
    expect(mismatch.status).toBe(400);
    expect(mismatch.json.issues).toEqual([{ path: 'caseNo', message: expect.stringContaining('the body is case HW-11') }]);
    const amended = await send('PUT', '/api/v1/cases/HW-11', { ...body, items: [item('seal', 'HW11-SEAL'), item('invoice', 'HW11-INV')] });
    expect(amended.status).toBe(200);
    expect(amended.json.items).toHaveLength(2);
    expect((await send('PUT', '/api/v1/cases/NO-SUCH-CASE', { ...body, caseNo: 'NO-SUCH-CASE' })).status).toBe(404);
    expect((await h.call('PUT', '/api/v1/cases/HW-11', body, addUser(h, 'li', 'clerk'))).status).toBe(403); // a clerk does not amend

    const cancelled = await send('POST', '/api/v1/cases/HW-11/cancel');
    expect(cancelled.status).toBe(200);
    expect(cancelled.json).toMatchObject({ state: 'cancelled', closedAt: expect.any(String) });
    const audit = h.controller.cabinet.store.db.prepare(`SELECT actor, action FROM audit WHERE data LIKE '%HW-11%' ORDER BY seq`).all();
    expect(audit).toEqual([
      { actor: 'integration:hall-system', action: 'case.created' },
      { actor: 'integration:hall-system', action: 'case.amended' },
      { actor: 'integration:hall-system', action: 'case.cancelled' },
    ]);
  });
});

describe('personal data', () => {
  it('the purge after collection also empties the applicant from the stored replies of the case commands', async () => {
    const replies = () => (h.controller.cabinet.store.db.prepare(`SELECT reply FROM commands WHERE name = 'case'`).all() as { reply: string }[])
      .map((r) => JSON.parse(r.reply)).filter((r) => r.result?.caseNo === 'HW-1');
    expect(replies().map((r) => r.result.applicant)).toEqual([{ name: '张*', phone: '138****8000', idNumber: '440106********1235' }]);
    h.clock.advance((h.controller.cabinet.config.policy.purgeAfterHours + 1) * 3_600_000);
    expect(h.controller.cabinet.services.purge.sweep()).toContain('HW-1');
    expect(replies().map((r) => r.result.applicant)).toEqual([{ name: '*', phone: '***', idNumber: '***' }]);
    expect((await caseOf('HW-1')).applicant).toEqual({ name: '*', phone: '***', idNumber: '***' });
  });
});
