import type { Browser, BrowserContext, Page } from 'playwright-core';
import { collectPageErrors, FAKE_SPEECH } from './browser.ts';
import { until } from './cabinet-harness.ts';

// Reading the kiosk page as an applicant meets it: what it shows, and what it said aloud (recorded by
// FAKE_SPEECH from browser.ts instead of spoken).

/** An element's text, trimmed ('' when it has none). */
export const text = async (page: Page, selector: string) => ((await page.locator(selector).textContent()) ?? '').trim();
export const visible = (page: Page, selector: string) => page.locator(selector).isVisible();
/** Everything the page has said aloud so far, in order. */
export const spoken = (page: Page) => page.evaluate(() => (window as unknown as { __spoken: { text: string; lang: string }[] }).__spoken);
export const lastSpoken = async (page: Page) => (await spoken(page)).at(-1);
/** What the screen shows in these elements, joined the way the page speaks it. */
export const shown = async (page: Page, ...selectors: string[]) => (await Promise.all(selectors.map((s) => text(page, s)))).join(' ');

/** Waits until `selector` is visible and shows `wanted`; resolves with its text. */
export async function waitText(page: Page, selector: string, wanted: string | RegExp, ms = 5000): Promise<string> {
  return until(async () => {
    const t = await text(page, selector);
    return (typeof wanted === 'string' ? t.includes(wanted) : wanted.test(t)) && (await visible(page, selector)) ? t : null;
  }, ms, `${selector} to show ${wanted}`);
}

/** Taps each character on the screen's pads: digits (and X) on the keypad, letters and "-" on the letter pad. */
export async function tap(page: Page, keys: string): Promise<void> {
  for (const k of keys) await page.locator(/^[0-9]$/.test(k) || (k === 'X' && !(await visible(page, '#letters'))) ? `#keys button[data-key="${k}"]` : `#letters button[data-key="${k}"]`).tap();
}
export const tapOk = (page: Page) => page.locator('#keys button[data-key="ok"]').tap();

/**
 * The kiosk page as the cabinet's portrait touch screen shows it (1080 × 1920, touch, zh-CN, speech recorded),
 * once its stream has said hello (the page shows the help window then; `window` narrows that to one window).
 * `errors` fills with what the page logs; close `context` after the test.
 */
export async function openKioskScreen(browser: Browser, apiPort: number, window = ''): Promise<{ page: Page; context: BrowserContext; errors: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1080, height: 1920 }, hasTouch: true, locale: 'zh-CN' });
  const page = await context.newPage();
  await page.addInitScript(FAKE_SPEECH);
  const errors = collectPageErrors(page);
  await page.goto(`http://127.0.0.1:${apiPort}/kiosk`);
  await until(async () => (await text(page, '#help')).includes(`${window ? window + ' ' : ''}号窗口`), 5000, 'the kiosk stream said hello');
  return { page, context, errors };
}
