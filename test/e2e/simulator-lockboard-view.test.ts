import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { lockId } from '../../firmware-bridge/lockboard/lock-id.ts';
import { startSimulator, type RunningSimulator } from '../../simulator/simulator.ts';
import { collectPageErrors, launchChromium, screenshot } from '../support/browser.ts';

// The simulator's page with a lock-board bus behind it: each door's board and channel, the item a person puts
// in or takes out, and the bus's board faults, set by clicks.

let browser: Browser;
let sim: RunningSimulator | null = null;
let page: Page | null = null;

beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});
afterEach(async () => {
  await page?.close();
  await sim?.stop();
  page = null;
  sim = null;
});

const at = (id: string, board: number, channel: number) => ({ id, size: 'S' as const, board, channel, lockChannel: lockId(board, channel), doorSensor: lockId(board, channel) });
const poll = <T>(read: () => Promise<T> | T, ms = 5000) => expect.poll(read, { timeout: ms, interval: 50 });

describe('the simulator view with lock boards', () => {
  it('shows board and channel, puts an item in a closed door, and breaks and mends a board', async () => {
    sim = await startSimulator({
      compartments: [at('A01', 0, 1), at('A02', 0, 2), at('B01', 1, 1)],
      controlPort: 0, firmataPort: 0, scannerPort: 0,
      lockboard: { protocol: 'kerong-cu', settings: { realTiming: false } },
    });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const errors = collectPageErrors(page);
    await page.goto(`http://127.0.0.1:${sim.ports.control}/`);
    await page.locator('[data-door="B01"]').click();
    await poll(() => page!.locator('#dWiring').innerText()).toBe('锁控板 board 1 · 通道 channel 1');

    await page.locator('button[data-item="true"]').click();
    await poll(() => sim!.model.snapshot().B01!.occupied).toBe(true);
    await poll(() => page!.locator('[data-door="B01"]').getAttribute('data-occupied')).toBe('true');
    await page.locator('button[data-item="false"]').click();
    await poll(() => sim!.model.snapshot().B01!.occupied).toBe(false);

    await expect.poll(() => page!.locator('#bus').isVisible()).toBe(true);
    expect(await page.locator('#busProtocol').innerText()).toBe('kerong-cu');
    await page.locator('#busBoard').selectOption('1');
    await page.locator('button[data-bus-fault="silent"]').click();
    await poll(() => sim!.lockboard!.boards.find((b) => b.board === 1)?.fault).toBe('silent');
    await poll(() => page!.locator('[data-bus-board="1"]').innerText()).toMatch(/silent/);
    await screenshot(page, 'simulator-lockboard-view');
    await page.locator('button[data-bus-fault=""]').click();
    await poll(() => sim!.lockboard!.boards.find((b) => b.board === 1)?.fault).toBeNull();
    expect(errors).toEqual([]);
  });
});
