import { createServer, type Server } from 'node:http';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../support/browser.ts';
import { startHarness, type Harness } from '../support/cabinet-harness.ts';

// Clickjacking: another site frames the clerk station (or the kiosk) invisibly and makes a signed-in clerk
// click through it. The pages forbid being framed; a real browser must refuse to show them in a frame.

let browser: Browser;
let h: Harness;
let evil: Server;
let evilUrl: string;

beforeAll(async () => {
  browser = await launchChromium();
  h = await startHarness();
  const target = `http://127.0.0.1:${h.controller.apiPort}`;
  // "Another site": a different origin (127.0.0.2) with a page that frames the cabinet's pages.
  evil = createServer((req, res) => {
    const page = req.url === '/kiosk' ? '/kiosk' : '/clerk';
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><title>win a prize</title><iframe id="victim" src="${target}${page}" width="800" height="600"></iframe>`);
  });
  await new Promise<void>((resolve) => evil.listen(0, '127.0.0.2', resolve));
  const address = evil.address() as { port: number };
  evilUrl = `http://127.0.0.2:${address.port}`;
});
afterAll(async () => {
  await browser?.close();
  await h?.stop();
  await new Promise((resolve) => evil?.close(resolve));
});

describe('the cabinet\'s pages inside another site\'s frame', () => {
  for (const page of ['/clerk', '/kiosk']) {
    it(`${page} is not shown: the browser blocks the frame`, async () => {
      const tab = await browser.newPage();
      try {
        const blocked = new Promise<boolean>((resolve) => {
          tab.on('console', (m) => { if (/frame-ancestors|Refused to display/i.test(m.text())) resolve(true); });
          setTimeout(() => resolve(false), 5000);
        });
        await tab.goto(`${evilUrl}${page}`);
        expect(await blocked).toBe(true);
        // Nothing of the page rendered inside the frame: no sign-in field, no keypad.
        const frame = tab.frames().find((f) => f !== tab.mainFrame());
        const inside = frame ? await frame.evaluate(() => document.body?.innerText ?? '').catch(() => '') : '';
        expect(inside).not.toMatch(/令牌|取件码/);
      } finally {
        await tab.close();
      }
    });
  }

  it('the same pages open normally on their own', async () => {
    const tab = await browser.newPage();
    try {
      await tab.goto(`http://127.0.0.1:${h.controller.apiPort}/clerk`);
      await expect.poll(() => tab.locator('#token').count()).toBe(1);
    } finally {
      await tab.close();
    }
  });
});
