import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Debian's own Chromium (`apt-get install chromium`), never a downloaded browser. */
export const CHROMIUM_BIN = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';

/** Screenshots land here so CI can keep them; the folder is gitignored. */
export const ARTIFACTS_DIR = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_BIN,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** Saves a full-page screenshot as test-artifacts/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const path = join(ARTIFACTS_DIR, `${name.replace(/[^\w.-]+/g, '-')}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Fails the test with the page's own console errors, which otherwise vanish silently. */
export function collectPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  return errors;
}

/** Every visible element with its own text: its font size and its contrast against what is behind it (WCAG). */
export function textLegibility(page: Page): Promise<{ text: string; size: number; contrast: number }[]> {
  return page.evaluate(() => {
    const parse = (c: string) => (c.match(/[\d.]+/g) ?? []).map(Number);
    const lum = ([r, g, b]: number[]) => [r!, g!, b!].map((v) => (v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4).reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i]!, 0);
    const background = (el: Element | null): number[] => {
      for (let e = el; e; e = e.parentElement) {
        const c = parse(getComputedStyle(e).backgroundColor);
        if (c.length === 3 || c[3]! > 0) return c.slice(0, 3);
      }
      return [255, 255, 255];
    };
    const out: { text: string; size: number; contrast: number }[] = [];
    for (const el of document.querySelectorAll('body *')) {
      const own = [...el.childNodes].filter((n) => n.nodeType === Node.TEXT_NODE).map((n) => n.textContent!.trim()).join('');
      const box = (el as HTMLElement).getBoundingClientRect();
      if (!own || box.width === 0 || box.height === 0 || el.closest('[hidden], script, style')) continue;
      const style = getComputedStyle(el);
      const [a, b] = [lum(parse(style.color)), lum(background(el))];
      out.push({ text: own.slice(0, 30), size: parseFloat(style.fontSize), contrast: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05) });
    }
    return out;
  });
}

/** Page script that records what the page would say aloud (window.__spoken) instead of saying it. */
export const FAKE_SPEECH = `
  window.__spoken = [];
  window.SpeechSynthesisUtterance = class { constructor(text) { this.text = text; this.lang = ''; this.voice = null; } };
  Object.defineProperty(window, 'speechSynthesis', { configurable: true, value: {
    speak(u) { window.__spoken.push({ text: u.text, lang: u.lang }); }, cancel() {}, getVoices() { return []; },
  } });
`;

/**
 * A page's errors, with the 4xx answers a test provokes on purpose kept apart as `refusals` (Chromium logs each
 * as a console error); every other console error and uncaught exception is a page error.
 */
export function watchPage(page: Page): { errors: () => string[]; refusals: string[] } {
  const all = collectPageErrors(page);
  const refusals: string[] = [];
  page.on('response', (r) => {
    if (r.status() >= 400) refusals.push(`${r.status()} ${r.request().method()} ${new URL(r.url()).pathname}`);
  });
  return { errors: () => all.filter((e) => !e.startsWith('console: Failed to load resource: the server responded with a status of')), refusals };
}
