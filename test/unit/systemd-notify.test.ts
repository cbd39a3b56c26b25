import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../controller/logging.ts';
import { statusLine, systemdNotifier, watchdogPeriodMs } from '../../bin/systemd-notify.ts';

// The controller's side of systemd's notify protocol; the helper it runs is replaced by a script that records
// its arguments (test/integration/systemd-notify.test.ts runs the real one against a real socket).

const dir = mkdtempSync(join(tmpdir(), 'govlocker-notify-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function recorder() {
  const lines: string[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (s: string) => void lines.push(s) } });
  return { logger, logged: () => lines.map((l) => JSON.parse(l) as { level: number; msg: string }) };
}

describe('systemd notifications', () => {
  it('are off without NOTIFY_SOCKET (the demo, the tests, a terminal)', () => {
    expect(systemdNotifier(recorder().logger, { env: { WATCHDOG_USEC: '1000000' } })).toBeNull();
  });

  it('ping at half the watchdog period, only for the process systemd means', () => {
    expect(watchdogPeriodMs({ WATCHDOG_USEC: '30000000' })).toBe(30_000);
    expect(watchdogPeriodMs({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '42' }, 42)).toBe(30_000);
    expect(watchdogPeriodMs({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '43' }, 42)).toBeNull();
    expect(watchdogPeriodMs({})).toBeNull();
    expect(watchdogPeriodMs({ WATCHDOG_USEC: 'soon' })).toBeNull();
  });

  it('say the board and MQTT in the status line, and the storage only when it fails', () => {
    expect(statusLine({ hardware: 'ok', mqtt: 'connected', storage: 'ok' })).toBe('board ok, MQTT connected');
    expect(statusLine({ hardware: 'lost', mqtt: 'offline', storage: 'failing' })).toBe('board lost, MQTT offline, storage failing');
  });

  it('send READY=1 with the status, WATCHDOG=1 with the status when it changed, STOPPING=1', async () => {
    const out = join(dir, 'sent.txt');
    const helper = join(dir, 'systemd-notify');
    writeFileSync(helper, `#!/bin/sh\necho "$*" >> '${out}'\n`);
    chmodSync(helper, 0o755);
    writeFileSync(out, '');
    let status = 'board ok, MQTT connected';
    const notifier = systemdNotifier(recorder().logger, { binary: helper, env: { NOTIFY_SOCKET: '/run/systemd/notify', WATCHDOG_USEC: '200000' } })!;
    notifier.ready(() => status);
    const sent = () => readFileSync(out, 'utf8').split('\n').filter(Boolean);
    await vi.waitFor(() => expect(sent().filter((l) => l === 'WATCHDOG=1').length).toBeGreaterThanOrEqual(2), { timeout: 3000 });
    status = 'board lost, MQTT connected';
    await vi.waitFor(() => expect(sent()).toContain('WATCHDOG=1 STATUS=board lost, MQTT connected'), { timeout: 3000 });
    await notifier.stopping();
    expect(sent()[0]).toBe('READY=1 STATUS=board ok, MQTT connected');
    expect(sent()).toContain('STOPPING=1');
  });

  it('without the systemd-notify helper: one clear error, no crash, no more tries', async () => {
    const { logger, logged } = recorder();
    const notifier = systemdNotifier(logger, { binary: join(dir, 'no-such-helper'), env: { NOTIFY_SOCKET: '/run/systemd/notify', WATCHDOG_USEC: '100000' } })!;
    notifier.ready(() => 'board ok, MQTT disabled');
    await vi.waitFor(() => expect(logged().some((l) => l.level === 50)).toBe(true));
    await new Promise((r) => setTimeout(r, 200));
    await notifier.stopping();
    const errors = logged().filter((l) => l.level >= 40);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.msg).toMatch(/NOTIFY_SOCKET is set but .*no-such-helper was not found \(it comes with systemd\)/);
  });
});
