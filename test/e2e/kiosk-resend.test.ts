import { readFileSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readQueuedNotify } from '../../controller/domain/notify.ts';
import { CardRead } from '../../firmware-bridge/idcard/card-read.ts';
import { launchChromium, screenshot, textLegibility } from '../support/browser.ts';
import { lastSpoken, shown, spoken, tap, tapOk, text, visible, waitText, openKioskScreen } from '../support/kiosk-page.ts';
import { ID_SUFFIX, startHarness, until, type Harness, type HarnessOptions } from '../support/cabinet-harness.ts';
import { FULL_ID_NUMBER, FULL_PHONE, readyCase, simDoor } from '../support/cabinet-steps.ts';

// "没收到取件码？" on the applicant's screen (/kiosk) in headless Chromium, against the real controller and the
// simulated cabinet: the button, the case number with its letters, the ID suffix or card, what is shown and
// said, and the new code really opening the door.

const WINDOW = '3';
const CASE = 'BY2026112300017';

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

async function cabinet(policy: Record<string, unknown> = {}): Promise<Harness> {
  const options: HarnessOptions = { config: { policy: { helpWindow: WINDOW, ...policy } } };
  h = await startHarness(options);
  return h;
}

async function openKiosk(harness: Harness): Promise<Page> {
  const opened = await openKioskScreen(browser, harness.controller.apiPort, WINDOW);
  ({ context, errors } = opened);
  return opened.page;
}

/** The code last queued for the SMS gateway for this case (the cabinet's own encrypted notify outbox). */
function lastQueuedCode(harness: Harness, caseNo: string): string {
  const { store, keyring } = harness.controller.cabinet;
  const row = store.db.prepare('SELECT payload_enc FROM notify_outbox WHERE case_no = ? ORDER BY seq DESC LIMIT 1').get(caseNo) as { payload_enc: Buffer };
  const payload = readQueuedNotify(keyring.decrypt(row.payload_enc));
  if (payload.kind !== 'credential') throw new Error(`the last message for ${caseNo} is a ${payload.kind}`);
  return payload.code;
}

describe('"没收到取件码？" on the kiosk page', () => {
  it('the applicant taps it, types the case number and the ID suffix: a new code goes to their phone, the screen says so (the voice without the number), and the new code opens the door', async () => {
    const harness = await cabinet();
    const old = await readyCase(harness, CASE, [{ type: 'licence-copy', barcode: 'KR-COPY' }]);
    const page = await openKiosk(harness);
    expect(await text(page, '#lost')).toBe('没收到取件码？点此重新发送');
    await screenshot(page, 'kiosk-resend-start');

    await page.locator('#lost').tap();
    await waitText(page, '#prompt', '请输入办件编号');
    expect(await text(page, '#flow')).toBe('重新发送取件码（发到您办件时登记的手机）');
    expect(await lastSpoken(page)).toEqual({ text: await shown(page, '#flow', '#prompt'), lang: 'zh-CN' });
    expect(await visible(page, '#lost')).toBe(false);
    expect(await page.locator('#letters button').count()).toBe(27);
    await tap(page, CASE);
    expect(await text(page, '#entry')).toBe(CASE);
    expect(await text(page, '#keys button[data-key="ok"]')).toBe('下一步');
    await screenshot(page, 'kiosk-resend-case-number');
    await tapOk(page);
    const idPrompt = await waitText(page, '#prompt', '身份证号码后6位');
    expect(await lastSpoken(page)).toEqual({ text: idPrompt, lang: 'zh-CN' });
    await tap(page, ID_SUFFIX);
    expect(await page.locator('#entry span').allTextContents()).toEqual(['●', '●', '●', '●', '●', '●']);
    await tapOk(page);

    const notice = await waitText(page, '#notice', '新的取件码已发送到手机 138****8000');
    expect(notice).toMatch(/有效期至 \d+月\d+日 \d\d:\d\d）；原来的取件码已不能使用。$/);
    const said = (await lastSpoken(page))!;
    expect(said.text).toContain('新的取件码已发送到您登记的手机');
    expect(said.text).not.toMatch(/138|8000/);
    expect(await text(page, '#prompt')).toBe('请扫描取件二维码，或输入8位取件码');
    await screenshot(page, 'kiosk-resend-sent');

    // The SMS gateway would send this code; the applicant types it.
    const fresh = lastQueuedCode(harness, CASE);
    expect(fresh).not.toBe(old.code);
    expect((await harness.call('POST', '/api/v1/kiosk/pickup', { code: old.code, idSuffix: ID_SUFFIX }, null)).json).toMatchObject({ result: 'denied', reason: 'invalid' });
    await tap(page, fresh);
    await tapOk(page);
    await waitText(page, '#prompt', '身份证号码后6位');
    await tap(page, ID_SUFFIX);
    await tapOk(page);
    await waitText(page, '#door-line', old.compartments[0]!);
    await until(() => simDoor(harness, old.compartments[0]!).open, 3000, 'the door open for the new code');
    const wire = await page.locator('body').innerText();
    for (const secret of [FULL_PHONE, FULL_ID_NUMBER, fresh, old.code]) expect(wire).not.toContain(secret);
  });

  it('a wrong case number and a wrong ID suffix are refused in the same words with the tries left; the case number stays to be checked; in English too, typed on a keyboard', async () => {
    const harness = await cabinet();
    await readyCase(harness, CASE, [{ type: 'invoice', barcode: 'KR-INV' }]);
    const page = await openKiosk(harness);
    await page.locator('#lost').tap();
    await waitText(page, '#prompt', '请输入办件编号');
    // A keyboard works too: letters come out upper-case.
    await page.keyboard.type('by20261123');
    await page.keyboard.press('Enter');
    await waitText(page, '#prompt', '身份证号码后6位');
    await page.keyboard.type(ID_SUFFIX);
    await page.keyboard.press('Enter');
    expect(await waitText(page, '#refusal-what', '不正确')).toBe('办件编号或身份证号码后6位不正确。');
    expect(await text(page, '#refusal-next')).toBe('请核对受理回执上的办件编号后重新输入，还可以再试 4 次。');
    expect(await lastSpoken(page)).toEqual({ text: await shown(page, '#refusal-what', '#refusal-next'), lang: 'zh-CN' });
    expect(await text(page, '#prompt')).toContain('请输入办件编号');
    expect(await text(page, '#entry')).toBe('BY20261123');
    await screenshot(page, 'kiosk-resend-refused');

    // The right case number, a wrong suffix: the same words.
    await page.keyboard.type('00017');
    await page.keyboard.press('Enter');
    await waitText(page, '#prompt', '身份证号码后6位');
    await page.keyboard.type('00000X');
    await page.keyboard.press('Enter');
    await waitText(page, '#refusal-next', '还可以再试 3 次');
    expect(await text(page, '#refusal-what')).toBe('办件编号或身份证号码后6位不正确。');
    expect(harness.controller.cabinet.services.pickup.guardStatus().consecutiveFailures).toBe(2);

    await page.locator('#lang').tap();
    expect(await text(page, '#flow')).toBe('Send the pickup code again (to the phone you gave when you applied)');
    expect(await text(page, '#refusal-what')).toBe('The case number or the last 6 characters of the ID number are not right.');
    expect(await text(page, '#refusal-next')).toBe('Check the case number on your receipt and type it again; 3 tries left.');
    expect(await text(page, '#keys button[data-key="ok"]')).toBe('Next');
    await tapOk(page);
    await waitText(page, '#prompt', 'last 6 characters of your ID number');
    await page.keyboard.type(ID_SUFFIX);
    await page.keyboard.press('Enter');
    await waitText(page, '#notice', 'A new pickup code has been sent to 138****8000');
    expect((await lastSpoken(page))).toEqual({ text: expect.stringContaining('sent to the phone you gave'), lang: 'en-US' });
    const bodyText = await page.locator('body').innerText();
    expect(bodyText.replace(/中文/g, '')).not.toMatch(/[\u4e00-\u9fff]/);
    // "Back" leaves the flow from any of its steps.
    await page.locator('#lost').tap();
    await page.locator('#cancel').tap();
    expect(await text(page, '#prompt')).toBe('Scan your pickup QR code, or type the 8-digit code');
  });

  it('an ID card on the reader stands in for the typed suffix; the limits and a cabinet that does not offer it are said in plain words', async () => {
    const harness = await cabinet({ resendsPerCasePerDay: 1 });
    await readyCase(harness, CASE, [{ type: 'invoice', barcode: 'KR-CARD' }]);
    const page = await openKiosk(harness);
    await page.locator('#lost').tap();
    await tap(page, CASE);
    await tapOk(page);
    await waitText(page, '#prompt', '身份证号码后6位');
    harness.controller.cabinet.services.idCards.cardRead(new CardRead(FULL_ID_NUMBER, 'long-term'));
    await waitText(page, '#notice', '新的取件码已发送到手机 138****8000');
    // Once a day for this case here: the second time, the screen says what to do.
    await page.locator('#lost').tap();
    await tap(page, CASE);
    await tapOk(page);
    await tap(page, ID_SUFFIX);
    await tapOk(page);
    expect(await waitText(page, '#refusal-what', '多次')).toBe('这个办件今天已多次重新发送取件码。');
    expect(await text(page, '#refusal-next')).toBe(`请查看手机短信；仍未收到，请到 ${WINDOW} 号窗口办理。`);
    expect(await text(page, '#prompt')).toBe('请扫描取件二维码，或输入8位取件码');
    // Too short a case number is caught on the page.
    await page.locator('#lost').tap();
    await tap(page, 'BY');
    await tapOk(page);
    expect(await waitText(page, '#refusal-what', '不完整')).toBe('办件编号不完整。');

    // Every reason the cabinet can give has words in both languages (a new one fails here first).
    const source = readFileSync(new URL('../../controller/services/lost-code.ts', import.meta.url), 'utf8');
    const reasons = [...source.match(/type ResendDenialReason =([^;]+);/)![1]!.matchAll(/'([a-z-]+)'/g)].map((m) => m[1]!);
    expect(reasons.length).toBeGreaterThanOrEqual(10);
    const known = await page.evaluate<string[]>('Object.keys(T.zh.refusal).filter((k) => k in T.en.refusal)');
    for (const reason of reasons) expect(known, reason).toContain(reason === 'invalid' ? 'resend-invalid' : reason);
    await context!.close();
    context = null;
    await harness.stop();

    const off = await cabinet({ resendsPerCasePerDay: 0 });
    const quiet = await openKiosk(off);
    expect(await visible(quiet, '#lost')).toBe(false);
  });

  it('the case-number step keeps large type, large keys and high contrast', async () => {
    const harness = await cabinet();
    const page = await openKiosk(harness);
    await page.locator('#lost').tap();
    await tap(page, 'BY-07');
    const found = await textLegibility(page);
    expect(found.length).toBeGreaterThan(30);
    for (const f of found) {
      expect(f.size, `"${f.text}" font size`).toBeGreaterThanOrEqual(24);
      expect(f.contrast, `"${f.text}" contrast`).toBeGreaterThanOrEqual(4.5);
    }
    for (const key of await page.locator('#keys button, #letters button').all()) {
      const box = (await key.boundingBox())!;
      expect(Math.min(box.width, box.height), (await key.textContent()) ?? '').toBeGreaterThanOrEqual(64);
    }
    expect(await text(page, '#entry')).toBe('BY-07');
    await screenshot(page, 'kiosk-resend-letters');
  });
});
