import { readFileSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ratingReasons } from '../../controller/domain/rating.ts';
import { launchChromium, screenshot, textLegibility } from '../support/browser.ts';
import { lastSpoken, shown, spoken, text, visible, openKioskScreen } from '../support/kiosk-page.ts';
import { ADMIN_TOKEN, ID_SUFFIX, startHarness, until, type Harness } from '../support/cabinet-harness.ts';
import { FULL_ID_NUMBER, FULL_PHONE, readyCase, simDoor } from '../support/cabinet-steps.ts';
import { openSseStream, type SseReader } from '../support/sse-reader.ts';

// The applicant's screen (/kiosk) in headless Chromium against the real controller and the simulated cabinet:
// what a person sees, hears and taps, from the start screen to the 好差评 rating.

/** The help window the hall configured; the page learns it from the screen stream's `hello`. */
const WINDOW = '3';

let browser: Browser;
let h: Harness;
let context: BrowserContext | null = null;
let errors: string[] = [];
const streams: SseReader[] = [];
const base = () => `http://127.0.0.1:${h.controller.apiPort}`;

beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});
beforeEach(async () => {
  h = await startHarness({ config: { policy: { helpWindow: WINDOW } } });
});
afterEach(async () => {
  await context?.close();
  context = null;
  for (const s of streams.splice(0)) s.close();
  await h.stop();
  expect(errors, 'the page logged errors').toEqual([]);
});

async function openKiosk(): Promise<Page> {
  const opened = await openKioskScreen(browser, h.controller.apiPort, WINDOW);
  ({ context, errors } = opened);
  return opened.page;
}

async function tapKeys(page: Page, keys: string): Promise<void> {
  for (const k of keys) await page.locator(`#keys button[data-key="${k}"]`).tap();
}
const tapOk = (page: Page) => page.locator('#keys button[data-key="ok"]').tap();

async function waitText(page: Page, selector: string, wanted: string | RegExp, ms = 5000): Promise<string> {
  return until(async () => {
    const t = await text(page, selector);
    return (typeof wanted === 'string' ? t.includes(wanted) : wanted.test(t)) && (await visible(page, selector)) ? t : null;
  }, ms, `${selector} to show ${wanted}`);
}

/** The applicant takes the items and shuts every door of the case. */
async function takeItemsAndClose(compartments: string[]): Promise<void> {
  for (const id of compartments) {
    await until(() => simDoor(h, id).open, 3000, `door ${id} open`);
    h.sim.model.close(id, { occupied: false });
  }
}

const ratingEvents = () => h.controller.cabinet.store.outbox.after(0, 100_000).filter((e) => e.type === 'rating.submitted');
const pulses = () => Object.values(h.sim.model.snapshot()).reduce((n, d) => n + d.latchPulses, 0);

describe('the kiosk page (/kiosk) in Chromium', () => {
  it('an applicant taps the code and the ID suffix on the keypad: the door really opens, the map marks it, the items are named and spoken in Chinese, and a rating tap is published', async () => {
    const ready = await readyCase(h, 'KIOSK-TAP', [
      { type: 'licence-original', barcode: 'KT-LIC' },
      { type: 'seal', barcode: 'KT-SEAL', label: '公章' },
      { type: 'tax-device', barcode: 'KT-UKEY' },
    ]);
    const events = await openSseStream(`${base()}/api/v1/events`, { authorization: `Bearer ${ADMIN_TOKEN}` });
    streams.push(events);
    const page = await openKiosk();
    expect(await page.getAttribute('html', 'lang')).toBe('zh-CN');
    expect(await text(page, '#title')).toBe('自助取件');
    expect(await text(page, '#prompt')).toBe('请扫描取件二维码，或输入8位取件码');
    await screenshot(page, 'kiosk-zh-start');

    // Eight taps fill the eight boxes; OK asks for the ID suffix, on screen and aloud.
    await tapKeys(page, ready.code);
    expect(await page.locator('#entry span').allTextContents()).toEqual([...ready.code]);
    await tapOk(page);
    const idPrompt = await waitText(page, '#prompt', '请输入身份证号码后6位');
    expect(await lastSpoken(page)).toEqual({ text: idPrompt, lang: 'zh-CN' });
    expect(await page.locator('#keys button[data-key="X"]').isVisible()).toBe(true);
    await tapKeys(page, ID_SUFFIX);
    // The ID suffix is part of an ID number: dots, never the digits.
    expect(await page.locator('#entry span').allTextContents()).toEqual(['●', '●', '●', '●', '●', '●']);
    expect(await text(page, '#entry')).not.toContain(ID_SUFFIX);
    await screenshot(page, 'kiosk-keypad-id-suffix');
    await tapOk(page);

    // The door opens for real, and the screen says which one, on the map, with the items in words.
    const doorLine = await waitText(page, '#door-line', '号柜格取件');
    for (const id of ready.compartments) {
      expect(doorLine).toContain(id);
      await until(() => simDoor(h, id).open, 3000, `door ${id} open`);
    }
    expect(await page.locator('#map div.target').evaluateAll((cells) => cells.map((c) => (c as HTMLElement).dataset.id))).toEqual(ready.compartments);
    expect(await page.locator('#map div').count()).toBe(24);
    const itemsLine = await text(page, '#items-line');
    expect(itemsLine).toBe('您的材料：营业执照正本、公章、税务UKey');
    expect(await text(page, '#close-line')).toBe('取完后请关好柜门');
    const said = (await spoken(page)).filter((s) => s.text.includes('号柜格取件'));
    expect(said).toEqual([{ text: await shown(page, '#door-line', '#items-line', '#close-line'), lang: 'zh-CN' }]); // once, though the answer and the stream both tell
    // The map is the real grid: A01 top left, C08 bottom right, the large row taller than a small one.
    const box = async (id: string) => (await page.locator(`#map div[data-id="${id}"]`).boundingBox())!;
    expect((await box('A01')).x).toBeLessThan((await box('C01')).x);
    expect((await box('A01')).y).toBeLessThan((await box('A08')).y);
    expect((await box('A08')).height).toBeGreaterThan((await box('A01')).height);
    await waitText(page, `#map div[data-id="${ready.compartments[0]}"]`, '已开');
    await screenshot(page, 'kiosk-opened-map');

    // Doors shut: 好差评, one tap.
    await takeItemsAndClose(ready.compartments);
    await waitText(page, '#rate-question', '请为本次服务评价');
    expect(await text(page, '#case-line')).toBe('办件编号：KIOSK-TAP');
    expect(await page.locator('#levels button').allTextContents()).toEqual(['非常满意', '满意', '基本满意', '不满意', '非常不满意']);
    expect((await lastSpoken(page))?.text).toBe(await shown(page, '#done-line', '#rate-question'));
    await screenshot(page, 'kiosk-rating');
    await page.locator('#levels button[data-level="5"]').tap();
    await waitText(page, '#notice', '感谢您的评价');
    expect(await text(page, '#prompt')).toBe('请扫描取件二维码，或输入8位取件码');
    const rated = JSON.parse((await events.next((f) => f.event === 'rating.submitted', 3000, 'rating.submitted')).data);
    expect(rated.data).toEqual({ caseNo: 'KIOSK-TAP', level: 5, levelName: '非常满意', reasons: [], channel: 'kiosk' });
    expect(ratingEvents().map((e) => e.seq)).toEqual([rated.seq]);
  });

  it('a scanned QR for a case with a seal shows the read live, asks for the ID suffix, and the keypad takes it', async () => {
    const ready = await readyCase(h, 'KIOSK-SCAN', [{ type: 'seal', barcode: 'KS-SEAL', label: '财务专用章' }]);
    const page = await openKiosk();
    // The person holds the phone to the scanner (the simulator's control API, as the person in front of it).
    const scan = await fetch(`http://127.0.0.1:${h.sim.ports.control}/sim/scan`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: ready.qr }) });
    expect(scan.status).toBeLessThan(300);
    await waitText(page, '#prompt', '请输入身份证号码后6位');
    const notice = await text(page, '#notice');
    expect(notice).toMatch(/^已扫描二维码（.+）$/);
    expect(notice).not.toContain(ready.qr); // masked
    expect(await lastSpoken(page)).toEqual({ text: await text(page, '#prompt'), lang: 'zh-CN' });
    await tapKeys(page, ID_SUFFIX);
    await tapOk(page);
    await waitText(page, '#door-line', ready.compartments[0]!);
    expect(await text(page, '#items-line')).toBe('您的材料：财务专用章');
    await until(() => simDoor(h, ready.compartments[0]!).open, 3000, 'door open');
  });

  it('a wrong code is refused in plain words with the tries left, and no door moves', async () => {
    const ready = await readyCase(h, 'KIOSK-WRONG', [{ type: 'invoice', barcode: 'KW-INV' }]);
    const page = await openKiosk();
    const before = pulses();
    const wrong = ready.code === '00000000' ? '11111111' : '00000000';
    // A keyboard works too: digits type, Backspace deletes, Enter submits.
    await page.keyboard.type(`${wrong.slice(0, 7)}9`);
    await page.keyboard.press('Backspace');
    expect(await page.locator('#entry span').allTextContents()).toEqual([...wrong.slice(0, 7), '']);
    await page.keyboard.type(wrong.slice(7));
    await page.keyboard.press('Enter');
    await waitText(page, '#prompt', '身份证号码后6位');
    await page.keyboard.type(ID_SUFFIX);
    await page.keyboard.press('Enter');
    expect(await waitText(page, '#refusal-what', '不正确')).toBe('取件码或身份证号码后6位不正确。');
    expect(await text(page, '#refusal-next')).toBe('请核对短信中的取件码后重新输入，还可以再试 4 次。');
    expect(await lastSpoken(page)).toEqual({ text: await shown(page, '#refusal-what', '#refusal-next'), lang: 'zh-CN' });
    expect((await spoken(page)).filter((s) => s.text.includes('不正确'))).toHaveLength(1);
    // Back at the code step with an empty entry, ready for another try.
    expect(await text(page, '#prompt')).toBe('请扫描取件二维码，或输入8位取件码');
    expect((await page.locator('#entry').textContent())?.trim()).toBe('');
    await screenshot(page, 'kiosk-refusal-wrong-code');
    expect(pulses()).toBe(before);
  });

  it('a lockout says how long to wait', async () => {
    const ready = await readyCase(h, 'KIOSK-LOCK', [{ type: 'invoice', barcode: 'KL-INV' }]);
    const wrong = ready.code === '00000000' ? '11111111' : '00000000';
    // Four mistakes already made on this cabinet (the lockout starts at the fifth).
    for (let i = 0; i < 4; i++) h.controller.cabinet.services.pickup.pickup({ code: wrong, idSuffix: ID_SUFFIX }, 'kiosk');
    const page = await openKiosk();
    await tapKeys(page, wrong);
    await tapOk(page);
    await waitText(page, '#prompt', '身份证号码后6位');
    await tapKeys(page, ID_SUFFIX);
    await tapOk(page);
    expect(await waitText(page, '#refusal-what', '取件已暂停')).toBe('输错次数过多，取件已暂停。');
    expect(await text(page, '#refusal-next')).toBe(`请等待 1 分钟后再试；也可到 ${WINDOW} 号窗口求助。`);
    // Even the right code waits now (the cabinet does not even ask for the ID), and the screen says so again.
    await tapKeys(page, ready.code);
    await tapOk(page);
    await until(async () => (await spoken(page)).filter((s) => s.text.includes('取件已暂停')).length === 2, 3000, 'the lockout said again');
    expect(await text(page, '#refusal-next')).toBe(`请等待 1 分钟后再试；也可到 ${WINDOW} 号窗口求助。`);
    expect((await page.locator('#entry').textContent())?.trim()).toBe('');
    expect(await lastSpoken(page)).toEqual({ text: await shown(page, '#refusal-what', '#refusal-next'), lang: 'zh-CN' });
    await screenshot(page, 'kiosk-refusal-lockout');
    expect(simDoor(h, ready.compartments[0]!).open).toBe(false);
  });

  it('one tap switches to English: every word, the items, the refusals and the voice', async () => {
    const ready = await readyCase(h, 'KIOSK-EN', [{ type: 'licence-original', barcode: 'KE-LIC' }, { type: 'seal', barcode: 'KE-SEAL', label: '公章' }]);
    const page = await openKiosk();
    await page.locator('#lang').tap();
    expect(await page.getAttribute('html', 'lang')).toBe('en');
    expect(await text(page, '#title')).toBe('Self-service pickup');
    expect(await text(page, '#prompt')).toBe('Scan your pickup QR code, or type the 8-digit code');
    expect(await text(page, '#help')).toBe(`Need help? Go to window ${WINDOW}`);
    expect(await page.locator('#keys button.word').allTextContents()).toEqual(['Delete', 'OK']);
    expect(await text(page, '#lang')).toBe('中文');
    expect(await lastSpoken(page)).toEqual({ text: await text(page, '#prompt'), lang: 'en-US' });
    const bodyText = await page.locator('body').innerText();
    expect(bodyText.replace(/中文/g, '')).not.toMatch(/[\u4e00-\u9fff]/);

    const wrong = ready.code === '00000000' ? '11111111' : '00000000';
    await tapKeys(page, wrong);
    await tapOk(page);
    await waitText(page, '#prompt', 'last 6 characters of your ID number');
    await tapKeys(page, ID_SUFFIX);
    await tapOk(page);
    await waitText(page, '#refusal-what', 'are not right');
    expect(await text(page, '#refusal-next')).toBe('Check the code in your SMS and type it again; 4 tries left.');
    expect(await lastSpoken(page)).toEqual({ text: await shown(page, '#refusal-what', '#refusal-next'), lang: 'en-US' });

    await tapKeys(page, ready.code);
    await tapOk(page);
    await waitText(page, '#prompt', 'ID number');
    await tapKeys(page, ID_SUFFIX);
    await tapOk(page);
    await waitText(page, '#door-line', `Please collect your items from compartment ${ready.compartments.join(', ')}`);
    expect(await text(page, '#items-line')).toBe('Your items: business licence (original), official seal');
    expect(await text(page, '#close-line')).toBe('Please close the door when you have taken them');
    expect(await lastSpoken(page)).toEqual({ text: await shown(page, '#door-line', '#items-line', '#close-line'), lang: 'en-US' });
    await screenshot(page, 'kiosk-en-opened');

    // And back: the same screen in Chinese, said again in Chinese.
    await page.locator('#lang').tap();
    expect(await text(page, '#items-line')).toBe('您的材料：营业执照正本、公章');
    expect(await lastSpoken(page)).toEqual({ text: await shown(page, '#door-line', '#items-line', '#close-line'), lang: 'zh-CN' });
  });

  it('a door left open is called out, on screen and aloud, until it is shut', async () => {
    await h.stop();
    h = await startHarness({ config: { policy: { helpWindow: WINDOW }, hardware: { leftOpenMs: 400 } } });
    const ready = await readyCase(h, 'KIOSK-AJAR', [{ type: 'licence-copy', barcode: 'KA-COPY' }]);
    const page = await openKiosk();
    h.sim.scanner.scan(ready.qr);
    const id = ready.compartments[0]!;
    await waitText(page, '#door-line', id);
    const reminder = await waitText(page, '#door-status', '还开着');
    expect(reminder).toBe(`${id} 号柜门还开着，请关好柜门`);
    expect((await spoken(page)).map((s) => s.text)).toContain(reminder);
    h.sim.model.close(id, { occupied: false });
    await waitText(page, '#rate-question', '请为本次服务评价');
  });

  it('不满意 asks what went wrong from a fixed list; the choices go into the event', async () => {
    const ready = await readyCase(h, 'KIOSK-BAD', [{ type: 'licence-copy', barcode: 'KB-COPY' }]);
    const page = await openKiosk();
    h.sim.scanner.scan(ready.qr); // no seal or tax key: the QR alone opens
    await waitText(page, '#door-line', ready.compartments[0]!);
    await takeItemsAndClose(ready.compartments);
    await waitText(page, '#rate-question', '请为本次服务评价');
    await page.locator('#levels button[data-level="2"]').tap();
    await waitText(page, '#reasons-question', '哪里做得不好');
    expect(await lastSpoken(page)).toEqual({ text: await text(page, '#reasons-question'), lang: 'zh-CN' });
    const choices = page.locator('#reason-choices button');
    expect(await choices.allTextContents()).toEqual(['等待时间太长', '柜门没有打开', '材料缺少或不对', '提示看不懂', '其他']);
    expect(await choices.evaluateAll((bs) => bs.map((b) => (b as HTMLElement).dataset.reason))).toEqual([...ratingReasons]);
    // Only buttons: there is nowhere to type a name or a phone number.
    expect(await page.locator('#screen-rate input, #screen-rate textarea, #screen-rate [contenteditable]').count()).toBe(0);
    await page.locator('#reason-choices button[data-reason="door-did-not-open"]').tap();
    await page.locator('#reason-choices button[data-reason="waited-too-long"]').tap();
    await page.locator('#reason-choices button[data-reason="other"]').tap();
    await page.locator('#reason-choices button[data-reason="other"]').tap(); // changed their mind
    expect(await page.getAttribute('#reason-choices button[data-reason="door-did-not-open"]', 'aria-pressed')).toBe('true');
    await screenshot(page, 'kiosk-rating-follow-up');
    await page.locator('#reasons-send').tap();
    await waitText(page, '#notice', '感谢您的评价');
    await until(() => ratingEvents().length === 1, 3000, 'rating.submitted');
    expect(ratingEvents()[0]!.data).toEqual({ caseNo: 'KIOSK-BAD', level: 2, levelName: '不满意', reasons: ['waited-too-long', 'door-did-not-open'], channel: 'kiosk' });
  });

  it('skipping the rating publishes nothing and returns to the start screen', async () => {
    const ready = await readyCase(h, 'KIOSK-SKIP', [{ type: 'licence-copy', barcode: 'KSK-COPY' }]);
    const page = await openKiosk();
    h.sim.scanner.scan(ready.qr);
    await waitText(page, '#door-line', ready.compartments[0]!);
    await takeItemsAndClose(ready.compartments);
    await waitText(page, '#rate-question', '请为本次服务评价');
    await page.locator('#skip').tap();
    await waitText(page, '#prompt', '请扫描取件二维码，或输入8位取件码');
    expect(await visible(page, '#screen-rate')).toBe(false);
    await new Promise((r) => setTimeout(r, 300));
    expect(ratingEvents()).toEqual([]);
  });

  it('every refusal the cabinet gives is in plain words with what to do next, and the window to go to', async () => {
    const page = await openKiosk();
    const refusal = async (what: string | RegExp) => {
      await waitText(page, '#refusal-what', what);
      return [await text(page, '#refusal-what'), await text(page, '#refusal-next')];
    };
    const pickup = h.controller.cabinet.services.pickup;

    // Something that is not a pickup QR (a phone number): the scan is shown live, masked, and refused.
    h.sim.scanner.scan(FULL_PHONE);
    expect(await refusal('不是取件二维码')).toEqual(['扫到的不是取件二维码。', '请扫描短信或粤商通里的取件二维码，或在下方输入8位取件码。']);
    expect(await page.locator('body').innerText()).not.toContain(FULL_PHONE);

    // A jammed lock: the doors were to open, but one did not.
    const jam = await readyCase(h, 'KIOSK-JAM', [{ type: 'invoice', barcode: 'KJ-INV' }]);
    h.sim.model.setFault(jam.compartments[0]!, 'jam');
    pickup.pickup({ code: jam.code, idSuffix: ID_SUFFIX }, 'kiosk');
    expect(await refusal('柜门没能打开')).toEqual(['柜门没能打开。', `请到 ${WINDOW} 号窗口，工作人员会帮您取件。`]);
    // Its compartment is now out of service until a clerk looks at it.
    await until(async () => (await h.call('GET', '/api/v1/cases/KIOSK-JAM')).json.state === 'ready', 5000, 'case ready again');
    pickup.pickup({ code: jam.code, idSuffix: ID_SUFFIX }, 'kiosk');
    expect(await refusal('暂停使用')).toEqual(['您的柜格暂停使用。', `请到 ${WINDOW} 号窗口，工作人员会帮您取件。`]);

    // The doors are already opening for this case.
    const busy = await readyCase(h, 'KIOSK-BUSY', [{ type: 'invoice', barcode: 'KBY-INV' }]);
    expect(pickup.pickup({ code: busy.code, idSuffix: ID_SUFFIX }, 'kiosk').result).toBe('opened');
    pickup.pickup({ code: busy.code, idSuffix: ID_SUFFIX }, 'kiosk');
    expect(await refusal('正在打开')).toEqual(['您的柜门正在打开。', '请稍候，按屏幕提示取件。']);
    await takeItemsAndClose(busy.compartments);

    // Past its expiry date.
    const old = await readyCase(h, 'KIOSK-OLD', [{ type: 'invoice', barcode: 'KO-INV' }]);
    h.clock.advance(8 * 24 * 3600_000);
    pickup.pickup({ code: old.code, idSuffix: ID_SUFFIX }, 'kiosk');
    expect(await refusal('过期')).toEqual(['取件码已过期。', `请到 ${WINDOW} 号窗口，工作人员会帮您取件。`]);
    h.clock.advance(-8 * 24 * 3600_000);

    // Too many mistakes today: code entry stopped until staff resume it.
    const guard = h.controller.cabinet.context.repos.guard;
    guard.put({ ...guard.get(), suspended: true });
    pickup.pickup({ code: '12345678', idSuffix: ID_SUFFIX }, 'kiosk');
    expect(await refusal('自助取件已停止')).toEqual(['今天输错次数过多，自助取件已停止。', `请到 ${WINDOW} 号窗口，工作人员会帮您取件。`]);
    guard.put({ ...guard.get(), suspended: false });

    // The lock board's cable is out.
    await fetch(`http://127.0.0.1:${h.sim.ports.control}/sim/board/disconnect`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    await until(() => h.controller.cabinet.board.link !== 'ok', 5000, 'board lost');
    pickup.pickup({ code: '12345678', idSuffix: ID_SUFFIX }, 'kiosk');
    expect(await refusal('设备连接中断')).toEqual(['柜子暂时无法开门（设备连接中断）。', `请稍后再试，或到 ${WINDOW} 号窗口办理。`]);
    // The same refusal, one tap later, in English.
    await page.locator('#lang').tap();
    expect([await text(page, '#refusal-what'), await text(page, '#refusal-next')]).toEqual(['The cabinet cannot open doors right now (its lock board is offline).', `Please try again later, or go to window ${WINDOW}.`]);
    expect(await lastSpoken(page)).toEqual({ text: await shown(page, '#prompt', '#refusal-what', '#refusal-next'), lang: 'en-US' });
    await screenshot(page, 'kiosk-refusal-board-offline-en');

    // Every denial reason the pickup service can give has words on the page (a new one fails here first).
    const source = readFileSync(new URL('../../controller/services/pickup.ts', import.meta.url), 'utf8');
    const reasons = [...source.match(/type DenialReason = ([^;]+);/)![1]!.matchAll(/'([a-z-]+)'/g)].map((m) => m[1]!);
    expect(reasons.length).toBeGreaterThanOrEqual(7);
    const known = await page.evaluate<string[]>('Object.keys(T.zh.refusal).filter((k) => k in T.en.refusal)');
    for (const reason of reasons) expect(known, reason).toContain(reason);
    const wire = await page.locator('body').innerText();
    for (const secret of [FULL_PHONE, FULL_ID_NUMBER, jam.code, busy.code, old.code]) expect(wire).not.toContain(secret);
  });

  it('large type, large keys, high contrast and visible focus', async () => {
    const ready = await readyCase(h, 'KIOSK-LOOK', [{ type: 'licence-copy', barcode: 'KLK-COPY' }]);
    const page = await openKiosk();
    /** Every visible element with its own text: font size, and contrast against what is behind it (WCAG). */
    const audit = () => textLegibility(page);
    const check = async (screen: string) => {
      const found = await audit();
      expect(found.length, screen).toBeGreaterThan(5);
      for (const f of found) {
        expect(f.size, `${screen}: "${f.text}" font size`).toBeGreaterThanOrEqual(24);
        expect(f.contrast, `${screen}: "${f.text}" contrast`).toBeGreaterThanOrEqual(4.5);
      }
    };
    expect(parseFloat(await page.locator('body').evaluate((b) => getComputedStyle(b).fontSize))).toBeGreaterThanOrEqual(24);
    await check('start');
    for (const key of await page.locator('#keys button').all()) {
      const box = (await key.boundingBox())!;
      expect(Math.min(box.width, box.height), await key.textContent() ?? '').toBeGreaterThanOrEqual(48);
    }
    // A keyboard user sees where they are.
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    const focus = await page.evaluate(() => {
      const s = getComputedStyle(document.activeElement!);
      return { tag: document.activeElement!.tagName, outline: s.outlineStyle, width: parseFloat(s.outlineWidth) };
    });
    expect(focus).toMatchObject({ tag: 'BUTTON', outline: 'solid' });
    expect(focus.width).toBeGreaterThanOrEqual(3);

    // A refusal, the opened screen with the map, and the rating: the same rules.
    await page.evaluate(() => (document.activeElement as HTMLElement).blur());
    await page.keyboard.type('1234');
    await page.keyboard.press('Enter');
    await waitText(page, '#refusal-what', '还差 4 位');
    await check('refusal');
    h.sim.scanner.scan(ready.qr);
    await waitText(page, '#door-line', ready.compartments[0]!);
    await check('opened');
    await takeItemsAndClose(ready.compartments);
    await waitText(page, '#rate-question', '请为本次服务评价');
    await check('rating');
    for (const b of await page.locator('#screen-rate button:visible').all()) expect((await b.boundingBox())!.height).toBeGreaterThanOrEqual(48);
  });

  it('no timer loses what a person typed: half a code stays after half an hour', async () => {
    const page = await openKiosk();
    await page.clock.install();
    await tapKeys(page, '1357');
    await page.clock.fastForward('30:00');
    expect(await page.locator('#entry span').allTextContents()).toEqual(['1', '3', '5', '7', '', '', '', '']);
    expect(await text(page, '#prompt')).toBe('请扫描取件二维码，或输入8位取件码');
  });

  it('a scan that waited too long for its ID suffix asks for the QR again and keeps the typed digits', async () => {
    const ready = await readyCase(h, 'KIOSK-SLOW', [{ type: 'tax-device', barcode: 'KSL-UKEY' }]);
    const page = await openKiosk();
    await page.clock.install();
    h.sim.scanner.scan(ready.qr);
    await waitText(page, '#prompt', '请输入身份证号码后6位');
    await tapKeys(page, ID_SUFFIX);
    await page.clock.fastForward('03:00'); // the applicant looked for their ID card
    await tapOk(page);
    expect(await waitText(page, '#refusal-what', '扫码已超过 2 分钟')).toBe('扫码已超过 2 分钟。');
    expect(await text(page, '#refusal-next')).toBe('请再扫一次取件二维码，已输入的号码会保留。');
    expect(h.controller.cabinet.services.pickup.guardStatus().consecutiveFailures).toBe(0); // not sent, not a failed try
    h.sim.scanner.scan(ready.qr);
    await waitText(page, '#notice', '已扫描二维码');
    await waitText(page, '#prompt', '请输入身份证号码后6位');
    expect(await page.locator('#entry span').allTextContents()).toEqual(['●', '●', '●', '●', '●', '●']);
    await tapOk(page);
    await waitText(page, '#door-line', ready.compartments[0]!);
    expect(await text(page, '#items-line')).toBe('您的材料：税务UKey');
  });
});
