import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../controller/secrets/password-hash.ts';
import type { Role } from '../../controller/store/users-repo.ts';
import { launchChromium, screenshot, watchPage } from '../support/browser.ts';
import { caseBody, startHarness, until, type Harness } from '../support/cabinet-harness.ts';

// The clerk station's sign-in in a real Chromium: a person added with a password signs in with name and
// password, works, is audited under their name and signs out; a password made for them is replaced first; a
// page of another site cannot use their session cookie.

let browser: Browser;
let h: Harness;
/** Serves a page that posts a form to the cabinet as soon as it loads: what a hostile site would do. */
let attacker: Server;
let attackerPort: number;

beforeAll(async () => {
  browser = await launchChromium();
  h = await startHarness();
  attacker = createServer((request, response) => {
    const target = new URL(request.url!, 'http://x').searchParams.get('target')!;
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    // text/plain is what a form may send across sites without asking: the body looks like JSON to a lenient server.
    response.end(`<!doctype html><form method="POST" action="${target}" enctype="text/plain"><input name='{"barcode":"CSRF-E2E-1","x":"' value='"}'></form><script>document.forms[0].submit()</script>`);
  });
  await new Promise<void>((r) => attacker.listen(0, '127.0.0.1', r));
  attackerPort = (attacker.address() as AddressInfo).port;
});
afterAll(async () => {
  await browser?.close();
  await h?.stop();
  await new Promise((r) => attacker?.close(r));
});

const poll = <T>(read: () => Promise<T>, ms = 5000) => expect.poll(read, { timeout: ms, interval: 50 });
const base = () => `http://127.0.0.1:${h.controller.apiPort}`;

async function addPerson(name: string, role: Role, password: string, mustChange = false): Promise<void> {
  h.controller.cabinet.context.repos.users.addPerson(name, role, await hashPassword(password), Date.now(), mustChange);
}

type AuditEntry = { actor: string; action: string; data: Record<string, unknown> };
const audit = async () => (await h.call('GET', '/api/v1/audit?limit=1000')).json as AuditEntry[];

async function signIn(page: Page, name: string, password: string): Promise<void> {
  await page.locator('#name').fill(name);
  await page.locator('#password').fill(password);
  await page.locator('#password').press('Enter');
}

const watch = watchPage;

const sessionCookieOf = async (context: BrowserContext) => (await context.cookies(base())).find((c) => c.name === 'govlocker_session');

describe('the clerk station: signing in with a name and a password', () => {
  it('a clerk signs in, loads an item (audited under their name), is safe from another site\'s form, reloads, and signs out', async () => {
    await addPerson('lin', 'clerk', 'lotus pond at dawn');
    expect((await h.call('POST', '/api/v1/cases', caseBody('BY-E2E-SIGNIN-1', [{ type: 'seal', barcode: 'SIGNIN-E2E-1' }, { type: 'invoice', barcode: 'CSRF-E2E-1' }]))).status).toBe(201);
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    const page = await context.newPage();
    const seen = watch(page);
    await page.goto(`${base()}/clerk`);
    // Name and password first, the name field ready to type in; the token sign-in is folded away.
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('name');
    expect(await page.locator('#token').isVisible()).toBe(false);
    await screenshot(page, 'clerk-signin');

    await signIn(page, 'lin', 'not the password');
    await poll(() => page.locator('#loginError').innerText()).toContain('用户名或密码不正确');
    expect(await page.locator('#loginError').innerText()).toContain('The name or the password is wrong');
    expect(await page.locator('#password').getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator('#password').inputValue()).toBe('');
    expect(await page.locator('#main').isVisible()).toBe(false);

    await signIn(page, 'lin', 'lotus pond at dawn');
    await page.locator('#main').waitFor({ state: 'visible' });
    expect(await page.locator('#who').innerText()).toContain('lin');
    await poll(() => page.locator('#live').innerText()).toContain('Live'); // the event stream, by the cookie alone
    await poll(() => page.locator('#grid .cell').count()).toBe(24);
    // The session is in an HttpOnly cookie no script can read, and the tab keeps no token.
    const cookie = await sessionCookieOf(context);
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', secure: false, path: '/', expires: -1 });
    expect(await page.evaluate(() => document.cookie)).not.toContain('govlocker_session');
    expect(await page.evaluate(() => sessionStorage.getItem('govlocker.clerk.token'))).toBeNull();

    // Work: scan an item; the door opens, the item goes in. The audit names the person.
    await page.locator('#barcode').fill('SIGNIN-E2E-1');
    await page.locator('#barcode').press('Enter');
    await poll(() => page.locator('#loadPrompt').innerText()).toContain('请将物品放入');
    const compartment = await until(() => Object.entries(h.sim.model.snapshot()).find(([, d]) => d.open)?.[0], 3000, 'a door open');
    h.sim.model.close(compartment, { occupied: true });
    await poll(() => page.locator('#loadPrompt').innerText()).toContain(`已装入 ${compartment}`);
    const entries = await audit();
    expect(entries.find((e) => e.action === 'staff.signed_in' && e.data.name === 'lin')?.actor).toBe('clerk:lin');
    expect(entries.find((e) => e.action === 'load.started' && e.data.barcode === 'SIGNIN-E2E-1')?.actor).toBe('clerk:lin');

    // Another site's page posts a form to the cabinet in the same browser. From the same site (another port of
    // this host) the cookie goes along, and the cabinet refuses the change; from another site (localhost is
    // not 127.0.0.1) the browser leaves the cookie off (SameSite=Strict), and the cabinet asks for a sign-in.
    const pulses = () => Object.values(h.sim.model.snapshot()).reduce((n, d) => n + d.latchPulses, 0);
    const before = pulses();
    const hostile = await context.newPage();
    for (const [origin, status] of [[`http://127.0.0.1:${attackerPort}`, 403], [`http://localhost:${attackerPort}`, 401]] as const) {
      const answered = hostile.waitForResponse((r) => r.url() === `${base()}/api/v1/loads`);
      await hostile.goto(`${origin}/?target=${encodeURIComponent(`${base()}/api/v1/loads`)}`);
      const answer = await answered;
      expect(answer.status(), origin).toBe(status);
      if (status === 403) expect(await answer.json()).toMatchObject({ code: 'cross-site' });
    }
    await hostile.close();
    expect(pulses()).toBe(before);
    expect((await audit()).filter((e) => e.action === 'load.started' && e.data.barcode === 'CSRF-E2E-1')).toEqual([]);

    // A reload keeps the sign-in (the cookie), without a refused request.
    await page.reload();
    await page.locator('#main').waitFor({ state: 'visible' });
    expect(await page.locator('#who').innerText()).toContain('lin');

    await page.locator('#logout').click();
    await page.locator('#login').waitFor({ state: 'visible' });
    await poll(() => page.locator('#loginError').innerText()).toContain('已退出');
    await poll(async () => (await sessionCookieOf(context)) === undefined).toBe(true);
    expect((await audit()).find((e) => e.action === 'staff.signed_out' && e.data.name === 'lin')?.actor).toBe('clerk:lin');
    // The old cookie is worth nothing now.
    const stale = await fetch(`${base()}/api/v1/me`, { headers: { cookie: `govlocker_session=${cookie!.value}` } });
    expect(stale.status).toBe(401);

    expect(seen.errors()).toEqual([]);
    expect(seen.refusals).toEqual(['401 POST /api/v1/session']);
    await context.close();
  });

  it('a person whose password was made for them sets their own first, then sees the station', async () => {
    await addPerson('gao', 'clerk', 'given by the admin 1', true);
    const context = await browser.newContext({ viewport: { width: 1300, height: 1000 } });
    const page = await context.newPage();
    const seen = watch(page);
    await page.goto(`${base()}/clerk`);
    await signIn(page, 'gao', 'given by the admin 1');
    await page.locator('#passwordSection').waitFor({ state: 'visible' });
    expect(await page.locator('#main').isVisible()).toBe(false);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('pwCurrent');

    // Too short: said next to the new password, with the fix.
    await page.locator('#pwCurrent').fill('given by the admin 1');
    await page.locator('#pwNext').fill('short');
    await page.locator('#pwAgain').fill('short');
    await page.locator('#setPassword').click();
    await poll(() => page.locator('[data-path="next"] .err').innerText()).toContain('use at least 10');
    expect(await page.locator('#pwNext').getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator('#passwordMsg').innerText()).toContain('新密码不符合要求');
    await screenshot(page, 'clerk-set-password');

    // The two new passwords differ: caught on the page.
    await page.locator('#pwNext').fill('my own words for the window');
    await page.locator('#pwAgain').fill('my own words for the windows');
    await page.locator('#setPassword').click();
    await poll(() => page.locator('[data-path="again"] .err').innerText()).toContain('不一致');

    await page.locator('#pwAgain').fill('my own words for the window');
    await page.locator('#setPassword').click();
    await page.locator('#main').waitFor({ state: 'visible' });
    expect(await page.locator('#who').innerText()).toContain('gao');
    await poll(() => page.locator('#grid .cell').count()).toBe(24);
    expect((await audit()).find((e) => e.action === 'staff.password_changed' && e.data.name === 'gao')).toMatchObject({ actor: 'clerk:gao', data: { wasRequired: true } });

    await page.locator('#logout').click();
    await page.locator('#login').waitFor({ state: 'visible' });
    await signIn(page, 'gao', 'my own words for the window');
    await page.locator('#main').waitFor({ state: 'visible' });
    await poll(() => page.locator('#live').innerText()).toContain('Live');

    // Left alone for 15 minutes (the page's own refreshes do not count), the station signs out by itself.
    h.clock.advance(15 * 60_000 + 1000);
    await poll(() => page.locator('#login').isVisible(), 10_000).toBe(true);
    expect(await page.locator('#loginError').innerText()).toContain('登录已结束');
    expect(await page.locator('#main').isVisible()).toBe(false);
    await screenshot(page, 'clerk-session-ended');
    expect(seen.errors()).toEqual([]);
    expect(seen.refusals.slice(0, 1)).toEqual(['400 POST /api/v1/session/password']);
    expect(seen.refusals.slice(1).every((r) => r.startsWith('401 GET /api/v1/'))).toBe(true);
    await context.close();
  });
});
