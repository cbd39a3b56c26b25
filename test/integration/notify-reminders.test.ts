import type { Socket } from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Topics } from '../../controller/mqtt/topics.ts';
import { ID_SUFFIX, startHarness, until, type Harness } from '../support/cabinet-harness.ts';
import { FULL_PHONE, readyCase, simDoor } from '../support/cabinet-steps.ts';
import { startMosquitto, type Mosquitto } from '../support/mosquitto.ts';

// The SMS gateway as it sees the cabinet (CONTRACT §4, §9): a real Mosquitto, the cabinet reporting to it, and a
// gateway client subscribed to `govlocker/v1/+/notify` (a persistent session, as a gateway keeps). The reminder
// before expiry and the kiosk's "没收到取件码？" both end up there; each test uses its own cabinet id.

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

let broker: Mosquitto;
let gateway: MqttClient;
const heard: { topic: string; json: any }[] = [];
const harnesses: Harness[] = [];

beforeAll(async () => {
  broker = await startMosquitto();
  gateway = mqtt.connect(broker.url, { clientId: 'sms-gateway', clean: false, protocolVersion: 5, properties: { sessionExpiryInterval: 3600 }, reconnectPeriod: 50, connectTimeout: 3000 });
  gateway.on('connect', () => (gateway.stream as Socket).setNoDelay?.(true));
  gateway.on('error', () => { /* reconnects; the waits say what went missing */ });
  gateway.on('message', (topic, payload) => heard.push({ topic, json: JSON.parse(payload.toString('utf8')) }));
  await new Promise<void>((resolve, reject) => {
    gateway.once('connect', () => resolve());
    gateway.once('error', reject);
  });
  await gateway.subscribeAsync('govlocker/v1/+/notify', { qos: 1 });
});

afterEach(async () => {
  if (!broker.running) await broker.restart();
  for (const h of harnesses.splice(0)) await h.stop();
});

afterAll(async () => {
  await gateway?.endAsync(true);
  await broker?.stop();
});

async function cabinet(cabinetId: string, policy: Record<string, unknown> = {}): Promise<Harness> {
  const h = await startHarness({ mqttUrl: broker.url, config: { cabinetId, policy } });
  harnesses.push(h);
  await until(async () => (await h.call('GET', '/api/v1/health', undefined, null)).json.mqtt === 'connected', 5000, 'cabinet connected');
  return h;
}

const notifies = (cabinetId: string, caseNo: string, kind?: string) =>
  heard.filter((m) => m.topic === new Topics(cabinetId).notify && m.json.caseNo === caseNo && (kind === undefined || m.json.kind === kind)).map((m) => m.json);
const events = (h: Harness, type: string) => h.controller.cabinet.store.outbox.after(0, 100_000).filter((e) => e.type === type);
const metric = async (h: Harness, name: string) => {
  const text = (await h.controller.api.inject({ method: 'GET', url: '/metrics' })).body;
  return Number(new RegExp(`^${name.replace(/[{}"]/g, '\\$&')} (\\d+)$`, 'm').exec(text)?.[1] ?? 'NaN');
};

/** The applicant collects: the code with the ID suffix, every door opens and is shut again. */
async function collect(h: Harness, caseNo: string, code: string, compartments: string[]): Promise<void> {
  const r = await h.call('POST', '/api/v1/kiosk/pickup', { code, idSuffix: ID_SUFFIX }, null);
  expect(r.json).toMatchObject({ result: 'opened' });
  for (const id of compartments) {
    await until(() => simDoor(h, id).open, 3000, `door ${id} open`);
    h.sim.model.close(id, { occupied: false });
  }
  await until(async () => (await h.call('GET', `/api/v1/cases/${caseNo}`)).json.state === 'collected', 3000, `${caseNo} collected`);
}

describe('the reminder before a credential expires', () => {
  it('goes out once, a day before the expiry, as kind "reminder" with the expiry and no code; a collected case gets none', async () => {
    const CAB = 'RM-ONCE';
    const h = await cabinet(CAB);
    const waiting = await readyCase(h, 'RM-WAIT', [{ type: 'invoice', barcode: 'RMW-INV' }]);
    const done = await readyCase(h, 'RM-DONE', [{ type: 'invoice', barcode: 'RMD-INV' }]);
    await collect(h, 'RM-DONE', done.code, done.compartments);
    const reminders = h.controller.cabinet.services.reminders;
    expect(reminders.sweep()).toEqual([]); // a week to go
    const expiresAt = (await h.call('GET', '/api/v1/cases/RM-WAIT')).json.expiresAt as string;

    h.clock.advance(7 * DAY - 23 * HOUR); // 23 hours before the expiry
    expect(reminders.sweep()).toEqual(['RM-WAIT']);
    expect(reminders.sweep()).toEqual([]);
    await until(() => notifies(CAB, 'RM-WAIT', 'reminder').length > 0, 5000, 'the reminder at the SMS gateway');
    expect(notifies(CAB, 'RM-WAIT', 'reminder')).toEqual([{ kind: 'reminder', caseNo: 'RM-WAIT', phone: FULL_PHONE, expiresAt, whenOverdue: 'expire', helpWindow: '1' }]);
    // The code the applicant has still opens: nothing was re-issued behind their back.
    expect(notifies(CAB, 'RM-WAIT', 'credential').at(-1)).toMatchObject({ code: waiting.code });

    // Ops learn of it, with nothing personal.
    const reminded = events(h, 'credential.reminded');
    expect(reminded.map((e) => e.data)).toEqual([{ caseNo: 'RM-WAIT', expiresAt }]);
    expect(JSON.stringify(reminded)).not.toContain(FULL_PHONE);
    expect(await metric(h, `govlocker_reminders_sent_total{cabinet="${CAB}"}`)).toBe(1);
    expect(await metric(h, `govlocker_reminders_skipped_total{cabinet="${CAB}",state="collected"}`)).toBe(1);

    // Once per case, across a restart too.
    await h.restartController();
    expect(h.controller.cabinet.services.reminders.sweep()).toEqual([]);
    const opened = await h.call('POST', '/api/v1/kiosk/pickup', { code: waiting.code, idSuffix: ID_SUFFIX }, null);
    expect(opened.json).toMatchObject({ result: 'opened' });
    expect(notifies(CAB, 'RM-DONE', 'reminder')).toEqual([]);
    expect(notifies(CAB, 'RM-WAIT', 'reminder')).toHaveLength(1);
  });

  it('a reminder queued while the broker was away is dropped if the case was collected meanwhile; none at all with reminderHoursBefore null', async () => {
    const CAB = 'RM-STALE';
    const h = await cabinet(CAB, { reminderHoursBefore: 2, whenOverdue: 'keep-valid' });
    const gone = await readyCase(h, 'RM-GONE', [{ type: 'invoice', barcode: 'RMG-INV' }]);
    const kept = await readyCase(h, 'RM-KEPT', [{ type: 'invoice', barcode: 'RMK-INV' }]);
    await until(() => notifies(CAB, 'RM-KEPT', 'credential').length > 0, 5000, 'the credentials delivered');
    await broker.halt();
    await until(async () => (await h.call('GET', '/api/v1/health', undefined, null)).json.mqtt === 'offline', 5000, 'mqtt offline');
    h.clock.advance(7 * DAY - 90 * 60_000); // 1.5 hours before the expiry
    expect(h.controller.cabinet.services.reminders.sweep().sort()).toEqual(['RM-GONE', 'RM-KEPT']);
    await collect(h, 'RM-GONE', gone.code, gone.compartments);
    await broker.restart();
    await until(() => notifies(CAB, 'RM-KEPT', 'reminder').length > 0, 8000, 'the reminder of the case still waiting');
    expect(notifies(CAB, 'RM-KEPT', 'reminder')[0]).toMatchObject({ whenOverdue: 'keep-valid', phone: FULL_PHONE });
    await until(() => (h.controller.cabinet.store.db.prepare('SELECT count(*) AS n FROM notify_outbox').get() as { n: number }).n === 0, 5000, 'the notify outbox emptied');
    expect(notifies(CAB, 'RM-GONE', 'reminder')).toEqual([]);
    expect(await metric(h, `govlocker_reminders_skipped_total{cabinet="${CAB}",state="collected"}`)).toBe(1);
    expect(kept.code).toMatch(/^\d{8}$/);

    const none = await cabinet('RM-NONE', { reminderHoursBefore: null });
    await readyCase(none, 'RM-NULL', [{ type: 'invoice', barcode: 'RMN-INV' }]);
    none.clock.advance(7 * DAY - HOUR);
    expect(none.controller.cabinet.services.reminders.sweep()).toEqual([]);
    expect(events(none, 'credential.reminded')).toEqual([]);
  });
});

describe('"没收到取件码？" at the kiosk', () => {
  it('sends a new code to the phone on file as kind "credential" with the same expiry; it opens the door and the old one no longer does', async () => {
    const CAB = 'RS-MQTT';
    const h = await cabinet(CAB);
    const old = await readyCase(h, 'RS-LOST', [{ type: 'seal', barcode: 'RSL-SEAL', label: '公章' }]);
    const before = (await h.call('GET', '/api/v1/cases/RS-LOST')).json.expiresAt as string;
    await until(() => notifies(CAB, 'RS-LOST', 'credential').some((n) => n.code === old.code), 5000, 'the first code delivered');

    const sent = await h.call('POST', '/api/v1/kiosk/resend', { caseNo: 'rs-lost', idSuffix: ID_SUFFIX }, null);
    expect(sent).toEqual({ status: 200, json: { result: 'sent', maskedPhone: '138****8000', expiresAt: before } });
    // The case's credentials so far: the one issued when it became ready, then the clerk's (old.code), then the new one.
    const after = (list: any[]) => list.slice(list.findIndex((n) => n.code === old.code) + 1);
    const fresh = await until(() => after(notifies(CAB, 'RS-LOST', 'credential'))[0], 5000, 'the new code at the SMS gateway');
    expect(fresh).toEqual({ kind: 'credential', caseNo: 'RS-LOST', phone: FULL_PHONE, code: expect.stringMatching(/^\d{8}$/), qr: expect.any(String), expiresAt: before });
    expect(events(h, 'credential.reissued').at(-1)!.data).toEqual({ caseNo: 'RS-LOST', expiresAt: before, channel: 'kiosk' });
    expect((await h.call('GET', '/api/v1/cases/RS-LOST')).json.expiresAt).toBe(before);

    const stale = await h.call('POST', '/api/v1/kiosk/pickup', { code: old.code, idSuffix: ID_SUFFIX }, null);
    expect(stale.json).toMatchObject({ result: 'denied', reason: 'invalid' });
    const staleQr = await h.call('POST', '/api/v1/kiosk/pickup', { qr: old.qr, idSuffix: ID_SUFFIX }, null);
    expect(staleQr.json).toMatchObject({ result: 'denied', reason: 'invalid' });
    const opened = await h.call('POST', '/api/v1/kiosk/pickup', { code: fresh.code, idSuffix: ID_SUFFIX }, null);
    expect(opened.json).toMatchObject({ result: 'opened', compartments: old.compartments });
    await until(() => simDoor(h, old.compartments[0]!).open, 3000, 'door open for the new code');
  });
});
