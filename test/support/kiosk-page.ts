import type { Page } from 'playwright-core';

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
