import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keyring } from '../../controller/secrets/keyring.ts';
import { migrations } from '../../controller/store/migrations.ts';
import { restoreDataDir } from '../../bin/restore.ts';
import { seedCollectedCases, SEEDED_APPLICANT } from '../support/cabinet-history.ts';
import { caseBody, until } from '../support/cabinet-harness.ts';
import { call, killAllChildren, runGovlocker, startCabinet, type StartedCabinet } from '../support/govlocker-process.ts';

// `govlocker backup` and `govlocker restore` run as an operator runs them: real processes, a real cabinet
// (`govlocker start`) taking cases and loads through its API while the backup copies its data dir. What was
// acknowledged before the backup started must come back whole from the restore; every bad restore (a
// non-empty or live dir, a truncated or altered file, another cabinet's backup, a wrong passphrase) is refused
// by name and changes nothing.

const CABINET = 'BY-HALL-07';
/** Stand-ins for the HTTPS pair: a backup carries the files as they are, it does not read them. */
const TLS_CERT = '-----BEGIN CERTIFICATE-----\nMIIBstand-in-for-the-cabinet-certificate\n-----END CERTIFICATE-----\n';
const TLS_KEY = '-----BEGIN PRIVATE KEY-----\nMIGHstand-in-for-its-private-key\n-----END PRIVATE KEY-----\n';
const ADMIN = 'backup-test-admin-token-0123456789';
const HISTORY = 1000;
const { phone: PHONE, idNumber: ID_NUMBER, name: NAME } = SEEDED_APPLICANT;

const root = mkdtempSync(join(tmpdir(), 'govlocker-backup-'));
const env = { GOVLOCKER_CABINET_ID: CABINET };
let seq = 0;
/** A fresh path under the test's own directory (not created). */
const path = (what: string) => join(root, `${what}-${++seq}`);

/** Every entry of `dir` with its content's hash (directories as "dir"): to show a refusal changed nothing. */
function listing(dir: string): Record<string, string> {
  if (!existsSync(dir)) return {};
  return Object.fromEntries(readdirSync(dir).sort().map((name) => {
    const p = join(dir, name);
    return [name, statSync(p).isDirectory() ? 'dir' : createHash('sha256').update(readFileSync(p)).digest('hex')];
  }));
}

/** The test applicant's personal data, looked for in raw bytes (UTF-8 for the name). */
function personalDataIn(bytes: Buffer): string[] {
  return [PHONE, ID_NUMBER, NAME].filter((value) => bytes.includes(Buffer.from(value, 'utf8')));
}

let dataDir: string;
let cabinet: StartedCabinet;
/** Cases (and loaded items) acknowledged by the API before `govlocker backup` was started. */
const before = { cases: [] as string[], loaded: [] as string[] };
/** Acknowledged while the backup process ran: there may or may not be in it. */
let duringBackup = 0;
let backupFile: string;
let backupRun: Awaited<ReturnType<typeof runGovlocker>>;

async function createCase(caseNo: string): Promise<void> {
  const r = await call(`${cabinet.banner.api}/cases`, { token: ADMIN, body: caseBody(caseNo, [{ type: 'seal', barcode: `${caseNo}-S`, label: '公章' }]) });
  if (r.status !== 201) throw new Error(`case ${caseNo}: ${r.status} ${r.text}`);
}

/** Loads the case's seal: the door opens, the clerk closes it on the item, the load commits. */
async function loadSeal(caseNo: string): Promise<void> {
  const { api, simulator } = cabinet.banner;
  const load = await call(`${api}/loads`, { token: ADMIN, body: { barcode: `${caseNo}-S` } });
  if (load.status !== 202) throw new Error(`load ${caseNo}: ${load.status} ${load.text}`);
  const compartment: string = load.json.compartment;
  await until(async () => (await call(`${simulator}/sim/state`)).json.doors[compartment].open, 5000, `door ${compartment} open`);
  await call(`${simulator}/sim/doors/${compartment}/close`, { body: { occupied: true } });
  await until(async () => (await call(`${api}/loads/${load.json.loadId}`, { token: ADMIN })).json.state === 'committed', 5000, `load of ${caseNo} committed`);
}

beforeAll(async () => {
  dataDir = path('live');
  mkdirSync(dataDir, { mode: 0o700 });
  // A cabinet with a history (1,000 collected cases), so the copy has pages to copy while the cabinet writes.
  seedCollectedCases(dataDir, { cases: HISTORY, prefix: 'HIST' });
  // What `govlocker tls self-signed` leaves in the data dir travels with the backup too.
  mkdirSync(join(dataDir, 'tls'), { mode: 0o700 });
  writeFileSync(join(dataDir, 'tls', 'cert.pem'), TLS_CERT, { mode: 0o644 });
  writeFileSync(join(dataDir, 'tls', 'key.pem'), TLS_KEY, { mode: 0o600 });
  cabinet = await startCabinet({ ...env, GOVLOCKER_DATA_DIR: dataDir, GOVLOCKER_ADMIN_TOKEN: ADMIN });
  for (let i = 1; i <= 6; i++) {
    await createCase(`PRE-${i}`);
    before.cases.push(`PRE-${i}`);
  }
  for (const caseNo of ['PRE-1', 'PRE-2', 'PRE-3']) {
    await loadSeal(caseNo);
    before.loaded.push(caseNo);
  }

  // Load traffic: new cases (and now and then a load) one after another until the backup has ended.
  let running = true;
  let backupStarted = 0;
  let backupEnded = 0;
  const traffic = (async () => {
    for (let i = 1; running; i++) {
      const caseNo = `LIVE-${i}`;
      await createCase(caseNo);
      const ackedAt = Date.now();
      if (!backupStarted) before.cases.push(caseNo);
      else if (!backupEnded || ackedAt < backupEnded) duringBackup++;
      if (i % 5 === 0 && i <= 40) await loadSeal(caseNo);
    }
  })();
  await until(() => before.cases.length >= 12, 10_000, 'traffic under way');
  backupFile = path('daily.glbak');
  backupStarted = Date.now();
  backupRun = await runGovlocker(['backup', '--data', dataDir, '--to', backupFile], env, 30_000);
  backupEnded = Date.now();
  // A little more traffic after the backup, then stop.
  await new Promise((r) => setTimeout(r, 300));
  running = false;
  await traffic;
}, 90_000);

afterAll(async () => {
  killAllChildren();
  rmSync(root, { recursive: true, force: true });
});

describe('govlocker backup while the cabinet takes cases and loads', () => {
  it('writes one file, mode 0600, and says what it holds without a key or anything personal', () => {
    expect(backupRun.code, backupRun.stderr).toBe(0);
    expect(duringBackup, 'cases acknowledged while the backup ran').toBeGreaterThan(0);
    expect(statSync(backupFile).mode & 0o777).toBe(0o600);
    expect(backupRun.stdout).toContain(`wrote ${backupFile} (mode 0600)`);
    expect(backupRun.stdout).toMatch(new RegExp(`cabinet\\s+${CABINET}\\n`));
    expect(backupRun.stdout).toMatch(new RegExp(`schema version\\s+${migrations.length}\\n`));
    const cases = Number(/cases\s+([\d,]+)\n/.exec(backupRun.stdout)?.[1]?.replace(/,/g, ''));
    expect(cases).toBeGreaterThanOrEqual(HISTORY + before.cases.length);
    expect(cases).toBeLessThanOrEqual(HISTORY + before.cases.length + duringBackup);
    expect(backupRun.stdout).toMatch(/size\s+\d+\.\d (KiB|MiB)\n/);
    expect(backupRun.stdout).toMatch(/files\s+govlocker\.db, govlocker\.key, command\.key, mqtt-accounts\.json, tls\/cert\.pem, tls\/key\.pem\n/);
    // Nothing beside it: the work directory is gone.
    expect(readdirSync(root).filter((n) => n.startsWith('.'))).toEqual([]);

    const secrets = [
      ...Object.values(JSON.parse(readFileSync(join(dataDir, 'govlocker.key'), 'utf8')) as Record<string, unknown>).filter((v): v is string => typeof v === 'string' && v.length > 20),
      readFileSync(join(dataDir, 'command.key'), 'utf8').trim(),
      ...Object.values((JSON.parse(readFileSync(join(dataDir, 'mqtt-accounts.json'), 'utf8')) as { accounts: Record<string, string> }).accounts),
      ADMIN,
    ];
    expect(secrets.length).toBeGreaterThanOrEqual(6);
    for (const secret of secrets) expect(backupRun.stdout + backupRun.stderr).not.toContain(secret);
    expect(personalDataIn(Buffer.from(backupRun.stdout + backupRun.stderr))).toEqual([]);
  });

  it('holds no phone, ID number or name in clear: the database inside keeps them encrypted', () => {
    const bytes = readFileSync(backupFile);
    // The case data is there (masked), so the scan reads the bytes that matter.
    expect(bytes.includes(Buffer.from('PRE-1'))).toBe(true);
    expect(bytes.includes(Buffer.from('138****8000'))).toBe(true);
    expect(personalDataIn(bytes)).toEqual([]);
  });

  it('refuses to replace an existing file, and replaces it with --force', async () => {
    const was = listing(root)[backupFile.slice(root.length + 1)];
    const again = await runGovlocker(['backup', '--data', dataDir, '--to', backupFile], env);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`${backupFile} exists: choose another name, or pass --force to replace it`);
    expect(listing(root)[backupFile.slice(root.length + 1)]).toBe(was);

    const copy = path('forced.glbak');
    cpSync(backupFile, copy);
    const forced = await runGovlocker(['backup', '--data', dataDir, '--to', copy, '--force'], env);
    expect(forced.code, forced.stderr).toBe(0);
    expect(createHash('sha256').update(readFileSync(copy)).digest('hex')).not.toBe(was);
    expect(statSync(copy).mode & 0o777).toBe(0o600);
  });

  it('refuses a directory without a database, naming it', async () => {
    const empty = path('no-cabinet');
    mkdirSync(empty);
    const r = await runGovlocker(['backup', '--data', empty, '--to', path('nothing.glbak')], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`no database at ${join(empty, 'govlocker.db')}`);
  });
});

describe('govlocker restore of that backup into a fresh directory', () => {
  let restored: string;
  let restoreRun: Awaited<ReturnType<typeof runGovlocker>>;

  beforeAll(async () => {
    restored = path('restored');
    restoreRun = await runGovlocker(['restore', '--from', backupFile, '--data', restored, '--expect-cabinet', CABINET], {}, 30_000);
  });

  it('says which cabinet it restored; the directory is 0700 and its files 0600', () => {
    expect(restoreRun.code, restoreRun.stderr).toBe(0);
    expect(restoreRun.stdout).toContain(`restored the data of cabinet ${CABINET} into ${restored}`);
    expect(restoreRun.stdout).toMatch(/audit chain\s+intact, [\d,]+ entries/);
    expect(statSync(restored).mode & 0o777).toBe(0o700);
    expect(readdirSync(restored).sort()).toEqual(['command.key', 'govlocker.db', 'govlocker.key', 'mqtt-accounts.json', 'tls']);
    for (const name of readdirSync(restored)) expect(statSync(join(restored, name)).mode & 0o777, name).toBe(name === 'tls' ? 0o700 : 0o600);
    expect(readFileSync(join(restored, 'tls', 'cert.pem'), 'utf8')).toBe(TLS_CERT);
    expect(readFileSync(join(restored, 'tls', 'key.pem'), 'utf8')).toBe(TLS_KEY);
    expect(statSync(join(restored, 'tls', 'key.pem')).mode & 0o777).toBe(0o600);
    expect(personalDataIn(Buffer.from(restoreRun.stdout + restoreRun.stderr))).toEqual([]);
  });

  it('passes govlocker audit verify', async () => {
    const verify = await runGovlocker(['audit', 'verify', '--data', restored]);
    expect(verify.code, verify.stderr).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true });
    expect(JSON.parse(verify.stdout).entries).toBeGreaterThan(HISTORY * 4);
  });

  it('holds every case and load acknowledged before the backup, whole', () => {
    const db = new Database(join(restored, 'govlocker.db'), { readonly: true, fileMustExist: true });
    try {
      const state = db.prepare('SELECT state FROM cases WHERE case_no = ?');
      for (const caseNo of before.cases) expect(state.get(caseNo), caseNo).toBeDefined();
      const item = db.prepare(`SELECT state, compartment_id FROM items WHERE barcode = ?`);
      for (const caseNo of before.loaded) expect(item.get(`${caseNo}-S`), caseNo).toMatchObject({ state: 'loaded', compartment_id: expect.stringMatching(/^[A-C]0\d$/) });
      expect((db.prepare(`SELECT count(*) AS n FROM cases WHERE case_no LIKE 'HIST%'`).get() as { n: number }).n).toBe(HISTORY);
      // One consistent moment: every case there has its audit entry and its event, and the outbox has no gap.
      const cases = (db.prepare(`SELECT case_no FROM cases WHERE case_no NOT LIKE 'HIST%'`).all() as { case_no: string }[]).map((r) => r.case_no);
      const audited = new Set((db.prepare(`SELECT json_extract(data, '$.caseNo') AS c FROM audit WHERE action = 'case.created'`).all() as { c: string }[]).map((r) => r.c));
      const announced = new Set((db.prepare(`SELECT json_extract(data, '$.caseNo') AS c FROM events WHERE type = 'case.created'`).all() as { c: string }[]).map((r) => r.c));
      for (const caseNo of cases) {
        expect(audited.has(caseNo), `${caseNo} audited`).toBe(true);
        expect(announced.has(caseNo), `${caseNo} announced`).toBe(true);
      }
      const events = db.prepare('SELECT count(*) AS n, max(seq) AS top FROM events').get() as { n: number; top: number };
      expect(events.n).toBe(events.top);
    } finally {
      db.close();
    }
  });

  it('starts as a cabinet that serves those cases', async () => {
    const again = await startCabinet({ ...env, GOVLOCKER_DATA_DIR: restored });
    try {
      const c = await call(`${again.banner.api}/cases/PRE-1`, { token: ADMIN });
      expect(c.status, c.text).toBe(200);
      expect(c.json).toMatchObject({ caseNo: 'PRE-1', state: 'ready', applicant: { phone: '138****8000' } });
      expect(c.json.items[0]).toMatchObject({ barcode: 'PRE-1-S', state: 'loaded' });
    } finally {
      expect((await again.interrupt(5000)).code).toBe(0);
    }
  });
});

describe('govlocker restore refuses, by name, and changes nothing', () => {
  /**
   * Runs a restore expected to be refused: exit 2, the message, and the target and its parent as they were (for
   * the running cabinet's data dir, which changes by itself, its file names).
   */
  async function refused(args: string[], target: string, message: RegExp | string) {
    const names = (dir: string) => Object.keys(listing(dir));
    const compare = target === dataDir ? names : listing;
    const parentBefore = listing(root);
    const targetBefore = compare(target);
    const r = await runGovlocker(['restore', ...args, '--data', target], {}, 30_000);
    expect(r.code, r.stdout + r.stderr).toBe(2);
    if (typeof message === 'string') expect(r.stderr).toContain(message);
    else expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
    expect(listing(root)).toEqual(parentBefore);
    expect(compare(target)).toEqual(targetBefore);
    return r;
  }

  const altered = (what: string, change: (bytes: Buffer) => Buffer) => {
    const file = path(what);
    writeFileSync(file, change(readFileSync(backupFile)), { mode: 0o600 });
    return file;
  };

  it('a directory that is not empty', async () => {
    const target = path('occupied');
    mkdirSync(target);
    writeFileSync(join(target, 'notes.txt'), 'the hall keeps its notes here\n');
    await refused(['--from', backupFile], target, `${target} is not empty`);
  });

  it('the data dir of the running cabinet', async () => {
    await refused(['--from', backupFile], dataDir, /is not empty \(it holds a cabinet's database: stop that cabinet/);
  });

  it('a truncated file', async () => {
    const file = altered('truncated.glbak', (b) => b.subarray(0, Math.floor(b.length / 2)));
    await refused(['--from', file], path('fresh'), /is truncated: it ends after \d+ of the \d+ bytes its header announces/);
    const cut = altered('cut-in-header.glbak', (b) => b.subarray(0, 40));
    await refused(['--from', cut], path('fresh'), 'is truncated: it ends inside its header');
  });

  it('a file with one byte changed, in its body or in its header', async () => {
    const body = altered('flipped.glbak', (b) => {
      const c = Buffer.from(b);
      c[Math.floor(c.length * 0.6)]! ^= 0x10;
      return c;
    });
    await refused(['--from', body], path('fresh'), 'is damaged: its SHA-256 checksum does not match its content');
    const header = altered('flipped-header.glbak', (b) => {
      const text = b.toString('latin1');
      return Buffer.from(text.replace(/"createdAt":"(\d{4})/, (_, y: string) => `"createdAt":"${Number(y) - 1}`), 'latin1');
    });
    await refused(['--from', header], path('fresh'), 'is damaged: its SHA-256 checksum does not match its content');
  });

  it('a file of another format or format version, or not a backup at all', async () => {
    const v2 = altered('v2.glbak', (b) => Buffer.from(b.toString('latin1').replace('"version":1', '"version":2'), 'latin1'));
    await refused(['--from', v2], path('fresh'), /is backup format version 2; this govlocker reads version 1/);
    await refused(['--from', join(dataDir, 'govlocker.key')], path('fresh'), 'is not a govlocker backup');
  });

  it('a backup of another cabinet when --expect-cabinet names this one', async () => {
    await refused(['--from', backupFile, '--expect-cabinet', 'BY-HALL-99'], path('fresh'), `is a backup of cabinet ${CABINET}, not BY-HALL-99: nothing was restored`);
  });

  /** A copy of the backed-up data dir changed by `change`, backed up in turn (the backup takes it as it is). */
  async function backupOf(what: string, change: (dir: string) => void): Promise<string> {
    const dir = path(`${what}-data`);
    restoreDataDir({ from: backupFile, dataDir: dir });
    change(dir);
    const file = path(`${what}.glbak`);
    const made = await runGovlocker(['backup', '--data', dir, '--to', file], env, 30_000);
    expect(made.code, made.stderr).toBe(0);
    return file;
  }

  it('a database newer than this govlocker', async () => {
    const file = await backupOf('newer', (dir) => {
      const db = new Database(join(dir, 'govlocker.db'));
      db.pragma(`user_version = ${migrations.length + 1}`);
      db.close();
    });
    await refused(['--from', file], path('fresh'), `the backup's database is schema version ${migrations.length + 1}, newer than this govlocker (${migrations.length})`);
  });

  it('a database whose audit chain was altered', async () => {
    let seqAltered = 0;
    const file = await backupOf('tampered', (dir) => {
      const db = new Database(join(dir, 'govlocker.db'));
      const row = db.prepare(`SELECT seq, data FROM audit WHERE action = 'case.created' AND data LIKE '%PRE-2%'`).get() as { seq: number; data: string };
      db.prepare('UPDATE audit SET data = ? WHERE seq = ?').run(row.data.replace('"items":1', '"items":2'), row.seq);
      db.close();
      seqAltered = row.seq;
    });
    await refused(['--from', file], path('fresh'), `is broken at entry ${seqAltered} (entry ${seqAltered} was altered`);
  });

  it('a key file that does not belong to the database', async () => {
    const file = await backupOf('other-key', (dir) => {
      const other = path('other-key');
      Keyring.openOrCreate(other);
      cpSync(join(other, 'govlocker.key'), join(dir, 'govlocker.key'));
    });
    await refused(['--from', file], path('fresh'), /govlocker\.key in .* does not open the applicant data of case \S+: the key and the database do not belong together/);
  });
});

describe('an encrypted backup (--passphrase-file)', () => {
  let sealed: string;
  const passphrase = path('passphrase');
  const wrong = path('wrong-passphrase');

  beforeAll(async () => {
    writeFileSync(passphrase, 'a long passphrase for the hall\n', { mode: 0o600 });
    writeFileSync(wrong, 'another long passphrase\n', { mode: 0o600 });
    sealed = path('sealed.glbak');
    const r = await runGovlocker(['backup', '--data', dataDir, '--to', sealed, '--passphrase-file', passphrase], env, 30_000);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('AES-256-GCM');
  });

  it('shows neither the database nor the keys', () => {
    const bytes = readFileSync(sealed);
    expect(statSync(sealed).mode & 0o777).toBe(0o600);
    expect(bytes.includes(Buffer.from('SQLite format 3'))).toBe(false);
    expect(bytes.includes(Buffer.from('PRE-1'))).toBe(false);
    expect(bytes.includes(Buffer.from(readFileSync(join(dataDir, 'command.key'), 'utf8').trim()))).toBe(false);
    // Its header still says what it is.
    expect(bytes.subarray(0, 400).toString('latin1')).toContain(`"cabinetId":"${CABINET}"`);
  });

  it('is refused without its passphrase or with a wrong one, and restored with the right one', async () => {
    const target = path('sealed-restored');
    const without = await runGovlocker(['restore', '--from', sealed, '--data', target]);
    expect(without.code).toBe(2);
    expect(without.stderr).toContain('is encrypted: pass --passphrase-file FILE');
    const bad = await runGovlocker(['restore', '--from', sealed, '--data', target, '--passphrase-file', wrong]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('the passphrase does not open');
    expect(existsSync(target)).toBe(false);
    expect(readdirSync(root).filter((n) => n.startsWith('.'))).toEqual([]);

    const good = await runGovlocker(['restore', '--from', sealed, '--data', target, '--passphrase-file', passphrase], {}, 30_000);
    expect(good.code, good.stderr).toBe(0);
    expect(good.stdout).toContain(`cabinet ${CABINET}`);
    const verify = await runGovlocker(['audit', 'verify', '--data', target]);
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true });
  });

  it('refuses a passphrase shorter than 12 characters', async () => {
    const short = path('short');
    writeFileSync(short, 'hall\n', { mode: 0o600 });
    const r = await runGovlocker(['backup', '--data', dataDir, '--to', path('short.glbak'), '--passphrase-file', short], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('shorter than 12 characters');
  });
});
