import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { collectPageErrors, launchChromium, screenshot } from '../support/browser.ts';
import { until } from '../support/cabinet-harness.ts';
import { FULL_ID_NUMBER } from '../support/cabinet-steps.ts';
import { startIdCardHarness, type IdCardHarness } from '../support/id-card-harness.ts';

// The simulator page's ID-card reader panel in Chromium, with the real controller reading the simulated reader:
// the person in front of the cabinet puts a card on the reader and takes it away, and sets the reader's faults.

let browser: Browser;
let h: IdCardHarness | null = null;
let page: Page | null = null;

beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});
afterEach(async () => {
  await page?.close();
  page = null;
  await h?.stop();
  h = null;
});

describe('the simulator view: the ID-card reader', () => {
  it('puts a card on the reader and takes it away, shows only the masked number, and sets a fault', async () => {
    h = await startIdCardHarness();
    page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
    const errors = collectPageErrors(page);
    await page.goto(`http://127.0.0.1:${h.sim.ports.control}/`);
    const panel = page.locator('#idReader');
    await panel.waitFor();
    await expect.poll(() => page!.locator('#idState').textContent(), { timeout: 5000 }).toContain('控制器在读');
    await expect.poll(() => page!.locator('#idCard').textContent()).toContain('读卡区没有身份证');

    await page.locator('#idNumber').fill(FULL_ID_NUMBER);
    await page.locator('#idName').fill('张三');
    await page.locator('#idForm button[type="submit"]').click();
    await expect.poll(() => page!.locator('#idCard').textContent(), { timeout: 5000 }).toContain('440106********1235');
    // The controller read it: the kiosk stream is where it goes, and /health says the reader answers.
    await until(async () => (await h!.call('GET', '/api/v1/health', undefined, null)).json.idReader === 'ok', 3000, 'reader ok');
    expect(await page.locator('#idCard').textContent()).not.toContain(FULL_ID_NUMBER);
    await screenshot(page, 'simulator-id-reader');

    await page.locator('#idTake').click();
    await expect.poll(() => page!.locator('#idCard').textContent(), { timeout: 5000 }).toContain('读卡区没有身份证');
    await page.locator('button[data-id-fault="unreadable"]').click();
    await expect.poll(() => page!.locator('#idCard').textContent(), { timeout: 5000 }).toContain('unreadable');
    expect(h.reader.state.fault).toBe('unreadable');
    await page.locator('button[data-id-fault=""]').click();
    await expect.poll(() => h!.reader.state.fault).toBeNull();
    expect(errors).toEqual([]);
  });
});
