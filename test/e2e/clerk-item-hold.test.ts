import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { collectPageErrors, launchChromium, screenshot } from '../support/browser.ts';
import { startHarness, until, type Harness } from '../support/cabinet-harness.ts';
import { addUser } from '../support/cabinet-steps.ts';

// The clerk station on a cabinet with item sensors (emulated Kerong boards): something found in an empty
// compartment holds it; the clerk takes it out and clears it from the alarm, and the page says when the item is
// still seen.

let browser: Browser;
let h: Harness | null = null;
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

const simItem = async (harness: Harness, id: string, present: boolean) => {
  const r = await fetch(`http://127.0.0.1:${harness.sim.ports.control}/sim/doors/${id}/item`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ present }) });
  expect(r.status).toBe(200);
};
const itemSeen = (harness: Harness, id: string, present: boolean) => {
  const lock = harness.controller.cabinet.config.compartments.find((c) => c.id === id)!.lockChannel;
  return until(() => harness.controller.cabinet.board.items?.isPresent(lock) === present, 3000, `${id} item ${present ? 'seen' : 'gone'}`);
};

describe('clerk station: a compartment held for an item', () => {
  it('shows the foreign object as an alarm with a clear button; clearing is refused while the item is seen and works once it is out', async () => {
    h = await startHarness({ lockboard: 'kerong-cu' });
    const clerk = addUser(h, 'zhou', 'clerk');
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const errors = collectPageErrors(page);
    await page.goto(`http://127.0.0.1:${h.controller.apiPort}/clerk`);
    await page.locator('#useToken').click(); // the pasted-token sign-in, under name and password
    await page.locator('#token').fill(clerk);
    await page.locator('#token').press('Enter');

    await simItem(h, 'B02', true);
    const clear = page.locator('button[data-clear="B02"]');
    await clear.waitFor({ timeout: 5000 });
    await expect.poll(async () => (await h!.call('GET', '/api/v1/compartments')).json.find((c: { id: string }) => c.id === 'B02').state).toBe('fault');

    // Not yet taken out: the page says so, in words, and nothing changes.
    await clear.click();
    await expect.poll(() => page!.locator('#alarmMsg').textContent(), { timeout: 5000 }).toContain('格口内仍检测到物品');
    await screenshot(page, 'clerk-item-still-seen');

    await simItem(h, 'B02', false);
    await itemSeen(h, 'B02', false);
    await clear.click();
    await expect.poll(() => page!.locator('#alarmMsg').textContent(), { timeout: 5000 }).toContain('B02 已解除');
    await expect.poll(async () => (await h!.call('GET', '/api/v1/compartments')).json.find((c: { id: string }) => c.id === 'B02').state).toBe('empty');
    expect(errors.filter((e) => !e.startsWith('console: Failed to load resource: the server responded with a status of 409'))).toEqual([]);
  });
});
