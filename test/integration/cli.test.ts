import Database from 'better-sqlite3';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caseBody, ID_SUFFIX, until } from '../support/cabinet-harness.ts';
import { call, freePorts, killAllChildren, printedAdminToken, runGovlocker, spawnGovlocker, startCabinet, type Exit, type StartedCabinet } from '../support/govlocker-process.ts';

// The `govlocker` command run as a user runs it: real child processes, real ports (all picked freely and read
// back from the banner), a real data directory. One cabinet (`first`) is followed from its first start to its
// restart, so the tests of its describe block run in order and build on each other.

const dirs: string[] = [];
const tempDir = (what: string) => {
  const dir = mkdtempSync(join(tmpdir(), `govlocker-cli-${what}-`));
  dirs.push(dir);
  return dir;
};

const CHOSEN_ADMIN_TOKEN = 'chosen-admin-token-for-the-cli-test';
const PHONE = '13800138000';
const ID_NUMBER = '440106199001011235';

/** A port nothing listens on right now (for the refused config: nothing may listen there afterwards either). */
async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

const listening = (port: number) => new Promise<boolean>((resolve) => {
  const socket = connect(port, '127.0.0.1');
  socket.once('connect', () => { socket.destroy(); resolve(true); });
  socket.once('error', () => resolve(false));
});

let firstDir: string;
let first: StartedCabinet;
let chosen: StartedCabinet;
let refused: Promise<Exit & { stdout: string; stderr: string; port: number; dataDir: string }>;

beforeAll(async () => {
  firstDir = tempDir('first');
  const chosenDir = tempDir('chosen');
  // The refused config runs alongside the two starts; its test awaits it.
  refused = (async () => {
    const dataDir = tempDir('refused');
    const port = await unusedPort();
    const file = join(dataDir, 'cabinet.json');
    writeFileSync(file, JSON.stringify({
      cabinetId: 'BY-HALL-03',
      hardware: { driver: 'firmata', pulseMs: 5000 },
      compartments: [
        { id: 'A01', size: 'XL', lockChannel: 2, doorSensor: 26 },
        { id: 'A02', size: 'S', lockChannel: 2, doorSensor: 27 },
      ],
      policy: { lockoutAfterFailures: 2 },
    }));
    const r = await runGovlocker(['controller', '--config', file], { ...freePorts, GOVLOCKER_API_PORT: String(port), GOVLOCKER_DATA_DIR: dataDir });
    return { ...r, port, dataDir };
  })();
  // The followed cabinet logs at debug (the most the product says), so "nothing personal in the output" covers
  // every log line, not just warnings.
  [first, chosen] = await Promise.all([
    startCabinet({ GOVLOCKER_DATA_DIR: firstDir, GOVLOCKER_LOG_LEVEL: 'debug' }),
    startCabinet({ GOVLOCKER_DATA_DIR: chosenDir, GOVLOCKER_ADMIN_TOKEN: CHOSEN_ADMIN_TOKEN }),
  ]);
});

afterAll(async () => {
  killAllChildren();
  await refused?.catch(() => undefined);
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

// Personal data, as the contract defines it: a mainland mobile number or an 18-character ID number. A match
// must be a whole token (no letter or digit either side): hex hashes, UUIDs and millisecond timestamps are
// runs of other lengths and never match, while a plaintext phone or ID number stored anywhere does. The
// exact values of the test case are looked for as well, with no boundary at all.
const PERSONAL = [/(?<![0-9A-Za-z])1[3-9]\d{9}(?![0-9A-Za-z])/g, /(?<![0-9A-Za-z])\d{17}[\dX](?![0-9A-Za-z])/g];
function personalDataIn(text: string): string[] {
  const found = PERSONAL.flatMap((re) => [...text.matchAll(re)].map((m) => m[0]));
  for (const exact of [PHONE, ID_NUMBER, '13912345678', '110101199003074477']) if (text.includes(exact)) found.push(exact);
  return found;
}

/** Every file of the data dir (the database, its -wal and -shm, the keys, the camera's stills), read as latin1. */
function personalDataAtRest(dir: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    out[relative(dir, path)] = personalDataIn(readFileSync(path).toString('latin1'));
  }
  return out;
}

describe('one cabinet from its first start to its restart (govlocker start)', () => {
  let adminToken: string;
  let clerkToken: string;
  let code: string;

  it('prints every URL and port it serves, answers health, and prints a one-time admin token that works', async () => {
    const b = first.banner;
    const api = new URL(b.api);
    expect(api.port).not.toBe('0');
    expect(b.kiosk).toBe(`${api.origin}/kiosk`);
    expect(b.clerk).toBe(`${api.origin}/clerk`);
    expect(b.metrics).toBe(`${api.origin}/metrics`);
    expect(new Set([Number(api.port), Number(new URL(b.simulator).port), b.firmataPort, b.scannerPort]).size).toBe(4);
    expect(b.firmataPort).toBeGreaterThan(0);
    expect(b.scannerPort).toBeGreaterThan(0);

    // Without MQTT_URL the cabinet runs its embedded broker and connects to it.
    expect(first.stdout()).toMatch(/MQTT\s+mqtt:\/\/127\.0\.0\.1:\d+ \(embedded broker/);
    let health = await call(`${b.api}/health`);
    for (let i = 0; i < 100 && health.json?.mqtt !== 'connected'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      health = await call(`${b.api}/health`);
    }
    expect(health.status).toBe(200);
    expect(health.json).toMatchObject({ status: 'ok', hardware: 'ok', mqtt: 'connected', outbox: expect.any(Number) });
    const [kiosk, clerk, metrics, sim] = await Promise.all([call(b.kiosk), call(b.clerk), call(b.metrics), call(`${b.simulator}/sim/state`)]);
    expect(kiosk.status).toBe(200);
    expect(kiosk.text).toMatch(/<html/i);
    expect(clerk.status).toBe(200);
    expect(metrics.status).toBe(200);
    expect(sim.json).toMatchObject({ board: 'connected' });
    expect(Object.keys(sim.json.doors)).toHaveLength(24);

    adminToken = printedAdminToken(first.stdout())!;
    expect(adminToken, first.output()).toMatch(/^\S{20,}$/);
    const compartments = await call(`${b.api}/compartments`, { token: adminToken });
    expect(compartments.status).toBe(200);
    expect(compartments.json).toHaveLength(24);
    expect((await call(`${b.api}/audit/verify`, { token: adminToken })).json).toMatchObject({ ok: true });
    expect((await call(`${b.api}/compartments`, { token: 'not-the-token' })).status).toBe(401);
  });

  it('users add prints a clerk token once; the clerk may list compartments but not disable one; bad roles and taken names are refused', async () => {
    const added = await runGovlocker(['users', 'add', '--name', 'li', '--role', 'clerk', '--data', firstDir]);
    expect(added.code, added.stderr).toBe(0);
    const tokens = added.stdout.match(/glk_\S+/g) ?? [];
    expect(tokens).toHaveLength(1);
    clerkToken = tokens[0]!;

    const [badRole, taken, list, allowed, forbidden] = await Promise.all([
      runGovlocker(['users', 'add', '--name', 'wang', '--role', 'boss', '--data', firstDir]),
      runGovlocker(['users', 'add', '--name', 'li', '--role', 'ops', '--data', firstDir]),
      runGovlocker(['users', 'list', '--data', firstDir]),
      call(`${first.banner.api}/compartments`, { token: clerkToken }),
      call(`${first.banner.api}/compartments/A01/disable`, { token: clerkToken, body: { reason: 'clerk tries' } }),
    ]);
    expect(allowed.status).toBe(200);
    expect(forbidden.status).toBe(403);
    expect(forbidden.json.error).toMatch(/clerk/);
    expect(badRole.code).not.toBe(0);
    expect(badRole.stderr).toMatch(/--role/);
    for (const role of ['clerk', 'ops', 'admin']) expect(badRole.stderr).toContain(role);
    expect(badRole.stdout).not.toMatch(/glk_/);
    expect(taken.code).not.toBe(0);
    expect(taken.stderr).toMatch(/li.*exists/);
    expect(taken.stdout).not.toMatch(/glk_/);
    // Only the first li (a clerk) and the seeded admin exist; neither refusal added anyone.
    expect(list.stdout.trim().split('\n').map((l) => l.split('\t').slice(0, 2).join(' '))).toEqual(['admin admin', 'li clerk']);
  });

  it('keeps no phone or ID number in the database, its WAL or the output while running', async () => {
    const api = first.banner.api;
    const created = await call(`${api}/cases`, { token: clerkToken, body: caseBody('CLI-CASE-1', [{ type: 'seal', barcode: 'CLI-SEAL-1', label: '公章' }]) });
    expect(created.status, created.text).toBe(201);
    expect(created.json.applicant).toMatchObject({ phone: '138****8000', idNumber: '440106********1235' });
    // A refused case (bad USCC) carrying another person's numbers leaves no trace of them either.
    const bad = caseBody('CLI-CASE-BAD', [{ type: 'seal', barcode: 'CLI-SEAL-BAD' }]);
    bad.enterprise.uscc = '91440101MA5CXY7A24';
    bad.applicant.phone = '13912345678';
    bad.applicant.idNumber = '110101199003074477';
    expect((await call(`${api}/cases`, { token: clerkToken, body: bad })).status).toBe(400);

    // Load the seal: the door opens, the clerk closes it, the case is ready (its credential goes to the notify outbox).
    const load = await call(`${api}/loads`, { token: clerkToken, body: { barcode: 'CLI-SEAL-1' } });
    expect(load.status, load.text).toBe(202);
    const compartment: string = load.json.compartment;
    await until(async () => (await call(`${first.banner.simulator}/sim/state`)).json.doors[compartment].open, 5000, `door ${compartment} open`);
    expect((await call(`${first.banner.simulator}/sim/doors/${compartment}/close`, { body: { occupied: true } })).status).toBe(200);
    await until(async () => (await call(`${api}/loads/${load.json.loadId}`, { token: clerkToken })).json.state === 'committed', 5000, 'load committed');
    const notify = await call(`${api}/cases/CLI-CASE-1/notify`, { token: clerkToken, method: 'POST' });
    expect(notify.status, notify.text).toBe(200);
    code = notify.json.code;
    // Some ops actions for the audit chain.
    expect((await call(`${api}/compartments/C01/disable`, { token: adminToken, body: { reason: 'hinge squeaks' } })).status).toBe(200);
    expect((await call(`${api}/compartments/C01/enable`, { token: adminToken, method: 'POST' })).status).toBe(200);

    // The scan reads the bytes that matter: the case is there (masked), in the database or its WAL.
    const stored = ['govlocker.db', 'govlocker.db-wal'].map((f) => readFileSync(join(firstDir, f)).toString('latin1')).join('');
    expect(stored).toContain('CLI-CASE-1');
    expect(stored).toContain('138****8000');
    const atRest = personalDataAtRest(firstDir);
    expect(Object.keys(atRest).filter((f) => !f.startsWith('snapshots/')).sort()).toEqual(['command.key', 'govlocker.db', 'govlocker.db-shm', 'govlocker.db-wal', 'govlocker.key', 'mqtt-accounts.json']);
    // The camera's stills of the doors the walk opened, each checked like the rest.
    expect(Object.keys(atRest).some((f) => /^snapshots\/\d{4}-\d{2}-\d{2}\/\d{8}-[0-9a-f]{24}\.jpg\.sealed$/.test(f))).toBe(true);
    for (const [file, found] of Object.entries(atRest)) expect(found, file).toEqual([]);
    expect(personalDataIn(first.output())).toEqual([]);
    // The audit chain checks out while the cabinet runs.
    const verify = await runGovlocker(['audit', 'verify', '--data', firstDir]);
    expect(verify.code, verify.stderr).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true, entries: expect.any(Number), head: expect.stringMatching(/^[0-9a-f]{64}$/) });
  });

  it('stops on Ctrl-C with exit code 0 within a few seconds, leaving nothing listening and no personal data behind', async () => {
    const exit = await first.interrupt(5000);
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(exit.ms).toBeLessThan(5000);
    expect(first.stderr()).toContain('govlocker start: SIGINT: stopping');
    expect(await listening(Number(new URL(first.banner.api).port))).toBe(false);
    expect(await listening(first.banner.firmataPort)).toBe(false);

    const atRest = personalDataAtRest(firstDir);
    expect(Object.keys(atRest)).toContain('govlocker.db');
    for (const [file, found] of Object.entries(atRest)) expect(found, file).toEqual([]);
    expect(personalDataIn(first.output())).toEqual([]);
  });

  it('audit verify passes the intact chain and names the entry someone edited in the database', async () => {
    const tampered = tempDir('tampered');
    // The database and the keys (the camera's stills stay behind: verify does not read them).
    for (const entry of readdirSync(firstDir, { withFileTypes: true })) if (entry.isFile()) copyFileSync(join(firstDir, entry.name), join(tampered, entry.name));
    const db = new Database(join(tampered, 'govlocker.db'));
    const row = db.prepare("SELECT seq, data FROM audit WHERE action = 'case.created'").get() as { seq: number; data: string };
    expect(row.data).toContain('"items":1');
    db.prepare('UPDATE audit SET data = ? WHERE seq = ?').run(row.data.replace('"items":1', '"items":2'), row.seq);
    db.close();

    const [intact, broken] = await Promise.all([
      runGovlocker(['audit', 'verify', '--data', firstDir]),
      runGovlocker(['audit', 'verify', '--data', tampered]),
    ]);
    expect(intact.code, intact.stderr).toBe(0);
    const good = JSON.parse(intact.stdout);
    expect(good).toMatchObject({ ok: true });
    // The first start's admin, li, the case, its load, its credential (twice) and C01 out and back: at least 8 entries.
    expect(good.entries).toBeGreaterThanOrEqual(8);
    expect(broken.code).toBe(1);
    expect(JSON.parse(broken.stdout)).toMatchObject({ ok: false, brokenAt: row.seq });
    expect(broken.stdout).toContain(`entry ${row.seq} `);
  });

  it('a second start on the same data dir keeps the case and its credential and prints no new token', async () => {
    const again = await startCabinet({ GOVLOCKER_DATA_DIR: firstDir });
    try {
      const api = again.banner.api;
      const c = await call(`${api}/cases/CLI-CASE-1`, { token: adminToken });
      expect(c.status, c.text).toBe(200);
      expect(c.json).toMatchObject({ caseNo: 'CLI-CASE-1', state: 'ready', applicant: { phone: '138****8000' } });
      expect((await call(`${api}/compartments`, { token: clerkToken })).status).toBe(200);
      // The code issued before the restart still opens the compartment.
      const pickup = await call(`${api}/kiosk/pickup`, { body: { code, idSuffix: ID_SUFFIX } });
      expect(pickup.json).toMatchObject({ result: 'opened' });
    } finally {
      const exit = await again.interrupt(5000);
      expect(exit.code).toBe(0);
    }
    expect(again.output()).not.toMatch(/First start/);
    expect(printedAdminToken(again.output())).toBeNull();
    expect(again.output()).not.toContain(adminToken);
  });
});

describe('GOVLOCKER_ADMIN_TOKEN on a first start', () => {
  it('makes that token the admin token and prints none; SIGTERM (systemd, docker stop) stops it cleanly', async () => {
    const api = chosen.banner.api;
    expect((await call(`${api}/audit/verify`, { token: CHOSEN_ADMIN_TOKEN })).json).toMatchObject({ ok: true });
    expect((await call(`${api}/compartments/A02/disable`, { token: CHOSEN_ADMIN_TOKEN, body: { reason: 'admin may' } })).status).toBe(200);
    const exit = await chosen.terminate('SIGTERM', 5000);
    expect(exit.code).toBe(0);
    expect(chosen.stderr()).toContain('govlocker start: SIGTERM: stopping');
    expect(printedAdminToken(chosen.output())).toBeNull();
    expect(chosen.output()).not.toMatch(/First start|glk_/);
    expect(chosen.output()).not.toContain(CHOSEN_ADMIN_TOKEN);
  });
});

describe('govlocker start stopped while it is still starting', () => {
  it('exits promptly on SIGTERM with what had started stopped', async () => {
    const dataDir = tempDir('starting');
    const p = spawnGovlocker(['start'], { ...freePorts, GOVLOCKER_DATA_DIR: dataDir });
    // The broker's logins are made after the simulator is up and before the controller starts.
    await until(() => readdirSync(dataDir).includes('mqtt-accounts.json'), 10_000, 'the start under way');
    const exit = await p.terminate('SIGTERM', 5000);
    expect(exit, p.output()).toMatchObject({ code: 0, signal: null });
    expect(exit.ms).toBeLessThan(4000);
    expect(p.stderr()).toContain('govlocker start: SIGTERM: stopping');
  });
});

describe('govlocker controller --config with a bad file', () => {
  it('exits with code 2, names every problem by its path, and listens on nothing', async () => {
    const r = await refused;
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    for (const path of ['compartments.0.size', 'hardware.pulseMs', 'compartments.1.lockChannel', 'policy.lockoutAfterFailures']) {
      expect(r.stderr).toMatch(new RegExp(`^\\s*- ${path.replace(/\./g, '\\.')}: \\S`, 'm'));
    }
    expect(r.stderr).toContain('4 problem(s)');
    expect(await listening(r.port)).toBe(false);
    expect(readdirSync(r.dataDir)).toEqual(['cabinet.json']);
  });
});
