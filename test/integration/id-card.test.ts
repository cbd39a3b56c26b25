import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { IdCardReader } from '../../firmware-bridge/idcard/reader.ts';
import { ID_SUFFIX, until } from '../support/cabinet-harness.ts';
import { FULL_ID_NUMBER, readyCase, simDoor } from '../support/cabinet-steps.ts';
import { startIdCardHarness, type IdCardHarness } from '../support/id-card-harness.ts';
import { startSimulator } from '../../simulator/simulator.ts';
import { openSseStream, type SseFrame, type SseReader } from '../support/sse-reader.ts';

// The ID-card reader end to end: the simulator's reader speaking the real 二代证 frames over TCP, the
// controller's driver polling it, the kiosk stream telling the screen, and POST /kiosk/pickup taking the read
// in place of the typed ID suffix. Of a card, only a masked number ever leaves the controller.

/** The applicant's own card carries the case's name; another person's card a name of its own. */
const OWN_CARD = { idNumber: FULL_ID_NUMBER, name: '张三' };
const OTHER_CARD = { idNumber: '11010519491231002X', name: '李四海' };
const SECRETS = [FULL_ID_NUMBER, OTHER_CARD.idNumber, OWN_CARD.name, OTHER_CARD.name, '广东省广州市白云区'];
const MINUTE = 60_000;

let h: IdCardHarness;
let kiosk: SseReader;
beforeEach(async () => {
  h = await startIdCardHarness();
  kiosk = await openSseStream(`http://127.0.0.1:${h.controller.apiPort}/api/v1/kiosk/events`);
  await kiosk.next((f) => f.event === 'hello', 3000, 'hello');
});
afterEach(async () => {
  kiosk?.close();
  await h?.stop();
});

const pickup = (body: unknown) => h.call('POST', '/api/v1/kiosk/pickup', body, null);
const guard = () => h.controller.cabinet.services.pickup.guardStatus();
const health = async () => (await h.call('GET', '/api/v1/health', undefined, null)).json;
const driver = () => h.controller.cabinet.idReader as IdCardReader;
const cardEvents = () => kiosk.frames.filter((f) => f.event === 'id-card');

/** The person takes the card away, and the reader has polled it gone (two polls of 300 ms, and a margin). */
async function takeAway(): Promise<void> {
  h.reader.takeCard();
  await new Promise((r) => setTimeout(r, 900));
}

/** Puts a card on the simulated reader and answers the kiosk stream's `id-card` for it. */
async function putCard(card: { idNumber: string; name: string }): Promise<{ readId: string; masked: string; frame: SseFrame }> {
  const from = kiosk.frames.length;
  h.reader.putCard(card);
  const frame = await kiosk.next((f) => f.event === 'id-card', 3000, 'id-card', from);
  const message = JSON.parse(frame.data) as { readId: string; masked: string };
  return { ...message, frame };
}

/** Everything at rest in the data dir's database files, in the encodings a text block or a log could use. */
function atRest(): string {
  return readdirSync(h.dataDir).filter((f) => f.startsWith('govlocker.db')).map((f) => {
    const bytes = readFileSync(join(h.dataDir, f));
    return bytes.toString('latin1') + bytes.toString('utf8') + bytes.toString('utf16le');
  }).join('\n');
}

describe('the ID-card reader at the kiosk', () => {
  it('a card on the reader tells the kiosk its masked number only, and a code with that read opens the doors; the full number and the name appear nowhere', async () => {
    const ready = await readyCase(h, 'IDCARD-1', [{ type: 'seal', barcode: 'IDC-SEAL', label: '公章' }]);
    expect(await health()).toMatchObject({ idReader: 'ok', hardware: 'ok' });

    const read = await putCard(OWN_CARD);
    expect(Object.keys(JSON.parse(read.frame.data)).sort()).toEqual(['expiresInSeconds', 'masked', 'readId', 'type']);
    expect(read.masked).toBe('440106********1235');
    expect(read.readId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);

    // The card stays on the reader: it is reported once, however long it lies there.
    await new Promise((r) => setTimeout(r, 1000));
    expect(cardEvents()).toHaveLength(1);

    const opened = await pickup({ code: ready.code, idCardReadId: read.readId });
    expect(opened.json).toMatchObject({ result: 'opened', compartments: ready.compartments });
    await until(() => simDoor(h, ready.compartments[0]!).open, 3000, 'the door opens');
    h.sim.model.close(ready.compartments[0]!, { occupied: false });
    await until(async () => (await h.call('GET', '/api/v1/cases/IDCARD-1')).json.state === 'collected', 3000, 'collected');

    // Taken away and put back: a new read; then another person's card.
    await takeAway();
    const again = await putCard(OWN_CARD);
    expect(again.readId).not.toBe(read.readId);
    await takeAway();
    await putCard(OTHER_CARD);

    // Nowhere: the kiosk stream, the API's answers, the logs, the database and its WAL.
    const answers = JSON.stringify([opened.json, (await h.call('GET', '/api/v1/cases/IDCARD-1')).json, await health(),
      (await h.call('GET', '/api/v1/audit?limit=1000')).json, (await h.call('GET', '/metrics')).json]);
    expect(readdirSync(h.dataDir)).toContain('govlocker.db-wal');
    const logs = h.logs();
    expect(logs).toContain('ID card read');
    const rest = atRest();
    for (const secret of SECRETS) {
      expect(kiosk.raw(), `kiosk stream: ${secret}`).not.toContain(secret);
      expect(answers, `API: ${secret}`).not.toContain(secret);
      expect(logs, `logs: ${secret}`).not.toContain(secret);
      expect(rest, `database: ${secret}`).not.toContain(secret);
    }
    // Nor any 18-character ID number in the logs, whoever's.
    expect(logs).not.toMatch(/(?<![0-9A-Za-z])\d{17}[\dX](?![0-9A-Za-z])/);
    expect(logs).not.toContain('31002X');
  });

  it('a read is good for one attempt and for 2 minutes; a card that is not the applicant\'s is a failed attempt; all get the same answer as a wrong suffix', async () => {
    const ready = await readyCase(h, 'IDCARD-2', [{ type: 'licence-copy', barcode: 'IDC-COPY' }]);
    const wrongSuffix = await pickup({ code: ready.code, idSuffix: '000000' });
    expect(wrongSuffix.json).toMatchObject({ result: 'denied', reason: 'invalid' });
    const invalid = (attemptsLeft: number) => ({ result: 'denied', reason: 'invalid', attemptsLeft });
    expect(guard().consecutiveFailures).toBe(1);

    // Someone else's card: a failed attempt, counted.
    const other = await putCard(OTHER_CARD);
    expect(other.masked).toBe('110105********002X');
    expect((await pickup({ code: ready.code, idCardReadId: other.readId })).json).toEqual(invalid(3));
    expect(guard().consecutiveFailures).toBe(2);
    await takeAway();

    // The applicant's card, used once by a wrong code: spent, so the right code with it fails too.
    const own = await putCard(OWN_CARD);
    expect((await pickup({ code: '00000000', idCardReadId: own.readId })).json).toEqual(invalid(2));
    expect((await pickup({ code: ready.code, idCardReadId: own.readId })).json).toEqual(invalid(1));
    expect(guard().consecutiveFailures).toBe(4);
    await takeAway();

    // A read older than 2 minutes is no read: one more failure starts the lockout.
    const late = await putCard(OWN_CARD);
    h.clock.advance(2 * MINUTE + 1000);
    const lockedOut = await pickup({ code: ready.code, idCardReadId: late.readId });
    expect(lockedOut.json).toMatchObject({ result: 'denied', reason: 'locked-out' });
    expect(guard()).toMatchObject({ failuresToday: 5, lockedUntil: expect.any(String) });
    // An unknown read id is no better (and is not even evaluated during the lockout).
    expect((await pickup({ code: ready.code, idCardReadId: '3f2504e0-4f89-41d3-9a0c-0305e82c3301' })).json).toMatchObject({ reason: 'locked-out' });

    // After the lockout a fresh read of the right card opens; the success resets the run.
    h.clock.advance(2 * MINUTE);
    await takeAway();
    const fresh = await putCard(OWN_CARD);
    expect((await pickup({ code: ready.code, idCardReadId: fresh.readId })).json).toMatchObject({ result: 'opened' });
    expect(guard().consecutiveFailures).toBe(0);

    // The audit says which second factor failed; the applicant's answers never did.
    const why = (await h.call('GET', '/api/v1/audit?limit=1000')).json.filter((a: { action: string }) => a.action === 'pickup.denied').map((a: { data: { why: string } }) => a.data.why);
    expect(why).toEqual(['wrong id suffix', 'id card not the applicant\'s', 'no such credential', 'id card read unknown, expired or used', 'id card read unknown, expired or used']);
  });

  it('a scanned QR that asks for the ID takes a card read in place of the suffix', async () => {
    const ready = await readyCase(h, 'IDCARD-3', [{ type: 'tax-device', barcode: 'IDC-UKEY' }]);
    const needId = await pickup({ qr: ready.qr });
    expect(needId.json).toMatchObject({ result: 'need-id' });
    const read = await putCard(OWN_CARD);
    expect((await pickup({ scanId: needId.json.scanId, idCardReadId: read.readId })).json).toMatchObject({ result: 'opened', compartments: ready.compartments });
  });

  it('the pickup body names a bad or doubled second factor', async () => {
    const bad = await pickup({ code: '12345678', idCardReadId: 'not-a-read' });
    expect(bad.status).toBe(400);
    expect(bad.json.issues).toEqual([{ path: 'idCardReadId', message: 'idCardReadId is the readId the kiosk stream sent with "id-card"' }]);
    const both = await pickup({ code: '12345678', idSuffix: ID_SUFFIX, idCardReadId: '3f2504e0-4f89-41d3-9a0c-0305e82c3301' });
    expect(both.status).toBe(400);
    expect(both.json.issues[0].path).toBe('idCardReadId');
    const none = await pickup({ scanId: '3f2504e0-4f89-41d3-9a0c-0305e82c3301' });
    expect(none.status).toBe(400);
    expect(none.json.issues[0]).toMatchObject({ path: 'idSuffix' });
    expect(guard().consecutiveFailures).toBe(0);
  });

  it('an unplugged reader is lost on /health and on the kiosk stream, the typed suffix still works, and the reader comes back by itself', async () => {
    const ready = await readyCase(h, 'IDCARD-4', [{ type: 'seal', barcode: 'IDC-SEAL-4' }]);
    const from = kiosk.frames.length;
    h.reader.disconnect('drop');
    await until(async () => (await health()).idReader === 'lost', 3000, 'health says the reader is lost');
    expect(await health()).toMatchObject({ status: 'ok', hardware: 'ok' }); // the cabinet itself is fine
    expect((await h.controller.api.inject({ method: 'GET', url: '/metrics' })).body).toMatch(/^govlocker_id_reader_up\{cabinet="[^"]+"\} 0$/m);
    expect(JSON.parse((await kiosk.next((f) => f.event === 'id-reader', 3000, 'id-reader', from)).data)).toEqual({ type: 'id-reader', state: 'lost' });

    expect((await pickup({ code: ready.code })).json).toEqual({ result: 'need-id' });
    expect((await pickup({ code: ready.code, idSuffix: ID_SUFFIX })).json).toMatchObject({ result: 'opened' });

    h.reader.connect();
    await until(async () => (await health()).idReader === 'ok', 8000, 'the reader back');
    expect((await h.controller.api.inject({ method: 'GET', url: '/metrics' })).body).toMatch(/^govlocker_id_reader_up\{cabinet="[^"]+"\} 1$/m);
    await putCard(OWN_CARD);
  });

  it('a reader that answers nothing behind its serial server is lost too', async () => {
    h.reader.disconnect('silent');
    await until(async () => (await health()).idReader === 'lost', 8000, 'health says the reader is lost');
    h.reader.connect();
    await until(async () => (await health()).idReader === 'ok', 10_000, 'the reader answering again');
  });

  it('a reader answering checksum errors, garbled replies and an unreadable card give no id-card and no crash; the card is read once the fault clears', async () => {
    for (const fault of ['checksum', 'garbled', 'unreadable'] as const) {
      h.reader.setFault(fault);
      h.reader.putCard(OWN_CARD);
      await new Promise((r) => setTimeout(r, 1200));
      expect(cardEvents(), fault).toHaveLength(0);
      h.reader.takeCard();
    }
    const stats = driver().stats;
    expect(stats.refusals).toMatchObject({ 'checksum-error': expect.any(Number), 'read-failed': expect.any(Number) });
    expect(stats.framer.badChecksum).toBeGreaterThan(0);
    expect(stats.cards).toBe(0);
    expect((await health()).status).toBe('ok');
    // Ops see the same on /metrics, by status name.
    const metrics = (await h.controller.api.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/^govlocker_id_reader_refusals_total\{cabinet="[^"]+",status="checksum-error"\} [1-9]\d*$/m);
    expect(metrics).toMatch(/^govlocker_id_reader_refusals_total\{cabinet="[^"]+",status="read-failed"\} [1-9]\d*$/m);
    expect(metrics).toMatch(/^govlocker_id_reader_bad_frames_total\{cabinet="[^"]+"\} [1-9]\d*$/m);
    expect(metrics).toMatch(/^govlocker_id_reader_cards_total\{cabinet="[^"]+"\} 0$/m);

    h.reader.setFault(null);
    await putCard(OWN_CARD);
    expect(cardEvents()).toHaveLength(1);
    expect(h.logs()).not.toContain(FULL_ID_NUMBER);
  });

  it('the simulator\'s control API puts a card on the reader and takes it away, with faults and the cable, each body checked', async () => {
    const sim = (path: string, method = 'POST', body?: unknown) => fetch(`http://127.0.0.1:${h.sim.ports.control}${path}`, {
      method, ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    }).then(async (r) => ({ status: r.status, json: await r.json() as any }));

    const from = kiosk.frames.length;
    const put = await sim('/sim/idcard', 'POST', { idNumber: FULL_ID_NUMBER, name: '张三' });
    expect(put).toMatchObject({ status: 200, json: { card: '440106********1235', fault: null, reader: 'connected', host: 'connected' } });
    await kiosk.next((f) => f.event === 'id-card', 3000, 'id-card', from);
    expect(JSON.stringify((await sim('/sim/state', 'GET')).json.idReader)).not.toContain(FULL_ID_NUMBER);
    expect(JSON.stringify(put.json)).not.toContain('张三');
    expect((await sim('/sim/idcard', 'DELETE')).json.card).toBeNull();

    const misread = await sim('/sim/idcard', 'POST', { idNumber: '440106199001011234' });
    expect(misread.status).toBe(400);
    expect(misread.json.issues[0].path).toBe('idNumber');
    expect((await sim('/sim/idcard', 'POST', { idNumber: FULL_ID_NUMBER, photo: 'x' })).status).toBe(400);
    expect((await sim('/sim/idcard/fault', 'POST', { fault: 'smudged' })).json.issues[0]).toMatchObject({ path: 'fault', message: 'fault is "checksum", "garbled", "unreadable" or null' });
    expect((await sim('/sim/idcard/fault', 'POST', { fault: 'unreadable' })).json.fault).toBe('unreadable');
    expect((await sim('/sim/idcard/fault', 'POST', { fault: null })).json.fault).toBeNull();
    expect((await sim('/sim/idcard/disconnect', 'POST', { mode: 'drop' })).json.reader).toBe('disconnected');
    await until(async () => (await health()).idReader === 'lost', 3000, 'lost');
    expect((await sim('/sim/idcard/connect')).json.reader).toBe('connected');

    // A simulator without a reader says so.
    const bare = await startSimulator({ compartments: h.controller.cabinet.config.compartments, controlPort: 0, firmataPort: 0, scannerPort: 0 });
    try {
      const r = await fetch(`http://127.0.0.1:${bare.ports.control}/sim/idcard`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ idNumber: FULL_ID_NUMBER }) });
      expect(r.status).toBe(404);
      expect(bare.ports.idReader).toBeUndefined();
    } finally {
      await bare.stop();
    }
  });
});
