import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FAILED_TOKENS_PER_MINUTE } from '../../admin-api/auth.ts';
import { Keyring } from '../../controller/secrets/keyring.ts';
import { openDatabase } from '../../controller/store/database.ts';
import { STREAMS_PER_CLIENT } from '../../admin-api/stream-slots.ts';
import { ADMIN_TOKEN, caseBody, ID_SUFFIX, startHarness, until, type Harness } from '../support/cabinet-harness.ts';
import { readyCase, simDoor } from '../support/cabinet-steps.ts';
import { call, startCabinet } from '../support/govlocker-process.ts';

// The cabinet as an attacker or a careless user meets it from outside: the hall LAN is a client bound to
// 127.0.0.2 (not in api.kioskClients), talking real HTTP to the API on 127.0.0.1.

let h: Harness | null = null;
const sockets: http.ClientRequest[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await h?.stop();
  h = null;
});

interface RawAnswer { status: number; headers: http.IncomingHttpHeaders; body: string }

/** One HTTP request with the path sent byte for byte as given (no normalisation), from `from`. */
function raw(port: number, method: string, path: string, options: { from?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    const req = http.request({ host: '127.0.0.1', port, method, path, localAddress: options.from ?? '127.0.0.1', headers: { ...(payload ? { 'content-type': 'application/json' } : {}), ...options.headers } }, (res) => {
      // An event stream never ends: take its status and headers, then drop it.
      if (String(res.headers['content-type']).startsWith('text/event-stream')) {
        resolve({ status: res.statusCode!, headers: res.headers, body: '' });
        sockets.push(req);
        return;
      }
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}

/** Every spelling of a kiosk path an attacker may try: percent-encoded, doubled slashes, dot segments, mixed case. */
function spellings(path: string): string[] {
  const tail = path.replace('/api/v1/kiosk/', '');
  return [
    path,
    `/api/v1/%6Biosk/${tail}`,
    `/api/v1/%6biosk/${tail}`,
    `/%61pi/v1/kiosk/${tail}`,
    `/api/%76%31/kiosk/${tail}`,
    `/api/v1/kiosk/%${tail.charCodeAt(0).toString(16)}${tail.slice(1)}`,
    `/api/v1/%25%36%42iosk/${tail}`,
    `//api/v1/kiosk/${tail}`,
    `/api/v1//kiosk/${tail}`,
    `/api/v1/kiosk//${tail}`,
    `/api/v1/./kiosk/${tail}`,
    `/api/v1/x/../kiosk/${tail}`,
    `/API/v1/KIOSK/${tail}`,
    `/api/v1/Kiosk/${tail}`,
    `/api/v1/kiosk/${tail}/`,
    `/api/v1/kiosk/${tail}?x=1`,
    `/api/v1/kiosk/${tail};x`,
  ];
}

describe('the kiosk endpoints answer only the cabinet\'s own screen, however the URL is spelt', () => {
  it('refuses every spelling of every kiosk route from the hall LAN, writes nothing, and still serves the kiosk', async () => {
    h = await startHarness();
    const port = h.controller.apiPort;
    const ready = await readyCase(h, 'ALLOW-1', [{ type: 'seal', barcode: 'ALLOW-SEAL' }]);
    const routes: { method: string; path: string; body?: unknown }[] = [
      { method: 'POST', path: '/api/v1/kiosk/pickup', body: { code: '12345678', idSuffix: ID_SUFFIX } },
      { method: 'POST', path: '/api/v1/kiosk/rating', body: { caseNo: 'ALLOW-1', level: 1 } },
      { method: 'POST', path: '/api/v1/kiosk/deposit', body: { caseNo: 'ALLOW-1', idSuffix: ID_SUFFIX } },
      { method: 'POST', path: '/api/v1/kiosk/return', body: { caseNo: 'ALLOW-1', reasons: ['damaged'] } },
      { method: 'POST', path: '/api/v1/kiosk/resend', body: { caseNo: 'ALLOW-1', idSuffix: ID_SUFFIX } },
      { method: 'GET', path: '/api/v1/kiosk/layout' },
      { method: 'GET', path: '/api/v1/kiosk/events' },
    ];
    const outboxBefore = h.controller.cabinet.store.outbox.after(0, 100_000).length;
    for (const route of routes) {
      for (const path of spellings(route.path)) {
        const r = await raw(port, route.method, path, { from: '127.0.0.2', body: route.body });
        expect([403, 404], `${route.method} ${path} from the LAN answered ${r.status}: ${r.body}`).toContain(r.status);
        expect(r.headers['content-type'] ?? '').not.toMatch(/event-stream/);
      }
    }
    // Nothing counted against the cabinet's attempt budget, nothing rated, no event written.
    expect(h.controller.cabinet.services.pickup.guardStatus()).toMatchObject({ failuresToday: 0, consecutiveFailures: 0 });
    expect(h.controller.cabinet.store.outbox.after(0, 100_000).length).toBe(outboxBefore);

    // The router does decode these spellings: from the kiosk's own address the encoded path is the kiosk route,
    // so the refusals above came from the guard, not from a path that matched nothing.
    const own = await raw(port, 'POST', '/api/v1/%6Biosk/pickup', { body: { code: ready.code, idSuffix: ID_SUFFIX } });
    expect(own.status).toBe(200);
    expect(JSON.parse(own.body)).toMatchObject({ result: 'opened', compartments: ready.compartments });
  });

  it('caps the event streams one client may hold open', async () => {
    h = await startHarness();
    const port = h.controller.apiPort;
    const opened: RawAnswer[] = [];
    for (let i = 0; i < STREAMS_PER_CLIENT; i++) opened.push(await raw(port, 'GET', '/api/v1/kiosk/events'));
    expect(opened.map((r) => r.status)).toEqual(Array(STREAMS_PER_CLIENT).fill(200));
    const refused = await raw(port, 'GET', '/api/v1/kiosk/events');
    expect(refused.status).toBe(429);
    expect(JSON.parse(refused.body).error).toMatch(/event streams open/);
    // The clerk's stream counts against the same address.
    const clerk = await raw(port, 'GET', '/api/v1/events', { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(clerk.status).toBe(429);
    // Closing one frees its slot.
    sockets.shift()!.destroy();
    await until(async () => (await raw(port, 'GET', '/api/v1/kiosk/events')).status === 200, 3000, 'a free stream slot');
  });
});

describe('tokens stay out of URLs and cannot be tried at wire speed', () => {
  it('accepts ?token= only on the event stream', async () => {
    h = await startHarness();
    const port = h.controller.apiPort;
    expect((await raw(port, 'GET', `/api/v1/compartments?token=${ADMIN_TOKEN}`)).status).toBe(401);
    expect((await raw(port, 'GET', `/api/v1/compartments?%74oken=${ADMIN_TOKEN}`)).status).toBe(401);
    expect((await raw(port, 'POST', `/api/v1/compartments/A01/open?token=${ADMIN_TOKEN}`, { body: { reason: 'by the query' } })).status).toBe(401);
    expect(simDoor(h, 'A01').latchPulses).toBe(0);
    expect((await raw(port, 'GET', `/api/v1/events?token=${ADMIN_TOKEN}`)).status).toBe(200);
  });

  it('makes an address that sends many wrong tokens wait, and no other address', async () => {
    h = await startHarness();
    const api = h.controller.api;
    const attempt = (token: string, remoteAddress: string) => api.inject({ method: 'GET', url: '/api/v1/compartments', remoteAddress, headers: { authorization: `Bearer ${token}` } });
    const answers: number[] = [];
    for (let i = 0; i < FAILED_TOKENS_PER_MINUTE + 30; i++) answers.push((await attempt(`guess-${i}-0123456789`, '192.0.2.50')).statusCode);
    expect(answers.slice(0, FAILED_TOKENS_PER_MINUTE)).toEqual(Array(FAILED_TOKENS_PER_MINUTE).fill(401));
    expect(answers.slice(FAILED_TOKENS_PER_MINUTE)).toEqual(Array(30).fill(429));
    // While it waits, even a right token from that address is not looked at (so guessing learns nothing).
    const waiting = await attempt(ADMIN_TOKEN, '192.0.2.50');
    expect(waiting.statusCode).toBe(429);
    expect(Number(waiting.headers['retry-after'])).toBeGreaterThan(0);
    expect(waiting.json().error).toMatch(/too many wrong tokens/);
    // A clerk at another desk is not affected.
    expect((await attempt(ADMIN_TOKEN, '192.0.2.51')).statusCode).toBe(200);
  });
});

describe('a double tap of a right code', () => {
  it('answers "in progress" while the doors are open and never counts as a failed attempt', async () => {
    // A person's pace is what the kiosk's rate limit allows; this test taps faster than that on purpose.
    h = await startHarness({ config: { policy: { kioskRequestsPer10s: 100 } } });
    const ready = await readyCase(h, 'DOUBLE-TAP', [{ type: 'seal', barcode: 'DT-SEAL' }, { type: 'tax-device', barcode: 'DT-TAX' }]);
    const tap = () => h!.call('POST', '/api/v1/kiosk/pickup', { code: ready.code, idSuffix: ID_SUFFIX }, null);
    const first = await Promise.all(Array.from({ length: 5 }, tap));
    expect(first.map((r) => r.json.result).sort()).toEqual(['denied', 'denied', 'denied', 'denied', 'opened']);
    expect(first.filter((r) => r.json.result === 'denied').map((r) => r.json.reason)).toEqual(Array(4).fill('in-progress'));
    // Once the door is seen open the credential is spent; taps (and a scan of the QR) are still "in progress".
    const id = ready.compartments[0]!;
    await until(() => simDoor(h!, id).open, 3000, 'door open');
    await until(async () => (await h!.call('GET', '/api/v1/cases/DOUBLE-TAP')).json.state === 'picking-up', 3000, 'picking up');
    const later = await Promise.all(Array.from({ length: 5 }, tap));
    expect(later.map((r) => r.json)).toEqual(Array(5).fill({ result: 'denied', reason: 'in-progress', window: '1' }));
    expect((await h.call('POST', '/api/v1/kiosk/pickup', { qr: ready.qr }, null)).json).toMatchObject({ result: 'denied', reason: 'in-progress' });
    expect(h.controller.cabinet.services.pickup.guardStatus()).toMatchObject({ consecutiveFailures: 0, failuresToday: 0 });
    // A wrong ID suffix with the right code is still a failed attempt, in progress or not.
    expect((await h.call('POST', '/api/v1/kiosk/pickup', { code: ready.code, idSuffix: '000000' }, null)).json).toMatchObject({ result: 'denied', reason: 'invalid' });
    expect(h.controller.cabinet.services.pickup.guardStatus().failuresToday).toBe(1);
    // Collected: the code has been used once and works no more.
    h.sim.model.close(id, { occupied: false });
    await until(async () => (await h!.call('GET', '/api/v1/cases/DOUBLE-TAP')).json.state === 'collected', 3000, 'collected');
    expect((await tap()).json).toMatchObject({ result: 'denied', reason: 'invalid' });
    expect(simDoor(h, id).latchPulses).toBe(3); // two loads into one compartment (one pulse each), one pickup
  });
});

describe('what a case may contain', () => {
  it('refuses control and invisible characters in names, labels and case numbers, by field, writing nothing', async () => {
    h = await startHarness();
    const base = caseBody('HIDDEN-1', [{ type: 'seal', barcode: 'HID-SEAL', label: '公章' }]);
    const tries: [string, unknown][] = [
      ['applicant.name', { ...base, applicant: { ...base.applicant, name: '张\u202E三' } }],
      ['applicant.name', { ...base, applicant: { ...base.applicant, name: '张三\r\nX-Injected: 1' } }],
      ['enterprise.name', { ...base, enterprise: { ...base.enterprise, name: '广州\u0000某某公司' } }],
      ['items.0.label', { ...base, items: [{ type: 'seal', barcode: 'HID-SEAL', label: '公章\u001b[31m' }] }],
      ['items.0.label', { ...base, items: [{ type: 'seal', barcode: 'HID-SEAL', label: '公\u200B章' }] }],
      ['caseNo', { ...base, caseNo: 'HIDDEN\u202E1' }],
    ];
    for (const [path, body] of tries) {
      const r = await h.call('POST', '/api/v1/cases', body);
      expect(r.status, JSON.stringify(r.json)).toBe(400);
      expect(r.json.issues.map((i: { path: string }) => i.path)).toContain(path);
    }
    expect((await h.call('GET', '/api/v1/cases?state=awaiting-items')).json).toEqual([]);
  });

  it('refuses unknown fields inside enterprise, applicant and items by name', async () => {
    h = await startHarness();
    const base = caseBody('NESTED-1', [{ type: 'seal', barcode: 'NEST-SEAL' }]);
    const tries: [string, unknown][] = [
      ['enterprise', { ...base, enterprise: { ...base.enterprise, legalPerson: '李四' } }],
      ['applicant', { ...base, applicant: { ...base.applicant, nickname: '小张' } }],
      ['items.0', { ...base, items: [{ type: 'seal', barcode: 'NEST-SEAL', colour: 'red' }] }],
    ];
    for (const [path, body] of tries) {
      const r = await h.call('POST', '/api/v1/cases', body);
      expect(r.status, JSON.stringify(r.json)).toBe(400);
      expect(r.json.issues.map((i: { path: string }) => i.path)).toContain(path);
      expect(r.json.error).toMatch(/legalPerson|nickname|colour/);
    }
    expect((await h.call('GET', '/api/v1/cases/NESTED-1')).status).toBe(404);
  });

  it('writes case numbers upper-case, so "by…" and "BY…" are one case', async () => {
    h = await startHarness();
    const created = await h.call('POST', '/api/v1/cases', caseBody('by2026112300017', [{ type: 'seal', barcode: 'UP-SEAL' }]));
    expect(created.status).toBe(201);
    expect(created.json.caseNo).toBe('BY2026112300017');
    const again = await h.call('POST', '/api/v1/cases', caseBody('BY2026112300017', [{ type: 'seal', barcode: 'UP-SEAL-2' }]));
    expect(again.status).toBe(409);
    expect(again.json.code).toBe('duplicate-case');
    expect((await h.call('GET', '/api/v1/cases/by2026112300017')).json.caseNo).toBe('BY2026112300017');
  });
});

describe('the data directory', () => {
  const mode = (path: string) => statSync(path).mode & 0o777;

  it('is readable by the cabinet\'s user alone: dir 0700, database, its WAL and the keys 0600, also when an older install left them open', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'govlocker-modes-'));
    try {
      chmodSync(dir, 0o755);
      h = await startHarness({ dataDir: dir });
      await h.call('POST', '/api/v1/cases', caseBody('MODES-1', [{ type: 'seal', barcode: 'MODES-SEAL' }]));
      const files = ['govlocker.db', 'govlocker.db-wal', 'govlocker.db-shm', 'govlocker.key'];
      expect(mode(dir)).toBe(0o700);
      for (const f of files) expect(mode(join(dir, f)), f).toBe(0o600);

      // An older version left everything world-readable: the next start closes it again.
      await h.stopController();
      chmodSync(dir, 0o755);
      for (const f of files) if (existsSync(join(dir, f))) chmodSync(join(dir, f), 0o644);
      await h.restartController();
      expect(mode(dir)).toBe(0o700);
      for (const f of files) expect(mode(join(dir, f)), f).toBe(0o600);
    } finally {
      await h?.stop();
      h = null;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a shared directory such as /tmp', async () => {
    const shared = mkdtempSync(join(tmpdir(), 'govlocker-shared-'));
    try {
      chmodSync(shared, 0o1777);
      writeFileSync(join(shared, 'other-users-file'), 'x');
      expect(() => openDatabase(join(shared, 'govlocker.db'))).toThrow(/shared directory.*of its own/);
      expect(() => Keyring.openOrCreate(shared)).toThrow(/shared directory.*of its own/);
      expect(mode(shared)).toBe(0o777);
    } finally {
      rmSync(shared, { recursive: true, force: true });
    }
  });
});

describe('the pages cannot be framed by another site', () => {
  it('sends frame-ancestors \'none\' and X-Frame-Options on the kiosk and the clerk station', async () => {
    h = await startHarness();
    for (const page of ['/kiosk', '/clerk']) {
      const r = await raw(h.controller.apiPort, 'GET', page);
      expect(r.status).toBe(200);
      expect(r.headers['content-security-policy']).toMatch(/frame-ancestors 'none'/);
      expect(r.headers['x-frame-options']).toBe('DENY');
      expect(r.headers['x-content-type-options']).toBe('nosniff');
    }
  });
});

describe('the logs of `govlocker start`', () => {
  it('never show a token, whatever spelling of ?token= carried it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'govlocker-logs-'));
    const token = 'token-that-must-never-be-logged-4711';
    const cabinet = await startCabinet({ GOVLOCKER_DATA_DIR: dir, GOVLOCKER_ADMIN_TOKEN: token, GOVLOCKER_LOG_LEVEL: 'info' });
    try {
      const api = cabinet.banner.api;
      const spellings = [`?token=${token}`, `?%74oken=${token}`, `?%2574oken=${token}`, `?token[]=${token}`, `?token%5B%5D=${token}`,
        `?x=1&token=${token}&token=${token}`, `?TOKEN=${token}`, `?access_token=${token}`, `?token=${encodeURIComponent(token)}&after=1`];
      for (const q of spellings) {
        await call(`${api}/compartments${q}`);
        await call(`${api}/no-such-endpoint${q}`);
        await call(`${api}/cases${q}`, { body: { caseNo: 'LOG-1' } });
      }
      // The requests were logged (so the check below looked at real lines), but not one with the token.
      await until(() => cabinet.output().includes('no-such-endpoint'), 3000, 'request lines in the log');
      expect((await call(`${api}/no-such-endpoint?%74oken=${token}`)).text).not.toContain(token);
    } finally {
      await cabinet.interrupt();
      rmSync(dir, { recursive: true, force: true });
    }
    expect(cabinet.output()).not.toContain(token);
    expect(cabinet.output()).not.toContain(token.slice(6));
  });
});
