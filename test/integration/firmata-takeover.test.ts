import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, until, type Harness } from '../support/cabinet-harness.ts';
import { addUser, simDoor } from '../support/cabinet-steps.ts';

// Another host on the board's Firmata port, while the controller holds it: the simulator (a board with one TCP
// slot) refuses it; in `replace` mode (as StandardFirmataWiFi) it takes the slot, the board closes the
// controller's link with FIN, and the controller raises `board-link-taken` and takes the board back. A pulled
// cable (a reset) is a plain `hardware.lost`.

let h: Harness | null = null;
const intruders: net.Socket[] = [];
afterEach(async () => {
  for (const s of intruders.splice(0)) s.destroy();
  await h?.stop();
  h = null;
});

type Alarm = { id: number; kind: string; compartment: string | null; acknowledgedAt: string | null; data: Record<string, unknown> };
const alarms = async (): Promise<Alarm[]> => (await h!.call('GET', '/api/v1/alarms')).json;
const health = async () => (await h!.call('GET', '/api/v1/health', undefined, null)).json;
const eventsOf = (type: string) => h!.controller.cabinet.store.outbox.after(0, 10_000).filter((e) => e.type === type);

async function person(path: string, body: unknown = {}): Promise<void> {
  const r = await fetch(`http://127.0.0.1:${h!.sim.ports.control}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(r.status, `${path}: ${await r.text()}`).toBe(200);
}

/**
 * A raw TCP client on the Firmata port that writes `bytes` as soon as it is connected. `ended` resolves once its
 * connection has closed, with what the board did first: `fin` (an orderly close) or the error code (a reset).
 */
function intruder(bytes: number[]): { socket: net.Socket; ended: Promise<string> } {
  const socket = net.createConnection({ host: '127.0.0.1', port: h!.sim.ports.firmata });
  intruders.push(socket);
  socket.resume(); // read what the board sends, so its close is seen
  let how: string | null = null;
  socket.once('end', () => (how ??= 'fin'));
  socket.on('error', (error: NodeJS.ErrnoException) => (how ??= error.code ?? 'error'));
  const ended = new Promise<string>((resolve) => socket.once('close', () => resolve(how ?? 'closed')));
  socket.once('connect', () => socket.write(Uint8Array.from(bytes)));
  return { socket, ended };
}

/** SET_PIN_MODE OUTPUT and SET_DIGITAL_PIN_VALUE HIGH on a lock relay's pin: a pulse, as far as the latch cares. */
const relayHigh = (pin: number) => [0xf4, pin, 1, 0xf5, pin, 1];
const lockOf = (id: string) => h!.controller.cabinet.config.compartments.find((c) => c.id === id)!.lockChannel;

describe('another host on the board\'s Firmata port', () => {
  it('is refused while the controller is connected: closed at once, its relay write does nothing, the controller stays connected', async () => {
    h = await startHarness();
    expect(h.sim.firmata.clients).toBe('refuse');
    const { socket, ended } = intruder(relayHigh(lockOf('A01')));
    const started = performance.now();
    expect(await ended).toMatch(/^(fin|ECONNRESET|EPIPE)$/);
    expect(performance.now() - started).toBeLessThan(500); // at once, not after a timeout
    expect(socket.destroyed).toBe(true);
    await new Promise((r) => setTimeout(r, 300)); // longer than a heartbeat check and a reconnect would take
    expect(simDoor(h, 'A01')).toMatchObject({ open: false, latchPulses: 0, relay: false });
    expect(await health()).toMatchObject({ status: 'ok', hardware: 'ok', alarms: 0 });
    expect(h.sim.firmata.hostConnected).toBe(true);
    expect(eventsOf('hardware.lost')).toEqual([]);
    // The controller still drives its locks.
    const opened = await h.call('POST', '/api/v1/compartments/A02/open', { reason: 'check after a refused client' });
    expect(opened.status, JSON.stringify(opened.json)).toBe(202);
    await until(() => simDoor(h!, 'A02').open, 3000, 'A02 opened by the controller');
  });

  it('in replace mode a host that takes over raises board-link-taken; the controller takes the board back (relays low first) and the alarm stays until ops acknowledge it', async () => {
    h = await startHarness();
    const ops = addUser(h, 'wang', 'ops');
    await person('/sim/board/clients', { mode: 'replace' });
    await person('/sim/faults', { door: 'A01', fault: 'jam' }); // the stray pulse shows on the relay, not on a door
    const taker = intruder(relayHigh(lockOf('A01')));

    const [alarm] = await until(async () => {
      const open = (await alarms()).filter((a) => a.kind === 'board-link-taken');
      return open.length > 0 ? open : null;
    }, 3000, 'the board-link-taken alarm');
    expect(alarm).toMatchObject({ kind: 'board-link-taken', compartment: null, acknowledgedAt: null, data: { cause: 'closed-by-board' } });
    expect(eventsOf('hardware.lost').map((e) => e.data)).toEqual([{ cause: 'closed-by-board', alarmId: alarm!.id }]);
    expect(eventsOf('alarm.raised').map((e) => e.data)).toEqual([{ kind: 'board-link-taken', cause: 'closed-by-board', alarmId: alarm!.id }]);

    // The controller reconnects; the board serves it again and lets the other host go.
    await until(async () => (await health()).hardware === 'ok', 5000, 'hardware back');
    expect(await taker.ended).toBe('fin');
    expect(eventsOf('hardware.restored')).toHaveLength(1);
    expect(simDoor(h, 'A01').latchPulses).toBeGreaterThanOrEqual(1); // the other host did pulse it …
    expect(simDoor(h, 'A01').relay).toBe(false); // … and the controller drove every relay low on reconnecting
    expect(await health()).toMatchObject({ status: 'ok', alarms: 1 });

    // Still open after the board is back; a second takeover while it is open names it instead of adding one.
    await new Promise((r) => setTimeout(r, 200));
    intruder([]);
    await until(() => eventsOf('hardware.lost').length === 2, 3000, 'the second takeover');
    expect(eventsOf('hardware.lost')[1]!.data).toEqual({ cause: 'closed-by-board', alarmId: alarm!.id, again: true });
    await until(async () => (await health()).hardware === 'ok', 5000, 'hardware back again');
    expect((await alarms()).map((a) => [a.id, a.kind])).toEqual([[alarm!.id, 'board-link-taken']]);

    const ack = await h.call('POST', `/api/v1/alarms/${alarm!.id}/ack`, { note: 'a laptop on the cabinet VLAN, removed' }, ops);
    expect(ack.status, JSON.stringify(ack.json)).toBe(200);
    expect(ack.json).toMatchObject({ id: alarm!.id, kind: 'board-link-taken', acknowledgedBy: 'ops:wang' });
    expect(await alarms()).toEqual([]);
    expect(eventsOf('alarm.acknowledged').map((e) => e.data)).toEqual([expect.objectContaining({ alarmId: alarm!.id, kind: 'board-link-taken' })]);
    const audit = (await h.call('GET', '/api/v1/audit?limit=1000', undefined, ops)).json as { action: string; data: Record<string, unknown> }[];
    expect(audit.filter((a) => a.action === 'board.link_taken').map((a) => a.data)).toEqual([{ cause: 'closed-by-board', alarmId: alarm!.id }]);
  });

  it('a pulled cable (a reset, not the board\'s close) is a plain hardware.lost: no takeover alarm', async () => {
    h = await startHarness();
    await person('/sim/board/disconnect', { mode: 'drop' });
    await until(async () => (await health()).hardware === 'lost', 5000, 'hardware lost');
    await person('/sim/board/connect');
    await until(async () => (await health()).hardware === 'ok', 10_000, 'hardware back');
    expect(eventsOf('hardware.lost').map((e) => e.data)).toEqual([{ cause: 'connection-lost' }]);
    expect(eventsOf('hardware.restored')).toHaveLength(1);
    expect(eventsOf('alarm.raised')).toEqual([]);
    expect(await alarms()).toEqual([]);
    expect((await health()).alarms).toBe(0);
  });
});
