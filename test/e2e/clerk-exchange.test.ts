import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectPageErrors, launchChromium, screenshot } from '../support/browser.ts';
import { caseBody, ID_SUFFIX, startHarness, until, type Harness } from '../support/cabinet-harness.ts';
import { addUser, loadItem, simDoor } from '../support/cabinet-steps.ts';

// The clerk station's side of the hall's two-way exchange, in a real Chromium against the real controller and
// the simulated cabinet: a case typed with an agent (代办人), a document an applicant deposited at the kiosk
// taken out by the clerk, and a case the applicant sent back at the doors waiting in the take-back list.

let browser: Browser;
let h: Harness;
let page: Page;
let errors: () => string[];

beforeAll(async () => {
  browser = await launchChromium();
  h = await startHarness();
  page = await browser.newPage({ viewport: { width: 1500, height: 1300 } });
  const all = collectPageErrors(page);
  // 4xx answers the test provokes on purpose are logged by Chromium as console errors.
  errors = () => all.filter((e) => !e.startsWith('console: Failed to load resource: the server responded with a status of'));
  await page.goto(`http://127.0.0.1:${h.controller.apiPort}/clerk`);
  await page.locator('#useToken').click();
  await page.locator('#token').fill(addUser(h, 'zhou', 'clerk'));
  await page.locator('#token').press('Enter');
  await page.locator('#main').waitFor({ state: 'visible' });
  await page.locator('#live', { hasText: 'Live' }).waitFor({ timeout: 5000 });
});
afterAll(async () => {
  await browser?.close();
  await h?.stop();
});

const poll = <T>(read: () => Promise<T>, ms = 5000) => expect.poll(read, { timeout: ms, interval: 50 });
const kiosk = (path: string, body: unknown) => h.call('POST', `/api/v1/kiosk/${path}`, body, null);
const seenOpen = (id: string) => until(async () => (await h.call('GET', '/api/v1/compartments')).json.find((c: { id: string }) => c.id === id)?.door === 'open', 3000, `${id} seen open`);

describe('the clerk station in the two-way exchange', () => {
  it('types a case with an agent; a wrong agent ID number is marked on its field; the case shows the agent masked', async () => {
    const fill = async (name: string, value: string) => page.locator(`#caseForm [name="${name}"]`).fill(value);
    await fill('caseNo', 'BY-AGENT-E2E');
    await fill('enterprise.name', '广州市白云某某科技有限公司');
    await fill('enterprise.uscc', '91440101MA5CXY7A25');
    await fill('applicant.name', '张三');
    await fill('applicant.phone', '13800138000');
    await fill('applicant.idNumber', '440106199001011235');
    await page.locator('#items [name=barcode]').first().fill('AGENT-E2E-SEAL');
    await page.locator('#agentBox summary').click();
    await fill('agent.name', '李四');
    await fill('agent.idNumber', '440106198512310022');
    await page.locator('#createCase').click();
    const field = page.locator('#caseForm [data-path="agent.idNumber"] .err');
    await poll(() => field.innerText()).toContain('代办人身份证号码');
    expect(await page.locator('#f-agent-idNumber').getAttribute('aria-invalid')).toBe('true');

    await fill('agent.idNumber', '44010619851231003X');
    await page.locator('#createCase').click();
    await poll(() => page.locator('#caseMsg').innerText()).toContain('办件 BY-AGENT-E2E 已创建');
    await page.locator('#ctlCase').fill('BY-AGENT-E2E');
    await page.locator('#lookup').click();
    await poll(() => page.locator('#caseView').innerText()).toContain('代办人 李* 440106********003X');
    expect(await page.content()).not.toContain('44010619851231003X');
  });

  it('lists a document deposited at the kiosk and opens its door for the clerk to take it out', async () => {
    expect((await h.call('POST', '/api/v1/cases', caseBody('BY-DEPOSIT-E2E', [{ type: 'seal', barcode: 'DEP-E2E-SEAL' }]))).status).toBe(201);
    const deposited = await kiosk('deposit', { caseNo: 'BY-DEPOSIT-E2E', idSuffix: ID_SUFFIX });
    const compartment = deposited.json.compartment as string;
    await seenOpen(compartment);
    h.sim.model.close(compartment, { occupied: true });

    const row = page.locator('#deposits tr[data-case="BY-DEPOSIT-E2E"]');
    await row.waitFor({ timeout: 5000 });
    expect(await row.innerText()).toContain(compartment);
    expect(await row.innerText()).toContain('申请人');
    expect(await page.locator('#events').innerText()).toContain('收到申请人递交的材料');
    await screenshot(page, 'clerk-deposit-waiting');

    await row.locator('button').click();
    await poll(() => page.locator('#depositMsg').innerText()).toContain(`请打开 ${compartment} 号格口`);
    await until(() => simDoor(h, compartment).open, 3000, 'the door open for the clerk');
    await seenOpen(compartment);
    h.sim.model.close(compartment, { occupied: false });
    await poll(() => page.locator('#depositMsg').innerText()).toContain('材料已取出');
    await poll(() => row.count()).toBe(0);
    expect(await page.locator('#depositsEmpty').isVisible()).toBe(true);
  });

  it('shows a case sent back at the doors with its reasons in the take-back list, raises its alarm, and takes the items back', async () => {
    expect((await h.call('POST', '/api/v1/cases', caseBody('BY-RETURN-E2E', [{ type: 'invoice', barcode: 'RET-E2E-INV' }]))).status).toBe(201);
    const compartment = await loadItem(h, 'RET-E2E-INV');
    const { code } = (await h.call('POST', '/api/v1/cases/BY-RETURN-E2E/notify')).json;
    expect((await kiosk('pickup', { code, idSuffix: ID_SUFFIX })).json.result).toBe('opened');
    await seenOpen(compartment);
    expect((await kiosk('return', { caseNo: 'BY-RETURN-E2E', reasons: ['damaged', 'missing-item'] })).json.result).toBe('accepted');
    h.sim.model.close(compartment, { occupied: true });

    const row = page.locator('#overdue tr[data-case="BY-RETURN-E2E"]');
    await row.waitFor({ timeout: 5000 });
    expect(await row.innerText()).toContain('已退回 Returned');
    expect(await row.innerText()).toContain('物品破损、缺少材料');
    await poll(() => page.locator('#alarms').innerText()).toContain('申请人在柜前退回了物品');
    await screenshot(page, 'clerk-case-returned');

    await row.locator('button').click();
    await until(() => simDoor(h, compartment).open, 3000, 'the door open for the clerk');
    await seenOpen(compartment);
    h.sim.model.close(compartment, { occupied: false });
    await poll(() => page.locator('#overdueMsg').innerText()).toContain('已取回');
    await poll(() => row.count()).toBe(0);
    expect(errors()).toEqual([]);
  });
});
