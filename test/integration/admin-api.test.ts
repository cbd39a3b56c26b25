import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, caseBody, ID_SUFFIX, startHarness, until, type Harness } from '../support/cabinet-harness.ts';
import { addUser, FULL_ID_NUMBER, FULL_PHONE, loadItem, readyCase, simDoor } from '../support/cabinet-steps.ts';
import { openSseStream, type SseReader } from '../support/sse-reader.ts';

// The admin API as the pages, ops tools and Prometheus use it: real HTTP where a stream or a header matters,
// the real controller against the simulator over real Firmata/TCP underneath.

let h: Harness;
const streams: SseReader[] = [];
const base = () => `http://127.0.0.1:${h.controller.apiPort}`;
const bearer = (token = ADMIN_TOKEN) => ({ authorization: `Bearer ${token}` });
async function stream(path: string, headers: Record<string, string> = {}): Promise<SseReader> {
  const s = await openSseStream(`${base()}${path}`, headers);
  streams.push(s);
  return s;
}

beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  for (const s of streams.splice(0)) s.close();
  await h.stop();
});

const compartment = async (id: string) => (await h.call('GET', '/api/v1/compartments')).json.find((c: { id: string }) => c.id === id);

describe('the live event stream for the pages (GET /api/v1/events)', () => {
  it('shows a load as it happens, in order with rising seq, and a reconnect replays what was missed', async () => {
    const live = await stream('/api/v1/events', bearer());
    expect(live.status).toBe(200);
    expect(live.headers.get('content-type')).toMatch(/^text\/event-stream/);

    await h.call('POST', '/api/v1/cases', caseBody('SSE-1', [{ type: 'seal', barcode: 'SSE-SEAL', label: '公章' }]));
    await loadItem(h, 'SSE-SEAL');
    await live.next((f) => f.event === 'case.ready', 3000, 'case.ready');

    const events = live.frames.map((f) => ({ frameId: f.id, frameEvent: f.event, ...JSON.parse(f.data) }));
    // The item counts as in once its door has closed again, so item.loaded follows door.closed.
    expect(events.map((e) => e.type)).toEqual(['case.created', 'load.started', 'door.opened', 'door.closed', 'item.loaded', 'case.ready']);
    for (const [i, e] of events.entries()) {
      expect(Object.keys(e).filter((k) => !k.startsWith('frame')).sort()).toEqual(['bootId', 'data', 'id', 'seq', 'ts', 'type']);
      expect(e.frameId).toBe(String(e.seq)); // the SSE id is the seq, so Last-Event-ID resumes from it
      expect(e.frameEvent).toBe(e.type);
      expect(e.bootId).toBe(h.controller.cabinet.bootId);
      expect(new Date(e.ts).toISOString()).toBe(e.ts);
      if (i > 0) expect(e.seq).toBe(events[i - 1].seq + 1);
    }
    expect(events[0].data).toMatchObject({ caseNo: 'SSE-1', applicant: { phone: '138****8000' } });
    expect(events[2].data).toMatchObject({ compartment: 'A01', purpose: 'load' });
    expect(events[5].data).toMatchObject({ caseNo: 'SSE-1', compartments: ['A01'] });
    expect(live.raw()).not.toContain(FULL_PHONE);
    expect(live.raw()).not.toContain(FULL_ID_NUMBER);
    live.close();

    // A page that lost the stream after load.started reconnects and gets the rest first, then live events.
    const lastSeen = events[1].seq;
    const again = await stream('/api/v1/events', { ...bearer(), 'last-event-id': String(lastSeen) });
    await again.next((f) => f.event === 'case.ready', 3000, 'replayed case.ready');
    expect(again.frames.map((f) => Number(f.id))).toEqual(events.slice(2).map((e) => e.seq));
    expect(again.frames.map((f) => f.event)).toEqual(['door.opened', 'door.closed', 'item.loaded', 'case.ready']);
    expect((await h.call('POST', '/api/v1/compartments/B02/disable', { reason: 'cleaning' })).status).toBe(200);
    const live2 = await again.next((f) => f.event === 'compartment.disabled', 3000, 'a live event after the replay');
    expect(Number(live2.id)).toBe(events[5].seq + 1);
  });

  it('takes ?token= for EventSource clients and answers 401 without a token', async () => {
    const byQuery = await stream(`/api/v1/events?token=${ADMIN_TOKEN}`);
    expect(byQuery.status).toBe(200);
    await h.call('POST', '/api/v1/cases', caseBody('SSE-Q', [{ type: 'invoice', barcode: 'SSE-INV' }]));
    expect(JSON.parse((await byQuery.next((f) => f.event === 'case.created')).data).data.caseNo).toBe('SSE-Q');

    const none = await stream('/api/v1/events');
    expect(none.status).toBe(401);
    expect(JSON.parse(none.raw())).toMatchObject({ error: expect.stringMatching(/token/), issues: [{ path: 'authorization' }] });
    expect((await stream('/api/v1/events?token=not-a-token')).status).toBe(401);
  });
});

describe('the kiosk screen stream (GET /api/v1/kiosk/events, no sign-in)', () => {
  it('shows scans masked, asks for the ID, names the doors opening and the refusals, and nothing personal', async () => {
    const sealed = await readyCase(h, 'KIOSK-1', [{ type: 'seal', barcode: 'K-SEAL', label: '公章' }]);
    const kiosk = await stream('/api/v1/kiosk/events');
    expect(kiosk.status).toBe(200);
    await kiosk.next((f) => f.event === 'hello', 3000, 'hello');

    // The applicant scans the QR from the SMS: the screen sees a masked scan and is asked for the ID suffix.
    h.sim.scanner.scan(sealed.qr);
    const scan = JSON.parse((await kiosk.next((f) => f.event === 'scan', 3000, 'scan')).data);
    expect(scan).toMatchObject({ type: 'scan', kind: 'pickup-qr' });
    expect(scan.masked.length).toBeLessThan(sealed.qr.length / 2);
    const needId = JSON.parse((await kiosk.next((f) => f.event === 'need-id', 3000, 'need-id')).data);
    expect(needId.scanId).toMatch(/^[0-9a-f-]{36}$/);

    // Types the suffix: the screen names the door.
    const opened = await h.call('POST', '/api/v1/kiosk/pickup', { scanId: needId.scanId, idSuffix: ID_SUFFIX }, null);
    expect(opened.json).toMatchObject({ result: 'opened', compartments: sealed.compartments });
    const opening = JSON.parse((await kiosk.next((f) => f.event === 'opening', 3000, 'opening')).data);
    expect(opening).toMatchObject({ compartments: sealed.compartments, items: [{ type: 'seal', label: '公章' }] });
    await kiosk.next((f) => f.event === 'door-opened', 3000, 'door-opened');

    // Someone types a wrong code, and someone scans a phone number: refusals, with the text never echoed.
    const wrong = sealed.code === '00000000' ? '11111111' : '00000000';
    await h.call('POST', '/api/v1/kiosk/pickup', { code: wrong, idSuffix: ID_SUFFIX }, null);
    const denied = JSON.parse((await kiosk.next((f) => f.event === 'denied', 3000, 'denied')).data);
    expect(denied).toMatchObject({ reason: 'invalid', attemptsLeft: 4 });
    h.sim.scanner.scan(FULL_PHONE);
    const odd = JSON.parse((await kiosk.next((f) => f.event === 'scan' && f.data.includes('unknown'), 3000, 'unknown scan')).data);
    expect(odd).toEqual({ type: 'scan', kind: 'unknown', masked: '11 characters' });
    expect(JSON.parse((await kiosk.next((f) => f.event === 'denied' && f.data.includes('unrecognised'), 3000, 'unrecognised')).data).reason).toBe('unrecognised');

    const wire = kiosk.raw();
    for (const secret of [sealed.qr, sealed.code, FULL_PHONE, FULL_ID_NUMBER, '138****8000', ID_SUFFIX]) expect(wire).not.toContain(secret);
  });
});

describe('scans that are no pickup QR, as central ops see them', () => {
  it('are one pickup.denied (unrecognised) at once, then summed up with a count — never a failed attempt, nothing of the text kept', async () => {
    const scans = ['6901234567892', FULL_PHONE, 'https://example.com/x', 'hello'];
    let seen = 0;
    h.controller.cabinet.bus.kiosk.add((m) => { if (m.type === 'scan') seen++; });
    for (const text of scans) h.sim.scanner.scan(text);
    await until(() => seen === scans.length, 3000, 'every scan read');
    const first = await until(() => h.controller.cabinet.store.outbox.after(0, 10_000).find((e) => e.type === 'pickup.denied'), 3000, 'the first report');
    expect(first.data).toMatchObject({ method: 'qr', channel: 'scanner', reason: 'unrecognised', count: 1 });
    // The rest of the minute is one event with a count, written at the latest when the cabinet stops.
    await h.stopController();
    const db = await h.restartController();
    const reports = db.cabinet.store.outbox.after(0, 10_000).filter((e) => e.type === 'pickup.denied');
    expect(reports.map((e) => e.data.count)).toEqual([1, 3]);
    const all = JSON.stringify(db.cabinet.store.outbox.after(0, 10_000)) + JSON.stringify(db.cabinet.store.audit.after(0, 10_000));
    for (const text of scans) expect(all).not.toContain(text);
    expect(db.cabinet.services.pickup.guardStatus()).toMatchObject({ consecutiveFailures: 0, failuresToday: 0 });
  });
});

describe('GET /metrics for Prometheus', () => {
  const sample = (text: string, name: string, state?: string) => {
    const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && (state === undefined || l.includes(`state="${state}"`)));
    return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
  };

  it('counts compartments by state, says the hardware is up and how deep the outbox is', async () => {
    const scrape = async () => {
      const r = await fetch(`${base()}/metrics`);
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      return r.text();
    };
    const before = await scrape();
    expect(before).toMatch(/^# HELP govlocker_compartments /m);
    expect(before).toMatch(/^# TYPE govlocker_compartments gauge$/m);
    expect(sample(before, 'govlocker_compartments', 'loaded')).toBe(0);
    expect(sample(before, 'govlocker_compartments', 'empty')).toBe(24);
    expect(before).toMatch(/^govlocker_hardware_up\{cabinet="[^"]+"\} 1$/m);
    // The outbox depth is the same figure /health reports (events the broker has not acknowledged yet).
    const health = async () => (await h.call('GET', '/api/v1/health', undefined, null)).json.outbox as number;
    expect(sample(before, 'govlocker_outbox_depth')).toBe(await health());

    await h.call('POST', '/api/v1/cases', caseBody('METRIC-1', [{ type: 'seal', barcode: 'M-SEAL' }]));
    await loadItem(h, 'M-SEAL');
    const after = await scrape();
    expect(sample(after, 'govlocker_compartments', 'loaded')).toBe(1);
    expect(sample(after, 'govlocker_compartments', 'empty')).toBe(23);
    expect(sample(after, 'govlocker_outbox_depth')).toBe(await health());
    expect(after).toMatch(/^# TYPE govlocker_outbox_depth gauge$/m);
    expect(after).toMatch(/^govlocker_cases\{cabinet="[^"]+",state="ready"\} 1$/m);
    for (const line of after.split('\n').filter((l) => l && !l.startsWith('#'))) expect(line).toMatch(/^[a-z_]+(\{[^}]*\})? -?\d+(\.\d+)?$/);
  });
});

describe('the audit chain (GET /api/v1/audit, /audit/verify)', () => {
  it('lists hash-linked entries with personal data masked, verifies, and is closed to clerks', async () => {
    const ops = addUser(h, 'wang', 'ops');
    const clerk = addUser(h, 'li', 'clerk');
    await h.call('POST', '/api/v1/cases', caseBody('AUDIT-1', [{ type: 'seal', barcode: 'A-SEAL' }]), clerk);
    await loadItem(h, 'A-SEAL');

    const listed = await h.call('GET', '/api/v1/audit?after=0', undefined, ops);
    expect(listed.status).toBe(200);
    const entries = listed.json as { seq: number; ts: string; actor: string; action: string; data: Record<string, unknown>; prev: string; hash: string }[];
    expect(entries.length).toBeGreaterThanOrEqual(5);
    expect(entries[0]!.prev).toBe('0'.repeat(64));
    for (const [i, e] of entries.entries()) {
      expect(Object.keys(e).sort()).toEqual(['action', 'actor', 'data', 'hash', 'prev', 'seq', 'ts']);
      expect(e.seq).toBe(i + 1);
      expect(e.hash).toMatch(/^[0-9a-f]{64}$/);
      if (i > 0) expect(e.prev).toBe(entries[i - 1]!.hash);
    }
    const created = entries.find((e) => e.action === 'case.created')!;
    expect(created).toMatchObject({ actor: 'clerk:li', data: { caseNo: 'AUDIT-1', applicant: { phone: '138****8000', idNumber: '440106********1235' } } });
    expect(JSON.stringify(entries)).not.toContain(FULL_PHONE);
    expect(JSON.stringify(entries)).not.toContain(FULL_ID_NUMBER);

    const tail = await h.call('GET', `/api/v1/audit?after=${entries.length - 2}`, undefined, ops);
    expect(tail.json.map((e: { seq: number }) => e.seq)).toEqual([entries.length - 1, entries.length]);

    const verify = await h.call('GET', '/api/v1/audit/verify', undefined, ops);
    expect(verify.json).toEqual({ ok: true, entries: entries.length, head: entries.at(-1)!.hash });

    expect((await h.call('GET', '/api/v1/audit?after=0', undefined, clerk)).status).toBe(403);
    expect((await h.call('GET', '/api/v1/audit/verify', undefined, clerk)).status).toBe(403);
    expect((await h.call('GET', '/api/v1/audit?after=-1', undefined, ops)).json.issues[0].path).toBe('after');
  });
});

describe('ops on single compartments', () => {
  it('a remote open pulses exactly that door once and is audited with who and why', async () => {
    const ops = addUser(h, 'zhao', 'ops');
    const r = await h.call('POST', '/api/v1/compartments/B03/open', { reason: 'check a reported stuck latch' }, ops);
    expect(r.status, JSON.stringify(r.json)).toBe(202);
    expect(r.json.compartment).toBe('B03');
    await until(() => simDoor(h, 'B03').open, 3000, 'B03 open');
    await until(async () => (await compartment('B03')).state === 'open', 3000, 'B03 shown open');
    await until(() => !simDoor(h, 'B03').relay, 1000, 'relay off');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const pulses = Object.entries(h.sim.model.snapshot()).filter(([, d]) => d.latchPulses > 0).map(([id, d]) => [id, d.latchPulses]);
    expect(pulses).toEqual([['B03', 1]]);
    h.sim.model.close('B03');
    await until(async () => (await compartment('B03')).state === 'empty', 3000, 'B03 closed again');

    const audit = (await h.call('GET', '/api/v1/audit?after=0', undefined, ops)).json;
    expect(audit.find((e: { action: string }) => e.action === 'compartment.remote_open')).toMatchObject({ actor: 'ops:zhao', data: { compartment: 'B03', reason: 'check a reported stuck latch' } });
  });

  it('refuses a remote open without a real reason, for an unknown compartment, and for a clerk', async () => {
    const ops = addUser(h, 'sun', 'ops');
    const short = await h.call('POST', '/api/v1/compartments/A01/open', { reason: 'x ' }, ops);
    expect(short.status).toBe(400);
    expect(short.json.issues).toEqual([expect.objectContaining({ path: 'reason', message: expect.stringMatching(/why/) })]);
    const noBody = await h.call('POST', '/api/v1/compartments/A01/open', undefined, ops);
    expect(noBody.status).toBe(400);
    expect(JSON.stringify(noBody.json)).toMatch(/reason|body/);
    const unknown = await h.call('POST', '/api/v1/compartments/Z99/open', { reason: 'inspect the door' }, ops);
    expect(unknown.status).toBe(404);
    expect(unknown.json).toMatchObject({ code: 'unknown-compartment', error: expect.stringContaining('Z99') });
    const malformed = await h.call('POST', '/api/v1/compartments/a1/open', { reason: 'inspect the door' }, ops);
    expect(malformed.status).toBe(400);
    expect(malformed.json.issues[0]).toMatchObject({ path: 'id', message: expect.stringContaining('A01') });
    const clerk = addUser(h, 'qian', 'clerk');
    expect((await h.call('POST', '/api/v1/compartments/A01/open', { reason: 'inspect the door' }, clerk)).status).toBe(403);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(Object.values(h.sim.model.snapshot()).every((d) => d.latchPulses === 0)).toBe(true);
  });

  it('a disabled compartment is skipped by loads, and enabling brings it back', async () => {
    const ops = addUser(h, 'zhou', 'ops');
    const off = await h.call('POST', '/api/v1/compartments/A01/disable', { reason: 'broken hinge' }, ops);
    expect(off.status).toBe(200);
    expect(off.json).toMatchObject({ id: 'A01', state: 'disabled', note: 'broken hinge' });
    expect(await compartment('A01')).toMatchObject({ state: 'disabled' });
    await h.call('POST', '/api/v1/cases', caseBody('DIS-1', [{ type: 'seal', barcode: 'DIS-SEAL' }]));
    expect(await loadItem(h, 'DIS-SEAL')).toBe('A02');
    expect(simDoor(h, 'A01').latchPulses).toBe(0);

    const on = await h.call('POST', '/api/v1/compartments/A01/enable', undefined, ops);
    expect(on.status).toBe(200);
    expect(on.json).toMatchObject({ id: 'A01', state: 'empty', note: null });
    await h.call('POST', '/api/v1/cases', caseBody('DIS-2', [{ type: 'seal', barcode: 'DIS-SEAL-2' }]));
    expect(await loadItem(h, 'DIS-SEAL-2')).toBe('A01');

    // `curl -X POST …/disable` sends no body at all: the reason is optional, so that is fine too.
    const bare = await fetch(`${base()}/api/v1/compartments/B08/disable`, { method: 'POST', headers: bearer(ops) });
    expect(bare.status).toBe(200);
    expect(await bare.json()).toMatchObject({ id: 'B08', state: 'disabled', note: null });
  });

  it('enable clears a fault left by a jammed lock', async () => {
    const ops = addUser(h, 'wu', 'ops');
    h.sim.model.setFault('C01', 'jam');
    expect((await h.call('POST', '/api/v1/compartments/C01/open', { reason: 'test the lock' }, ops)).status).toBe(202);
    await until(async () => (await compartment('C01')).state === 'fault', 5000, 'C01 in fault');
    expect(simDoor(h, 'C01')).toMatchObject({ latchPulses: 2, open: false });
    h.sim.model.setFault('C01', null); // the technician frees the latch
    const on = await h.call('POST', '/api/v1/compartments/C01/enable', undefined, ops);
    expect(on.json).toMatchObject({ id: 'C01', state: 'empty', note: null });
    expect(h.controller.cabinet.store.outbox.after(0, 1000).find((e) => e.type === 'compartment.enabled')?.data).toMatchObject({ compartment: 'C01', was: 'fault' });
    expect((await h.call('POST', '/api/v1/compartments/C01/open', { reason: 'test the lock again' }, ops)).status).toBe(202);
    await until(() => simDoor(h, 'C01').open, 3000, 'C01 opens after the fix');
  });
});

describe('a clerk taking items back and re-sending credentials', () => {
  it('retrieve opens the case\'s door; once closed the case is retrieved, the compartment empty, the old code dead', async () => {
    const ready = await readyCase(h, 'RET-1', [{ type: 'invoice', barcode: 'RET-INV' }, { type: 'seal', barcode: 'RET-SEAL' }]);
    const [id] = ready.compartments;
    expect(ready.compartments).toHaveLength(1);
    const pulsesBefore = simDoor(h, id!).latchPulses;
    const r = await h.call('POST', '/api/v1/cases/RET-1/retrieve');
    expect(r.status).toBe(202);
    expect(r.json).toEqual({ caseNo: 'RET-1', compartments: [id] });
    await until(() => simDoor(h, id!).open, 3000, 'door open for the clerk');
    expect(simDoor(h, id!).latchPulses).toBe(pulsesBefore + 1);
    h.sim.model.close(id!, { occupied: false });
    await until(async () => (await h.call('GET', '/api/v1/cases/RET-1')).json.state === 'retrieved', 3000, 'retrieved');
    expect(await compartment(id!)).toMatchObject({ state: 'empty', caseNo: null });
    expect((await h.call('GET', '/api/v1/cases/RET-1')).json.items.map((i: { state: string }) => i.state)).toEqual(['retrieved', 'retrieved']);

    const late = await h.call('POST', '/api/v1/kiosk/pickup', { code: ready.code, idSuffix: ID_SUFFIX }, null);
    expect(late.json).toMatchObject({ result: 'denied', reason: 'invalid' });
    expect(simDoor(h, id!).latchPulses).toBe(pulsesBefore + 1);
    expect((await h.call('POST', '/api/v1/cases/RET-1/retrieve')).json).toMatchObject({ code: 'case-not-retrievable' });
  });

  it('notify twice: the first code and QR stop working, the second code opens the door', async () => {
    const ready = await readyCase(h, 'RENEW-1', [{ type: 'licence-copy', barcode: 'RENEW-COPY' }]);
    const second = await h.call('POST', '/api/v1/cases/RENEW-1/notify');
    expect(second.status).toBe(200);
    expect(second.json.code).toMatch(/^\d{8}$/);
    expect(second.json.qr).not.toBe(ready.qr);
    expect(JSON.stringify((await h.call('GET', '/api/v1/cases/RENEW-1')).json)).not.toContain(second.json.code);

    const old = await h.call('POST', '/api/v1/kiosk/pickup', { code: ready.code, idSuffix: ID_SUFFIX }, null);
    expect(old.json).toMatchObject({ result: 'denied', reason: 'invalid' });
    const oldQr = await h.call('POST', '/api/v1/kiosk/pickup', { qr: ready.qr }, null);
    expect(oldQr.json).toMatchObject({ result: 'denied', reason: 'invalid' });
    const id = ready.compartments[0]!;
    expect(simDoor(h, id).latchPulses).toBe(1);

    const ok = await h.call('POST', '/api/v1/kiosk/pickup', { code: second.json.code, idSuffix: ID_SUFFIX }, null);
    expect(ok.json).toMatchObject({ result: 'opened', compartments: [id] });
    await until(() => simDoor(h, id).open, 3000, 'door open for the second code');
  });
});

describe('listing cases', () => {
  it('GET /cases?state=ready lists only ready cases; an unknown state is 400 naming state', async () => {
    await readyCase(h, 'LIST-READY', [{ type: 'seal', barcode: 'LIST-SEAL' }]);
    await h.call('POST', '/api/v1/cases', caseBody('LIST-WAIT', [{ type: 'invoice', barcode: 'LIST-INV' }]));
    const ready = await h.call('GET', '/api/v1/cases?state=ready');
    expect(ready.status).toBe(200);
    expect(ready.json.map((c: { caseNo: string }) => c.caseNo)).toEqual(['LIST-READY']);
    expect(ready.json[0].applicant).toEqual({ name: '张*', phone: '138****8000', idNumber: '440106********1235' });
    const waiting = await h.call('GET', '/api/v1/cases?state=awaiting-items');
    expect(waiting.json.map((c: { caseNo: string }) => c.caseNo)).toEqual(['LIST-WAIT']);
    expect((await h.call('GET', '/api/v1/cases')).json).toHaveLength(2);

    const bad = await h.call('GET', '/api/v1/cases?state=lost');
    expect(bad.status).toBe(400);
    expect(bad.json.issues).toEqual([expect.objectContaining({ path: 'state', message: expect.stringContaining('awaiting-items') })]);
  });
});

describe('request bodies', () => {
  it('a body that is not JSON is 400 saying so; an empty JSON body to notify is fine', async () => {
    const broken = await fetch(`${base()}/api/v1/loads`, { method: 'POST', headers: { ...bearer(), 'content-type': 'application/json' }, body: '{"barcode": ' });
    expect(broken.status).toBe(400);
    const answer = await broken.json();
    expect(answer).toMatchObject({ error: expect.stringMatching(/not valid JSON/), issues: [{ path: 'body' }] });

    await readyCase(h, 'EMPTY-1', [{ type: 'seal', barcode: 'EMPTY-SEAL' }]);
    const empty = await fetch(`${base()}/api/v1/cases/EMPTY-1/notify`, { method: 'POST', headers: { ...bearer(), 'content-type': 'application/json' } });
    expect(empty.status).toBe(200);
    expect(await empty.json()).toMatchObject({ code: expect.stringMatching(/^\d{8}$/), qr: expect.any(String), expiresAt: expect.any(String) });
    const blank = await h.call('POST', '/api/v1/cases/EMPTY-1/notify', '  ');
    expect(blank.status).toBe(200);
  });
});

describe('the kiosk rate limit', () => {
  let limited: Harness;
  beforeEach(async () => {
    limited = await startHarness({ config: { policy: { kioskRequestsPer10s: 3 } } });
  });
  afterEach(async () => {
    await limited.stop();
  });

  it('a burst beyond policy.kioskRequestsPer10s is refused with 429 and retry-after', async () => {
    const url = `http://127.0.0.1:${limited.controller.apiPort}/api/v1/kiosk/pickup`;
    const tap = () => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code: '12345678' }) });
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push(await tap());
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 429, 429]);
    expect(await answers[0]!.json()).toEqual({ result: 'need-id' });
    const refused = answers[3]!;
    const wait = Number(refused.headers.get('retry-after'));
    expect(wait).toBeGreaterThanOrEqual(1);
    expect(wait).toBeLessThanOrEqual(10);
    expect(await refused.json()).toMatchObject({ error: expect.stringContaining(`wait ${wait} s`) });
    // The refusals do not count as failed attempts against the cabinet.
    expect((await limited.call('GET', '/api/v1/pickup-guard')).json).toMatchObject({ consecutiveFailures: 0, failuresToday: 0 });
  });
});
