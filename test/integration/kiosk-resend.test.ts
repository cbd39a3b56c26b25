import { afterEach, describe, expect, it } from 'vitest';
import { CardRead } from '../../firmware-bridge/idcard/card-read.ts';
import { readQueuedNotify } from '../../controller/domain/notify.ts';
import { caseBody, ID_SUFFIX, startHarness, until, type Harness } from '../support/cabinet-harness.ts';
import { FULL_ID_NUMBER, FULL_PHONE, loadItem, readyCase, simDoor } from '../support/cabinet-steps.ts';

// "没收到取件码？" (POST /api/v1/kiosk/resend) through the real controller, without a broker: what would go to the
// SMS gateway is read from the cabinet's own encrypted notify outbox. Wrong pairs must teach a guesser nothing
// and cost them attempts of the cabinet-wide guard; sends are limited per case and per cabinet.

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
let h: Harness;

afterEach(async () => {
  await h?.stop();
});

const resend = (body: unknown, remoteAddress = '127.0.0.1') =>
  h.controller.api.inject({ method: 'POST', url: '/api/v1/kiosk/resend', payload: JSON.stringify(body), headers: { 'content-type': 'application/json' }, remoteAddress })
    .then((r) => ({ status: r.statusCode, json: r.json() }));
const pickup = (body: unknown) => h.call('POST', '/api/v1/kiosk/pickup', body, null);
const guard = () => h.controller.cabinet.services.pickup.guardStatus();
/** The latest message queued for the SMS gateway for this case (decrypted, as the drainer would send it). */
function lastQueued(caseNo: string) {
  const { store, keyring } = h.controller.cabinet;
  const row = store.db.prepare('SELECT payload_enc FROM notify_outbox WHERE case_no = ? ORDER BY seq DESC LIMIT 1').get(caseNo) as { payload_enc: Buffer } | undefined;
  return row ? readQueuedNotify(keyring.decrypt(row.payload_enc)) : undefined;
}
const deniedEvents = () => h.controller.cabinet.store.outbox.after(0, 100_000).filter((e) => e.type === 'pickup.denied').map((e) => e.data);

describe('POST /api/v1/kiosk/resend', () => {
  it('a right pair issues a new working code with the old expiry, queued for the phone on file; the old code and QR stop working', async () => {
    h = await startHarness();
    const old = await readyCase(h, 'RS-OK', [{ type: 'invoice', barcode: 'RSO-INV' }]);
    const expiresAt = (await h.call('GET', '/api/v1/cases/RS-OK')).json.expiresAt;
    h.clock.advance(2 * DAY);
    const answer = await resend({ caseNo: 'RS-OK', idSuffix: ID_SUFFIX });
    expect(answer).toEqual({ status: 200, json: { result: 'sent', maskedPhone: '138****8000', expiresAt } });
    expect(JSON.stringify(answer.json)).not.toContain(FULL_PHONE);
    const queued = lastQueued('RS-OK');
    expect(queued).toMatchObject({ kind: 'credential', caseNo: 'RS-OK', phone: FULL_PHONE, expiresAt });
    if (queued?.kind !== 'credential') throw new Error('no credential queued');
    expect(queued.code).not.toBe(old.code);
    // The case stays ready with the same expiry: asking again does not make the items wait longer.
    expect((await h.call('GET', '/api/v1/cases/RS-OK')).json).toMatchObject({ state: 'ready', expiresAt });

    expect((await pickup({ code: old.code, idSuffix: ID_SUFFIX })).json).toMatchObject({ result: 'denied', reason: 'invalid' });
    expect((await pickup({ qr: old.qr })).json).toMatchObject({ result: 'denied', reason: 'invalid' });
    expect((await pickup({ code: queued.code, idSuffix: ID_SUFFIX })).json).toMatchObject({ result: 'opened', compartments: old.compartments });
    await until(() => simDoor(h, old.compartments[0]!).open, 3000, 'door open for the new code');
    // Audited under the applicant, with nothing personal.
    const audit = h.controller.cabinet.store.db.prepare(`SELECT actor, data FROM audit WHERE action = 'credential.reissued'`).all() as { actor: string; data: string }[];
    expect(audit.at(-1)).toEqual({ actor: 'applicant', data: JSON.stringify({ caseNo: 'RS-OK', channel: 'kiosk' }) });
  });

  it('a wrong case number and a wrong ID suffix get the same answer, each a failed attempt of the cabinet-wide guard; the fifth locks even the right pair out', async () => {
    h = await startHarness();
    await readyCase(h, 'RS-GUESS', [{ type: 'invoice', barcode: 'RSG-INV' }]);
    const pulses = Object.values(h.sim.model.snapshot()).reduce((n, d) => n + d.latchPulses, 0);
    const unknownCase = await resend({ caseNo: 'RS-NOBODY', idSuffix: ID_SUFFIX });
    const wrongSuffix = await resend({ caseNo: 'RS-GUESS', idSuffix: '123456' });
    expect(unknownCase).toEqual({ status: 200, json: { result: 'denied', reason: 'invalid', attemptsLeft: 4 } });
    expect(wrongSuffix).toEqual({ status: 200, json: { result: 'denied', reason: 'invalid', attemptsLeft: 3 } });
    // A pickup guess and a resend guess count in the same run.
    expect((await pickup({ code: '00000000', idSuffix: ID_SUFFIX })).json).toMatchObject({ reason: 'invalid', attemptsLeft: 2 });
    expect((await resend({ caseNo: 'RS-GUESS2', idSuffix: '654321' })).json).toMatchObject({ reason: 'invalid', attemptsLeft: 1 });
    // A right pair does not end the run (it opens no door), and it is sent.
    expect((await resend({ caseNo: 'RS-GUESS', idSuffix: ID_SUFFIX })).json).toMatchObject({ result: 'sent' });
    expect(guard().consecutiveFailures).toBe(4);
    const locked = await resend({ caseNo: 'RS-GUESS', idSuffix: '000000' });
    expect(locked.json).toEqual({ result: 'denied', reason: 'locked-out', retryAfterSeconds: 60 });
    expect((await resend({ caseNo: 'RS-GUESS', idSuffix: ID_SUFFIX })).json).toMatchObject({ result: 'denied', reason: 'locked-out' });
    expect(deniedEvents().filter((d) => d.method === 'resend')).toEqual([
      { method: 'resend', channel: 'kiosk', reason: 'invalid', consecutive: 1, today: 1 },
      { method: 'resend', channel: 'kiosk', reason: 'invalid', consecutive: 2, today: 2 },
      { method: 'resend', channel: 'kiosk', reason: 'invalid', consecutive: 4, today: 4 },
      { method: 'resend', channel: 'kiosk', reason: 'invalid', consecutive: 5, today: 5 },
    ]);
    // Staff can tell the two apart in the audit; the applicant never can.
    const whys = (h.controller.cabinet.store.db.prepare(`SELECT data FROM audit WHERE action = 'pickup.denied'`).all() as { data: string }[]).map((r) => JSON.parse(r.data).why);
    expect(whys.slice(0, 2)).toEqual(['no such case', 'wrong id suffix']);
    expect(Object.values(h.sim.model.snapshot()).reduce((n, d) => n + d.latchPulses, 0)).toBe(pulses);
  });

  it('an ID card read stands in for the suffix once; someone else\'s card is a failed attempt like a wrong suffix', async () => {
    h = await startHarness();
    await readyCase(h, 'RS-CARD', [{ type: 'invoice', barcode: 'RSC-INV' }]);
    const { idCards } = h.controller.cabinet.services;
    const reads: string[] = [];
    const off = h.controller.cabinet.bus.kiosk.add((m) => { if (m.type === 'id-card') reads.push(m.readId); });
    idCards.cardRead(new CardRead('11010519491231002X', 'long-term'));
    expect((await resend({ caseNo: 'RS-CARD', idCardReadId: reads[0] })).json).toEqual({ result: 'denied', reason: 'invalid', attemptsLeft: 4 });
    idCards.cardRead(new CardRead(FULL_ID_NUMBER, 'long-term'));
    expect((await resend({ caseNo: 'RS-CARD', idCardReadId: reads[1] })).json).toMatchObject({ result: 'sent' });
    // A read is good for one attempt.
    expect((await resend({ caseNo: 'RS-CARD', idCardReadId: reads[1] })).json).toMatchObject({ result: 'denied', reason: 'invalid' });
    off();
    const both = await resend({ caseNo: 'RS-CARD', idSuffix: ID_SUFFIX, idCardReadId: reads[1] });
    expect(both.status).toBe(400);
    expect(both.json.issues).toEqual([expect.objectContaining({ path: 'idCardReadId' })]);
    const neither = await resend({ caseNo: 'RS-CARD' });
    expect(neither.status).toBe(400);
    expect(neither.json.issues).toEqual([expect.objectContaining({ path: 'idSuffix' })]);
    expect((await resend({ caseNo: 'RS-CARD', idSuffix: ID_SUFFIX, phone: FULL_PHONE })).status).toBe(400);
    expect((await resend({ caseNo: 'RS-CARD', idSuffix: ID_SUFFIX }, '192.0.2.7')).status).toBe(403);
  });

  it('at most resendsPerCasePerDay per case in 24 hours and resendsPerHour for the cabinet, counted in /metrics', async () => {
    h = await startHarness({ config: { policy: { resendsPerCasePerDay: 2, resendsPerHour: 3, helpWindow: '5' } } });
    for (const caseNo of ['RS-A', 'RS-B']) await readyCase(h, caseNo, [{ type: 'invoice', barcode: `${caseNo}-INV` }]);
    expect((await resend({ caseNo: 'RS-A', idSuffix: ID_SUFFIX })).json.result).toBe('sent');
    h.clock.advance(HOUR - 60_000);
    expect((await resend({ caseNo: 'RS-A', idSuffix: ID_SUFFIX })).json.result).toBe('sent');
    expect((await resend({ caseNo: 'RS-A', idSuffix: ID_SUFFIX })).json).toEqual({ result: 'denied', reason: 'limit-reached', window: '5' });
    expect((await resend({ caseNo: 'RS-B', idSuffix: ID_SUFFIX })).json.result).toBe('sent');
    // The cabinet's hour is used up: refused before the pair is looked at, right or wrong, and no failed attempt.
    const busy = await resend({ caseNo: 'RS-B', idSuffix: ID_SUFFIX });
    expect(busy.json).toEqual({ result: 'denied', reason: 'busy', retryAfterSeconds: 60, window: '5' });
    expect((await resend({ caseNo: 'RS-NOBODY', idSuffix: '000000' })).json).toEqual(busy.json);
    expect(guard().consecutiveFailures).toBe(0);
    h.clock.advance(60_000);
    expect((await resend({ caseNo: 'RS-B', idSuffix: ID_SUFFIX })).json.result).toBe('sent');
    // RS-A's two count for 24 hours; a day after them it may ask again.
    h.clock.advance(22 * HOUR);
    expect((await resend({ caseNo: 'RS-A', idSuffix: ID_SUFFIX })).json.reason).toBe('limit-reached');
    h.clock.advance(2 * HOUR);
    expect((await resend({ caseNo: 'RS-A', idSuffix: ID_SUFFIX })).json.result).toBe('sent');
    const metrics = (await h.controller.api.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toContain('govlocker_kiosk_resends_total{cabinet="DEMO-01"} 5');
    expect(metrics).toContain('govlocker_kiosk_resends_denied_total{cabinet="DEMO-01",reason="limit-reached"} 2');
    expect(metrics).toContain('govlocker_kiosk_resends_denied_total{cabinet="DEMO-01",reason="busy"} 2');
  });

  it('the per-case and per-cabinet limits hold across a restart of the controller', async () => {
    h = await startHarness({ config: { policy: { resendsPerCasePerDay: 2, resendsPerHour: 3, helpWindow: '5' } } });
    for (const caseNo of ['RS-R1', 'RS-R2']) await readyCase(h, caseNo, [{ type: 'invoice', barcode: `${caseNo}-INV` }]);
    expect((await resend({ caseNo: 'RS-R1', idSuffix: ID_SUFFIX })).json.result).toBe('sent');
    expect((await resend({ caseNo: 'RS-R1', idSuffix: ID_SUFFIX })).json.result).toBe('sent');
    expect((await resend({ caseNo: 'RS-R2', idSuffix: ID_SUFFIX })).json.result).toBe('sent');
    await h.restartController();
    // Restarting (a crash, a power cut, a kiosk user pulling the plug) does not hand out more codes.
    expect((await resend({ caseNo: 'RS-R1', idSuffix: ID_SUFFIX })).json).toEqual({ result: 'denied', reason: 'busy', retryAfterSeconds: 3600, window: '5' });
    h.clock.advance(HOUR);
    expect((await resend({ caseNo: 'RS-R1', idSuffix: ID_SUFFIX })).json).toEqual({ result: 'denied', reason: 'limit-reached', window: '5' });
    expect((await resend({ caseNo: 'RS-R2', idSuffix: ID_SUFFIX })).json.result).toBe('sent');
    h.clock.advance(23 * HOUR);
    await h.restartController();
    expect((await resend({ caseNo: 'RS-R1', idSuffix: ID_SUFFIX })).json.result).toBe('sent');
  });

  it('a right pair hears what became of its case: not ready yet, collected, overdue; a cabinet with resendsPerCasePerDay 0 does not offer it', async () => {
    h = await startHarness();
    expect((await h.call('POST', '/api/v1/cases', caseBody('RS-LOADING', [{ type: 'invoice', barcode: 'RSL-INV1' }, { type: 'seal', barcode: 'RSL-SEAL' }]))).status).toBe(201);
    await loadItem(h, 'RSL-INV1');
    expect((await resend({ caseNo: 'RS-LOADING', idSuffix: ID_SUFFIX })).json).toEqual({ result: 'denied', reason: 'not-ready' });
    const done = await readyCase(h, 'RS-DONE', [{ type: 'invoice', barcode: 'RSD-INV' }]);
    expect((await pickup({ code: done.code, idSuffix: ID_SUFFIX })).json.result).toBe('opened');
    expect((await resend({ caseNo: 'RS-DONE', idSuffix: ID_SUFFIX })).json).toEqual({ result: 'denied', reason: 'in-progress', window: '1' });
    await until(() => simDoor(h, done.compartments[0]!).open, 3000, 'door open');
    h.sim.model.close(done.compartments[0]!, { occupied: false });
    await until(async () => (await h.call('GET', '/api/v1/cases/RS-DONE')).json.state === 'collected', 3000, 'collected');
    expect((await resend({ caseNo: 'RS-DONE', idSuffix: ID_SUFFIX })).json).toEqual({ result: 'denied', reason: 'nothing-waiting', window: '1' });
    await readyCase(h, 'RS-LATE', [{ type: 'invoice', barcode: 'RSLT-INV' }]);
    h.clock.advance(8 * DAY);
    h.controller.cabinet.services.expiry.sweep();
    expect((await resend({ caseNo: 'RS-LATE', idSuffix: ID_SUFFIX })).json).toEqual({ result: 'denied', reason: 'expired', window: '1' });
    expect(guard().consecutiveFailures).toBe(0);
    await h.stop();

    h = await startHarness({ config: { policy: { resendsPerCasePerDay: 0 } } });
    await readyCase(h, 'RS-OFF', [{ type: 'invoice', barcode: 'RSOFF-INV' }]);
    expect((await resend({ caseNo: 'RS-OFF', idSuffix: ID_SUFFIX })).json).toEqual({ result: 'denied', reason: 'not-offered', window: '1' });
  });

  it('the API description has the endpoint with the validator\'s own body, for the kiosk only', async () => {
    h = await startHarness();
    const doc = (await h.controller.api.inject({ method: 'GET', url: '/docs/json' })).json();
    const op = doc.paths['/api/v1/kiosk/resend'].post;
    expect(op['x-clients']).toBe('api.kioskClients');
    const body = op.requestBody.content['application/json'].schema;
    expect(body).toMatchObject({ type: 'object', additionalProperties: false, required: ['caseNo'] });
    expect(Object.keys(body.properties).sort()).toEqual(['caseNo', 'idCardReadId', 'idSuffix']);
    expect(op.description).toContain('`invalid`');
  });
});
