import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { launchChromium, screenshot } from '../support/browser.ts';
import { spoken, text, openKioskScreen } from '../support/kiosk-page.ts';
import { ID_SUFFIX, until } from '../support/cabinet-harness.ts';
import { FULL_ID_NUMBER, readyCase, simDoor } from '../support/cabinet-steps.ts';
import { startIdCardHarness, type IdCardHarness } from '../support/id-card-harness.ts';

// The kiosk page (/kiosk) in Chromium with the ID-card reader: at the ID step it offers the card, a card put
// on the simulated reader completes the pickup by itself, and the page never holds more of the card than its
// masked number.

const OWN_CARD = { idNumber: FULL_ID_NUMBER, name: '张三' };
const CARD_PROMPT = '请将身份证放在读卡区，或输入身份证号后6位';
const TYPED_PROMPT = '请输入身份证号码后6位（最后一位可能是 X）';

let browser: Browser;
let h: IdCardHarness;
let context: BrowserContext | null = null;
let errors: string[] = [];

beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});
beforeEach(async () => {
  h = await startIdCardHarness();
});
afterEach(async () => {
  await context?.close();
  context = null;
  await h.stop();
  expect(errors, 'the page logged errors').toEqual([]);
});

async function openKiosk(): Promise<Page> {
  const opened = await openKioskScreen(browser, h.controller.apiPort);
  ({ context, errors } = opened);
  return opened.page;
}

async function tapKeys(page: Page, keys: string): Promise<void> {
  for (const k of keys) await page.locator(`#keys button[data-key="${k}"]`).tap();
}
const tapOk = (page: Page) => page.locator('#keys button[data-key="ok"]').tap();
async function waitText(page: Page, selector: string, wanted: string, ms = 5000): Promise<string> {
  return until(async () => {
    const t = await text(page, selector);
    return t.includes(wanted) && (await page.locator(selector).isVisible()) ? t : null;
  }, ms, `${selector} to show ${wanted}`);
}
/** The whole page as the browser holds it: the DOM, every text node, and the script's state. */
async function everything(page: Page): Promise<string> {
  const dom = await page.evaluate(() => document.documentElement.outerHTML + document.body.innerText);
  // The page script's own state (a global `const`), functions and sets spelled out.
  const state = await page.evaluate('JSON.stringify(state, (k, v) => v instanceof Set ? [...v] : typeof v === "function" ? String(v) : v)');
  expect(state).toContain('"card"');
  return dom + String(state);
}

describe('the kiosk page with an ID-card reader', () => {
  it('at the ID step the page offers the card; a card put on the reader opens the door, and only the masked number is ever on the page', async () => {
    const ready = await readyCase(h, 'KIOSK-CARD', [{ type: 'seal', barcode: 'KC-SEAL', label: '公章' }]);
    const page = await openKiosk();
    await tapKeys(page, ready.code);
    await tapOk(page);
    expect(await waitText(page, '#prompt', CARD_PROMPT)).toBe(CARD_PROMPT);
    expect((await spoken(page)).at(-1)).toEqual({ text: CARD_PROMPT, lang: 'zh-CN' });
    await screenshot(page, 'kiosk-id-card-prompt');

    // The person puts the card on the reader: no tap needed.
    h.reader.putCard(OWN_CARD);
    await waitText(page, '#door-line', `请到 ${ready.compartments[0]} 号柜格取件`);
    await until(() => simDoor(h, ready.compartments[0]!).open, 3000, 'the door opens');
    const seen = await everything(page);
    expect(seen).not.toContain(FULL_ID_NUMBER);
    expect(seen).not.toContain('张三');
    expect(seen).not.toContain(ID_SUFFIX);
    expect(JSON.stringify(await spoken(page))).not.toMatch(/\d{6}/);
  });

  it('a card put on the reader first waits for the code, shown masked; typing the suffix still works; an unplugged reader is not offered', async () => {
    const ready = await readyCase(h, 'KIOSK-CARD-2', [{ type: 'invoice', barcode: 'KC2-INV' }]);
    const page = await openKiosk();
    h.reader.putCard(OWN_CARD);
    expect(await waitText(page, '#notice', '已读取身份证')).toBe('已读取身份证（440106********1235）');
    expect((await spoken(page)).at(-1)).toEqual({ text: '已读取身份证', lang: 'zh-CN' }); // the number is not read aloud in the hall
    await screenshot(page, 'kiosk-id-card-read');
    expect(await everything(page)).not.toContain(FULL_ID_NUMBER);
    await tapKeys(page, ready.code);
    await tapOk(page);
    await waitText(page, '#door-line', ready.compartments[0]!);
    expect(await everything(page)).not.toContain(FULL_ID_NUMBER);
    h.sim.model.close(ready.compartments[0]!, { occupied: false });
    await waitText(page, '#rate-question', '请为本次服务评价');
    await page.locator('#skip').tap();

    // The reader unplugged: the ID step asks for the typed suffix only, and it works.
    h.reader.takeCard();
    h.reader.disconnect('drop');
    await until(async () => (await h.call('GET', '/api/v1/health', undefined, null)).json.idReader === 'lost', 3000, 'reader lost');
    const second = await readyCase(h, 'KIOSK-CARD-3', [{ type: 'invoice', barcode: 'KC3-INV' }]);
    await tapKeys(page, second.code);
    await tapOk(page);
    expect(await waitText(page, '#prompt', TYPED_PROMPT)).toBe(TYPED_PROMPT);
    await tapKeys(page, ID_SUFFIX);
    await tapOk(page);
    await waitText(page, '#door-line', second.compartments[0]!);
  });

  it('someone else\'s card is refused in plain words, and counts as a failed attempt', async () => {
    const ready = await readyCase(h, 'KIOSK-CARD-4', [{ type: 'invoice', barcode: 'KC4-INV' }]);
    const page = await openKiosk();
    await tapKeys(page, ready.code);
    await tapOk(page);
    await waitText(page, '#prompt', CARD_PROMPT);
    h.reader.putCard({ idNumber: '11010519491231002X', name: '李四海' });
    expect(await waitText(page, '#refusal-what', '不符')).toBe('取件码或身份证不符。');
    expect(await text(page, '#refusal-next')).toBe('请核对短信中的取件码后重新输入；身份证请拿起后重新放上，还可以再试 4 次。');
    expect(h.controller.cabinet.services.pickup.guardStatus().consecutiveFailures).toBe(1);
    expect(simDoor(h, ready.compartments[0]!).open).toBe(false);
    const seen = await everything(page);
    expect(seen).not.toContain('11010519491231002X');
    expect(seen).not.toContain('李四海');
  });
});
