import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../controller/secrets/password-hash.ts';
import { collectPageErrors, launchChromium, screenshot } from '../support/browser.ts';
import { caseBody, startHarness, until, type Harness } from '../support/cabinet-harness.ts';
import { addUser, simDoor } from '../support/cabinet-steps.ts';

// The clerk station in the hall's workflow, in a real Chromium against the real controller and the simulated
// cabinet: cases arrive from the hall system (an integration token), a department's courier signs in and sees
// only the scan box, the clerk sees where each case came from, takes back what a cancelled case left inside,
// and hears of a courier's refused scan.

let browser: Browser;
let h: Harness;
const HALL = 'hall-system-e2e-token-0123456789';

beforeAll(async () => {
  browser = await launchChromium();
  h = await startHarness();
  h.controller.cabinet.context.repos.users.add('hall-system', 'integration', HALL, Date.now());
  h.controller.cabinet.context.repos.users.addPerson('sun', 'courier', await hashPassword('couriers bring the seals'), Date.now(), false, ['seal']);
});
afterAll(async () => {
  await browser?.close();
  await h?.stop();
});

const poll = <T>(read: () => Promise<T>, ms = 5000) => expect.poll(read, { timeout: ms, interval: 50 });
const base = () => `http://127.0.0.1:${h.controller.apiPort}`;
const hallSends = (caseNo: string, items: { type: string; barcode: string }[]) => h.call('POST', '/api/v1/cases', caseBody(caseNo, items), HALL);

/** Page errors apart from the 4xx answers the test provokes on purpose (Chromium logs those as console errors). */
function watch(page: Page): () => string[] {
  const all = collectPageErrors(page);
  return () => all.filter((e) => !e.startsWith('console: Failed to load resource: the server responded with a status of'));
}

describe('the clerk station in the hall\'s workflow', () => {
  it('a courier signs in and sees only the scan box; loads their seal; an item type not theirs is refused in words', async () => {
    expect((await hallSends('BY-HALL-E2E-1', [{ type: 'seal', barcode: 'HALL-E2E-SEAL' }, { type: 'tax-device', barcode: 'HALL-E2E-TAX' }])).status).toBe(201);
    const page = await browser.newPage({ viewport: { width: 1300, height: 900 } });
    const errors = watch(page);
    await page.goto(`${base()}/clerk`);
    await page.locator('#name').fill('sun');
    await page.locator('#password').fill('couriers bring the seals');
    await page.locator('#password').press('Enter');
    await page.locator('#main').waitFor({ state: 'visible' });

    expect(await page.locator('#who').innerText()).toContain('送件员');
    expect(await page.locator('#loadSection').isVisible()).toBe(true);
    for (const section of ['#caseSection', '#ctlSection', '#overdueSection', '#gridSection', '#alarmSection', '#eventSection']) {
      expect(await page.locator(section).isVisible(), section).toBe(false);
    }
    await poll(() => page.locator('#mayLoad').innerText()).toContain('您可装入：印章');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('barcode');

    await page.locator('#barcode').fill('HALL-E2E-SEAL');
    await page.locator('#barcode').press('Enter');
    await poll(() => page.locator('#loadPrompt').innerText()).toMatch(/请将物品放入 [A-C]\d\d 号格口/);
    const compartment = /([A-C]\d\d)/.exec(await page.locator('#loadPrompt').innerText())![1]!;
    await until(() => simDoor(h, compartment).open, 3000, 'the courier\'s door open');
    h.sim.model.close(compartment, { occupied: true });
    await poll(() => page.locator('#loadPrompt').innerText()).toContain(`已装入 ${compartment} 号格口`);

    await page.locator('#barcode').fill('HALL-E2E-TAX');
    await page.locator('#barcode').press('Enter');
    await poll(() => page.locator('#loadPrompt').innerText()).toContain('不属于您部门可装入的类型');
    expect(await page.locator('#loadPrompt').innerText()).toContain('a tax-device is loaded by a clerk');
    await screenshot(page, 'clerk-courier-view');

    // The courier returns a corrected document for the case to the window: a door opens for it.
    await page.locator('#returnBox summary').click();
    await page.locator('#returnCase').fill('BY-HALL-E2E-1');
    await page.locator('#returnSubmit').click();
    await poll(() => page.locator('#returnMsg').innerText()).toMatch(/请将材料放入 [A-C]\d\d 号格口/);
    const returnDoor = /([A-C]\d\d)/.exec(await page.locator('#returnMsg').innerText())![1]!;
    await until(async () => (await h.call('GET', '/api/v1/compartments')).json.find((c: { id: string }) => c.id === returnDoor)?.door === 'open', 3000, 'the return door seen open');
    h.sim.model.close(returnDoor, { occupied: true });
    await poll(() => page.locator('#returnMsg').innerText()).toContain(`已放入 ${returnDoor} 号格口`);
    // Nothing of the case's applicant reached the courier's page.
    expect(await page.content()).not.toContain('138****8000');
    expect(errors()).toEqual([]);
    await page.close();
  });

  it('the clerk sees the courier\'s refused scan, where a case came from, and takes back what a cancelled case left inside', async () => {
    const clerk = addUser(h, 'li', 'clerk');
    const page = await browser.newPage({ viewport: { width: 1500, height: 1200 } });
    const errors = watch(page);
    await page.goto(`${base()}/clerk`);
    await page.locator('#useToken').click();
    await page.locator('#token').fill(clerk);
    await page.locator('#token').press('Enter');
    await page.locator('#main').waitFor({ state: 'visible' });
    await poll(() => page.locator('#live').innerText()).toContain('Live');

    // The courier's refusal from the first test waits here.
    const alert = page.locator('#alerts li[data-reason="not-your-item-type"]');
    await alert.waitFor({ timeout: 5000 });
    expect(await alert.innerText()).toContain('送件员 sun 扫描 HALL-E2E-TAX（税务UKey）：不是该送件员可装入的物品类型');

    // The courier's return waits in the clerk's list, marked as the department's.
    const returned = page.locator('#deposits tr[data-case="BY-HALL-E2E-1"]');
    await returned.waitFor({ timeout: 5000 });
    expect(await returned.innerText()).toContain('部门');
    expect(await returned.innerText()).toContain('sun');

    // A case from the hall system shows its source; the clerk loads the rest by scanning.
    await page.locator('#ctlCase').fill('BY-HALL-E2E-1');
    await page.locator('#lookup').click();
    await poll(() => page.locator('#caseView').innerText()).toContain('大厅系统推送');
    expect(await page.locator('#caseView').innerText()).toContain('待装入 Awaiting items');
    expect(await page.locator('#caseView [data-barcode="HALL-E2E-SEAL"]').innerText()).toContain('在柜中');

    // The hall system cancels it with the seal inside: it waits in the take-back list, marked cancelled.
    expect((await h.call('POST', '/api/v1/cases/BY-HALL-E2E-1/cancel', undefined, HALL)).status).toBe(200);
    const row = page.locator('#overdue tr[data-case="BY-HALL-E2E-1"]');
    await row.waitFor({ timeout: 5000 });
    expect(await row.innerText()).toContain('已撤销 Cancelled');
    expect(await row.innerText()).toContain('大厅系统推送');
    await page.locator('#lookup').click();
    await poll(() => page.locator('#caseView').innerText()).toContain('已撤销 Cancelled');
    expect(await page.locator('#events').innerText()).toContain('办件已撤销');
    await screenshot(page, 'clerk-hall-cancelled');

    const compartment = /([A-C]\d\d)/.exec(await row.locator('td').nth(4).innerText())![1]!;
    await row.locator('button').click();
    await poll(() => page.locator('#overdueMsg').innerText()).toContain(`请打开 ${compartment} 号格口`);
    await until(() => simDoor(h, compartment).open, 3000, 'the door open for the clerk');
    h.sim.model.close(compartment, { occupied: false });
    await poll(() => page.locator('#overdueMsg').innerText()).toContain('已取回');
    await poll(() => row.count()).toBe(0);

    // A case the hall system sends while the clerk works shows up in the log as such.
    expect((await hallSends('BY-HALL-E2E-2', [{ type: 'invoice', barcode: 'HALL-E2E-INV' }])).status).toBe(201);
    await poll(() => page.locator('#events').innerText()).toContain('大厅系统推送新办件');

    await alert.locator('button').click();
    await poll(() => alert.count()).toBe(0);
    expect(errors()).toEqual([]);
    await page.close();
  });
});
