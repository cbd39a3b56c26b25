import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../controller/domain/canonical-json.ts';
import { Keyring } from '../../controller/secrets/keyring.ts';
import { AuditChain, entryHash, GENESIS } from '../../controller/store/audit-chain.ts';
import { CasesRepo } from '../../controller/store/cases-repo.ts';
import { CompartmentsRepo } from '../../controller/store/compartments-repo.ts';
import { openDatabase, schemaVersion } from '../../controller/store/database.ts';
import { migrations } from '../../controller/store/migrations.ts';
import { OpensRepo } from '../../controller/store/opens-repo.ts';
import { UsersRepo } from '../../controller/store/users-repo.ts';

// A cabinet in the field upgrades govlocker on top of the database an older version wrote. For every schema
// version before the current one, a database is made as that version left it (the first N migrations, then
// rows only that version's tables and columns allow) and opened with today's code: every row must survive,
// and the case must read back through the repositories. A database from a newer govlocker is refused.
//
// When a migration is added, the fixture below still writes version-1 columns only; rows for the new tables
// belong in `rowsFor` under `if (version >= N)`.

const root = mkdtempSync(join(tmpdir(), 'govlocker-migrations-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const APPLICANT = { name: '张三', phone: '13800138000', idNumber: '440106199001011235' };
const MASKED = { name: '张*', phone: '138****8000', idNumber: '440106********1235' };
const T = Date.UTC(2026, 0, 5, 9, 0, 0);

/** The first `version` migrations on a fresh file, as that govlocker applied them (WAL, one transaction each). */
function databaseAt(file: string, version: number): Database.Database {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  for (let v = 0; v < version; v++) {
    db.transaction(() => {
      db.exec(migrations[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
  return db;
}

/** Audit entries linked and hashed as the chain defines them. */
function appendAudit(db: Database.Database, entries: { actor: string; action: string; data: Record<string, unknown> }[]): void {
  let prev = GENESIS;
  entries.forEach((e, i) => {
    const seq = i + 1;
    const ts = T + i * 1000;
    const hash = entryHash(prev, { seq, ts: new Date(ts).toISOString(), actor: e.actor, action: e.action, data: e.data });
    db.prepare('INSERT INTO audit (seq, ts, actor, action, data, prev, hash) VALUES (?, ?, ?, ?, ?, ?, ?)').run(seq, ts, e.actor, e.action, canonicalJson(e.data), prev, hash);
    prev = hash;
  });
}

/**
 * What a cabinet at `version` holds after a day's work: case MIG-1 ready in A01 (two items, an active
 * credential, its SMS queued), case MIG-2 collected (a spent credential, the pickup and its open), users,
 * events, audit entries; and the rows of the tables later versions added.
 */
function rowsFor(db: Database.Database, version: number, keyring: Keyring): void {
  const run = (sql: string, ...params: unknown[]) => db.prepare(sql).run(...params);
  run(`INSERT INTO compartments (id, size, lock_channel, door_sensor, door) VALUES ('A01', 'S', 2, 26, 'closed'), ('A02', 'M', 3, 27, 'closed')`);
  run(`INSERT INTO users (name, role, token_hash, created_at) VALUES ('admin', 'admin', ?, ?), ('li', 'clerk', ?, ?)`, 'a'.repeat(64), T, 'b'.repeat(64), T);
  for (const [caseNo, state] of [['MIG-1', 'ready'], ['MIG-2', 'collected']] as const) {
    run(`INSERT INTO cases (case_no, state, enterprise_name, uscc, applicant_enc, applicant_masked, id_suffix_hash, created_at, created_by, ready_at, expires_at, closed_at)
      VALUES (?, ?, '广州市白云某某科技有限公司', '91440101MA5CXY7A25', ?, ?, ?, ?, 'li', ?, ?, ?)`,
    caseNo, state, keyring.encrypt(APPLICANT), JSON.stringify(MASKED), keyring.lookupHash('id-suffix', '011235'), T, T + 60_000, T + 86_400_000, state === 'collected' ? T + 120_000 : null);
  }
  run(`INSERT INTO items (case_no, type, barcode, label, state, compartment_id, loaded_at) VALUES ('MIG-1', 'seal', 'MIG-1-S', '公章', 'loaded', 'A01', ?), ('MIG-1', 'tax-device', 'MIG-1-T', NULL, 'loaded', 'A01', ?)`, T, T);
  run(`INSERT INTO items (case_no, type, barcode, state, compartment_id, loaded_at, closed_at) VALUES ('MIG-2', 'licence-copy', 'MIG-2-L', 'collected', 'A02', ?, ?)`, T, T + 120_000);
  run(`UPDATE compartments SET case_no = 'MIG-1' WHERE id = 'A01'`);
  run(`INSERT INTO credentials (case_no, code_hash, qr_hash, issued_at, expires_at, state) VALUES ('MIG-1', 'c1', 'q1', ?, ?, 'active')`, T + 60_000, T + 86_400_000);
  run(`INSERT INTO credentials (case_no, code_hash, qr_hash, issued_at, expires_at, state, spent_at) VALUES ('MIG-2', 'c2', 'q2', ?, ?, 'spent', ?)`, T + 60_000, T + 86_400_000, T + 100_000);
  run(`INSERT INTO opens (id, compartment_id, purpose, ref, state, pulses, journaled_at, opened_at, closed_at) VALUES
    (1, 'A01', 'load', 'load-group-1', 'closed', 1, ?, ?, ?), (2, 'A02', 'load', 'load-group-2', 'closed', 1, ?, ?, ?), (3, 'A02', 'pickup', 'pickup-1', 'closed', 1, ?, ?, ?)`,
  T, T + 1, T + 5, T, T + 1, T + 5, T + 100_000, T + 100_001, T + 120_000);
  run(`INSERT INTO loads (id, item_id, case_no, compartment_id, open_id, state, actor, created_at, ended_at) VALUES
    ('load-1', 1, 'MIG-1', 'A01', 1, 'committed', 'li', ?, ?), ('load-2', 2, 'MIG-1', 'A01', 1, 'committed', 'li', ?, ?), ('load-3', 3, 'MIG-2', 'A02', 2, 'committed', 'li', ?, ?)`, T, T + 5, T, T + 5, T, T + 5);
  run(`INSERT INTO pickups (id, case_no, credential_id, method, state, started_at, ended_at) VALUES ('pickup-1', 'MIG-2', 2, 'code', 'completed', ?, ?)`, T + 100_000, T + 120_000);
  run(`INSERT INTO notify_outbox (case_no, payload_enc, created_at) VALUES ('MIG-1', ?, ?)`, keyring.encrypt({ caseNo: 'MIG-1', phone: APPLICANT.phone, code: '12345678' }), T + 60_000);
  for (const [type, caseNo, sent] of [['case.created', 'MIG-1', T], ['case.ready', 'MIG-1', T], ['pickup.completed', 'MIG-2', null]] as const) {
    run(`INSERT INTO events (id, boot_id, ts, type, data, sent_at) VALUES (?, 'boot-1', ?, ?, ?, ?)`, `${type}-${caseNo}`, T, type, JSON.stringify({ caseNo }), sent);
  }
  run(`UPDATE pickup_guard SET consecutive_failures = 2, day = '2026-01-05', day_failures = 2`);
  run(`INSERT INTO meta (key, value) VALUES ('storage.note', 'x')`);
  appendAudit(db, [
    { actor: 'cli', action: 'user.added', data: { name: 'li', role: 'clerk' } },
    { actor: 'li', action: 'case.created', data: { caseNo: 'MIG-1', items: 2, applicant: MASKED } },
    { actor: 'li', action: 'case.created', data: { caseNo: 'MIG-2', items: 1, applicant: MASKED } },
    { actor: 'cabinet', action: 'credential.issued', data: { caseNo: 'MIG-1', expiresAt: new Date(T + 86_400_000).toISOString() } },
    { actor: 'cabinet', action: 'pickup.completed', data: { caseNo: 'MIG-2' } },
  ]);
  if (version >= 2) run(`INSERT INTO commands (request_id, name, received_at, reply) VALUES ('req-1', 'status', ?, '{"ok":true}')`, T);
  if (version >= 3) run(`INSERT INTO alarms (kind, compartment, raised_at, data) VALUES ('door-forced', 'A02', ?, '{}')`, T);
  if (version >= 4) run(`INSERT INTO ratings (case_no, level, reasons, channel, submitted_at) VALUES ('MIG-2', 5, '[]', 'kiosk', ?)`, T + 130_000);
  if (version >= 5) {
    run(`UPDATE compartments SET hold = 'item-left', hold_case = 'MIG-2', hold_since = ? WHERE id = 'A02'`, T + 120_000);
    run(`UPDATE opens SET item_at_close = 1 WHERE id = 3`);
  }
}

function rowCounts(db: Database.Database): Record<string, number> {
  const tables = (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`).all() as { name: string }[]).map((r) => r.name);
  return Object.fromEntries(tables.map((t) => [t, (db.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n]));
}

const earlier = Array.from({ length: migrations.length - 1 }, (_, i) => i + 1);

describe('a database written by an earlier govlocker', () => {
  it.each(earlier)('of schema version %i opens with every row, the cases readable and the audit chain intact', (version) => {
    const dir = join(root, `v${version}`);
    const keyring = Keyring.openOrCreate(dir);
    const file = join(dir, 'govlocker.db');
    const old = databaseAt(file, version);
    rowsFor(old, version, keyring);
    const before = rowCounts(old);
    const chainBefore = new AuditChain(old).verify();
    old.close();
    expect(chainBefore).toMatchObject({ ok: true, entries: 5 });

    const db = openDatabase(file);
    try {
      expect(schemaVersion(db)).toBe(migrations.length);
      expect((db.pragma('integrity_check') as { integrity_check: string }[])[0]!.integrity_check).toBe('ok');
      // Every table the old version had keeps every row (the new tables start empty).
      const after = rowCounts(db);
      for (const [table, n] of Object.entries(before)) expect(after[table], table).toBe(n);

      const cases = new CasesRepo(db);
      const ready = cases.get('MIG-1')!;
      expect(ready).toMatchObject({ state: 'ready', enterpriseName: '广州市白云某某科技有限公司', applicant: MASKED, expiresAt: T + 86_400_000 });
      expect(keyring.decrypt(ready.applicantEnc!)).toEqual(APPLICANT);
      expect(cases.items('MIG-1').map((i) => [i.barcode, i.state, i.compartmentId])).toEqual([['MIG-1-S', 'loaded', 'A01'], ['MIG-1-T', 'loaded', 'A01']]);
      expect(cases.activeCredentialOf('MIG-1')).toMatchObject({ caseNo: 'MIG-1', state: 'active' });
      expect(cases.liveItemByBarcode('MIG-1-T')?.caseNo).toBe('MIG-1');
      expect(cases.get('MIG-2')).toMatchObject({ state: 'collected', closedAt: T + 120_000 });
      expect(new CompartmentsRepo(db).get('A01')).toMatchObject({ caseNo: 'MIG-1', loadedItems: 2 });
      expect(new CompartmentsRepo(db).get('A02')).toMatchObject({ caseNo: null, hold: version >= 5 ? 'item-left' : null });
      // Version 5 added what the item sensor saw at the close; older opens read as "no sensor".
      expect(new OpensRepo(db).get(3)).toMatchObject({ purpose: 'pickup', state: 'closed', itemAtClose: version >= 5 ? true : null });
      expect(new UsersRepo(db).list().map((u) => `${u.name}:${u.role}`)).toEqual(['admin:admin', 'li:clerk']);
      expect(new AuditChain(db).verify()).toEqual(chainBefore);
    } finally {
      db.close();
    }
  });
});

describe('a database written by a newer govlocker', () => {
  it('is refused by its schema version and left as it was', () => {
    const dir = join(root, 'newer');
    const file = join(dir, 'govlocker.db');
    const keyring = Keyring.openOrCreate(dir);
    const newer = databaseAt(file, migrations.length);
    rowsFor(newer, migrations.length, keyring);
    newer.pragma(`user_version = ${migrations.length + 1}`);
    newer.close();
    const sha = () => createHash('sha256').update(readFileSync(file)).digest('hex');
    const before = sha();

    expect(() => openDatabase(file)).toThrow(`the database is schema version ${migrations.length + 1}, newer than this govlocker (${migrations.length}): upgrade govlocker or restore a matching backup`);

    expect(sha()).toBe(before);
    const check = new Database(file, { readonly: true });
    try {
      expect(check.pragma('user_version', { simple: true })).toBe(migrations.length + 1);
      expect(rowCounts(check).cases).toBe(2);
    } finally {
      check.close();
    }
  });
});

describe('an upgrade that would leave a reference dangling', () => {
  it('is rolled back whole and says why: the database stays at its version with every row', () => {
    const dir = join(root, 'dangling');
    const file = join(dir, 'govlocker.db');
    const keyring = Keyring.openOrCreate(dir);
    const last = migrations.length - 1;
    const old = databaseAt(file, last);
    rowsFor(old, last, keyring);
    // An item whose case is gone (a hand-edited or damaged file): the table rebuild of the last migration must
    // not carry it over silently.
    old.pragma('foreign_keys = OFF');
    old.prepare(`INSERT INTO items (case_no, type, barcode, state) VALUES ('NO-SUCH-CASE', 'seal', 'ORPHAN-1', 'expected')`).run();
    const before = rowCounts(old);
    old.close();

    expect(() => openDatabase(file)).toThrow(new RegExp(`schema upgrade to version ${migrations.length} would leave 1 reference\\(s\\) dangling \\(first: items → cases\\): nothing was changed`));

    const check = new Database(file, { readonly: true });
    try {
      expect(check.pragma('user_version', { simple: true })).toBe(last);
      expect(rowCounts(check)).toEqual(before);
    } finally {
      check.close();
    }
  });
});
