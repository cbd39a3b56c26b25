import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, until, type Harness } from '../support/cabinet-harness.ts';
import { collectPageErrors, launchChromium, screenshot } from '../support/browser.ts';
import { readyCase, simDoor } from '../support/cabinet-steps.ts';

// The simulator's own page (CONTRACT §5 `GET /`) in a real browser, with a real controller on the wire: what
// the person in front of the cabinet sees, and what their clicks do to the simulated hardware.

let browser: Browser;
let h: Harness | null = null;
let page: Page;
let errors: string[];

beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});
afterEach(async () => {
  await page?.close();
  await h?.stop();
  h = null;
});

async function openView(harness: Harness): Promise<void> {
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  errors = collectPageErrors(page);
  await page.goto(`http://127.0.0.1:${harness.sim.ports.control}/`);
  await page.locator('[data-door="C08"]').waitFor();
}

/** Waits (up to `ms`) for what the page shows to match. */
const poll = <T>(read: () => Promise<T>, ms = 5000) => expect.poll(read, { timeout: ms, interval: 50 });
const door = (id: string) => page.locator(`[data-door="${id}"]`);
const health = async () => (await h!.call('GET', '/api/v1/health', undefined, null)).json as { hardware: string };

describe('the simulator view', () => {
  it('draws every door as the controller and the test change it, and clicks on a door close it, force it and set its faults', async () => {
    h = await startHarness();
    await openView(h);

    // All 24 doors, in their columns and rows, shut and unpulsed.
    expect(await page.locator('.door').count()).toBe(24);
    for (const id of ['A01', 'B04', 'C08']) {
      await poll(() => door(id).getAttribute('data-open')).toBe('false');
      expect(await door(id).innerText()).toMatch(/关 closed[\s\S]*脉冲 pulses 0/);
    }
    const box = async (id: string) => (await door(id).boundingBox())!;
    expect((await box('A02')).y).toBeGreaterThan((await box('A01')).y); // rows go down
    expect((await box('B01')).x).toBeGreaterThan((await box('A01')).x); // columns go across
    expect(await page.locator('#board').innerText()).toBe('已接通 connected');
    await poll(() => page.locator('#host').innerText()).toBe('已连接 connected');

    // The controller pulses A02 (an ops remote open): the page shows it open with one pulse.
    const opened = await h.call('POST', '/api/v1/compartments/A02/open', { reason: 'simulator view test' });
    expect(opened.status, JSON.stringify(opened.json)).toBe(202);
    await poll(() => door('A02').getAttribute('data-open')).toBe('true');
    await poll(() => door('A02').innerText()).toMatch(/开 open[\s\S]*脉冲 pulses 1/);
    await poll(() => door('A02').getAttribute('data-relay')).toBe('false'); // a pulse, never held
    expect(await door('A02').innerText()).not.toContain('RELAY ON');
    await screenshot(page, 'simulator-view-a02-opened');

    // Click the open door: the panel offers closing it with an item; the simulator's door really closes.
    await door('A02').click();
    await poll(() => page.locator('#selId').innerText()).toBe('A02');
    await page.locator('#closeWith').click();
    await until(() => !simDoor(h!, 'A02').open, 3000, 'A02 closed in the model');
    expect(simDoor(h, 'A02')).toMatchObject({ open: false, occupied: true });
    await poll(() => door('A02').innerText()).toMatch(/关 closed[\s\S]*有物品 item inside/);

    // Force a closed door: the model's door opens without a pulse.
    await door('B03').click();
    await page.locator('#force').click();
    await until(() => simDoor(h!, 'B03').open, 3000, 'B03 forced in the model');
    expect(simDoor(h, 'B03').latchPulses).toBe(0);
    await poll(() => door('B03').getAttribute('data-open')).toBe('true');
    await page.locator('#closeEmpty').click();
    await until(() => !simDoor(h!, 'B03').open, 3000, 'B03 closed again');
    expect(simDoor(h, 'B03').occupied).toBe(false);

    // Faults: jam C01, then a controller pulse counts but the door stays shut; the page says both.
    await door('C01').click();
    await page.locator('button[data-set-fault="jam"]').click();
    await until(() => simDoor(h!, 'C01').fault === 'jam', 3000, 'C01 jammed');
    await poll(() => door('C01').innerText()).toContain('卡锁 jam');
    expect((await h.call('POST', '/api/v1/compartments/C01/open', { reason: 'jam check' })).status).toBe(202);
    await poll(() => door('C01').innerText()).toMatch(/关 closed[\s\S]*脉冲 pulses 1/);
    expect(simDoor(h, 'C01')).toMatchObject({ open: false, latchPulses: 1 });

    // A stuck sensor on C02: force the door open; the page tells the truth and what the sensor claims.
    await door('C02').click();
    await page.locator('button[data-set-fault="sensor-stuck"]').click();
    await until(() => simDoor(h!, 'C02').fault === 'sensor-stuck', 3000, 'C02 sensor stuck');
    await page.locator('#force').click();
    await until(() => simDoor(h!, 'C02').open, 3000, 'C02 forced');
    await poll(() => door('C02').innerText()).toContain('门磁报 sensor says 关 closed');
    expect(await page.locator('#dSensor').innerText()).toContain('not the truth');
    await screenshot(page, 'simulator-view-faults');

    // Clear the fault from the page.
    await page.locator('button[data-set-fault=""]').click();
    await until(() => simDoor(h!, 'C02').fault === null, 3000, 'C02 fault cleared');
    await poll(() => door('C02').innerText()).not.toContain('门磁卡住');
    expect(errors).toEqual([]);
  });

  it('the scan box reaches the cabinet\'s scanner: a pickup QR typed there opens the case\'s door', async () => {
    h = await startHarness();
    const ready = await readyCase(h, 'SIM-VIEW-1', [{ type: 'licence-copy', barcode: 'LIC-SIMVIEW-1' }]);
    const compartment = ready.compartments[0]!;
    await openView(h);
    await poll(() => door(compartment).innerText()).toContain('有物品 item inside');
    await poll(() => page.locator('#host').innerText()).toBe('已连接 connected');
    expect(await page.locator('#readers').innerText()).toBe('已连接 1 reader');

    await page.locator('#scanText').fill(ready.qr);
    await page.locator('#scanText').press('Enter');
    await poll(() => page.locator('#scanMsg').innerText()).toContain('控制器已收到');
    await until(() => simDoor(h!, compartment).latchPulses === 2, 5000, `${compartment} pulsed for the pickup`);
    await poll(() => door(compartment).getAttribute('data-open')).toBe('true');
    await poll(() => door(compartment).innerText()).toContain('脉冲 pulses 2');
    expect(await page.locator('#scanText').inputValue()).toBe('');
    await screenshot(page, 'simulator-view-scan-pickup');
    expect(errors).toEqual([]);
  });

  it('pulling the board cable shows it disconnected and the controller reports hardware lost; restoring brings both back', async () => {
    h = await startHarness();
    await openView(h);
    await poll(() => page.locator('#host').innerText()).toBe('已连接 connected');
    expect((await health()).hardware).toBe('ok');

    await page.locator('#pull').click();
    await poll(() => page.locator('#board').innerText()).toBe('已断开 disconnected');
    expect(h.sim.firmata.cableConnected).toBe(false);
    await until(async () => (await health()).hardware === 'lost', 5000, 'controller reports hardware lost');
    await poll(() => page.locator('#host').innerText()).toBe('等待中 waiting');
    await screenshot(page, 'simulator-view-cable-pulled');

    await page.locator('#plug').click();
    await poll(() => page.locator('#board').innerText()).toBe('已接通 connected');
    await until(async () => (await health()).hardware === 'ok', 10_000, 'controller reports hardware ok again');
    await poll(() => page.locator('#host').innerText(), 10_000).toBe('已连接 connected');
    expect(errors).toEqual([]);
  });
});
