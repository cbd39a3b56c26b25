import { readFileSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { returnReasons } from '../../controller/domain/types.ts';
import { CardRead } from '../../firmware-bridge/idcard/card-read.ts';
import { launchChromium, screenshot, textLegibility } from '../support/browser.ts';
import { lastSpoken, shown, spoken, tap, tapOk, text, visible, waitText, openKioskScreen } from '../support/kiosk-page.ts';
import { caseBody, ID_SUFFIX, startHarness, until, type Harness, type HarnessOptions } from '../support/cabinet-harness.ts';
import { FULL_ID_NUMBER, FULL_PHONE, loadItem, readyCase, simDoor } from '../support/cabinet-steps.ts';

// The hall's two-way exchange on the applicant's screen (/kiosk) in headless Chromium, against the real
// controller and the simulated cabinet: a missing document handed in at the kiosk (递交补充材料), and items sent
// back at the open doors (材料有误，退回窗口). What the applicant sees, hears and taps, and what the cabinet did.

const WINDOW = '3';
const CASE = 'BY-2026-0417';

let browser: Browser;
let h: Harness | null = null;
let context: BrowserContext | null = null;
let errors: string[] = [];

beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});
afterEach(async () => {
  await context?.close();
  context = null;
  await h?.stop();
  h = null;
  expect(errors, 'the page logged errors').toEqual([]);
});

async function cabinet(options: HarnessOptions = {}): Promise<Harness> {
  h = await startHarness({ ...options, config: { ...options.config, policy: { helpWindow: WINDOW } } });
  return h;
}

async function openKiosk(harness: Harness): Promise<Page> {
  const opened = await openKioskScreen(browser, harness.controller.apiPort, WINDOW);
  ({ context, errors } = opened);
  return opened.page;
}

/** Waits until the controller itself has seen the door open (a polled board misses a door opened and shut between polls). */
const seenOpen = (harness: Harness, id: string) => until(async () => (await harness.call('GET', '/api/v1/compartments')).json.find((c: { id: string }) => c.id === id)?.door === 'open', 3000, `${id} seen open`);
const events = (harness: Harness, type: string) => harness.controller.cabinet.store.outbox.after(0, 100_000).filter((e) => e.type === type).map((e) => e.data);
const pulses = (harness: Harness) => Object.values(harness.sim.model.snapshot()).reduce((n, d) => n + d.latchPulses, 0);

/** Every visible text large and in high contrast (the helpers measure it as the browser lays it out). */
async function legible(page: Page, screen: string): Promise<void> {
  const found = await textLegibility(page);
  expect(found.length, screen).toBeGreaterThan(5);
  for (const f of found) {
    expect(f.size, `${screen}: "${f.text}" font size`).toBeGreaterThanOrEqual(24);
    expect(f.contrast, `${screen}: "${f.text}" contrast`).toBeGreaterThanOrEqual(4.5);
  }
}

/** A pickup by code and ID suffix on the page, up to every door open and seen open by the controller. */
async function pickUp(harness: Harness, page: Page, ready: { code: string; compartments: string[] }): Promise<void> {
  await tap(page, ready.code);
  await tapOk(page);
  await waitText(page, '#prompt', '身份证号码后6位');
  await tap(page, ID_SUFFIX);
  await tapOk(page);
  await waitText(page, '#door-line', '号柜格取件');
  for (const id of ready.compartments) {
    await until(() => simDoor(harness, id).open, 3000, `door ${id} open`);
    await seenOpen(harness, id);
  }
}

describe('递交补充材料 (a missing document handed in) on the kiosk page', () => {
  it('the applicant taps the button, types the case number and ID suffix: a wrong suffix is refused with the tries left, the right one opens a compartment named on screen and aloud, and the door shutting is received', async () => {
    const harness = await cabinet();
    expect((await harness.call('POST', '/api/v1/cases', caseBody(CASE, [{ type: 'seal', barcode: 'EX-SEAL' }]))).status).toBe(201);
    const page = await openKiosk(harness);
    expect(await text(page, '#deposit')).toBe('递交补充材料（容缺材料）');
    await screenshot(page, 'kiosk-deposit-start');

    await page.locator('#deposit').tap();
    await waitText(page, '#prompt', '请输入办件编号');
    expect(await text(page, '#flow')).toBe('递交补充材料：放入柜子，由窗口工作人员接收');
    expect(await lastSpoken(page)).toEqual({ text: await shown(page, '#flow', '#prompt'), lang: 'zh-CN' });
    expect(await visible(page, '#deposit')).toBe(false);
    // A keyboard works too: letters come out upper-case, "-" types, Enter goes on.
    await page.keyboard.type(CASE.toLowerCase());
    expect(await text(page, '#entry')).toBe(CASE);
    await legible(page, 'deposit: case number');
    await page.keyboard.press('Enter');
    const idPrompt = await waitText(page, '#prompt', '申请人或代办人身份证号码后6位');
    expect(await lastSpoken(page)).toEqual({ text: idPrompt, lang: 'zh-CN' });

    // Someone else's ID suffix: the same words as a wrong case number, and the case number kept to be checked.
    const before = pulses(harness);
    await tap(page, '00000X');
    expect(await page.locator('#entry span').allTextContents()).toEqual(['●', '●', '●', '●', '●', '●']);
    await tapOk(page);
    expect(await waitText(page, '#refusal-what', '不正确')).toBe('办件编号或身份证号码后6位不正确。');
    expect(await text(page, '#refusal-next')).toBe('请核对受理回执上的办件编号后重新输入，还可以再试 4 次。');
    expect(await lastSpoken(page)).toEqual({ text: await shown(page, '#refusal-what', '#refusal-next'), lang: 'zh-CN' });
    expect((await spoken(page)).filter((s) => s.text.includes('不正确'))).toHaveLength(1); // the stream's echo is not said again
    expect(await text(page, '#entry')).toBe(CASE);
    expect(await text(page, '#flow')).toBe('递交补充材料：放入柜子，由窗口工作人员接收');
    expect(pulses(harness)).toBe(before);
    expect(harness.controller.cabinet.services.pickup.guardStatus().consecutiveFailures).toBe(1);
    await screenshot(page, 'kiosk-deposit-refused');

    // The right one, tapped on the keypad: a compartment that takes a document opens, named on the map.
    await tapOk(page);
    await waitText(page, '#prompt', '身份证号码后6位');
    await tap(page, ID_SUFFIX);
    await tapOk(page);
    const doorLine = await waitText(page, '#door-line', /^请将材料放入 [A-Z]\d+ 号格口，然后关门$/);
    const compartment = doorLine.match(/放入 ([A-Z]\d+) 号/)![1]!;
    expect(['M', 'L']).toContain(harness.controller.cabinet.config.compartments.find((c) => c.id === compartment)!.size);
    expect(await page.locator('#map div.target').evaluateAll((cells) => cells.map((c) => (c as HTMLElement).dataset.id))).toEqual([compartment]);
    expect(await text(page, '#items-line')).toBe(`办件编号：${CASE}`);
    expect(await visible(page, '#send-back-start')).toBe(false);
    expect((await spoken(page)).filter((s) => s.text.includes('号格口'))).toEqual([{ text: doorLine, lang: 'zh-CN' }]);

    // The door really opens; the map says so; the applicant puts the document in and shuts it.
    await until(() => simDoor(harness, compartment).open, 3000, 'the deposit door open');
    await seenOpen(harness, compartment);
    await waitText(page, `#map div[data-id="${compartment}"]`, '已开');
    await legible(page, 'deposit: door open');
    await screenshot(page, 'kiosk-deposit-open');
    harness.sim.model.close(compartment, { occupied: true });

    const notice = await waitText(page, '#notice', '材料已收到');
    expect(notice).toBe('材料已收到，工作人员会尽快处理。');
    expect(await lastSpoken(page)).toEqual({ text: await shown(page, '#notice', '#prompt'), lang: 'zh-CN' });
    expect(await text(page, '#prompt')).toBe('请扫描取件二维码，或输入8位取件码');
    expect(await visible(page, '#screen-rate')).toBe(false);
    await screenshot(page, 'kiosk-deposit-received');
    const waiting = await harness.call('GET', '/api/v1/deposits');
    expect(waiting.json).toEqual([expect.objectContaining({ caseNo: CASE, compartment, state: 'received', depositor: 'applicant' })]);
    const wire = await page.locator('body').innerText();
    for (const secret of [FULL_ID_NUMBER, ID_SUFFIX, FULL_PHONE]) expect(wire).not.toContain(secret);
  });

  it('in English too, with the ID card on the reader instead of the typed suffix', async () => {
    const harness = await cabinet();
    expect((await harness.call('POST', '/api/v1/cases', caseBody(CASE, [{ type: 'seal', barcode: 'EX-SEAL' }]))).status).toBe(201);
    const page = await openKiosk(harness);
    await page.locator('#lang').tap();
    expect(await text(page, '#deposit')).toBe('Hand in a missing document');
    await page.locator('#deposit').tap();
    await waitText(page, '#prompt', 'Type your case number');
    expect(await text(page, '#flow')).toBe('Hand in a missing document: the window staff collect it from the cabinet');
    await tap(page, CASE);
    expect(await text(page, '#keys button[data-key="ok"]')).toBe('Next');
    await tapOk(page);
    await waitText(page, '#prompt', "applicant's or agent's ID number");
    // The card on the reader answers the question at once (the page's card mechanism, as for a pickup).
    harness.controller.cabinet.services.idCards.cardRead(new CardRead(FULL_ID_NUMBER, 'long-term'));
    const doorLine = await waitText(page, '#door-line', /^Put the document in compartment [A-Z]\d+, then close the door$/);
    expect(await lastSpoken(page)).toEqual({ text: doorLine, lang: 'en-US' });
    const bodyText = await page.locator('body').innerText();
    expect(bodyText.replace(/中文/g, '')).not.toMatch(/[\u4e00-\u9fff]/);
    expect(bodyText).not.toContain(FULL_ID_NUMBER);
    const compartment = doorLine.match(/compartment ([A-Z]\d+),/)![1]!;
    await seenOpen(harness, compartment);
    harness.sim.model.close(compartment, { occupied: true });
    expect(await waitText(page, '#notice', 'Received')).toBe('Received: the window staff will take it from here.');
    expect(events(harness, 'deposit.received')).toEqual([expect.objectContaining({ caseNo: CASE, compartment, by: 'applicant' })]);
  });

  it('no free compartment, a lockout and every other refusal are said in plain words with the window', async () => {
    // One small and one medium compartment; the medium one holds an invoice: nothing free takes a document.
    const harness = await cabinet({ config: { compartments: [{ id: 'A01', size: 'S', lockChannel: 2, doorSensor: 3 }, { id: 'A02', size: 'M', lockChannel: 4, doorSensor: 5 }] } });
    expect((await harness.call('POST', '/api/v1/cases', caseBody(CASE, [{ type: 'invoice', barcode: 'EX-INV' }]))).status).toBe(201);
    await loadItem(harness, 'EX-INV');
    const page = await openKiosk(harness);
    const deposit = async (idSuffix: string) => {
      await page.locator('#deposit').tap();
      await tap(page, CASE);
      await tapOk(page);
      await waitText(page, '#prompt', '身份证号码后6位');
      await tap(page, idSuffix);
      await tapOk(page);
    };
    await deposit(ID_SUFFIX);
    expect(await waitText(page, '#refusal-what', '暂无可用格口')).toBe('暂无可用格口。');
    expect(await text(page, '#refusal-next')).toBe(`请到 ${WINDOW} 号窗口办理。`);
    expect(await lastSpoken(page)).toEqual({ text: await shown(page, '#refusal-what', '#refusal-next'), lang: 'zh-CN' });
    expect(await text(page, '#prompt')).toBe('请扫描取件二维码，或输入8位取件码');
    await screenshot(page, 'kiosk-deposit-no-compartment');

    // Four mistakes already made on this cabinet; the fifth pauses self-service for a while.
    for (let i = 0; i < 4; i++) harness.controller.cabinet.services.deposits.deposit({ caseNo: CASE, idSuffix: '000000' });
    await deposit('000000');
    expect(await waitText(page, '#refusal-what', '自助服务已暂停')).toBe('输错次数过多，自助服务已暂停。');
    expect(await text(page, '#refusal-next')).toBe(`请等待 1 分钟后再试；也可到 ${WINDOW} 号窗口递交材料。`);
    await page.locator('#lang').tap();
    expect(await text(page, '#refusal-what')).toBe('Too many wrong tries: self-service is paused.');
    expect(await text(page, '#refusal-next')).toBe(`Please wait 1 min and try again, or hand in the document at window ${WINDOW}.`);

    // Every reason the cabinet can give a deposit has words in both languages (a new one fails here first).
    const source = readFileSync(new URL('../../controller/services/deposits.ts', import.meta.url), 'utf8');
    const reasons = [...source.match(/type DepositDenialReason =([^;]+);/)![1]!.matchAll(/'([a-z-]+)'/g)].map((m) => m[1]!);
    expect(reasons).toContain('no-compartment');
    const worded = await page.evaluate<string[]>(`${JSON.stringify(reasons)}.map((r) => r === 'invalid' ? 'resend-invalid' : DEPOSIT_REFUSAL[r] || r).filter((k) => k in T.zh.refusal && k in T.en.refusal)`);
    expect(worded).toHaveLength(reasons.length);
  });

  it('with item sensors, a door shut on nothing says nothing was detected and sends the applicant to the window', async () => {
    const harness = await cabinet({ lockboard: 'kerong-cu' });
    expect((await harness.call('POST', '/api/v1/cases', caseBody(CASE, [{ type: 'seal', barcode: 'EX-SEAL' }]))).status).toBe(201);
    const page = await openKiosk(harness);
    await page.locator('#deposit').tap();
    await tap(page, CASE);
    await tapOk(page);
    await waitText(page, '#prompt', '身份证号码后6位');
    await tap(page, ID_SUFFIX);
    await tapOk(page);
    const compartment = (await waitText(page, '#door-line', '号格口')).match(/放入 ([A-Z]\d+) 号/)![1]!;
    await seenOpen(harness, compartment);
    harness.sim.model.close(compartment, { occupied: false });
    expect(await waitText(page, '#refusal-what', '没有检测到', 8000)).toBe('柜门已关上，但没有检测到材料。');
    expect(await text(page, '#refusal-next')).toBe(`请到 ${WINDOW} 号窗口递交材料，工作人员会帮您。`);
    expect(await lastSpoken(page)).toEqual({ text: await shown(page, '#refusal-what', '#refusal-next'), lang: 'zh-CN' });
    expect((await harness.call('GET', '/api/v1/deposits')).json).toEqual([]);
  });
});

describe('材料有误，退回窗口 (items sent back at the open doors) on the kiosk page', () => {
  it('while the doors are open the applicant picks two reasons and confirms; the doors shut, the page says it went back, and the case is returned with those reasons', async () => {
    const harness = await cabinet();
    const ready = await readyCase(harness, 'EX-RET-1', [{ type: 'seal', barcode: 'ER1-SEAL', label: '公章' }, { type: 'invoice', barcode: 'ER1-INV' }]);
    const page = await openKiosk(harness);
    await pickUp(harness, page, ready);
    expect(await text(page, '#send-back-start')).toBe('材料有误，退回窗口');
    await screenshot(page, 'kiosk-send-back-offered');

    await page.locator('#send-back-start').tap();
    const question = await waitText(page, '#send-back-question', '请选择退回原因');
    expect(await lastSpoken(page)).toEqual({ text: question, lang: 'zh-CN' });
    const choices = page.locator('#send-back-choices button');
    expect(await choices.allTextContents()).toEqual(['材料内容有误', '物品破损', '不是本企业的', '缺少材料', '其他原因']);
    expect(await choices.evaluateAll((bs) => bs.map((b) => (b as HTMLElement).dataset.reason))).toEqual([...returnReasons]);
    for (const b of await choices.all()) expect((await b.boundingBox())!.height).toBeGreaterThanOrEqual(88);
    // Only buttons: nowhere to type anything personal.
    expect(await page.locator('#screen-open input, #screen-open textarea, #screen-open [contenteditable]').count()).toBe(0);

    // At least one reason: confirming with none says so, and sends nothing.
    await page.locator('#send-back-confirm').tap();
    expect(await waitText(page, '#send-back-hint', '请至少选择')).toBe('请至少选择一个原因。');
    expect(await lastSpoken(page)).toEqual({ text: '请至少选择一个原因。', lang: 'zh-CN' });
    expect(events(harness, 'pickup.return_requested')).toEqual([]);

    await page.locator('#send-back-choices button[data-reason="damaged"]').tap();
    await page.locator('#send-back-choices button[data-reason="other"]').tap();
    await page.locator('#send-back-choices button[data-reason="wrong-content"]').tap();
    await page.locator('#send-back-choices button[data-reason="other"]').tap(); // changed their mind
    expect(await choices.evaluateAll((bs) => bs.map((b) => b.getAttribute('aria-pressed')))).toEqual(['true', 'true', 'false', 'false', 'false']);
    expect(await visible(page, '#send-back-hint')).toBe(false);
    await legible(page, 'send back: reasons');
    await screenshot(page, 'kiosk-send-back-reasons');
    await page.locator('#send-back-confirm').tap();

    const putBack = await waitText(page, '#door-line', '请将物品放回');
    expect(putBack).toMatch(/^请将物品放回 (.+) 号格口并关门$/);
    expect(putBack.match(/放回 (.+) 号/)![1]!.split('、').sort()).toEqual([...ready.compartments].sort());
    expect((await spoken(page)).filter((s) => s.text.includes('请将物品放回'))).toEqual([{ text: putBack, lang: 'zh-CN' }]); // once, though the answer and the stream both tell
    expect((await page.locator('#map div.target').evaluateAll((cells) => cells.map((c) => (c as HTMLElement).dataset.id))).sort()).toEqual([...ready.compartments].sort());
    expect(await visible(page, '#send-back-start')).toBe(false);
    await legible(page, 'send back: accepted');
    await screenshot(page, 'kiosk-send-back-accepted');

    for (const id of ready.compartments) harness.sim.model.close(id, { occupied: true });
    expect(await waitText(page, '#notice', '已退回窗口')).toBe('已退回窗口，工作人员会联系您。');
    expect(await lastSpoken(page)).toEqual({ text: await shown(page, '#notice', '#prompt'), lang: 'zh-CN' });
    // No 好差评 for a case sent back: the window follows it up.
    expect(await visible(page, '#screen-rate')).toBe(false);
    expect(await text(page, '#prompt')).toBe('请扫描取件二维码，或输入8位取件码');
    const view = (await harness.call('GET', '/api/v1/cases/EX-RET-1')).json;
    expect(view).toMatchObject({ state: 'returned', returnReasons: ['wrong-content', 'damaged'] });
    expect(events(harness, 'pickup.completed')).toEqual([]);
    await screenshot(page, 'kiosk-send-back-returned');
  });

  it('cancel goes back to the open doors, English works, and doors shut before confirming are said to be too late', async () => {
    const harness = await cabinet();
    const ready = await readyCase(harness, 'EX-RET-2', [{ type: 'seal', barcode: 'ER2-SEAL' }]);
    const page = await openKiosk(harness);
    await pickUp(harness, page, ready);
    const doorLine = await text(page, '#door-line');

    await page.locator('#send-back-start').tap();
    await waitText(page, '#send-back-question', '请选择退回原因');
    expect(await visible(page, '#map')).toBe(false);
    expect(await text(page, '#send-back-cancel')).toBe('取消');
    await page.locator('#send-back-cancel').tap();
    expect(await waitText(page, '#door-line', '号柜格取件')).toBe(doorLine);
    expect(await visible(page, '#map')).toBe(true);
    expect(await visible(page, '#send-back')).toBe(false);
    // The keyboard: Enter on the focused button opens the reasons again, Escape leaves them.
    await page.locator('#send-back-start').focus();
    await page.keyboard.press('Enter');
    await waitText(page, '#send-back-question', '请选择退回原因');
    await page.keyboard.press('Escape');
    await waitText(page, '#door-line', '号柜格取件');

    await page.locator('#send-back-start').tap();
    await page.locator('#lang').tap();
    expect(await text(page, '#send-back-question')).toBe('What is wrong? Choose one or more, then press "Send back"');
    expect(await page.locator('#send-back-choices button').allTextContents()).toEqual(['Wrong content', 'Damaged', 'Not ours', 'Something missing', 'Other']);
    expect([await text(page, '#send-back-confirm'), await text(page, '#send-back-cancel')]).toEqual(['Send back', 'Cancel']);
    expect(await lastSpoken(page)).toEqual({ text: await text(page, '#send-back-question'), lang: 'en-US' });
    expect((await page.locator('body').innerText()).replace(/中文/g, '')).not.toMatch(/[\u4e00-\u9fff]/);
    await page.locator('#send-back-choices button[data-reason="missing-item"]').tap();

    // The applicant shuts the door before confirming: the pickup ends as collected, and the page says to go to the window.
    harness.sim.model.close(ready.compartments[0]!, { occupied: false });
    expect(await waitText(page, '#refusal-what', 'already shut')).toBe('The doors are already shut.');
    expect(await text(page, '#refusal-next')).toBe(`Please go to window ${WINDOW}; the staff will sort it out.`);
    expect(await lastSpoken(page)).toEqual({ text: await shown(page, '#refusal-what', '#refusal-next'), lang: 'en-US' });
    expect(await visible(page, '#screen-rate')).toBe(false);
    expect((await harness.call('GET', '/api/v1/cases/EX-RET-2')).json.state).toBe('collected');
    expect(events(harness, 'case.returned')).toEqual([]);
    // And the cabinet itself refuses a return once the doors are shut, with the window.
    expect((await harness.call('POST', '/api/v1/kiosk/return', { caseNo: 'EX-RET-2', reasons: ['missing-item'] }, null)).json).toEqual({ result: 'denied', reason: 'not-in-progress', window: WINDOW });
  });
});
