import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { CHROMIUM_BIN, collectPageErrors, screenshot } from '../support/browser.ts';
import { caseBody, ID_SUFFIX, until } from '../support/cabinet-harness.ts';
import { call, freePorts, killAllChildren, runGovlocker, spawnGovlocker } from '../support/govlocker-process.ts';

// A hall's install, as its IT staff and its first clerk go through it, with every part real and separate:
// the emulated lock-board bus in one process (`govlocker simulate --board kerong-cu`), `govlocker provision`,
// `govlocker tls self-signed`, then `govlocker controller` on that config over HTTPS. In Chromium (which trusts
// exactly that certificate) the first admin signs in with the printed one-time password, replaces it, creates a
// case and loads its item by scanning; the applicant collects it at the kiosk on the loopback listener.

const dirs: string[] = [];
let browser: Browser | undefined;
afterAll(async () => {
  await browser?.close();
  killAllChildren();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const poll = <T>(read: () => Promise<T>, ms = 8000) => expect.poll(read, { timeout: ms, interval: 50 });

/** What a browser pins to trust one certificate: the SHA-256 of its public key (SPKI), base64. */
function spkiPin(certFile: string): string {
  const der = new X509Certificate(readFileSync(certFile)).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('base64');
}

/** A same-origin request from the signed-in page, as the page's own scripts make them (the cookie goes along). */
async function fromPage(page: Page, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  return page.evaluate(async ({ method, path, body }) => {
    const r = await fetch(path, { method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: r.status, json: await r.json().catch(() => null) };
  }, { method, path, body });
}

describe('provision → HTTPS → sign in → load → pick up', () => {
  it('a provisioned cabinet on HTTPS is set up, loaded and emptied through its pages', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'govlocker-install-'));
    dirs.push(dir);
    const sim = spawnGovlocker(['simulate', '--board', 'kerong-cu'], { ...freePorts, GOVLOCKER_DATA_DIR: join(dir, 'sim') });
    await until(() => /lock boards \(TCP\)\s+127\.0\.0\.1:\d+/.test(sim.stdout()), 20_000, `the simulator's banner (output: ${sim.output()})`);
    const busPort = Number(/lock boards \(TCP\)\s+127\.0\.0\.1:(\d+)/.exec(sim.stdout())![1]);
    const control = /control API and page\s+(http:\/\/\S+)\//.exec(sim.stdout())![1]!;

    // The config the installer edited: the hardware and the compartments. Provisioning fills in the rest.
    const configFile = join(dir, 'cabinet.json');
    const dataDir = join(dir, 'data');
    writeFileSync(configFile, JSON.stringify({
      api: { host: '127.0.0.1', port: 0 },
      scanner: null,
      hardware: { driver: 'lockboard', bus: { protocol: 'kerong-cu', transport: { kind: 'tcp', host: '127.0.0.1', port: busPort } } },
      compartments: [{ id: 'A01', size: 'S', board: 0, channel: 1 }, { id: 'C01', size: 'L', board: 1, channel: 1 }],
    }), { mode: 0o600 });
    const provisioned = await runGovlocker(['provision', '--data', dataDir, '--cabinet', 'BY-E2E-01', '--admin', 'li.na', '--config', configFile], {}, 20_000);
    expect(provisioned.code, provisioned.stderr).toBe(0);
    const oneTime = /one-time password.*:\n\s+(\S+)/.exec(provisioned.stdout)![1]!;
    const tls = await runGovlocker(['tls', 'self-signed', '--data', dataDir, '--host', '127.0.0.1'], {}, 20_000);
    expect(tls.code, tls.stderr).toBe(0);
    const cert = join(dataDir, 'tls', 'cert.pem');
    const config = JSON.parse(readFileSync(configFile, 'utf8'));
    config.api.tls = { cert, key: join(dataDir, 'tls', 'key.pem'), kioskPort: 0 };
    writeFileSync(configFile, JSON.stringify(config));

    const controller = spawnGovlocker(['controller', '--config', configFile], { GOVLOCKER_LOG_LEVEL: 'warn' });
    await until(() => /admin API\s+https:\/\/\S+\/api\/v1/.test(controller.stdout()) && /kiosk\s+http:\/\/127\.0\.0\.1:\d+\/kiosk/.test(controller.stdout()), 20_000, `the controller's banner (output: ${controller.output()})`);
    const origin = new URL(/admin API\s+(https:\/\/\S+)\/api\/v1/.exec(controller.stdout())![1]!).origin;
    const kiosk = /kiosk\s+(http:\/\/127\.0\.0\.1:\d+\/kiosk)/.exec(controller.stdout())![1]!;
    // Nothing of the admin API on plain HTTP at the HTTPS port.
    await expect(fetch(origin.replace('https:', 'http:') + '/api/v1/health')).rejects.toThrow();

    browser = await chromium.launch({
      executablePath: CHROMIUM_BIN, headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', `--ignore-certificate-errors-spki-list=${spkiPin(cert)}`],
    });
    const context = await browser.newContext({ locale: 'zh-CN' });
    const page = await context.newPage();
    const errors = collectPageErrors(page);

    // The first admin's one-time password, then a password of their own.
    await page.goto(`${origin}/clerk`);
    await page.locator('#name').fill('li.na');
    await page.locator('#password').fill(oneTime);
    await page.locator('#password').press('Enter');
    await page.locator('#passwordSection').waitFor({ state: 'visible' });
    await page.locator('#pwCurrent').fill(oneTime);
    await page.locator('#pwNext').fill('白云大厅三号柜的钥匙');
    await page.locator('#pwAgain').fill('白云大厅三号柜的钥匙');
    await page.locator('#setPassword').click();
    await page.locator('#main').waitFor({ state: 'visible' });
    expect(await page.locator('#who').innerText()).toContain('li.na');
    const [cookie] = (await context.cookies()).filter((c) => c.name === 'govlocker_session');
    expect(cookie).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Strict' });

    // A case (as the clerk station's form posts it), then its item loaded by scanning at the station.
    const created = await fromPage(page, 'POST', '/api/v1/cases', caseBody('BY-E2E-CASE-1', [{ type: 'seal', barcode: 'SEAL-E2E-INSTALL', label: '公章' }]));
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    await page.locator('#barcode').fill('SEAL-E2E-INSTALL');
    await page.locator('#barcode').press('Enter');
    await poll(() => page.locator('#loadPrompt').innerText()).toMatch(/请将物品放入 \w+ 号格口/);
    const compartment = /请将物品放入 (\w+) 号格口/.exec(await page.locator('#loadPrompt').innerText())![1]!;
    // The doors are polled (every 250 ms): a person shuts a door only after the cabinet has seen it open.
    const seenOpen = async () => ((await fromPage(page, 'GET', '/api/v1/compartments')).json as { id: string; door: string }[]).find((c) => c.id === compartment)?.door === 'open';
    await until(seenOpen, 8000, 'the controller to see the door open for the load');
    expect((await call(`${control}/sim/doors/${compartment}/close`, { method: 'POST', body: { occupied: true } })).status).toBe(200);
    await poll(() => page.locator('#loadPrompt').innerText()).toContain(`办件 BY-E2E-CASE-1 已全部装入（${compartment}）`);
    await screenshot(page, 'install-clerk-loaded-over-https');
    const { json: notified } = await fromPage(page, 'POST', '/api/v1/cases/BY-E2E-CASE-1/notify');
    const code = notified.code as string;
    expect(code).toMatch(/^\d{8}$/);

    // The applicant at the cabinet's own screen: the kiosk listener, plain HTTP on loopback.
    const screen = await context.newPage();
    const screenErrors = collectPageErrors(screen);
    await screen.goto(kiosk);
    await screen.locator('#entry').waitFor({ state: 'visible' });
    await screen.keyboard.type(code);
    await screen.keyboard.press('Enter');
    await poll(() => screen.locator('#prompt').innerText()).toContain('身份证号码后6位');
    await screen.keyboard.type(ID_SUFFIX);
    await screen.keyboard.press('Enter');
    await until(async () => (await call(`${control}/sim/state`)).json.doors[compartment].open, 8000, 'the door open for the applicant');
    await until(seenOpen, 8000, 'the controller to see the door open for the pickup');
    expect((await call(`${control}/sim/doors/${compartment}/close`, { method: 'POST', body: { occupied: false } })).status).toBe(200);
    await poll(async () => (await fromPage(page, 'GET', '/api/v1/cases/BY-E2E-CASE-1')).json.state).toBe('collected');

    // Everything the admin did is in the audit chain under their name; the chain verifies offline afterwards.
    const audit = (await fromPage(page, 'GET', '/api/v1/audit?limit=1000')).json as { actor: string; action: string }[];
    const mine = audit.filter((e) => e.actor === 'admin:li.na').map((e) => e.action);
    expect(mine).toEqual(expect.arrayContaining(['staff.signed_in', 'staff.password_changed', 'case.created']));
    await page.locator('#logout').click();
    await page.locator('#login').waitFor({ state: 'visible' });
    expect(errors.filter((e) => !e.includes('the server responded with a status of'))).toEqual([]);
    expect(screenErrors.filter((e) => !e.includes('the server responded with a status of'))).toEqual([]);

    const exit = await controller.terminate('SIGTERM', 8000);
    expect(exit.code, controller.output()).toBe(0);
    const verified = await runGovlocker(['audit', 'verify', '--data', dataDir], {}, 20_000);
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);
    await sim.interrupt(8000);
  });
});
