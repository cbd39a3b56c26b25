import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../controller/secrets/password-hash.ts';
import type { Role } from '../../controller/store/users-repo.ts';
import { ADMIN_TOKEN, caseBody, startHarness, until, type Harness } from '../support/cabinet-harness.ts';
import { addUser } from '../support/cabinet-steps.ts';
import { cleanEnv, GOVLOCKER_BIN, runGovlocker } from '../support/govlocker-process.ts';
import { issue, makeCa, requireOpenssl } from '../support/test-pki.ts';

// People sign in with a name and a password (CONTRACT §8): real HTTP against the real controller and a real
// SQLite file, the clock injected. Each test sends from its own loopback address (127.0.0.x), so the
// per-address brake on wrong passwords of one test does not reach into another.

let h: Harness;
const PASSWORDS = { li: 'plum blossoms in the rain', wu: 'seven bridges over the river', chen: 'made-for-chen-by-admin', zhou: 'ops keep the cabinet running' };

async function addPerson(name: string, role: Role, password: string, mustChange = false): Promise<void> {
  h.controller.cabinet.context.repos.users.addPerson(name, role, await hashPassword(password), Date.now(), mustChange);
}

beforeAll(async () => {
  h = await startHarness();
  await Promise.all([
    addPerson('li', 'clerk', PASSWORDS.li),
    addPerson('wu', 'clerk', PASSWORDS.wu),
    addPerson('chen', 'clerk', PASSWORDS.chen, true),
    addPerson('zhou', 'ops', PASSWORDS.zhou),
  ]);
});
afterAll(async () => {
  await h?.stop();
});

interface Answer { status: number; json: any; headers: IncomingHttpHeaders; ms: number }
interface Call { body?: unknown; cookie?: string | null; token?: string; headers?: Record<string, string>; from?: string }

/** A real HTTP request to the controller, from the loopback address `from`. */
function http(method: string, path: string, call: Call = {}): Promise<Answer> {
  const payload = call.body === undefined ? undefined : JSON.stringify(call.body);
  const headers: Record<string, string> = {
    ...(payload !== undefined ? { 'content-type': 'application/json' } : {}),
    ...(call.cookie ? { cookie: `govlocker_session=${call.cookie}` } : {}),
    ...(call.token ? { authorization: `Bearer ${call.token}` } : {}),
    ...call.headers,
  };
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: h.controller.apiPort, method, path, headers, localAddress: call.from ?? '127.0.0.1' }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk)).on('end', () => {
        let json: unknown = text;
        try { json = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode!, json, headers: res.headers, ms: performance.now() - t0 });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** The session id a sign-in answer set. */
function cookieOf(answer: Answer): string {
  const set = [answer.headers['set-cookie'] ?? []].flat();
  expect(set, JSON.stringify(answer.json)).toHaveLength(1);
  return /^govlocker_session=([^;]*)/.exec(set[0]!)![1]!;
}

async function signIn(name: keyof typeof PASSWORDS, from: string): Promise<string> {
  const r = await http('POST', '/api/v1/session', { body: { name, password: PASSWORDS[name] }, from });
  expect(r.status, JSON.stringify(r.json)).toBe(200);
  return cookieOf(r);
}

const audit = async () => (await http('GET', '/api/v1/audit?limit=1000', { token: ADMIN_TOKEN })).json as { actor: string; action: string; data: Record<string, unknown> }[];
const MINUTE = 60_000;

describe('signing in with a name and a password', () => {
  it('a right pair gets an HttpOnly, SameSite=Strict session cookie that works wherever a bearer token does; a wrong pair is 401, the same for an unknown name', async () => {
    const from = '127.0.0.2';
    const ok = await http('POST', '/api/v1/session', { body: { name: 'li', password: PASSWORDS.li }, from });
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ name: 'li', role: 'clerk', mustChangePassword: false, idleMinutes: 15, may: { loadAndCreate: true, acknowledgeAlarms: false, openRemotely: false } });
    // Over plain HTTP: no Secure; no Max-Age or Expires (it ends with the browser); nothing but the id in it.
    expect(ok.headers['set-cookie']).toEqual([expect.stringMatching(/^govlocker_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict$/)]);
    const cookie = cookieOf(ok);

    expect((await http('GET', '/api/v1/me', { cookie, from })).json).toEqual({ name: 'li', role: 'clerk', may: { loadAndCreate: true, acknowledgeAlarms: false, openRemotely: false, load: true, viewCabinet: true } });
    expect((await http('GET', '/api/v1/compartments', { cookie, from })).status).toBe(200);
    const created = await http('POST', '/api/v1/cases', { cookie, from, body: caseBody('BY-SIGNIN-1', [{ type: 'seal', barcode: 'SIGNIN-SEAL-1' }]) });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    // The role still decides: a clerk's session may not take a compartment out of service.
    const forbidden = await http('POST', '/api/v1/compartments/A01/disable', { cookie, from, body: { reason: 'a clerk tries' } });
    expect(forbidden.status).toBe(403);
    expect(forbidden.json.error).toMatch(/clerk role may not/);

    const wrongPassword = await http('POST', '/api/v1/session', { body: { name: 'li', password: 'not the right one at all' }, from });
    const unknownName = await http('POST', '/api/v1/session', { body: { name: 'nobody-here', password: 'not the right one at all' }, from });
    const machineName = await http('POST', '/api/v1/session', { body: { name: 'admin', password: ADMIN_TOKEN }, from });
    for (const r of [wrongPassword, unknownName, machineName]) {
      expect(r.status).toBe(401);
      expect(r.headers['set-cookie']).toBeUndefined();
    }
    expect(unknownName.json).toEqual(wrongPassword.json);
    expect(machineName.json).toEqual(wrongPassword.json);
    expect(wrongPassword.json.error).toMatch(/name or the password is wrong/);
    expect(wrongPassword.json.issues.map((i: { path: string }) => i.path)).toEqual(['name', 'password']);

    // An unknown name costs a password hash too, so the time does not tell names apart.
    const times = { unknown: [] as number[], wrong: [] as number[] };
    for (let i = 0; i < 3; i++) {
      times.wrong.push((await http('POST', '/api/v1/session', { body: { name: 'zhou', password: `wrong guess number ${i}` }, from })).ms);
      times.unknown.push((await http('POST', '/api/v1/session', { body: { name: `nobody-${i}`, password: `wrong guess number ${i}` }, from })).ms);
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[1]!;
    expect(median(times.unknown)).toBeGreaterThan(median(times.wrong) * 0.5);
    expect(median(times.unknown)).toBeLessThan(median(times.wrong) * 2);

    // Malformed bodies are refused by field, before any password is checked.
    const noPassword = await http('POST', '/api/v1/session', { body: { name: 'li' }, from });
    expect(noPassword.status).toBe(400);
    expect(noPassword.json.issues[0].path).toBe('password');
    expect((await http('POST', '/api/v1/session', { body: { name: 'li', password: 'x', remember: true }, from })).status).toBe(400);

    // Audited under the person's name; neither a password nor a name nobody has is written anywhere in the chain.
    const entries = await audit();
    expect(entries.find((e) => e.action === 'staff.signed_in' && e.data.name === 'li')).toMatchObject({ actor: 'clerk:li', data: { from } });
    expect(entries.find((e) => e.action === 'case.created' && e.data.caseNo === 'BY-SIGNIN-1')?.actor).toBe('clerk:li');
    expect(entries.find((e) => e.action === 'staff.signin_failed' && e.data.name === 'li')).toMatchObject({ actor: 'clerk:li', data: { failuresInARow: 1, during: 'sign-in' } });
    const chain = JSON.stringify(entries);
    for (const secret of [PASSWORDS.li, 'not the right one at all', 'nobody-here', 'wrong guess number']) expect(chain).not.toContain(secret);
    // A right sign-in forgets the failures in a row.
    await signIn('li', from);
    expect(h.controller.cabinet.context.repos.users.signinRecord('li')?.failedSignins).toBe(0);
  });

  it('five wrong passwords in a row lock the name: 429 with retry-after, even for the right password, until the lock runs out; unknown names lock alike', async () => {
    const from = '127.0.0.3';
    const wrong = (name: string) => http('POST', '/api/v1/session', { body: { name, password: 'a wrong but long password' }, from });
    for (let i = 0; i < 4; i++) expect((await wrong('wu')).status).toBe(401);
    const fifth = await wrong('wu');
    expect(fifth.status).toBe(429);
    expect(Number(fifth.headers['retry-after'])).toBe(15 * 60);
    expect(fifth.json).toMatchObject({ code: 'signin-locked', error: expect.stringMatching(/locked for 15 more minutes/) });

    // Locked: the right password is refused too, and more wrong ones do not make the lock longer.
    h.clock.advance(5 * MINUTE);
    const right = await http('POST', '/api/v1/session', { body: { name: 'wu', password: PASSWORDS.wu }, from });
    expect(right.status).toBe(429);
    expect(Number(right.headers['retry-after'])).toBe(10 * 60);
    expect(Number((await wrong('wu')).headers['retry-after'])).toBe(10 * 60);
    // Kept in the database, where a restart finds it.
    expect(h.controller.cabinet.context.repos.users.signinRecord('wu')).toMatchObject({ failedSignins: 5, lockedUntil: expect.any(Number) });

    const entries = await audit();
    expect(entries.filter((e) => e.action === 'staff.signin_failed' && e.data.name === 'wu')).toHaveLength(5);
    expect(entries.find((e) => e.action === 'staff.locked_out' && e.data.name === 'wu')).toMatchObject({ actor: 'clerk:wu', data: { failuresInARow: 5, from } });

    h.clock.advance(10 * MINUTE);
    expect((await http('POST', '/api/v1/session', { body: { name: 'wu', password: PASSWORDS.wu }, from })).status).toBe(200);

    // A name nobody has answers exactly as a person's does, lock included.
    for (let i = 0; i < 4; i++) expect((await wrong('ghost')).status).toBe(401);
    const ghost = await wrong('ghost');
    expect(ghost.status).toBe(429);
    expect(ghost.json).toEqual(fifth.json);
    expect(ghost.headers['retry-after']).toBe(fifth.headers['retry-after']);
    h.clock.advance(16 * MINUTE);
  });

  it('an address that sends 20 wrong passwords or tokens within a minute waits, whatever the name; other addresses do not', async () => {
    const from = '127.0.0.4';
    for (let i = 0; i < 20; i++) expect((await http('POST', '/api/v1/session', { body: { name: `guess-${i}`, password: 'a wrong but long password' }, from })).status).toBe(401);
    const braked = await http('POST', '/api/v1/session', { body: { name: 'li', password: PASSWORDS.li }, from });
    expect(braked.status).toBe(429);
    expect(Number(braked.headers['retry-after'])).toBeGreaterThan(0);
    expect(braked.json.error).toMatch(/127\.0\.0\.4.*wait/);
    expect((await http('GET', '/api/v1/me', { token: ADMIN_TOKEN, from })).status).toBe(429);
    expect((await http('POST', '/api/v1/session', { body: { name: 'li', password: PASSWORDS.li }, from: '127.0.0.40' })).status).toBe(200);
  });

  it('a session ends after 15 minutes without activity (the page\'s own refreshes do not count) or 12 hours after sign-in; the event stream ends with it', async () => {
    const from = '127.0.0.5';
    let cookie = await signIn('zhou', from);
    h.clock.advance(14 * MINUTE);
    expect((await http('GET', '/api/v1/alarms', { cookie, from })).status).toBe(200);
    h.clock.advance(14 * MINUTE);
    expect((await http('GET', '/api/v1/alarms', { cookie, from })).status).toBe(200);
    // A refresh the station makes by itself keeps nothing awake.
    h.clock.advance(10 * MINUTE);
    expect((await http('GET', '/api/v1/alarms', { cookie, from, headers: { 'x-govlocker-background': '1' } })).status).toBe(200);
    h.clock.advance(5 * MINUTE + 1);
    const idle = await http('GET', '/api/v1/alarms', { cookie, from });
    expect(idle.status).toBe(401);
    expect(idle.json.error).toMatch(/session has ended.*15 minutes without activity.*sign in again/);
    expect(idle.headers['set-cookie']).toEqual(['govlocker_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0']);

    // However busy, 12 hours after the sign-in it ends.
    cookie = await signIn('zhou', from);
    let minutes = 0;
    while (minutes + 14 < 12 * 60) {
      h.clock.advance(14 * MINUTE);
      minutes += 14;
      expect((await http('GET', '/api/v1/me', { cookie, from })).status).toBe(200);
    }
    h.clock.advance((12 * 60 - minutes) * MINUTE);
    expect((await http('GET', '/api/v1/me', { cookie, from })).status).toBe(401);

    // The event stream takes the cookie (no ?token=), and ends when the session does.
    cookie = await signIn('zhou', from);
    const stream = await new Promise<{ status: number; ended: Promise<number> }>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port: h.controller.apiPort, path: '/api/v1/events', headers: { cookie: `govlocker_session=${cookie}` }, localAddress: from }, (res) => {
        const opened = Date.now();
        res.resume();
        resolve({ status: res.statusCode!, ended: new Promise((r) => res.on('close', () => r(Date.now() - opened))) });
      });
      req.on('error', reject);
      req.end();
    });
    expect(stream.status).toBe(200);
    const signedOut = Date.now();
    expect((await http('DELETE', '/api/v1/session', { cookie, from })).json).toEqual({ signedOut: true });
    await stream.ended;
    expect(Date.now() - signedOut).toBeLessThan(4000);
  });

  it('signing out ends the session and removes the cookie; a restart signs everyone out but keeps a lock', async () => {
    const from = '127.0.0.6';
    const cookie = await signIn('li', from);
    const out = await http('DELETE', '/api/v1/session', { cookie, from });
    expect(out.status).toBe(200);
    expect(out.json).toEqual({ signedOut: true });
    expect(out.headers['set-cookie']).toEqual(['govlocker_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0']);
    expect((await http('GET', '/api/v1/me', { cookie, from })).status).toBe(401);
    expect((await http('DELETE', '/api/v1/session', { cookie, from })).json).toEqual({ signedOut: false });
    expect((await audit()).filter((e) => e.action === 'staff.signed_out' && e.data.name === 'li').at(-1)).toMatchObject({ actor: 'clerk:li', data: { from } });

    const kept = await signIn('li', from);
    for (let i = 0; i < 5; i++) await http('POST', '/api/v1/session', { body: { name: 'wu', password: 'a wrong but long password' }, from });
    await h.restartController();
    expect((await http('GET', '/api/v1/me', { cookie: kept, from })).status).toBe(401);
    expect((await http('POST', '/api/v1/session', { body: { name: 'wu', password: PASSWORDS.wu }, from })).status).toBe(429);
    h.clock.advance(16 * MINUTE);
    expect((await http('POST', '/api/v1/session', { body: { name: 'wu', password: PASSWORDS.wu }, from })).status).toBe(200);
  });

  it('a change signed in by the cookie must come from the cabinet\'s own pages; reads and bearer tokens are not affected', async () => {
    const from = '127.0.0.7';
    const cookie = await signIn('li', from);
    expect((await http('POST', '/api/v1/cases', { token: ADMIN_TOKEN, body: caseBody('BY-CSRF-1', [{ type: 'seal', barcode: 'CSRF-SEAL-1' }]) })).status).toBe(201);
    const pulses = () => Object.values(h.sim.model.snapshot()).reduce((n, d) => n + d.latchPulses, 0);
    const before = pulses();
    const own = `http://127.0.0.1:${h.controller.apiPort}`;
    const load = (headers: Record<string, string>) => http('POST', '/api/v1/loads', { cookie, from, headers, body: { barcode: 'CSRF-SEAL-1' } });

    const refused: Record<string, string>[] = [
      { origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' },
      { origin: 'http://127.0.0.1:1', 'sec-fetch-site': 'same-site' }, // another program on the cabinet PC
      { origin: 'http://evil.example' }, // a browser that sends no Sec-Fetch-Site
      { 'sec-fetch-site': 'cross-site' },
      { origin: 'null', 'sec-fetch-site': 'cross-site' },
      { origin: `https://127.0.0.1:${h.controller.apiPort}`, 'sec-fetch-site': 'same-origin' },
    ];
    for (const headers of refused) {
      const r = await load(headers);
      expect(r.status, JSON.stringify(headers)).toBe(403);
      expect(r.json).toMatchObject({ code: 'cross-site', issues: [{ path: 'origin' }] });
      expect(r.json.error).toMatch(/cabinet's own pages only.*Authorization: Bearer/);
    }
    expect(pulses()).toBe(before);
    expect((await http('GET', '/api/v1/cases/BY-CSRF-1', { token: ADMIN_TOKEN })).json.state).toBe('awaiting-items');
    // Nor may another site sign someone in (or out).
    expect((await http('POST', '/api/v1/session', { body: { name: 'li', password: PASSWORDS.li }, from, headers: { origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' } })).status).toBe(403);
    expect((await http('DELETE', '/api/v1/session', { cookie, from, headers: { origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' } })).status).toBe(403);

    // Reads from anywhere are fine (the browser keeps another site from reading the answer).
    expect((await http('GET', '/api/v1/compartments', { cookie, from, headers: { origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' } })).status).toBe(200);
    // The cabinet's own page: accepted. So is a program that says nothing of where it came from (curl).
    expect((await http('POST', '/api/v1/pickup-guard/resume', { cookie, from, headers: { origin: own, 'sec-fetch-site': 'same-origin' } })).status).toBe(200);
    const same = await load({ origin: own, 'sec-fetch-site': 'same-origin' });
    expect(same.status, JSON.stringify(same.json)).toBe(202);
    await until(() => h.sim.model.snapshot()[same.json.compartment]!.open, 3000, 'door open');
    h.sim.model.close(same.json.compartment, { occupied: true });
    await until(async () => (await http('GET', `/api/v1/loads/${same.json.loadId}`, { cookie, from })).json.state === 'committed', 3000, 'load committed');
    expect((await http('POST', '/api/v1/pickup-guard/resume', { cookie, from })).status).toBe(200);
    // Bearer tokens are not affected, wherever the request says it came from.
    const clerkToken = addUser(h, 'csrf-machine', 'clerk');
    expect((await http('POST', '/api/v1/pickup-guard/resume', { token: clerkToken, from, headers: { origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' } })).status).toBe(200);
    expect((await audit()).filter((e) => e.action === 'load.started' && e.data.barcode === 'CSRF-SEAL-1').map((e) => e.actor)).toEqual(['clerk:li']);
  });

  it('a person whose password was made for them may only set their own first; the policy names the fix; the old password stops working', async () => {
    const from = '127.0.0.8';
    const first = await http('POST', '/api/v1/session', { body: { name: 'chen', password: PASSWORDS.chen }, from });
    expect(first.status).toBe(200);
    expect(first.json).toMatchObject({ name: 'chen', mustChangePassword: true });
    const cookie = cookieOf(first);
    const other = await signIn('chen', '127.0.0.9');
    for (const path of ['/api/v1/compartments', '/api/v1/me']) {
      const r = await http('GET', path, { cookie, from });
      expect(r.status).toBe(403);
      expect(r.json).toMatchObject({ code: 'password-change-required', error: expect.stringContaining('POST /api/v1/session/password') });
    }
    const change = (body: unknown) => http('POST', '/api/v1/session/password', { cookie, from, body });
    const wrongCurrent = await change({ current: 'not what chen has', next: 'a sentence only she knows' });
    expect(wrongCurrent.status).toBe(400);
    expect(wrongCurrent.json).toMatchObject({ code: 'wrong-password', issues: [{ path: 'current' }] });
    const short = await change({ current: PASSWORDS.chen, next: 'short' });
    expect(short.status).toBe(400);
    expect(short.json).toMatchObject({ code: 'weak-password', issues: [{ path: 'next', message: expect.stringMatching(/5 characters: use at least 10/) }] });
    expect((await change({ current: PASSWORDS.chen, next: 'password123' })).json.issues[0].message).toMatch(/attackers try/);
    expect((await change({ current: PASSWORDS.chen, next: 'chen-and-more-words' })).json.issues[0].message).toMatch(/name/);
    expect((await change({ current: PASSWORDS.chen, next: PASSWORDS.chen })).json.issues[0].message).toMatch(/current one/);
    expect((await change({ current: PASSWORDS.chen })).json.issues[0].path).toBe('next');
    // A bearer token has no password to change.
    expect((await http('POST', '/api/v1/session/password', { token: ADMIN_TOKEN, from, body: { current: 'x', next: 'a sentence only she knows' } })).status).toBe(401);

    const done = await change({ current: PASSWORDS.chen, next: 'a sentence only she knows' });
    expect(done.status, JSON.stringify(done.json)).toBe(200);
    expect(done.json).toMatchObject({ name: 'chen', mustChangePassword: false });
    expect((await http('GET', '/api/v1/compartments', { cookie, from })).status).toBe(200);
    expect((await http('GET', '/api/v1/me', { cookie: other, from: '127.0.0.9' })).status).toBe(401); // the other session ended
    expect((await http('POST', '/api/v1/session', { body: { name: 'chen', password: PASSWORDS.chen }, from })).status).toBe(401);
    const again = await http('POST', '/api/v1/session', { body: { name: 'chen', password: 'a sentence only she knows' }, from });
    expect(again.json).toMatchObject({ mustChangePassword: false });

    const entries = await audit();
    expect(entries.find((e) => e.action === 'staff.password_changed')).toMatchObject({ actor: 'clerk:chen', data: { name: 'chen', wasRequired: true, from } });
    expect(entries.find((e) => e.action === 'staff.signin_failed' && e.data.name === 'chen')).toMatchObject({ data: { during: 'password-change' } });
    const chain = JSON.stringify(entries);
    for (const secret of [PASSWORDS.chen, 'a sentence only she knows', 'chen-and-more-words']) expect(chain).not.toContain(secret);
  });

  it('bearer tokens work as before', async () => {
    const token = addUser(h, 'plain-machine', 'clerk');
    expect((await http('GET', '/api/v1/compartments', { token, from: '127.0.0.10' })).status).toBe(200);
    const wrong = await http('GET', '/api/v1/compartments', { token: 'no-such-token', from: '127.0.0.10' });
    expect(wrong.status).toBe(401);
    expect(wrong.headers['www-authenticate']).toBe('Bearer');
    expect((await http('GET', `/api/v1/me?token=${encodeURIComponent(token)}`, { from: '127.0.0.10' })).status).toBe(401);
    expect((await http('GET', '/api/v1/me', { from: '127.0.0.10' })).json.error).toMatch(/Bearer <token>.*POST \/api\/v1\/session/);
  });
});

describe('govlocker users add --password', () => {
  it('adds a person who signs in with that password; a weak one is refused by name with the fix; without it, a token as before; audited without the secret', async () => {
    const data = ['--data', h.dataDir];
    const added = await runGovlocker(['users', 'add', '--name', 'sun', '--role', 'courier', '--items', 'seal,invoice', '--password', 'couriers bring the seals', ...data]);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toMatch(/added courier "sun", who signs in with the password/);
    expect(added.stdout).toContain('sun may load: seal, invoice');
    expect(h.controller.cabinet.context.repos.users.itemTypesOf(h.controller.cabinet.context.repos.users.byName('sun')!.id)).toEqual(['seal', 'invoice']);
    expect(added.stdout + added.stderr).not.toContain('couriers bring the seals');
    const signedIn = await http('POST', '/api/v1/session', { body: { name: 'sun', password: 'couriers bring the seals' }, from: '127.0.0.11' });
    expect(signedIn.status).toBe(200);
    expect(signedIn.json).toMatchObject({ name: 'sun', role: 'courier', mustChangePassword: false });

    // A courier's item types are the domain's, and only a courier has them.
    const [noItems, badItem, itemsForClerk] = await Promise.all([
      runGovlocker(['users', 'add', '--name', 'he-courier', '--role', 'courier', '--items', ' , ', '--password', 'a long enough sentence', ...data]),
      runGovlocker(['users', 'add', '--name', 'he-courier', '--role', 'courier', '--items', 'seal,stamp', '--password', 'a long enough sentence', ...data]),
      runGovlocker(['users', 'add', '--name', 'he-courier', '--role', 'clerk', '--items', 'seal', '--password', 'a long enough sentence', ...data]),
    ]);
    expect([noItems.code, badItem.code, itemsForClerk.code]).toEqual([2, 2, 2]);
    expect(noItems.stderr).toMatch(/--items is empty: name the item types the courier may load, comma-separated, from licence-original, licence-copy, seal, invoice, tax-device, other/);
    expect(badItem.stderr).toMatch(/--items: "stamp" is not an item type/);
    expect(itemsForClerk.stderr).toMatch(/--items is for a courier/);
    expect(h.controller.cabinet.context.repos.users.byName('he-courier')).toBeUndefined();
    // The contract's command as written (no --items): a courier for every item type, told so.
    const anyItem = await runGovlocker(['users', 'add', '--name', 'post-office', '--role', 'courier', '--password', 'a long enough sentence', ...data]);
    expect(anyItem.code, anyItem.stderr).toBe(0);
    expect(anyItem.stdout).toContain('post-office may load: licence-original, licence-copy, seal, invoice, tax-device, other');
    expect(h.controller.cabinet.context.repos.users.itemTypesOf(h.controller.cabinet.context.repos.users.byName('post-office')!.id)).toEqual(['licence-original', 'licence-copy', 'seal', 'invoice', 'tax-device', 'other']);

    const [weak, badRole, noPassword, mustChange] = await Promise.all([
      runGovlocker(['users', 'add', '--name', 'tian', '--role', 'clerk', '--password', 'short', ...data]),
      runGovlocker(['users', 'add', '--name', 'tian', '--role', 'boss', '--password', 'a long enough sentence', ...data]),
      runGovlocker(['users', 'add', '--name', 'hall-system', '--role', 'integration', ...data]),
      runGovlocker(['users', 'add', '--name', 'qian', '--role', 'ops', '--password', 'first words from the admin', '--must-change', ...data]),
    ]);
    expect(weak.code).toBe(2);
    expect(weak.stderr).toMatch(/--password: the password is 5 characters: use at least 10/);
    expect(badRole.code).toBe(2);
    expect(badRole.stderr).toMatch(/--role is one of clerk, ops, admin, integration, courier, not "boss"/);
    expect(h.controller.cabinet.context.repos.users.byName('tian')).toBeUndefined();
    expect(noPassword.code, noPassword.stderr).toBe(0);
    const token = /glk_\S+/.exec(noPassword.stdout)?.[0];
    expect(token).toBeDefined();
    expect(h.controller.cabinet.context.repos.users.byToken(token!)).toMatchObject({ name: 'hall-system', role: 'integration' });
    expect(mustChange.code, mustChange.stderr).toBe(0);
    expect((await http('POST', '/api/v1/session', { body: { name: 'qian', password: 'first words from the admin' }, from: '127.0.0.11' })).json.mustChangePassword).toBe(true);

    // `--password -`: from stdin, out of the shell's history.
    const piped = spawnSync(process.execPath, [GOVLOCKER_BIN, 'users', 'add', '--name', 'zhao', '--role', 'clerk', '--password', '-', ...data], { input: 'piped in from a file\n', env: cleanEnv({}), encoding: 'utf8' });
    expect(piped.status, piped.stderr).toBe(0);
    expect((await http('POST', '/api/v1/session', { body: { name: 'zhao', password: 'piped in from a file' }, from: '127.0.0.11' })).status).toBe(200);

    const entries = (await audit()).filter((e) => e.action === 'user.added' && e.actor === 'cli');
    expect(entries.map((e) => e.data)).toEqual(expect.arrayContaining([
      { name: 'sun', role: 'courier', signsInWith: 'password', mustChangePassword: false, itemTypes: ['seal', 'invoice'] },
      { name: 'hall-system', role: 'integration', signsInWith: 'token' },
      { name: 'qian', role: 'ops', signsInWith: 'password', mustChangePassword: true },
    ]));
    const chain = JSON.stringify(entries);
    for (const secret of ['couriers bring the seals', 'first words from the admin', 'piped in from a file', token!]) expect(chain).not.toContain(secret);
  });
});

describe('over HTTPS (api.tls)', () => {
  it('the session cookie is Secure as well, and only the cabinet\'s own https origin may change things with it', async () => {
    requireOpenssl();
    const root = mkdtempSync(join(tmpdir(), 'govlocker-signin-tls-'));
    const ca = makeCa(root, 'hall-ca');
    const server = issue(ca, 'cabinet', '127.0.0.1', { ip: '127.0.0.1' });
    const secure = await startHarness({ config: { api: { tls: { cert: server.cert, key: server.key, kioskPort: null } } } });
    try {
      secure.controller.cabinet.context.repos.users.addPerson('li', 'clerk', await hashPassword(PASSWORDS.li), Date.now(), false);
      const port = secure.controller.apiPort;
      const viaHttps = (method: string, path: string, headers: Record<string, string>, body?: unknown) => new Promise<Answer>((resolve, reject) => {
        const payload = body === undefined ? undefined : JSON.stringify(body);
        const req = httpsRequest({ host: '127.0.0.1', port, method, path, ca: readFileSync(ca.cert), agent: false, headers: { ...(payload ? { 'content-type': 'application/json' } : {}), ...headers } }, (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (c: string) => (text += c)).on('end', () => resolve({ status: res.statusCode!, json: text ? JSON.parse(text) : null, headers: res.headers, ms: 0 }));
        });
        req.on('error', reject);
        req.end(payload);
      });
      const signedIn = await viaHttps('POST', '/api/v1/session', {}, { name: 'li', password: PASSWORDS.li });
      expect(signedIn.status).toBe(200);
      expect(signedIn.headers['set-cookie']).toEqual([expect.stringMatching(/^govlocker_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Secure$/)]);
      const cookie = `govlocker_session=${cookieOf(signedIn)}`;
      expect((await viaHttps('POST', '/api/v1/pickup-guard/resume', { cookie, origin: `https://127.0.0.1:${port}`, 'sec-fetch-site': 'same-origin' })).status).toBe(200);
      const downgraded = await viaHttps('POST', '/api/v1/pickup-guard/resume', { cookie, origin: `http://127.0.0.1:${port}`, 'sec-fetch-site': 'same-origin' });
      expect(downgraded.status).toBe(403);
      expect(downgraded.json.code).toBe('cross-site');
      const out = await viaHttps('DELETE', '/api/v1/session', { cookie, origin: `https://127.0.0.1:${port}`, 'sec-fetch-site': 'same-origin' });
      expect(out.headers['set-cookie']).toEqual(['govlocker_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0; Secure']);
    } finally {
      await secure.stop();
      rmSync(root, { recursive: true, force: true });
    }
  });
});
