import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PURGED_APPLICANT } from '../../controller/services/purge.ts';
import { ID_SUFFIX, startHarness, until, type Harness } from '../support/cabinet-harness.ts';
import { FULL_ID_NUMBER, FULL_PHONE, readyCase, simDoor } from '../support/cabinet-steps.ts';

let h: Harness | null = null;
afterEach(async () => {
  await h?.stop();
  h = null;
});

const HOUR = 3_600_000;
// A mainland mobile number or an 18-character ID number as a whole token, and the test's exact values anywhere.
const PERSONAL = [/(?<![0-9A-Za-z])1[3-9]\d{9}(?![0-9A-Za-z])/g, /(?<![0-9A-Za-z])\d{17}[\dX](?![0-9A-Za-z])/g];
function personalDataAtRest(dir: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync(dir).filter((f) => f.startsWith('govlocker.db'))) {
    const text = readFileSync(join(dir, name)).toString('latin1');
    for (const re of PERSONAL) for (const m of text.matchAll(re)) found.push(`${name}: ${m[0]}`);
    for (const exact of [FULL_PHONE, FULL_ID_NUMBER]) if (text.includes(exact)) found.push(`${name}: ${exact}`);
  }
  return found;
}

describe('personal data is purged a configurable time after collection (GB/T 35273)', () => {
  it('thirty days after the applicant collected, the case shows no applicant and the database keeps nothing of them', async () => {
    h = await startHarness();
    const db = h.controller.cabinet.store.db;
    const collected = await readyCase(h, 'PURGE-DONE', [{ type: 'seal', barcode: 'PURGE-SEAL' }]);
    await readyCase(h, 'PURGE-WAIT', [{ type: 'seal', barcode: 'PURGE-WAIT-SEAL' }]);
    const door = collected.compartments[0]!;
    expect((await h.call('POST', '/api/v1/kiosk/pickup', { code: collected.code, idSuffix: ID_SUFFIX }, null)).json.result).toBe('opened');
    await until(() => simDoor(h!, door).open, 3000, 'door open');
    h.sim.model.close(door, { occupied: false });
    await until(async () => (await h!.call('GET', '/api/v1/cases/PURGE-DONE')).json.state === 'collected', 3000, 'collected');
    // A clerk took another case's items back to the window: its applicant is purged on the same schedule.
    const back = await readyCase(h, 'PURGE-BACK', [{ type: 'seal', barcode: 'PURGE-BACK-SEAL' }]);
    expect((await h.call('POST', '/api/v1/cases/PURGE-BACK/retrieve')).status).toBe(202);
    await until(() => simDoor(h!, back.compartments[0]!).open, 3000, 'retrieval door open');
    h.sim.model.close(back.compartments[0]!, { occupied: false });
    await until(async () => (await h!.call('GET', '/api/v1/cases/PURGE-BACK')).json.state === 'retrieved', 3000, 'retrieved');
    const queued = () => (db.prepare('SELECT count(*) AS n FROM notify_outbox WHERE case_no = ?').get('PURGE-DONE') as { n: number }).n;
    expect(queued()).toBeGreaterThan(0); // no broker here: the credential messages are still queued

    // The ciphertexts (the applicant, and the queued messages with the phone and code) as they are stored.
    const ciphertexts = [
      (db.prepare('SELECT applicant_enc FROM cases WHERE case_no = ?').get('PURGE-DONE') as { applicant_enc: Buffer }).applicant_enc,
      ...(db.prepare('SELECT payload_enc FROM notify_outbox WHERE case_no = ?').all('PURGE-DONE') as { payload_enc: Buffer }[]).map((r) => r.payload_enc),
    ];
    const purge = h.controller.cabinet.services.purge;
    h.clock.advance(719 * HOUR);
    expect(purge.sweep()).toEqual([]); // a day short of the default 720 hours: kept
    expect((await h.call('GET', '/api/v1/cases/PURGE-DONE')).json.applicant).toMatchObject({ phone: '138****8000' });

    h.clock.advance(2 * HOUR);
    expect(purge.sweep().sort()).toEqual(['PURGE-BACK', 'PURGE-DONE']);
    expect(purge.sweep()).toEqual([]); // once only

    const view = await h.call('GET', '/api/v1/cases/PURGE-DONE');
    expect(view.json.state).toBe('collected');
    expect(view.json.applicant).toEqual(PURGED_APPLICANT);
    expect((await h.call('GET', '/api/v1/cases/PURGE-BACK')).json.applicant).toEqual(PURGED_APPLICANT);
    const row = db.prepare('SELECT applicant_enc, id_suffix_hash, applicant_masked FROM cases WHERE case_no = ?').get('PURGE-DONE') as Record<string, unknown>;
    expect(row).toEqual({ applicant_enc: null, id_suffix_hash: null, applicant_masked: '{"name":"*","phone":"***","idNumber":"***"}' });
    expect(queued()).toBe(0);

    // A case not collected yet keeps its applicant, however old.
    expect((await h.call('GET', '/api/v1/cases/PURGE-WAIT')).json.applicant).toMatchObject({ phone: '138****8000', idNumber: '440106********1235' });
    expect((db.prepare('SELECT applicant_enc FROM cases WHERE case_no = ?').get('PURGE-WAIT') as { applicant_enc: Buffer | null }).applicant_enc).not.toBeNull();

    // Reported and in the audit chain, which still verifies.
    const events = h.controller.cabinet.store.outbox.after(0, 5000).filter((e) => e.type === 'case.purged');
    expect(events.map((e) => e.data)).toEqual(expect.arrayContaining([expect.objectContaining({ caseNo: 'PURGE-DONE', state: 'collected' }), expect.objectContaining({ caseNo: 'PURGE-BACK', state: 'retrieved' })]));
    expect(events).toHaveLength(2);
    const audit = await h.call('GET', '/api/v1/audit?limit=1000');
    expect(audit.json.filter((a: { action: string }) => a.action === 'case.purged').map((a: { data: { caseNo: string } }) => a.data.caseNo).sort()).toEqual(['PURGE-BACK', 'PURGE-DONE']);
    expect((await h.call('GET', '/api/v1/audit/verify')).json.ok).toBe(true);

    // No phone or ID number in the database file or its WAL, and not even the purged ciphertexts (a stolen key
    // file must not bring them back from free pages or old WAL frames).
    expect(readdirSync(h.dataDir)).toContain('govlocker.db-wal');
    expect(personalDataAtRest(h.dataDir)).toEqual([]);
    const files = ['govlocker.db', 'govlocker.db-wal'].map((f) => readFileSync(join(h!.dataDir, f)));
    for (const [i, blob] of ciphertexts.entries()) {
      const probe = blob.subarray(13, 45); // past the version byte and the nonce: the tag and the ciphertext
      expect(files.map((file) => file.indexOf(probe)), `ciphertext ${i}`).toEqual([-1, -1]);
    }
  });
});
