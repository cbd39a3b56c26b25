import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RATING_WINDOW_MS } from '../../controller/services/rating.ts';
import { ID_SUFFIX, startHarness, until, type Harness } from '../support/cabinet-harness.ts';
import { readyCase, simDoor } from '../support/cabinet-steps.ts';

// The 好差评 rating the applicant taps at the kiosk after a pickup (POST /api/v1/kiosk/rating), and the
// cabinet's face for the kiosk's map (GET /api/v1/kiosk/layout): real controller, real SQLite, simulator doors.

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.stop();
});

const rate = (body: unknown, remoteAddress?: string) => remoteAddress
  ? h.controller.api.inject({ method: 'POST', url: '/api/v1/kiosk/rating', remoteAddress, payload: body as object }).then((r) => ({ status: r.statusCode, json: r.json() }))
  : h.call('POST', '/api/v1/kiosk/rating', body, null);
const eventsOf = (type: string) => h.controller.cabinet.store.outbox.after(0, 100_000).filter((e) => e.type === type);
const lastSeq = () => h.controller.cabinet.store.outbox.after(0, 100_000).at(-1)?.seq ?? 0;

/** The applicant types the code and the ID suffix, the door opens, they take the items and close it. */
async function collect(caseNo: string, barcode: string): Promise<void> {
  const ready = await readyCase(h, caseNo, [{ type: 'licence-original', barcode }]);
  const opened = await h.call('POST', '/api/v1/kiosk/pickup', { code: ready.code, idSuffix: ID_SUFFIX }, null);
  expect(opened.json.result).toBe('opened');
  const id = ready.compartments[0]!;
  await until(() => simDoor(h, id).open, 3000, `door ${id} open`);
  h.sim.model.close(id, { occupied: false });
  await until(async () => (await h.call('GET', `/api/v1/cases/${caseNo}`)).json.state === 'collected', 3000, `${caseNo} collected`);
}

describe('POST /api/v1/kiosk/rating (好差评 after a pickup)', () => {
  it('takes a rating right after a pickup and publishes rating.submitted through the outbox with the next seq', async () => {
    await collect('RATE-OK', 'RATE-OK-1');
    const before = lastSeq();
    const r = await rate({ caseNo: 'RATE-OK', level: 5 });
    expect(r.status, JSON.stringify(r.json)).toBe(201);
    expect(r.json).toEqual({ caseNo: 'RATE-OK', level: 5, levelName: '非常满意', seq: before + 1 });
    const [event, ...more] = eventsOf('rating.submitted');
    expect(more).toEqual([]);
    expect(event).toMatchObject({ seq: before + 1, type: 'rating.submitted', bootId: h.controller.cabinet.bootId, data: { caseNo: 'RATE-OK', level: 5, levelName: '非常满意', reasons: [], channel: 'kiosk' } });
    // Recorded in the audit chain too, which still verifies.
    const audit = await h.call('GET', '/api/v1/audit?after=0&limit=1000');
    expect(audit.json.filter((a: { action: string }) => a.action === 'rating.submitted')).toEqual([expect.objectContaining({ actor: 'applicant', data: { caseNo: 'RATE-OK', level: 5, reasons: [] } })]);
    expect((await h.call('GET', '/api/v1/audit/verify')).json.ok).toBe(true);
  });

  it('a 不满意 keeps what went wrong, from the fixed list', async () => {
    await collect('RATE-BAD', 'RATE-BAD-1');
    const r = await rate({ caseNo: 'RATE-BAD', level: 2, reasons: ['door-did-not-open', 'waited-too-long'] });
    expect(r.status, JSON.stringify(r.json)).toBe(201);
    expect(eventsOf('rating.submitted').find((e) => e.data.caseNo === 'RATE-BAD')?.data).toEqual({ caseNo: 'RATE-BAD', level: 2, levelName: '不满意', reasons: ['door-did-not-open', 'waited-too-long'], channel: 'kiosk' });
  });

  it('takes each case once: a second rating is 409 already-rated and publishes nothing', async () => {
    await collect('RATE-TWICE', 'RATE-TWICE-1');
    expect((await rate({ caseNo: 'RATE-TWICE', level: 4 })).status).toBe(201);
    const before = lastSeq();
    const again = await rate({ caseNo: 'RATE-TWICE', level: 1 });
    expect(again.status).toBe(409);
    expect(again.json).toMatchObject({ code: 'already-rated', issues: [{ path: 'caseNo' }] });
    expect(again.json.error).toMatch(/already been rated/);
    expect(lastSeq()).toBe(before);
    expect(eventsOf('rating.submitted').filter((e) => e.data.caseNo === 'RATE-TWICE').map((e) => e.data.level)).toEqual([4]);
  });

  it('refuses a case not picked up here and an unknown case alike (no oracle on case numbers), and writes nothing', async () => {
    await readyCase(h, 'RATE-WAITING', [{ type: 'seal', barcode: 'RATE-WAITING-1' }]);
    const before = lastSeq();
    const waiting = await rate({ caseNo: 'RATE-WAITING', level: 5 });
    const unknown = await rate({ caseNo: 'RATE-NOSUCH', level: 5 });
    expect(waiting.status).toBe(409);
    expect(waiting.json).toMatchObject({ code: 'not-rateable', issues: [{ path: 'caseNo' }] });
    expect(waiting.json.error).toMatch(/rate it at the window/);
    expect(unknown.status).toBe(waiting.status);
    expect(JSON.stringify(unknown.json).replaceAll('RATE-NOSUCH', '#')).toBe(JSON.stringify(waiting.json).replaceAll('RATE-WAITING', '#'));
    expect(lastSeq()).toBe(before);
  });

  it(`refuses a rating more than ${RATING_WINDOW_MS / 60_000} minutes after the pickup, like an unknown case`, async () => {
    await collect('RATE-LATE', 'RATE-LATE-1');
    h.clock.advance(RATING_WINDOW_MS + 1000);
    try {
      const late = await rate({ caseNo: 'RATE-LATE', level: 3 });
      expect(late.status).toBe(409);
      expect(late.json.code).toBe('not-rateable');
    } finally {
      h.clock.advance(-(RATING_WINDOW_MS + 1000));
    }
    expect(eventsOf('rating.submitted').some((e) => e.data.caseNo === 'RATE-LATE')).toBe(false);
  });

  it('names the field and the fix for bad input, and takes no free text', async () => {
    const cases: [unknown, string, RegExp][] = [
      [{ caseNo: 'RATE-OK', level: 6 }, 'level', /5 = 非常满意.*1 = 非常不满意/],
      [{ caseNo: 'RATE-OK', level: 0 }, 'level', /1 = 非常不满意/],
      [{ caseNo: 'RATE-OK', level: '5' }, 'level', /好差评/],
      [{ caseNo: 'RATE-OK', level: 4.5 }, 'level', /好差评/],
      [{ level: 5 }, 'caseNo', /case number/],
      [{ caseNo: 'RATE OK!', level: 5 }, 'caseNo', /letters, digits/],
      [{ caseNo: 'RATE-OK', level: 4, reasons: ['waited-too-long'] }, 'reasons', /only for 不满意 or 非常不满意.*leave them out/],
      [{ caseNo: 'RATE-OK', level: 1, reasons: ['rude staff, call 13800138000'] }, 'reasons.0', /waited-too-long, door-did-not-open/],
    ];
    for (const [body, path, message] of cases) {
      const r = await rate(body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      const issue = r.json.issues.find((i: { path: string }) => i.path === path);
      expect(issue, `${JSON.stringify(body)} → ${JSON.stringify(r.json)}`).toBeDefined();
      expect(issue.message).toMatch(message);
    }
    // A comment field would let someone type a phone number into the rating: there is none.
    const comment = await rate({ caseNo: 'RATE-OK', level: 1, comment: 'call me on 13800138000' });
    expect(comment.status).toBe(400);
    expect(JSON.stringify(comment.json)).toMatch(/comment/);
  });

  it("answers only the cabinet's own screen (api.kioskClients): 403 elsewhere, nothing written", async () => {
    await collect('RATE-FAR', 'RATE-FAR-1');
    const before = lastSeq();
    const far = await rate({ caseNo: 'RATE-FAR', level: 5 }, '192.0.2.7');
    expect(far.status).toBe(403);
    expect(far.json.error).toMatch(/kioskClients/);
    expect(lastSeq()).toBe(before);
    // The real screen can still rate it.
    expect((await rate({ caseNo: 'RATE-FAR', level: 5 })).status).toBe(201);
  });
});

describe('GET /api/v1/kiosk/layout (the map of the cabinet)', () => {
  it('gives the real grid of compartments with sizes and places, and nothing about contents', async () => {
    const r = await h.call('GET', '/api/v1/kiosk/layout', undefined, null);
    expect(r.status).toBe(200);
    expect(Object.keys(r.json).sort()).toEqual(['cabinetId', 'columns', 'compartments', 'itemNames', 'rows']);
    expect(r.json.itemNames).toMatchObject({ seal: { zh: '印章', en: 'seal' }, 'tax-device': { zh: '税务UKey', en: 'tax USB key' } });
    expect(r.json.columns).toEqual(['A', 'B', 'C']);
    expect(r.json.rows).toEqual(['01', '02', '03', '04', '05', '06', '07', '08']);
    expect(r.json.compartments).toHaveLength(24);
    expect(r.json.compartments).toContainEqual({ id: 'B03', size: 'S', column: 'B', row: '03' });
    expect(r.json.compartments).toContainEqual({ id: 'C08', size: 'L', column: 'C', row: '08' });
    for (const c of r.json.compartments) expect(Object.keys(c).sort()).toEqual(['column', 'id', 'row', 'size']);
    const far = await h.controller.api.inject({ method: 'GET', url: '/api/v1/kiosk/layout', remoteAddress: '192.0.2.7' });
    expect(far.statusCode).toBe(403);
  });
});
