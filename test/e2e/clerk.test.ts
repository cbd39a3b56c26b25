import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, screenshot, watchPage } from '../support/browser.ts';
import { startHarness, until, type Harness } from '../support/cabinet-harness.ts';
import { addUser, simDoor } from '../support/cabinet-steps.ts';

// The clerk station (/clerk) in a real browser against a real controller and the simulated cabinet: what a
// clerk at the window does in a day, and what the page shows them.

let browser: Browser;
let h: Harness;

beforeAll(async () => {
  browser = await launchChromium();
  h = await startHarness();
});
afterAll(async () => {
  await browser?.close();
  await h?.stop();
});

/** Waits (up to `ms`) for what the page shows to match. */
const poll = <T>(read: () => Promise<T>, ms = 5000) => expect.poll(read, { timeout: ms, interval: 50 });

const watch = watchPage;

/** The pasted-token sign-in sits under "使用令牌登录" (name and password come first). */
async function openTokenSignIn(page: Page): Promise<void> {
  if (!(await page.locator('#tokenLogin').evaluate((d) => (d as HTMLDetailsElement).open))) await page.locator('#useToken').click();
}

async function signIn(page: Page, token: string): Promise<void> {
  await openTokenSignIn(page);
  await page.locator('#token').fill(token);
  await page.locator('#token').press('Enter');
  await page.locator('#main').waitFor({ state: 'visible' });
  await poll(() => page.locator('#live').innerText()).toContain('Live');
}

async function signOut(page: Page): Promise<void> {
  await page.locator('#logout').click();
  await page.locator('#login').waitFor({ state: 'visible' });
}

const cell = (page: Page, id: string) => page.locator(`#grid [data-id="${id}"]`);

/** The door the controller just pulsed open (the simulator's model, not the page, says which). */
async function doorOpenedBy(before: Record<string, { latchPulses: number }>): Promise<string> {
  return until(() => Object.entries(h.sim.model.snapshot()).find(([id, d]) => d.open && d.latchPulses > before[id]!.latchPulses)?.[0], 3000, 'a door pulsed open');
}

describe('the clerk station', () => {
  it('a clerk signs in, creates a case through the form, loads it by scanning, re-sends a code, retrieves it when overdue; ops acknowledge an alarm', async () => {
    const clerk = addUser(h, 'li', 'clerk');
    const ops = addUser(h, 'wang', 'ops');
    const page = await browser.newPage({ viewport: { width: 1500, height: 1100 } });
    const seen = watch(page);
    await page.goto(`http://127.0.0.1:${h.controller.apiPort}/clerk`);

    // A wrong token is refused in words; nothing behind the sign-in shows.
    await openTokenSignIn(page);
    await page.locator('#token').fill('not-a-real-token');
    await page.locator('#token').press('Enter');
    await poll(() => page.locator('#loginError').innerText()).toContain('令牌不正确');
    expect(await page.locator('#main').isVisible()).toBe(false);
    expect(await page.locator('#token').getAttribute('aria-invalid')).toBe('true');

    await signIn(page, clerk);
    expect(await page.locator('#who').innerText()).toContain('li');
    expect(await page.evaluate(() => sessionStorage.getItem('govlocker.clerk.token'))).toBe(clerk);
    await poll(() => page.locator('#grid .cell').count()).toBe(24);
    expect(await cell(page, 'A01').innerText()).toContain('空闲 Empty');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('barcode'); // ready for the scanner

    // The new-case form: a bad phone number is shown next to the phone field, and nothing typed is lost.
    const form = page.locator('#caseForm');
    await form.locator('[name="caseNo"]').fill('BY2026112300901');
    await form.locator('[name="enterprise.name"]').fill('广州市白云某某科技有限公司');
    await form.locator('[name="enterprise.uscc"]').fill('91440101MA5CXY7A25');
    await form.locator('[name="applicant.name"]').fill('张三');
    await form.locator('[name="applicant.phone"]').fill('1380013800');
    await form.locator('[name="applicant.idNumber"]').fill('440106199001011235');
    const rows = form.locator('#items tbody tr');
    await rows.nth(0).locator('[name=type]').selectOption('licence-original');
    await rows.nth(0).locator('[name=barcode]').fill('LIC-E2E-1');
    await rows.nth(0).locator('[name=barcode]').press('Enter'); // a scanner's Enter: next row, no submit
    expect(await rows.count()).toBe(2);
    await rows.nth(1).locator('[name=type]').selectOption('seal');
    await rows.nth(1).locator('[name=barcode]').fill('SEAL-E2E-1');
    await rows.nth(1).locator('[name=label]').fill('公章');
    await page.locator('#createCase').click();

    const phoneError = form.locator('[data-path="applicant.phone"] .err');
    await poll(() => phoneError.innerText()).toMatch(/^手机号码：.*11 digits/);
    expect(await page.locator('#caseMsg').innerText()).toContain('有 1 处需要更正');
    expect(await form.locator('[name="applicant.phone"]').getAttribute('aria-invalid')).toBe('true');
    expect(await form.locator('[data-path="applicant.idNumber"] .err').innerText()).toBe('');
    expect(await form.locator('[name="caseNo"]').inputValue()).toBe('BY2026112300901');
    expect(await form.locator('[name="applicant.phone"]').inputValue()).toBe('1380013800');
    expect(await rows.count()).toBe(2);
    expect(await rows.nth(1).locator('[name=label]').inputValue()).toBe('公章');
    expect((await h.call('GET', '/api/v1/cases/BY2026112300901')).status).toBe(404); // nothing half-written
    await screenshot(page, 'clerk-bad-phone');

    await form.locator('[name="applicant.phone"]').fill('13800138000');
    await page.locator('#createCase').click();
    await poll(() => page.locator('#caseMsg').innerText()).toContain('已创建');
    expect(await phoneError.innerText()).toBe('');
    const created = await h.call('GET', '/api/v1/cases/BY2026112300901');
    expect(created.json).toMatchObject({ state: 'awaiting-items', applicant: { phone: '138****8000' }, items: [{ type: 'licence-original', barcode: 'LIC-E2E-1' }, { type: 'seal', barcode: 'SEAL-E2E-1', label: '公章' }] });

    // The same case number again: 409, said next to the case number.
    await form.locator('[name="caseNo"]').fill('BY2026112300901');
    await form.locator('[name="enterprise.name"]').fill('广州市白云某某科技有限公司');
    await form.locator('[name="enterprise.uscc"]').fill('91440101MA5CXY7A25');
    await form.locator('[name="applicant.name"]').fill('张三');
    await form.locator('[name="applicant.phone"]').fill('13800138000');
    await form.locator('[name="applicant.idNumber"]').fill('440106199001011235');
    await rows.nth(0).locator('[name=barcode]').fill('OTHER-E2E-9');
    await page.locator('#createCase').click();
    await poll(() => page.locator('#caseMsg').innerText()).toContain('已存在');
    expect(await form.locator('[data-path="caseNo"] .err').innerText()).toMatch(/already exists/);
    expect(await form.locator('[name="caseNo"]').inputValue()).toBe('BY2026112300901');

    // An unknown barcode is refused in plain words and opens nothing.
    const barcode = page.locator('#barcode');
    const untouched = h.sim.model.snapshot();
    await barcode.click();
    await page.keyboard.type('NO-SUCH-ITEM');
    await page.keyboard.press('Enter');
    await poll(() => page.locator('#loadPrompt').innerText()).toContain('没有办件在等这个条码');
    expect(Object.values(h.sim.model.snapshot()).map((d) => d.latchPulses)).toEqual(Object.values(untouched).map((d) => d.latchPulses));

    // Scan the first item: the door really opens, the page frames that compartment and says what to do.
    let before = h.sim.model.snapshot();
    await page.keyboard.type('LIC-E2E-1');
    await page.keyboard.press('Enter');
    const compartment = await doorOpenedBy(before);
    await poll(() => page.locator('#loadPrompt').innerText()).toContain(`请将物品放入 ${compartment} 号格口`);
    expect(await page.locator('#loadPrompt').innerText()).toContain(`Put the item in ${compartment} and close the door`);
    await poll(() => cell(page, compartment).getAttribute('class')).toContain('target');
    expect(await page.locator('#grid .cell.target').count()).toBe(1);
    await poll(() => cell(page, compartment).innerText()).toContain('门开 Open'); // live from the door sensor
    expect(await cell(page, compartment).innerText()).toContain('BY2026112300901');
    await screenshot(page, 'clerk-load-door-open');

    h.sim.model.close(compartment, { occupied: true });
    await poll(() => page.locator('#loadPrompt').innerText()).toContain(`已装入 ${compartment}`);
    await poll(() => cell(page, compartment).getAttribute('class')).not.toContain('target');
    expect(await page.locator('#loads li[data-state="committed"]').count()).toBe(1);

    // The seal joins the licence in the same compartment; closing the door makes the case ready.
    before = h.sim.model.snapshot();
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('barcode');
    await page.keyboard.type('SEAL-E2E-1');
    await page.keyboard.press('Enter');
    expect(await doorOpenedBy(before)).toBe(compartment);
    await poll(() => cell(page, compartment).getAttribute('class')).toContain('target');
    h.sim.model.close(compartment, { occupied: true });
    await poll(() => page.locator('#loadPrompt').innerText()).toContain('办件 BY2026112300901 已全部装入');
    expect(await page.locator('#loadPrompt').innerText()).toContain('ready');
    await poll(() => cell(page, compartment).innerText()).toContain('有物品 Loaded');
    expect((await h.call('GET', '/api/v1/cases/BY2026112300901')).json.state).toBe('ready');
    await screenshot(page, 'clerk-case-ready');

    // The grid is live: a door forced at the cabinet shows open, then closed, without a reload.
    h.sim.model.force('C03');
    await poll(() => cell(page, 'C03').getAttribute('data-state')).toBe('open');
    expect(await cell(page, 'C03').innerText()).toContain('门开 Open');
    await poll(() => page.locator('#alarms li[data-kind="door-forced"]').count()).toBe(1);
    const alarmItem = page.locator('#alarms li[data-kind="door-forced"]');
    expect(await alarmItem.innerText()).toContain('C03 柜门被强行打开');
    expect(await alarmItem.locator('button').isDisabled()).toBe(true); // ops acknowledge alarms
    expect(await page.locator('#alarmHint').isVisible()).toBe(true);
    h.sim.model.close('C03');
    await poll(() => cell(page, 'C03').getAttribute('data-state')).toBe('empty');
    expect(await alarmItem.count()).toBe(1); // a closed door does not clear the alarm

    // Re-send: a new code, shown once; the old one no longer counts.
    const first = await h.call('POST', '/api/v1/cases/BY2026112300901/notify');
    expect(first.status).toBe(200);
    await page.locator('#ctlCase').fill('BY2026112300901');
    await page.locator('#notify').click();
    await page.locator('#credential').waitFor({ state: 'visible' });
    const code = await page.locator('#credential [data-field="code"]').innerText();
    expect(code).toMatch(/^\d{8}$/);
    expect(code).not.toBe(first.json.code);
    expect(await page.locator('#credential [data-field="qr"]').innerText()).not.toBe(first.json.qr);
    expect(await page.locator('#credential').innerText()).toContain('仅显示这一次');
    await screenshot(page, 'clerk-credential');
    await page.locator('#hideCredential').click();
    expect(await page.locator('#credential').isVisible()).toBe(false);
    expect(await page.content()).not.toContain(code);

    // A week later the case is overdue: it appears in the list; Retrieve opens its door, framed on the grid.
    h.clock.advance(7 * 24 * 3_600_000 + 1000);
    expect(h.controller.cabinet.services.expiry.sweep()).toEqual(['BY2026112300901']);
    const overdueRow = page.locator('#overdue tr[data-case="BY2026112300901"]');
    await overdueRow.waitFor({ timeout: 5000 });
    expect(await overdueRow.innerText()).toContain(compartment);
    expect(await overdueRow.innerText()).toContain('138****8000');
    before = h.sim.model.snapshot();
    await overdueRow.locator('button').click();
    expect(await doorOpenedBy(before)).toBe(compartment);
    await poll(() => page.locator('#overdueMsg').innerText()).toContain(`请打开 ${compartment} 号格口`);
    await poll(() => cell(page, compartment).getAttribute('class')).toContain('target');
    expect(await cell(page, compartment).innerText()).toContain('取出');
    await screenshot(page, 'clerk-retrieve');
    h.sim.model.close(compartment, { occupied: false });
    await poll(() => page.locator('#overdueMsg').innerText()).toContain('已取回');
    await poll(() => overdueRow.count()).toBe(0);
    await poll(() => cell(page, compartment).getAttribute('data-state')).toBe('empty');
    expect((await page.locator('#grid .cell.target').count())).toBe(0);
    expect((await h.call('GET', '/api/v1/cases/BY2026112300901')).json.state).toBe('retrieved');
    expect(simDoor(h, compartment).open).toBe(false);

    // Log out: the token leaves the tab; ops sign in at the same screen and acknowledge the alarm.
    await signOut(page);
    expect(await page.evaluate(() => sessionStorage.getItem('govlocker.clerk.token'))).toBeNull();
    expect(await page.locator('#main').isVisible()).toBe(false);
    await signIn(page, ops);
    expect(await page.locator('#loadSection').isVisible()).toBe(false); // ops do not load
    const opsAlarm = page.locator('#alarms li[data-kind="door-forced"]');
    await opsAlarm.waitFor();
    await opsAlarm.locator('input').fill('保洁碰到，已核对');
    await opsAlarm.locator('button').click();
    await poll(() => page.locator('#alarmMsg').innerText()).toContain('已确认');
    await poll(() => page.locator('#alarms li').count()).toBe(0);
    expect((await h.call('GET', '/api/v1/alarms', undefined, ops)).json).toEqual([]);
    const audit = (await h.call('GET', '/api/v1/audit?limit=1000', undefined, ops)).json as { actor: string; action: string; data: Record<string, unknown> }[];
    expect(audit.find((a) => a.action === 'alarm.acknowledged')).toMatchObject({ actor: 'ops:wang', data: { note: '保洁碰到，已核对' } });
    await screenshot(page, 'clerk-ops-alarm-acknowledged');

    expect(seen.errors()).toEqual([]);
    expect(seen.refusals).toEqual(['401 GET /api/v1/me', '400 POST /api/v1/cases', '409 POST /api/v1/cases', '404 POST /api/v1/loads']);
    await page.close();
  });

  it('refusals and a lost lock board are said in plain words, and a reload keeps the sign-in', async () => {
    const clerk = addUser(h, 'zhao', 'clerk');
    const page = await browser.newPage({ viewport: { width: 1300, height: 1000 } });
    const seen = watch(page);
    await page.goto(`http://127.0.0.1:${h.controller.apiPort}/clerk`);
    await signIn(page, clerk);
    await page.reload();
    await page.locator('#main').waitFor({ state: 'visible' });
    expect(await page.locator('#who').innerText()).toContain('zhao');

    const created = await h.call('POST', '/api/v1/cases', {
      caseNo: 'BY2026112300902', enterprise: { name: '广州市白云某某科技有限公司', uscc: '91440101MA5CXY7A25' },
      applicant: { name: '李四', phone: '13800138000', idNumber: '440106199001011235' }, items: [{ type: 'tax-device', barcode: 'TAX-E2E-2' }],
    }, clerk);
    expect(created.status).toBe(201);

    h.sim.firmata.disconnect();
    await poll(() => page.locator('#banner').innerText()).toContain('锁控板未连接');
    expect(await page.locator('#hardware').innerText()).toContain('Lock board lost');
    await page.locator('#barcode').fill('TAX-E2E-2');
    await page.locator('#barcode').press('Enter');
    await poll(() => page.locator('#loadPrompt').innerText()).toContain('锁控板未连接，柜门打不开');
    expect(await page.locator('#grid .cell.target').count()).toBe(0);
    await screenshot(page, 'clerk-board-lost');

    h.sim.firmata.connect();
    await until(async () => (await h.call('GET', '/api/v1/health', undefined, null)).json.hardware === 'ok', 10_000, 'board back');
    await poll(() => page.locator('#banner').isVisible()).toBe(false);

    // Re-sending for a case whose items are not all in is refused, and no code is shown.
    await page.locator('#ctlCase').fill('BY2026112300902');
    await page.locator('#notify').click();
    await poll(() => page.locator('#ctlMsg').innerText()).toContain('物品尚未全部装入');
    expect(await page.locator('#credential').isVisible()).toBe(false);

    expect(seen.errors()).toEqual([]);
    expect(seen.refusals).toEqual(['503 POST /api/v1/loads', '409 POST /api/v1/cases/BY2026112300902/notify']);
    await page.close();
  });
});

describe('the clerk station and the pickup guard', () => {
  it('shows a lockout after wrong codes, and after the daily ceiling lets a clerk resume code entry', async () => {
    const guarded = await startHarness({ config: { policy: { dailyFailureCeiling: 10, kioskRequestsPer10s: 10_000 } } });
    const page = await browser.newPage({ viewport: { width: 1300, height: 1000 } });
    try {
      const seen = watch(page);
      const clerk = addUser(guarded, 'sun', 'clerk');
      await page.goto(`http://127.0.0.1:${guarded.controller.apiPort}/clerk`);
      await signIn(page, clerk);
      expect(await page.locator('#guard').isVisible()).toBe(false);

      const wrong = () => guarded.call('POST', '/api/v1/kiosk/pickup', { code: '00000000', idSuffix: '011235' }, null);
      for (let i = 0; i < 5; i++) await wrong();
      await poll(() => page.locator('#guardText').innerText()).toContain('取件暂时锁定');
      expect(await page.locator('#resume').isVisible()).toBe(false); // a lockout lapses by itself

      for (let i = 0; i < 100 && !(await guarded.call('GET', '/api/v1/pickup-guard')).json.suspended; i++) {
        const r = await wrong();
        if (r.json.reason === 'locked-out') guarded.clock.advance(r.json.retryAfterSeconds * 1000 + 1);
      }
      await poll(() => page.locator('#guardText').innerText()).toContain('已停止自助取件');
      await poll(() => page.locator('#alarms li[data-kind="daily-ceiling"]').count()).toBe(1);
      await screenshot(page, 'clerk-code-entry-stopped');

      await page.locator('#resume').click();
      await poll(() => page.locator('#alarmMsg').innerText()).toContain('已恢复取件码输入');
      await poll(() => page.locator('#guard').isVisible()).toBe(false);
      expect((await guarded.call('GET', '/api/v1/pickup-guard')).json.suspended).toBe(false);
      expect(seen.errors()).toEqual([]);
      expect(seen.refusals).toEqual([]);
    } finally {
      await page.close();
      await guarded.stop();
    }
  });
});
